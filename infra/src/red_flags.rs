//! The red-flag report: each evaluated tender's flags, how many tenders each flag could be computed for and how
//! often it fired, supplier-level flags, and market concentration per commodity and kecamatan. Only tenders past
//! their deadline and evaluated are read, so no flag can say anything about a sealed bid.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use domain::{
    access::{Actor, Permission},
    bid::BidStatus,
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
    entities::{
        app_user, bid, commodity, demand_pool, lot, organisation, price_observation, price_reference, purchase_order,
        tender,
    },
    error::ServiceResult,
    fixed_point::from_stored,
    ordering::OrderingService,
    prices::SOURCE_AWARD,
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

/// A buyer (the office that ran the tenders) and its buyer-level flags.
#[derive(Debug, Clone)]
pub struct BuyerFlags {
    pub buyer_id: Uuid,
    pub name: String,
    pub tenders: u32,
    pub submitted_bids: u32,
    pub disqualified_bids: u32,
    pub flags: Vec<String>,
}

/// The office's settings for the flags that need one.
#[derive(Debug, Clone, Copy)]
pub struct RedFlagSettings {
    /// R003: a submission period shorter than this is flagged (`LUMBUNG_R003_MIN_DAYS` for open procedures).
    pub short_submission_period: chrono::Duration,
    /// R048: suppliers are compared once they have won this many tenders (`LUMBUNG_R048_MIN_TENDERS`).
    pub heterogeneous_min_tenders: u32,
}

/// R038 compares those with at least this many submitted bids (Cardinal's default).
const R038_MIN_SUBMITTED_BIDS: u32 = 2;

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
    pub buyers: Vec<BuyerFlags>,
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
    settings: RedFlagSettings,
}

impl RedFlagService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        ordering: OrderingService,
        settings: RedFlagSettings,
    ) -> Self {
        Self { db, clock, ordering, settings }
    }

    /// R038 per buyer: the office that ran each tender (its creator's organisation), over the tenders in scope.
    async fn buyer_flags(
        &self,
        facts: &[(tender::Model, TenderFacts)],
        bids: &[bid::Model],
        report: &mut Report,
    ) -> ServiceResult<()> {
        let users: BTreeMap<Uuid, Uuid> = app_user::Entity::find()
            .filter(app_user::Column::Id.is_in(facts.iter().map(|(row, _)| row.created_by)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.organisation_id))
            .collect();
        let buyer_of: BTreeMap<Uuid, Uuid> =
            facts.iter().filter_map(|(row, _)| Some((row.id, *users.get(&row.created_by)?))).collect();
        // Per buyer: tenders, submitted bids, disqualified bids.
        let mut record: BTreeMap<Uuid, (u32, u32, u32)> = BTreeMap::new();
        for buyer in buyer_of.values() {
            record.entry(*buyer).or_default().0 += 1;
        }
        for b in bids.iter().filter(|b| b.status != BidStatus::Withdrawn.as_str()) {
            let Some(buyer) = buyer_of.get(&b.tender_id) else { continue };
            let entry = record.entry(*buyer).or_default();
            entry.1 += 1;
            entry.2 += u32::from(b.rank.is_none());
        }
        let rows: Vec<(Uuid, u32, u32)> = record.iter().map(|(id, (_, s, d))| (*id, *s, *d)).collect();
        let flagged = red_flags::excessive_disqualifications(&rows, R038_MIN_SUBMITTED_BIDS);
        let names: BTreeMap<Uuid, String> = organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(record.keys().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        for (buyer_id, (tenders, submitted_bids, disqualified_bids)) in record {
            let fired = flagged.as_ref().is_some_and(|(_, f)| f.contains(&buyer_id));
            report.buyers.push(BuyerFlags {
                buyer_id,
                name: names.get(&buyer_id).cloned().unwrap_or_default(),
                tenders,
                submitted_bids,
                disqualified_bids,
                flags: if fired { vec!["R038".to_owned()] } else { vec![] },
            });
        }
        let (computable, fired) = flagged.map_or((0, 0), |(n, f)| (n, f.len() as u64));
        report.coverage.push(Coverage {
            code: "R038-BUYER".into(),
            name: "excessive disqualified bids (per buyer and procuring entity)".into(),
            computable,
            fired,
        });
        Ok(())
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
                                withdrawn: b.status == BidStatus::Withdrawn.as_str(),
                                disqualified: b.status != BidStatus::Withdrawn.as_str() && b.rank.is_none(),
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
                    short_period_threshold: Some(self.settings.short_submission_period),
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

        // Suppliers: R025 and R038 over their bids in scope, R048 over what they won, and their delivery record.
        // Withdrawn bids are not submitted bids (as Cardinal reads them).
        let mut record: BTreeMap<Uuid, (u32, u32)> = BTreeMap::new();
        let mut disqualified: BTreeMap<Uuid, u32> = BTreeMap::new();
        for b in bids.iter().filter(|b| b.status != BidStatus::Withdrawn.as_str()) {
            let entry = record.entry(b.supplier_id).or_default();
            entry.0 += 1;
            entry.1 += u32::from(b.awarded_quantity_e4.unwrap_or(0) > 0);
            *disqualified.entry(b.supplier_id).or_default() += u32::from(b.rank.is_none());
        }
        let rows: Vec<(Uuid, u32, u32)> = record.iter().map(|(s, (b, w))| (*s, *b, *w)).collect();
        let losers = red_flags::frequent_losers(&rows);
        let disqualification_rows: Vec<(Uuid, u32, u32)> =
            record.iter().map(|(s, (b, _))| (*s, *b, disqualified.get(s).copied().unwrap_or(0))).collect();
        let r038 = red_flags::excessive_disqualifications(&disqualification_rows, R038_MIN_SUBMITTED_BIDS);
        let categories: BTreeMap<Uuid, String> = commodity::Entity::find()
            .filter(commodity::Column::Id.is_in(facts.iter().map(|(row, _)| row.commodity_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.category))
            .collect();
        let category_of_tender: BTreeMap<Uuid, &String> =
            facts.iter().filter_map(|(row, _)| Some((row.id, categories.get(&row.commodity_id)?))).collect();
        let mut won: BTreeMap<Uuid, (std::collections::BTreeSet<Uuid>, std::collections::BTreeSet<&String>)> =
            BTreeMap::new();
        for b in bids.iter().filter(|b| b.awarded_quantity_e4.unwrap_or(0) > 0) {
            let entry = won.entry(b.supplier_id).or_default();
            entry.0.insert(b.tender_id);
            entry.1.extend(category_of_tender.get(&b.tender_id).copied());
        }
        let won_rows: Vec<(Uuid, u32, u32)> = won
            .iter()
            .map(|(s, (tenders, kinds))| {
                (*s, u32::try_from(tenders.len()).unwrap_or(u32::MAX), u32::try_from(kinds.len()).unwrap_or(u32::MAX))
            })
            .collect();
        let r048 = red_flags::heterogeneous_suppliers(&won_rows, self.settings.heterogeneous_min_tenders);
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
            if r038.as_ref().is_some_and(|(_, flagged)| flagged.contains(&supplier_id)) {
                flags.push("R038".to_owned());
            }
            if r048.as_ref().is_some_and(|(_, flagged)| flagged.contains(&supplier_id)) {
                flags.push("R048".to_owned());
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
        let (r038_computable, r038_fired) = r038.as_ref().map_or((0, 0), |(n, f)| (*n, f.len() as u64));
        report.coverage.push(Coverage {
            code: "R038".into(),
            name: "excessive disqualified bids (per supplier)".into(),
            computable: r038_computable,
            fired: r038_fired,
        });
        let (r048_computable, r048_fired) = r048.as_ref().map_or((0, 0), |(n, f)| (*n, f.len() as u64));
        report.coverage.push(Coverage {
            code: "R048".into(),
            name: "supplier winning across unusually many commodity categories".into(),
            computable: r048_computable,
            fired: r048_fired,
        });
        self.buyer_flags(&facts, &bids, &mut report).await?;
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
