//! A demand pool: an open call for one commodity in an area, until a cut-off.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "demand_pool")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub commodity_id: Uuid,
    pub province: Option<String>,
    pub city: String,
    /// JSON array of kecamatan names; empty means the whole city.
    pub kecamatans: String,
    pub season: Option<String>,
    pub delivery_first_day: Date,
    pub delivery_last_day: Date,
    pub cutoff_at: DateTimeUtc,
    pub status: String,
    pub cancel_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
