//! Price monitoring for Diskopindag, by job: `recording` (observations with their daily rollups and alerts — the one
//! entry point awards and deliveries record prices through), `indicators` (what a period shows), `survey` (the
//! office's market survey, by hand or CSV) and `publishing` (the monthly pooled price for everyone).
//!
//! Every observation is written with its day's rollup in the same transaction, so an indicator over any period reads
//! one rollup row per day and area in range, however many observations lie behind them. Only the median reads the
//! observations themselves, and only for slices of at most [`MEDIAN_LIMIT`] observations.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::{
    access::{Actor, Permission},
    clock::{Clock, date_in_wib},
    commodity::{Place, PriceKind, applicable_price},
    identity::bounded_text,
    money::UnitPrice,
    notification::Notice,
    organisation::OrganisationKind,
    price_stats::{self, Moments},
};
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    catalogue::to_domain,
    db::{WriteTransaction, begin_write},
    entities::{commodity, organisation, price_alert, price_observation, price_reference, published_price},
    error::ServiceResult,
    fixed_point::{from_stored, to_stored},
    notification::{self, EventBus, Subject, Topic},
};

mod indicators;
mod publishing;
mod recording;
mod survey;

pub use domain::price_stats::Period;
pub use recording::{NewObservation, OrdersOf, record, record_order_prices, retract_order};

pub const SOURCE_AWARD: &str = "AWARD";

pub const SOURCE_DELIVERY: &str = "DELIVERY";

pub const SOURCE_SURVEY: &str = "SURVEY";

pub const ALERT_ABOVE_HET: &str = "ABOVE_HET";

/// The rollup rows that sum every area of a day carry this as city and kecamatan: an indicator over all areas then
/// reads one row per day, however many kecamatan report.
pub const ALL_AREAS: &str = "*";

/// Medians are computed from the observations of a slice up to this many; beyond, from nothing (left out).
pub const MEDIAN_LIMIT: u64 = 200_000;

/// What an analyst asks for.
#[derive(Debug, Clone)]
pub struct IndicatorQuery {
    pub commodity_code: String,
    /// AWARD (the pooled price), DELIVERY (the price paid for what arrived) or SURVEY (the market price).
    pub source: &'static str,
    pub period: Period,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// One kecamatan only (by name; with `city`, that city's).
    pub kecamatan: Option<String>,
    /// One city's areas only.
    pub city: Option<String>,
    /// A row per kecamatan instead of one for all areas.
    pub by_area: bool,
    /// Compute medians (the one indicator that reads observations rather than rollups): only when asked for.
    pub with_median: bool,
}

/// One row of the indicator table.
#[derive(Debug, Clone)]
pub struct IndicatorRow {
    pub period_start: NaiveDate,
    /// The area, when the table is by area: kecamatan are told apart by their city.
    pub city: Option<String>,
    pub kecamatan: Option<String>,
    pub moments: Moments,
    pub median: Option<Decimal>,
    pub market_mean: Option<Decimal>,
    pub ceiling: Option<Decimal>,
    pub ceiling_kind: Option<PriceKind>,
    pub coefficient_of_variation: Option<Decimal>,
    /// The CV's trend: this period's CV minus the previous period's, in percentage points.
    pub cv_change: Option<Decimal>,
    pub unstable: bool,
    pub change_percent: Option<Decimal>,
    pub savings: Option<Decimal>,
}

impl IndicatorRow {
    /// The quantity-weighted mean ÷ the ceiling (the plain mean for market prices, which carry no quantity).
    pub fn ratio_to_ceiling(&self) -> Option<Decimal> {
        let price = self.moments.weighted_mean().or_else(|| self.moments.mean())?;
        price_stats::ratio_to_ceiling(price, self.ceiling?)
    }
}

/// Disparity between kecamatan in one period.
#[derive(Debug, Clone)]
pub struct DisparityRow {
    pub period_start: NaiveDate,
    pub disparity: price_stats::Disparity,
}

/// An alert in the alert list: stored (a price above the HET) or found in the indicators (instability, a jump).
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub kind: String,
    pub commodity_id: Uuid,
    pub day: NaiveDate,
    pub city: Option<String>,
    pub kecamatan: Option<String>,
    pub value: Decimal,
    pub threshold: Decimal,
    pub tender_ids: Vec<Uuid>,
    pub market_names: Vec<String>,
}

/// Thresholds the office sets.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub cv_percent: Decimal,
    pub change_percent: Decimal,
}

#[derive(Clone)]
pub struct PriceService {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    events: EventBus,
    pub thresholds: Thresholds,
}

/// One market survey price as an analyst enters it.
#[derive(Debug, Clone)]
pub struct SurveyInput {
    pub commodity_code: String,
    pub market_name: String,
    pub kelurahan: Option<String>,
    pub kecamatan: String,
    pub city: String,
    /// Needed to apply a province's HET (e.g. rice, LPG).
    pub province: Option<String>,
    pub date: NaiveDate,
    pub price: Decimal,
}

/// A survey row that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// The line of the file (the header is line 1).
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl PriceService {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, events: EventBus, thresholds: Thresholds) -> Self {
        Self { db, clock, events, thresholds }
    }

    async fn commodity(&self, code: &str) -> ServiceResult<commodity::Model> {
        let code = domain::commodity::commodity_code(code)?;
        commodity::Entity::find()
            .filter(commodity::Column::Code.eq(code))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::bad_input("commodityCode", "no commodity has this code"))
    }
}
