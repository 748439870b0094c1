//! One observed unit price: an awarded line, an accepted delivery, or a market survey.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_observation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub commodity_id: Uuid,
    /// AWARD, DELIVERY or SURVEY.
    pub source: String,
    pub city: String,
    pub kecamatan: String,
    pub kelurahan: Option<String>,
    pub observed_at: DateTimeUtc,
    pub observed_on: Date,
    pub unit_price_e4: i64,
    pub quantity_e4: i64,
    pub ceiling_e4: Option<i64>,
    pub above_ceiling: bool,
    pub tender_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub market_name: Option<String>,
    pub recorded_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
