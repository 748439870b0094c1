//! Tenders: the service and what its rooms share. Each room holds one job — `commands` (make, publish, cancel, move a
//! deadline), `bids` (sealed bids, receipts, the writer under them), `notices` (who hears of a tender), `closing`
//! (close, evaluate, confirm the award into orders and prices) and `reading` (what each caller may see).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use domain::{
    access::{Actor, Permission},
    allocation::{self, AwardedSupply, DemandLine},
    bid::{BidStatus, Offer, ProposedOffer},
    clock::{Clock, date_in_wib},
    commodity::{Place, PriceKind, applicable_price},
    evaluation::{self, LotTerms, SubmittedBid},
    identity::bounded_text,
    notification::Notice,
    organisation::OrganisationKind,
    pool::PoolStatus,
    tender::{self as rules, AwardCriterion, BiddingPeriod, LotOutcome, TenderStatus, TenderTerms},
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    catalogue::to_domain,
    db::begin_write,
    entities::{
        award_allocation, bid, bid_version, commodity, delivery_point, demand_line, demand_pool, lot, organisation,
        organisation_category, price_reference, tender, tender_reminder, tender_view,
    },
    error::ServiceResult,
    fixed_point::{from_stored, to_stored},
    idempotency::IdempotencyKey,
    notification::{self, EventBus, Subject, Topic},
    pagination::{Page, PageRequest},
    read_models::{self, criterion_of, read_all, read_one},
};

mod bids;
mod closing;
mod commands;
mod notices;
mod reading;

pub use bids::BidReceipt;
use bids::BidWriter;
pub use commands::TenderInput;

const LOT_PENDING: &str = LotOutcome::Pending.as_str();
const LOT_AWARDED: &str = LotOutcome::Awarded.as_str();
const LOT_UNSUCCESSFUL: &str = LotOutcome::Unsuccessful.as_str();

/// The status a reader sees now.
pub(crate) fn effective_status(row: &tender::Model, now: DateTime<Utc>) -> ServiceResult<TenderStatus> {
    Ok(TenderStatus::parse(&row.status)?.at(row.deadline_at, now))
}

/// The delivery points that a pool's demand lines deliver to, in one query whatever the number of lines (a list of
/// ids would exceed the databases' bind-parameter limits at national scale).
async fn delivery_points_of_pool(
    connection: &impl ConnectionTrait,
    pool_id: Uuid,
) -> ServiceResult<Vec<delivery_point::Model>> {
    let in_pool = sea_orm::sea_query::Query::select()
        .column(demand_line::Column::DeliveryPointId)
        .from(demand_line::Entity)
        .and_where(demand_line::Column::PoolId.eq(pool_id))
        .to_owned();
    Ok(delivery_point::Entity::find()
        .filter(delivery_point::Column::Id.in_subquery(in_pool))
        .order_by_asc(delivery_point::Column::Name)
        .all(connection)
        .await?)
}

#[derive(Clone)]
pub struct TenderingService {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    order_prefix: String,
    events: EventBus,
    bids: BidWriter,
    min_bidding_period: rules::MinimumBiddingPeriod,
    /// (tender, supplier) pairs this node has recorded as viewed, so that reading a tender again costs no statement.
    recorded_views: moka::sync::Cache<(Uuid, Uuid), ()>,
}

impl TenderingService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        order_prefix: String,
        events: EventBus,
        min_bidding_period: rules::MinimumBiddingPeriod,
    ) -> Self {
        let bids = BidWriter::new(db.clone(), clock.clone(), events.clone());
        let recorded_views = moka::sync::Cache::builder().max_capacity(100_000).build();
        Self { db, clock, order_prefix, events, bids, min_bidding_period, recorded_views }
    }

    async fn tender_for_update(connection: &impl ConnectionTrait, tender_id: Uuid) -> ServiceResult<tender::Model> {
        tender::Entity::find_by_id(tender_id)
            .lock_exclusive()
            .one(connection)
            .await?
            .ok_or_else(|| ServiceError::NotFound("tender".into()))
    }

    /// Tells subscribers of a tender that its status or deadline changed.
    async fn tender_event(
        &self,
        txn: &crate::db::WriteTransaction,
        row: &tender::Model,
        kind: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let payload = json!({ "kind": kind, "status": row.status, "deadline": row.deadline_at });
        Ok(self.events.publish(txn, now, Topic::Tender, row.id, payload).await?)
    }

    /// Whether a supplier sells the tender's category.
    async fn supplier_sells(
        connection: &impl ConnectionTrait,
        supplier_id: Uuid,
        commodity_id: Uuid,
    ) -> ServiceResult<bool> {
        // One query: the category comes from a subquery on the commodity.
        Ok(organisation_category::Entity::find()
            .filter(organisation_category::Column::OrganisationId.eq(supplier_id))
            .filter(
                organisation_category::Column::Category.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(commodity::Column::Category)
                        .from(commodity::Entity)
                        .and_where(commodity::Column::Id.eq(commodity_id))
                        .to_owned(),
                ),
            )
            .one(connection)
            .await?
            .is_some())
    }
}
