//! The agency's commands on a tender: make a draft from a frozen pool, publish it, cancel it, move its deadline.

use super::*;

#[derive(Debug, Clone)]
pub struct TenderInput {
    pub pool_id: Uuid,
    pub title: Option<String>,
    /// An explicit ceiling; at most the HET where one applies.
    pub max_unit_price: Option<Decimal>,
    /// For goods without an HET: the ceiling is the reference price plus this percentage.
    pub reference_margin_percent: Option<Decimal>,
    pub criterion: AwardCriterion,
    pub partial_bids_allowed: bool,
    pub min_partial_quantity: Option<Decimal>,
    pub min_responsive_bids: u32,
    /// Days a supplier has to accept its purchase order (1–30).
    pub acceptance_days: u32,
    pub bidding_start: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// One lot per kecamatan of the delivery points instead of one for the whole pool.
    pub lot_per_kecamatan: bool,
}

impl TenderingService {
    /// The agency makes a draft tender from a frozen pool: one lot (or one per kecamatan) of the pooled total.
    pub async fn create(&self, actor: &Actor, input: TenderInput) -> ServiceResult<read_models::Tender> {
        actor.require(Permission::ManageTendering)?;
        let period = BiddingPeriod::parse(input.bidding_start, input.deadline)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let pool = demand_pool::Entity::find_by_id(input.pool_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound("demand pool".into()))?;
        match PoolStatus::parse(&pool.status)?.at(pool.cutoff_at, now) {
            PoolStatus::Frozen => {}
            PoolStatus::Open => {
                return Err(ServiceError::Conflict(
                    "the pool is open until its cut-off; tender it once it is frozen".into(),
                ));
            }
            other => return Err(ServiceError::Conflict(format!("the pool is {}", other.as_str()))),
        }
        let lines = demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(pool.id)).all(&txn).await?;
        if lines.is_empty() {
            return Err(ServiceError::Conflict("the pool has no demand to tender".into()));
        }
        let commodity = commodity::Entity::find_by_id(pool.commodity_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::internal("pool without commodity"))?;
        let max_unit_price = self.ceiling(&txn, &pool, &commodity, &input, now).await?;

        // Lots: the pooled total, or per kecamatan of the delivery points.
        let mut lot_quantities: Vec<(Option<String>, Decimal)> = Vec::new();
        if input.lot_per_kecamatan {
            let points = delivery_points_of_pool(&txn, pool.id).await?;
            let kecamatan_of: HashMap<Uuid, String> = points.into_iter().map(|p| (p.id, p.kecamatan)).collect();
            let mut per_kecamatan: std::collections::BTreeMap<String, Decimal> = Default::default();
            for line in &lines {
                let kecamatan = kecamatan_of.get(&line.delivery_point_id).cloned().unwrap_or_default();
                *per_kecamatan.entry(kecamatan).or_default() += from_stored(line.quantity_e4);
            }
            lot_quantities.extend(per_kecamatan.into_iter().map(|(k, q)| (Some(k), q)));
        } else {
            lot_quantities.push((None, lines.iter().map(|l| from_stored(l.quantity_e4)).sum()));
        }
        let terms = TenderTerms {
            criterion: input.criterion,
            partial_bids_allowed: input.partial_bids_allowed,
            min_partial_quantity: input.min_partial_quantity,
            min_responsive_bids: input.min_responsive_bids,
            period,
        };
        let smallest = lot_quantities.iter().map(|(_, q)| *q).min().unwrap_or_default();
        terms.check(smallest)?;
        if !(1..=30).contains(&input.acceptance_days) {
            return Err(ServiceError::bad_input("acceptanceDays", "must be between 1 and 30"));
        }
        let title = match &input.title {
            Some(title) => bounded_text("title", title, 3, 200)?,
            None => format!(
                "{} — {} ({} s.d. {})",
                commodity.name_id, pool.city, pool.delivery_first_day, pool.delivery_last_day
            ),
        };
        let (criterion, price_weight, lead_time_weight) = match input.criterion {
            AwardCriterion::LowestPrice => ("LOWEST_PRICE", 100, 0),
            AwardCriterion::WeightedScore { price_weight, lead_time_weight } => {
                ("WEIGHTED_SCORE", i16::from(price_weight), i16::from(lead_time_weight))
            }
        };
        let created = tender::ActiveModel {
            id: Set(Uuid::now_v7()),
            pool_id: Set(pool.id),
            commodity_id: Set(commodity.id),
            title: Set(title),
            status: Set(TenderStatus::Draft.as_str().into()),
            criterion: Set(criterion.into()),
            price_weight: Set(price_weight),
            lead_time_weight: Set(lead_time_weight),
            partial_bids_allowed: Set(input.partial_bids_allowed),
            min_partial_quantity_e4: Set(input.min_partial_quantity.map(to_stored).transpose()?),
            min_responsive_bids: Set(i32::try_from(input.min_responsive_bids).unwrap_or(1)),
            acceptance_days: Set(i32::try_from(input.acceptance_days).unwrap_or(2)),
            bidding_start_at: Set(period.start),
            deadline_at: Set(period.deadline),
            cancel_reason: Set(None),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(None),
            closed_at: Set(None),
            awarded_at: Set(None),
        }
        .insert(&txn)
        .await?;
        for (number, (kecamatan, quantity)) in lot_quantities.into_iter().enumerate() {
            lot::ActiveModel {
                id: Set(Uuid::now_v7()),
                tender_id: Set(created.id),
                number: Set(i32::try_from(number + 1).unwrap_or(i32::MAX)),
                kecamatan: Set(kecamatan),
                quantity_e4: Set(to_stored(quantity)?),
                max_unit_price_e4: Set(to_stored(max_unit_price)?),
                outcome: Set(LOT_PENDING.into()),
                awarded_quantity_e4: Set(None),
                total_cost_e4: Set(None),
            }
            .insert(&txn)
            .await?;
        }
        let mut tendered = pool.into_active_model();
        tendered.status = Set(PoolStatus::Tendered.as_str().into());
        tendered.updated_at = Set(now);
        tendered.update(&txn).await?;
        let summary =
            json!({ "pool": input.pool_id, "maxUnitPrice": max_unit_price.to_string(), "deadline": period.deadline });
        audit::record(&txn, now, AuditRecord::by(actor, "tender.created", "tender", created.id, summary)).await?;
        txn.commit().await?;
        created.try_into()
    }

    /// The ceiling: explicit (never above an HET), else the HET, else the reference price plus the margin.
    pub(super) async fn ceiling(
        &self,
        connection: &impl ConnectionTrait,
        pool: &demand_pool::Model,
        commodity: &commodity::Model,
        input: &TenderInput,
        now: DateTime<Utc>,
    ) -> ServiceResult<Decimal> {
        let rows = price_reference::Entity::find()
            .filter(price_reference::Column::CommodityId.eq(commodity.id))
            .all(connection)
            .await?;
        let references = rows.iter().map(to_domain).collect::<Result<Vec<_>, _>>()?;
        let place = Place { province: pool.province.clone(), city: Some(pool.city.clone()) };
        let today = date_in_wib(now);
        let het = applicable_price(&references, PriceKind::Het, &place, today).map(|r| r.price);
        let reference = applicable_price(&references, PriceKind::Reference, &place, today).map(|r| r.price);
        Ok(rules::ceiling(input.max_unit_price, het, reference, input.reference_margin_percent)?)
    }

    pub async fn publish(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<read_models::Tender> {
        actor.require(Permission::ManageTendering)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let row = Self::tender_for_update(&txn, tender_id).await?;
        let lots = lot::Entity::find().filter(lot::Column::TenderId.eq(row.id)).all(&txn).await?;
        let lot_terms: Vec<_> =
            lots.iter().map(|l| (from_stored(l.quantity_e4), from_stored(l.max_unit_price_e4))).collect();
        let period = BiddingPeriod::parse(row.bidding_start_at, row.deadline_at)?;
        rules::check_publish(TenderStatus::parse(&row.status)?, &period, &lot_terms, self.min_bidding_period, now)?;
        let mut changed = row.into_active_model();
        changed.status = Set(TenderStatus::Open.as_str().into());
        changed.published_at = Set(Some(now));
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        audit::record(&txn, now, AuditRecord::by(actor, "tender.published", "tender", tender_id, json!({}))).await?;
        self.announce(&txn, &updated, now).await?;
        self.tender_event(&txn, &updated, "PUBLISHED", now).await?;
        txn.commit().await?;
        updated.try_into()
    }

    pub async fn cancel(&self, actor: &Actor, tender_id: Uuid, reason: &str) -> ServiceResult<read_models::Tender> {
        actor.require(Permission::ManageTendering)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let row = Self::tender_for_update(&txn, tender_id).await?;
        rules::check_cancel(effective_status(&row, now)?)?;
        let mut changed = row.into_active_model();
        changed.status = Set(TenderStatus::Cancelled.as_str().into());
        changed.cancel_reason = Set(Some(reason.clone()));
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        self.tender_event(&txn, &updated, "CANCELLED", now).await?;
        audit::record(
            &txn,
            now,
            AuditRecord::by(actor, "tender.cancelled", "tender", tender_id, json!({ "reason": reason })),
        )
        .await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// Moves an open tender's deadline later, before it passes; subscribers and suppliers who opened it hear of it.
    pub async fn extend_deadline(
        &self,
        actor: &Actor,
        tender_id: Uuid,
        deadline: DateTime<Utc>,
        reason: &str,
    ) -> ServiceResult<read_models::Tender> {
        actor.require(Permission::ManageTendering)?;
        let reason = bounded_text("reason", reason, 3, 500)?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let row = Self::tender_for_update(&txn, tender_id).await?;
        let opened = row.published_at.map_or(row.bidding_start_at, |published| published.max(row.bidding_start_at));
        rules::check_deadline_extension(
            TenderStatus::parse(&row.status)?,
            row.deadline_at,
            deadline,
            opened,
            self.min_bidding_period,
            now,
        )?;
        let previous = row.deadline_at;
        let mut changed = row.into_active_model();
        changed.deadline_at = Set(deadline);
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        // A reminder sent for the old deadline does not count for the new one.
        tender_reminder::Entity::delete_by_id(tender_id).exec(&txn).await?;
        let summary = json!({ "from": previous, "to": deadline, "reason": reason });
        audit::record(&txn, now, AuditRecord::by(actor, "tender.deadline_extended", "tender", tender_id, summary))
            .await?;
        self.tender_event(&txn, &updated, "DEADLINE_EXTENDED", now).await?;
        txn.commit().await?;
        updated.try_into()
    }
}
