//! The office's market survey: one price by hand, or a day's survey as CSV with each bad row reported.

use super::*;

impl PriceService {
    pub(super) fn check_survey(
        &self,
        input: &SurveyInput,
        commodities: &[commodity::Model],
    ) -> ServiceResult<NewObservation> {
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
                    let price = domain::money::parse_rupiah(&cell(6)).ok_or_else(|| RejectedRow {
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
}

fn rejected_row(line: usize, error: ServiceError) -> RejectedRow {
    match error {
        ServiceError::BadInput { field, message } => RejectedRow { line, field, message },
        other => RejectedRow { line, field: String::new(), message: other.to_string() },
    }
}
