//! Notifications written in the transaction of the change that causes them: e-mails into the outbox (sent later by
//! [`crate::mailer`]) and live events into the event log (streamed to subscribers on every node).
//!
//! Because both are rows of the same transaction, a change without its message, or a message without its change,
//! cannot happen. Live events reach subscribers only after commit: on PostgreSQL through `NOTIFY` (which the server
//! delivers at commit, to every node), on SQLite through an in-process broadcast run by the commit itself.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use domain::{
    access::Actor,
    identity::UserStatus,
    notification::{Notice, NotificationKind, OutboxStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement, sea_query::Query,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    ServiceError,
    db::WriteTransaction,
    entities::{app_user, live_event, notification_opt_out, outbox_message},
    error::ServiceResult,
    sessions::{SessionCache, SessionChange},
};

pub const OUTBOX_PENDING: &str = OutboxStatus::Pending.as_str();
pub const OUTBOX_SENT: &str = OutboxStatus::Sent.as_str();
pub const OUTBOX_FAILED: &str = OutboxStatus::Failed.as_str();

/// The PostgreSQL channel live events travel on between nodes.
const CHANNEL: &str = "lumbung_live";

/// What a message is about, so that admins can trace it back.
pub struct Subject<'a> {
    pub kind: &'static str,
    pub id: &'a str,
}

/// Queues `notice` for every active user of `organisation_ids`, except those who turned its kind off (when it is
/// optional). Returns how many messages were queued.
pub async fn mail_organisations(
    connection: &impl ConnectionTrait,
    now: DateTime<Utc>,
    notice: &Notice,
    organisation_ids: &[Uuid],
    subject: Subject<'_>,
) -> Result<usize, DbErr> {
    let recipients = recipients(connection, notice.kind(), organisation_ids).await?;
    mail_users(connection, now, notice, &recipients, subject).await
}

/// The active users of `organisation_ids` who receive `kind` (id and address): everyone, less those who turned it off
/// when it is optional.
pub async fn recipients(
    connection: &impl ConnectionTrait,
    kind: NotificationKind,
    organisation_ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, DbErr> {
    if organisation_ids.is_empty() {
        return Ok(vec![]);
    }
    receiving(kind, app_user::Column::OrganisationId.is_in(organisation_ids.iter().copied()))
        .select_only()
        .column(app_user::Column::Id)
        .column(app_user::Column::Email)
        .into_tuple()
        .all(connection)
        .await
}

/// As [`recipients`], grouped by organisation: one query for a batch of senders (see the bid writer in `tendering::bids`).
pub async fn recipients_by_organisation(
    connection: &impl ConnectionTrait,
    kind: NotificationKind,
    organisation_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<(Uuid, String)>>, DbErr> {
    let mut grouped: std::collections::HashMap<Uuid, Vec<(Uuid, String)>> = Default::default();
    if organisation_ids.is_empty() {
        return Ok(grouped);
    }
    let which = app_user::Column::OrganisationId.is_in(organisation_ids.iter().copied());
    for (organisation_id, user_id, email) in addressed(connection, kind, which).await? {
        grouped.entry(organisation_id).or_default().push((user_id, email));
    }
    Ok(grouped)
}

/// (organisation, user, address) of everyone [`receiving`] selects.
async fn addressed(
    connection: &impl ConnectionTrait,
    kind: NotificationKind,
    which: sea_orm::sea_query::SimpleExpr,
) -> Result<Vec<(Uuid, Uuid, String)>, DbErr> {
    receiving(kind, which)
        .select_only()
        .column(app_user::Column::OrganisationId)
        .column(app_user::Column::Id)
        .column(app_user::Column::Email)
        .into_tuple()
        .all(connection)
        .await
}

/// The active users of the organisations `which` selects who receive `kind`: everyone, less those who turned it off
/// when it is optional.
fn receiving(kind: NotificationKind, which: sea_orm::sea_query::SimpleExpr) -> sea_orm::Select<app_user::Entity> {
    let query = app_user::Entity::find()
        .filter(which)
        .filter(app_user::Column::Status.eq(UserStatus::Active.as_str()))
        .order_by_asc(app_user::Column::OrganisationId)
        .order_by_asc(app_user::Column::Id);
    if !kind.is_optional() {
        return query;
    }
    query.filter(
        app_user::Column::Id.not_in_subquery(
            Query::select()
                .column(notification_opt_out::Column::UserId)
                .from(notification_opt_out::Entity)
                .and_where(notification_opt_out::Column::Kind.eq(kind.as_str()))
                .to_owned(),
        ),
    )
}

/// Queues `notice` for the given users (id and address).
pub async fn mail_users(
    connection: &impl ConnectionTrait,
    now: DateTime<Utc>,
    notice: &Notice,
    recipients: &[(Uuid, String)],
    subject: Subject<'_>,
) -> Result<usize, DbErr> {
    if recipients.is_empty() {
        return Ok(0);
    }
    let text = notice.render();
    let kind = notice.kind();
    let rows: Vec<_> =
        recipients.iter().map(|(user_id, email)| outbox_row(now, kind, *user_id, email, &text, &subject)).collect();
    insert_rows(connection, rows).await
}

/// A notice, the users (id and address) it goes to, and what it is about.
pub type Addressed<'a> = (Notice, &'a [(Uuid, String)], Subject<'a>);

/// The statements that queue several notices, each for its own users, for a use case that runs its writes together.
pub fn outbox_inserts(backend: DatabaseBackend, now: DateTime<Utc>, notices: &[Addressed<'_>]) -> Vec<Statement> {
    let mut rows = Vec::new();
    for (notice, recipients, subject) in notices {
        if recipients.is_empty() {
            continue;
        }
        let text = notice.render();
        rows.extend(
            recipients.iter().map(|(user_id, email)| outbox_row(now, notice.kind(), *user_id, email, &text, subject)),
        );
    }
    rows.chunks(OUTBOX_CHUNK).map(|chunk| outbox_message::Entity::insert_many(chunk.to_vec()).build(backend)).collect()
}

/// Queues, for every organisation `organisations` selects, `notice_for` it to each of its active users: one recipients
/// query and chunked inserts however many organisations there are (an award tells every cooperative of the pool).
pub async fn mail_each_organisation(
    connection: &impl ConnectionTrait,
    now: DateTime<Utc>,
    kind: NotificationKind,
    organisations: sea_orm::sea_query::SelectStatement,
    notice_for: impl Fn(Uuid) -> Notice,
    subject: Subject<'_>,
) -> Result<usize, DbErr> {
    let recipients = addressed(connection, kind, app_user::Column::OrganisationId.in_subquery(organisations)).await?;
    let mut texts: std::collections::HashMap<Uuid, domain::notification::MessageText> = Default::default();
    let mut rows = Vec::with_capacity(recipients.len());
    for (organisation_id, user_id, email) in &recipients {
        let text = texts.entry(*organisation_id).or_insert_with(|| notice_for(*organisation_id).render());
        rows.push(outbox_row(now, kind, *user_id, email, text, &subject));
    }
    insert_rows(connection, rows).await
}

fn outbox_row(
    now: DateTime<Utc>,
    kind: NotificationKind,
    user_id: Uuid,
    email: &str,
    text: &domain::notification::MessageText,
    subject: &Subject<'_>,
) -> outbox_message::ActiveModel {
    outbox_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind.as_str().to_owned()),
        recipient_user_id: Set(Some(user_id)),
        recipient_email: Set(email.to_owned()),
        subject: Set(text.subject.clone()),
        body: Set(text.body.clone()),
        subject_type: Set(subject.kind.to_owned()),
        subject_id: Set(subject.id.to_owned()),
        status: Set(OUTBOX_PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    }
}

/// Outbox rows per insert: one statement per recipient would be slow, one for thousands would exceed the bind limits.
const OUTBOX_CHUNK: usize = 500;

/// In chunks of [`OUTBOX_CHUNK`].
async fn insert_rows(
    connection: &impl ConnectionTrait,
    rows: Vec<outbox_message::ActiveModel>,
) -> Result<usize, DbErr> {
    let count = rows.len();
    for chunk in rows.chunks(OUTBOX_CHUNK) {
        outbox_message::Entity::insert_many(chunk.to_vec()).exec_without_returning(connection).await?;
    }
    Ok(count)
}

/// The streams subscribers follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Topic {
    /// A tender's status changed or its deadline moved. Subject: the tender.
    Tender,
    /// A bid was received or withdrawn (the payload holds no amount). Subject: the tender.
    Bids,
    /// A purchase order changed. Subject: the order; the payload names its two parties.
    Order,
    /// A price was observed above its HET. Subject: the alert. For the agency.
    PriceAlert,
    /// Sessions ended or changed (see `sessions`). Subject: the session, user or organisation. For the server only.
    Session,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tender => "TENDER",
            Self::Bids => "BIDS",
            Self::Order => "ORDER",
            Self::PriceAlert => "PRICE_ALERT",
            Self::Session => "SESSION",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::Tender, Self::Bids, Self::Order, Self::PriceAlert, Self::Session]
            .into_iter()
            .find(|topic| topic.as_str() == value)
    }
}

/// One event as subscribers receive it. The payload never holds a bid's price or quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub seq: i64,
    pub topic: Topic,
    pub subject_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub payload: Value,
}

impl LiveEvent {
    fn from_row(row: live_event::Model) -> Option<Self> {
        Some(Self {
            seq: row.seq,
            topic: Topic::parse(&row.topic)?,
            subject_id: row.subject_id,
            occurred_at: row.occurred_at,
            payload: serde_json::from_str(&row.payload).ok()?,
        })
    }

    /// The organisations a purchase-order event concerns: its cooperative and its supplier.
    pub fn parties(&self) -> [Option<Uuid>; 2] {
        let party = |key: &str| self.payload.get(key).and_then(Value::as_str).and_then(|v| Uuid::parse_str(v).ok());
        [party("cooperativeId"), party("supplierId")]
    }
}

/// Carries live events to this node's subscribers.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    /// Session events are applied to this node's session cache as they arrive, before anyone else hears of them.
    sessions: SessionCache,
}

impl EventBus {
    pub fn new(sessions: SessionCache) -> Self {
        // Subscribers that fall this far behind are told they lagged and resume from their cursor.
        let (sender, _) = broadcast::channel(4096);
        Self { sender, sessions }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.sender.subscribe()
    }

    fn deliver(&self, event: LiveEvent) {
        if event.topic == Topic::Session {
            match serde_json::from_value::<SessionChange>(event.payload.clone()) {
                Ok(change) => self.sessions.apply(change),
                Err(error) => {
                    tracing::warn!(%error, "sessions: an unreadable session event; forgetting every cached session");
                    self.sessions.apply(SessionChange::All);
                }
            }
            return;
        }
        // No subscriber is not an error.
        let _ = self.sender.send(Arc::new(event));
    }

    /// Appends an event to the log in `txn`; subscribers receive it once `txn` commits, on every node.
    pub async fn publish(
        &self,
        txn: &WriteTransaction,
        now: DateTime<Utc>,
        topic: Topic,
        subject_id: Uuid,
        payload: Value,
    ) -> Result<(), DbErr> {
        let inserted = live_event::ActiveModel {
            topic: Set(topic.as_str().to_owned()),
            subject_id: Set(subject_id),
            payload: Set(payload.to_string()),
            occurred_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let event = LiveEvent { seq: inserted.seq, topic, subject_id, occurred_at: now, payload };
        match txn.get_database_backend() {
            DatabaseBackend::Postgres => {
                if topic == Topic::Session {
                    // This node applies it at commit too, not only when its own notification comes back.
                    let (bus, local) = (self.clone(), event.clone());
                    txn.after_commit(Box::new(move || bus.deliver(local)));
                }
                // Delivered by PostgreSQL at commit, to the listener of every node (this one included).
                let message = serde_json::to_string(&event).map_err(|e| DbErr::Custom(e.to_string()))?;
                txn.execute_raw(Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [CHANNEL.into(), message.into()],
                ))
                .await?;
            }
            _ => {
                let bus = self.clone();
                txn.after_commit(Box::new(move || bus.deliver(event)));
            }
        }
        Ok(())
    }

    /// Appends several events in one statement (and, on PostgreSQL, notifies them in one more): see [`Self::publish`].
    pub async fn publish_each(
        &self,
        txn: &WriteTransaction,
        now: DateTime<Utc>,
        events: Vec<(Topic, Uuid, Value)>,
    ) -> Result<(), DbErr> {
        if events.is_empty() {
            return Ok(());
        }
        let rows = events.into_iter().map(|(topic, subject_id, payload)| live_event::ActiveModel {
            topic: Set(topic.as_str().to_owned()),
            subject_id: Set(subject_id),
            payload: Set(payload.to_string()),
            occurred_at: Set(now),
            ..Default::default()
        });
        // Built from the stored rows, so each event carries the sequence number its insert was given.
        let inserted = live_event::Entity::insert_many(rows).exec_with_returning(txn).await?;
        let events: Vec<LiveEvent> = inserted.into_iter().filter_map(LiveEvent::from_row).collect();
        match txn.get_database_backend() {
            DatabaseBackend::Postgres => {
                let mut values = Vec::with_capacity(events.len() + 1);
                values.push(sea_orm::Value::from(CHANNEL));
                let mut placeholders = Vec::with_capacity(events.len());
                for event in &events {
                    values.push(serde_json::to_string(event).map_err(|e| DbErr::Custom(e.to_string()))?.into());
                    placeholders.push(format!("(${})", values.len()));
                }
                let sql = format!(
                    "SELECT pg_notify($1, message) FROM (VALUES {}) AS queued(message)",
                    placeholders.join(", ")
                );
                txn.execute_raw(Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)).await?;
            }
            _ => {
                let bus = self.clone();
                txn.after_commit(Box::new(move || events.into_iter().for_each(|event| bus.deliver(event))));
            }
        }
        Ok(())
    }

    /// Events of `topic` after the cursor `after_seq`, oldest first, at most `limit`; for one subject or all.
    pub async fn since(
        &self,
        db: &DatabaseConnection,
        topic: Topic,
        subject_id: Option<Uuid>,
        after_seq: i64,
        limit: u64,
    ) -> ServiceResult<Vec<LiveEvent>> {
        let mut query = live_event::Entity::find()
            .filter(live_event::Column::Topic.eq(topic.as_str()))
            .filter(live_event::Column::Seq.gt(after_seq))
            .order_by_asc(live_event::Column::Seq)
            .limit(limit);
        if let Some(subject_id) = subject_id {
            query = query.filter(live_event::Column::SubjectId.eq(subject_id));
        }
        Ok(query.all(db).await?.into_iter().filter_map(LiveEvent::from_row).collect())
    }

    /// The newest cursor: where a subscriber that wants only what happens from now on starts.
    pub async fn latest_seq(&self, db: &DatabaseConnection) -> ServiceResult<i64> {
        let latest = live_event::Entity::find()
            .select_only()
            .column_as(live_event::Column::Seq.max(), "seq")
            .into_tuple::<Option<i64>>()
            .one(db)
            .await?;
        Ok(latest.flatten().unwrap_or(0))
    }

    /// On PostgreSQL, forwards every node's events to this node's subscribers until the process ends; reconnects
    /// after an outage (subscribers resume what they missed from their cursor).
    pub fn listen_postgres(&self, url: String) -> tokio::task::JoinHandle<()> {
        let bus = self.clone();
        tokio::spawn(async move {
            loop {
                let outcome = bus.forward_notifications(&url).await;
                // Not listening: events may be missed, so no cached session is trusted until listening again.
                bus.sessions.set_trusted(false);
                match outcome {
                    Ok(()) => return,
                    Err(error) => {
                        tracing::warn!(%error, "live events: listening on PostgreSQL failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        })
    }

    async fn forward_notifications(&self, url: &str) -> Result<(), sea_orm::sqlx::Error> {
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        self.sessions.set_trusted(true);
        loop {
            match listener.try_recv().await? {
                Some(notification) => match serde_json::from_str::<LiveEvent>(notification.payload()) {
                    Ok(event) => self.deliver(event),
                    Err(error) => tracing::warn!(%error, "live events: ignoring a malformed notification"),
                },
                // The connection was lost and has been re-established: whatever was sent meanwhile is gone, so every
                // cached session is forgotten (subscribers resume from their cursors).
                None => {
                    tracing::warn!("live events: the PostgreSQL listener reconnected");
                    self.sessions.set_trusted(true);
                }
            }
        }
    }
}

/// A user's choices about optional e-mail.
#[derive(Clone)]
pub struct NotificationPreferences {
    db: DatabaseConnection,
    clock: Arc<dyn domain::clock::Clock>,
}

impl NotificationPreferences {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn domain::clock::Clock>) -> Self {
        Self { db, clock }
    }

    /// The kinds the caller has turned off.
    pub async fn turned_off(&self, actor: &Actor) -> ServiceResult<Vec<NotificationKind>> {
        let kinds = notification_opt_out::Entity::find()
            .filter(notification_opt_out::Column::UserId.eq(actor.user_id))
            .all(&self.db)
            .await?;
        Ok(kinds.iter().filter_map(|row| NotificationKind::parse(&row.kind).ok()).collect())
    }

    /// Turns an optional kind on or off for the caller. Kinds about the caller's own money, orders and deadlines
    /// cannot be turned off.
    pub async fn set(&self, actor: &Actor, kind: NotificationKind, enabled: bool) -> ServiceResult<()> {
        if !kind.is_optional() {
            return Err(ServiceError::bad_input(
                "kind",
                "this notification concerns your own orders, bids or standing and cannot be turned off",
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let existing =
            notification_opt_out::Entity::find_by_id((actor.user_id, kind.as_str().to_owned())).one(&txn).await?;
        match (existing, enabled) {
            (Some(row), true) => {
                notification_opt_out::Entity::delete_by_id((row.user_id, row.kind)).exec(&txn).await?;
            }
            (None, false) => {
                notification_opt_out::ActiveModel {
                    user_id: Set(actor.user_id),
                    kind: Set(kind.as_str().to_owned()),
                    created_at: Set(self.clock.now()),
                }
                .insert(&txn)
                .await?;
            }
            _ => {}
        }
        let summary = serde_json::json!({ "kind": kind.as_str(), "enabled": enabled });
        crate::audit::record(
            &txn,
            self.clock.now(),
            crate::audit::AuditRecord::by(actor, "user.notification_preference", "user", actor.user_id, summary),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
