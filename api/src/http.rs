//! The HTTP surface: `/graphql` (POST, and GET for queries and GraphiQL), `/graphql/ws` (subscriptions), health,
//! readiness and metrics.

use std::{net::SocketAddr, time::Instant};

use async_graphql::{
    BatchRequest, Request as GraphqlRequest, Response as GraphqlResponse, ServerError, Variables,
    http::GraphiQLSource,
    parser::{parse_query, types::OperationType},
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::json;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::RequestBodyTimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};

pub use crate::state::AppState;
use crate::{
    exports,
    graphql::{
        error::{assign_missing_codes, cap_errors},
        guard::{ClientAddress, DecisionLedger},
        loaders::Loaders,
    },
    state::caller,
};

const REQUEST_ID: &str = "x-request-id";

/// The whole application as one axum router.
pub fn router(state: AppState) -> Router {
    let request_id = header::HeaderName::from_static(REQUEST_ID);
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(crate::live_socket::graphql_ws))
        .route("/exports/price-indicators.csv", get(exports::price_indicators_csv))
        .route("/exports/price-disparity.csv", get(exports::price_disparity_csv))
        .route("/exports/price-alerts.csv", get(exports::price_alerts_csv))
        .route("/exports/red-flags.csv", get(exports::red_flags_csv))
        .route("/exports/pooling-savings.csv", get(exports::pooling_savings_csv))
        .route("/exports/ocds.jsonl", get(exports::ocds_bulk))
        .route("/exports/ocds/{file}", get(exports::ocds_package))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(crate::console::routes(&state).layer(tower_http::compression::CompressionLayer::new()))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(RequestBodyTimeoutLayer::new(std::time::Duration::from_secs(state.settings.body_timeout_seconds.max(1))))
        .layer(middleware::from_fn_with_state(state.settings.max_body_bytes, refuse_declared_oversize))
        .layer(middleware::from_fn(record_metrics))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "internal error")
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // Only the path: a query string may carry a GraphQL document and its variables.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(middleware::from_fn(drop_unusable_request_id))
        .with_state(state)
}

/// Refuses a body whose declared length is over the limit before reading any of it: the client gets 413 at once
/// (also instead of `100 Continue` when it asked `Expect: 100-continue`), and no connection waits for 50 MB to arrive.
async fn refuse_declared_oversize(State(max_body_bytes): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > u64::try_from(max_body_bytes).unwrap_or(u64::MAX)) {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!("the body may be at most {max_body_bytes} bytes"),
        );
    }
    next.run(request).await
}

/// Whether reading the body failed because the body timeout passed (the timeout layer's error, somewhere in the
/// rejection's chain of causes).
fn timed_out(rejection: &axum::extract::rejection::BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The longest client request id kept; a longer one, or one with anything but letters, digits and `-_.:`, is replaced
/// by the server's own (it lands in every log line of the request and is echoed back).
const MAX_REQUEST_ID_LENGTH: usize = 64;

async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let usable = request.headers().get(REQUEST_ID).is_none_or(|value| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LENGTH
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !usable {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

/// Whether a `Content-Type` names one of the JSON media types a GraphQL request may use (parameters such as
/// `charset` aside), matched whole, not by prefix.
fn is_json_media_type(value: &str) -> bool {
    let media_type = value.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json")
        || media_type.eq_ignore_ascii_case("application/graphql-response+json")
}

/// A GraphQL-shaped error body with a code, for refusals that happen before the schema runs.
fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "data": null, "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

async fn execute(state: &AppState, headers: &HeaderMap, request: GraphqlRequest) -> Response {
    let (caller, session) = caller(&state.services, headers).await;
    let mut request = request.data(caller).data(DecisionLedger::default()).data(Loaders::new(&state.services));
    if let Some(session) = session {
        request = request.data(session);
    }
    let mut response: GraphqlResponse = state.schema.execute(request).await;
    assign_missing_codes(&mut response);
    cap_errors(&mut response);
    for error in &response.errors {
        let code = error_code(error);
        metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
    Json(response).into_response()
}

fn error_code(error: &ServerError) -> String {
    error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .map(|code| code.to_string().trim_matches('"').to_owned())
        .unwrap_or_default()
}

async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        // The body did not arrive in time (see `LUMBUNG_BODY_TIMEOUT_SECONDS`), or broke off.
        Err(rejection) if timed_out(&rejection) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "the request body did not arrive in time",
            );
        }
        Err(rejection) => {
            let status = rejection.status();
            return error_response(status, "BAD_REQUEST", &rejection.body_text());
        }
    };
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json_media_type);
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the GraphQL request as JSON (Content-Type: application/json)",
        );
    }
    let request = match serde_json::from_slice::<BatchRequest>(&body) {
        Ok(BatchRequest::Single(request)) => request,
        Ok(BatchRequest::Batch(mut requests)) if requests.len() == 1 => requests.remove(0),
        Ok(BatchRequest::Batch(_)) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BATCH_NOT_ALLOWED",
                "send one operation per request; batches are not accepted",
            );
        }
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the body is not a GraphQL request: expected {\"query\": ..., \"variables\": ...}",
            );
        }
    };
    execute(&state, &headers, request.data(ClientAddress(peer.ip()))).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParameters {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
}

/// GET runs queries only, so that a link or an image tag can never change anything; without a query it serves
/// GraphiQL in development.
async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(parameters): Query<GetParameters>,
) -> Response {
    let Some(query) = parameters.query else {
        if state.settings.is_production() {
            return error_response(StatusCode::NOT_FOUND, "NOT_FOUND", "send GraphQL requests with POST");
        }
        return Html(GraphiQLSource::build().endpoint("/graphql").title("Lumbung GraphQL").finish()).into_response();
    };
    let Ok(document) = parse_query(&query) else {
        return error_response(StatusCode::BAD_REQUEST, "GRAPHQL_PARSE_FAILED", "the query does not parse");
    };
    let only_queries = match parameters.operation_name.as_deref() {
        Some(name) => document
            .operations
            .iter()
            .any(|(op_name, op)| op_name.map(|n| n.as_str()) == Some(name) && op.node.ty == OperationType::Query),
        None => document.operations.iter().all(|(_, op)| op.node.ty == OperationType::Query),
    };
    if !only_queries {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "mutations and subscriptions must be sent with POST",
        );
    }
    let mut request = GraphqlRequest::new(query);
    if let Some(name) = parameters.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = parameters.variables {
        match serde_json::from_str::<serde_json::Value>(&variables) {
            Ok(value) => request = request.variables(Variables::from_json(value)),
            Err(_) => {
                return error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", "variables must be a JSON object");
            }
        }
    }
    execute(&state, &headers, request.data(ClientAddress(peer.ip()))).await
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers; load balancers stop sending traffic while it does not.
async fn readyz(State(state): State<AppState>) -> Response {
    let backend = infra::db::backend_name(&state.services.db);
    if infra::db::ping(&state.services.db).await {
        Json(json!({ "status": "ready", "database": backend })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": backend }))).into_response()
    }
}

/// The method as a metrics label: the standard ones by name, anything else `OTHER`, so that no client can grow the
/// label set (a new method name would otherwise be a new series each).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// Whether the caller may read `/metrics`: anyone in development; in production only with
/// `Authorization: Bearer <LUMBUNG_METRICS_TOKEN>`, and nobody when no token is configured (the route then does not
/// exist for the public).
fn may_read_metrics(state: &AppState, headers: &HeaderMap) -> Result<(), StatusCode> {
    if !state.settings.is_production() {
        return Ok(());
    }
    let Some(expected) = state.settings.metrics_token.as_deref() else {
        return Err(StatusCode::NOT_FOUND);
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests: equal length, so the comparison time says nothing about the token.
    use sha2::{Digest, Sha256};
    if Sha256::digest(presented.as_bytes()) == Sha256::digest(expected.as_bytes()) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

async fn metrics_text(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(status) = may_read_metrics(&state, &headers) {
        return status.into_response();
    }
    let mut text = state.metrics.render();
    text.push_str(&format!(
        "# TYPE db_statements_total counter\ndb_statements_total {}\n",
        state.services.queries.get()
    ));
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let path =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method()).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "path" => path)
        .record(started.elapsed().as_secs_f64());
    response
}
