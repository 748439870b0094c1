//! End-to-end tests: each starts the real server with a fresh database and talks GraphQL over HTTP.
//! Run on SQLite by default; set `TEST_DATABASE_URL=postgres://…/test` to run the same tests on PostgreSQL.

mod auth;
mod authorisation;
mod awards;
mod catalogue;
mod console;
mod conventions;
mod costs;
mod guards;
mod hostile_input;
mod live;
mod notifications;
mod ordering;
mod organisations;
mod prices;
mod sessions;
mod tendering;
