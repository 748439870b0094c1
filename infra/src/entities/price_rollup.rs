//! The sums of one commodity's observations from one source, in one area, on one day.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "price_rollup")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub commodity_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub city: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kecamatan: String,
    pub observations: i64,
    pub sum_price_e4: i64,
    pub sum_price_squared: f64,
    pub min_price_e4: i64,
    pub max_price_e4: i64,
    pub sum_quantity_e4: i64,
    pub sum_amount_e4: i64,
    pub above_ceiling: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
