//! A commodity's monthly mean price that the agency chose to publish to every user.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "published_price")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub commodity_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: Date,
    pub published_by: Uuid,
    pub published_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
