//! Price monitoring: observations (awards, deliveries, market surveys), their daily rollups, stored alerts, and the
//! aggregates the agency publishes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{foreign_key, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000005_prices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("price_observation")
                    .col(pk_uuid("id"))
                    .col(uuid("commodity_id"))
                    // AWARD, DELIVERY or SURVEY.
                    .col(string_len("source", 12))
                    .col(string_len("city", 100))
                    .col(string_len("kecamatan", 100))
                    .col(string_len_null("kelurahan", 100))
                    .col(timestamp_with_time_zone("observed_at"))
                    // The day in WIB, which periods are cut by.
                    .col(date("observed_on"))
                    .col(big_integer("unit_price_e4"))
                    .col(big_integer("quantity_e4"))
                    .col(big_integer_null("ceiling_e4"))
                    .col(boolean("above_ceiling"))
                    .col(uuid_null("tender_id"))
                    .col(uuid_null("order_id"))
                    .col(string_len_null("market_name", 120))
                    .col(uuid_null("recorded_by"))
                    .foreign_key(&mut foreign_key("price_observation", "commodity_id", "commodity"))
                    .to_owned(),
            )
            .await?;
        // Indicator queries read one commodity and source over a range of days (and, for medians, one area).
        manager
            .create_index(index("price_observation", &["commodity_id", "source", "observed_on", "kecamatan"]))
            .await?;
        manager.create_index(index("price_observation", &["tender_id"])).await?;

        // One row per commodity, source, area and day: every indicator of a period combines these.
        manager
            .create_table(
                Table::create()
                    .table("price_rollup")
                    .col(uuid("commodity_id"))
                    .col(string_len("source", 12))
                    .col(string_len("city", 100))
                    .col(string_len("kecamatan", 100))
                    .col(date("day"))
                    .col(big_integer("observations"))
                    .col(big_integer("sum_price_e4"))
                    .col(double("sum_price_squared"))
                    .col(big_integer("min_price_e4"))
                    .col(big_integer("max_price_e4"))
                    .col(big_integer("sum_quantity_e4"))
                    .col(big_integer("sum_amount_e4"))
                    .col(big_integer("above_ceiling"))
                    .primary_key(
                        Index::create().col("commodity_id").col("source").col("day").col("city").col("kecamatan"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("price_alert")
                    .col(pk_uuid("id"))
                    .col(string_len("kind", 24))
                    .col(uuid("commodity_id"))
                    .col(string_len("source", 12))
                    .col(string_len("city", 100))
                    .col(string_len("kecamatan", 100))
                    .col(date("observed_on"))
                    .col(big_integer("unit_price_e4"))
                    .col(big_integer("ceiling_e4"))
                    .col(uuid("observation_id"))
                    .col(uuid_null("tender_id"))
                    .col(string_len_null("market_name", 120))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("price_alert", &["observed_on"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("published_price")
                    .col(uuid("commodity_id"))
                    .col(date("month"))
                    .col(uuid("published_by"))
                    .col(timestamp_with_time_zone("published_at"))
                    .primary_key(Index::create().col("commodity_id").col("month"))
                    .foreign_key(&mut foreign_key("published_price", "commodity_id", "commodity"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["published_price", "price_alert", "price_rollup", "price_observation"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
