//! E-mail preferences for every user, and the outbox for platform admins.

use async_graphql::{
    Context, Enum, ID, Object, SimpleObject,
    connection::{Connection, OpaqueCursor},
};
use chrono::{DateTime, Utc};
use domain::{access::Permission, notification as rules};
use infra::{read_models as read, services::Services};
use uuid::Uuid;

use super::{
    error::ApiResult,
    guard::{authenticated, require},
    pagination::{MaxPageSize, connection, page_request},
    parse_id,
};

/// The kinds of e-mail Lumbung sends.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "rules::NotificationKind")]
pub enum NotificationKind {
    TenderPublished,
    BidReceived,
    TenderClosingSoon,
    TenderAwarded,
    OrderIssued,
    OrderDeclined,
    OrderReAwarded,
    DispatchRecorded,
    DeliveryConfirmed,
    PriceAlert,
    OrganisationReviewed,
}

/// Whether the caller receives one kind of e-mail, and whether they may turn it off.
#[derive(SimpleObject)]
pub struct NotificationPreference {
    kind: NotificationKind,
    enabled: bool,
    /// False for messages about the caller's own money, orders, bids and standing: those always arrive.
    optional: bool,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "rules::OutboxStatus")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Failed,
}

/// One queued e-mail, as platform admins see it.
#[derive(SimpleObject)]
pub struct OutboxMessage {
    id: ID,
    kind: String,
    recipient: String,
    subject: String,
    status: OutboxStatus,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    /// What the message is about, e.g. `tender` and its id.
    subject_type: String,
    subject_id: String,
}

impl From<read::OutboxMessage> for OutboxMessage {
    fn from(row: read::OutboxMessage) -> Self {
        Self {
            id: ID(row.id.to_string()),
            kind: row.kind,
            recipient: row.recipient_email,
            subject: row.subject,
            status: row.status.into(),
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
        }
    }
}

async fn preferences(
    ctx: &Context<'_>,
    actor: &domain::access::Actor,
) -> async_graphql::Result<Vec<NotificationPreference>> {
    let off = ctx.data::<Services>()?.preferences.turned_off(actor).await.api()?;
    Ok(rules::NotificationKind::ALL
        .into_iter()
        .map(|kind| NotificationPreference {
            kind: kind.into(),
            enabled: !off.contains(&kind),
            optional: kind.is_optional(),
        })
        .collect())
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// Which e-mails the caller receives.
    async fn notification_preferences(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<NotificationPreference>> {
        let actor = authenticated(ctx)?;
        preferences(ctx, actor).await
    }

    /// The e-mail outbox, newest first (platform admins): failed messages are the ones to look at.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn outbox_messages(
        &self,
        ctx: &Context<'_>,
        status: Option<OutboxStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, OutboxMessage>> {
        let actor = require(ctx, Permission::ManageOrganisations)?;
        let had_cursor = after.is_some();
        let page = page_request(first, after, *ctx.data::<MaxPageSize>()?)?;
        let page = ctx.data::<Services>()?.mailer.messages(actor, status.map(Into::into), page).await.api()?;
        Ok(connection(page, had_cursor, |row| row.id, OutboxMessage::from))
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Turns an optional kind of e-mail on or off for the caller; returns all the caller's preferences.
    async fn set_notification_preference(
        &self,
        ctx: &Context<'_>,
        kind: NotificationKind,
        enabled: bool,
    ) -> async_graphql::Result<Vec<NotificationPreference>> {
        let actor = authenticated(ctx)?;
        ctx.data::<Services>()?.preferences.set(actor, kind.into(), enabled).await.api()?;
        preferences(ctx, actor).await
    }

    /// Queues a failed message again with a fresh allowance of attempts (platform admins).
    async fn retry_outbox_message(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<OutboxMessage> {
        let actor = require(ctx, Permission::ManageOrganisations)?;
        let id = parse_id("id", &id)?;
        Ok(ctx.data::<Services>()?.mailer.retry(actor, id).await.api()?.into())
    }
}
