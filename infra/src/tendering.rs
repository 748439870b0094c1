//! Tenders, sealed bids, closing, evaluation and award.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use domain::{
    access::{Actor, Permission},
    allocation::{self, AwardedSupply, DemandLine},
    bid::{BidStatus, CommittedBid, Offer, ProposedOffer},
    clock::{Clock, date_in_wib},
    commodity::{Place, PriceKind, applicable_price},
    evaluation::{self, LotTerms, SubmittedBid},
    identity::bounded_text,
    notification::Notice,
    organisation::OrganisationKind,
    pool::PoolStatus,
    tender::{self as rules, AwardCriterion, BiddingPeriod, TenderStatus, TenderTerms},
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
    bid_writer::{BidAction, BidRequest, BidWriter},
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
};

const LOT_PENDING: &str = "PENDING";
const LOT_AWARDED: &str = "AWARDED";
const LOT_UNSUCCESSFUL: &str = "UNSUCCESSFUL";

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

/// What a supplier gets back for every accepted bid, revision or withdrawal.
#[derive(Debug, Clone)]
pub struct BidReceipt {
    pub bid_id: Uuid,
    pub version: i32,
    pub action: String,
    pub received_at: DateTime<Utc>,
    pub commitment_hash: String,
}

impl From<&bid_version::Model> for BidReceipt {
    fn from(version: &bid_version::Model) -> Self {
        Self {
            bid_id: version.bid_id,
            version: version.version,
            action: version.action.clone(),
            received_at: version.received_at,
            commitment_hash: version.commitment_hash.clone(),
        }
    }
}

/// The offer a stored bid holds.
pub(crate) fn recorded_offer(row: &bid::Model) -> ServiceResult<Offer> {
    Ok(Offer::recorded(
        from_stored(row.unit_price_e4),
        from_stored(row.quantity_e4),
        row.lead_time_days,
        row.validity_days,
    )?)
}

/// The canonical text a stored bid's commitment hash was computed over, for anyone who may see the bid to verify it.
pub fn canonical_encoding_of(row: &bid::Model) -> ServiceResult<String> {
    let offer = recorded_offer(row)?;
    Ok(domain::bid::canonical_encoding(&CommittedBid {
        tender_id: row.tender_id,
        lot_id: row.lot_id,
        supplier_id: row.supplier_id,
        version: u32::try_from(row.version).map_err(|_| ServiceError::internal("a stored bid version is negative"))?,
        offer: &offer,
        received_at: row.received_at,
        nonce: &row.nonce,
    }))
}

/// The status a reader sees now.
pub fn effective_status(row: &tender::Model, now: DateTime<Utc>) -> ServiceResult<TenderStatus> {
    Ok(TenderStatus::parse(&row.status)?.at(row.deadline_at, now))
}

pub fn criterion_of(row: &tender::Model) -> ServiceResult<AwardCriterion> {
    match row.criterion.as_str() {
        "LOWEST_PRICE" => Ok(AwardCriterion::LowestPrice),
        "WEIGHTED_SCORE" => {
            let weight = |value: i16| {
                u8::try_from(value).map_err(|_| ServiceError::internal("a stored award weight is out of range"))
            };
            Ok(AwardCriterion::weighted(weight(row.price_weight)?, weight(row.lead_time_weight)?)?)
        }
        // Never quietly "lowest price": a tender evaluated by the wrong rule awards the wrong bids.
        other => Err(ServiceError::internal(format!("unknown stored award criterion {other:?}"))),
    }
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
        Self { db, clock, order_prefix, events, bids, min_bidding_period }
    }

    /// The agency makes a draft tender from a frozen pool: one lot (or one per kecamatan) of the pooled total.
    pub async fn create(&self, actor: &Actor, input: TenderInput) -> ServiceResult<tender::Model> {
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
        Ok(created)
    }

    /// The ceiling: explicit (never above an HET), else the HET, else the reference price plus the margin.
    async fn ceiling(
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

    async fn tender_for_update(connection: &impl ConnectionTrait, tender_id: Uuid) -> ServiceResult<tender::Model> {
        tender::Entity::find_by_id(tender_id)
            .lock_exclusive()
            .one(connection)
            .await?
            .ok_or_else(|| ServiceError::NotFound("tender".into()))
    }

    pub async fn publish(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<tender::Model> {
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
        Ok(updated)
    }

    pub async fn cancel(&self, actor: &Actor, tender_id: Uuid, reason: &str) -> ServiceResult<tender::Model> {
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
        Ok(updated)
    }

    /// Moves an open tender's deadline later, before it passes; subscribers and suppliers who opened it hear of it.
    pub async fn extend_deadline(
        &self,
        actor: &Actor,
        tender_id: Uuid,
        deadline: DateTime<Utc>,
        reason: &str,
    ) -> ServiceResult<tender::Model> {
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
        Ok(updated)
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

    /// Mails a newly published tender to the verified suppliers that sell its category.
    async fn announce(
        &self,
        txn: &crate::db::WriteTransaction,
        row: &tender::Model,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let commodity = commodity::Entity::find_by_id(row.commodity_id)
            .one(txn)
            .await?
            .ok_or_else(|| ServiceError::internal("tender without commodity"))?;
        // A subquery, not a list: nationally thousands of suppliers sell a category.
        let suppliers = sea_orm::QueryTrait::into_query(
            organisation::Entity::find()
                .select_only()
                .column(organisation::Column::Id)
                .filter(organisation::Column::Kind.eq(OrganisationKind::Supplier.as_str()))
                .filter(organisation::Column::Status.eq(domain::organisation::OrganisationStatus::Verified.as_str()))
                .filter(
                    organisation::Column::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(organisation_category::Column::OrganisationId)
                            .from(organisation_category::Entity)
                            .and_where(organisation_category::Column::Category.eq(commodity.category.clone()))
                            .to_owned(),
                    ),
                ),
        );
        let notice = Notice::TenderPublished {
            tender_title: row.title.clone(),
            commodity: commodity.name_id,
            deadline: row.deadline_at,
        };
        let id = row.id.to_string();
        notification::mail_each_organisation(
            txn,
            now,
            notice.kind(),
            suppliers,
            |_| notice.clone(),
            Subject { kind: "tender", id: &id },
        )
        .await?;
        Ok(())
    }

    /// Remembers that a supplier opened an open tender, so its closing reminder can reach those who looked but did
    /// not bid. Written once per supplier and tender.
    pub async fn record_view(&self, actor: &Actor, row: &tender::Model) -> ServiceResult<()> {
        if actor.organisation_kind != OrganisationKind::Supplier
            || effective_status(row, self.clock.now())? != TenderStatus::Open
        {
            return Ok(());
        }
        let seen = tender_view::Entity::find_by_id((row.id, actor.organisation_id)).one(&self.db).await?;
        if seen.is_some() {
            return Ok(());
        }
        let txn = begin_write(&self.db).await?;
        tender_view::Entity::insert(tender_view::ActiveModel {
            tender_id: Set(row.id),
            organisation_id: Set(actor.organisation_id),
            first_viewed_at: Set(self.clock.now()),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                tender_view::Column::TenderId,
                tender_view::Column::OrganisationId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Reminds suppliers who opened a tender but have not bid, once, when less than 24 hours remain. Safe on any
    /// number of nodes: the reminder row is the claim. Returns the tenders reminded about.
    pub async fn send_closing_reminders(&self) -> ServiceResult<Vec<Uuid>> {
        let now = self.clock.now();
        let due: Vec<tender::Model> = tender::Entity::find()
            .filter(tender::Column::Status.eq(TenderStatus::Open.as_str()))
            .filter(tender::Column::DeadlineAt.gt(now))
            .filter(tender::Column::DeadlineAt.lte(now + domain::notification::closing_reminder_window()))
            .filter(
                tender::Column::Id.not_in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(tender_reminder::Column::TenderId)
                        .from(tender_reminder::Entity)
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await?;
        let mut reminded = Vec::new();
        for row in due {
            let txn = begin_write(&self.db).await?;
            let claimed = tender_reminder::Entity::insert(tender_reminder::ActiveModel {
                tender_id: Set(row.id),
                sent_at: Set(now),
            })
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(tender_reminder::Column::TenderId).do_nothing().to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            if claimed != 1 {
                continue;
            }
            let lookers: Vec<Uuid> = tender_view::Entity::find()
                .select_only()
                .column(tender_view::Column::OrganisationId)
                .filter(tender_view::Column::TenderId.eq(row.id))
                .filter(
                    tender_view::Column::OrganisationId.not_in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(bid::Column::SupplierId)
                            .from(bid::Entity)
                            .and_where(bid::Column::TenderId.eq(row.id))
                            .and_where(bid::Column::Status.eq(BidStatus::Active.as_str()))
                            .to_owned(),
                    ),
                )
                .into_tuple()
                .all(&txn)
                .await?;
            let notice = Notice::TenderClosingSoon { tender_title: row.title.clone(), deadline: row.deadline_at };
            let id = row.id.to_string();
            notification::mail_organisations(&txn, now, &notice, &lookers, Subject { kind: "tender", id: &id }).await?;
            txn.commit().await?;
            reminded.push(row.id);
        }
        Ok(reminded)
    }

    /// Tells each bidder its own result and each cooperative of the pool that the tender was awarded.
    async fn announce_award(
        &self,
        txn: &crate::db::WriteTransaction,
        row: &tender::Model,
        orders: &[crate::entities::purchase_order::Model],
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let id = row.id.to_string();
        let unit = commodity::Entity::find_by_id(row.commodity_id)
            .one(txn)
            .await?
            .and_then(|c| domain::commodity::Unit::parse(&c.unit).ok())
            .map_or("", domain::commodity::Unit::symbol)
            .to_owned();
        let lots = lot::Entity::find().filter(lot::Column::TenderId.eq(row.id)).all(txn).await?;
        let bids = bid::Entity::find()
            .filter(bid::Column::TenderId.eq(row.id))
            .filter(bid::Column::Status.eq(BidStatus::Active.as_str()))
            .order_by_asc(bid::Column::Id)
            .all(txn)
            .await?;
        for bid_row in &bids {
            let lot_number = lots.iter().find(|l| l.id == bid_row.lot_id).map_or(0, |l| l.number);
            let awarded = bid_row.awarded_quantity_e4.filter(|q| *q > 0).map(from_stored);
            let notice = Notice::BidResult {
                tender_title: row.title.clone(),
                lot_number,
                awarded_quantity: awarded.map(|q| (q, unit.clone(), from_stored(bid_row.unit_price_e4))),
            };
            notification::mail_organisations(
                txn,
                now,
                &notice,
                &[bid_row.supplier_id],
                Subject { kind: "tender", id: &id },
            )
            .await?;
        }
        // Every cooperative of the pool, in one pass however many there are.
        let mut orders_of: HashMap<Uuid, usize> = HashMap::new();
        for order in orders {
            *orders_of.entry(order.cooperative_id).or_default() += 1;
        }
        let cooperatives = sea_orm::sea_query::Query::select()
            .column(demand_line::Column::CooperativeId)
            .from(demand_line::Entity)
            .and_where(demand_line::Column::PoolId.eq(row.pool_id))
            .to_owned();
        notification::mail_each_organisation(
            txn,
            now,
            domain::notification::NotificationKind::TenderAwarded,
            cooperatives,
            |cooperative_id| Notice::TenderAwardedToCooperative {
                tender_title: row.title.clone(),
                orders: orders_of.get(&cooperative_id).copied().unwrap_or(0),
            },
            Subject { kind: "tender", id: &id },
        )
        .await?;
        Ok(())
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

    fn offer_fingerprint(target: Uuid, offer: &ProposedOffer) -> String {
        format!(
            "{target}|{}|{}|{}|{}",
            offer.unit_price.normalize(),
            offer.quantity.normalize(),
            offer.lead_time_days,
            offer.validity_days
        )
    }

    /// Submits a sealed bid on a lot. With an idempotency key, a retry returns the first receipt.
    pub async fn submit_bid(
        &self,
        actor: &Actor,
        lot_id: Uuid,
        offer: ProposedOffer,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<BidReceipt> {
        actor.require(Permission::SubmitBids)?;
        let key = idempotency_key
            .map(|k| IdempotencyKey::parse(actor.user_id, "submit_bid", k, &Self::offer_fingerprint(lot_id, &offer)))
            .transpose()?;
        self.bids.write(BidRequest { actor: actor.clone(), action: BidAction::Submit { lot_id, offer }, key }).await
    }

    /// Revises a bid until the deadline; every version is kept and the latest counts.
    pub async fn revise_bid(
        &self,
        actor: &Actor,
        bid_id: Uuid,
        offer: ProposedOffer,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<BidReceipt> {
        actor.require(Permission::SubmitBids)?;
        let key = idempotency_key
            .map(|k| IdempotencyKey::parse(actor.user_id, "revise_bid", k, &Self::offer_fingerprint(bid_id, &offer)))
            .transpose()?;
        self.bids.write(BidRequest { actor: actor.clone(), action: BidAction::Revise { bid_id, offer }, key }).await
    }

    /// Withdraws a bid until the deadline.
    pub async fn withdraw_bid(&self, actor: &Actor, bid_id: Uuid) -> ServiceResult<BidReceipt> {
        actor.require(Permission::SubmitBids)?;
        self.bids.write(BidRequest { actor: actor.clone(), action: BidAction::Withdraw { bid_id }, key: None }).await
    }

    /// Closes every tender whose deadline has passed. Safe on any number of nodes: each tender is claimed by one
    /// conditional update, and only the node whose update took effect evaluates it. Returns the tenders this call closed.
    pub async fn close_due(&self) -> ServiceResult<Vec<Uuid>> {
        let now = self.clock.now();
        let due: Vec<Uuid> = tender::Entity::find()
            .select_only()
            .column(tender::Column::Id)
            .filter(tender::Column::Status.eq(TenderStatus::Open.as_str()))
            .filter(tender::Column::DeadlineAt.lte(now))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut closed = Vec::new();
        for tender_id in due {
            if self.close(tender_id).await? {
                closed.push(tender_id);
            }
        }
        Ok(closed)
    }

    /// Closes and evaluates one tender if it is due and still open; false when another caller already did.
    pub async fn close(&self, tender_id: Uuid) -> ServiceResult<bool> {
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let claimed = tender::Entity::update_many()
            .col_expr(tender::Column::Status, Expr::value(TenderStatus::Closed.as_str()))
            .col_expr(tender::Column::ClosedAt, Expr::value(now))
            .col_expr(tender::Column::UpdatedAt, Expr::value(now))
            .filter(tender::Column::Id.eq(tender_id))
            .filter(tender::Column::Status.eq(TenderStatus::Open.as_str()))
            .filter(tender::Column::DeadlineAt.lte(now))
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(false);
        }
        let row = tender::Entity::find_by_id(tender_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound("tender".into()))?;
        let lots = lot::Entity::find()
            .filter(lot::Column::TenderId.eq(tender_id))
            .order_by_asc(lot::Column::Number)
            .all(&txn)
            .await?;
        let bids = bid::Entity::find().filter(bid::Column::TenderId.eq(tender_id)).all(&txn).await?;
        let lines = demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(row.pool_id)).all(&txn).await?;
        // Kecamatan only matter when the tender has a lot per kecamatan.
        let points = if lots.iter().any(|l| l.kecamatan.is_some()) {
            delivery_points_of_pool(&txn, row.pool_id).await?
        } else {
            vec![]
        };
        let kecamatan_of: HashMap<Uuid, String> = points.into_iter().map(|p| (p.id, p.kecamatan)).collect();
        let mut any_awarded = false;
        let mut summary_lots = Vec::new();
        for lot_row in &lots {
            let terms = LotTerms {
                quantity: from_stored(lot_row.quantity_e4),
                max_unit_price: from_stored(lot_row.max_unit_price_e4),
                partial_bids_allowed: row.partial_bids_allowed,
                min_partial_quantity: row.min_partial_quantity_e4.map(from_stored),
                min_responsive_bids: u32::try_from(row.min_responsive_bids)
                    .map_err(|_| ServiceError::internal("a stored minimum of responsive bids is negative"))?,
                criterion: criterion_of(&row)?,
            };
            let submitted: Vec<SubmittedBid> = bids
                .iter()
                .filter(|b| b.lot_id == lot_row.id)
                .map(|b| {
                    Ok(SubmittedBid {
                        bid_id: b.id,
                        supplier_id: b.supplier_id,
                        unit_price: from_stored(b.unit_price_e4),
                        quantity: from_stored(b.quantity_e4),
                        lead_time_days: u32::try_from(b.lead_time_days)
                            .map_err(|_| ServiceError::internal("a stored lead time is negative"))?,
                        received_at: b.received_at,
                        withdrawn: BidStatus::parse(&b.status)? == BidStatus::Withdrawn,
                    })
                })
                .collect::<ServiceResult<_>>()?;
            let result = evaluation::evaluate(&terms, &submitted);
            for evaluated in &result.bids {
                bid::Entity::update_many()
                    .col_expr(bid::Column::Rank, Expr::value(evaluated.rank.and_then(|r| i32::try_from(r).ok())))
                    .col_expr(bid::Column::AwardedQuantityE4, Expr::value(to_stored(evaluated.awarded_quantity)?))
                    .col_expr(bid::Column::Rejection, Expr::value(evaluated.rejection.map(|r| r.as_str().to_owned())))
                    .filter(bid::Column::Id.eq(evaluated.bid_id))
                    .exec(&txn)
                    .await?;
            }
            let outcome = if result.unsuccessful { LOT_UNSUCCESSFUL } else { LOT_AWARDED };
            any_awarded |= !result.unsuccessful;
            let mut changed = lot_row.clone().into_active_model();
            changed.outcome = Set(outcome.into());
            changed.awarded_quantity_e4 = Set(Some(to_stored(result.awarded_quantity)?));
            changed.total_cost_e4 = Set(Some(to_stored(result.total_cost)?));
            changed.update(&txn).await?;
            summary_lots.push(json!({ "lot": lot_row.number, "outcome": outcome, "bids": submitted.len() }));
            if result.unsuccessful {
                continue;
            }
            let lot_lines: Vec<DemandLine> = lines
                .iter()
                .filter(|line| {
                    lot_row.kecamatan.as_ref().is_none_or(|k| kecamatan_of.get(&line.delivery_point_id) == Some(k))
                })
                .map(|line| DemandLine {
                    line_id: line.id,
                    cooperative_id: line.cooperative_id,
                    quantity: from_stored(line.quantity_e4),
                })
                .collect();
            let supplies: Vec<AwardedSupply> = result
                .awards()
                .map(|b| AwardedSupply {
                    bid_id: b.bid_id,
                    supplier_id: b.supplier_id,
                    unit_price: b.unit_price,
                    quantity: b.awarded_quantity,
                })
                .collect();
            let rows = allocation::allocate(&lot_lines, &supplies)
                .into_iter()
                .map(|share| {
                    Ok(award_allocation::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        tender_id: Set(tender_id),
                        lot_id: Set(lot_row.id),
                        demand_line_id: Set(share.line_id),
                        cooperative_id: Set(share.cooperative_id),
                        bid_id: Set(share.bid_id),
                        supplier_id: Set(share.supplier_id),
                        unit_price_e4: Set(to_stored(share.unit_price)?),
                        quantity_e4: Set(to_stored(share.quantity)?),
                        created_at: Set(now),
                    })
                })
                .collect::<ServiceResult<Vec<_>>>()?;
            // Ten columns a row: 1,000 rows stay well under both backends' bind-parameter limits.
            for chunk in rows.chunks(1_000) {
                award_allocation::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
            }
        }
        let mut closed_row = row;
        closed_row.status = TenderStatus::Closed.as_str().into();
        if !any_awarded {
            tender::Entity::update_many()
                .col_expr(tender::Column::Status, Expr::value(TenderStatus::Unsuccessful.as_str()))
                .filter(tender::Column::Id.eq(tender_id))
                .exec(&txn)
                .await?;
            closed_row.status = TenderStatus::Unsuccessful.as_str().into();
        }
        self.tender_event(&txn, &closed_row, "CLOSED", now).await?;
        let summary = json!({ "lots": summary_lots, "bids": bids.len() });
        audit::record(&txn, now, AuditRecord::anonymous("tender.closed", "tender", tender_id, summary)).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The agency confirms the proposed award; in the same transaction the allocations become purchase orders.
    pub async fn confirm_award(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<tender::Model> {
        actor.require(Permission::ManageTendering)?;
        // A tender past its deadline is closed (and evaluated) first if the background task has not yet done it.
        self.close(tender_id).await?;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let row = Self::tender_for_update(&txn, tender_id).await?;
        let status = effective_status(&row, now)?;
        if status != TenderStatus::Closed {
            return Err(ServiceError::Conflict(format!(
                "only a closed tender can be awarded; this one is {}",
                status.as_str()
            )));
        }
        let mut changed = row.into_active_model();
        changed.status = Set(TenderStatus::Awarded.as_str().into());
        changed.awarded_at = Set(Some(now));
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        let orders = crate::ordering::issue_orders(&txn, &self.events, &self.order_prefix, &updated, now).await?;
        self.announce_award(&txn, &updated, &orders, now).await?;
        // Each awarded line is a price observation of the pooled price.
        let this_tender = sea_orm::sea_query::Query::select()
            .column(crate::entities::purchase_order::Column::Id)
            .from(crate::entities::purchase_order::Entity)
            .and_where(crate::entities::purchase_order::Column::TenderId.eq(tender_id))
            .to_owned();
        let observations = crate::ordering::price_observations(
            &txn,
            this_tender,
            crate::prices::SOURCE_AWARD,
            &updated,
            now,
            |line| from_stored(line.quantity_e4),
        )
        .await?;
        crate::prices::record(&txn, &self.events, now, observations).await?;
        self.tender_event(&txn, &updated, "AWARDED", now).await?;
        let summary = json!({ "orders": orders.iter().map(|o| o.number.clone()).collect::<Vec<_>>() });
        audit::record(&txn, now, AuditRecord::by(actor, "tender.awarded", "tender", tender_id, summary)).await?;
        txn.commit().await?;
        Ok(updated)
    }

    // ---- reading ----

    /// Whether the actor may see a tender at all.
    async fn may_view(&self, actor: &Actor, row: &tender::Model) -> ServiceResult<bool> {
        actor.require(Permission::ViewTendering)?;
        Ok(match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => true,
            OrganisationKind::Supplier => {
                TenderStatus::parse(&row.status)? != TenderStatus::Draft
                    && Self::supplier_sells(&self.db, actor.organisation_id, row.commodity_id).await?
            }
            OrganisationKind::Cooperative => demand_line::Entity::find()
                .filter(demand_line::Column::PoolId.eq(row.pool_id))
                .filter(demand_line::Column::CooperativeId.eq(actor.organisation_id))
                .one(&self.db)
                .await?
                .is_some(),
        })
    }

    pub async fn tender(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<Option<tender::Model>> {
        let Some(row) = tender::Entity::find_by_id(tender_id).one(&self.db).await? else {
            return Ok(None);
        };
        Ok(if self.may_view(actor, &row).await? { Some(row) } else { None })
    }

    /// Tenders newest first: all for the agency and admins; for suppliers the published ones in the categories they
    /// sell; for cooperatives those of pools they are in. Optionally of one (effective) status.
    pub async fn tenders(
        &self,
        actor: &Actor,
        status: Option<TenderStatus>,
        page: PageRequest<Uuid>,
    ) -> ServiceResult<Page<tender::Model>> {
        actor.require(Permission::ViewTendering)?;
        let now = self.clock.now();
        let mut query = tender::Entity::find().order_by_desc(tender::Column::Id);
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            OrganisationKind::Supplier => {
                let categories: Vec<String> = organisation_category::Entity::find()
                    .filter(organisation_category::Column::OrganisationId.eq(actor.organisation_id))
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|c| c.category)
                    .collect();
                let commodities: Vec<Uuid> = commodity::Entity::find()
                    .select_only()
                    .column(commodity::Column::Id)
                    .filter(commodity::Column::Category.is_in(categories))
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                query = query
                    .filter(tender::Column::CommodityId.is_in(commodities))
                    .filter(tender::Column::Status.ne(TenderStatus::Draft.as_str()));
            }
            OrganisationKind::Cooperative => {
                let pools: Vec<Uuid> = demand_line::Entity::find()
                    .select_only()
                    .column(demand_line::Column::PoolId)
                    .filter(demand_line::Column::CooperativeId.eq(actor.organisation_id))
                    .distinct()
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                query = query.filter(tender::Column::PoolId.is_in(pools));
            }
        }
        if let Some(status) = status {
            query = query.filter(match status {
                TenderStatus::Open => Condition::all()
                    .add(tender::Column::Status.eq(TenderStatus::Open.as_str()))
                    .add(tender::Column::DeadlineAt.gt(now)),
                TenderStatus::Closed => {
                    Condition::any().add(tender::Column::Status.eq(TenderStatus::Closed.as_str())).add(
                        Condition::all()
                            .add(tender::Column::Status.eq(TenderStatus::Open.as_str()))
                            .add(tender::Column::DeadlineAt.lte(now)),
                    )
                }
                other => Condition::all().add(tender::Column::Status.eq(other.as_str())),
            });
        }
        if let Some(after) = page.after {
            query = query.filter(tender::Column::Id.lt(after));
        }
        let rows = query.limit(page.limit + 1).all(&self.db).await?;
        Ok(Page::from_overfetched(rows, page.limit))
    }

    pub async fn lots_of(&self, tender_ids: &[Uuid]) -> ServiceResult<Vec<lot::Model>> {
        Ok(lot::Entity::find()
            .filter(lot::Column::TenderId.is_in(tender_ids.iter().copied()))
            .order_by_asc(lot::Column::Number)
            .all(&self.db)
            .await?)
    }

    /// The number of bids received: for the agency only, and only a count while bids are sealed.
    pub async fn bid_count(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<u64> {
        actor.require(Permission::ManageTendering)?;
        Ok(bid::Entity::find()
            .filter(bid::Column::TenderId.eq(tender_id))
            .filter(bid::Column::Status.eq(BidStatus::Active.as_str()))
            .count(&self.db)
            .await?)
    }

    /// The supplier's own bids on a tender, at any time.
    pub async fn own_bids(&self, actor: &Actor, tender_id: Uuid) -> ServiceResult<Vec<bid::Model>> {
        actor.require(Permission::SubmitBids)?;
        Ok(bid::Entity::find()
            .filter(bid::Column::TenderId.eq(tender_id))
            .filter(bid::Column::SupplierId.eq(actor.organisation_id))
            .order_by_asc(bid::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Every version of a bid: its own supplier at any time; the agency once the tender is closed.
    pub async fn bid_versions(&self, actor: &Actor, bid_id: Uuid) -> ServiceResult<Vec<bid_version::Model>> {
        actor.require(Permission::ViewTendering)?;
        let Some(current) = bid::Entity::find_by_id(bid_id).one(&self.db).await? else {
            return Ok(vec![]);
        };
        let own = current.supplier_id == actor.organisation_id;
        if !own {
            let row = tender::Entity::find_by_id(current.tender_id).one(&self.db).await?;
            let unsealed = match row {
                Some(row) => !effective_status(&row, self.clock.now())?.bids_sealed(),
                None => false,
            };
            if !(unsealed && actor.may(Permission::ManageTendering)) {
                return Ok(vec![]);
            }
        }
        Ok(bid_version::Entity::find()
            .filter(bid_version::Column::BidId.eq(bid_id))
            .order_by_asc(bid_version::Column::Version)
            .all(&self.db)
            .await?)
    }

    /// Bids of a lot as the actor may see them once bidding has closed: the agency all of them; a supplier its own
    /// and, after the award, the awarded ones (the winning prices); a cooperative in the pool the awarded ones
    /// after the award. Before the deadline: nothing, for everyone.
    pub async fn opened_bids(
        &self,
        actor: &Actor,
        row: &tender::Model,
        lot_id: Uuid,
    ) -> ServiceResult<Vec<bid::Model>> {
        let status = effective_status(row, self.clock.now())?;
        if status.bids_sealed() || !self.may_view(actor, row).await? {
            return Ok(vec![]);
        }
        let mut bids = bid::Entity::find().filter(bid::Column::LotId.eq(lot_id)).all(&self.db).await?;
        // Ranked bids first, in rank order, then the rejected ones; sorted here because the backends disagree on
        // where NULL ranks go.
        bids.sort_by_key(|b| (b.rank.is_none(), b.rank, b.received_at, b.id));
        let awarded = status == TenderStatus::Awarded;
        Ok(bids
            .into_iter()
            .filter(|b| {
                if actor.may(Permission::ManageTendering) || actor.organisation_kind == OrganisationKind::Platform {
                    return true;
                }
                let own = b.supplier_id == actor.organisation_id;
                let winning = awarded && b.awarded_quantity_e4.is_some_and(|q| q > 0);
                own || winning
            })
            .collect())
    }

    /// Allocations of a tender's award: the agency all once closed; after the award a cooperative its own and a
    /// supplier those it serves.
    pub async fn allocations(&self, actor: &Actor, row: &tender::Model) -> ServiceResult<Vec<award_allocation::Model>> {
        let status = effective_status(row, self.clock.now())?;
        if status.bids_sealed() || !self.may_view(actor, row).await? {
            return Ok(vec![]);
        }
        let mut query = award_allocation::Entity::find().filter(award_allocation::Column::TenderId.eq(row.id));
        match actor.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => {}
            _ if status != TenderStatus::Awarded => return Ok(vec![]),
            OrganisationKind::Cooperative => {
                query = query.filter(award_allocation::Column::CooperativeId.eq(actor.organisation_id));
            }
            OrganisationKind::Supplier => {
                query = query.filter(award_allocation::Column::SupplierId.eq(actor.organisation_id));
            }
        }
        Ok(query.order_by_asc(award_allocation::Column::Id).all(&self.db).await?)
    }

    /// Where a lot's goods go: each delivery point with the quantity wanted there and the earliest wanted date.
    /// Visible to whoever may see the tender (suppliers price the delivery from it).
    pub async fn lot_destinations(
        &self,
        actor: &Actor,
        row: &tender::Model,
        lot_row: &lot::Model,
    ) -> ServiceResult<Vec<(delivery_point::Model, Decimal, chrono::NaiveDate)>> {
        if !self.may_view(actor, row).await? {
            return Ok(vec![]);
        }
        let lines =
            demand_line::Entity::find().filter(demand_line::Column::PoolId.eq(row.pool_id)).all(&self.db).await?;
        let points = delivery_points_of_pool(&self.db, row.pool_id).await?;
        Ok(points
            .into_iter()
            .filter(|point| lot_row.kecamatan.as_ref().is_none_or(|k| *k == point.kecamatan))
            .filter_map(|point| {
                let here: Vec<_> = lines.iter().filter(|l| l.delivery_point_id == point.id).collect();
                let quantity = here.iter().map(|l| from_stored(l.quantity_e4)).sum();
                let earliest = here.iter().map(|l| l.wanted_date).min()?;
                Some((point, quantity, earliest))
            })
            .collect())
    }
}
