//! Part of a demand line served by one awarded bid: what purchase orders are built from.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "award_allocation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    pub demand_line_id: Uuid,
    pub cooperative_id: Uuid,
    pub bid_id: Uuid,
    pub supplier_id: Uuid,
    pub unit_price_e4: i64,
    pub quantity_e4: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
