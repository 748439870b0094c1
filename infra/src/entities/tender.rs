//! A tender made from a frozen pool.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tender")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub commodity_id: Uuid,
    pub title: String,
    pub status: String,
    pub criterion: String,
    pub price_weight: i16,
    pub lead_time_weight: i16,
    pub partial_bids_allowed: bool,
    pub min_partial_quantity_e4: Option<i64>,
    pub min_responsive_bids: i32,
    /// Days a supplier has to accept its purchase order before the agency may re-award it.
    pub acceptance_days: i32,
    pub bidding_start_at: DateTimeUtc,
    pub deadline_at: DateTimeUtc,
    pub cancel_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub awarded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
