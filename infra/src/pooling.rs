//! Demand pools, RDKK allocations and cooperatives' demand lines.

use std::{collections::HashSet, sync::Arc};

use chrono::{DateTime, NaiveDate, Utc};
use domain::{
    access::{Actor, Permission},
    clock::Clock,
    commodity::{Category, Unit},
    identity::{bounded_text, optional_text},
    money::Quantity,
    organisation::OrganisationKind,
    pool::{self, DeliveryWindow, PoolStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    db::begin_write,
    entities::{commodity, delivery_point, demand_line, demand_pool, fertiliser_allocation, organisation},
    error::ServiceResult,
    fixed_point,
    idempotency::IdempotencyKey,
    pagination::{Page, PageRequest},
    read_models::{self, read_all, read_one, stored_kecamatans},
};

#[derive(Debug, Clone)]
pub struct PoolInput {
    pub commodity_code: String,
    pub province: Option<String>,
    pub city: String,
    pub kecamatans: Vec<String>,
    /// Required for subsidised fertiliser: the planting season the RDKK allocations belong to (e.g. `2026-MT1`).
    pub season: Option<String>,
    pub delivery_first_day: NaiveDate,
    pub delivery_last_day: NaiveDate,
    pub cutoff: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DemandLineInput {
    pub pool_id: Uuid,
    pub delivery_point_id: Uuid,
    pub quantity: Decimal,
    pub wanted_date: NaiveDate,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DemandLineChanges {
    pub delivery_point_id: Option<Uuid>,
    pub quantity: Option<Decimal>,
    pub wanted_date: Option<NaiveDate>,
}

/// What everyone in a pool may see of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolTotals {
    pub quantity: Decimal,
    pub cooperatives: u64,
}

#[derive(Clone)]
pub struct PoolingService {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

/// Whether a cooperative lies in a pool's area: the same city and, when the pool names kecamatan, one of them.
fn in_area(pool: &demand_pool::Model, cooperative: &organisation::Model) -> ServiceResult<bool> {
    let same_city = cooperative.city.as_deref().is_some_and(|city| city.eq_ignore_ascii_case(&pool.city));
    let kecamatans = stored_kecamatans(&pool.kecamatans)?;
    let in_kecamatan = kecamatans.is_empty()
        || cooperative.kecamatan.as_deref().is_some_and(|k| kecamatans.iter().any(|name| name.eq_ignore_ascii_case(k)));
    Ok(same_city && in_kecamatan)
}

fn pool_status(pool: &demand_pool::Model) -> ServiceResult<PoolStatus> {
    Ok(PoolStatus::parse(&pool.status)?)
}

impl PoolingService {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    async fn commodity_by_code(connection: &impl ConnectionTrait, code: &str) -> ServiceResult<commodity::Model> {
        let code = domain::commodity::commodity_code(code)?;
        commodity::Entity::find()
            .filter(commodity::Column::Code.eq(&code))
            .one(connection)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("commodity {code}")))
    }

    /// The agency opens a pool for one commodity in an area.
    pub async fn open_pool(&self, actor: &Actor, input: PoolInput) -> ServiceResult<read_models::DemandPool> {
        actor.require(Permission::ManageTendering)?;
        let window = DeliveryWindow::parse(input.delivery_first_day, input.delivery_last_day)?;
        let city = bounded_text("city", &input.city, 2, 80)?;
        let province = optional_text("province", input.province.as_deref(), 80)?;
        let mut kecamatans = Vec::new();
        for name in &input.kecamatans {
            let name = bounded_text("kecamatans", name, 2, 80)?;
            if !kecamatans.contains(&name) {
                kecamatans.push(name);
            }
        }
        let season = optional_text("season", input.season.as_deref(), 32)?;
        let now = self.clock.now();
        pool::check_new_cutoff(input.cutoff, &window, now)?;
        let txn = begin_write(&self.db).await?;
        let commodity = Self::commodity_by_code(&txn, &input.commodity_code).await?;
        if Category::parse(&commodity.category)? == Category::SubsidisedFertiliser && season.is_none() {
            return Err(ServiceError::bad_input(
                "season",
                "a subsidised fertiliser pool names the season of its RDKK allocations",
            ));
        }
        let created = demand_pool::ActiveModel {
            id: Set(Uuid::now_v7()),
            commodity_id: Set(commodity.id),
            province: Set(province),
            city: Set(city),
            kecamatans: Set(serde_json::to_string(&kecamatans).map_err(|e| ServiceError::internal(e.to_string()))?),
            season: Set(season),
            delivery_first_day: Set(window.first_day),
            delivery_last_day: Set(window.last_day),
            cutoff_at: Set(input.cutoff),
            status: Set(PoolStatus::Open.as_str().into()),
            cancel_reason: Set(None),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let summary = json!({ "commodity": commodity.code, "city": created.city, "kecamatans": kecamatans, "cutoff": created.cutoff_at });
        audit::record(&txn, now, AuditRecord::by(actor, "pool.opened", "demand_pool", created.id, summary)).await?;
        txn.commit().await?;
        created.try_into()
    }

    async fn pool_for_update(connection: &impl ConnectionTrait, pool_id: Uuid) -> ServiceResult<demand_pool::Model> {
        demand_pool::Entity::find_by_id(pool_id)
            .lock_exclusive()
            .one(connection)
            .await?
            .ok_or_else(|| ServiceError::NotFound("demand pool".into()))
    }

    pub async fn extend_cutoff(
        &self,
        actor: &Actor,
        pool_id: Uuid,
        new_cutoff: DateTime<Utc>,
    ) -> ServiceResult<read_models::DemandPool> {
        actor.require(Permission::ManageTendering)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let pool = Self::pool_for_update(&txn, pool_id).await?;
        let window = DeliveryWindow::parse(pool.delivery_first_day, pool.delivery_last_day)?;
        pool::check_extension(pool_status(&pool)?, pool.cutoff_at, new_cutoff, &window, now)?;
        let previous = pool.cutoff_at;
        let mut changed = pool.into_active_model();
        changed.cutoff_at = Set(new_cutoff);
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        let summary = json!({ "from": previous, "to": new_cutoff });
        audit::record(&txn, now, AuditRecord::by(actor, "pool.cutoff_extended", "demand_pool", pool_id, summary))
            .await?;
        txn.commit().await?;
        updated.try_into()
    }

    pub async fn cancel_pool(
        &self,
        actor: &Actor,
        pool_id: Uuid,
        reason: &str,
    ) -> ServiceResult<read_models::DemandPool> {
        actor.require(Permission::ManageTendering)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let pool = Self::pool_for_update(&txn, pool_id).await?;
        pool::check_cancel(pool_status(&pool)?.at(pool.cutoff_at, now))?;
        let mut changed = pool.into_active_model();
        changed.status = Set(PoolStatus::Cancelled.as_str().into());
        changed.cancel_reason = Set(Some(reason.clone()));
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "pool.cancelled", "demand_pool", pool_id, json!({ "reason": reason })),
        )
        .await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// Records (or replaces) a cooperative's RDKK allocation of a subsidised fertiliser for a season.
    pub async fn record_allocation(
        &self,
        actor: &Actor,
        cooperative_id: Uuid,
        commodity_code: &str,
        season: &str,
        quantity: Decimal,
    ) -> ServiceResult<read_models::FertiliserAllocation> {
        actor.require(Permission::ManageTendering)?;
        let season = bounded_text("season", season, 2, 32)?;
        if quantity < Decimal::ZERO
            || quantity.normalize().scale() > Quantity::MAX_DECIMALS
            || quantity > Quantity::max()
        {
            return Err(ServiceError::bad_input("quantity", "must be zero or more, with at most 3 decimal places"));
        }
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let commodity = Self::commodity_by_code(&txn, commodity_code).await?;
        if Category::parse(&commodity.category)? != Category::SubsidisedFertiliser {
            return Err(ServiceError::bad_input(
                "commodityCode",
                "RDKK allocations are for subsidised fertiliser only",
            ));
        }
        let cooperative = organisation::Entity::find_by_id(cooperative_id)
            .one(&txn)
            .await?
            .filter(|org| org.kind == OrganisationKind::Cooperative.as_str())
            .ok_or_else(|| ServiceError::NotFound("cooperative".into()))?;
        let existing = fertiliser_allocation::Entity::find()
            .filter(fertiliser_allocation::Column::CooperativeId.eq(cooperative.id))
            .filter(fertiliser_allocation::Column::CommodityId.eq(commodity.id))
            .filter(fertiliser_allocation::Column::Season.eq(&season))
            .one(&txn)
            .await?;
        let stored = fixed_point::to_stored(quantity)?;
        let saved = match existing {
            Some(row) => {
                let mut changed = row.into_active_model();
                changed.quantity_e4 = Set(stored);
                changed.recorded_by = Set(actor.user_id);
                changed.recorded_at = Set(now);
                changed.update(&txn).await?
            }
            None => {
                fertiliser_allocation::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    cooperative_id: Set(cooperative.id),
                    commodity_id: Set(commodity.id),
                    season: Set(season.clone()),
                    quantity_e4: Set(stored),
                    recorded_by: Set(actor.user_id),
                    recorded_at: Set(now),
                }
                .insert(&txn)
                .await?
            }
        };
        let summary =
            json!({ "commodity": commodity.code, "season": season, "quantity": quantity.normalize().to_string() });
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "allocation.recorded", "organisation", cooperative.id, summary),
        )
        .await?;
        txn.commit().await?;
        saved.try_into()
    }

    /// Checks the RDKK allocation for a line of `requested` in `pool`, counting the cooperative's other demand
    /// for the same commodity and season (except `replacing`, the line being changed).
    async fn check_allocation(
        connection: &impl ConnectionTrait,
        pool: &demand_pool::Model,
        commodity: &commodity::Model,
        cooperative_id: Uuid,
        requested: Decimal,
        replacing: Option<Uuid>,
    ) -> ServiceResult<()> {
        if Category::parse(&commodity.category)? != Category::SubsidisedFertiliser {
            return Ok(());
        }
        let season = pool.season.clone().unwrap_or_default();
        let allocated = fertiliser_allocation::Entity::find()
            .filter(fertiliser_allocation::Column::CooperativeId.eq(cooperative_id))
            .filter(fertiliser_allocation::Column::CommodityId.eq(commodity.id))
            .filter(fertiliser_allocation::Column::Season.eq(&season))
            .one(connection)
            .await?
            .map_or(Decimal::ZERO, |row| fixed_point::from_stored(row.quantity_e4));
        let same_season_pools: Vec<Uuid> = demand_pool::Entity::find()
            .select_only()
            .column(demand_pool::Column::Id)
            .filter(demand_pool::Column::CommodityId.eq(commodity.id))
            .filter(demand_pool::Column::Season.eq(&season))
            .filter(demand_pool::Column::Status.ne(PoolStatus::Cancelled.as_str()))
            .into_tuple()
            .all(connection)
            .await?;
        let mut others = demand_line::Entity::find()
            .filter(demand_line::Column::CooperativeId.eq(cooperative_id))
            .filter(demand_line::Column::PoolId.is_in(same_season_pools));
        if let Some(line_id) = replacing {
            others = others.filter(demand_line::Column::Id.ne(line_id));
        }
        let already: Decimal =
            others.all(connection).await?.iter().map(|line| fixed_point::from_stored(line.quantity_e4)).sum();
        let unit = Unit::parse(&commodity.unit)?.as_str().to_lowercase();
        pool::check_allocation(allocated, already, requested, &unit)?;
        Ok(())
    }

    async fn own_delivery_point(
        connection: &impl ConnectionTrait,
        actor: &Actor,
        delivery_point_id: Uuid,
    ) -> ServiceResult<delivery_point::Model> {
        delivery_point::Entity::find_by_id(delivery_point_id)
            .one(connection)
            .await?
            .filter(|point| point.organisation_id == actor.organisation_id)
            .ok_or_else(|| ServiceError::bad_input("deliveryPointId", "is not one of your delivery points"))
    }

    /// Loads a pool the actor's cooperative may put demand into, under the write lock.
    async fn pool_for_demand(
        connection: &impl ConnectionTrait,
        actor: &Actor,
        pool_id: Uuid,
    ) -> ServiceResult<(demand_pool::Model, commodity::Model)> {
        let pool = Self::pool_for_update(connection, pool_id).await?;
        let cooperative = organisation::Entity::find_by_id(actor.organisation_id)
            .one(connection)
            .await?
            .ok_or_else(|| ServiceError::internal("actor without organisation"))?;
        if !in_area(&pool, &cooperative)? {
            return Err(ServiceError::NotFound("demand pool".into()));
        }
        let commodity = commodity::Entity::find_by_id(pool.commodity_id)
            .one(connection)
            .await?
            .ok_or_else(|| ServiceError::internal("pool without commodity"))?;
        Ok((pool, commodity))
    }

    /// A cooperative adds a demand line to an open pool in its area.
    pub async fn add_line(&self, actor: &Actor, input: DemandLineInput) -> ServiceResult<read_models::DemandLine> {
        actor.require(Permission::SubmitDemand)?;
        let quantity = Quantity::parse("quantity", input.quantity)?;
        let idempotency = match &input.idempotency_key {
            Some(key) => Some(IdempotencyKey::parse(
                actor.user_id,
                "add_demand_line",
                key,
                &format!("{}|{}|{}|{}", input.pool_id, input.delivery_point_id, quantity.value(), input.wanted_date),
            )?),
            None => None,
        };
        let txn = begin_write(&self.db).await?;
        // The clock is read under the write lock: the cut-off is judged at the instant the line is stored.
        let now = self.clock.now();
        if let Some(key) = &idempotency
            && let Some(line_id) = key.recall(&txn).await?
        {
            let line_id = Uuid::parse_str(&line_id).map_err(|e| ServiceError::internal(e.to_string()))?;
            return demand_line::Entity::find_by_id(line_id)
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    ServiceError::Conflict("the demand line this key created has since been removed".into())
                })?
                .try_into();
        }
        let (pool, commodity) = Self::pool_for_demand(&txn, actor, input.pool_id).await?;
        pool::check_demand_open(pool_status(&pool)?, pool.cutoff_at, now)?;
        Self::own_delivery_point(&txn, actor, input.delivery_point_id).await?;
        if !DeliveryWindow::parse(pool.delivery_first_day, pool.delivery_last_day)?.contains(input.wanted_date) {
            return Err(ServiceError::bad_input("wantedDate", "must fall inside the pool's delivery window"));
        }
        Self::check_allocation(&txn, &pool, &commodity, actor.organisation_id, quantity.value(), None).await?;
        let line = demand_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            pool_id: Set(pool.id),
            cooperative_id: Set(actor.organisation_id),
            delivery_point_id: Set(input.delivery_point_id),
            quantity_e4: Set(fixed_point::to_stored(quantity.value())?),
            wanted_date: Set(input.wanted_date),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        if let Some(key) = &idempotency {
            key.remember(&txn, &line.id.to_string(), now).await?;
        }
        let summary =
            json!({ "pool": pool.id, "quantity": quantity.value().to_string(), "wantedDate": line.wanted_date });
        audit::record(&txn, now, AuditRecord::by(actor, "demand.added", "demand_line", line.id, summary)).await?;
        txn.commit().await?;
        line.try_into()
    }

    async fn own_line(
        connection: &impl ConnectionTrait,
        actor: &Actor,
        line_id: Uuid,
    ) -> ServiceResult<demand_line::Model> {
        demand_line::Entity::find_by_id(line_id)
            .one(connection)
            .await?
            .filter(|line| line.cooperative_id == actor.organisation_id)
            .ok_or_else(|| ServiceError::NotFound("demand line".into()))
    }

    pub async fn change_line(
        &self,
        actor: &Actor,
        line_id: Uuid,
        changes: DemandLineChanges,
    ) -> ServiceResult<read_models::DemandLine> {
        actor.require(Permission::SubmitDemand)?;
        let quantity = changes.quantity.map(|q| Quantity::parse("quantity", q)).transpose()?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let line = Self::own_line(&txn, actor, line_id).await?;
        let (pool, commodity) = Self::pool_for_demand(&txn, actor, line.pool_id).await?;
        pool::check_demand_open(pool_status(&pool)?, pool.cutoff_at, now)?;
        let mut changed = line.clone().into_active_model();
        if let Some(point) = changes.delivery_point_id {
            Self::own_delivery_point(&txn, actor, point).await?;
            changed.delivery_point_id = Set(point);
        }
        if let Some(day) = changes.wanted_date {
            if !DeliveryWindow::parse(pool.delivery_first_day, pool.delivery_last_day)?.contains(day) {
                return Err(ServiceError::bad_input("wantedDate", "must fall inside the pool's delivery window"));
            }
            changed.wanted_date = Set(day);
        }
        if let Some(quantity) = quantity {
            Self::check_allocation(&txn, &pool, &commodity, actor.organisation_id, quantity.value(), Some(line.id))
                .await?;
            changed.quantity_e4 = Set(fixed_point::to_stored(quantity.value())?);
        }
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        let summary = json!({
            "from": fixed_point::from_stored(line.quantity_e4).to_string(),
            "to": fixed_point::from_stored(updated.quantity_e4).to_string(),
        });
        audit::record(&txn, now, AuditRecord::by(actor, "demand.changed", "demand_line", line_id, summary)).await?;
        txn.commit().await?;
        updated.try_into()
    }

    pub async fn remove_line(&self, actor: &Actor, line_id: Uuid) -> ServiceResult<()> {
        actor.require(Permission::SubmitDemand)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let line = Self::own_line(&txn, actor, line_id).await?;
        let (pool, _) = Self::pool_for_demand(&txn, actor, line.pool_id).await?;
        pool::check_demand_open(pool_status(&pool)?, pool.cutoff_at, now)?;
        demand_line::Entity::delete_by_id(line.id).exec(&txn).await?;
        let summary = json!({ "pool": pool.id, "quantity": fixed_point::from_stored(line.quantity_e4).to_string() });
        audit::record(&txn, now, AuditRecord::by(actor, "demand.removed", "demand_line", line_id, summary)).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Whether the actor may see a pool: the agency and admins always, a cooperative when the pool covers its area.
    async fn may_view(&self, actor: &Actor, pool: &demand_pool::Model) -> ServiceResult<bool> {
        actor.require(Permission::ViewTendering)?;
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => Ok(true),
            OrganisationKind::Cooperative => {
                let cooperative = organisation::Entity::find_by_id(actor.organisation_id).one(&self.db).await?;
                match cooperative {
                    Some(cooperative) => in_area(pool, &cooperative),
                    None => Ok(false),
                }
            }
            OrganisationKind::Supplier => Ok(false),
        }
    }

    /// Who reads demand pools at all: cooperatives (those of their area), the agency and admins. Suppliers see the
    /// tenders made from pools, never the pools (who asked for how much).
    fn require_pool_reader(actor: &Actor) -> ServiceResult<()> {
        actor.require(Permission::ViewTendering)?;
        if actor.organisation_kind == OrganisationKind::Supplier {
            return Err(ServiceError::Forbidden("suppliers see tenders, not demand pools".into()));
        }
        Ok(())
    }

    pub async fn pool(&self, actor: &Actor, pool_id: Uuid) -> ServiceResult<Option<read_models::DemandPool>> {
        Self::require_pool_reader(actor)?;
        let Some(pool) = demand_pool::Entity::find_by_id(pool_id).one(&self.db).await? else {
            return Ok(None);
        };
        read_one(if self.may_view(actor, &pool).await? { Some(pool) } else { None })
    }

    /// Pools newest first: all for the agency and admins; for a cooperative, those covering its area.
    pub async fn pools(&self, actor: &Actor, page: PageRequest<Uuid>) -> ServiceResult<Page<read_models::DemandPool>> {
        Self::require_pool_reader(actor)?;
        let mut query = demand_pool::Entity::find().order_by_desc(demand_pool::Column::Id);
        let cooperative = match actor.organisation_kind {
            OrganisationKind::Cooperative => {
                organisation::Entity::find_by_id(actor.organisation_id).one(&self.db).await?
            }
            _ => None,
        };
        if let Some(cooperative) = &cooperative {
            query = query.filter(demand_pool::Column::City.eq(cooperative.city.clone().unwrap_or_default()));
        }
        // The kecamatan list is JSON, so that part of the area filter runs here: read batches until the page (plus
        // one row, to know whether more follow) is full or the pools run out.
        let wanted = usize::try_from(page.limit + 1).unwrap_or(usize::MAX);
        let batch = (page.limit + 1) * 4;
        let mut visible = Vec::new();
        let mut after = page.after;
        loop {
            let mut batch_query = query.clone();
            if let Some(after) = after {
                batch_query = batch_query.filter(demand_pool::Column::Id.lt(after));
            }
            let rows = batch_query.limit(batch).all(&self.db).await?;
            let exhausted = (rows.len() as u64) < batch;
            after = rows.last().map(|row| row.id);
            for pool in rows {
                let shown = match &cooperative {
                    Some(cooperative) => in_area(&pool, cooperative)?,
                    None => true,
                };
                if shown {
                    visible.push(read_models::DemandPool::try_from(pool)?);
                }
            }
            if exhausted || visible.len() >= wanted {
                break;
            }
        }
        visible.truncate(wanted);
        Ok(Page::from_overfetched(visible, page.limit))
    }

    /// Pooled total and number of cooperatives, for everyone who may see the pool.
    pub async fn totals(&self, pool_ids: &[Uuid]) -> ServiceResult<Vec<(Uuid, PoolTotals)>> {
        let lines = demand_line::Entity::find()
            .filter(demand_line::Column::PoolId.is_in(pool_ids.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(pool_ids
            .iter()
            .map(|pool_id| {
                let in_pool: Vec<_> = lines.iter().filter(|line| line.pool_id == *pool_id).collect();
                let cooperatives: HashSet<Uuid> = in_pool.iter().map(|line| line.cooperative_id).collect();
                let quantity = in_pool.iter().map(|line| fixed_point::from_stored(line.quantity_e4)).sum();
                (*pool_id, PoolTotals { quantity, cooperatives: cooperatives.len() as u64 })
            })
            .collect())
    }

    /// Demand lines of a pool: the agency sees all; a cooperative only its own.
    pub async fn lines(&self, actor: &Actor, pool_id: Uuid) -> ServiceResult<Vec<read_models::DemandLine>> {
        actor.require(Permission::ViewTendering)?;
        let mut query = demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(pool_id));
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            OrganisationKind::Cooperative => {
                query = query.filter(demand_line::Column::CooperativeId.eq(actor.organisation_id))
            }
            OrganisationKind::Supplier => return Ok(vec![]),
        }
        read_all(query.order_by_asc(demand_line::Column::Id).all(&self.db).await?)
    }

    pub async fn commodities_by_ids(&self, ids: &[Uuid]) -> ServiceResult<Vec<read_models::Commodity>> {
        read_all(
            commodity::Entity::find().filter(commodity::Column::Id.is_in(ids.iter().copied())).all(&self.db).await?,
        )
    }

    pub async fn allocations_of(
        &self,
        actor: &Actor,
        cooperative_id: Uuid,
    ) -> ServiceResult<Vec<read_models::FertiliserAllocation>> {
        if cooperative_id != actor.organisation_id {
            actor.require(Permission::ManageTendering)?;
        }
        read_all(
            fertiliser_allocation::Entity::find()
                .filter(fertiliser_allocation::Column::CooperativeId.eq(cooperative_id))
                .order_by_asc(fertiliser_allocation::Column::Season)
                .all(&self.db)
                .await?,
        )
    }
}
