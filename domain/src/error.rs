//! The errors a business rule can return.

use thiserror::Error;

/// Why a rule refused. Each kind maps to one stable GraphQL error code at the API edge.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    /// A value from the caller is malformed or out of range (`BAD_USER_INPUT`).
    #[error("{field}: {message}")]
    InvalidInput { field: &'static str, message: String },
    /// The thing exists but its current state does not allow the action (`CONFLICT`).
    #[error("{0}")]
    InvalidTransition(String),
    /// The caller may not do this (`FORBIDDEN`).
    #[error("{0}")]
    Forbidden(String),
    /// A deadline or cut-off has passed; nothing was written (`DEADLINE_PASSED`).
    #[error("{0}")]
    DeadlinePassed(String),
    /// The thing does not exist for this caller (`NOT_FOUND`): what it was, e.g. `bid`.
    #[error("{0} not found")]
    NotFound(&'static str),
}

impl RuleError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput { field, message: message.into() }
    }
}
