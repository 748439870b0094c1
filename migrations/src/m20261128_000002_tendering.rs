//! Demand pools, RDKK allocations, demand lines, tenders, lots, sealed bids and their history, awards and
//! idempotency keys.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{foreign_key, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000002_tendering"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("demand_pool")
                    .col(pk_uuid("id"))
                    .col(uuid("commodity_id"))
                    .col(string_len_null("province", 80))
                    .col(string_len("city", 80))
                    // JSON array of kecamatan names; empty means the whole city.
                    .col(text("kecamatans"))
                    .col(string_len_null("season", 32))
                    .col(date("delivery_first_day"))
                    .col(date("delivery_last_day"))
                    .col(timestamp_with_time_zone("cutoff_at"))
                    .col(string_len("status", 16))
                    .col(text_null("cancel_reason"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut foreign_key("demand_pool", "commodity_id", "commodity"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("demand_pool", &["status", "cutoff_at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("fertiliser_allocation")
                    .col(pk_uuid("id"))
                    .col(uuid("cooperative_id"))
                    .col(uuid("commodity_id"))
                    .col(string_len("season", 32))
                    .col(big_integer("quantity_e4"))
                    .col(uuid("recorded_by"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .foreign_key(&mut foreign_key("fertiliser_allocation", "cooperative_id", "organisation"))
                    .foreign_key(&mut foreign_key("fertiliser_allocation", "commodity_id", "commodity"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("fertiliser_allocation", &["cooperative_id", "commodity_id", "season"]).unique().to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("demand_line")
                    .col(pk_uuid("id"))
                    .col(uuid("pool_id"))
                    .col(uuid("cooperative_id"))
                    .col(uuid("delivery_point_id"))
                    .col(big_integer("quantity_e4"))
                    .col(date("wanted_date"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut foreign_key("demand_line", "pool_id", "demand_pool"))
                    .foreign_key(&mut foreign_key("demand_line", "cooperative_id", "organisation"))
                    .foreign_key(&mut foreign_key("demand_line", "delivery_point_id", "delivery_point"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("demand_line", &["pool_id", "cooperative_id"])).await?;
        manager.create_index(index("demand_line", &["cooperative_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("tender")
                    .col(pk_uuid("id"))
                    .col(uuid_uniq("pool_id"))
                    .col(uuid("commodity_id"))
                    .col(string_len("title", 200))
                    .col(string_len("status", 16))
                    .col(string_len("criterion", 16))
                    .col(small_integer("price_weight"))
                    .col(small_integer("lead_time_weight"))
                    .col(boolean("partial_bids_allowed"))
                    .col(big_integer_null("min_partial_quantity_e4"))
                    .col(integer("min_responsive_bids"))
                    .col(integer("acceptance_days").default(2))
                    .col(timestamp_with_time_zone("bidding_start_at"))
                    .col(timestamp_with_time_zone("deadline_at"))
                    .col(text_null("cancel_reason"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(timestamp_with_time_zone_null("awarded_at"))
                    .foreign_key(&mut foreign_key("tender", "pool_id", "demand_pool"))
                    .foreign_key(&mut foreign_key("tender", "commodity_id", "commodity"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("tender", &["status", "deadline_at"])).await?;
        manager.create_index(index("tender", &["commodity_id", "status"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("lot")
                    .col(pk_uuid("id"))
                    .col(uuid("tender_id"))
                    .col(integer("number"))
                    .col(string_len_null("kecamatan", 80))
                    .col(big_integer("quantity_e4"))
                    .col(big_integer("max_unit_price_e4"))
                    .col(string_len("outcome", 16))
                    .col(big_integer_null("awarded_quantity_e4"))
                    .col(big_integer_null("total_cost_e4"))
                    .foreign_key(&mut foreign_key("lot", "tender_id", "tender"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("lot", &["tender_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("bid")
                    .col(pk_uuid("id"))
                    .col(uuid("tender_id"))
                    .col(uuid("lot_id"))
                    .col(uuid("supplier_id"))
                    .col(string_len("status", 16))
                    .col(integer("version"))
                    .col(big_integer("unit_price_e4"))
                    .col(big_integer("quantity_e4"))
                    .col(integer("lead_time_days"))
                    .col(integer("validity_days"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(string_len("commitment_hash", 64))
                    .col(string_len("nonce", 64))
                    .col(integer_null("rank"))
                    .col(big_integer_null("awarded_quantity_e4"))
                    .col(string_len_null("rejection", 32))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut foreign_key("bid", "tender_id", "tender"))
                    .foreign_key(&mut foreign_key("bid", "lot_id", "lot"))
                    .foreign_key(&mut foreign_key("bid", "supplier_id", "organisation"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("bid", &["lot_id", "supplier_id"]).unique().to_owned()).await?;
        manager.create_index(index("bid", &["tender_id"])).await?;
        manager.create_index(index("bid", &["supplier_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("bid_version")
                    .col(pk_uuid("id"))
                    .col(uuid("bid_id"))
                    .col(integer("version"))
                    .col(string_len("action", 16))
                    .col(big_integer("unit_price_e4"))
                    .col(big_integer("quantity_e4"))
                    .col(integer("lead_time_days"))
                    .col(integer("validity_days"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(string_len("commitment_hash", 64))
                    .col(string_len("nonce", 64))
                    .col(uuid("submitted_by"))
                    .foreign_key(&mut foreign_key("bid_version", "bid_id", "bid"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("bid_version", &["bid_id", "version"]).unique().to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table("award_allocation")
                    .col(pk_uuid("id"))
                    .col(uuid("tender_id"))
                    .col(uuid("lot_id"))
                    .col(uuid("demand_line_id"))
                    .col(uuid("cooperative_id"))
                    .col(uuid("bid_id"))
                    .col(uuid("supplier_id"))
                    .col(big_integer("unit_price_e4"))
                    .col(big_integer("quantity_e4"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut foreign_key("award_allocation", "tender_id", "tender"))
                    .foreign_key(&mut foreign_key("award_allocation", "demand_line_id", "demand_line"))
                    .foreign_key(&mut foreign_key("award_allocation", "bid_id", "bid"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("award_allocation", &["tender_id"])).await?;
        manager.create_index(index("award_allocation", &["cooperative_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_key")
                    .col(uuid("actor_user_id"))
                    .col(string_len("operation", 32))
                    .col(string_len("key", 128))
                    .col(string_len("request_hash", 64))
                    .col(string_len("result_id", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("actor_user_id").col("operation").col("key"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_key",
            "award_allocation",
            "bid_version",
            "bid",
            "lot",
            "tender",
            "demand_line",
            "fertiliser_allocation",
            "demand_pool",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
