//! Organisations, people, tokens, the audit trail and the commodity catalogue.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{foreign_key, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_foundation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organisation")
                    .col(pk_uuid("id"))
                    .col(string_len("kind", 16))
                    .col(string_len("name", 150))
                    .col(string_len("status", 16))
                    .col(text_null("status_reason"))
                    .col(string_len_null("registration_number", 64))
                    .col(string_len_null("kelurahan", 80))
                    .col(string_len_null("kecamatan", 80))
                    .col(string_len_null("city", 80))
                    .col(string_len_null("province", 80))
                    .col(boolean("is_state_owned").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("reviewed_at"))
                    .col(uuid_null("reviewed_by"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("organisation", &["kind", "status"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("organisation_category")
                    .col(uuid("organisation_id"))
                    .col(string_len("category", 32))
                    .primary_key(Index::create().col("organisation_id").col("category"))
                    .foreign_key(&mut foreign_key("organisation_category", "organisation_id", "organisation"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("organisation_category", &["category"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("delivery_point")
                    .col(pk_uuid("id"))
                    .col(uuid("organisation_id"))
                    .col(string_len("name", 120))
                    .col(string_len("address", 300))
                    .col(string_len("kelurahan", 80))
                    .col(string_len("kecamatan", 80))
                    .col(string_len("city", 80))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut foreign_key("delivery_point", "organisation_id", "organisation"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("delivery_point", &["organisation_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("app_user")
                    .col(pk_uuid("id"))
                    .col(uuid("organisation_id"))
                    .col(string_len_uniq("email", 254))
                    .col(string_len("name", 100))
                    .col(string_len("role", 32))
                    .col(boolean("is_organisation_admin").default(false))
                    .col(string_len("status", 16))
                    .col(string_len_null("password_hash", 200))
                    .col(string_len_null("invitation_token_hash", 64).unique_key())
                    .col(timestamp_with_time_zone_null("invitation_expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut foreign_key("app_user", "organisation_id", "organisation"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("app_user", &["organisation_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("refresh_token")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("family_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(timestamp_with_time_zone("issued_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("rotated_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut foreign_key("refresh_token", "user_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("refresh_token", &["family_id"])).await?;
        manager.create_index(index("refresh_token", &["user_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("login_throttle")
                    .col(string_len("email_key", 64).primary_key())
                    .col(integer("failures"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone("last_failure_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_entry")
                    .col(pk_uuid("id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(uuid_null("actor_user_id"))
                    .col(uuid_null("actor_organisation_id"))
                    .col(string_len("action", 64))
                    .col(string_len("subject_type", 32))
                    .col(string_len("subject_id", 64))
                    .col(text("summary"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("audit_entry", &["subject_type", "subject_id"])).await?;
        manager.create_index(index("audit_entry", &["actor_organisation_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("commodity")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("code", 32))
                    .col(string_len("name_id", 120))
                    .col(string_len("name_en", 120))
                    .col(string_len("unit", 16))
                    .col(string_len("category", 32))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("price_reference")
                    .col(pk_uuid("id"))
                    .col(uuid("commodity_id"))
                    .col(string_len("kind", 16))
                    .col(big_integer("price_e4"))
                    .col(string_len("area_scope", 16))
                    .col(string_len("area_name", 80))
                    .col(date("effective_from"))
                    .col(text_null("note"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(uuid_null("created_by"))
                    .foreign_key(&mut foreign_key("price_reference", "commodity_id", "commodity"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("price_reference", &["commodity_id", "kind", "area_scope", "area_name", "effective_from"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "price_reference",
            "commodity",
            "audit_entry",
            "login_throttle",
            "refresh_token",
            "app_user",
            "delivery_point",
            "organisation_category",
            "organisation",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
