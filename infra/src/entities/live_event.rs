//! One event of the ordered log behind subscriptions; `seq` is the cursor a reconnecting subscriber resumes from.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub topic: String,
    pub subject_id: Uuid,
    pub payload: String,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
