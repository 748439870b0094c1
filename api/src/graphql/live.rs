//! Live updates: GraphQL subscriptions over WebSocket (`graphql-transport-ws`).
//!
//! Each subscription decides at its start, like every query, whether the caller may follow what it asks for, and
//! filters every event with the same rule. Events come from the log written in the transactions that caused them
//! (see `infra::notification`); a client that reconnects passes the last `cursor` it saw as `after` and first
//! receives what it missed.

use std::{collections::VecDeque, sync::Arc};

use async_graphql::{Context, Enum, ID, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use domain::{access::Permission, organisation::OrganisationKind};
use futures::{Stream, StreamExt, stream};
use infra::{
    ServiceError,
    notification::{LiveEvent, Topic},
    services::Services,
};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{
    error::{ApiResult, to_graphql},
    guard::require,
    ordering::OrderStatus,
    parse_id,
    tendering::TenderStatus,
};

/// At most this many missed events are replayed when a subscriber resumes; older ones it reads with queries.
const REPLAY_LIMIT: u64 = 1_000;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TenderEventKind {
    Published,
    DeadlineExtended,
    Closed,
    Awarded,
    Cancelled,
}

/// A tender's status changed or its deadline moved.
#[derive(SimpleObject)]
pub struct TenderEvent {
    /// Pass as `after` when resubscribing to receive what came after this event.
    pub cursor: String,
    pub tender_id: ID,
    pub kind: TenderEventKind,
    pub status: TenderStatus,
    pub deadline: DateTime<Utc>,
    pub occurred_at: DateTime<Utc>,
}

/// The number of bids now standing on a tender (a count only: bids stay sealed until the deadline).
#[derive(SimpleObject)]
pub struct BidCountEvent {
    pub cursor: String,
    pub tender_id: ID,
    pub bid_count: u64,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderEventKind {
    Issued,
    Accepted,
    Declined,
    Dispatched,
    DeliveryConfirmed,
    DeliveryDisputed,
    ShortClosed,
    Closed,
    Cancelled,
    ReAwarded,
}

/// A purchase order changed.
#[derive(SimpleObject)]
pub struct OrderEvent {
    pub cursor: String,
    pub order_id: ID,
    pub number: String,
    pub kind: OrderEventKind,
    pub status: OrderStatus,
    pub occurred_at: DateTime<Utc>,
}

fn text<'a>(event: &'a LiveEvent, key: &str) -> &'a str {
    event.payload.get(key).and_then(serde_json::Value::as_str).unwrap_or_default()
}

fn tender_event(event: &LiveEvent) -> Option<TenderEvent> {
    let kind = match text(event, "kind") {
        "PUBLISHED" => TenderEventKind::Published,
        "DEADLINE_EXTENDED" => TenderEventKind::DeadlineExtended,
        "CLOSED" => TenderEventKind::Closed,
        "AWARDED" => TenderEventKind::Awarded,
        "CANCELLED" => TenderEventKind::Cancelled,
        _ => return None,
    };
    Some(TenderEvent {
        cursor: event.seq.to_string(),
        tender_id: ID(event.subject_id.to_string()),
        kind,
        status: domain::tender::TenderStatus::parse(text(event, "status")).ok()?.into(),
        deadline: text(event, "deadline").parse().ok()?,
        occurred_at: event.occurred_at,
    })
}

fn order_event(event: &LiveEvent) -> Option<OrderEvent> {
    let kind = match text(event, "kind") {
        "ISSUED" => OrderEventKind::Issued,
        "ACCEPTED" => OrderEventKind::Accepted,
        "DECLINED" => OrderEventKind::Declined,
        "DISPATCHED" => OrderEventKind::Dispatched,
        "DELIVERY_CONFIRMED" => OrderEventKind::DeliveryConfirmed,
        "DELIVERY_DISPUTED" => OrderEventKind::DeliveryDisputed,
        "SHORT_CLOSED" => OrderEventKind::ShortClosed,
        "CLOSED" => OrderEventKind::Closed,
        "CANCELLED" => OrderEventKind::Cancelled,
        "RE_AWARDED" => OrderEventKind::ReAwarded,
        _ => return None,
    };
    Some(OrderEvent {
        cursor: event.seq.to_string(),
        order_id: ID(event.subject_id.to_string()),
        number: text(event, "number").to_owned(),
        kind,
        status: domain::purchase_order::OrderStatus::parse(text(event, "status")).ok()?.into(),
        occurred_at: event.occurred_at,
    })
}

fn parse_cursor(after: Option<String>) -> async_graphql::Result<Option<i64>> {
    after
        .map(|cursor| {
            cursor
                .parse::<i64>()
                .ok()
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| to_graphql(ServiceError::bad_input("after", "is not a cursor from an earlier event")))
        })
        .transpose()
}

/// What a subscriber follows: one topic, one subject or all, and which events it may receive.
struct Following {
    services: Services,
    topic: Topic,
    subject: Option<Uuid>,
    visible: Box<dyn Fn(&LiveEvent) -> bool + Send + Sync>,
}

impl Following {
    fn wants(&self, event: &LiveEvent) -> bool {
        event.topic == self.topic && self.subject.is_none_or(|id| id == event.subject_id) && (self.visible)(event)
    }
}

struct StreamState {
    following: Following,
    receiver: broadcast::Receiver<Arc<LiveEvent>>,
    pending: VecDeque<Arc<LiveEvent>>,
    /// Events up to here were replayed from the log; the live copies of them are skipped.
    replayed_until: i64,
    newest_seen: i64,
}

/// The events a subscriber receives: first those after `after` (from the log), then live ones as they commit.
async fn follow(following: Following, after: Option<i64>) -> async_graphql::Result<impl Stream<Item = Arc<LiveEvent>>> {
    // Listen before reading the log, so that nothing committed in between is missed.
    let receiver = following.services.events.subscribe();
    let mut pending = VecDeque::new();
    let mut replayed_until = 0;
    if let Some(cursor) = after {
        let missed = following
            .services
            .events
            .since(&following.services.db, following.topic, following.subject, cursor, REPLAY_LIMIT)
            .await
            .api()?;
        replayed_until = missed.last().map_or(cursor, |event| event.seq);
        pending.extend(missed.into_iter().map(Arc::new));
    }
    let state = StreamState { following, receiver, pending, replayed_until, newest_seen: replayed_until };
    Ok(stream::unfold(state, |mut state| async move {
        loop {
            if let Some(event) = state.pending.pop_front() {
                if state.following.wants(&event) {
                    state.newest_seen = state.newest_seen.max(event.seq);
                    return Some((event, state));
                }
                continue;
            }
            match state.receiver.recv().await {
                // Events up to the replayed cursor were already sent from the log.
                Ok(event) if event.seq > state.replayed_until => state.pending.push_back(event),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    // Too slow to keep up with the broadcast: catch up from the log.
                    let Following { services, topic, subject, .. } = &state.following;
                    match services.events.since(&services.db, *topic, *subject, state.newest_seen, REPLAY_LIMIT).await {
                        Ok(missed) => {
                            state.replayed_until = missed.last().map_or(state.newest_seen, |event| event.seq);
                            state.pending.extend(missed.into_iter().map(Arc::new));
                        }
                        Err(error) => {
                            tracing::warn!(%error, "a lagging subscriber could not catch up; ending its stream");
                            return None;
                        }
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }))
}

/// A price observed above its HET, as it is recorded.
#[derive(SimpleObject)]
pub struct PriceAlertEvent {
    pub cursor: String,
    pub alert_id: ID,
    pub commodity_id: ID,
    pub kecamatan: String,
    pub city: String,
    pub day: String,
    pub price: String,
    pub ceiling: String,
    pub tender_id: Option<ID>,
    pub market_name: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

fn price_alert_event(event: &LiveEvent) -> PriceAlertEvent {
    let optional = |key: &str| event.payload.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    PriceAlertEvent {
        cursor: event.seq.to_string(),
        alert_id: ID(event.subject_id.to_string()),
        commodity_id: ID(text(event, "commodityId").to_owned()),
        kecamatan: text(event, "kecamatan").to_owned(),
        city: text(event, "city").to_owned(),
        day: text(event, "day").to_owned(),
        price: text(event, "price").to_owned(),
        ceiling: text(event, "ceiling").to_owned(),
        tender_id: optional("tenderId").map(ID),
        market_name: optional("marketName"),
        occurred_at: event.occurred_at,
    }
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// A tender's status changes and deadline extensions, for anyone who may see the tender.
    async fn tender_events(
        &self,
        ctx: &Context<'_>,
        tender_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = TenderEvent> + use<>> {
        let actor = require(ctx, Permission::ViewTendering)?.clone();
        let id = parse_id("tenderId", &tender_id)?;
        let after = parse_cursor(after)?;
        let services = ctx.data::<Services>()?.clone();
        if services.tendering.tender(&actor, id).await.api()?.is_none() {
            return Err(to_graphql(ServiceError::NotFound("tender".into())));
        }
        let following = Following { services, topic: Topic::Tender, subject: Some(id), visible: Box::new(|_| true) };
        Ok(follow(following, after).await?.filter_map(|event| async move { tender_event(&event) }))
    }

    /// The number of bids standing on a tender, each time a bid arrives or is withdrawn: the agency's view while
    /// bids are sealed.
    async fn bid_count(
        &self,
        ctx: &Context<'_>,
        tender_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = BidCountEvent> + use<>> {
        let actor = require(ctx, Permission::ManageTendering)?.clone();
        let id = parse_id("tenderId", &tender_id)?;
        let after = parse_cursor(after)?;
        let services = ctx.data::<Services>()?.clone();
        if services.tendering.tender(&actor, id).await.api()?.is_none() {
            return Err(to_graphql(ServiceError::NotFound("tender".into())));
        }
        let counting = services.clone();
        let following = Following { services, topic: Topic::Bids, subject: Some(id), visible: Box::new(|_| true) };
        Ok(follow(following, after).await?.filter_map(move |event| {
            let (services, actor) = (counting.clone(), actor.clone());
            async move {
                // The count as of now: a burst of bids yields events whose counts only ever reflect committed bids.
                let bid_count = services.tendering.bid_count(&actor, event.subject_id).await.ok()?;
                Some(BidCountEvent {
                    cursor: event.seq.to_string(),
                    tender_id: ID(event.subject_id.to_string()),
                    bid_count,
                    occurred_at: event.occurred_at,
                })
            }
        }))
    }

    /// New price alerts (prices above the HET) as they are recorded: for the agency.
    async fn price_alerts(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = PriceAlertEvent> + use<>> {
        require(ctx, Permission::MonitorPrices)?;
        let after = parse_cursor(after)?;
        let services = ctx.data::<Services>()?.clone();
        let following = Following { services, topic: Topic::PriceAlert, subject: None, visible: Box::new(|_| true) };
        Ok(follow(following, after).await?.map(|event| price_alert_event(&event)))
    }

    /// Changes to purchase orders: those of the caller's own organisation (as cooperative or supplier), or for the
    /// agency every order. With `orderId`, one order only.
    async fn order_events(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = OrderEvent> + use<>> {
        let actor = require(ctx, Permission::ViewTendering)?.clone();
        let order_id = order_id.map(|id| parse_id("orderId", &id)).transpose()?;
        let after = parse_cursor(after)?;
        let services = ctx.data::<Services>()?.clone();
        if let Some(id) = order_id
            && services.ordering.order(&actor, id).await.api()?.is_none()
        {
            return Err(to_graphql(ServiceError::NotFound("purchase order".into())));
        }
        let sees_all = matches!(actor.organisation_kind, OrganisationKind::Agency | OrganisationKind::Platform);
        let organisation = actor.organisation_id;
        let visible: Box<dyn Fn(&LiveEvent) -> bool + Send + Sync> =
            Box::new(move |event| sees_all || event.parties().contains(&Some(organisation)));
        let following = Following { services, topic: Topic::Order, subject: order_id, visible };
        Ok(follow(following, after).await?.filter_map(|event| async move { order_event(&event) }))
    }
}
