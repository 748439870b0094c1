//! Purchase orders, by job: `issuing` (orders from a confirmed award, and the award following them through re-awards
//! and cancellations), `lifecycle` (each party's steps: accept, decline, dispatch, confirm, close) and `reading`
//! (orders, amounts due and supplier performance as each caller may see them).

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use domain::{
    access::{Actor, Permission},
    clock::{Clock, date_in_wib},
    identity::{bounded_text, optional_text},
    notification::Notice,
    organisation::OrganisationKind,
    purchase_order::{self as rules, LineProgress, OrderEvent, OrderStatus, Receipt, RejectionReason},
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    db::{WriteTransaction, begin_write},
    entities::{
        award_allocation, bid, confirmation_line, delivery_confirmation, demand_line, dispatch, dispatch_line, lot,
        order_sequence, purchase_order, purchase_order_line, tender,
    },
    error::ServiceResult,
    fixed_point::{from_stored, to_stored},
    idempotency::IdempotencyKey,
    notification::{self, EventBus, Subject, Topic},
    pagination::{Page, PageRequest},
    prices::OrdersOf,
    read_models::{self, read_all, read_one},
};

mod issuing;
mod lifecycle;
mod reading;

use issuing::award_follows_orders;
pub use issuing::issue_orders;
pub use lifecycle::{ConfirmationInput, DispatchInput, ReceiptLineInput};
pub use reading::{AmountDue, SupplierPerformance};

/// Who of an order's two parties an e-mail goes to.
#[derive(Clone, Copy)]
enum Parties {
    Both,
    Cooperative,
    Supplier,
}

/// Tells the order's parties that it changed: live to both (subscribers of either organisation), and by e-mail to
/// `mail.1` when a message is due.
async fn order_changed(
    txn: &WriteTransaction,
    events: &EventBus,
    order: &purchase_order::Model,
    kind: &str,
    mail: Option<(Notice, Parties)>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let payload = json!({
        "kind": kind,
        "number": order.number,
        "status": order.status,
        "cooperativeId": order.cooperative_id,
        "supplierId": order.supplier_id,
    });
    events.publish(txn, now, Topic::Order, order.id, payload).await?;
    if let Some((notice, parties)) = mail {
        let recipients = match parties {
            Parties::Both => vec![order.cooperative_id, order.supplier_id],
            Parties::Cooperative => vec![order.cooperative_id],
            Parties::Supplier => vec![order.supplier_id],
        };
        let id = order.id.to_string();
        notification::mail_organisations(txn, now, &notice, &recipients, Subject { kind: "purchase_order", id: &id })
            .await?;
    }
    Ok(())
}

#[derive(Clone)]
pub struct OrderingService {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    prefix: String,
    events: EventBus,
}

/// The orders that count ([`OrderStatus::counts`]): the award that stands, what is owed, how suppliers perform.
pub(crate) fn counting_orders() -> sea_orm::Select<purchase_order::Entity> {
    purchase_order::Entity::find()
        .filter(purchase_order::Column::Status.is_not_in(OrderStatus::not_counting().map(OrderStatus::as_str)))
}

fn status_of(order: &purchase_order::Model) -> ServiceResult<OrderStatus> {
    Ok(OrderStatus::parse(&order.status)?)
}

fn progress(line: &purchase_order_line::Model) -> LineProgress {
    LineProgress {
        ordered: from_stored(line.quantity_e4),
        dispatched: from_stored(line.dispatched_e4),
        received: from_stored(line.received_e4),
        accepted: from_stored(line.accepted_e4),
        rejected: from_stored(line.rejected_e4),
    }
}

impl OrderingService {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, prefix: String, events: EventBus) -> Self {
        Self { db, clock, prefix, events }
    }

    /// Whether the actor may see the order: its cooperative, its supplier, the agency and admins.
    fn may_view(actor: &Actor, order: &purchase_order::Model) -> bool {
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => true,
            OrganisationKind::Cooperative => order.cooperative_id == actor.organisation_id,
            OrganisationKind::Supplier => order.supplier_id == actor.organisation_id,
        }
    }

    async fn order_for_update(
        connection: &impl ConnectionTrait,
        actor: &Actor,
        order_id: Uuid,
    ) -> ServiceResult<purchase_order::Model> {
        purchase_order::Entity::find_by_id(order_id)
            .lock_exclusive()
            .one(connection)
            .await?
            .filter(|order| Self::may_view(actor, order))
            .ok_or_else(|| ServiceError::NotFound("purchase order".into()))
    }

    async fn lines_of(
        connection: &impl ConnectionTrait,
        order_id: Uuid,
    ) -> ServiceResult<Vec<purchase_order_line::Model>> {
        Ok(purchase_order_line::Entity::find()
            .filter(purchase_order_line::Column::OrderId.eq(order_id))
            .order_by_asc(purchase_order_line::Column::Id)
            .all(connection)
            .await?)
    }

    async fn tender_of(
        connection: &impl ConnectionTrait,
        order: &purchase_order::Model,
    ) -> ServiceResult<tender::Model> {
        tender::Entity::find_by_id(order.tender_id)
            .one(connection)
            .await?
            .ok_or_else(|| ServiceError::internal("order without tender"))
    }

    /// Who ends an order (short-close, close): the ordering cooperative or the agency, decided before any lookup so
    /// that a supplier or an admin is refused the same way whether or not the order exists.
    fn require_order_closer(actor: &Actor, verb: &str) -> ServiceResult<()> {
        let allowed = match actor.organisation_kind {
            OrganisationKind::Cooperative => actor.may(Permission::SubmitDemand),
            _ => actor.may(Permission::ManageTendering),
        };
        if allowed {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!("only the ordering cooperative or the agency {verb} an order")))
        }
    }

    async fn set_status(
        connection: &impl ConnectionTrait,
        order: purchase_order::Model,
        to: OrderStatus,
        now: DateTime<Utc>,
        update: impl FnOnce(&mut purchase_order::ActiveModel),
    ) -> ServiceResult<purchase_order::Model> {
        let mut changed = order.into_active_model();
        changed.status = Set(to.as_str().into());
        changed.updated_at = Set(now);
        update(&mut changed);
        Ok(changed.update(connection).await?)
    }
}
