//! A line of a purchase order, with what has moved against it so far.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purchase_order_line")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub demand_line_id: Uuid,
    pub commodity_id: Uuid,
    pub delivery_point_id: Uuid,
    pub quantity_e4: i64,
    pub unit_price_e4: i64,
    pub line_total_e4: i64,
    pub due_date: Date,
    pub dispatched_e4: i64,
    pub received_e4: i64,
    pub accepted_e4: i64,
    pub rejected_e4: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
