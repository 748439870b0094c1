//! Connecting to SQLite or PostgreSQL, migrating, and starting write transactions that cannot deadlock on SQLite.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

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
        options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|sqlite| {
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

/// Starts a transaction that may read before it writes. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`): a deferred transaction that read first cannot upgrade to a writer while another
/// connection writes, and fails with "database is locked" whatever the busy timeout.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
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
