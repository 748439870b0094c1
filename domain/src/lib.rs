//! Lumbung's business rules.
//!
//! Everything here takes plain values (including the current instant) and returns decisions or typed errors.
//! No async runtime, no database, no web types: the rules are tested in microseconds and shared by every entry point.

pub mod access;
pub mod allocation;
pub mod bid;
pub mod clock;
pub mod commodity;
pub mod error;
pub mod evaluation;
pub mod identity;
pub mod login_throttle;
pub mod money;
pub mod organisation;
pub mod pool;
pub mod purchase_order;
pub mod tender;

pub use error::RuleError;
