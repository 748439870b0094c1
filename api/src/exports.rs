//! Downloads: every indicator table as CSV, and the OCDS open-data export. Each handler authenticates the caller
//! from the `Authorization` header and leaves the authorisation decision to the use case it calls (the same one the
//! GraphQL field calls), so a download can show nothing its query would not.

use axum::{
    Json,
    extract::{FromRequestParts, Path, Query, State},
    http::request::Parts,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::access::Actor;
use infra::{
    ServiceError,
    prices::{IndicatorQuery, Period},
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    graphql::guard::Caller,
    state::{AppState, caller},
};

fn refusal(error: &ServiceError) -> Response {
    let status = match error {
        ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::BadInput { .. } => StatusCode::BAD_REQUEST,
        ServiceError::Conflict(_) | ServiceError::DeadlinePassed(_) => StatusCode::CONFLICT,
        ServiceError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if matches!(error, ServiceError::Internal(_)) {
        tracing::error!(error = ?error, "export failed");
    }
    let body = json!({ "errors": [{ "message": error.to_string(), "extensions": { "code": error.code() } }] });
    (status, Json(body)).into_response()
}

/// A download's query string, refused as the API refuses bad input (JSON with a code), not as plain text.
pub struct Parameters<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Parameters<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(refusal(&ServiceError::bad_input("query", rejection.body_text()))),
        }
    }
}

async fn actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    match caller(&state.services, headers).await.0 {
        Caller::Actor(actor) => Ok(actor),
        Caller::Unavailable => {
            Err(refusal(&ServiceError::Unavailable(anyhow::anyhow!("the caller could not be loaded"))))
        }
        Caller::Rejected(reason) => Err(refusal(&ServiceError::Unauthenticated(reason))),
        Caller::Anonymous => Err(refusal(&ServiceError::Unauthenticated(
            "log in first: send `Authorization: Bearer <access token>`".into(),
        ))),
    }
}

fn attachment(content_type: &'static str, filename: &str, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Authenticates the caller, runs `make` as them and sends what it wrote as a download, or the refusal.
async fn download<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    content_type: &'static str,
    filename: &str,
    make: F,
) -> Response
where
    F: FnOnce(Actor) -> Fut,
    Fut: std::future::Future<Output = Result<String, ServiceError>>,
{
    let actor = match actor(state, headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    match make(actor).await {
        Ok(body) => attachment(content_type, filename, body),
        Err(error) => refusal(&error),
    }
}

const CSV: &str = "text/csv; charset=utf-8";

fn csv_text(header: &[&str], rows: Vec<Vec<String>>) -> Result<String, ServiceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(|e| ServiceError::internal(e.to_string()))?;
    for row in rows {
        writer.write_record(row).map_err(|e| ServiceError::internal(e.to_string()))?;
    }
    let bytes = writer.into_inner().map_err(|e| ServiceError::internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ServiceError::internal(e.to_string()))
}

fn cell<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceParameters {
    commodity_code: String,
    #[serde(default)]
    period: Option<String>,
    from: NaiveDate,
    to: NaiveDate,
    kecamatan: Option<String>,
    city: Option<String>,
    #[serde(default)]
    by_area: bool,
    source: Option<String>,
}

impl PriceParameters {
    fn query(&self) -> Result<IndicatorQuery, ServiceError> {
        let period = match self.period.as_deref().unwrap_or("MONTH") {
            "DAY" => Period::Day,
            "WEEK" => Period::Week,
            "MONTH" => Period::Month,
            _ => return Err(ServiceError::bad_input("period", "must be DAY, WEEK or MONTH")),
        };
        let source = match self.source.as_deref().unwrap_or("AWARD") {
            "AWARD" => infra::prices::SOURCE_AWARD,
            "DELIVERY" => infra::prices::SOURCE_DELIVERY,
            "MARKET" => infra::prices::SOURCE_SURVEY,
            _ => return Err(ServiceError::bad_input("source", "must be AWARD, DELIVERY or MARKET")),
        };
        Ok(IndicatorQuery {
            commodity_code: self.commodity_code.clone(),
            source,
            period,
            from: self.from,
            to: self.to,
            kecamatan: self.kecamatan.clone(),
            city: self.city.clone(),
            by_area: self.by_area,
            with_median: true,
        })
    }
}

/// `GET /exports/price-indicators.csv`: the indicator table with the query's parameters.
pub async fn price_indicators_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Parameters(parameters): Parameters<PriceParameters>,
) -> Response {
    let services = &state.services;
    download(&state, &headers, CSV, "price-indicators.csv", |actor| async move {
        let query = parameters.query()?;
        let rows = services.prices.indicators(&actor, &query).await?;
        csv_text(
            &[
                "period_start",
                "city",
                "kecamatan",
                "count",
                "min",
                "max",
                "mean",
                "median",
                "weighted_mean",
                "quantity",
                "market_mean",
                "coefficient_of_variation",
                "cv_change",
                "unstable",
                "change_percent",
                "ceiling",
                "ratio_to_ceiling",
                "share_above_ceiling",
                "savings",
            ],
            rows.iter()
                .map(|row| {
                    vec![
                        row.period_start.to_string(),
                        cell(row.city.as_ref()),
                        cell(row.kecamatan.as_ref()),
                        row.moments.count.to_string(),
                        cell(row.moments.min_price),
                        cell(row.moments.max_price),
                        cell(row.moments.mean()),
                        cell(row.median),
                        cell(row.moments.weighted_mean()),
                        row.moments.sum_quantity.normalize().to_string(),
                        cell(row.market_mean),
                        cell(row.coefficient_of_variation),
                        cell(row.cv_change),
                        row.unstable.to_string(),
                        cell(row.change_percent),
                        cell(row.ceiling),
                        cell(row.ratio_to_ceiling()),
                        cell(row.moments.share_above_ceiling()),
                        cell(row.savings),
                    ]
                })
                .collect(),
        )
    })
    .await
}

/// `GET /exports/price-disparity.csv`.
pub async fn price_disparity_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Parameters(parameters): Parameters<PriceParameters>,
) -> Response {
    let services = &state.services;
    download(&state, &headers, CSV, "price-disparity.csv", |actor| async move {
        let rows = services.prices.disparity(&actor, &parameters.query()?).await?;
        csv_text(
            &["period_start", "areas", "lowest_mean", "highest_mean", "spread_percent", "coefficient_of_variation"],
            rows.iter()
                .map(|row| {
                    let d = &row.disparity;
                    vec![
                        row.period_start.to_string(),
                        d.areas.to_string(),
                        d.lowest_mean.to_string(),
                        d.highest_mean.to_string(),
                        d.spread_percent.to_string(),
                        cell(d.coefficient_of_variation),
                    ]
                })
                .collect(),
        )
    })
    .await
}

/// `GET /exports/price-alerts.csv`.
pub async fn price_alerts_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Parameters(parameters): Parameters<PriceParameters>,
) -> Response {
    let services = &state.services;
    download(&state, &headers, CSV, "price-alerts.csv", |actor| async move {
        let rows = services.prices.alerts(&actor, &parameters.query()?).await?;
        csv_text(
            &["kind", "day", "city", "kecamatan", "value", "threshold", "tender_ids", "market_names"],
            rows.iter()
                .map(|row| {
                    vec![
                        row.kind.clone(),
                        row.day.to_string(),
                        cell(row.city.as_ref()),
                        cell(row.kecamatan.as_ref()),
                        row.value.to_string(),
                        row.threshold.to_string(),
                        row.tender_ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(" "),
                        row.market_names.join("; "),
                    ]
                })
                .collect(),
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct SavingsParameters {
    from: NaiveDate,
    to: NaiveDate,
    source: Option<String>,
}

/// `GET /exports/pooling-savings.csv?from=&to=`: what pooling saved per commodity, and the total.
pub async fn pooling_savings_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Parameters(parameters): Parameters<SavingsParameters>,
) -> Response {
    let services = &state.services;
    download(&state, &headers, CSV, "pooling-savings.csv", |actor| async move {
        let source = match parameters.source.as_deref().unwrap_or("AWARD") {
            "AWARD" => infra::prices::SOURCE_AWARD,
            "DELIVERY" => infra::prices::SOURCE_DELIVERY,
            _ => return Err(ServiceError::bad_input("source", "must be AWARD or DELIVERY")),
        };
        let (rows, total) = services.prices.savings(&actor, source, parameters.from, parameters.to).await?;
        let mut lines: Vec<Vec<String>> = rows
            .into_iter()
            .map(|(commodity, quantity, amount, savings)| {
                vec![
                    commodity.code,
                    quantity.normalize().to_string(),
                    amount.round_dp(2).to_string(),
                    savings.to_string(),
                ]
            })
            .collect();
        lines.push(vec!["TOTAL".into(), String::new(), String::new(), total.to_string()]);
        csv_text(&["commodity_code", "quantity", "amount_paid", "savings"], lines)
    })
    .await
}

#[derive(Deserialize)]
pub struct RangeParameters {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
}

/// `GET /exports/red-flags.csv?from=&to=`: each tender's flags, one row per tender and flag that could be computed.
pub async fn red_flags_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Parameters(parameters): Parameters<RangeParameters>,
) -> Response {
    let services = &state.services;
    download(&state, &headers, CSV, "red-flags.csv", |actor| async move {
        let report = services.red_flags.report(&actor, parameters.from, parameters.to).await?;
        let mut rows = Vec::new();
        for tender in &report.tenders {
            for (flag, fired) in &tender.flags {
                rows.push(vec![
                    tender.tender_id.to_string(),
                    tender.title.clone(),
                    flag.code().to_owned(),
                    fired.to_string(),
                ]);
            }
        }
        csv_text(&["tender_id", "title", "flag", "fired"], rows)
    })
    .await
}

/// `GET /exports/ocds/{tenderId}.json`: the tender's OCDS release package.
pub async fn ocds_package(State(state): State<AppState>, headers: HeaderMap, Path(file): Path<String>) -> Response {
    let (services, name) = (&state.services, file.clone());
    download(&state, &headers, "application/json", &name, |actor| async move {
        let id = file
            .strip_suffix(".json")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| ServiceError::bad_input("tenderId", "is not a valid id"))?;
        Ok(services.open_data.release_package(&actor, id).await?.to_string())
    })
    .await
}

/// `GET /exports/ocds.jsonl?since=`: one release package per line for every tender (changed since the instant).
pub async fn ocds_bulk(
    State(state): State<AppState>,
    headers: HeaderMap,
    Parameters(parameters): Parameters<RangeParameters>,
) -> Response {
    let services = &state.services;
    download(&state, &headers, "application/x-ndjson", "lumbung-ocds.jsonl", |actor| async move {
        services.open_data.bulk(&actor, parameters.since).await
    })
    .await
}
