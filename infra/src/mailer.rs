//! The outbox worker: sends the messages that use cases queued, with lettre over SMTP or into a folder of `.eml` files.
//!
//! Claiming: each round takes a batch of due messages and pushes their next attempt a lease ahead in one statement
//! (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several nodes share the work without taking the same row). A node
//! that dies mid-send leaves the message to be retried when the lease ends; the Message-ID is derived from the row's
//! id, so such a retry is the same message, not a second one.

use std::{path::PathBuf, sync::Arc, time::SystemTime};

use chrono::{DateTime, Duration, Utc};
use domain::{
    access::Actor,
    access::Permission,
    clock::Clock,
    notification::{NotificationKind, OutboxStatus, retry_delay},
};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Statement, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    ServiceError,
    config::MailSettings,
    db::{StatementBatch, begin_write},
    entities::{bid, outbox_message},
    error::ServiceResult,
    notification::{OUTBOX_FAILED, OUTBOX_PENDING, OUTBOX_SENT},
    pagination::{Page, PageRequest},
    read_models,
};

/// How long a claimed message is left to its worker before another may try it.
const LEASE_SECONDS: i64 = 120;
const BATCH: i64 = 50;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    transport: Arc<Transport>,
    from: Mailbox,
    message_id_domain: String,
    max_attempts: u32,
}

#[derive(Debug, FromQueryResult)]
struct Claimed {
    id: Uuid,
    recipient_email: String,
    subject: String,
    body: String,
    attempts: i32,
    created_at: DateTime<Utc>,
}

/// What one round of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Where messages are written before they are renamed into the outbox folder: a hidden sibling on the same file
/// system (so the rename is atomic), never inside the outbox itself.
fn partial_folder(outbox: &std::path::Path) -> std::path::PathBuf {
    let name = outbox.file_name().map_or_else(|| "outbox".into(), |n| n.to_string_lossy().into_owned());
    outbox.with_file_name(format!(".{name}.partial"))
}

impl Mailer {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, settings: &MailSettings) -> anyhow::Result<Self> {
        let from: Mailbox =
            settings.from.parse().map_err(|e| anyhow::anyhow!("LUMBUNG_MAIL_FROM is not a mailbox: {e}"))?;
        let message_id_domain = from.email.domain().to_owned();
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not usable: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build(),
            ),
            None => Transport::Folder(settings.outbox_dir.clone()),
        };
        Ok(Self {
            db,
            clock,
            transport: Arc::new(transport),
            from,
            message_id_domain,
            max_attempts: settings.max_attempts.max(1),
        })
    }

    /// Where messages go, for the startup log.
    pub fn destination(&self) -> String {
        match &*self.transport {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Folder(dir) => format!("folder {}", dir.display()),
        }
    }

    /// Sends what is due now: claims a batch, sends each, then records the outcomes together. Returns what happened.
    ///
    /// One transaction for the round's outcomes rather than one per message: on SQLite every transaction takes a turn
    /// of the single writer (and an fsync) from the bids. Should the process die mid-round, the round's messages are
    /// sent again once their lease ends, with the same Message-ID, so mail clients show each once.
    pub async fn send_due(&self) -> ServiceResult<Round> {
        let now = self.clock.now();
        let claimed = self.claim(now).await?;
        let mut round = Round::default();
        let backend = self.db.get_database_backend();
        let mut sent = Vec::new();
        let mut outcomes = StatementBatch::default();
        for message in claimed {
            match self.deliver(&message).await {
                Ok(()) => sent.push(message.id),
                Err(error) => {
                    let attempts = u32::try_from(message.attempts).unwrap_or(u32::MAX);
                    tracing::warn!(message = %message.id, attempts, %error, "sending an e-mail failed");
                    let error = error.chars().take(500).collect::<String>();
                    let update = if attempts >= self.max_attempts {
                        round.failed += 1;
                        outbox_message::Entity::update_many()
                            .col_expr(outbox_message::Column::Status, Expr::value(OUTBOX_FAILED))
                            .col_expr(outbox_message::Column::LastError, Expr::value(error))
                    } else {
                        round.retrying += 1;
                        outbox_message::Entity::update_many()
                            .col_expr(
                                outbox_message::Column::NextAttemptAt,
                                Expr::value(self.clock.now() + retry_delay(attempts.saturating_sub(1))),
                            )
                            .col_expr(outbox_message::Column::LastError, Expr::value(error))
                    };
                    outcomes.push(update.filter(outbox_message::Column::Id.eq(message.id)).build(backend));
                }
            }
        }
        if !sent.is_empty() {
            round.sent = sent.len();
            outcomes.push(
                outbox_message::Entity::update_many()
                    .col_expr(outbox_message::Column::Status, Expr::value(OUTBOX_SENT))
                    .col_expr(outbox_message::Column::SentAt, Expr::value(self.clock.now()))
                    .col_expr(outbox_message::Column::LastError, Expr::value(Option::<String>::None))
                    .filter(outbox_message::Column::Id.is_in(sent))
                    .build(backend),
            );
        }
        if !outcomes.is_empty() {
            let txn = begin_write(&self.db).await?;
            outcomes.execute(&txn).await?;
            txn.commit().await?;
        }
        Ok(round)
    }

    async fn claim(&self, now: DateTime<Utc>) -> ServiceResult<Vec<Claimed>> {
        // A read first: an idle outbox costs no write transaction (on SQLite, no turn in the writers' queue).
        let due = outbox_message::Entity::find()
            .select_only()
            .column(outbox_message::Column::Id)
            .filter(outbox_message::Column::Status.eq(OUTBOX_PENDING))
            .filter(outbox_message::Column::NextAttemptAt.lte(now))
            .limit(1)
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await?;
        if due.is_none() {
            return Ok(vec![]);
        }
        let lease_until = now + Duration::seconds(LEASE_SECONDS);
        let backend = self.db.get_database_backend();
        let lock = if backend == DatabaseBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let (p1, p2, p3, p4, p5) = match backend {
            DatabaseBackend::Postgres => ("$1", "$2", "$3", "$4", "$5"),
            _ => ("?", "?", "?", "?", "?"),
        };
        let sql = format!(
            "UPDATE outbox_message SET next_attempt_at = {p1}, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox_message WHERE status = {p2} AND next_attempt_at <= {p3} \
             ORDER BY next_attempt_at LIMIT {p4} {lock}) AND status = {p5} \
             RETURNING id, recipient_email, subject, body, attempts, created_at"
        );
        let statement = Statement::from_sql_and_values(
            backend,
            sql,
            [lease_until.into(), OUTBOX_PENDING.into(), now.into(), BATCH.into(), OUTBOX_PENDING.into()],
        );
        let txn = begin_write(&self.db).await?;
        let rows = txn.query_all_raw(statement).await?;
        txn.commit().await?;
        let mut claimed = rows
            .iter()
            .map(|row| Claimed::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ServiceError::from)?;
        claimed.sort_by_key(|message| message.id);
        Ok(claimed)
    }

    fn build(&self, message: &Claimed) -> Result<Message, String> {
        let to: Mailbox = message.recipient_email.parse().map_err(|e| format!("bad recipient address: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(format!("<{}@{}>", message.id, self.message_id_domain)))
            .date(SystemTime::from(message.created_at))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))
    }

    async fn deliver(&self, message: &Claimed) -> Result<(), String> {
        let email = self.build(message)?;
        match &*self.transport {
            Transport::Smtp(smtp) => smtp.send(email).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Folder(dir) => {
                // Written in a folder beside the outbox, then renamed into it: whoever reads the outbox only ever
                // sees whole messages. Named by the message id, so a retry overwrites rather than duplicates.
                let partial_dir = partial_folder(dir);
                tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
                tokio::fs::create_dir_all(&partial_dir).await.map_err(|e| e.to_string())?;
                let file_name = format!("{}.eml", message.id);
                let partial = partial_dir.join(&file_name);
                tokio::fs::write(&partial, email.formatted()).await.map_err(|e| e.to_string())?;
                tokio::fs::rename(&partial, dir.join(&file_name)).await.map_err(|e| e.to_string())
            }
        }
    }

    /// The outbox as platform admins see it: newest first, optionally only one status (e.g. `FAILED`).
    pub async fn messages(
        &self,
        actor: &Actor,
        status: Option<OutboxStatus>,
        page: PageRequest<Uuid>,
    ) -> ServiceResult<Page<read_models::OutboxMessage>> {
        actor.require(Permission::ManageOrganisations)?;
        let mut query = outbox_message::Entity::find().order_by_desc(outbox_message::Column::Id);
        if let Some(status) = status {
            query = query.filter(outbox_message::Column::Status.eq(status.as_str()));
        }
        if let Some(after) = page.after {
            query = query.filter(outbox_message::Column::Id.lt(after));
        }
        let mut rows = query.limit(page.limit + 1).all(&self.db).await?;
        self.seal_bid_receipts(&mut rows).await?;
        Ok(Page::from_overfetched(read_models::read_all(rows)?, page.limit))
    }

    /// A bid receipt tells who bid on which tender: until the deadline, admins see neither its recipient nor its subject.
    async fn seal_bid_receipts(&self, rows: &mut [outbox_message::Model]) -> ServiceResult<()> {
        let receipt_bids: Vec<Uuid> = rows
            .iter()
            .filter(|row| row.kind == NotificationKind::BidReceived.as_str())
            .filter_map(|row| Uuid::parse_str(&row.subject_id).ok())
            .collect();
        if receipt_bids.is_empty() {
            return Ok(());
        }
        let tender_of: std::collections::HashMap<Uuid, Uuid> = bid::Entity::find()
            .select_only()
            .column(bid::Column::Id)
            .column(bid::Column::TenderId)
            .filter(bid::Column::Id.is_in(receipt_bids))
            .into_tuple::<(Uuid, Uuid)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let sealed =
            crate::audit::still_sealed(&self.db, tender_of.values().copied().collect(), self.clock.now()).await?;
        for row in rows.iter_mut().filter(|row| row.kind == NotificationKind::BidReceived.as_str()) {
            let tender = Uuid::parse_str(&row.subject_id).ok().and_then(|bid| tender_of.get(&bid));
            if tender.is_none_or(|tender| sealed.contains(tender)) {
                row.recipient_email = "(sealed until the deadline)".into();
                row.subject = "Tanda terima penawaran / Bid receipt (sealed until the deadline)".into();
            }
        }
        Ok(())
    }

    /// Puts a failed message back in the queue, due now, with a fresh allowance of attempts.
    pub async fn retry(&self, actor: &Actor, message_id: Uuid) -> ServiceResult<read_models::OutboxMessage> {
        actor.require(Permission::ManageOrganisations)?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let row = outbox_message::Entity::find_by_id(message_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound("message".into()))?;
        if row.status != OUTBOX_FAILED {
            return Err(ServiceError::Conflict("only a failed message can be retried".into()));
        }
        outbox_message::Entity::update_many()
            .col_expr(outbox_message::Column::Status, Expr::value(OUTBOX_PENDING))
            .col_expr(outbox_message::Column::Attempts, Expr::value(0))
            .col_expr(outbox_message::Column::NextAttemptAt, Expr::value(now))
            .filter(outbox_message::Column::Id.eq(message_id))
            .exec(&txn)
            .await?;
        crate::audit::record(
            &txn,
            now,
            crate::audit::AuditRecord::by(actor, "outbox.retried", "outbox_message", message_id, serde_json::json!({})),
        )
        .await?;
        txn.commit().await?;
        let mut retried =
            [outbox_message::Model { status: OUTBOX_PENDING.into(), attempts: 0, next_attempt_at: now, ..row }];
        self.seal_bid_receipts(&mut retried).await?;
        let [retried] = retried;
        retried.try_into()
    }
}
