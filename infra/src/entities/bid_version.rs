//! Every version of a bid as received: the history that revisions keep.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bid_version")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub bid_id: Uuid,
    pub version: i32,
    /// SUBMITTED, REVISED or WITHDRAWN.
    pub action: String,
    pub unit_price_e4: i64,
    pub quantity_e4: i64,
    pub lead_time_days: i32,
    pub validity_days: i32,
    pub received_at: DateTimeUtc,
    pub commitment_hash: String,
    pub nonce: String,
    pub submitted_by: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
