//! The GraphQL schema, split by feature: each module owns its types, queries and mutations.

pub mod audit;
pub mod catalogue;
pub mod error;
pub mod guard;
pub mod identity;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod notifications;
pub mod open_data;
pub mod ordering;
pub mod organisation;
pub mod pagination;
pub mod pooling;
pub mod prices;
pub mod tendering;

use async_graphql::{ID, MergedObject, SDLExportOptions, Schema, SchemaBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use infra::{ServiceError, config::GraphqlLimits, services::Services};
use uuid::Uuid;

use self::{
    audit::AuditQuery,
    catalogue::{CatalogueMutation, CatalogueQuery},
    error::to_graphql,
    guard::AuthorisationAudit,
    identity::{IdentityMutation, IdentityQuery},
    limits::QueryShapeLimits,
    live::Subscription,
    notifications::{NotificationMutation, NotificationQuery},
    open_data::OpenDataQuery,
    ordering::{OrderingMutation, OrderingQuery},
    organisation::{OrganisationMutation, OrganisationQuery},
    pagination::MaxPageSize,
    pooling::{PoolingMutation, PoolingQuery},
    prices::{PriceMutation, PriceQuery},
    tendering::{TenderingMutation, TenderingQuery},
};

#[derive(MergedObject, Default)]
pub struct Query(
    IdentityQuery,
    OrganisationQuery,
    CatalogueQuery,
    AuditQuery,
    PoolingQuery,
    TenderingQuery,
    OrderingQuery,
    NotificationQuery,
    PriceQuery,
    OpenDataQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    OrganisationMutation,
    CatalogueMutation,
    PoolingMutation,
    TenderingMutation,
    OrderingMutation,
    NotificationMutation,
    PriceMutation,
);

pub type LumbungSchema = Schema<Query, Mutation, Subscription>;

/// The one schema definition, used by `serve` and `export-schema` alike.
pub fn schema_builder(limits: &GraphqlLimits, production: bool) -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(limits.max_recursive_depth)
        .limit_directives(limits.max_directives_per_field)
        .extension(QueryShapeLimits { max_aliases: limits.max_aliases, max_fields: limits.max_fields })
        .extension(AuthorisationAudit)
        .data(MaxPageSize(limits.max_page_size));
    if production { builder.disable_introspection().disable_suggestions() } else { builder }
}

/// The schema wired to the use cases.
pub fn build_schema(services: Services, limits: &GraphqlLimits, production: bool) -> LumbungSchema {
    schema_builder(limits, production).data(services).finish()
}

/// The SDL, with fields and enum items sorted so that the committed `schema.graphql` diffs cleanly.
pub fn sdl(limits: &GraphqlLimits) -> String {
    schema_builder(limits, false).finish().sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}

/// Parses an `ID` argument, refusing malformed ones with `BAD_USER_INPUT`.
pub fn parse_id(field: &str, id: &ID) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| to_graphql(ServiceError::bad_input(field, "is not a valid id")))
}

/// Today in Jakarta (WIB), for defaults that people read as "today".
pub fn today_in_jakarta(now: DateTime<Utc>) -> NaiveDate {
    domain::clock::date_in_wib(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed SDL must follow the code, so that clients and reviewers read the real API.
    #[test]
    fn committed_schema_matches_the_code() {
        let limits = infra::config::Settings::from_lookup(|_| None).unwrap().graphql;
        let built = sdl(&limits);
        let committed =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap_or_default();
        assert!(
            committed == built,
            "schema.graphql differs from the schema the code builds; regenerate it with:\n    cargo run -p lumbung-api -- export-schema > schema.graphql"
        );
    }
}
