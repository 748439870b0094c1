//! An HET or reference price of a commodity, from a date, in an area.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_reference")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub commodity_id: Uuid,
    pub kind: String,
    /// Price in ten-thousandths of a Rupiah (see `fixed_point`).
    pub price_e4: i64,
    pub area_scope: String,
    pub area_name: String,
    pub effective_from: Date,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
