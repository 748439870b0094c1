//! The errors a use case returns; the API maps each kind to one stable GraphQL error code.

use domain::RuleError;
use sea_orm::{DbErr, SqlErr};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    DeadlinePassed(String),
    #[error("too many failed attempts; try again in {retry_after_seconds} seconds")]
    TooManyAttempts { retry_after_seconds: i64 },
    /// A dependency (the database) cannot be reached; the request may be retried.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: logged with its cause, shown to the client only as "internal error".
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ServiceError {
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(anyhow::anyhow!(message.into()))
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput { field: field.into(), message: message.into() }
    }

    /// The stable machine-readable code for the client.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::DeadlinePassed(_) => "DEADLINE_PASSED",
            Self::TooManyAttempts { .. } => "TOO_MANY_ATTEMPTS",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<RuleError> for ServiceError {
    fn from(error: RuleError) -> Self {
        match error {
            RuleError::InvalidInput { field, message } => Self::bad_input(field, message),
            RuleError::InvalidTransition(message) => Self::Conflict(message),
            RuleError::Forbidden(message) => Self::Forbidden(message),
            RuleError::DeadlinePassed(message) => Self::DeadlinePassed(message),
            RuleError::NotFound(what) => Self::NotFound(what.into()),
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(error: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(detail)) = error.sql_err() {
            return Self::Conflict(what_already_exists(&detail).into());
        }
        if is_outage(&error) {
            return Self::Unavailable(error.into());
        }
        Self::Internal(error.into())
    }
}

/// What a unique-constraint violation says already exists, from the database's own message: SQLite names the table
/// and columns (`UNIQUE constraint failed: bid.lot_id, bid.supplier_id`), PostgreSQL the constraint or index
/// (`duplicate key value violates unique constraint "ix_bid_lot_id_supplier_id"`). Longer table names are matched
/// first (`bid_version` before `bid`).
fn what_already_exists(detail: &str) -> &'static str {
    const KNOWN: [(&str, &str); 11] = [
        ("bid_version", "this version of the bid already exists"),
        ("fertiliser_allocation", "an RDKK allocation for this cooperative, commodity and season already exists"),
        ("price_reference", "a price reference for this commodity, kind, area and date already exists"),
        ("organisation_category", "the organisation is already verified for this category"),
        ("idempotency_key", "this idempotency key was already used"),
        ("invitation_token_hash", "this invitation already exists"),
        ("app_user", "an account with this e-mail address already exists"),
        ("commodity", "a commodity with this code already exists"),
        ("published_price", "this month's price is already published"),
        ("order_sequence", "this order number is already taken"),
        ("bid", "this supplier already has a bid on this lot"),
    ];
    let detail = detail.to_ascii_lowercase();
    let names = |table: &str| {
        detail.contains(&format!("{table}."))
            || detail.contains(&format!("\"{table}_"))
            || detail.contains(&format!("ix_{table}_"))
    };
    KNOWN.iter().find(|(table, _)| names(table)).map_or("that already exists", |(_, message)| message)
}

/// Whether a database error means the database cannot be reached (down, restarting, connections cut), as opposed to
/// a fault in the statement: the first is `SERVICE_UNAVAILABLE` and worth a retry, the second an internal error.
fn is_outage(error: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error as SqlxError};
    match error {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                SqlxError::Io(_) | SqlxError::PoolTimedOut | SqlxError::PoolClosed | SqlxError::WorkerCrashed => true,
                SqlxError::Tls(_) | SqlxError::Protocol(_) => true,
                // PostgreSQL: class 08 (connection exception) and 57P (operator intervention: shutdown, crash).
                SqlxError::Database(database) => {
                    database.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_violation_names_what_already_exists_on_both_databases() {
        let sqlite = "UNIQUE constraint failed: bid.lot_id, bid.supplier_id";
        let postgres = "duplicate key value violates unique constraint \"ix_bid_lot_id_supplier_id\"";
        assert_eq!(what_already_exists(sqlite), "this supplier already has a bid on this lot");
        assert_eq!(what_already_exists(postgres), "this supplier already has a bid on this lot");
        assert_eq!(
            what_already_exists("UNIQUE constraint failed: bid_version.bid_id, bid_version.version"),
            "this version of the bid already exists"
        );
        assert_eq!(
            what_already_exists("duplicate key value violates unique constraint \"app_user_email_key\""),
            "an account with this e-mail address already exists"
        );
        assert_eq!(
            what_already_exists("UNIQUE constraint failed: commodity.code"),
            "a commodity with this code already exists"
        );
        assert_eq!(what_already_exists("something else entirely"), "that already exists");
    }
}
