//! Notifications: the e-mail outbox, the live event log behind subscriptions, opt-outs, and closing reminders.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{foreign_key, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000004_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per e-mail to one recipient, written in the transaction of the change it reports.
        manager
            .create_table(
                Table::create()
                    .table("outbox_message")
                    .col(pk_uuid("id"))
                    .col(string_len("kind", 40))
                    .col(uuid_null("recipient_user_id"))
                    .col(string_len("recipient_email", 254))
                    .col(string_len("subject", 400))
                    .col(text("body"))
                    .col(string_len("subject_type", 40))
                    .col(string_len("subject_id", 64))
                    .col(string_len("status", 12))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("outbox_message", &["status", "next_attempt_at"])).await?;

        // The ordered log of events that subscriptions stream and replay from a cursor (the sequence number).
        manager
            .create_table(
                Table::create()
                    .table("live_event")
                    .col(big_pk_auto("seq"))
                    .col(string_len("topic", 40))
                    .col(uuid("subject_id"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("live_event", &["subject_id", "seq"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("notification_opt_out")
                    .col(uuid("user_id"))
                    .col(string_len("kind", 40))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("user_id").col("kind"))
                    .foreign_key(&mut foreign_key("notification_opt_out", "user_id", "app_user"))
                    .to_owned(),
            )
            .await?;

        // Which suppliers opened a tender: the closing reminder goes to those who looked but did not bid.
        manager
            .create_table(
                Table::create()
                    .table("tender_view")
                    .col(uuid("tender_id"))
                    .col(uuid("organisation_id"))
                    .col(timestamp_with_time_zone("first_viewed_at"))
                    .primary_key(Index::create().col("tender_id").col("organisation_id"))
                    .foreign_key(&mut foreign_key("tender_view", "tender_id", "tender"))
                    .foreign_key(&mut foreign_key("tender_view", "organisation_id", "organisation"))
                    .to_owned(),
            )
            .await?;

        // A tender's closing reminder, claimed by inserting this row: exactly one node sends it.
        manager
            .create_table(
                Table::create()
                    .table("tender_reminder")
                    .col(pk_uuid("tender_id"))
                    .col(timestamp_with_time_zone("sent_at"))
                    .foreign_key(&mut foreign_key("tender_reminder", "tender_id", "tender"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["tender_reminder", "tender_view", "notification_opt_out", "live_event", "outbox_message"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
