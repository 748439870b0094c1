//! sea-orm entities: the database's rows. They never leave `infra`'s use cases except as read models for the API.

pub mod app_user;
pub mod audit_entry;
pub mod award_allocation;
pub mod bid;
pub mod bid_version;
pub mod commodity;
pub mod confirmation_line;
pub mod delivery_confirmation;
pub mod delivery_point;
pub mod demand_line;
pub mod demand_pool;
pub mod dispatch;
pub mod dispatch_line;
pub mod fertiliser_allocation;
pub mod idempotency_key;
pub mod login_throttle;
pub mod lot;
pub mod order_sequence;
pub mod organisation;
pub mod organisation_category;
pub mod price_reference;
pub mod purchase_order;
pub mod purchase_order_line;
pub mod refresh_token;
pub mod tender;
