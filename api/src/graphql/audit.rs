//! The audit trail, for the agency and admins.

use async_graphql::{
    Context, ID, Object, SimpleObject,
    connection::{Connection, OpaqueCursor},
};
use chrono::{DateTime, Utc};
use domain::access;
use infra::{read_models as read, services::Services};
use uuid::Uuid;

use super::{
    error::ApiResult,
    guard::require,
    pagination::{MaxPageSize, connection, page_request},
};

/// Who did what to which subject, and when.
#[derive(SimpleObject)]
pub struct AuditEntry {
    id: ID,
    occurred_at: DateTime<Utc>,
    actor_user_id: Option<ID>,
    actor_organisation_id: Option<ID>,
    /// e.g. `organisation.verified`, `session.login_failed`.
    action: String,
    subject_type: String,
    subject_id: String,
    /// A compact JSON summary of what changed.
    summary: String,
}

impl From<read::AuditEntry> for AuditEntry {
    fn from(row: read::AuditEntry) -> Self {
        Self {
            id: ID(row.id.to_string()),
            occurred_at: row.occurred_at,
            actor_user_id: row.actor_user_id.map(|id| ID(id.to_string())),
            actor_organisation_id: row.actor_organisation_id.map(|id| ID(id.to_string())),
            action: row.action,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            summary: row.summary,
        }
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail, newest first; optionally of one subject (e.g. `organisation` and its id).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn audit_entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        subject_type: Option<String>,
        subject_id: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, AuditEntry>> {
        let actor = require(ctx, access::Permission::ViewAuditLog)?;
        let had_cursor = after.is_some();
        let page = page_request(first, after, *ctx.data::<MaxPageSize>()?)?;
        let subject = subject_type.zip(subject_id);
        let page = ctx.data::<Services>()?.audit.entries(actor, subject, page).await.api()?;
        Ok(connection(page, had_cursor, |row| row.id, AuditEntry::from))
    }
}
