//! Purchase orders from confirmed awards, dispatches, delivery confirmations, re-awards and supplier performance.

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
};

/// The next human-readable order number, e.g. `KMP-MLG-2026-000123`: unique and sortable within a prefix.
async fn next_order_number(
    connection: &impl ConnectionTrait,
    prefix: &str,
    now: DateTime<Utc>,
) -> ServiceResult<String> {
    let year = date_in_wib(now).year();
    let current =
        order_sequence::Entity::find_by_id((prefix.to_owned(), year)).lock_exclusive().one(connection).await?;
    let number = match current {
        Some(row) => {
            let next = row.last_number + 1;
            let mut changed = row.into_active_model();
            changed.last_number = Set(next);
            changed.update(connection).await?;
            next
        }
        None => {
            order_sequence::ActiveModel { prefix: Set(prefix.to_owned()), year: Set(year), last_number: Set(1) }
                .insert(connection)
                .await?;
            1
        }
    };
    Ok(format!("{prefix}-{year}-{number:06}"))
}

/// One new order's line before it is stored.
struct NewLine {
    demand_line_id: Uuid,
    delivery_point_id: Uuid,
    quantity: Decimal,
}

#[allow(clippy::too_many_arguments)]
async fn insert_order(
    connection: &WriteTransaction,
    events: &EventBus,
    prefix: &str,
    tender_row: &tender::Model,
    winning_bid: &bid::Model,
    cooperative_id: Uuid,
    lines: &[NewLine],
    now: DateTime<Utc>,
    replaces: Option<(Uuid, String)>,
) -> ServiceResult<purchase_order::Model> {
    let unit_price = from_stored(winning_bid.unit_price_e4);
    let total: Decimal = lines.iter().map(|l| l.quantity * unit_price).sum();
    let order = purchase_order::ActiveModel {
        id: Set(Uuid::now_v7()),
        number: Set(next_order_number(connection, prefix, now).await?),
        tender_id: Set(tender_row.id),
        lot_id: Set(winning_bid.lot_id),
        bid_id: Set(winning_bid.id),
        cooperative_id: Set(cooperative_id),
        supplier_id: Set(winning_bid.supplier_id),
        status: Set(OrderStatus::Issued.as_str().into()),
        total_e4: Set(to_stored(total)?),
        issued_at: Set(now),
        accept_by: Set(now + Duration::days(i64::from(tender_row.acceptance_days))),
        accepted_at: Set(None),
        decline_reason: Set(None),
        cancel_reason: Set(None),
        close_reason: Set(None),
        closed_at: Set(None),
        replaces_order_id: Set(replaces.as_ref().map(|(id, _)| *id)),
        replaced_by_order_id: Set(None),
        replacement_reason: Set(replaces.map(|(_, reason)| reason)),
        updated_at: Set(now),
    }
    .insert(connection)
    .await?;
    // Due date: the award day (WIB) plus the winning bid's lead time.
    let due_date = date_in_wib(now) + Duration::days(i64::from(winning_bid.lead_time_days));
    for line in lines {
        purchase_order_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order.id),
            demand_line_id: Set(line.demand_line_id),
            commodity_id: Set(tender_row.commodity_id),
            delivery_point_id: Set(line.delivery_point_id),
            quantity_e4: Set(to_stored(line.quantity)?),
            unit_price_e4: Set(winning_bid.unit_price_e4),
            line_total_e4: Set(to_stored(line.quantity * unit_price)?),
            due_date: Set(due_date),
            dispatched_e4: Set(0),
            received_e4: Set(0),
            accepted_e4: Set(0),
            rejected_e4: Set(0),
        }
        .insert(connection)
        .await?;
    }
    let notice = Notice::OrderIssued {
        order_number: order.number.clone(),
        total: from_stored(order.total_e4),
        accept_by: order.accept_by,
    };
    order_changed(connection, events, &order, "ISSUED", Some((notice, Parties::Both)), now).await?;
    Ok(order)
}

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

/// Issues the purchase orders of a confirmed award, in the award's transaction: one per cooperative and supplier,
/// a line per allocation.
pub async fn issue_orders(
    connection: &WriteTransaction,
    events: &EventBus,
    prefix: &str,
    tender_row: &tender::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<purchase_order::Model>> {
    let allocations = award_allocation::Entity::find()
        .filter(award_allocation::Column::TenderId.eq(tender_row.id))
        .order_by_asc(award_allocation::Column::Id)
        .all(connection)
        .await?;
    let demand_lines =
        demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(tender_row.pool_id)).all(connection).await?;
    let delivery_point_of: std::collections::HashMap<Uuid, Uuid> =
        demand_lines.iter().map(|line| (line.id, line.delivery_point_id)).collect();
    let bids = bid::Entity::find().filter(bid::Column::TenderId.eq(tender_row.id)).all(connection).await?;
    // BTreeMap: orders are numbered in a deterministic order.
    let mut grouped: BTreeMap<(Uuid, Uuid), Vec<&award_allocation::Model>> = BTreeMap::new();
    for allocation in &allocations {
        grouped.entry((allocation.cooperative_id, allocation.bid_id)).or_default().push(allocation);
    }
    let mut orders = Vec::new();
    for ((cooperative_id, bid_id), shares) in grouped {
        let winning_bid =
            bids.iter().find(|b| b.id == bid_id).ok_or_else(|| ServiceError::internal("allocation without bid"))?;
        let lines: Vec<NewLine> = shares
            .iter()
            .map(|share| NewLine {
                demand_line_id: share.demand_line_id,
                delivery_point_id: delivery_point_of.get(&share.demand_line_id).copied().unwrap_or_default(),
                quantity: from_stored(share.quantity_e4),
            })
            .collect();
        let order =
            insert_order(connection, events, prefix, tender_row, winning_bid, cooperative_id, &lines, now, None)
                .await?;
        audit::record(
            connection,
            now,
            AuditRecord::anonymous(
                "order.issued",
                "purchase_order",
                order.id,
                json!({ "number": order.number, "tender": tender_row.id, "total": from_stored(order.total_e4).to_string() }),
            ),
        )
        .await?;
        orders.push(order);
    }
    Ok(orders)
}

/// Brings a lot's award records in line with its orders that count, in the caller's transaction, after an order
/// stopped counting (`stopped`: declined or cancelled) or a replacement started (`started`: a re-award). The orders
/// are the truth of who supplies what at which price: each bid's awarded quantity, the lot's awarded quantity and
/// cost, the cooperatives' allocations and the award price observations all follow them, so no read can count a
/// declined quantity, or count a re-awarded quantity twice.
async fn award_follows_orders(
    txn: &WriteTransaction,
    events: &EventBus,
    tender_row: &tender::Model,
    lot_id: Uuid,
    stopped: Option<&purchase_order::Model>,
    started: Option<&purchase_order::Model>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let orders = counting_orders().filter(purchase_order::Column::LotId.eq(lot_id));
    let lines = OrderingService::lines_of_orders(txn, orders.clone()).await?;
    let orders: std::collections::HashMap<Uuid, purchase_order::Model> =
        orders.all(txn).await?.into_iter().map(|order| (order.id, order)).collect();
    let mut per_bid: BTreeMap<Uuid, i64> = BTreeMap::new();
    let mut allocations = Vec::with_capacity(lines.len());
    let (mut awarded, mut cost) = (0_i64, 0_i64);
    for line in &lines {
        let order = orders.get(&line.order_id).ok_or_else(|| ServiceError::internal("order line without order"))?;
        *per_bid.entry(order.bid_id).or_default() += line.quantity_e4;
        awarded += line.quantity_e4;
        cost += line.line_total_e4;
        allocations.push(award_allocation::ActiveModel {
            id: Set(Uuid::now_v7()),
            tender_id: Set(order.tender_id),
            lot_id: Set(lot_id),
            demand_line_id: Set(line.demand_line_id),
            cooperative_id: Set(order.cooperative_id),
            bid_id: Set(order.bid_id),
            supplier_id: Set(order.supplier_id),
            unit_price_e4: Set(line.unit_price_e4),
            quantity_e4: Set(line.quantity_e4),
            created_at: Set(order.issued_at),
        });
    }
    for bid_row in bid::Entity::find().filter(bid::Column::LotId.eq(lot_id)).all(txn).await? {
        let quantity = per_bid.get(&bid_row.id).copied().unwrap_or(0);
        if bid_row.awarded_quantity_e4 != Some(quantity) && (bid_row.awarded_quantity_e4.is_some() || quantity > 0) {
            let mut changed = bid_row.into_active_model();
            changed.awarded_quantity_e4 = Set(Some(quantity));
            changed.update(txn).await?;
        }
    }
    lot::Entity::update_many()
        .col_expr(lot::Column::AwardedQuantityE4, sea_orm::sea_query::Expr::value(awarded))
        .col_expr(lot::Column::TotalCostE4, sea_orm::sea_query::Expr::value(cost))
        .filter(lot::Column::Id.eq(lot_id))
        .exec(txn)
        .await?;
    award_allocation::Entity::delete_many().filter(award_allocation::Column::LotId.eq(lot_id)).exec(txn).await?;
    // Ten columns a row: 1,000 rows stay well under both backends' bind-parameter limits.
    for chunk in allocations.chunks(1_000) {
        award_allocation::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    if let Some(order) = stopped {
        crate::prices::retract_order(txn, tender_row.id, order.id, crate::prices::SOURCE_AWARD).await?;
    }
    if let Some(order) = started {
        let source = crate::prices::SOURCE_AWARD;
        let whole_lines = |line: &purchase_order_line::Model| from_stored(line.quantity_e4);
        crate::prices::record_order_prices(
            txn,
            events,
            source,
            tender_row,
            OrdersOf::Order(order.id),
            now,
            whole_lines,
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct DispatchInput {
    pub lines: Vec<(Uuid, Decimal)>,
    pub dispatched_on: NaiveDate,
    pub vehicle: String,
    pub driver: String,
    pub expected_arrival: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct ReceiptLineInput {
    pub order_line_id: Uuid,
    pub received: Decimal,
    pub accepted: Decimal,
    pub rejected: Decimal,
    pub reason: Option<RejectionReason>,
    pub reason_text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ConfirmationInput {
    pub dispatch_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    pub receiver_name: String,
    pub note: Option<String>,
    pub lines: Vec<ReceiptLineInput>,
    pub idempotency_key: Option<String>,
}

/// A supplier's delivery record, computed from its orders and confirmations.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierPerformance {
    pub supplier_id: Uuid,
    pub commodity_id: Option<Uuid>,
    pub orders: u64,
    pub ordered: Decimal,
    pub accepted: Decimal,
    pub received: Decimal,
    pub rejected: Decimal,
    /// Accepted ÷ ordered.
    pub fill_rate: Option<Decimal>,
    /// Deliveries received by their due date ÷ deliveries.
    pub on_time_rate: Option<Decimal>,
    /// Rejected ÷ received.
    pub rejection_rate: Option<Decimal>,
    pub rejection_reasons: Vec<(String, Decimal)>,
    /// Average days late over all deliveries (on-time ones count 0).
    pub average_days_late: Option<Decimal>,
    pub deliveries: u64,
}

/// What a cooperative owes a supplier for what arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct AmountDue {
    pub cooperative_id: Uuid,
    pub supplier_id: Uuid,
    pub ordered_total: Decimal,
    pub amount_due: Decimal,
}

#[derive(Clone)]
pub struct OrderingService {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    prefix: String,
    events: EventBus,
}

/// Each head (a dispatch, a confirmation) with its lines, in the heads' order, in one pass over the lines.
fn with_their_lines<H, L>(
    heads: Vec<H>,
    lines: Vec<L>,
    id_of: impl Fn(&H) -> Uuid,
    head_of: impl Fn(&L) -> Uuid,
) -> Vec<(H, Vec<L>)> {
    let mut by_head: std::collections::HashMap<Uuid, Vec<L>> = std::collections::HashMap::new();
    for line in lines {
        by_head.entry(head_of(&line)).or_default().push(line);
    }
    heads
        .into_iter()
        .map(|head| {
            let own = by_head.remove(&id_of(&head)).unwrap_or_default();
            (head, own)
        })
        .collect()
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

    /// The supplier accepts its order.
    pub async fn accept(&self, actor: &Actor, order_id: Uuid) -> ServiceResult<purchase_order::Model> {
        actor.require(Permission::SubmitBids)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::Accept)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.accepted_at = Set(Some(now))).await?;
        audit::record(&txn, now, AuditRecord::by(actor, "order.accepted", "purchase_order", order_id, json!({})))
            .await?;
        order_changed(&txn, &self.events, &updated, "ACCEPTED", None, now).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// The supplier declines its order, saying why; the agency may then re-award it.
    pub async fn decline(&self, actor: &Actor, order_id: Uuid, reason: &str) -> ServiceResult<purchase_order::Model> {
        actor.require(Permission::SubmitBids)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::Decline)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.decline_reason = Set(Some(reason.clone()))).await?;
        let tender_row = Self::tender_of(&txn, &updated).await?;
        award_follows_orders(&txn, &self.events, &tender_row, updated.lot_id, Some(&updated), None, now).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "order.declined", "purchase_order", order_id, json!({ "reason": reason })),
        )
        .await?;
        let notice = Notice::OrderDeclined { order_number: updated.number.clone(), reason: reason.clone() };
        order_changed(&txn, &self.events, &updated, "DECLINED", Some((notice, Parties::Both)), now).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// The supplier records a dispatch; more than is still open on a line is refused.
    pub async fn dispatch(
        &self,
        actor: &Actor,
        order_id: Uuid,
        input: DispatchInput,
    ) -> ServiceResult<dispatch::Model> {
        actor.require(Permission::SubmitBids)?;
        let vehicle = bounded_text("vehicle", &input.vehicle, 1, 80)?;
        let driver = bounded_text("driver", &input.driver, 1, 80)?;
        if input.lines.is_empty() {
            return Err(ServiceError::bad_input("lines", "a dispatch carries at least one line"));
        }
        if input.expected_arrival < input.dispatched_on {
            return Err(ServiceError::bad_input("expectedArrival", "cannot be before the dispatch date"));
        }
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        if order.supplier_id != actor.organisation_id {
            return Err(ServiceError::Forbidden("only the order's supplier records dispatches".into()));
        }
        if !status_of(&order)?.accepts_dispatch() {
            return Err(ServiceError::Conflict(format!("an order that is {} takes no dispatches", order.status)));
        }
        let lines = Self::lines_of(&txn, order.id).await?;
        let record = dispatch::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order.id),
            dispatched_on: Set(input.dispatched_on),
            vehicle: Set(vehicle),
            driver: Set(driver),
            expected_arrival: Set(input.expected_arrival),
            recorded_by: Set(actor.user_id),
            recorded_at: Set(now),
        }
        .insert(&txn)
        .await?;
        for (line_id, quantity) in &input.lines {
            let line = lines
                .iter()
                .find(|l| l.id == *line_id)
                .ok_or_else(|| ServiceError::bad_input("lines", "not a line of this order"))?;
            rules::check_dispatch(&progress(line), *quantity)?;
            dispatch_line::ActiveModel {
                id: Set(Uuid::now_v7()),
                dispatch_id: Set(record.id),
                order_line_id: Set(line.id),
                quantity_e4: Set(to_stored(*quantity)?),
            }
            .insert(&txn)
            .await?;
            let mut changed = line.clone().into_active_model();
            changed.dispatched_e4 = Set(line.dispatched_e4 + to_stored(*quantity)?);
            changed.update(&txn).await?;
        }
        let summary = json!({ "lines": input.lines.iter().map(|(l, q)| json!({ "line": l, "quantity": q.to_string() })).collect::<Vec<_>>() });
        audit::record(&txn, now, AuditRecord::by(actor, "order.dispatched", "purchase_order", order.id, summary))
            .await?;
        let notice = Notice::DispatchRecorded {
            order_number: order.number.clone(),
            vehicle: record.vehicle.clone(),
            expected_arrival: record.expected_arrival,
        };
        order_changed(&txn, &self.events, &order, "DISPATCHED", Some((notice, Parties::Cooperative)), now).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// The cooperative confirms a delivery. With an idempotency key, sending it twice records it once.
    pub async fn confirm_delivery(
        &self,
        actor: &Actor,
        order_id: Uuid,
        input: ConfirmationInput,
    ) -> ServiceResult<delivery_confirmation::Model> {
        actor.require(Permission::SubmitDemand)?;
        let receiver_name = bounded_text("receiverName", &input.receiver_name, 2, 100)?;
        let note = optional_text("note", input.note.as_deref(), 1000)?;
        if input.lines.is_empty() {
            return Err(ServiceError::bad_input("lines", "a confirmation covers at least one line"));
        }
        let fingerprint = format!(
            "{order_id}|{:?}|{}|{}",
            input.dispatch_id,
            input.received_at.timestamp_millis(),
            input
                .lines
                .iter()
                .map(|l| format!("{}:{}:{}:{}", l.order_line_id, l.received, l.accepted, l.rejected))
                .collect::<Vec<_>>()
                .join(",")
        );
        let key = input
            .idempotency_key
            .as_deref()
            .map(|k| IdempotencyKey::parse(actor.user_id, "confirm_delivery", k, &fingerprint))
            .transpose()?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        if let Some(key) = &key
            && let Some(id) = key.recall(&txn).await?
        {
            let id = Uuid::parse_str(&id).map_err(|e| ServiceError::internal(e.to_string()))?;
            return delivery_confirmation::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| ServiceError::internal("idempotency key points at a missing confirmation"));
        }
        if input.received_at > now + Duration::minutes(5) {
            return Err(ServiceError::bad_input("receivedAt", "cannot be in the future"));
        }
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        if order.cooperative_id != actor.organisation_id {
            return Err(ServiceError::Forbidden("only the ordering cooperative confirms receipt".into()));
        }
        let status = status_of(&order)?;
        if !status.accepts_dispatch() {
            return Err(ServiceError::Conflict(format!("an order that is {} takes no deliveries", status.as_str())));
        }
        let dispatched: Vec<dispatch_line::Model> = match input.dispatch_id {
            Some(dispatch_id) => {
                let found =
                    dispatch::Entity::find_by_id(dispatch_id).one(&txn).await?.filter(|d| d.order_id == order.id);
                if found.is_none() {
                    return Err(ServiceError::bad_input("dispatchId", "not a dispatch of this order"));
                }
                dispatch_line::Entity::find()
                    .filter(dispatch_line::Column::DispatchId.eq(dispatch_id))
                    .all(&txn)
                    .await?
            }
            None => vec![],
        };
        let mut lines = Self::lines_of(&txn, order.id).await?;
        let confirmation_id = Uuid::now_v7();
        let mut discrepancy = false;
        let mut receipts = Vec::new();
        for entry in &input.lines {
            let line = lines
                .iter_mut()
                .find(|l| l.id == entry.order_line_id)
                .ok_or_else(|| ServiceError::bad_input("lines", "not a line of this order"))?;
            let receipt =
                Receipt::parse(entry.received, entry.accepted, entry.rejected, entry.reason, &progress(line))?;
            let note_given = entry.reason_text.as_deref().is_some_and(|text| !text.trim().is_empty());
            if receipt.reason == Some(RejectionReason::Other) && !note_given {
                return Err(ServiceError::bad_input("rejectionNote", "say what was wrong when the reason is OTHER"));
            }
            if input.dispatch_id.is_some() {
                let sent: Decimal =
                    dispatched.iter().filter(|d| d.order_line_id == line.id).map(|d| from_stored(d.quantity_e4)).sum();
                discrepancy |= sent != receipt.received;
            }
            discrepancy |= receipt.rejected > Decimal::ZERO;
            line.received_e4 += to_stored(receipt.received)?;
            line.accepted_e4 += to_stored(receipt.accepted)?;
            line.rejected_e4 += to_stored(receipt.rejected)?;
            receipts.push((line.clone(), receipt, entry.reason_text.clone()));
        }
        let confirmation = delivery_confirmation::ActiveModel {
            id: Set(confirmation_id),
            order_id: Set(order.id),
            dispatch_id: Set(input.dispatch_id),
            received_at: Set(input.received_at),
            receiver_name: Set(receiver_name),
            note: Set(note),
            discrepancy: Set(discrepancy),
            supplier_response: Set(None),
            responded_at: Set(None),
            recorded_by: Set(actor.user_id),
            recorded_at: Set(now),
        }
        .insert(&txn)
        .await?;
        for (line, receipt, reason_text) in &receipts {
            let mut changed = purchase_order_line::Entity::find_by_id(line.id)
                .one(&txn)
                .await?
                .ok_or_else(|| ServiceError::internal("line vanished"))?
                .into_active_model();
            changed.received_e4 = Set(line.received_e4);
            changed.accepted_e4 = Set(line.accepted_e4);
            changed.rejected_e4 = Set(line.rejected_e4);
            changed.update(&txn).await?;
            confirmation_line::ActiveModel {
                id: Set(Uuid::now_v7()),
                confirmation_id: Set(confirmation.id),
                order_line_id: Set(line.id),
                received_e4: Set(to_stored(receipt.received)?),
                accepted_e4: Set(to_stored(receipt.accepted)?),
                rejected_e4: Set(to_stored(receipt.rejected)?),
                rejection_reason: Set(receipt.reason.map(|r| r.as_str().to_owned())),
                rejection_note: Set(optional_text("rejectionNote", reason_text.as_deref(), 300)?),
                days_late: Set(i32::try_from(rules::days_late(line.due_date, input.received_at)).unwrap_or(i32::MAX)),
            }
            .insert(&txn)
            .await?;
        }
        let fully_accepted = lines.iter().all(|l| l.accepted_e4 >= l.quantity_e4);
        let to = status.apply(OrderEvent::DeliveryConfirmed { fully_accepted })?;
        let updated = Self::set_status(&txn, order, to, now, |_| {}).await?;
        let notice = Notice::DeliveryConfirmed {
            order_number: updated.number.clone(),
            discrepancy,
            accepted: receipts.iter().map(|(_, r, _)| r.accepted).sum(),
            rejected: receipts.iter().map(|(_, r, _)| r.rejected).sum(),
        };
        let kind = if discrepancy { "DELIVERY_DISPUTED" } else { "DELIVERY_CONFIRMED" };
        order_changed(&txn, &self.events, &updated, kind, Some((notice, Parties::Supplier)), now).await?;
        // What was accepted now is a price actually paid.
        let accepted_now: std::collections::HashMap<Uuid, Decimal> =
            receipts.iter().map(|(line, receipt, _)| (line.id, receipt.accepted)).collect();
        let tender_row = tender::Entity::find_by_id(updated.tender_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::internal("order without tender"))?;
        let accepted = |line: &purchase_order_line::Model| accepted_now.get(&line.id).copied().unwrap_or_default();
        let this_order = OrdersOf::Order(updated.id);
        let source = crate::prices::SOURCE_DELIVERY;
        crate::prices::record_order_prices(&txn, &self.events, source, &tender_row, this_order, now, accepted).await?;
        if let Some(key) = &key {
            key.remember(&txn, &confirmation.id.to_string(), now).await?;
        }
        let summary = json!({ "confirmation": confirmation.id, "discrepancy": discrepancy, "status": to.as_str() });
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "order.delivery_confirmed", "purchase_order", order_id, summary),
        )
        .await?;
        txn.commit().await?;
        Ok(confirmation)
    }

    /// The supplier answers a flagged discrepancy.
    pub async fn respond_to_discrepancy(
        &self,
        actor: &Actor,
        confirmation_id: Uuid,
        response: &str,
    ) -> ServiceResult<delivery_confirmation::Model> {
        actor.require(Permission::SubmitBids)?;
        let response = bounded_text("response", response, 3, 1000)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let confirmation = delivery_confirmation::Entity::find_by_id(confirmation_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound("delivery confirmation".into()))?;
        let order = Self::order_for_update(&txn, actor, confirmation.order_id).await?;
        if order.supplier_id != actor.organisation_id || !confirmation.discrepancy {
            return Err(ServiceError::Conflict("only a flagged discrepancy on your own order can be answered".into()));
        }
        let mut changed = confirmation.into_active_model();
        changed.supplier_response = Set(Some(response.clone()));
        changed.responded_at = Set(Some(now));
        let updated = changed.update(&txn).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(
                actor,
                "order.discrepancy_answered",
                "purchase_order",
                order.id,
                json!({ "response": response }),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// The cooperative or the agency ends an order that will not be completed; the undelivered rest is recorded.
    pub async fn short_close(
        &self,
        actor: &Actor,
        order_id: Uuid,
        reason: &str,
    ) -> ServiceResult<purchase_order::Model> {
        Self::require_order_closer(actor, "short-closes")?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::ShortClose)?;
        let lines = Self::lines_of(&txn, order.id).await?;
        let undelivered: Decimal = lines.iter().map(|l| progress(l).open_for_acceptance()).sum();
        let updated = Self::set_status(&txn, order, to, now, |o| {
            o.close_reason = Set(Some(reason.clone()));
            o.closed_at = Set(Some(now));
        })
        .await?;
        let summary = json!({ "reason": reason, "undelivered": undelivered.to_string() });
        audit::record(&txn, now, AuditRecord::by(actor, "order.short_closed", "purchase_order", order_id, summary))
            .await?;
        order_changed(&txn, &self.events, &updated, "SHORT_CLOSED", None, now).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// A delivered order is closed by its cooperative or the agency.
    pub async fn close(&self, actor: &Actor, order_id: Uuid) -> ServiceResult<purchase_order::Model> {
        Self::require_order_closer(actor, "closes")?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let to = status_of(&order)?.apply(OrderEvent::Close)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.closed_at = Set(Some(now))).await?;
        audit::record(&txn, now, AuditRecord::by(actor, "order.closed", "purchase_order", order_id, json!({}))).await?;
        order_changed(&txn, &self.events, &updated, "CLOSED", None, now).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// The agency cancels an order from which nothing has been delivered.
    pub async fn cancel(&self, actor: &Actor, order_id: Uuid, reason: &str) -> ServiceResult<purchase_order::Model> {
        actor.require(Permission::ManageTendering)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let lines = Self::lines_of(&txn, order.id).await?;
        if lines.iter().any(|l| l.received_e4 > 0) {
            return Err(ServiceError::Conflict(
                "goods have been delivered against this order; short-close it instead".into(),
            ));
        }
        let to = status_of(&order)?.apply(OrderEvent::Cancel)?;
        let updated = Self::set_status(&txn, order, to, now, |o| o.cancel_reason = Set(Some(reason.clone()))).await?;
        let tender_row = Self::tender_of(&txn, &updated).await?;
        award_follows_orders(&txn, &self.events, &tender_row, updated.lot_id, Some(&updated), None, now).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "order.cancelled", "purchase_order", order_id, json!({ "reason": reason })),
        )
        .await?;
        order_changed(&txn, &self.events, &updated, "CANCELLED", None, now).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// The agency re-awards a declined order, or one not accepted in time, to the next-ranked responsive bid of the
    /// same lot whose offer is still valid and has capacity left. Returns the new order.
    pub async fn re_award(&self, actor: &Actor, order_id: Uuid, reason: &str) -> ServiceResult<purchase_order::Model> {
        actor.require(Permission::ManageTendering)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let order = Self::order_for_update(&txn, actor, order_id).await?;
        let status = status_of(&order)?;
        let expired = rules::check_re_award(status, order.accept_by, now)?;
        if order.replaced_by_order_id.is_some() {
            return Err(ServiceError::Conflict("this order has already been re-awarded".into()));
        }
        let lines = Self::lines_of(&txn, order.id).await?;
        let quantity: Decimal = lines.iter().map(|l| from_stored(l.quantity_e4)).sum();
        let tender_row = Self::tender_of(&txn, &order).await?;
        let candidates = bid::Entity::find()
            .filter(bid::Column::LotId.eq(order.lot_id))
            .filter(bid::Column::Rank.is_not_null())
            .filter(bid::Column::SupplierId.ne(order.supplier_id))
            .all(&txn)
            .await?;
        let standby: Vec<rules::StandbyBid<Uuid>> = candidates
            .iter()
            .map(|b| rules::StandbyBid {
                id: b.id,
                rank: b.rank.and_then(|r| u32::try_from(r).ok()).unwrap_or(u32::MAX),
                offered: from_stored(b.quantity_e4),
                already_awarded: from_stored(b.awarded_quantity_e4.unwrap_or(0)),
                valid_until: b.received_at + Duration::days(i64::from(b.validity_days)),
            })
            .collect();
        let next = rules::next_bid_for_re_award(&standby, quantity, now)
            .and_then(|id| candidates.into_iter().find(|b| b.id == id));
        let Some(next) = next else {
            return Err(ServiceError::Conflict(
                "no other responsive bid is still valid with capacity for this quantity".into(),
            ));
        };
        let new_lines: Vec<NewLine> = lines
            .iter()
            .map(|l| NewLine {
                demand_line_id: l.demand_line_id,
                delivery_point_id: l.delivery_point_id,
                quantity: from_stored(l.quantity_e4),
            })
            .collect();
        let replacement = insert_order(
            &txn,
            &self.events,
            &self.prefix,
            &tender_row,
            &next,
            order.cooperative_id,
            &new_lines,
            now,
            Some((order.id, reason.clone())),
        )
        .await?;
        let replacement_id = replacement.id;
        let old_status = if expired { OrderStatus::Issued.apply(OrderEvent::Cancel)? } else { status };
        let replaced = Self::set_status(&txn, order, old_status, now, |o| {
            o.replaced_by_order_id = Set(Some(replacement_id));
            o.replacement_reason = Set(Some(reason.clone()));
            if expired {
                o.cancel_reason = Set(Some("not accepted in time; re-awarded".into()));
            }
        })
        .await?;
        // An order that was only overdue stops counting now; a declined one stopped when it was declined.
        let stopped = expired.then_some(&replaced);
        award_follows_orders(&txn, &self.events, &tender_row, replaced.lot_id, stopped, Some(&replacement), now)
            .await?;
        let summary = json!({ "replacedBy": replacement.id, "number": replacement.number, "toSupplier": next.supplier_id, "reason": reason });
        audit::record(&txn, now, AuditRecord::by(actor, "order.re_awarded", "purchase_order", order_id, summary))
            .await?;
        let notice = Notice::OrderReAwarded {
            order_number: replaced.number.clone(),
            replacement_number: replacement.number.clone(),
            reason: reason.clone(),
        };
        order_changed(&txn, &self.events, &replaced, "RE_AWARDED", Some((notice, Parties::Both)), now).await?;
        txn.commit().await?;
        Ok(replacement)
    }

    // ---- reading ----

    pub async fn order(&self, actor: &Actor, order_id: Uuid) -> ServiceResult<Option<purchase_order::Model>> {
        actor.require(Permission::ViewTendering)?;
        Ok(purchase_order::Entity::find_by_id(order_id).one(&self.db).await?.filter(|o| Self::may_view(actor, o)))
    }

    /// Orders newest first, as the actor may see them; optionally of one status.
    pub async fn orders(
        &self,
        actor: &Actor,
        status: Option<OrderStatus>,
        page: PageRequest<Uuid>,
    ) -> ServiceResult<Page<purchase_order::Model>> {
        actor.require(Permission::ViewTendering)?;
        let mut query = purchase_order::Entity::find().order_by_desc(purchase_order::Column::Id);
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            OrganisationKind::Cooperative => {
                query = query.filter(purchase_order::Column::CooperativeId.eq(actor.organisation_id))
            }
            OrganisationKind::Supplier => {
                query = query.filter(purchase_order::Column::SupplierId.eq(actor.organisation_id))
            }
        }
        if let Some(status) = status {
            query = query.filter(purchase_order::Column::Status.eq(status.as_str()));
        }
        if let Some(after) = page.after {
            query = query.filter(purchase_order::Column::Id.lt(after));
        }
        let rows = query.limit(page.limit + 1).all(&self.db).await?;
        Ok(Page::from_overfetched(rows, page.limit))
    }

    /// The lines of every order a query selects, in one statement whatever the number of orders.
    async fn lines_of_orders(
        connection: &impl ConnectionTrait,
        orders: sea_orm::Select<purchase_order::Entity>,
    ) -> ServiceResult<Vec<purchase_order_line::Model>> {
        let ids = orders.select_only().column(purchase_order::Column::Id).into_query();
        Ok(purchase_order_line::Entity::find()
            .filter(purchase_order_line::Column::OrderId.in_subquery(ids))
            .order_by_asc(purchase_order_line::Column::Id)
            .all(connection)
            .await?)
    }

    pub async fn lines(&self, order_ids: &[Uuid]) -> ServiceResult<Vec<purchase_order_line::Model>> {
        Ok(purchase_order_line::Entity::find()
            .filter(purchase_order_line::Column::OrderId.is_in(order_ids.iter().copied()))
            .order_by_asc(purchase_order_line::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Dispatches of many orders with their lines, in two statements.
    pub async fn dispatches_of(
        &self,
        order_ids: &[Uuid],
    ) -> ServiceResult<Vec<(dispatch::Model, Vec<dispatch_line::Model>)>> {
        let dispatches = dispatch::Entity::find()
            .filter(dispatch::Column::OrderId.is_in(order_ids.iter().copied()))
            .order_by_asc(dispatch::Column::Id)
            .all(&self.db)
            .await?;
        let lines = dispatch_line::Entity::find()
            .filter(dispatch_line::Column::DispatchId.is_in(dispatches.iter().map(|d| d.id)))
            .all(&self.db)
            .await?;
        Ok(with_their_lines(dispatches, lines, |d| d.id, |l| l.dispatch_id))
    }

    /// Delivery confirmations of many orders with their lines, in two statements.
    pub async fn confirmations_of(
        &self,
        order_ids: &[Uuid],
    ) -> ServiceResult<Vec<(delivery_confirmation::Model, Vec<confirmation_line::Model>)>> {
        let confirmations = delivery_confirmation::Entity::find()
            .filter(delivery_confirmation::Column::OrderId.is_in(order_ids.iter().copied()))
            .order_by_asc(delivery_confirmation::Column::Id)
            .all(&self.db)
            .await?;
        let lines = confirmation_line::Entity::find()
            .filter(confirmation_line::Column::ConfirmationId.is_in(confirmations.iter().map(|c| c.id)))
            .all(&self.db)
            .await?;
        Ok(with_their_lines(confirmations, lines, |c| c.id, |l| l.confirmation_id))
    }

    /// Amounts due (accepted × unit price) per cooperative and supplier, as the actor may see them.
    pub async fn amounts_due(&self, actor: &Actor) -> ServiceResult<Vec<AmountDue>> {
        actor.require(Permission::ViewTendering)?;
        let mut query = counting_orders();
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            OrganisationKind::Cooperative => {
                query = query.filter(purchase_order::Column::CooperativeId.eq(actor.organisation_id))
            }
            OrganisationKind::Supplier => {
                query = query.filter(purchase_order::Column::SupplierId.eq(actor.organisation_id))
            }
        }
        let orders = query.clone().all(&self.db).await?;
        let lines = Self::lines_of_orders(&self.db, query).await?;
        let mut sums: BTreeMap<(Uuid, Uuid), (Decimal, Decimal)> = BTreeMap::new();
        for order in &orders {
            let entry = sums.entry((order.cooperative_id, order.supplier_id)).or_default();
            let own: Vec<_> = lines.iter().filter(|l| l.order_id == order.id).collect();
            entry.0 += own.iter().map(|l| from_stored(l.line_total_e4)).sum::<Decimal>();
            entry.1 +=
                rules::amount_due(own.iter().map(|l| (from_stored(l.accepted_e4), from_stored(l.unit_price_e4))));
        }
        Ok(sums
            .into_iter()
            .map(|((cooperative_id, supplier_id), (ordered_total, amount_due))| AmountDue {
                cooperative_id,
                supplier_id,
                ordered_total,
                amount_due,
            })
            .collect())
    }

    /// Delivery performance per supplier (and per commodity when given): suppliers see their own, the agency all.
    pub async fn performance(
        &self,
        actor: &Actor,
        supplier_id: Option<Uuid>,
        commodity_id: Option<Uuid>,
    ) -> ServiceResult<Vec<SupplierPerformance>> {
        actor.require(Permission::ViewTendering)?;
        let supplier_filter = match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => supplier_id,
            OrganisationKind::Supplier => {
                if supplier_id.is_some_and(|id| id != actor.organisation_id) {
                    return Err(ServiceError::Forbidden("suppliers see only their own performance".into()));
                }
                Some(actor.organisation_id)
            }
            OrganisationKind::Cooperative => {
                return Err(ServiceError::Forbidden("supplier performance is for suppliers and the agency".into()));
            }
        };
        let mut query = counting_orders();
        if let Some(supplier) = supplier_filter {
            query = query.filter(purchase_order::Column::SupplierId.eq(supplier));
        }
        let order_scope = query.clone().select_only().column(purchase_order::Column::Id).into_query();
        let orders = query.clone().all(&self.db).await?;
        let mut lines = Self::lines_of_orders(&self.db, query).await?;
        if let Some(commodity) = commodity_id {
            lines.retain(|l| l.commodity_id == commodity);
        }
        let line_ids: std::collections::HashSet<Uuid> = lines.iter().map(|l| l.id).collect();
        let confirmation_lines: Vec<confirmation_line::Model> = confirmation_line::Entity::find()
            .filter(
                confirmation_line::Column::OrderLineId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(purchase_order_line::Column::Id)
                        .from(purchase_order_line::Entity)
                        .and_where(purchase_order_line::Column::OrderId.in_subquery(order_scope))
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|c| line_ids.contains(&c.order_line_id))
            .collect();
        let mut by_supplier: BTreeMap<Uuid, Vec<&purchase_order::Model>> = BTreeMap::new();
        for order in &orders {
            if lines.iter().any(|l| l.order_id == order.id) {
                by_supplier.entry(order.supplier_id).or_default().push(order);
            }
        }
        let ratio = |a: Decimal, b: Decimal| if b.is_zero() { None } else { Some((a / b).round_dp(4).normalize()) };
        Ok(by_supplier
            .into_iter()
            .map(|(supplier, supplier_orders)| {
                let order_ids: Vec<Uuid> = supplier_orders.iter().map(|o| o.id).collect();
                let own_lines: Vec<_> = lines.iter().filter(|l| order_ids.contains(&l.order_id)).collect();
                let line_ids: Vec<Uuid> = own_lines.iter().map(|l| l.id).collect();
                let deliveries: Vec<_> =
                    confirmation_lines.iter().filter(|c| line_ids.contains(&c.order_line_id)).collect();
                let ordered: Decimal = own_lines.iter().map(|l| from_stored(l.quantity_e4)).sum();
                let accepted: Decimal = own_lines.iter().map(|l| from_stored(l.accepted_e4)).sum();
                let received: Decimal = own_lines.iter().map(|l| from_stored(l.received_e4)).sum();
                let rejected: Decimal = own_lines.iter().map(|l| from_stored(l.rejected_e4)).sum();
                let on_time = deliveries.iter().filter(|d| d.days_late == 0).count();
                let total_late: i64 = deliveries.iter().map(|d| i64::from(d.days_late)).sum();
                let mut reasons: BTreeMap<String, Decimal> = BTreeMap::new();
                for delivery in &deliveries {
                    if let Some(reason) = &delivery.rejection_reason {
                        *reasons.entry(reason.clone()).or_default() += from_stored(delivery.rejected_e4);
                    }
                }
                let count = Decimal::from(deliveries.len() as u64);
                SupplierPerformance {
                    supplier_id: supplier,
                    commodity_id,
                    orders: supplier_orders.len() as u64,
                    ordered,
                    accepted,
                    received,
                    rejected,
                    fill_rate: ratio(accepted, ordered),
                    on_time_rate: ratio(Decimal::from(on_time as u64), count),
                    rejection_rate: ratio(rejected, received),
                    rejection_reasons: reasons.into_iter().collect(),
                    average_days_late: ratio(Decimal::from(total_late), count),
                    deliveries: deliveries.len() as u64,
                }
            })
            .collect())
    }
}
