//! Received, accepted and rejected quantities of one order line in a delivery.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "confirmation_line")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub confirmation_id: Uuid,
    pub order_line_id: Uuid,
    pub received_e4: i64,
    pub accepted_e4: i64,
    pub rejected_e4: i64,
    pub rejection_reason: Option<String>,
    pub rejection_note: Option<String>,
    pub days_late: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
