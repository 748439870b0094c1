//! Demand pools, RDKK allocations and demand lines.

use async_graphql::{
    Context, Enum, ID, InputObject, Object,
    connection::{Connection, OpaqueCursor},
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{access::Permission, pool};
use infra::{pooling as service, read_models as read, services::Services};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    catalogue::Commodity,
    error::ApiResult,
    guard::{authenticated, require},
    loaders::{Loaders, loader_error},
    pagination::{MaxPageSize, connection, page_request},
    parse_id,
};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "pool::PoolStatus")]
pub enum PoolStatus {
    /// Cooperatives add, change and remove demand until the cut-off.
    Open,
    /// Past the cut-off: the demand is fixed.
    Frozen,
    /// A tender has been made from it.
    Tendered,
    Cancelled,
}

/// An open call for one commodity in an area, into which cooperatives put demand until the cut-off.
pub struct DemandPool(pub read::DemandPool);

#[Object]
impl DemandPool {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn commodity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Commodity>> {
        let loaded = ctx.data::<Loaders>()?.commodities.load_one(self.0.commodity_id).await.map_err(loader_error)?;
        Ok(loaded.map(Commodity))
    }
    async fn province(&self) -> Option<&str> {
        self.0.province.as_deref()
    }
    async fn city(&self) -> &str {
        &self.0.city
    }
    /// The kecamatan covered; empty means the whole city.
    async fn kecamatans(&self) -> &[String] {
        &self.0.kecamatans
    }
    /// The planting season of the RDKK allocations (subsidised fertiliser).
    async fn season(&self) -> Option<&str> {
        self.0.season.as_deref()
    }
    async fn delivery_first_day(&self) -> NaiveDate {
        self.0.delivery_first_day
    }
    async fn delivery_last_day(&self) -> NaiveDate {
        self.0.delivery_last_day
    }
    async fn cutoff(&self) -> DateTime<Utc> {
        self.0.cutoff_at
    }
    /// As of now: an open pool reads frozen from its cut-off instant.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<PoolStatus> {
        let now = ctx.data::<Services>()?.clock.now();
        Ok(self.0.status_at(now).into())
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
    /// The pooled total of every cooperative's demand.
    async fn pooled_quantity(&self, ctx: &Context<'_>) -> async_graphql::Result<Decimal> {
        let totals = ctx.data::<Loaders>()?.pool_totals.load_one(self.0.id).await.map_err(loader_error)?;
        Ok(totals.map(|t| t.quantity).unwrap_or_default())
    }
    /// How many cooperatives have demand in it.
    async fn cooperative_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let totals = ctx.data::<Loaders>()?.pool_totals.load_one(self.0.id).await.map_err(loader_error)?;
        Ok(totals.map(|t| t.cooperatives).unwrap_or_default())
    }
    /// Demand lines: a cooperative sees only its own; the agency sees all.
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DemandLine>> {
        let actor = authenticated(ctx)?;
        let lines = ctx.data::<Services>()?.pooling.lines(actor, self.0.id).await.api()?;
        Ok(lines.into_iter().map(DemandLine).collect())
    }
}

/// A cooperative's demand in a pool.
pub struct DemandLine(pub read::DemandLine);

#[Object]
impl DemandLine {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn pool_id(&self) -> ID {
        ID(self.0.pool_id.to_string())
    }
    async fn cooperative_id(&self) -> ID {
        ID(self.0.cooperative_id.to_string())
    }
    async fn delivery_point_id(&self) -> ID {
        ID(self.0.delivery_point_id.to_string())
    }
    /// In the commodity's unit.
    async fn quantity(&self) -> Decimal {
        self.0.quantity
    }
    async fn wanted_date(&self) -> NaiveDate {
        self.0.wanted_date
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A cooperative's RDKK allocation of a subsidised fertiliser for a season.
pub struct FertiliserAllocation(pub read::FertiliserAllocation);

#[Object]
impl FertiliserAllocation {
    async fn cooperative_id(&self) -> ID {
        ID(self.0.cooperative_id.to_string())
    }
    async fn commodity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Commodity>> {
        let loaded = ctx.data::<Loaders>()?.commodities.load_one(self.0.commodity_id).await.map_err(loader_error)?;
        Ok(loaded.map(Commodity))
    }
    async fn season(&self) -> &str {
        &self.0.season
    }
    async fn quantity(&self) -> Decimal {
        self.0.quantity
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
}

#[derive(InputObject)]
pub struct DemandPoolInput {
    pub commodity_code: String,
    pub province: Option<String>,
    pub city: String,
    /// Empty for the whole city.
    #[graphql(default)]
    pub kecamatans: Vec<String>,
    /// Required for subsidised fertiliser, e.g. `2026-MT1`.
    pub season: Option<String>,
    pub delivery_first_day: NaiveDate,
    pub delivery_last_day: NaiveDate,
    pub cutoff: DateTime<Utc>,
}

#[derive(InputObject)]
pub struct FertiliserAllocationInput {
    pub cooperative_id: ID,
    pub commodity_code: String,
    pub season: String,
    pub quantity: Decimal,
}

#[derive(InputObject)]
pub struct DemandLineInput {
    pub pool_id: ID,
    pub delivery_point_id: ID,
    /// In the commodity's unit: positive, at most 3 decimal places.
    pub quantity: Decimal,
    pub wanted_date: NaiveDate,
    /// Sending the same key again returns the line created the first time.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct DemandLineChanges {
    pub delivery_point_id: Option<ID>,
    pub quantity: Option<Decimal>,
    pub wanted_date: Option<NaiveDate>,
}

#[derive(Default)]
pub struct PoolingQuery;

#[Object]
impl PoolingQuery {
    /// Pools newest first: all for the agency; for a cooperative, those covering its area.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn demand_pools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, DemandPool>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let had_cursor = after.is_some();
        let page = page_request(first, after, *ctx.data::<MaxPageSize>()?)?;
        let page = ctx.data::<Services>()?.pooling.pools(actor, page).await.api()?;
        Ok(connection(page, had_cursor, |row| row.id, DemandPool))
    }

    async fn demand_pool(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<DemandPool>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let id = parse_id("id", &id)?;
        Ok(ctx.data::<Services>()?.pooling.pool(actor, id).await.api()?.map(DemandPool))
    }

    /// A cooperative's RDKK allocations: its own, or any for the agency.
    async fn fertiliser_allocations(
        &self,
        ctx: &Context<'_>,
        cooperative_id: ID,
    ) -> async_graphql::Result<Vec<FertiliserAllocation>> {
        let actor = require(ctx, Permission::ViewTendering)?;
        let id = parse_id("cooperativeId", &cooperative_id)?;
        let rows = ctx.data::<Services>()?.pooling.allocations_of(actor, id).await.api()?;
        Ok(rows.into_iter().map(FertiliserAllocation).collect())
    }
}

#[derive(Default)]
pub struct PoolingMutation;

#[Object]
impl PoolingMutation {
    /// The agency opens a demand pool.
    async fn open_demand_pool(&self, ctx: &Context<'_>, input: DemandPoolInput) -> async_graphql::Result<DemandPool> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let input = service::PoolInput {
            commodity_code: input.commodity_code,
            province: input.province,
            city: input.city,
            kecamatans: input.kecamatans,
            season: input.season,
            delivery_first_day: input.delivery_first_day,
            delivery_last_day: input.delivery_last_day,
            cutoff: input.cutoff,
        };
        Ok(DemandPool(ctx.data::<Services>()?.pooling.open_pool(actor, input).await.api()?))
    }

    /// Moves an open pool's cut-off later.
    async fn extend_pool_cutoff(
        &self,
        ctx: &Context<'_>,
        id: ID,
        cutoff: DateTime<Utc>,
    ) -> async_graphql::Result<DemandPool> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(DemandPool(ctx.data::<Services>()?.pooling.extend_cutoff(actor, id, cutoff).await.api()?))
    }

    /// Calls off a pool before it is tendered.
    async fn cancel_demand_pool(&self, ctx: &Context<'_>, id: ID, reason: String) -> async_graphql::Result<DemandPool> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let id = parse_id("id", &id)?;
        Ok(DemandPool(ctx.data::<Services>()?.pooling.cancel_pool(actor, id, &reason).await.api()?))
    }

    /// Records (or replaces) a cooperative's RDKK allocation for a season.
    async fn record_fertiliser_allocation(
        &self,
        ctx: &Context<'_>,
        input: FertiliserAllocationInput,
    ) -> async_graphql::Result<FertiliserAllocation> {
        let actor = require(ctx, Permission::ManageTendering)?;
        let cooperative = parse_id("cooperativeId", &input.cooperative_id)?;
        let saved = ctx
            .data::<Services>()?
            .pooling
            .record_allocation(actor, cooperative, &input.commodity_code, &input.season, input.quantity)
            .await
            .api()?;
        Ok(FertiliserAllocation(saved))
    }

    /// A cooperative adds demand to an open pool in its area.
    async fn add_demand_line(&self, ctx: &Context<'_>, input: DemandLineInput) -> async_graphql::Result<DemandLine> {
        let actor = require(ctx, Permission::SubmitDemand)?;
        let input = service::DemandLineInput {
            pool_id: parse_id("poolId", &input.pool_id)?,
            delivery_point_id: parse_id("deliveryPointId", &input.delivery_point_id)?,
            quantity: input.quantity,
            wanted_date: input.wanted_date,
            idempotency_key: input.idempotency_key,
        };
        Ok(DemandLine(ctx.data::<Services>()?.pooling.add_line(actor, input).await.api()?))
    }

    /// Changes one of the cooperative's own lines before the cut-off.
    async fn change_demand_line(
        &self,
        ctx: &Context<'_>,
        id: ID,
        changes: DemandLineChanges,
    ) -> async_graphql::Result<DemandLine> {
        let actor = require(ctx, Permission::SubmitDemand)?;
        let id = parse_id("id", &id)?;
        let changes = service::DemandLineChanges {
            delivery_point_id: changes
                .delivery_point_id
                .as_ref()
                .map(|p| parse_id("deliveryPointId", p))
                .transpose()?,
            quantity: changes.quantity,
            wanted_date: changes.wanted_date,
        };
        Ok(DemandLine(ctx.data::<Services>()?.pooling.change_line(actor, id, changes).await.api()?))
    }

    /// Removes one of the cooperative's own lines before the cut-off.
    async fn remove_demand_line(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let actor = require(ctx, Permission::SubmitDemand)?;
        let id = parse_id("id", &id)?;
        ctx.data::<Services>()?.pooling.remove_line(actor, id).await.api()?;
        Ok(true)
    }
}
