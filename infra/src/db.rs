//! Connecting to SQLite or PostgreSQL, migrating, and starting write transactions that cannot deadlock on SQLite.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// Opens a pool to `url`. SQLite files run in WAL mode with a busy timeout, foreign keys on and full
/// synchronisation, so that an acknowledged write survives a crash.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    // Statement logging would print bound values (a sealed bid's price among them): never on.
    options.sqlx_logging(false).connect_timeout(Duration::from_secs(5)).acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        // No liveness ping on every checkout: an embedded file does not drop connections, and the ping is one more
        // hand-off to the connection's worker thread on every request.
        options.max_connections(8).min_connections(1).test_before_acquire(false).map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    } else {
        options.max_connections(20).min_connections(1);
    }
    Database::connect(options).await
}

/// Counts the statements a connection pool runs: exported as a metric, and used by tests to check that list
/// queries cost a constant number of round trips whatever their page size.
#[derive(Clone, Debug, Default)]
pub struct QueryCounter(Arc<AtomicU64>);

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// As [`connect`], counting every statement run through the pool (and its transactions).
pub async fn connect_counted(url: &str) -> Result<(DatabaseConnection, QueryCounter), DbErr> {
    let mut db = connect(url).await?;
    let counter = QueryCounter::default();
    let shared = counter.0.clone();
    db.set_metric_callback(move |_| {
        shared.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Connects and migrates: what every subcommand does first.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    migrate(&db).await?;
    Ok(db)
}

/// Writers on SQLite, queued in this process. SQLite has one writer at a time; without a queue, waiting writers poll
/// with SQLite's busy handler, which sleeps in growing steps and lets a burst of writers starve each other for
/// seconds. An async semaphore hands the write lock over in arrival order instead. (A SQLite database belongs to one
/// process; PostgreSQL needs no such queue and gets none.)
fn sqlite_writers() -> Arc<Semaphore> {
    static WRITERS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    WRITERS.get_or_init(|| Arc::new(Semaphore::new(1))).clone()
}

/// A transaction that may read before it writes: see [`begin_write`]. Use it as a connection; `commit` ends it, and
/// dropping it rolls it back.
pub struct WriteTransaction {
    transaction: DatabaseTransaction,
    // Held until the transaction ends, so the next queued writer starts only then.
    _turn: Option<OwnedSemaphorePermit>,
    after_commit: std::sync::Mutex<Vec<AfterCommit>>,
}

/// Work that must happen only once the transaction's changes are durable (e.g. telling live subscribers).
pub type AfterCommit = Box<dyn FnOnce() + Send>;

impl WriteTransaction {
    /// Commits, then runs what was registered with [`Self::after_commit`]; a rollback drops it unrun.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.transaction.commit().await?;
        let hooks = std::mem::take(&mut *self.after_commit.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for hook in hooks {
            hook();
        }
        Ok(())
    }

    pub fn after_commit(&self, hook: AfterCommit) {
        self.after_commit.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(hook);
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTransaction {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.transaction.get_database_backend()
    }

    async fn execute_raw(&self, statement: sea_orm::Statement) -> Result<sea_orm::ExecResult, DbErr> {
        self.transaction.execute_raw(statement).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, DbErr> {
        self.transaction.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, statement: sea_orm::Statement) -> Result<Option<sea_orm::QueryResult>, DbErr> {
        self.transaction.query_one_raw(statement).await
    }

    async fn query_all_raw(&self, statement: sea_orm::Statement) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        self.transaction.query_all_raw(statement).await
    }

    fn support_returning(&self) -> bool {
        self.transaction.support_returning()
    }
}

/// Starts a transaction that may read before it writes. On SQLite it waits for its turn among this process's writers
/// and then takes the write lock at `BEGIN` (`BEGIN IMMEDIATE`): a deferred transaction that read first cannot upgrade
/// to a writer while another connection writes, and fails with "database is locked" whatever the busy timeout.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTransaction, DbErr> {
    let turn = match db.get_database_backend() {
        DatabaseBackend::Sqlite => Some(
            sqlite_writers().acquire_owned().await.map_err(|_| DbErr::Custom("the writer queue is closed".into()))?,
        ),
        _ => None,
    };
    let transaction = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?;
    Ok(WriteTransaction { transaction, _turn: turn, after_commit: std::sync::Mutex::default() })
}

/// Writes that a use case has built up front, run in order in its transaction: on SQLite in one call to the driver
/// (whose hand-off to the connection's worker thread, per call, costs more than a small insert), on PostgreSQL one
/// after another (its extended protocol takes one statement per call).
#[derive(Default)]
pub struct StatementBatch {
    statements: Vec<sea_orm::Statement>,
}

impl StatementBatch {
    pub fn push(&mut self, statement: sea_orm::Statement) {
        self.statements.push(statement);
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    pub async fn execute(self, txn: &WriteTransaction) -> Result<(), DbErr> {
        match txn.get_database_backend() {
            DatabaseBackend::Sqlite if self.statements.len() > 1 => {
                // sqlx runs a text of several statements one after another, binding the positional `?` parameters
                // in order across them.
                let mut sql = String::new();
                let mut values = Vec::new();
                for statement in self.statements {
                    sql.push_str(&statement.sql);
                    sql.push_str(";\n");
                    values.extend(statement.values.map(|v| v.0).unwrap_or_default());
                }
                txn.execute_raw(sea_orm::Statement::from_sql_and_values(DatabaseBackend::Sqlite, sql, values)).await?;
            }
            _ => {
                for statement in self.statements {
                    txn.execute_raw(statement).await?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the database answers, for the readiness probe.
pub async fn ping(db: &DatabaseConnection) -> bool {
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), "SELECT 1");
    db.execute_raw(statement).await.is_ok()
}

pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => "sqlite",
        DatabaseBackend::Postgres => "postgres",
        _ => "other",
    }
}

/// `?` placeholders as the backend writes them (`$1`, `$2`, … on PostgreSQL), for the few statements written by hand.
pub(crate) fn numbered_placeholders(backend: sea_orm::DatabaseBackend, sql: &str) -> String {
    if backend != sea_orm::DatabaseBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}
