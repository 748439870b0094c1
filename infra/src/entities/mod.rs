//! sea-orm entities: the database's rows. They never leave `infra`; the API has its own types.

pub mod app_user;
pub mod audit_entry;
pub mod commodity;
pub mod delivery_point;
pub mod login_throttle;
pub mod organisation;
pub mod organisation_category;
pub mod price_reference;
pub mod refresh_token;
