//! The web console: server-rendered pages for the people who use Lumbung, served by `lumbung serve` at `/`.
//!
//! Plain HTML forms that work without JavaScript; the one small script only adds a live countdown. Every page asks
//! the same GraphQL schema as any client, in process and as the logged-in caller, so every authorisation decision and
//! every sealed-bid rule holds here exactly as it does at `/graphql`; nothing here reads the database around it.
//!
//! Sessions travel in `HttpOnly` cookies (the access token, and the refresh token that renews it), end with the
//! session (logout, suspension: see `infra::sessions`), and every POST carries the form's CSRF token, checked here
//! before any handler runs (double submit: the form field must equal the `HttpOnly`, `SameSite=Strict` cookie).

mod cooperative;
mod format;
mod pages;
mod supplier;
pub mod texts;

use std::net::SocketAddr;

use async_graphql::{Request as GraphqlRequest, Variables};
use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use domain::clock::Language;
use infra::tokens::new_opaque_token;
use rust_embed::RustEmbed;
use serde_json::Value;

use crate::{
    graphql::{
        guard::{Caller, CallerSession, ClientAddress, DecisionLedger},
        loaders::Loaders,
    },
    state::{AppState, caller_of_token},
};

pub use texts::Texts;

pub(crate) const ACCESS_COOKIE: &str = "lumbung_access";
const REFRESH_COOKIE: &str = "lumbung_refresh";
const CSRF_COOKIE: &str = "lumbung_csrf";
const LANGUAGE_COOKIE: &str = "lumbung_lang";
/// The largest form the console accepts (a delivery confirmation of many lines is far smaller).
const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

/// The console's routes; the GraphQL API, downloads and health checks stay where they are.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/language", post(pages::set_language))
        .route("/invitation", get(pages::invitation_page).post(pages::accept_invitation))
        .route("/settings", get(pages::settings))
        .route("/settings/notifications", post(pages::set_preference))
        .route("/orders", get(pages::orders))
        .route("/orders/{id}", get(pages::order))
        .route("/orders/{id}/confirm", post(cooperative::confirm_delivery))
        .route("/orders/{id}/close", post(cooperative::close_order))
        .route("/orders/{id}/accept", post(supplier::accept_order))
        .route("/orders/{id}/decline", post(supplier::decline_order))
        .route("/orders/{id}/dispatch", post(supplier::record_dispatch))
        .route("/confirmations/{id}/answer", post(supplier::answer_discrepancy))
        .route("/pools/{id}", get(cooperative::pool))
        .route("/pools/{id}/demand", post(cooperative::add_demand))
        .route("/demand/{id}", post(cooperative::change_demand))
        .route("/tenders/{id}", get(supplier::tender))
        .route("/tenders/{id}/bid", post(supplier::bid))
        .route("/bids/{id}/receipt.txt", get(supplier::receipt_download))
        .route("/static/{file}", get(static_file))
        .layer(middleware::from_fn_with_state(state.clone(), console_context))
}

/// What every console handler knows about its request: who is calling, in which language, with which CSRF token.
#[derive(Clone)]
pub struct Page {
    pub caller: Caller,
    pub session: Option<CallerSession>,
    pub client: ClientAddress,
    pub language: Language,
    pub csrf: String,
    pub path: String,
}

impl Page {
    pub fn t(&self) -> &'static Texts {
        texts::texts(self.language)
    }

    pub fn is_logged_in(&self) -> bool {
        matches!(self.caller, Caller::Actor(_))
    }

    /// Runs a GraphQL operation in process, as this page's caller: the same schema, guards and rules as `/graphql`.
    pub async fn graphql(&self, state: &AppState, query: &str, variables: Value) -> Result<Value, Refusal> {
        let mut request = GraphqlRequest::new(query)
            .variables(Variables::from_json(variables))
            .data(self.caller.clone())
            .data(DecisionLedger::default())
            .data(Loaders::new(&state.services))
            .data(self.client);
        if let Some(session) = self.session {
            request = request.data(session);
        }
        let response = state.schema.execute(request).await;
        match response.errors.first() {
            Some(error) => {
                let extension = |key: &str| {
                    error
                        .extensions
                        .as_ref()
                        .and_then(|e| e.get(key))
                        .map(|v| v.to_string().trim_matches('"').to_owned())
                };
                Err(Refusal {
                    code: extension("code").unwrap_or_else(|| "INTERNAL_SERVER_ERROR".into()),
                    field: extension("field"),
                    message: error.message.clone(),
                })
            }
            None => Ok(response.data.into_json().unwrap_or(Value::Null)),
        }
    }
}

/// Why the API refused an operation, to show beside the form.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: String,
    pub field: Option<String>,
    pub message: String,
}

/// Establishes the page's caller (renewing an expired access token from the refresh cookie), language and CSRF
/// token; refuses a POST whose form does not carry the CSRF token; adds the console's security headers.
async fn console_context(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    request: Request,
    next: Next,
) -> Response {
    let secure = state.settings.is_production();
    let mut set_cookies: Vec<Cookie<'static>> = Vec::new();
    let language = match jar.get(LANGUAGE_COOKIE).map(Cookie::value) {
        Some("en") => Language::English,
        _ => Language::Indonesian,
    };
    let csrf = match jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()).filter(|v| v.len() >= 32) {
        Some(token) => token,
        None => {
            let token = new_opaque_token();
            set_cookies.push(cookie(CSRF_COOKIE, token.clone(), None, SameSite::Strict, secure));
            token
        }
    };
    let (mut parts, body) = request.into_parts();
    let body = if parts.method == axum::http::Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return refused(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large");
        };
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let sent = fields.iter().find(|(name, _)| name == "csrf").map(|(_, value)| value.as_str());
        // A cookie just made cannot match: a POST without the cookie is refused as well.
        if set_cookies.iter().any(|c| c.name() == CSRF_COOKIE) || !sent.is_some_and(|sent| same(sent, &csrf)) {
            return refused(
                StatusCode::FORBIDDEN,
                "this form has expired or did not come from Lumbung; reload the page",
            );
        }
        Body::from(bytes)
    } else {
        body
    };

    let mut caller = (Caller::Anonymous, None);
    if let Some(access) = jar.get(ACCESS_COOKIE) {
        caller = caller_of_token(&state.services, access.value()).await;
    }
    if !matches!(caller.0, Caller::Actor(_))
        && let Some(refresh) = jar.get(REFRESH_COOKIE)
    {
        match state.services.identity.refresh(refresh.value()).await {
            Ok(renewed) => {
                caller = caller_of_token(&state.services, &renewed.access_token).await;
                set_cookies.extend(session_cookies(&state, &renewed.access_token, &renewed.refresh_token));
            }
            Err(_) => set_cookies.extend(cleared_session_cookies(secure)),
        }
    }
    let page = Page {
        caller: caller.0,
        session: caller.1,
        client: ClientAddress(peer.ip()),
        language,
        csrf,
        path: parts.uri.path().to_owned(),
    };
    parts.extensions.insert(page);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    for cookie in set_cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    security_headers(response.headers_mut());
    response
}

/// Compares two tokens in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn security_headers(headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(header::HeaderName::from_static(name), HeaderValue::from_static(value));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "x-frame-options", "DENY");
}

fn cookie(
    name: &'static str,
    value: String,
    max_age_seconds: Option<i64>,
    same_site: SameSite,
    secure: bool,
) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, value)).path("/").http_only(true).same_site(same_site).secure(secure).build();
    if let Some(seconds) = max_age_seconds {
        cookie.set_max_age(cookie::time::Duration::seconds(seconds));
    }
    cookie
}

/// The cookies of a logged-in session. `Lax`, so that a link from an e-mail opens the console logged in; the CSRF
/// token guards every POST.
pub fn session_cookies(state: &AppState, access_token: &str, refresh_token: &str) -> [Cookie<'static>; 2] {
    let secure = state.settings.is_production();
    [
        cookie(
            ACCESS_COOKIE,
            access_token.to_owned(),
            Some(state.settings.access_token_ttl_seconds),
            SameSite::Lax,
            secure,
        ),
        cookie(
            REFRESH_COOKIE,
            refresh_token.to_owned(),
            Some(state.settings.refresh_token_ttl_days * 86_400),
            SameSite::Lax,
            secure,
        ),
    ]
}

pub fn cleared_session_cookies(secure: bool) -> [Cookie<'static>; 2] {
    [
        cookie(ACCESS_COOKIE, String::new(), Some(0), SameSite::Lax, secure),
        cookie(REFRESH_COOKIE, String::new(), Some(0), SameSite::Lax, secure),
    ]
}

pub fn language_cookie(language: Language, secure: bool) -> Cookie<'static> {
    let value = if language == Language::English { "en" } else { "id" };
    cookie(LANGUAGE_COOKIE, value.to_owned(), Some(365 * 86_400), SameSite::Lax, secure)
}

/// The refresh token in the request's cookies (for logout).
pub fn refresh_token_of(jar: &CookieJar) -> Option<String> {
    jar.get(REFRESH_COOKIE).map(|c| c.value().to_owned())
}

fn refused(status: StatusCode, message: &'static str) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response();
    security_headers(response.headers_mut());
    response
}

/// Redirects to the login page, remembering where the caller wanted to go.
pub fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

/// The embedded static files, cached for a year: their names change with their content (see `asset`).
async fn static_file(Path(file): Path<String>) -> Response {
    let Some(content) = Static::get(&file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = match file.rsplit_once('.').map(|(_, extension)| extension) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    (
        [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
        content.data.into_owned(),
    )
        .into_response()
}

/// The URL of an embedded static file, with a version taken from its content so that a long cache never serves a
/// stale copy.
pub fn asset(file: &str) -> String {
    let version: String = Static::get(file)
        .map(|f| f.metadata.sha256_hash().iter().take(6).map(|byte| format!("{byte:02x}")).collect())
        .unwrap_or_default();
    format!("/static/{file}?v={version}")
}

/// A posted form's fields, in order (repeated names for repeated lines). Read from the raw body, because the forms
/// repeat names per line, which a struct cannot hold.
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The first value of `name`, trimmed ("" when absent).
pub fn form_field(all: &[(String, String)], name: &str) -> String {
    all.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

/// Every value of `name`, trimmed, in order.
pub fn form_every(all: &[(String, String)], name: &str) -> Vec<String> {
    all.iter().filter(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned()).collect()
}
