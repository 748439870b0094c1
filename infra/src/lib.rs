//! Lumbung's infrastructure: persistence (sea-orm on SQLite or PostgreSQL), tokens, password hashing,
//! configuration and the clock. Each use case here runs in one database transaction and calls the rules in `domain`.

pub mod audit;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod entities;
pub mod error;
pub mod fixed_point;
pub mod idempotency;
pub mod identity;
pub mod login_limits;
pub mod mailer;
pub mod notification;
pub mod open_data;
pub mod ordering;
pub mod pagination;
pub mod password;
pub mod pooling;
pub mod prices;
pub mod read_models;
pub mod red_flags;
pub mod services;
pub mod sessions;
pub mod tendering;
pub mod tokens;

pub use error::ServiceError;
