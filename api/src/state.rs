//! What every handler shares, and who is calling: used by the GraphQL handlers and the downloads alike.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use infra::{ServiceError, config::Settings, services::Services};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::graphql::{
    LumbungSchema, build_schema,
    guard::{Caller, CallerSession},
};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub schema: LumbungSchema,
    pub services: Services,
    pub settings: Arc<Settings>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn new(services: Services, settings: Settings, metrics: PrometheusHandle) -> Self {
        let schema = build_schema(services.clone(), &settings.graphql, settings.is_production());
        Self { schema, services, settings: Arc::new(settings), metrics }
    }
}

/// The caller named by the request's `Authorization` header, and their session.
pub(crate) async fn caller(services: &Services, headers: &HeaderMap) -> (Caller, Option<CallerSession>) {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return (Caller::Anonymous, None);
    };
    let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim) else {
        return (Caller::Rejected("the Authorization header must be `Bearer <access token>`".into()), None);
    };
    caller_of_token(services, token).await
}

/// The caller behind an access token, checked against its session (from this node's session cache).
pub(crate) async fn caller_of_token(services: &Services, token: &str) -> (Caller, Option<CallerSession>) {
    match services.identity.authenticate(token).await {
        Ok(authenticated) => (Caller::Actor(authenticated.actor), Some(CallerSession(authenticated.session_id))),
        Err(ServiceError::Unavailable(_) | ServiceError::Internal(_)) => (Caller::Unavailable, None),
        Err(error) => (Caller::Rejected(error.to_string()), None),
    }
}
