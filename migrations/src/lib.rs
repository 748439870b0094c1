//! The single definition of Lumbung's database shape, for SQLite and PostgreSQL alike.
//!
//! Conventions every table follows:
//! - identifiers are UUID v7 (time-ordered, so keyset pagination by id follows creation order);
//! - instants are stored in UTC;
//! - money and quantities are exact fixed-point integers in ten-thousandths (columns ending `_e4`), because
//!   SQLite has no exact decimal type and sea-query would bind a `Decimal` there as a float.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261128_000001_foundation;
mod m20261128_000002_tendering;
mod m20261128_000003_ordering;
mod m20261128_000004_notifications;
mod m20261128_000005_prices;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_foundation::Migration),
            Box::new(m20261128_000002_tendering::Migration),
            Box::new(m20261128_000003_ordering::Migration),
            Box::new(m20261128_000004_notifications::Migration),
            Box::new(m20261128_000005_prices::Migration),
        ]
    }
}
