//! An organisation: cooperative, supplier, agency or platform.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub registration_number: Option<String>,
    pub kelurahan: Option<String>,
    pub kecamatan: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub is_state_owned: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
