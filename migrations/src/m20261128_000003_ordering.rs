//! Purchase orders, their lines, dispatches and delivery confirmations.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{foreign_key, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000003_ordering"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("order_sequence")
                    .col(string_len("prefix", 32))
                    .col(integer("year"))
                    .col(big_integer("last_number"))
                    .primary_key(Index::create().col("prefix").col("year"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("purchase_order")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("number", 40))
                    .col(uuid("tender_id"))
                    .col(uuid("lot_id"))
                    .col(uuid("bid_id"))
                    .col(uuid("cooperative_id"))
                    .col(uuid("supplier_id"))
                    .col(string_len("status", 24))
                    .col(big_integer("total_e4"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .col(timestamp_with_time_zone("accept_by"))
                    .col(timestamp_with_time_zone_null("accepted_at"))
                    .col(text_null("decline_reason"))
                    .col(text_null("cancel_reason"))
                    .col(text_null("close_reason"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(uuid_null("replaces_order_id"))
                    .col(uuid_null("replaced_by_order_id"))
                    .col(text_null("replacement_reason"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut foreign_key("purchase_order", "tender_id", "tender"))
                    .foreign_key(&mut foreign_key("purchase_order", "bid_id", "bid"))
                    .foreign_key(&mut foreign_key("purchase_order", "cooperative_id", "organisation"))
                    .foreign_key(&mut foreign_key("purchase_order", "supplier_id", "organisation"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("purchase_order", &["cooperative_id", "status"])).await?;
        manager.create_index(index("purchase_order", &["supplier_id", "status"])).await?;
        manager.create_index(index("purchase_order", &["tender_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("purchase_order_line")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(uuid("demand_line_id"))
                    .col(uuid("commodity_id"))
                    .col(uuid("delivery_point_id"))
                    .col(big_integer("quantity_e4"))
                    .col(big_integer("unit_price_e4"))
                    .col(big_integer("line_total_e4"))
                    .col(date("due_date"))
                    .col(big_integer("dispatched_e4").default(0))
                    .col(big_integer("received_e4").default(0))
                    .col(big_integer("accepted_e4").default(0))
                    .col(big_integer("rejected_e4").default(0))
                    .foreign_key(&mut foreign_key("purchase_order_line", "order_id", "purchase_order"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("purchase_order_line", &["order_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("dispatch")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(date("dispatched_on"))
                    .col(string_len("vehicle", 80))
                    .col(string_len("driver", 80))
                    .col(date("expected_arrival"))
                    .col(uuid("recorded_by"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .foreign_key(&mut foreign_key("dispatch", "order_id", "purchase_order"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("dispatch", &["order_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("dispatch_line")
                    .col(pk_uuid("id"))
                    .col(uuid("dispatch_id"))
                    .col(uuid("order_line_id"))
                    .col(big_integer("quantity_e4"))
                    .foreign_key(&mut foreign_key("dispatch_line", "dispatch_id", "dispatch"))
                    .foreign_key(&mut foreign_key("dispatch_line", "order_line_id", "purchase_order_line"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("dispatch_line", &["dispatch_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("delivery_confirmation")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(uuid_null("dispatch_id"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(string_len("receiver_name", 100))
                    .col(text_null("note"))
                    .col(boolean("discrepancy"))
                    .col(text_null("supplier_response"))
                    .col(timestamp_with_time_zone_null("responded_at"))
                    .col(uuid("recorded_by"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .foreign_key(&mut foreign_key("delivery_confirmation", "order_id", "purchase_order"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("delivery_confirmation", &["order_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("confirmation_line")
                    .col(pk_uuid("id"))
                    .col(uuid("confirmation_id"))
                    .col(uuid("order_line_id"))
                    .col(big_integer("received_e4"))
                    .col(big_integer("accepted_e4"))
                    .col(big_integer("rejected_e4"))
                    .col(string_len_null("rejection_reason", 16))
                    .col(text_null("rejection_note"))
                    .col(integer("days_late"))
                    .foreign_key(&mut foreign_key("confirmation_line", "confirmation_id", "delivery_confirmation"))
                    .foreign_key(&mut foreign_key("confirmation_line", "order_line_id", "purchase_order_line"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("confirmation_line", &["confirmation_id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "confirmation_line",
            "delivery_confirmation",
            "dispatch_line",
            "dispatch",
            "purchase_order_line",
            "purchase_order",
            "order_sequence",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
