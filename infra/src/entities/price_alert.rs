//! A price observed above its ceiling (HET), kept for the agency with a link to what it came from.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_alert")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub commodity_id: Uuid,
    pub source: String,
    pub city: String,
    pub kecamatan: String,
    pub observed_on: Date,
    pub unit_price_e4: i64,
    pub ceiling_e4: i64,
    pub observation_id: Uuid,
    pub tender_id: Option<Uuid>,
    pub market_name: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
