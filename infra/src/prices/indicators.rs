//! What a period shows: indicators from the rollups, medians from the observations, savings, disparity, alerts.

use super::*;

impl PriceService {
    /// The indicator table for one commodity, source and range, cut by period (and area when asked).
    pub async fn indicators(&self, actor: &Actor, query: &IndicatorQuery) -> ServiceResult<Vec<IndicatorRow>> {
        actor.require(Permission::MonitorPrices)?;
        self.indicator_rows(query).await
    }

    /// The rollups of a slice, summed per period (and per area when `each_area` or `kecamatan` is given) in the
    /// database: one row per period and area of the answer comes back, however many days lie in each period.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn rollups(
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
        let sql = crate::db::numbered_placeholders(backend, &sql);
        let rows = self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        Ok(rows.iter().map(|row| RollupRow::from_query_result(row, "")).collect::<Result<_, _>>()?)
    }

    pub(super) async fn indicator_rows(&self, query: &IndicatorQuery) -> ServiceResult<Vec<IndicatorRow>> {
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
                let end = query.period.last_day(*period_start);
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

    pub(super) async fn median(
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
            let end = query.period.last_day(row.period_start);
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
    pub(super) async fn behind(
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
}

/// The columns of a rollup row an indicator needs (the key columns it filtered on are left out).
#[derive(Debug, FromQueryResult)]
pub(super) struct RollupRow {
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

pub(super) fn moments_of(row: &RollupRow) -> ServiceResult<Moments> {
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
