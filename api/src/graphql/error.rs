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
/// At most this many errors go back for one request; the rest are counted in one more (a request declaring 20,000
/// unused variables would otherwise get 20,000 errors back).
pub const MAX_ERRORS: usize = 20;

/// Keeps the first [`MAX_ERRORS`] errors and says how many more there were, with the code of the first.
pub fn cap_errors(response: &mut async_graphql::Response) {
    if response.errors.len() <= MAX_ERRORS {
        return;
    }
    let more = response.errors.len() - MAX_ERRORS;
    let code = response.errors[0]
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .map(|code| code.to_string().trim_matches('"').to_owned())
        .unwrap_or_else(|| codes::GRAPHQL_VALIDATION_FAILED.to_owned());
    response.errors.truncate(MAX_ERRORS);
    let mut summary = async_graphql::ServerError::new(format!("… and {more} more errors like these"), None);
    summary.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    response.errors.push(summary);
}

pub fn assign_missing_codes(response: &mut async_graphql::Response) {
    let executed = !matches!(response.data, async_graphql::Value::Null);
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            continue;
        }
        // async-graphql's own words for an argument of the wrong kind or shape: the client's mistake.
        let bad_input = ["Failed to parse", "Invalid value", "Expected input type"];
        let code = if bad_input.iter().any(|start| error.message.starts_with(start)) {
            codes::BAD_USER_INPUT
        } else if error.message.starts_with("Query is too complex")
            || error.message.starts_with("Query is nested too deep")
        {
            codes::QUERY_TOO_COMPLEX
        } else if !executed && error.path.is_empty() {
            codes::GRAPHQL_VALIDATION_FAILED
        } else {
            codes::INTERNAL_SERVER_ERROR
        };
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    }
}
