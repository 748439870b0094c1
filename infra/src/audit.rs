//! The audit trail: every state-changing use case records who did what, when, inside its own transaction.

use chrono::{DateTime, Utc};
use domain::access::Actor;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryTrait, Set, Statement};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::audit_entry;

/// One entry to record. The summary is a compact JSON object of what changed: never a password or token.
pub struct AuditRecord {
    pub actor_user_id: Option<Uuid>,
    pub actor_organisation_id: Option<Uuid>,
    pub action: &'static str,
    pub subject_type: &'static str,
    pub subject_id: String,
    pub summary: Value,
}

impl AuditRecord {
    /// An entry for something `actor` did.
    pub fn by(
        actor: &Actor,
        action: &'static str,
        subject_type: &'static str,
        subject_id: impl ToString,
        summary: Value,
    ) -> Self {
        Self {
            actor_user_id: Some(actor.user_id),
            actor_organisation_id: Some(actor.organisation_id),
            action,
            subject_type,
            subject_id: subject_id.to_string(),
            summary,
        }
    }

    /// An entry for something done without a logged-in actor (registration, a failed login, the CLI).
    pub fn anonymous(
        action: &'static str,
        subject_type: &'static str,
        subject_id: impl ToString,
        summary: Value,
    ) -> Self {
        Self {
            actor_user_id: None,
            actor_organisation_id: None,
            action,
            subject_type,
            subject_id: subject_id.to_string(),
            summary,
        }
    }
}

/// Writes `record` at `at` through `connection`, which should be the use case's own transaction.
pub async fn record(connection: &impl ConnectionTrait, at: DateTime<Utc>, record: AuditRecord) -> Result<(), DbErr> {
    connection.execute_raw(insert_statement(connection.get_database_backend(), at, vec![record])).await?;
    Ok(())
}

/// The statement that writes `records` (not empty) at `at`, for a use case that runs its writes together.
pub fn insert_statement(backend: DatabaseBackend, at: DateTime<Utc>, records: Vec<AuditRecord>) -> Statement {
    let rows = records.into_iter().map(|record| audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        occurred_at: Set(at),
        actor_user_id: Set(record.actor_user_id),
        actor_organisation_id: Set(record.actor_organisation_id),
        action: Set(record.action.to_owned()),
        subject_type: Set(record.subject_type.to_owned()),
        subject_id: Set(record.subject_id),
        summary: Set(record.summary.to_string()),
    });
    audit_entry::Entity::insert_many(rows).build(backend)
}

/// Reading the trail, newest first, for the agency and admins.
#[derive(Clone)]
pub struct AuditLog {
    db: sea_orm::DatabaseConnection,
    clock: std::sync::Arc<dyn domain::clock::Clock>,
}

/// The tenders among `tender_ids` whose bids are sealed now ([`TenderStatus::bids_sealed`]): open until the deadline,
/// and cancelled ones for good. Who bid on them is sealed too.
///
/// [`TenderStatus::bids_sealed`]: domain::tender::TenderStatus::bids_sealed
pub async fn still_sealed(
    connection: &impl ConnectionTrait,
    tender_ids: Vec<Uuid>,
    now: DateTime<Utc>,
) -> Result<std::collections::HashSet<Uuid>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    if tender_ids.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let tenders: Vec<(Uuid, String, DateTime<Utc>)> = crate::entities::tender::Entity::find()
        .select_only()
        .column(crate::entities::tender::Column::Id)
        .column(crate::entities::tender::Column::Status)
        .column(crate::entities::tender::Column::DeadlineAt)
        .filter(crate::entities::tender::Column::Id.is_in(tender_ids))
        .into_tuple()
        .all(connection)
        .await?;
    Ok(tenders
        .into_iter()
        .filter(|(_, status, deadline)| {
            // An unreadable status seals: the safe side.
            domain::tender::TenderStatus::parse(status).map_or(true, |status| status.at(*deadline, now).bids_sealed())
        })
        .map(|(id, _, _)| id)
        .collect())
}

impl AuditLog {
    pub fn new(db: sea_orm::DatabaseConnection, clock: std::sync::Arc<dyn domain::clock::Clock>) -> Self {
        Self { db, clock }
    }

    pub async fn entries(
        &self,
        actor: &Actor,
        subject: Option<(String, String)>,
        page: crate::pagination::PageRequest<Uuid>,
    ) -> crate::error::ServiceResult<crate::pagination::Page<crate::read_models::AuditEntry>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
        actor.require(domain::access::Permission::ViewAuditLog)?;
        let mut query = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
        if let Some((subject_type, subject_id)) = subject {
            query = query
                .filter(audit_entry::Column::SubjectType.eq(subject_type))
                .filter(audit_entry::Column::SubjectId.eq(subject_id));
        }
        if let Some(after) = page.after {
            query = query.filter(audit_entry::Column::Id.lt(after));
        }
        let mut rows = query.limit(page.limit + 1).all(&self.db).await?;
        // Who bid is sealed until the deadline: a bid's entry names no actor while its tender is open.
        let tender_of = |row: &audit_entry::Model| {
            serde_json::from_str::<Value>(&row.summary)
                .ok()
                .and_then(|summary| summary.get("tender").and_then(Value::as_str).and_then(|t| Uuid::parse_str(t).ok()))
        };
        let bid_tenders: Vec<Uuid> =
            rows.iter().filter(|row| row.action.starts_with("bid.")).filter_map(tender_of).collect();
        let sealed = still_sealed(&self.db, bid_tenders, self.clock.now()).await?;
        for row in rows.iter_mut().filter(|row| row.action.starts_with("bid.")) {
            if tender_of(row).is_some_and(|tender| sealed.contains(&tender)) {
                row.actor_user_id = None;
                row.actor_organisation_id = None;
            }
        }
        Ok(crate::pagination::Page::from_overfetched(crate::read_models::read_all(rows)?, page.limit))
    }
}
