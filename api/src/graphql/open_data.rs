//! Red flags in tenders and the OCDS open-data export, for the agency.

use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access::Permission;
use infra::{red_flags, services::Services};
use rust_decimal::Decimal;

use super::{error::ApiResult, guard::require, parse_id};

/// How many tenders (suppliers, markets) a flag could be computed for, and how often it fired.
#[derive(SimpleObject)]
pub struct FlagCoverage {
    /// The Cardinal indicator (e.g. `R018`) or Lumbung's own (`LMB-…`).
    code: String,
    name: String,
    computable: u64,
    fired: u64,
    /// fired ÷ computable, in percent.
    fired_percent: Option<Decimal>,
}

#[derive(SimpleObject)]
pub struct TenderFlag {
    code: String,
    fired: bool,
}

#[derive(SimpleObject)]
pub struct TenderRedFlags {
    tender_id: ID,
    title: String,
    /// Every flag that could be computed for this tender.
    flags: Vec<TenderFlag>,
    /// The codes that fired.
    fired: Vec<String>,
}

#[derive(SimpleObject)]
pub struct SupplierRedFlags {
    supplier_id: ID,
    name: String,
    bids: u32,
    won: u32,
    on_time_rate: Option<Decimal>,
    fill_rate: Option<Decimal>,
    flags: Vec<String>,
}

/// An office that ran tenders, with its buyer-level flags (R038).
#[derive(SimpleObject)]
pub struct BuyerRedFlags {
    buyer_id: ID,
    name: String,
    tenders: u32,
    submitted_bids: u32,
    disqualified_bids: u32,
    flags: Vec<String>,
}

#[derive(SimpleObject)]
pub struct MarketConcentration {
    commodity_id: ID,
    kecamatan: String,
    /// Herfindahl–Hirschman index, 0–10,000.
    hhi: Decimal,
    dominant_supplier_id: ID,
    dominant_share_percent: Decimal,
    concentrated: bool,
}

#[derive(SimpleObject)]
pub struct RedFlagReport {
    coverage: Vec<FlagCoverage>,
    tenders: Vec<TenderRedFlags>,
    suppliers: Vec<SupplierRedFlags>,
    buyers: Vec<BuyerRedFlags>,
    concentration: Vec<MarketConcentration>,
}

impl From<red_flags::Report> for RedFlagReport {
    fn from(report: red_flags::Report) -> Self {
        Self {
            coverage: report
                .coverage
                .into_iter()
                .map(|c| FlagCoverage {
                    fired_percent: (c.computable > 0).then(|| {
                        (Decimal::from(c.fired) * Decimal::ONE_HUNDRED / Decimal::from(c.computable)).round_dp(2)
                    }),
                    code: c.code,
                    name: c.name,
                    computable: c.computable,
                    fired: c.fired,
                })
                .collect(),
            tenders: report
                .tenders
                .into_iter()
                .map(|t| TenderRedFlags {
                    tender_id: ID(t.tender_id.to_string()),
                    title: t.title,
                    fired: t.flags.iter().filter(|(_, fired)| *fired).map(|(f, _)| f.code().to_owned()).collect(),
                    flags: t
                        .flags
                        .into_iter()
                        .map(|(f, fired)| TenderFlag { code: f.code().to_owned(), fired })
                        .collect(),
                })
                .collect(),
            suppliers: report
                .suppliers
                .into_iter()
                .map(|s| SupplierRedFlags {
                    supplier_id: ID(s.supplier_id.to_string()),
                    name: s.name,
                    bids: s.bids,
                    won: s.won,
                    on_time_rate: s.on_time_rate,
                    fill_rate: s.fill_rate,
                    flags: s.flags,
                })
                .collect(),
            buyers: report
                .buyers
                .into_iter()
                .map(|b| BuyerRedFlags {
                    buyer_id: ID(b.buyer_id.to_string()),
                    name: b.name,
                    tenders: b.tenders,
                    submitted_bids: b.submitted_bids,
                    disqualified_bids: b.disqualified_bids,
                    flags: b.flags,
                })
                .collect(),
            concentration: report
                .concentration
                .into_iter()
                .map(|c| MarketConcentration {
                    commodity_id: ID(c.commodity_id.to_string()),
                    kecamatan: c.kecamatan,
                    hhi: c.hhi,
                    dominant_supplier_id: ID(c.dominant_supplier_id.to_string()),
                    dominant_share_percent: c.dominant_share_percent,
                    concentrated: c.concentrated,
                })
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct OpenDataQuery;

#[Object]
impl OpenDataQuery {
    /// Red flags of the tenders closed in the range (all when open-ended), with each flag's coverage.
    async fn tender_red_flags(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<RedFlagReport> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        Ok(ctx.data::<Services>()?.red_flags.report(actor, from, to).await.api()?.into())
    }

    /// The tender's OCDS 1.1.5 release package (with the bids and lots extensions). Nothing about bids before the
    /// deadline. Also at `GET /exports/ocds/{tenderId}.json`, and all tenders at `GET /exports/ocds.jsonl?since=`.
    async fn ocds_release_package(
        &self,
        ctx: &Context<'_>,
        tender_id: ID,
    ) -> async_graphql::Result<Json<serde_json::Value>> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        let id = parse_id("tenderId", &tender_id)?;
        Ok(Json(ctx.data::<Services>()?.open_data.release_package(actor, id).await.api()?))
    }
}
