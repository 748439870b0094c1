//! Price monitoring for Diskopindag: observations, daily rollups, indicators, alerts and market surveys.
//!
//! Every observation is written with its day's rollup in the same transaction, so an indicator over any period reads
//! one rollup row per day and area in range, however many observations lie behind them. Only the median reads the
//! observations themselves, and only for slices of at most [`MEDIAN_LIMIT`] observations.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
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
use rust_decimal::{Decimal, prelude::ToPrimitive};
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

pub const SOURCE_AWARD: &str = "AWARD";
pub const SOURCE_DELIVERY: &str = "DELIVERY";
pub const SOURCE_SURVEY: &str = "SURVEY";
pub const ALERT_ABOVE_HET: &str = "ABOVE_HET";

/// The rollup rows that sum every area of a day carry this as city and kecamatan: an indicator over all areas then
/// reads one row per day, however many kecamatan report.
pub const ALL_AREAS: &str = "*";

/// Medians are computed from the observations of a slice up to this many; beyond, from nothing (left out).
pub const MEDIAN_LIMIT: u64 = 200_000;

/// A price seen somewhere, before it is stored.
#[derive(Debug, Clone)]
pub struct NewObservation {
    pub commodity_id: Uuid,
    pub source: &'static str,
    pub province: Option<String>,
    pub city: String,
    pub kecamatan: String,
    pub kelurahan: Option<String>,
    pub observed_at: DateTime<Utc>,
    pub unit_price: Decimal,
    pub quantity: Decimal,
    pub tender_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub market_name: Option<String>,
    pub recorded_by: Option<Uuid>,
}

type RollupKey = (Uuid, &'static str, NaiveDate, String, String);

/// Stores observations in the caller's transaction with their rollups, and raises an alert (stored, mailed to the
/// agency, streamed to its subscribers) for each price above the HET that applied.
pub async fn record(
    txn: &WriteTransaction,
    events: &EventBus,
    now: DateTime<Utc>,
    observations: Vec<NewObservation>,
) -> ServiceResult<Vec<price_alert::Model>> {
    if observations.is_empty() {
        return Ok(vec![]);
    }
    let mut commodity_ids: Vec<Uuid> = observations.iter().map(|o| o.commodity_id).collect();
    commodity_ids.sort_unstable();
    commodity_ids.dedup();
    // Converted once per commodity, not once per observation (an award records a line per cooperative).
    let mut references: HashMap<Uuid, Vec<domain::commodity::PriceReference>> = HashMap::new();
    for row in price_reference::Entity::find()
        .filter(price_reference::Column::CommodityId.is_in(commodity_ids.clone()))
        .all(txn)
        .await?
    {
        references.entry(row.commodity_id).or_default().push(to_domain(&row)?);
    }
    let mut rows = Vec::with_capacity(observations.len());
    let mut rollups: BTreeMap<RollupKey, Moments> = BTreeMap::new();
    let mut alerts = Vec::new();
    for observation in &observations {
        let day = date_in_wib(observation.observed_at);
        let own = references.get(&observation.commodity_id).map_or(&[][..], Vec::as_slice);
        let place = Place { province: observation.province.clone(), city: Some(observation.city.clone()) };
        let het = applicable_price(own, PriceKind::Het, &place, day).map(|r| r.price);
        let reference = applicable_price(own, PriceKind::Reference, &place, day).map(|r| r.price);
        let above = het.is_some_and(|het| observation.unit_price > het);
        let id = Uuid::now_v7();
        rows.push(price_observation::ActiveModel {
            id: Set(id),
            commodity_id: Set(observation.commodity_id),
            source: Set(observation.source.to_owned()),
            city: Set(observation.city.clone()),
            kecamatan: Set(observation.kecamatan.clone()),
            kelurahan: Set(observation.kelurahan.clone()),
            observed_at: Set(observation.observed_at),
            observed_on: Set(day),
            unit_price_e4: Set(to_stored(observation.unit_price)?),
            quantity_e4: Set(to_stored(observation.quantity)?),
            ceiling_e4: Set(het.or(reference).map(to_stored).transpose()?),
            above_ceiling: Set(above),
            tender_id: Set(observation.tender_id),
            order_id: Set(observation.order_id),
            market_name: Set(observation.market_name.clone()),
            recorded_by: Set(observation.recorded_by),
        });
        rollups
            .entry((
                observation.commodity_id,
                observation.source,
                day,
                observation.city.clone(),
                observation.kecamatan.clone(),
            ))
            .or_default()
            .add(observation.unit_price, observation.quantity, above);
        rollups
            .entry((observation.commodity_id, observation.source, day, ALL_AREAS.to_owned(), ALL_AREAS.to_owned()))
            .or_default()
            .add(observation.unit_price, observation.quantity, above);
        if let (true, Some(het)) = (above, het) {
            alerts.push(price_alert::Model {
                id: Uuid::now_v7(),
                kind: ALERT_ABOVE_HET.to_owned(),
                commodity_id: observation.commodity_id,
                source: observation.source.to_owned(),
                city: observation.city.clone(),
                kecamatan: observation.kecamatan.clone(),
                observed_on: day,
                unit_price_e4: to_stored(observation.unit_price)?,
                ceiling_e4: to_stored(het)?,
                observation_id: id,
                tender_id: observation.tender_id,
                market_name: observation.market_name.clone(),
                created_at: now,
            });
        }
    }
    // Sixteen columns a row: 500 rows stay under both backends' bind-parameter limits.
    for chunk in rows.chunks(500) {
        price_observation::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    for (key, moments) in &rollups {
        add_to_rollup(txn, key, moments).await?;
    }
    raise_alerts(txn, events, now, &alerts).await?;
    Ok(alerts)
}

/// Adds `moments` to a day's rollup row, creating it if needed, in one statement (safe under concurrent writers).
async fn add_to_rollup(txn: &WriteTransaction, key: &RollupKey, moments: &Moments) -> ServiceResult<()> {
    let backend = txn.get_database_backend();
    let (least, greatest) = match backend {
        DatabaseBackend::Postgres => ("LEAST", "GREATEST"),
        _ => ("MIN", "MAX"),
    };
    let placeholders: Vec<String> =
        (1..=13).map(|n| if backend == DatabaseBackend::Postgres { format!("${n}") } else { "?".to_owned() }).collect();
    let sql = format!(
        "INSERT INTO price_rollup (commodity_id, source, day, city, kecamatan, observations, sum_price_e4, \
         sum_price_squared, min_price_e4, max_price_e4, sum_quantity_e4, sum_amount_e4, above_ceiling) \
         VALUES ({}) ON CONFLICT (commodity_id, source, day, city, kecamatan) DO UPDATE SET \
         observations = price_rollup.observations + excluded.observations, \
         sum_price_e4 = price_rollup.sum_price_e4 + excluded.sum_price_e4, \
         sum_price_squared = price_rollup.sum_price_squared + excluded.sum_price_squared, \
         min_price_e4 = {least}(price_rollup.min_price_e4, excluded.min_price_e4), \
         max_price_e4 = {greatest}(price_rollup.max_price_e4, excluded.max_price_e4), \
         sum_quantity_e4 = price_rollup.sum_quantity_e4 + excluded.sum_quantity_e4, \
         sum_amount_e4 = price_rollup.sum_amount_e4 + excluded.sum_amount_e4, \
         above_ceiling = price_rollup.above_ceiling + excluded.above_ceiling",
        placeholders.join(", ")
    );
    let (commodity_id, source, day, city, kecamatan) = key;
    let values: Vec<Value> = vec![
        (*commodity_id).into(),
        (*source).into(),
        (*day).into(),
        city.clone().into(),
        kecamatan.clone().into(),
        i64::try_from(moments.count).unwrap_or(i64::MAX).into(),
        to_stored(moments.sum_price)?.into(),
        moments.sum_price_squared.into(),
        to_stored(moments.min_price.unwrap_or_default())?.into(),
        to_stored(moments.max_price.unwrap_or_default())?.into(),
        to_stored(moments.sum_quantity)?.into(),
        to_stored(moments.sum_amount)?.into(),
        i64::try_from(moments.count_above_ceiling).unwrap_or(i64::MAX).into(),
    ];
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// Takes back the observations of one order from one source (an award price that no longer stands, because the
/// order was declined or cancelled), in the caller's transaction: the observations, the alerts they raised, and their
/// share of every rollup row they were added to. Does nothing when there are none.
pub async fn retract_order(
    txn: &WriteTransaction,
    tender_id: Uuid,
    order_id: Uuid,
    source: &'static str,
) -> ServiceResult<()> {
    let observations = price_observation::Entity::find()
        .filter(price_observation::Column::TenderId.eq(tender_id))
        .filter(price_observation::Column::OrderId.eq(order_id))
        .filter(price_observation::Column::Source.eq(source))
        .all(txn)
        .await?;
    if observations.is_empty() {
        return Ok(());
    }
    let mut rollups: BTreeMap<RollupKey, Moments> = BTreeMap::new();
    for observation in &observations {
        let (price, quantity) = (from_stored(observation.unit_price_e4), from_stored(observation.quantity_e4));
        for (city, kecamatan) in
            [(observation.city.clone(), observation.kecamatan.clone()), (ALL_AREAS.to_owned(), ALL_AREAS.to_owned())]
        {
            rollups
                .entry((observation.commodity_id, source, observation.observed_on, city, kecamatan))
                .or_default()
                .add(price, quantity, observation.above_ceiling);
        }
    }
    let ids: Vec<Uuid> = observations.iter().map(|o| o.id).collect();
    for chunk in ids.chunks(500) {
        price_alert::Entity::delete_many()
            .filter(price_alert::Column::ObservationId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
        price_observation::Entity::delete_many()
            .filter(price_observation::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    for (key, moments) in &rollups {
        subtract_from_rollup(txn, key, moments).await?;
    }
    Ok(())
}

/// Subtracts `moments` from a day's rollup row; the lowest and highest prices are read again from the observations
/// that remain (a minimum cannot be subtracted), and a row left with no observations is removed.
async fn subtract_from_rollup(txn: &WriteTransaction, key: &RollupKey, moments: &Moments) -> ServiceResult<()> {
    let backend = txn.get_database_backend();
    let (commodity_id, source, day, city, kecamatan) = key;
    let all_areas = city == ALL_AREAS;
    let mut values: Vec<Value> = vec![
        i64::try_from(moments.count).unwrap_or(i64::MAX).into(),
        to_stored(moments.sum_price)?.into(),
        moments.sum_price_squared.into(),
        to_stored(moments.sum_quantity)?.into(),
        to_stored(moments.sum_amount)?.into(),
        i64::try_from(moments.count_above_ceiling).unwrap_or(i64::MAX).into(),
    ];
    // The remaining observations of the row, for MIN and MAX (twice: once for each).
    let observation_filter = if all_areas {
        "o.commodity_id = ? AND o.source = ? AND o.observed_on = ?"
    } else {
        "o.commodity_id = ? AND o.source = ? AND o.observed_on = ? AND o.city = ? AND o.kecamatan = ?"
    };
    for _ in 0..2 {
        values.extend([(*commodity_id).into(), (*source).into(), (*day).into()]);
        if !all_areas {
            values.extend([city.clone().into(), kecamatan.clone().into()]);
        }
    }
    let row_filter = "commodity_id = ? AND source = ? AND day = ? AND city = ? AND kecamatan = ?";
    let key_values: Vec<Value> =
        vec![(*commodity_id).into(), (*source).into(), (*day).into(), city.clone().into(), kecamatan.clone().into()];
    values.extend(key_values.iter().cloned());
    let update = format!(
        "UPDATE price_rollup SET observations = observations - ?, sum_price_e4 = sum_price_e4 - ?, \
         sum_price_squared = sum_price_squared - ?, sum_quantity_e4 = sum_quantity_e4 - ?, \
         sum_amount_e4 = sum_amount_e4 - ?, above_ceiling = above_ceiling - ?, \
         min_price_e4 = COALESCE((SELECT MIN(o.unit_price_e4) FROM price_observation o WHERE {observation_filter}), 0), \
         max_price_e4 = COALESCE((SELECT MAX(o.unit_price_e4) FROM price_observation o WHERE {observation_filter}), 0) \
         WHERE {row_filter}"
    );
    txn.execute_raw(Statement::from_sql_and_values(backend, numbered(backend, &update), values)).await?;
    let delete = format!("DELETE FROM price_rollup WHERE {row_filter} AND observations <= 0");
    txn.execute_raw(Statement::from_sql_and_values(backend, numbered(backend, &delete), key_values)).await?;
    Ok(())
}

/// `?` placeholders as the backend writes them (`$1`, `$2`, … on PostgreSQL).
fn numbered(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

async fn raise_alerts(
    txn: &WriteTransaction,
    events: &EventBus,
    now: DateTime<Utc>,
    alerts: &[price_alert::Model],
) -> ServiceResult<()> {
    if alerts.is_empty() {
        return Ok(());
    }
    let rows: Vec<price_alert::ActiveModel> = alerts
        .iter()
        .map(|a| price_alert::ActiveModel {
            id: Set(a.id),
            kind: Set(a.kind.clone()),
            commodity_id: Set(a.commodity_id),
            source: Set(a.source.clone()),
            city: Set(a.city.clone()),
            kecamatan: Set(a.kecamatan.clone()),
            observed_on: Set(a.observed_on),
            unit_price_e4: Set(a.unit_price_e4),
            ceiling_e4: Set(a.ceiling_e4),
            observation_id: Set(a.observation_id),
            tender_id: Set(a.tender_id),
            market_name: Set(a.market_name.clone()),
            created_at: Set(a.created_at),
        })
        .collect();
    for chunk in rows.chunks(500) {
        price_alert::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    let agencies: Vec<Uuid> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(organisation::Column::Kind.eq(OrganisationKind::Agency.as_str()))
        .into_tuple()
        .all(txn)
        .await?;
    let names: BTreeMap<Uuid, String> = commodity::Entity::find()
        .filter(commodity::Column::Id.is_in(alerts.iter().map(|a| a.commodity_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name_id))
        .collect();
    // One e-mail per commodity and recording (a day's survey may find several markets above the HET): the highest
    // price, and how many more there are. Every alert is its own live event.
    let mut by_commodity: BTreeMap<Uuid, Vec<&price_alert::Model>> = BTreeMap::new();
    for alert in alerts {
        by_commodity.entry(alert.commodity_id).or_default().push(alert);
    }
    for (commodity_id, found) in &by_commodity {
        let Some(highest) = found.iter().max_by_key(|a| a.unit_price_e4) else { continue };
        let place = format!("{}, {}", highest.kecamatan, highest.city);
        let notice = Notice::PriceAlert {
            commodity: names.get(commodity_id).cloned().unwrap_or_default(),
            area: if found.len() > 1 { format!("{place} (+{} lainnya/others)", found.len() - 1) } else { place },
            price: from_stored(highest.unit_price_e4),
            ceiling: from_stored(highest.ceiling_e4),
            day: highest.observed_on,
            source: highest.market_name.clone().unwrap_or_else(|| highest.source.to_lowercase()),
        };
        let id = highest.id.to_string();
        notification::mail_organisations(txn, now, &notice, &agencies, Subject { kind: "price_alert", id: &id })
            .await?;
    }
    for alert in alerts {
        let payload = json!({
            "kind": alert.kind,
            "commodityId": alert.commodity_id,
            "kecamatan": alert.kecamatan,
            "city": alert.city,
            "day": alert.observed_on,
            "price": from_stored(alert.unit_price_e4).to_string(),
            "ceiling": from_stored(alert.ceiling_e4).to_string(),
            "tenderId": alert.tender_id,
            "marketName": alert.market_name,
        });
        events.publish(txn, now, Topic::PriceAlert, alert.id, payload).await?;
    }
    Ok(())
}

/// The length of a period indicators are cut into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// The first day of the period holding `day` (weeks start on Monday).
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the period before the one starting at `start`.
    pub fn previous(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start - Duration::days(1),
            Self::Week => start - Duration::days(7),
            Self::Month => self.start_of(start - Duration::days(1)),
        }
    }
}

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

    fn check_survey(&self, input: &SurveyInput, commodities: &[commodity::Model]) -> ServiceResult<NewObservation> {
        let code = domain::commodity::commodity_code(&input.commodity_code)
            .map_err(|_| ServiceError::bad_input("commodityCode", "is not a commodity code"))?;
        let commodity = commodities
            .iter()
            .find(|c| c.code == code)
            .ok_or_else(|| ServiceError::bad_input("commodityCode", "no commodity has this code"))?;
        let price = UnitPrice::parse("price", input.price)?;
        let today = date_in_wib(self.clock.now());
        if input.date > today {
            return Err(ServiceError::bad_input("date", "a survey cannot be dated in the future"));
        }
        if input.date < today - Duration::days(366) {
            return Err(ServiceError::bad_input("date", "is more than a year ago"));
        }
        let noon_wib = input.date.and_hms_opt(5, 0, 0).unwrap_or_default().and_utc();
        Ok(NewObservation {
            commodity_id: commodity.id,
            source: SOURCE_SURVEY,
            province: input.province.as_deref().map(|p| bounded_text("province", p, 2, 100)).transpose()?,
            city: bounded_text("city", &input.city, 2, 100)?,
            kecamatan: bounded_text("kecamatan", &input.kecamatan, 2, 100)?,
            kelurahan: input.kelurahan.as_deref().map(|k| bounded_text("kelurahan", k, 2, 100)).transpose()?,
            observed_at: noon_wib,
            unit_price: price.value(),
            quantity: Decimal::ZERO,
            tender_id: None,
            order_id: None,
            market_name: Some(bounded_text("marketName", &input.market_name, 2, 120)?),
            recorded_by: None,
        })
    }

    /// Records market survey prices in one transaction; rows that do not parse are reported and the rest kept.
    pub async fn record_survey(
        &self,
        actor: &Actor,
        inputs: Vec<(usize, Result<SurveyInput, RejectedRow>)>,
    ) -> ServiceResult<(usize, Vec<RejectedRow>)> {
        actor.require(Permission::MonitorPrices)?;
        let commodities = commodity::Entity::find().all(&self.db).await?;
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for (line, input) in inputs {
            match input
                .and_then(|input| self.check_survey(&input, &commodities).map_err(|error| rejected_row(line, error)))
            {
                Ok(mut observation) => {
                    observation.recorded_by = Some(actor.user_id);
                    accepted.push(observation);
                }
                Err(row) => rejected.push(row),
            }
        }
        let count = accepted.len();
        if count > 0 {
            let now = self.clock.now();
            let txn = begin_write(&self.db).await?;
            record(&txn, &self.events, now, accepted).await?;
            let summary = json!({ "accepted": count, "rejected": rejected.len() });
            audit::record(
                &txn,
                now,
                AuditRecord::by(actor, "prices.survey_recorded", "price_survey", now.timestamp(), summary),
            )
            .await?;
            txn.commit().await?;
        }
        Ok((count, rejected))
    }

    /// Parses a day's survey as CSV (`commodity_code,market,kelurahan,kecamatan,city,date,price`, with a header row;
    /// an optional `province` column applies provincial HETs) and records it: one action for the whole file.
    pub async fn import_survey_csv(&self, actor: &Actor, text: &str) -> ServiceResult<(usize, Vec<RejectedRow>)> {
        actor.require(Permission::MonitorPrices)?;
        if text.len() > 5 * 1024 * 1024 {
            return Err(ServiceError::bad_input("csv", "a survey file is at most 5 MB"));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers =
            reader.headers().map_err(|_| ServiceError::bad_input("csv", "the first line must be a header"))?.clone();
        let expected = ["commodity_code", "market", "kelurahan", "kecamatan", "city", "date", "price", "province"];
        let position = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let columns: Vec<Option<usize>> = expected.iter().map(|name| position(name)).collect();
        if let Some(missing) = expected
            .iter()
            .zip(&columns)
            .find(|(name, column)| column.is_none() && !matches!(**name, "kelurahan" | "province"))
        {
            return Err(ServiceError::bad_input("csv", format!("the header lacks the column {}", missing.0)));
        }
        let mut rows = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let parsed = record
                .map_err(|e| RejectedRow { line, field: "csv".into(), message: e.to_string() })
                .and_then(|record| {
                    let cell = |i: usize| columns[i].and_then(|c| record.get(c)).unwrap_or("").to_owned();
                    let date = NaiveDate::parse_from_str(&cell(5), "%Y-%m-%d").map_err(|_| RejectedRow {
                        line,
                        field: "date".into(),
                        message: "must be a date like 2026-11-28".into(),
                    })?;
                    let price = parse_rupiah(&cell(6)).ok_or_else(|| RejectedRow {
                        line,
                        field: "price".into(),
                        message: "must be a number of rupiah, e.g. 1780 or 1.780".into(),
                    })?;
                    Ok(SurveyInput {
                        commodity_code: cell(0),
                        market_name: cell(1),
                        kelurahan: Some(cell(2)).filter(|k| !k.is_empty()),
                        kecamatan: cell(3),
                        city: cell(4),
                        province: Some(cell(7)).filter(|p| !p.is_empty()),
                        date,
                        price,
                    })
                });
            rows.push((line, parsed));
            if rows.len() > 50_000 {
                return Err(ServiceError::bad_input("csv", "a survey file holds at most 50,000 rows"));
            }
        }
        self.record_survey(actor, rows).await
    }

    /// The indicator table for one commodity, source and range, cut by period (and area when asked).
    pub async fn indicators(&self, actor: &Actor, query: &IndicatorQuery) -> ServiceResult<Vec<IndicatorRow>> {
        actor.require(Permission::MonitorPrices)?;
        self.indicator_rows(query).await
    }

    /// The rollups of a slice, summed per period (and per area when `each_area` or `kecamatan` is given) in the
    /// database: one row per period and area of the answer comes back, however many days lie in each period.
    #[allow(clippy::too_many_arguments)]
    async fn rollups(
        &self,
        commodity_id: Uuid,
        source: &str,
        from: NaiveDate,
        to: NaiveDate,
        kecamatan: Option<&str>,
        city: Option<&str>,
        each_area: bool,
        period: Period,
    ) -> ServiceResult<Vec<RollupRow>> {
        let backend = self.db.get_database_backend();
        let postgres = backend == DatabaseBackend::Postgres;
        let bucket = match (period, postgres) {
            (Period::Day, _) => "day",
            (Period::Week, true) => "CAST(date_trunc('week', day) AS DATE)",
            (Period::Month, true) => "CAST(date_trunc('month', day) AS DATE)",
            (Period::Week, false) => "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')",
            (Period::Month, false) => "strftime('%Y-%m-01', day)",
        };
        let mut values: Vec<Value> = vec![commodity_id.into(), source.into(), from.into(), to.into()];
        let area_filter = match (kecamatan, each_area) {
            (Some(kecamatan), _) => {
                values.push(kecamatan.into());
                "kecamatan = ?"
            }
            // A city's areas are summed from their own rows: the all-areas row spans every city.
            (None, _) if each_area || city.is_some() => "kecamatan <> '*'",
            (None, _) => "kecamatan = '*'",
        };
        let area_filter = match city {
            Some(city) => {
                values.push(city.into());
                format!("{area_filter} AND city = ?")
            }
            None => area_filter.to_owned(),
        };
        let sql = format!(
            "SELECT {bucket} AS day, city, kecamatan, CAST(SUM(observations) AS BIGINT) AS observations, \
             CAST(SUM(sum_price_e4) AS BIGINT) AS sum_price_e4, SUM(sum_price_squared) AS sum_price_squared, \
             MIN(min_price_e4) AS min_price_e4, MAX(max_price_e4) AS max_price_e4, \
             CAST(SUM(sum_quantity_e4) AS BIGINT) AS sum_quantity_e4, CAST(SUM(sum_amount_e4) AS BIGINT) AS sum_amount_e4, \
             CAST(SUM(above_ceiling) AS BIGINT) AS above_ceiling \
             FROM price_rollup WHERE commodity_id = ? AND source = ? AND day BETWEEN ? AND ? AND {area_filter} \
             GROUP BY {bucket}, city, kecamatan"
        );
        let sql = numbered(backend, &sql);
        let rows = self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        Ok(rows.iter().map(|row| RollupRow::from_query_result(row, "")).collect::<Result<_, _>>()?)
    }

    async fn indicator_rows(&self, query: &IndicatorQuery) -> ServiceResult<Vec<IndicatorRow>> {
        if query.from > query.to || query.to - query.from > Duration::days(3 * 366) {
            return Err(ServiceError::bad_input("to", "the range must run forwards and span at most three years"));
        }
        let commodity = self.commodity(&query.commodity_code).await?;
        let first = query.period.start_of(query.from);
        // One period more before the range, for the change of the first period.
        let reach_back = query.period.previous(first);
        let (kecamatan, city_filter) = (query.kecamatan.as_deref(), query.city.as_deref());
        let (source, period, by_area) = (query.source, query.period, query.by_area);
        let pooled =
            self.rollups(commodity.id, source, reach_back, query.to, kecamatan, city_filter, by_area, period).await?;
        let market = self
            .rollups(commodity.id, SOURCE_SURVEY, reach_back, query.to, kecamatan, city_filter, by_area, period)
            .await?;
        let key = |row: &RollupRow| {
            (
                query.period.start_of(row.day),
                (query.by_area || query.kecamatan.is_some()).then(|| (row.city.clone(), row.kecamatan.clone())),
            )
        };
        let mut groups: BTreeMap<(NaiveDate, Option<(String, String)>), Moments> = BTreeMap::new();
        for row in &pooled {
            groups.entry(key(row)).or_default().merge(&moments_of(row)?);
        }
        let mut market_groups: BTreeMap<(NaiveDate, Option<(String, String)>), Moments> = BTreeMap::new();
        for row in &market {
            market_groups.entry(key(row)).or_default().merge(&moments_of(row)?);
        }
        // Markets are surveyed in a few kecamatan: where an area has none, its market price is the whole city's.
        let mut market_everywhere: BTreeMap<NaiveDate, Moments> = BTreeMap::new();
        if query.by_area || query.kecamatan.is_some() {
            for row in self
                .rollups(commodity.id, SOURCE_SURVEY, reach_back, query.to, None, city_filter, false, period)
                .await?
            {
                market_everywhere.entry(query.period.start_of(row.day)).or_default().merge(&moments_of(&row)?);
            }
        }
        let references = price_reference::Entity::find()
            .filter(price_reference::Column::CommodityId.eq(commodity.id))
            .all(&self.db)
            .await?
            .iter()
            .map(to_domain)
            .collect::<ServiceResult<Vec<_>>>()?;
        let city = pooled.iter().find(|r| r.city != ALL_AREAS).map(|r| r.city.clone());
        let mut rows = Vec::new();
        for ((period_start, area), moments) in &groups {
            if *period_start < first {
                continue;
            }
            let place =
                Place { province: None, city: area.as_ref().map(|(city, _)| city.clone()).or_else(|| city.clone()) };
            let het = applicable_price(&references, PriceKind::Het, &place, *period_start);
            let reference = applicable_price(&references, PriceKind::Reference, &place, *period_start);
            let ceiling = het.or(reference);
            let market_mean = market_groups
                .get(&(*period_start, area.clone()))
                .and_then(Moments::mean)
                .or_else(|| market_everywhere.get(period_start).and_then(Moments::mean));
            let before = groups.get(&(query.period.previous(*period_start), area.clone()));
            let previous = before.and_then(Moments::mean);
            let cv = moments.coefficient_of_variation();
            let cv_change = cv.zip(before.and_then(Moments::coefficient_of_variation)).map(|(now, then)| now - then);
            let median = if query.with_median && moments.count <= MEDIAN_LIMIT {
                let end = next_period(query.period, *period_start) - Duration::days(1);
                let (city, kecamatan) = match area {
                    Some((city, kecamatan)) => (Some(city.as_str()), Some(kecamatan.as_str())),
                    None => (city_filter, None),
                };
                self.median(commodity.id, query.source, *period_start, end.min(query.to), city, kecamatan).await?
            } else {
                None
            };
            rows.push(IndicatorRow {
                period_start: *period_start,
                city: area.as_ref().map(|(city, _)| city.clone()),
                kecamatan: area.as_ref().map(|(_, kecamatan)| kecamatan.clone()),
                moments: *moments,
                median,
                market_mean,
                ceiling: ceiling.map(|c| c.price),
                ceiling_kind: ceiling.map(|c| c.kind),
                coefficient_of_variation: cv,
                cv_change,
                unstable: price_stats::is_unstable(cv, self.thresholds.cv_percent),
                change_percent: previous.zip(moments.mean()).and_then(|(p, c)| price_stats::percent_change(p, c)),
                savings: market_mean.or(reference.map(|r| r.price)).map(|price| moments.savings_against(price)),
            });
        }
        Ok(rows)
    }

    async fn median(
        &self,
        commodity_id: Uuid,
        source: &str,
        from: NaiveDate,
        to: NaiveDate,
        city: Option<&str>,
        kecamatan: Option<&str>,
    ) -> ServiceResult<Option<Decimal>> {
        let mut query = price_observation::Entity::find()
            .select_only()
            .column(price_observation::Column::UnitPriceE4)
            .filter(price_observation::Column::CommodityId.eq(commodity_id))
            .filter(price_observation::Column::Source.eq(source))
            .filter(price_observation::Column::ObservedOn.between(from, to));
        if let Some(city) = city {
            query = query.filter(price_observation::Column::City.eq(city));
        }
        if let Some(kecamatan) = kecamatan {
            query = query.filter(price_observation::Column::Kecamatan.eq(kecamatan));
        }
        let mut prices: Vec<Decimal> =
            query.into_tuple::<i64>().all(&self.db).await?.into_iter().map(from_stored).collect();
        Ok(price_stats::median(&mut prices))
    }

    /// What pooling saved against market (or reference) prices, per commodity over the range, with the grand total:
    /// (commodity, quantity, amount paid, savings). Commodities without a market or reference price are left out.
    pub async fn savings(
        &self,
        actor: &Actor,
        source: &'static str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<(Vec<(commodity::Model, Decimal, Decimal, Decimal)>, Decimal)> {
        actor.require(Permission::MonitorPrices)?;
        let mut per_commodity = Vec::new();
        let mut total = Decimal::ZERO;
        for commodity in commodity::Entity::find().order_by_asc(commodity::Column::Code).all(&self.db).await? {
            let query = IndicatorQuery {
                commodity_code: commodity.code.clone(),
                source,
                period: Period::Month,
                from,
                to,
                kecamatan: None,
                city: None,
                by_area: true,
                with_median: false,
            };
            let rows = self.indicator_rows(&query).await?;
            let saved: Vec<&IndicatorRow> = rows.iter().filter(|r| r.savings.is_some()).collect();
            if saved.is_empty() {
                continue;
            }
            let quantity: Decimal = saved.iter().map(|r| r.moments.sum_quantity).sum();
            let amount: Decimal = saved.iter().map(|r| r.moments.sum_amount).sum();
            let savings: Decimal = saved.iter().filter_map(|r| r.savings).sum();
            total += savings;
            per_commodity.push((commodity, quantity, amount, savings));
        }
        Ok((per_commodity, total))
    }

    /// The spread of mean prices across kecamatan, per period.
    pub async fn disparity(&self, actor: &Actor, query: &IndicatorQuery) -> ServiceResult<Vec<DisparityRow>> {
        actor.require(Permission::MonitorPrices)?;
        let by_area = IndicatorQuery { by_area: true, kecamatan: None, with_median: false, ..query.clone() };
        let rows = self.indicator_rows(&by_area).await?;
        let mut periods: BTreeMap<NaiveDate, Vec<Decimal>> = BTreeMap::new();
        for row in &rows {
            if let Some(mean) = row.moments.mean() {
                periods.entry(row.period_start).or_default().push(mean);
            }
        }
        Ok(periods
            .into_iter()
            .filter_map(|(period_start, means)| {
                Some(DisparityRow { period_start, disparity: price_stats::disparity(&means)? })
            })
            .collect())
    }

    /// The alert list for a range: prices above the HET (stored as they happen), and periods whose CV or change
    /// exceeds the office's thresholds, each with the tenders or markets behind it.
    pub async fn alerts(&self, actor: &Actor, query: &IndicatorQuery) -> ServiceResult<Vec<AlertRow>> {
        actor.require(Permission::MonitorPrices)?;
        let commodity = self.commodity(&query.commodity_code).await?;
        let mut alerts: Vec<AlertRow> = price_alert::Entity::find()
            .filter(price_alert::Column::CommodityId.eq(commodity.id))
            .filter(price_alert::Column::ObservedOn.between(query.from, query.to))
            .order_by_asc(price_alert::Column::ObservedOn)
            .order_by_asc(price_alert::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| AlertRow {
                kind: a.kind,
                commodity_id: a.commodity_id,
                day: a.observed_on,
                city: Some(a.city),
                kecamatan: Some(a.kecamatan),
                value: from_stored(a.unit_price_e4),
                threshold: from_stored(a.ceiling_e4),
                tender_ids: a.tender_id.into_iter().collect(),
                market_names: a.market_name.into_iter().collect(),
            })
            .collect();
        let by_area = IndicatorQuery { by_area: true, with_median: false, ..query.clone() };
        for row in self.indicator_rows(&by_area).await? {
            let mut found = Vec::new();
            if row.unstable {
                found.push(("UNSTABLE", row.coefficient_of_variation.unwrap_or_default(), self.thresholds.cv_percent));
            }
            if let Some(change) = row.change_percent.filter(|c| c.abs() > self.thresholds.change_percent) {
                found.push(("PRICE_CHANGE", change, self.thresholds.change_percent));
            }
            if found.is_empty() {
                continue;
            }
            let end = next_period(query.period, row.period_start) - Duration::days(1);
            let (tender_ids, market_names) = self
                .behind(
                    commodity.id,
                    query.source,
                    row.period_start,
                    end,
                    row.city.as_deref().or(query.city.as_deref()),
                    row.kecamatan.as_deref(),
                )
                .await?;
            for (kind, value, threshold) in found {
                alerts.push(AlertRow {
                    kind: kind.to_owned(),
                    commodity_id: commodity.id,
                    day: row.period_start,
                    city: row.city.clone(),
                    kecamatan: row.kecamatan.clone(),
                    value,
                    threshold,
                    tender_ids: tender_ids.clone(),
                    market_names: market_names.clone(),
                });
            }
        }
        Ok(alerts)
    }

    /// The tenders (and surveyed markets) behind a slice.
    async fn behind(
        &self,
        commodity_id: Uuid,
        source: &str,
        from: NaiveDate,
        to: NaiveDate,
        city: Option<&str>,
        kecamatan: Option<&str>,
    ) -> ServiceResult<(Vec<Uuid>, Vec<String>)> {
        let mut query = price_observation::Entity::find()
            .select_only()
            .column(price_observation::Column::TenderId)
            .column(price_observation::Column::MarketName)
            .distinct()
            .filter(price_observation::Column::CommodityId.eq(commodity_id))
            .filter(price_observation::Column::Source.is_in([source, SOURCE_SURVEY]))
            .filter(price_observation::Column::ObservedOn.between(from, to));
        if let Some(city) = city {
            query = query.filter(price_observation::Column::City.eq(city));
        }
        if let Some(kecamatan) = kecamatan {
            query = query.filter(price_observation::Column::Kecamatan.eq(kecamatan));
        }
        let rows: Vec<(Option<Uuid>, Option<String>)> = query.limit(200).into_tuple().all(&self.db).await?;
        let mut tenders: Vec<Uuid> = rows.iter().filter_map(|(t, _)| *t).collect();
        let mut markets: Vec<String> = rows.into_iter().filter_map(|(_, m)| m).collect();
        tenders.sort_unstable();
        tenders.dedup();
        markets.sort_unstable();
        markets.dedup();
        Ok((tenders, markets))
    }

    /// Publishes a commodity's mean pooled price for a month to every user.
    pub async fn publish_month(&self, actor: &Actor, commodity_code: &str, month: NaiveDate) -> ServiceResult<()> {
        actor.require(Permission::MonitorPrices)?;
        let commodity = self.commodity(commodity_code).await?;
        let month = Period::Month.start_of(month);
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        published_price::Entity::insert(published_price::ActiveModel {
            commodity_id: Set(commodity.id),
            month: Set(month),
            published_by: Set(actor.user_id),
            published_at: Set(now),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                published_price::Column::CommodityId,
                published_price::Column::Month,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let summary = json!({ "commodity": commodity.code, "month": month });
        audit::record(&txn, now, AuditRecord::by(actor, "prices.published", "commodity", commodity.id, summary))
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The published monthly pooled prices (quantity-weighted means): for every logged-in user. Returns (commodity,
    /// month, weighted mean, observations).
    pub async fn published(
        &self,
        actor: &Actor,
    ) -> ServiceResult<Vec<(commodity::Model, NaiveDate, Option<Decimal>, u64)>> {
        actor.require(Permission::ReadCatalogue)?;
        let published =
            published_price::Entity::find().order_by_asc(published_price::Column::Month).all(&self.db).await?;
        let commodities = commodity::Entity::find()
            .filter(commodity::Column::Id.is_in(published.iter().map(|p| p.commodity_id)))
            .all(&self.db)
            .await?;
        let mut out = Vec::new();
        for entry in published {
            let Some(commodity) = commodities.iter().find(|c| c.id == entry.commodity_id) else { continue };
            let end = next_period(Period::Month, entry.month) - Duration::days(1);
            let mut moments = Moments::default();
            for row in self
                .rollups(entry.commodity_id, SOURCE_AWARD, entry.month, end, None, None, false, Period::Month)
                .await?
            {
                moments.merge(&moments_of(&row)?);
            }
            // The pooled price is the quantity-weighted mean: a 5,372 kg line weighs more than an 88 kg one.
            out.push((commodity.clone(), entry.month, moments.weighted_mean(), moments.count));
        }
        Ok(out)
    }
}

fn next_period(period: Period, start: NaiveDate) -> NaiveDate {
    match period {
        Period::Day => start + Duration::days(1),
        Period::Week => start + Duration::days(7),
        Period::Month => (start + Duration::days(32)).with_day(1).unwrap_or(start),
    }
}

/// The columns of a rollup row an indicator needs (the key columns it filtered on are left out).
#[derive(Debug, FromQueryResult)]
struct RollupRow {
    day: NaiveDate,
    city: String,
    kecamatan: String,
    observations: i64,
    sum_price_e4: i64,
    sum_price_squared: f64,
    min_price_e4: i64,
    max_price_e4: i64,
    sum_quantity_e4: i64,
    sum_amount_e4: i64,
    above_ceiling: i64,
}

fn moments_of(row: &RollupRow) -> ServiceResult<Moments> {
    let count =
        |value: i64| u64::try_from(value).map_err(|_| ServiceError::internal("a stored rollup count is negative"));
    Ok(Moments {
        count: count(row.observations)?,
        sum_price: from_stored(row.sum_price_e4),
        sum_price_squared: row.sum_price_squared,
        min_price: Some(from_stored(row.min_price_e4)),
        max_price: Some(from_stored(row.max_price_e4)),
        sum_quantity: from_stored(row.sum_quantity_e4),
        sum_amount: from_stored(row.sum_amount_e4),
        count_above_ceiling: count(row.above_ceiling)?,
    })
}

/// A rupiah amount as surveys write it: `1780`, `1780.50`, or in Indonesian notation `Rp1.780` / `1.780,50`
/// (dots group thousands, a comma starts the decimals).
pub fn parse_rupiah(text: &str) -> Option<Decimal> {
    let text: String = text.trim().trim_start_matches("Rp").chars().filter(|c| !c.is_whitespace()).collect();
    let grouped = text.split('.').skip(1).all(|group| group.len() == 3 && group.chars().all(|c| c.is_ascii_digit()))
        && text.contains('.')
        && !text.contains(',');
    let normalised = if text.contains(',') || grouped { text.replace('.', "").replace(',', ".") } else { text };
    normalised.parse().ok()
}

fn rejected_row(line: usize, error: ServiceError) -> RejectedRow {
    match error {
        ServiceError::BadInput { field, message } => RejectedRow { line, field, message },
        other => RejectedRow { line, field: String::new(), message: other.to_string() },
    }
}

/// The sum of squares an observation adds, for tests and the load binary.
pub fn price_squared(price: Decimal) -> f64 {
    price.to_f64().unwrap_or(0.0).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn survey_prices_read_both_notations() {
        assert_eq!(parse_rupiah("1780"), Some(dec!(1780)));
        assert_eq!(parse_rupiah("1780.50"), Some(dec!(1780.50)));
        assert_eq!(parse_rupiah("1.780"), Some(dec!(1780)));
        assert_eq!(parse_rupiah("Rp 13.500"), Some(dec!(13500)));
        assert_eq!(parse_rupiah("1.780,5"), Some(dec!(1780.5)));
        assert_eq!(parse_rupiah("abc"), None);
        assert_eq!(parse_rupiah(""), None);
    }

    #[test]
    fn periods_start_on_mondays_and_first_days() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(Period::Week.start_of(day).to_string(), "2026-11-23");
        assert_eq!(Period::Month.start_of(day).to_string(), "2026-11-01");
        assert_eq!(Period::Month.previous(Period::Month.start_of(day)).to_string(), "2026-10-01");
        assert_eq!(next_period(Period::Month, Period::Month.start_of(day)).to_string(), "2026-12-01");
    }
}
