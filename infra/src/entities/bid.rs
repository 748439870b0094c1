//! A supplier's sealed bid on a lot: its latest version, and its evaluation after closing.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bid")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    pub supplier_id: Uuid,
    /// ACTIVE or WITHDRAWN.
    pub status: String,
    pub version: i32,
    pub unit_price_e4: i64,
    pub quantity_e4: i64,
    pub lead_time_days: i32,
    pub validity_days: i32,
    pub received_at: DateTimeUtc,
    pub commitment_hash: String,
    pub nonce: String,
    pub rank: Option<i32>,
    pub awarded_quantity_e4: Option<i64>,
    pub rejection: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
