//! What every handler shares, and who is calling: used by the GraphQL handlers and the downloads alike.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use infra::{ServiceError, config::Settings, services::Services};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::graphql::{LumbungSchema, build_schema, guard::Caller};

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

/// The caller named by the request's `Authorization` header.
pub(crate) async fn caller(services: &Services, headers: &HeaderMap) -> Caller {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Caller::Anonymous;
    };
    let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim) else {
        return Caller::Rejected("the Authorization header must be `Bearer <access token>`".into());
    };
    match services.identity.actor_for_access_token(token).await {
        Ok(actor) => Caller::Actor(actor),
        Err(ServiceError::Unavailable(_) | ServiceError::Internal(_)) => Caller::Unavailable,
        Err(error) => Caller::Rejected(error.to_string()),
    }
}
