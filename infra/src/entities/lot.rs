//! A lot of a tender.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lot")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tender_id: Uuid,
    pub number: i32,
    pub kecamatan: Option<String>,
    pub quantity_e4: i64,
    pub max_unit_price_e4: i64,
    /// PENDING until evaluation, then AWARDED or UNSUCCESSFUL.
    pub outcome: String,
    pub awarded_quantity_e4: Option<i64>,
    pub total_cost_e4: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
