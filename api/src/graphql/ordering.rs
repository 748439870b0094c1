//! Purchase orders, dispatches, delivery confirmations, amounts due and supplier performance.

use async_graphql::{
    Context, Enum, ID, InputObject, Object, SimpleObject,
    connection::{Connection, OpaqueCursor},
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{access::Permission, purchase_order as rules};
use infra::{
    ordering::{self as service, SupplierPerformance as Performance},
    read_models as read,
    services::Services,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    error::ApiResult,
    guard::{authenticated, require},
    loaders::{Loaders, loader_error},
    pagination::{MaxPageSize, connection, page_request},
    parse_id,
};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::OrderStatus")]
pub enum OrderStatus {
    Issued,
    Accepted,
    Declined,
    PartiallyDelivered,
    Delivered,
    Closed,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::RejectionReason")]
pub enum RejectionReason {
    Damaged,
    ShortWeight,
    WrongProduct,
    Quality,
    Expired,
    /// Say what in `rejectionNote`.
    Other,
}

async fn organisation_name(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<String>> {
    let loaded = ctx.data::<Loaders>()?.organisations.load_one(id).await.map_err(loader_error)?;
    Ok(loaded.map(|o| o.name))
}

/// What a cooperative owes a supplier for its share of an award.
pub struct PurchaseOrder(pub read::PurchaseOrder);

#[Object]
impl PurchaseOrder {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Human-readable, unique and sortable, e.g. `KMP-MLG-2026-000123`.
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }
    async fn tender_id(&self) -> ID {
        ID(self.0.tender_id.to_string())
    }
    async fn cooperative_id(&self) -> ID {
        ID(self.0.cooperative_id.to_string())
    }
    async fn cooperative_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        organisation_name(ctx, self.0.cooperative_id).await
    }
    async fn supplier_id(&self) -> ID {
        ID(self.0.supplier_id.to_string())
    }
    async fn supplier_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        organisation_name(ctx, self.0.supplier_id).await
    }
    /// The sum of the line totals.
    async fn total(&self) -> Decimal {
        self.0.total
    }
    /// What is owed for what arrived: accepted quantity × unit price over the lines.
    async fn amount_due(&self, ctx: &Context<'_>) -> async_graphql::Result<Decimal> {
        let lines =
            ctx.data::<Loaders>()?.order_lines.load_one(self.0.id).await.map_err(loader_error)?.unwrap_or_default();
        Ok(rules::amount_due(lines.iter().map(|l| (l.accepted, l.unit_price))))
    }
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
    /// After this instant an unaccepted order may be re-awarded.
    async fn accept_by(&self) -> DateTime<Utc> {
        self.0.accept_by
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }
    async fn decline_reason(&self) -> Option<&str> {
        self.0.decline_reason.as_deref()
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
    async fn close_reason(&self) -> Option<&str> {
        self.0.close_reason.as_deref()
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// The order this one replaces after a re-award, and why.
    async fn replaces_order_id(&self) -> Option<ID> {
        self.0.replaces_order_id.map(|id| ID(id.to_string()))
    }
    async fn replaced_by_order_id(&self) -> Option<ID> {
        self.0.replaced_by_order_id.map(|id| ID(id.to_string()))
    }
    async fn replacement_reason(&self) -> Option<&str> {
        self.0.replacement_reason.as_deref()
    }
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrderLine>> {
        let lines =
            ctx.data::<Loaders>()?.order_lines.load_one(self.0.id).await.map_err(loader_error)?.unwrap_or_default();
        Ok(lines.into_iter().map(OrderLine).collect())
    }
    async fn dispatches(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Dispatch>> {
        let rows =
            ctx.data::<Loaders>()?.dispatches.load_one(self.0.id).await.map_err(loader_error)?.unwrap_or_default();
        Ok(rows.into_iter().map(Dispatch).collect())
    }
    async fn confirmations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeliveryConfirmation>> {
        let rows =
            ctx.data::<Loaders>()?.confirmations.load_one(self.0.id).await.map_err(loader_error)?.unwrap_or_default();
        Ok(rows.into_iter().map(DeliveryConfirmation).collect())
    }
}

/// A line of an order and what has moved against it.
pub struct OrderLine(pub read::OrderLine);

#[Object]
impl OrderLine {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn commodity_id(&self) -> ID {
        ID(self.0.commodity_id.to_string())
    }
    async fn delivery_point_id(&self) -> ID {
        ID(self.0.delivery_point_id.to_string())
    }
    async fn quantity(&self) -> Decimal {
        self.0.quantity
    }
    async fn unit_price(&self) -> Decimal {
        self.0.unit_price
    }
    async fn line_total(&self) -> Decimal {
        self.0.line_total
    }
    /// The award day plus the winning bid's lead time.
    async fn due_date(&self) -> NaiveDate {
        self.0.due_date
    }
    async fn dispatched(&self) -> Decimal {
        self.0.dispatched
    }
    async fn received(&self) -> Decimal {
        self.0.received
    }
    async fn accepted(&self) -> Decimal {
        self.0.accepted
    }
    async fn rejected(&self) -> Decimal {
        self.0.rejected
    }
    /// Ordered but not (yet) accepted.
    async fn undelivered(&self) -> Decimal {
        self.0.undelivered()
    }
}

pub struct Dispatch(read::Dispatch);

#[Object]
impl Dispatch {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn dispatched_on(&self) -> NaiveDate {
        self.0.dispatched_on
    }
    async fn vehicle(&self) -> &str {
        &self.0.vehicle
    }
    async fn driver(&self) -> &str {
        &self.0.driver
    }
    async fn expected_arrival(&self) -> NaiveDate {
        self.0.expected_arrival
    }
    async fn lines(&self) -> Vec<DispatchedLine> {
        self.0
            .lines
            .iter()
            .map(|l| DispatchedLine { order_line_id: ID(l.order_line_id.to_string()), quantity: l.quantity })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct DispatchedLine {
    order_line_id: ID,
    quantity: Decimal,
}

pub struct DeliveryConfirmation(read::DeliveryConfirmation);

#[Object]
impl DeliveryConfirmation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn dispatch_id(&self) -> Option<ID> {
        self.0.dispatch_id.map(|id| ID(id.to_string()))
    }
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    async fn receiver_name(&self) -> &str {
        &self.0.receiver_name
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The receipt differs from the dispatch, or goods were rejected: the supplier may answer, the agency sees it.
    async fn discrepancy(&self) -> bool {
        self.0.discrepancy
    }
    async fn supplier_response(&self) -> Option<&str> {
        self.0.supplier_response.as_deref()
    }
    async fn lines(&self) -> Vec<ConfirmedLine> {
        self.0
            .lines
            .iter()
            .map(|l| ConfirmedLine {
                order_line_id: ID(l.order_line_id.to_string()),
                received: l.received,
                accepted: l.accepted,
                rejected: l.rejected,
                rejection_reason: l.rejection_reason.clone(),
                rejection_note: l.rejection_note.clone(),
                days_late: l.days_late,
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct ConfirmedLine {
    order_line_id: ID,
    received: Decimal,
    accepted: Decimal,
    rejected: Decimal,
    rejection_reason: Option<String>,
    rejection_note: Option<String>,
    days_late: i32,
}

/// What a cooperative owes a supplier: ordered in total, and due for what was accepted.
#[derive(SimpleObject)]
pub struct AmountDue {
    cooperative_id: ID,
    supplier_id: ID,
    ordered_total: Decimal,
    amount_due: Decimal,
}

#[derive(SimpleObject)]
pub struct RejectedQuantity {
    reason: String,
    quantity: Decimal,
}

/// A supplier's delivery record.
#[derive(SimpleObject)]
pub struct SupplierPerformance {
    supplier_id: ID,
    orders: u64,
    deliveries: u64,
    ordered: Decimal,
    accepted: Decimal,
    received: Decimal,
    rejected: Decimal,
    /// Accepted ÷ ordered.
    fill_rate: Option<Decimal>,
    /// Deliveries received by their due date ÷ deliveries.
    on_time_rate: Option<Decimal>,
    /// Rejected ÷ received.
    rejection_rate: Option<Decimal>,
    rejections: Vec<RejectedQuantity>,
    /// Days late per delivery, on-time ones counting 0.
    average_days_late: Option<Decimal>,
}

impl From<Performance> for SupplierPerformance {
    fn from(p: Performance) -> Self {
        Self {
            supplier_id: ID(p.supplier_id.to_string()),
            orders: p.orders,
            deliveries: p.deliveries,
            ordered: p.ordered,
            accepted: p.accepted,
            received: p.received,
            rejected: p.rejected,
            fill_rate: p.fill_rate,
            on_time_rate: p.on_time_rate,
            rejection_rate: p.rejection_rate,
            rejections: p
                .rejection_reasons
                .into_iter()
                .map(|(reason, quantity)| RejectedQuantity { reason, quantity })
                .collect(),
            average_days_late: p.average_days_late,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PerformanceOrder {
    /// Highest fill rate first.
    FillRate,
    /// Highest on-time rate first.
    OnTimeRate,
    /// Highest rejection rate first.
    RejectionRate,
    /// Most days late first.
    AverageDaysLate,
}

#[derive(InputObject)]
pub struct DispatchLineInput {
    pub order_line_id: ID,
    pub quantity: Decimal,
}

#[derive(InputObject)]
pub struct DispatchInput {
    pub order_id: ID,
    pub lines: Vec<DispatchLineInput>,
    pub dispatched_on: NaiveDate,
    pub vehicle: String,
    pub driver: String,
    pub expected_arrival: NaiveDate,
}

#[derive(InputObject)]
pub struct ReceiptLineInput {
    pub order_line_id: ID,
    pub received: Decimal,
    pub accepted: Decimal,
    #[graphql(default)]
    pub rejected: Decimal,
    pub rejection_reason: Option<RejectionReason>,
    pub rejection_note: Option<String>,
}

#[derive(InputObject)]
pub struct ConfirmDeliveryInput {
    pub order_id: ID,
    /// The dispatch this delivery answers, when known: a receipt that differs from it is flagged.
    pub dispatch_id: Option<ID>,
    pub received_at: DateTime<Utc>,
    pub receiver_name: String,
    pub note: Option<String>,
    pub lines: Vec<ReceiptLineInput>,
    /// Send the same key when retrying on a poor connection: the confirmation is recorded once.
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
pub struct OrderingQuery;

#[Object]
impl OrderingQuery {
    /// Orders newest first: a cooperative's own, a supplier's own, all for the agency.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn purchase_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<OrderStatus>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, PurchaseOrder>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let had_cursor = after.is_some();
        let page = page_request(first, after, *ctx.data::<MaxPageSize>()?)?;
        let page = ctx.data::<Services>()?.ordering.orders(actor, status.map(Into::into), page).await.api()?;
        Ok(connection(page, had_cursor, |row| row.id, PurchaseOrder))
    }

    async fn purchase_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<PurchaseOrder>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let id = parse_id("id", &id)?;
        Ok(ctx.data::<Services>()?.ordering.order(actor, id).await.api()?.map(PurchaseOrder))
    }

    /// Amounts due per cooperative and supplier, for both sides (the agency sees all).
    async fn amounts_due(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AmountDue>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let rows = ctx.data::<Services>()?.ordering.amounts_due(actor).await.api()?;
        Ok(rows
            .into_iter()
            .map(|row| AmountDue {
                cooperative_id: ID(row.cooperative_id.to_string()),
                supplier_id: ID(row.supplier_id.to_string()),
                ordered_total: row.ordered_total,
                amount_due: row.amount_due,
            })
            .collect())
    }

    /// Delivery performance per supplier, optionally of one commodity: a supplier sees its own; the agency all,
    /// sorted as asked.
    async fn supplier_performance(
        &self,
        ctx: &Context<'_>,
        supplier_id: Option<ID>,
        commodity_code: Option<String>,
        order_by: Option<PerformanceOrder>,
    ) -> async_graphql::Result<Vec<SupplierPerformance>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let services = ctx.data::<Services>()?;
        let supplier = supplier_id.as_ref().map(|id| parse_id("supplierId", id)).transpose()?;
        let commodity = match commodity_code {
            Some(code) => match services.catalogue.commodity_by_code(actor, &code).await.api()? {
                Some(commodity) => Some(commodity.id),
                None => return Ok(vec![]),
            },
            None => None,
        };
        let mut rows = services.ordering.performance(actor, supplier, commodity).await.api()?;
        let key = |p: &Performance| -> Decimal {
            match order_by {
                Some(PerformanceOrder::FillRate) | None => p.fill_rate.unwrap_or_default(),
                Some(PerformanceOrder::OnTimeRate) => p.on_time_rate.unwrap_or_default(),
                Some(PerformanceOrder::RejectionRate) => p.rejection_rate.unwrap_or_default(),
                Some(PerformanceOrder::AverageDaysLate) => p.average_days_late.unwrap_or_default(),
            }
        };
        rows.sort_by(|a, b| key(b).cmp(&key(a)).then(a.supplier_id.cmp(&b.supplier_id)));
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct OrderingMutation;

#[Object]
impl OrderingMutation {
    /// The supplier accepts its order.
    async fn accept_purchase_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<PurchaseOrder> {
        let actor = require(ctx, Permission::SubmitBids)?;
        let id = parse_id("id", &id)?;
        Ok(PurchaseOrder(ctx.data::<Services>()?.ordering.accept(actor, id).await.api()?))
    }

    /// The supplier declines its order, saying why.
    async fn decline_purchase_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<PurchaseOrder> {
        let actor = require(ctx, Permission::SubmitBids)?;
        let id = parse_id("id", &id)?;
        Ok(PurchaseOrder(ctx.data::<Services>()?.ordering.decline(actor, id, &reason).await.api()?))
    }

    /// The supplier records a dispatch against an accepted order.
    async fn record_dispatch(&self, ctx: &Context<'_>, input: DispatchInput) -> async_graphql::Result<PurchaseOrder> {
        let actor = require(ctx, Permission::SubmitBids)?;
        let order_id = parse_id("orderId", &input.order_id)?;
        let lines = input
            .lines
            .iter()
            .map(|l| Ok((parse_id("orderLineId", &l.order_line_id)?, l.quantity)))
            .collect::<async_graphql::Result<Vec<_>>>()?;
        let services = ctx.data::<Services>()?;
        let dispatch = service::DispatchInput {
            lines,
            dispatched_on: input.dispatched_on,
            vehicle: input.vehicle,
            driver: input.driver,
            expected_arrival: input.expected_arrival,
        };
        services.ordering.dispatch(actor, order_id, dispatch).await.api()?;
        let order = services.ordering.order(actor, order_id).await.api()?;
        order.map(PurchaseOrder).ok_or_else(|| "the order vanished".into())
    }

    /// The cooperative confirms what arrived: received, accepted and rejected (with a reason) per line.
    async fn confirm_delivery(
        &self,
        ctx: &Context<'_>,
        input: ConfirmDeliveryInput,
    ) -> async_graphql::Result<PurchaseOrder> {
        let actor = require(ctx, Permission::SubmitDemand)?;
        let order_id = parse_id("orderId", &input.order_id)?;
        let lines = input
            .lines
            .iter()
            .map(|l| {
                Ok(service::ReceiptLineInput {
                    order_line_id: parse_id("orderLineId", &l.order_line_id)?,
                    received: l.received,
                    accepted: l.accepted,
                    rejected: l.rejected,
                    reason: l.rejection_reason.map(Into::into),
                    reason_text: l.rejection_note.clone(),
                })
            })
            .collect::<async_graphql::Result<Vec<_>>>()?;
        let confirmation = service::ConfirmationInput {
            dispatch_id: input.dispatch_id.as_ref().map(|id| parse_id("dispatchId", id)).transpose()?,
            received_at: input.received_at,
            receiver_name: input.receiver_name,
            note: input.note,
            lines,
            idempotency_key: input.idempotency_key,
        };
        let services = ctx.data::<Services>()?;
        services.ordering.confirm_delivery(actor, order_id, confirmation).await.api()?;
        let order = services.ordering.order(actor, order_id).await.api()?;
        order.map(PurchaseOrder).ok_or_else(|| "the order vanished".into())
    }

    /// The supplier answers a flagged discrepancy.
    async fn answer_discrepancy(
        &self,
        ctx: &Context<'_>,
        confirmation_id: ID,
        response: String,
    ) -> async_graphql::Result<bool> {
        let actor = require(ctx, Permission::SubmitBids)?;
        let id = parse_id("confirmationId", &confirmation_id)?;
        ctx.data::<Services>()?.ordering.respond_to_discrepancy(actor, id, &response).await.api()?;
        Ok(true)
    }

    /// The cooperative or the agency ends an order that will not be completed; the rest is recorded as undelivered.
    async fn short_close_purchase_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<PurchaseOrder> {
        // Authenticated here; the use case allows only the ordering cooperative and the agency.
        let actor = authenticated(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(PurchaseOrder(ctx.data::<Services>()?.ordering.short_close(actor, id, &reason).await.api()?))
    }

    /// Closes a delivered order (the ordering cooperative or the agency).
    async fn close_purchase_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<PurchaseOrder> {
        // Authenticated here; the use case allows only the ordering cooperative and the agency.
        let actor = authenticated(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(PurchaseOrder(ctx.data::<Services>()?.ordering.close(actor, id).await.api()?))
    }

    /// The agency cancels an order from which nothing has been delivered.
    async fn cancel_purchase_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<PurchaseOrder> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(PurchaseOrder(ctx.data::<Services>()?.ordering.cancel(actor, id, &reason).await.api()?))
    }

    /// The agency re-awards a declined (or unaccepted, overdue) order to the next-ranked valid bid; returns the new order.
    async fn re_award_purchase_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<PurchaseOrder> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(PurchaseOrder(ctx.data::<Services>()?.ordering.re_award(actor, id, &reason).await.api()?))
    }
}
