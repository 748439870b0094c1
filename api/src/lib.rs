//! The `lumbung` server: HTTP (axum), the GraphQL schema (async-graphql) and start-up.

pub mod exports;
pub mod graphql;
pub mod http;
pub mod startup;
pub mod state;
pub mod telemetry;
