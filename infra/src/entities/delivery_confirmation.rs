//! A cooperative's confirmation of a delivery.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_confirmation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub dispatch_id: Option<Uuid>,
    pub received_at: DateTimeUtc,
    pub receiver_name: String,
    pub note: Option<String>,
    pub discrepancy: bool,
    pub supplier_response: Option<String>,
    pub responded_at: Option<DateTimeUtc>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
