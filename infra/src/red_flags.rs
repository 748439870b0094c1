//! The red-flag report: each evaluated tender's flags, how many tenders each flag could be computed for and how
//! often it fired, supplier-level flags, and market concentration per commodity and kecamatan. Only tenders past
//! their deadline and evaluated are read, so no flag can say anything about a sealed bid.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use domain::{
    access::{Actor, Permission},
    clock::{Clock, date_in_wib},
    commodity::{Place, PriceKind, applicable_price},
    price_stats,
    red_flags::{self, BidFacts, Flag, FlagResult, LotFacts, TenderFacts},
    tender::TenderStatus,
};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use uuid::Uuid;

use crate::{
    catalogue::to_domain,
    entities::{bid, demand_pool, lot, organisation, price_observation, price_reference, purchase_order, tender},
    error::ServiceResult,
    fixed_point::from_stored,
    ordering::OrderingService,
    prices::SOURCE_AWARD,
    tendering::BID_WITHDRAWN,
};

#[derive(Debug, Clone)]
pub struct Coverage {
    pub code: String,
    pub name: String,
    /// Tenders (or suppliers, or markets) the flag could be computed for.
    pub computable: u64,
    pub fired: u64,
}

#[derive(Debug, Clone)]
pub struct TenderFlags {
    pub tender_id: Uuid,
    pub title: String,
    /// Every flag that could be computed, and whether it fired.
    pub flags: Vec<(Flag, bool)>,
}

#[derive(Debug, Clone)]
pub struct SupplierFlags {
    pub supplier_id: Uuid,
    pub name: String,
    pub bids: u32,
    pub won: u32,
    pub on_time_rate: Option<Decimal>,
    pub fill_rate: Option<Decimal>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Concentration {
    pub commodity_id: Uuid,
    pub kecamatan: String,
    pub hhi: Decimal,
    pub dominant_supplier_id: Uuid,
    pub dominant_share_percent: Decimal,
    pub concentrated: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub coverage: Vec<Coverage>,
    pub tenders: Vec<TenderFlags>,
    pub suppliers: Vec<SupplierFlags>,
    pub concentration: Vec<Concentration>,
}

fn flag_name(flag: Flag) -> &'static str {
    match flag {
        Flag::SingleResponsiveBid => "single responsive bid",
        Flag::IdenticalBidPrices => "identical bid prices",
        Flag::CloseToWinningBid => "second price close to the winning bid",
        Flag::HeavilyDiscountedBid => "heavily discounted winning bid",
        Flag::LowestBidDisqualified => "lowest bid disqualified",
        Flag::AllButWinnerDisqualified => "all except the winner disqualified",
        Flag::AwardAboveHet => "awarded above the HET",
        Flag::AwardNearMaximumPrice => "awarded within 1% of the maximum price",
        Flag::ShortSubmissionPeriod => "short submission period",
    }
}

#[derive(Clone)]
pub struct RedFlagService {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    ordering: OrderingService,
    /// R003: a submission period shorter than this is flagged (`LUMBUNG_R003_MIN_DAYS` for open procedures).
    short_submission_period: chrono::Duration,
}

impl RedFlagService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        ordering: OrderingService,
        short_submission_period: chrono::Duration,
    ) -> Self {
        Self { db, clock, ordering, short_submission_period }
    }

    /// The report over tenders closed in `[from, to]` (all when open-ended).
    pub async fn report(
        &self,
        actor: &Actor,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> ServiceResult<Report> {
        actor.require(Permission::MonitorPrices)?;
        let evaluated = [TenderStatus::Closed, TenderStatus::Awarded, TenderStatus::Unsuccessful].map(|s| s.as_str());
        let mut query = tender::Entity::find()
            .filter(tender::Column::Status.is_in(evaluated))
            .filter(tender::Column::ClosedAt.is_not_null())
            .filter(tender::Column::DeadlineAt.lte(self.clock.now()));
        if let Some(from) = from {
            query = query.filter(tender::Column::ClosedAt.gte(from));
        }
        if let Some(to) = to {
            query = query.filter(tender::Column::ClosedAt.lte(to));
        }
        // The tenders in scope as a subquery: a national range holds more tenders than a bind list may.
        let in_scope = || query.clone().select_only().column(tender::Column::Id).into_query();
        let pools_in_scope = query.clone().select_only().column(tender::Column::PoolId).into_query();
        let tenders = query.clone().order_by_asc(tender::Column::ClosedAt).all(&self.db).await?;
        let lots = lot::Entity::find().filter(lot::Column::TenderId.in_subquery(in_scope())).all(&self.db).await?;
        let bids = bid::Entity::find().filter(bid::Column::TenderId.in_subquery(in_scope())).all(&self.db).await?;
        let pools: BTreeMap<Uuid, demand_pool::Model> = demand_pool::Entity::find()
            .filter(demand_pool::Column::Id.in_subquery(pools_in_scope))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let references = price_reference::Entity::find()
            .filter(price_reference::Column::CommodityId.is_in(tenders.iter().map(|t| t.commodity_id)))
            .all(&self.db)
            .await?;
        let facts: Vec<(tender::Model, TenderFacts)> = tenders
            .into_iter()
            .map(|row| {
                let own: Vec<_> = references
                    .iter()
                    .filter(|r| r.commodity_id == row.commodity_id)
                    .map(to_domain)
                    .collect::<ServiceResult<_>>()?;
                let pool = pools.get(&row.pool_id);
                let place =
                    Place { province: pool.and_then(|p| p.province.clone()), city: pool.map(|p| p.city.clone()) };
                let day = date_in_wib(row.closed_at.unwrap_or(row.deadline_at));
                let het = applicable_price(&own, PriceKind::Het, &place, day).map(|r| r.price);
                let lot_facts = lots
                    .iter()
                    .filter(|l| l.tender_id == row.id)
                    .map(|l| LotFacts {
                        max_unit_price: from_stored(l.max_unit_price_e4),
                        het,
                        bids: bids
                            .iter()
                            .filter(|b| b.lot_id == l.id)
                            .map(|b| BidFacts {
                                supplier_id: b.supplier_id,
                                unit_price: from_stored(b.unit_price_e4),
                                withdrawn: b.status == BID_WITHDRAWN,
                                disqualified: b.status != BID_WITHDRAWN && b.rank.is_none(),
                                awarded_quantity: from_stored(b.awarded_quantity_e4.unwrap_or(0)),
                            })
                            .collect(),
                    })
                    .collect();
                let opened = row.published_at.map_or(row.bidding_start_at, |p| p.max(row.bidding_start_at));
                let facts = TenderFacts {
                    tender_id: row.id,
                    evaluated: true,
                    lots: lot_facts,
                    submission_period: Some(row.deadline_at - opened),
                    // Every Lumbung tender is an open procedure.
                    short_period_threshold: Some(self.short_submission_period),
                };
                Ok((row, facts))
            })
            .collect::<ServiceResult<_>>()?;
        let gaps: Vec<Decimal> = facts.iter().flat_map(|(_, f)| red_flags::winning_gaps(f)).collect();
        let fences = red_flags::outlier_fences(&gaps);
        let mut coverage: BTreeMap<Flag, (u64, u64)> = Flag::ALL.into_iter().map(|f| (f, (0, 0))).collect();
        let mut report = Report::default();
        for (row, tender_facts) in &facts {
            let mut flags = Vec::new();
            for (flag, result) in red_flags::tender_flags(tender_facts, fences) {
                let entry = coverage.entry(flag).or_default();
                match result {
                    FlagResult::NotComputable => continue,
                    FlagResult::Clear => entry.0 += 1,
                    FlagResult::Fired => {
                        entry.0 += 1;
                        entry.1 += 1;
                    }
                }
                flags.push((flag, result == FlagResult::Fired));
            }
            report.tenders.push(TenderFlags { tender_id: row.id, title: row.title.clone(), flags });
        }
        report.coverage = coverage
            .into_iter()
            .map(|(flag, (computable, fired))| Coverage {
                code: flag.code().to_owned(),
                name: flag_name(flag).to_owned(),
                computable,
                fired,
            })
            .collect();

        // Suppliers: R025 over their bids in scope, and their delivery record.
        let mut record: BTreeMap<Uuid, (u32, u32)> = BTreeMap::new();
        for b in bids.iter().filter(|b| b.status != BID_WITHDRAWN) {
            let entry = record.entry(b.supplier_id).or_default();
            entry.0 += 1;
            entry.1 += u32::from(b.awarded_quantity_e4.unwrap_or(0) > 0);
        }
        let rows: Vec<(Uuid, u32, u32)> = record.iter().map(|(s, (b, w))| (*s, *b, *w)).collect();
        let losers = red_flags::frequent_losers(&rows);
        let performance = self.ordering.performance(actor, None, None).await?;
        let names: BTreeMap<Uuid, String> = organisation::Entity::find()
            .filter(
                organisation::Column::Id.is_in(record.keys().copied().chain(performance.iter().map(|p| p.supplier_id))),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let mut supplier_ids: Vec<Uuid> =
            record.keys().copied().chain(performance.iter().map(|p| p.supplier_id)).collect();
        supplier_ids.sort_unstable();
        supplier_ids.dedup();
        let (mut late_computable, mut late_fired, mut short_computable, mut short_fired) = (0, 0, 0, 0);
        for supplier_id in supplier_ids {
            let (bids_made, won) = record.get(&supplier_id).copied().unwrap_or_default();
            let delivery = performance.iter().find(|p| p.supplier_id == supplier_id);
            let mut flags = Vec::new();
            if losers.as_ref().is_some_and(|l| l.contains(&supplier_id)) {
                flags.push("R025".to_owned());
            }
            if let Some(rate) = delivery.filter(|p| p.deliveries > 0).and_then(|p| p.on_time_rate) {
                late_computable += 1;
                if red_flags::delivers_late(rate) {
                    late_fired += 1;
                    flags.push("LMB-LATE".to_owned());
                }
            }
            if let Some(rate) = delivery.filter(|p| p.deliveries > 0).and_then(|p| p.fill_rate) {
                short_computable += 1;
                if red_flags::delivers_short(rate) {
                    short_fired += 1;
                    flags.push("LMB-SHORT".to_owned());
                }
            }
            report.suppliers.push(SupplierFlags {
                supplier_id,
                name: names.get(&supplier_id).cloned().unwrap_or_default(),
                bids: bids_made,
                won,
                on_time_rate: delivery.and_then(|p| p.on_time_rate),
                fill_rate: delivery.and_then(|p| p.fill_rate),
                flags,
            });
        }
        let r025_computable = if losers.is_some() { rows.len() as u64 } else { 0 };
        report.coverage.push(Coverage {
            code: "R025".into(),
            name: "excessive unsuccessful bids (per supplier)".into(),
            computable: r025_computable,
            fired: losers.map_or(0, |l| l.len() as u64),
        });
        report.coverage.push(Coverage {
            code: "LMB-LATE".into(),
            name: "late deliveries: under 80% on time (per supplier)".into(),
            computable: late_computable,
            fired: late_fired,
        });
        report.coverage.push(Coverage {
            code: "LMB-SHORT".into(),
            name: "short deliveries: fill rate under 90% (per supplier)".into(),
            computable: short_computable,
            fired: short_fired,
        });

        // Concentration: awarded volume per supplier, per commodity and kecamatan.
        let mut awarded = price_observation::Entity::find()
            .filter(price_observation::Column::Source.eq(SOURCE_AWARD))
            .filter(price_observation::Column::TenderId.in_subquery(in_scope()));
        if let Some(from) = from {
            awarded = awarded.filter(price_observation::Column::ObservedAt.gte(from));
        }
        let awarded = awarded.all(&self.db).await?;
        let suppliers_of: BTreeMap<Uuid, Uuid> = purchase_order::Entity::find()
            .filter(purchase_order::Column::TenderId.in_subquery(in_scope()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.supplier_id))
            .collect();
        let mut markets: BTreeMap<(Uuid, String), BTreeMap<Uuid, Decimal>> = BTreeMap::new();
        for observation in &awarded {
            let Some(supplier) = observation.order_id.and_then(|id| suppliers_of.get(&id)) else { continue };
            *markets
                .entry((observation.commodity_id, observation.kecamatan.clone()))
                .or_default()
                .entry(*supplier)
                .or_default() += from_stored(observation.quantity_e4);
        }
        let mut concentrated = 0;
        for ((commodity_id, kecamatan), volumes) in markets {
            let values: Vec<Decimal> = volumes.values().copied().collect();
            let Some(hhi) = price_stats::herfindahl_hirschman(&values) else { continue };
            let total: Decimal = values.iter().sum();
            let Some((dominant, volume)) = volumes.iter().max_by_key(|(_, v)| **v) else { continue };
            let is_concentrated = red_flags::is_concentrated(hhi);
            concentrated += u64::from(is_concentrated);
            report.concentration.push(Concentration {
                commodity_id,
                kecamatan,
                hhi,
                dominant_supplier_id: *dominant,
                dominant_share_percent: (*volume / total * Decimal::ONE_HUNDRED).round_dp(2),
                concentrated: is_concentrated,
            });
        }
        report.coverage.push(Coverage {
            code: "LMB-HHI".into(),
            name: "one supplier wins most of a commodity's volume in an area (HHI above 2,500)".into(),
            computable: report.concentration.len() as u64,
            fired: concentrated,
        });
        Ok(report)
    }
}
