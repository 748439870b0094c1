//! Tenders, lots, sealed bids and awards.
//!
//! Sealing: before the deadline no field here reveals a bid's price or quantity, nor which suppliers bid, to anyone
//! but the bidding supplier; the agency sees only `bidCount`. After closing, `Lot.bids` opens by role (see
//! `TenderingService::opened_bids`).

use async_graphql::{
    Context, Enum, ID, InputObject, Object, SimpleObject,
    connection::{Connection, OpaqueCursor},
};
use chrono::{DateTime, Utc};
use domain::{
    access::Permission,
    tender::{self as rules, AwardCriterion},
};
use infra::{read_models as read, services::Services, tendering as service};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    catalogue::Commodity,
    error::{ApiResult, to_graphql},
    guard::{authenticated, require},
    loaders::{Loaders, loader_error},
    organisation::DeliveryPoint,
    pagination::{MaxPageSize, connection, page_request},
    parse_id,
};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::TenderStatus")]
pub enum TenderStatus {
    Draft,
    Open,
    Closed,
    Awarded,
    Unsuccessful,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum AwardCriterionKind {
    /// Lowest unit price wins.
    LowestPrice,
    /// Highest weighted score of price and delivery lead time.
    WeightedScore,
}

/// A tender made from a frozen demand pool.
pub struct Tender(pub read::Tender);

#[Object]
impl Tender {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// As of now: an open tender reads closed from its deadline on.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<TenderStatus> {
        let now = ctx.data::<Services>()?.clock.now();
        Ok(self.0.status_at(now).into())
    }
    async fn pool_id(&self) -> ID {
        ID(self.0.pool_id.to_string())
    }
    async fn commodity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Commodity>> {
        let loaded = ctx.data::<Loaders>()?.commodities.load_one(self.0.commodity_id).await.map_err(loader_error)?;
        Ok(loaded.map(Commodity))
    }
    async fn criterion(&self) -> AwardCriterionKind {
        match self.0.criterion {
            AwardCriterion::LowestPrice => AwardCriterionKind::LowestPrice,
            AwardCriterion::WeightedScore { .. } => AwardCriterionKind::WeightedScore,
        }
    }
    /// Percent of the score from price (weighted-score tenders).
    async fn price_weight(&self) -> i16 {
        self.0.price_weight
    }
    async fn lead_time_weight(&self) -> i16 {
        self.0.lead_time_weight
    }
    async fn partial_bids_allowed(&self) -> bool {
        self.0.partial_bids_allowed
    }
    async fn min_partial_quantity(&self) -> Option<Decimal> {
        self.0.min_partial_quantity
    }
    /// Days each supplier has to accept its purchase order.
    async fn acceptance_days(&self) -> i32 {
        self.0.acceptance_days
    }
    /// Below this many responsive bids a lot is unsuccessful.
    async fn min_responsive_bids(&self) -> i32 {
        self.0.min_responsive_bids
    }
    async fn bidding_start(&self) -> DateTime<Utc> {
        self.0.bidding_start_at
    }
    /// Bids are accepted strictly before this instant.
    async fn deadline(&self) -> DateTime<Utc> {
        self.0.deadline_at
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    async fn awarded_at(&self) -> Option<DateTime<Utc>> {
        self.0.awarded_at
    }
    async fn lots(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Lot>> {
        let loaded = ctx.data::<Loaders>()?.lots.load_one(self.0.id).await.map_err(loader_error)?;
        Ok(loaded.unwrap_or_default().into_iter().map(|l| Lot { lot: l, tender: self.0.clone() }).collect())
    }
    /// The number of bids received, for the agency only (null for everyone else). While bids are sealed this is
    /// all the agency learns.
    async fn bid_count(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<u64>> {
        let actor = authenticated(ctx)?;
        if !actor.may(Permission::ManageTendering) {
            return Ok(None);
        }
        Ok(Some(ctx.data::<Services>()?.tendering.bid_count(actor, self.0.id).await.api()?))
    }
    /// The calling supplier's own bids on this tender, at any time; empty for everyone else.
    async fn my_bids(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Bid>> {
        let actor = authenticated(ctx)?;
        if !actor.may(Permission::SubmitBids) {
            return Ok(vec![]);
        }
        let bids = ctx.data::<Services>()?.tendering.own_bids(actor, self.0.id).await.api()?;
        Ok(bids.into_iter().map(Bid).collect())
    }
    /// How the award is shared among the cooperatives' demand lines: the agency sees all once closed; after the
    /// award a cooperative sees its own and a supplier those it serves.
    async fn allocations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Allocation>> {
        let actor = authenticated(ctx)?;
        let rows = ctx.data::<Services>()?.tendering.allocations(actor, &self.0).await.api()?;
        Ok(rows.into_iter().map(Allocation).collect())
    }
}

/// A lot: a quantity of the commodity offered to suppliers under a maximum unit price.
pub struct Lot {
    lot: read::Lot,
    tender: read::Tender,
}

#[Object]
impl Lot {
    async fn id(&self) -> ID {
        ID(self.lot.id.to_string())
    }
    async fn number(&self) -> i32 {
        self.lot.number
    }
    /// Set when the tender has one lot per kecamatan.
    async fn kecamatan(&self) -> Option<&str> {
        self.lot.kecamatan.as_deref()
    }
    async fn quantity(&self) -> Decimal {
        self.lot.quantity
    }
    /// Bids above this unit price are non-responsive.
    async fn max_unit_price(&self) -> Decimal {
        self.lot.max_unit_price
    }
    /// `PENDING` until the tender closes, then `AWARDED` or `UNSUCCESSFUL`.
    async fn outcome(&self) -> &str {
        self.lot.outcome.as_str()
    }
    async fn awarded_quantity(&self) -> Option<Decimal> {
        self.lot.awarded_quantity
    }
    /// What the bids could not cover.
    async fn shortfall(&self) -> Option<Decimal> {
        self.lot.awarded_quantity.map(|awarded| self.lot.quantity - awarded)
    }
    async fn total_cost(&self) -> Option<Decimal> {
        self.lot.total_cost
    }
    /// Where the goods go: each delivery point (gerai) with the quantity wanted there.
    async fn destinations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Destination>> {
        let actor = authenticated(ctx)?;
        let rows = ctx.data::<Services>()?.tendering.lot_destinations(actor, &self.tender, &self.lot).await.api()?;
        Ok(rows
            .into_iter()
            .map(|(point, quantity, earliest_wanted_date)| Destination {
                delivery_point: DeliveryPoint(point),
                quantity,
                earliest_wanted_date,
            })
            .collect())
    }
    /// Opened bids, once bidding has closed: all of them for the agency; for a bidder its own and, after the award,
    /// the winning ones; for a cooperative in the pool the winning ones after the award. Empty while sealed.
    async fn bids(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Bid>> {
        let actor = authenticated(ctx)?;
        let bids = ctx.data::<Services>()?.tendering.opened_bids(actor, &self.tender, self.lot.id).await.api()?;
        Ok(bids.into_iter().map(Bid).collect())
    }
}

/// A delivery point of a lot and how much is wanted there.
#[derive(SimpleObject)]
pub struct Destination {
    delivery_point: DeliveryPoint,
    quantity: Decimal,
    earliest_wanted_date: chrono::NaiveDate,
}

/// A bid as its viewer may see it (its own supplier at any time; others only after opening).
pub struct Bid(pub read::Bid);

#[Object]
impl Bid {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn lot_id(&self) -> ID {
        ID(self.0.lot_id.to_string())
    }
    async fn supplier_id(&self) -> ID {
        ID(self.0.supplier_id.to_string())
    }
    async fn supplier_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let loaded = ctx.data::<Loaders>()?.organisations.load_one(self.0.supplier_id).await.map_err(loader_error)?;
        Ok(loaded.map(|o| o.name))
    }
    /// `ACTIVE` or `WITHDRAWN`.
    async fn status(&self) -> &str {
        self.0.status.as_str()
    }
    /// The latest version; every revision adds one.
    async fn version(&self) -> i32 {
        self.0.version
    }
    #[graphql(flatten)]
    async fn offer(&self) -> Offer<'_> {
        Offer(&self.0.offer)
    }
    /// Server time the latest version was received.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    /// SHA-256 over the canonical encoding of the latest version and `nonce`, as given on its receipt.
    async fn commitment_hash(&self) -> &str {
        &self.0.commitment_hash
    }
    /// The server-kept secret in the commitment, so that whoever sees the opened bid can recompute the hash.
    async fn nonce(&self) -> &str {
        &self.0.nonce
    }
    /// 1 for the best responsive bid, after closing.
    async fn rank(&self) -> Option<i32> {
        self.0.rank
    }
    async fn awarded_quantity(&self) -> Option<Decimal> {
        self.0.awarded_quantity
    }
    /// Why a bid is non-responsive: `WITHDRAWN`, `ABOVE_MAXIMUM_PRICE` or `BELOW_MINIMUM_QUANTITY`.
    async fn rejection(&self) -> Option<&str> {
        self.0.rejection.as_deref()
    }
    /// The text the commitment hash is computed over (SHA-256 of these bytes).
    async fn canonical_encoding(&self) -> async_graphql::Result<String> {
        self.0.canonical_encoding().api()
    }
}

/// The terms a bid or one of its versions offers; its fields appear on `Bid` and `BidVersion` themselves.
pub struct Offer<'a>(&'a read::RecordedOffer);

#[Object(name = "Offer")]
impl Offer<'_> {
    async fn unit_price(&self) -> Decimal {
        self.0.unit_price
    }
    async fn quantity(&self) -> Decimal {
        self.0.quantity
    }
    async fn lead_time_days(&self) -> i32 {
        self.0.lead_time_days
    }
    async fn validity_days(&self) -> i32 {
        self.0.validity_days
    }
}

/// The receipt of an accepted bid, revision or withdrawal.
#[derive(SimpleObject)]
pub struct BidReceipt {
    bid_id: ID,
    version: i32,
    /// `SUBMITTED`, `REVISED` or `WITHDRAWN`.
    action: String,
    /// Server time of receipt: what the deadline was judged against.
    received_at: DateTime<Utc>,
    /// SHA-256 over the canonical encoding of the bid and a server-kept nonce.
    commitment_hash: String,
}

impl From<service::BidReceipt> for BidReceipt {
    fn from(receipt: service::BidReceipt) -> Self {
        Self {
            bid_id: ID(receipt.bid_id.to_string()),
            version: receipt.version,
            action: receipt.action,
            received_at: receipt.received_at,
            commitment_hash: receipt.commitment_hash,
        }
    }
}

/// One version of a bid, as received.
pub struct BidVersion(pub read::BidVersion);

#[Object]
impl BidVersion {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn action(&self) -> &str {
        self.0.action.as_str()
    }
    #[graphql(flatten)]
    async fn offer(&self) -> Offer<'_> {
        Offer(&self.0.offer)
    }
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    async fn commitment_hash(&self) -> &str {
        &self.0.commitment_hash
    }
}

/// Part of a cooperative's demand line served by one awarded supplier at its price.
pub struct Allocation(pub read::Allocation);

#[Object]
impl Allocation {
    async fn lot_id(&self) -> ID {
        ID(self.0.lot_id.to_string())
    }
    async fn demand_line_id(&self) -> ID {
        ID(self.0.demand_line_id.to_string())
    }
    async fn cooperative_id(&self) -> ID {
        ID(self.0.cooperative_id.to_string())
    }
    async fn cooperative_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let loaded =
            ctx.data::<Loaders>()?.organisations.load_one(self.0.cooperative_id).await.map_err(loader_error)?;
        Ok(loaded.map(|o| o.name))
    }
    async fn supplier_id(&self) -> ID {
        ID(self.0.supplier_id.to_string())
    }
    async fn supplier_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let loaded = ctx.data::<Loaders>()?.organisations.load_one(self.0.supplier_id).await.map_err(loader_error)?;
        Ok(loaded.map(|o| o.name))
    }
    async fn unit_price(&self) -> Decimal {
        self.0.unit_price
    }
    async fn quantity(&self) -> Decimal {
        self.0.quantity
    }
    async fn line_total(&self) -> Decimal {
        self.0.unit_price * self.0.quantity
    }
}

#[derive(InputObject)]
pub struct TenderInput {
    pub pool_id: ID,
    pub title: Option<String>,
    /// The ceiling per unit; at most the HET where one applies. Omitted: the HET, or the reference price plus
    /// `referenceMarginPercent`.
    pub max_unit_price: Option<Decimal>,
    pub reference_margin_percent: Option<Decimal>,
    #[graphql(default_with = "AwardCriterionKind::LowestPrice")]
    pub criterion: AwardCriterionKind,
    /// For `WEIGHTED_SCORE`: percent from price; the rest from lead time.
    pub price_weight: Option<i32>,
    #[graphql(default)]
    pub partial_bids_allowed: bool,
    pub min_partial_quantity: Option<Decimal>,
    #[graphql(default = 1)]
    pub min_responsive_bids: i32,
    /// Days each supplier has to accept its purchase order before the agency may re-award it.
    #[graphql(default = 2)]
    pub acceptance_days: i32,
    pub bidding_start: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// One lot per kecamatan of the delivery points instead of one lot.
    #[graphql(default)]
    pub lot_per_kecamatan: bool,
}

#[derive(InputObject)]
pub struct OfferInput {
    /// Rupiah per unit, at most 2 decimal places.
    pub unit_price: Decimal,
    /// The whole lot, or at least the minimum when partial bids are allowed.
    pub quantity: Decimal,
    pub lead_time_days: i32,
    /// How many days the offer stays valid.
    pub validity_days: i32,
}

impl From<&OfferInput> for domain::bid::ProposedOffer {
    fn from(offer: &OfferInput) -> Self {
        Self {
            unit_price: offer.unit_price,
            quantity: offer.quantity,
            lead_time_days: offer.lead_time_days,
            validity_days: offer.validity_days,
        }
    }
}

#[derive(InputObject)]
pub struct SubmitBidInput {
    pub lot_id: ID,
    pub offer: OfferInput,
    /// Send the same key when retrying: the first receipt comes back and nothing is stored twice.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct ReviseBidInput {
    pub bid_id: ID,
    pub offer: OfferInput,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
pub struct TenderingQuery;

#[Object]
impl TenderingQuery {
    /// Tenders newest first: all for the agency; for a supplier the published ones in categories it sells; for a
    /// cooperative those of pools it is in. `status` filters by the status as of now.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn tenders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<TenderStatus>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, Tender>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let had_cursor = after.is_some();
        let page = page_request(first, after, *ctx.data::<MaxPageSize>()?)?;
        let page = ctx.data::<Services>()?.tendering.tenders(actor, status.map(Into::into), page).await.api()?;
        Ok(connection(page, had_cursor, |row| row.id, Tender))
    }

    async fn tender(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Tender>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let id = parse_id("id", &id)?;
        let tendering = &ctx.data::<Services>()?.tendering;
        let found = tendering.tender(actor, id).await.api()?;
        if let Some(row) = &found {
            // Only for the closing reminder: a failure here must not cost the supplier its read.
            if let Err(error) = tendering.record_view(actor, row).await {
                tracing::warn!(%error, "could not record that a supplier opened a tender");
            }
        }
        Ok(found.map(Tender))
    }

    /// Every version of a bid: its own supplier at any time; the agency once bidding has closed.
    async fn bid_history(&self, ctx: &Context<'_>, bid_id: ID) -> async_graphql::Result<Vec<BidVersion>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let id = parse_id("bidId", &bid_id)?;
        let versions = ctx.data::<Services>()?.tendering.bid_versions(actor, id).await.api()?;
        Ok(versions.into_iter().map(BidVersion).collect())
    }
}

#[derive(Default)]
pub struct TenderingMutation;

#[Object]
impl TenderingMutation {
    /// The agency makes a draft tender from a frozen pool.
    async fn create_tender(&self, ctx: &Context<'_>, input: TenderInput) -> async_graphql::Result<Tender> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let criterion = match input.criterion {
            AwardCriterionKind::LowestPrice => AwardCriterion::LowestPrice,
            AwardCriterionKind::WeightedScore => {
                let price =
                    input.price_weight.and_then(|w| u8::try_from(w).ok()).filter(|w| *w <= 100).ok_or_else(|| {
                        to_graphql(infra::ServiceError::bad_input("priceWeight", "must be between 0 and 100"))
                    })?;
                AwardCriterion::weighted(price, 100 - price).map_err(|e| to_graphql(e.into()))?
            }
        };
        let input = service::TenderInput {
            pool_id: parse_id("poolId", &input.pool_id)?,
            title: input.title,
            max_unit_price: input.max_unit_price,
            reference_margin_percent: input.reference_margin_percent,
            criterion,
            partial_bids_allowed: input.partial_bids_allowed,
            min_partial_quantity: input.min_partial_quantity,
            min_responsive_bids: u32::try_from(input.min_responsive_bids).map_err(|_| {
                to_graphql(infra::ServiceError::bad_input("minResponsiveBids", "must be between 1 and 100"))
            })?,
            acceptance_days: u32::try_from(input.acceptance_days).map_err(|_| {
                to_graphql(infra::ServiceError::bad_input("acceptanceDays", "must be between 1 and 30"))
            })?,
            bidding_start: input.bidding_start,
            deadline: input.deadline,
            lot_per_kecamatan: input.lot_per_kecamatan,
        };
        Ok(Tender(ctx.data::<Services>()?.tendering.create(actor, input).await.api()?))
    }

    /// Opens a complete draft for bidding.
    async fn publish_tender(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Tender> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(Tender(ctx.data::<Services>()?.tendering.publish(actor, id).await.api()?))
    }

    /// Cancels a tender before its award, saying why.
    async fn cancel_tender(&self, ctx: &Context<'_>, id: ID, reason: String) -> async_graphql::Result<Tender> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(Tender(ctx.data::<Services>()?.tendering.cancel(actor, id, &reason).await.api()?))
    }

    /// Moves an open tender's deadline later, before it passes, saying why.
    async fn extend_tender_deadline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        deadline: DateTime<Utc>,
        reason: String,
    ) -> async_graphql::Result<Tender> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(Tender(ctx.data::<Services>()?.tendering.extend_deadline(actor, id, deadline, &reason).await.api()?))
    }

    /// Confirms the proposed award of a closed tender.
    async fn confirm_award(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Tender> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(Tender(ctx.data::<Services>()?.tendering.confirm_award(actor, id).await.api()?))
    }

    /// Submits a sealed bid on a lot; one per supplier and lot.
    async fn submit_bid(&self, ctx: &Context<'_>, input: SubmitBidInput) -> async_graphql::Result<BidReceipt> {
        let actor = require(ctx, Permission::SubmitBids)?;
        let lot_id = parse_id("lotId", &input.lot_id)?;
        let receipt = ctx
            .data::<Services>()?
            .tendering
            .submit_bid(actor, lot_id, (&input.offer).into(), input.idempotency_key.as_deref())
            .await
            .api()?;
        Ok(receipt.into())
    }

    /// Revises the caller's bid before the deadline; the history is kept and the latest version counts.
    async fn revise_bid(&self, ctx: &Context<'_>, input: ReviseBidInput) -> async_graphql::Result<BidReceipt> {
        let actor = require(ctx, Permission::SubmitBids)?;
        let bid_id = parse_id("bidId", &input.bid_id)?;
        let receipt = ctx
            .data::<Services>()?
            .tendering
            .revise_bid(actor, bid_id, (&input.offer).into(), input.idempotency_key.as_deref())
            .await
            .api()?;
        Ok(receipt.into())
    }

    /// Withdraws the caller's bid before the deadline.
    async fn withdraw_bid(&self, ctx: &Context<'_>, bid_id: ID) -> async_graphql::Result<BidReceipt> {
        let actor = require(ctx, Permission::SubmitBids)?;
        let bid_id = parse_id("bidId", &bid_id)?;
        Ok(ctx.data::<Services>()?.tendering.withdraw_bid(actor, bid_id).await.api()?.into())
    }
}
