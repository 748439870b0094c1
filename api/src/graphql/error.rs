//! GraphQL errors: every one carries a stable `extensions.code` and a message for people, never internal detail.

use async_graphql::{ErrorExtensionValues, ServerError};
use infra::ServiceError;

/// Codes this API sends, besides those of [`ServiceError::code`].
pub mod codes {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
}

/// Turns a use-case error into a GraphQL error. Server-side failures are logged with their cause here and
/// reach the client only as a code and a generic message.
pub fn to_graphql(error: ServiceError) -> async_graphql::Error {
    describe(&error)
}

/// As [`to_graphql`], for an error that is shared (a DataLoader's).
pub fn describe(error: &ServiceError) -> async_graphql::Error {
    match error {
        ServiceError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
        ServiceError::Unavailable(cause) => {
            tracing::warn!(error = ?cause, "dependency unavailable")
        }
        _ => {}
    }
    let code = error.code();
    let mut graphql_error = async_graphql::Error::new(error.to_string());
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    match error {
        ServiceError::BadInput { field, .. } => extensions.set("field", field.as_str()),
        ServiceError::TooManyAttempts { retry_after_seconds } => {
            extensions.set("retryAfterSeconds", *retry_after_seconds)
        }
        _ => {}
    }
    graphql_error.extensions = Some(extensions);
    graphql_error
}

/// `?`-friendly conversion of use-case results in resolvers: `services.x().await.api()?`.
pub trait ApiResult<T> {
    fn api(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<ServiceError>> ApiResult<T> for Result<T, E> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|error| to_graphql(error.into()))
    }
}

/// A request-level error with a code, for the limits that refuse a query before it runs.
pub fn server_error(code: &'static str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// Gives a code to errors that async-graphql raised itself (syntax, validation, argument coercion), so that
/// every error a client sees has one.
pub fn assign_missing_codes(response: &mut async_graphql::Response) {
    let executed = !matches!(response.data, async_graphql::Value::Null);
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if error.message.starts_with("Failed to parse") || error.message.starts_with("Invalid value") {
            codes::BAD_USER_INPUT
        } else if !executed && error.path.is_empty() {
            codes::GRAPHQL_VALIDATION_FAILED
        } else {
            codes::INTERNAL_SERVER_ERROR
        };
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    }
}
