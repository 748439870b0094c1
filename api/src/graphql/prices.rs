//! Price monitoring for the agency: market surveys, indicators, disparity, alerts and the published aggregates.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::NaiveDate;
use domain::access::Permission;
use infra::{
    prices::{self, AlertRow, DisparityRow, IndicatorQuery, IndicatorRow, Period, RejectedRow, SurveyInput},
    services::Services,
};
use rust_decimal::Decimal;

use super::{
    error::ApiResult,
    guard::{authenticated, require},
};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum PricePeriod {
    Day,
    Week,
    #[default]
    Month,
}

impl From<PricePeriod> for Period {
    fn from(period: PricePeriod) -> Self {
        match period {
            PricePeriod::Day => Period::Day,
            PricePeriod::Week => Period::Week,
            PricePeriod::Month => Period::Month,
        }
    }
}

/// Which price an indicator describes.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum PriceSource {
    /// The pooled price: each confirmed award line.
    #[default]
    Award,
    /// The price paid for what was accepted on delivery.
    Delivery,
    /// The market price from the agency's surveys.
    Market,
}

impl PriceSource {
    pub fn stored(self) -> &'static str {
        match self {
            Self::Award => prices::SOURCE_AWARD,
            Self::Delivery => prices::SOURCE_DELIVERY,
            Self::Market => prices::SOURCE_SURVEY,
        }
    }
}

/// What to compute indicators over.
#[derive(InputObject, Clone)]
pub struct PriceQueryInput {
    pub commodity_code: String,
    #[graphql(default)]
    pub period: PricePeriod,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// One kecamatan only (by name; with `city`, that city's).
    pub kecamatan: Option<String>,
    /// One city's areas only.
    pub city: Option<String>,
    /// A row per kecamatan instead of one for all areas.
    #[graphql(default)]
    pub by_area: bool,
    #[graphql(default)]
    pub source: PriceSource,
}

impl PriceQueryInput {
    pub fn query(&self, with_median: bool) -> IndicatorQuery {
        IndicatorQuery {
            commodity_code: self.commodity_code.clone(),
            source: self.source.stored(),
            period: self.period.into(),
            from: self.from,
            to: self.to,
            kecamatan: self.kecamatan.clone(),
            city: self.city.clone(),
            by_area: self.by_area,
            with_median,
        }
    }
}

/// One period (and area) of the indicator table.
pub struct PriceIndicator(pub IndicatorRow);

#[Object]
impl PriceIndicator {
    async fn period_start(&self) -> NaiveDate {
        self.0.period_start
    }
    /// The kecamatan, when the table is by area.
    async fn kecamatan(&self) -> Option<&str> {
        self.0.kecamatan.as_deref()
    }
    /// The kecamatan's city, when the table is by area.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    async fn count(&self) -> u64 {
        self.0.moments.count
    }
    async fn min(&self) -> Option<Decimal> {
        self.0.moments.min_price
    }
    async fn max(&self) -> Option<Decimal> {
        self.0.moments.max_price
    }
    async fn mean(&self) -> Option<Decimal> {
        self.0.moments.mean()
    }
    /// Computed only when selected, and left out for slices of more than 200,000 observations.
    async fn median(&self) -> Option<Decimal> {
        self.0.median
    }
    async fn weighted_mean(&self) -> Option<Decimal> {
        self.0.moments.weighted_mean()
    }
    async fn quantity(&self) -> Decimal {
        self.0.moments.sum_quantity
    }
    /// The mean market survey price of the same period and area.
    async fn market_mean(&self) -> Option<Decimal> {
        self.0.market_mean
    }
    /// Standard deviation ÷ mean, in percent.
    async fn coefficient_of_variation(&self) -> Option<Decimal> {
        self.0.coefficient_of_variation
    }
    /// The CV's trend: this period's CV minus the previous period's, in percentage points.
    async fn cv_change(&self) -> Option<Decimal> {
        self.0.cv_change
    }
    /// Whether the CV is above the office's stability threshold.
    async fn unstable(&self) -> bool {
        self.0.unstable
    }
    /// Change of the mean against the previous period, in percent.
    async fn change_percent(&self) -> Option<Decimal> {
        self.0.change_percent
    }
    /// The HET, or the reference price for goods without one.
    async fn ceiling(&self) -> Option<Decimal> {
        self.0.ceiling
    }
    async fn ratio_to_ceiling(&self) -> Option<Decimal> {
        self.0.ratio_to_ceiling()
    }
    /// Share of observations above the HET, in percent.
    async fn share_above_ceiling(&self) -> Option<Decimal> {
        self.0.moments.share_above_ceiling()
    }
    /// (market or reference price − price) × quantity.
    async fn savings(&self) -> Option<Decimal> {
        self.0.savings
    }
}

#[derive(SimpleObject)]
pub struct PriceDisparity {
    period_start: NaiveDate,
    areas: usize,
    lowest_mean: Decimal,
    highest_mean: Decimal,
    /// (highest − lowest) ÷ mean of the area means, in percent.
    spread_percent: Decimal,
    coefficient_of_variation: Option<Decimal>,
}

impl From<DisparityRow> for PriceDisparity {
    fn from(row: DisparityRow) -> Self {
        Self {
            period_start: row.period_start,
            areas: row.disparity.areas,
            lowest_mean: row.disparity.lowest_mean,
            highest_mean: row.disparity.highest_mean,
            spread_percent: row.disparity.spread_percent,
            coefficient_of_variation: row.disparity.coefficient_of_variation,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PriceAlertKind {
    /// A price observed above the HET.
    AboveHet,
    /// A period's coefficient of variation above the threshold.
    Unstable,
    /// A period's mean moved more than the threshold against the previous one.
    PriceChange,
}

#[derive(SimpleObject)]
pub struct PriceAlert {
    kind: PriceAlertKind,
    /// The day (or the first day of the period).
    day: NaiveDate,
    city: Option<String>,
    kecamatan: Option<String>,
    /// The price, the CV or the change, by kind.
    value: Decimal,
    /// The HET or the threshold it passed.
    threshold: Decimal,
    /// The tenders behind it.
    tender_ids: Vec<ID>,
    /// The surveyed markets behind it.
    market_names: Vec<String>,
}

impl From<AlertRow> for PriceAlert {
    fn from(row: AlertRow) -> Self {
        Self {
            kind: match row.kind.as_str() {
                "UNSTABLE" => PriceAlertKind::Unstable,
                "PRICE_CHANGE" => PriceAlertKind::PriceChange,
                _ => PriceAlertKind::AboveHet,
            },
            day: row.day,
            city: row.city,
            kecamatan: row.kecamatan,
            value: row.value,
            threshold: row.threshold,
            tender_ids: row.tender_ids.iter().map(|id| ID(id.to_string())).collect(),
            market_names: row.market_names,
        }
    }
}

/// One market survey price.
#[derive(InputObject)]
pub struct MarketPriceInput {
    commodity_code: String,
    market_name: String,
    kelurahan: Option<String>,
    kecamatan: String,
    city: String,
    /// Needed to apply a province's HET (e.g. rice, LPG).
    province: Option<String>,
    date: NaiveDate,
    price: Decimal,
}

#[derive(SimpleObject)]
pub struct RejectedSurveyRow {
    /// The line in the file (the header is line 1).
    line: usize,
    field: String,
    message: String,
}

#[derive(SimpleObject)]
pub struct SurveyResult {
    accepted: usize,
    rejected: Vec<RejectedSurveyRow>,
}

impl SurveyResult {
    fn from((accepted, rejected): (usize, Vec<RejectedRow>)) -> Self {
        Self {
            accepted,
            rejected: rejected
                .into_iter()
                .map(|r| RejectedSurveyRow { line: r.line, field: r.field, message: r.message })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct CommoditySavings {
    commodity_code: String,
    quantity: Decimal,
    amount_paid: Decimal,
    /// (market or reference price − price paid) × quantity, summed over areas and months.
    savings: Decimal,
}

#[derive(SimpleObject)]
pub struct PoolingSavings {
    commodities: Vec<CommoditySavings>,
    total: Decimal,
}

/// A monthly pooled price the office published for everyone.
#[derive(SimpleObject)]
pub struct PublishedPrice {
    commodity_code: String,
    commodity_name: String,
    month: NaiveDate,
    /// The month's pooled price: the quantity-weighted mean of the awarded order lines (`weightedMean` of the
    /// office's indicators).
    mean: Option<Decimal>,
    observations: u64,
}

async fn published(ctx: &Context<'_>, actor: &domain::access::Actor) -> async_graphql::Result<Vec<PublishedPrice>> {
    let rows = ctx.data::<Services>()?.prices.published(actor).await.api()?;
    Ok(rows
        .into_iter()
        .map(|(commodity, month, mean, observations)| PublishedPrice {
            commodity_code: commodity.code,
            commodity_name: commodity.name_id,
            month,
            mean,
            observations,
        })
        .collect())
}

#[derive(Default)]
pub struct PriceQuery;

#[Object]
impl PriceQuery {
    /// Price indicators of one commodity over a range, per period (and per kecamatan with `byArea`).
    async fn price_indicators(
        &self,
        ctx: &Context<'_>,
        input: PriceQueryInput,
    ) -> async_graphql::Result<Vec<PriceIndicator>> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        // The median is the one indicator that reads observations: computed only when selected.
        let with_median = ctx.look_ahead().field("median").exists();
        let rows = ctx.data::<Services>()?.prices.indicators(actor, &input.query(with_median)).await.api()?;
        Ok(rows.into_iter().map(PriceIndicator).collect())
    }

    /// How far apart the kecamatan's mean prices are, per period.
    async fn price_disparity(
        &self,
        ctx: &Context<'_>,
        input: PriceQueryInput,
    ) -> async_graphql::Result<Vec<PriceDisparity>> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        let rows = ctx.data::<Services>()?.prices.disparity(actor, &input.query(false)).await.api()?;
        Ok(rows.into_iter().map(PriceDisparity::from).collect())
    }

    /// Prices above the HET, unstable periods and jumps, each with what lies behind it.
    async fn price_alerts(&self, ctx: &Context<'_>, input: PriceQueryInput) -> async_graphql::Result<Vec<PriceAlert>> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        let rows = ctx.data::<Services>()?.prices.alerts(actor, &input.query(false)).await.api()?;
        Ok(rows.into_iter().map(PriceAlert::from).collect())
    }

    /// What pooling saved against market (or reference) prices over a range, per commodity (summed over areas and
    /// months) and in total.
    async fn pooling_savings(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
        #[graphql(default)] source: PriceSource,
    ) -> async_graphql::Result<PoolingSavings> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        let (rows, total) = ctx.data::<Services>()?.prices.savings(actor, source.stored(), from, to).await.api()?;
        Ok(PoolingSavings {
            commodities: rows
                .into_iter()
                .map(|(commodity, quantity, amount, savings)| CommoditySavings {
                    commodity_code: commodity.code,
                    quantity,
                    amount_paid: amount.round_dp(2),
                    savings,
                })
                .collect(),
            total,
        })
    }

    /// The monthly pooled prices the office published: for every logged-in user.
    async fn published_prices(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PublishedPrice>> {
        let actor = authenticated(ctx)?;
        published(ctx, actor).await
    }
}

#[derive(Default)]
pub struct PriceMutation;

#[Object]
impl PriceMutation {
    /// Records one market survey price.
    async fn record_market_price(
        &self,
        ctx: &Context<'_>,
        input: MarketPriceInput,
    ) -> async_graphql::Result<SurveyResult> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        let row = SurveyInput {
            commodity_code: input.commodity_code,
            market_name: input.market_name,
            kelurahan: input.kelurahan,
            kecamatan: input.kecamatan,
            city: input.city,
            province: input.province,
            date: input.date,
            price: input.price,
        };
        let (accepted, mut rejected) =
            ctx.data::<Services>()?.prices.record_survey(actor, vec![(1, Ok(row))]).await.api()?;
        // One price: its refusal is the mutation's error.
        if let Some(refused) = rejected.pop() {
            return Err(super::error::to_graphql(infra::ServiceError::bad_input(refused.field, refused.message)));
        }
        Ok(SurveyResult::from((accepted, rejected)))
    }

    /// Records a day's market survey from CSV (`commodity_code,market,kelurahan,kecamatan,city,date,price` with a
    /// header row) in one action: valid rows are kept, each bad row is reported with its line and reason.
    async fn import_market_survey(&self, ctx: &Context<'_>, csv: String) -> async_graphql::Result<SurveyResult> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        Ok(SurveyResult::from(ctx.data::<Services>()?.prices.import_survey_csv(actor, &csv).await.api()?))
    }

    /// Publishes a commodity's mean pooled price for a month to every user; returns what is published.
    async fn publish_monthly_price(
        &self,
        ctx: &Context<'_>,
        commodity_code: String,
        month: NaiveDate,
    ) -> async_graphql::Result<Vec<PublishedPrice>> {
        let actor = require(ctx, Permission::MonitorPrices)?;
        ctx.data::<Services>()?.prices.publish_month(actor, &commodity_code, month).await.api()?;
        published(ctx, actor).await
    }
}
