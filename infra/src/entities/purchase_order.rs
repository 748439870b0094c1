//! A purchase order: what one cooperative owes one supplier for its share of an award.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purchase_order")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: String,
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    pub bid_id: Uuid,
    pub cooperative_id: Uuid,
    pub supplier_id: Uuid,
    pub status: String,
    pub total_e4: i64,
    pub issued_at: DateTimeUtc,
    pub accept_by: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub decline_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub close_reason: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    pub replaces_order_id: Option<Uuid>,
    pub replaced_by_order_id: Option<Uuid>,
    pub replacement_reason: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
