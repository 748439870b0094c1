//! What every role shares: the layout, logging in and out, the language, invitations, and purchase orders.

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;
use domain::clock::Language;
use serde::Deserialize;
use serde_json::{Value, json};

pub use super::format::{
    decimal, edges, in_wib, left, number, rejection_reasons, rupiah, status_label, text, typed_number, unit,
};
use super::{
    Page, Refusal, Texts, asset, cleared_session_cookies, cooperative, language_cookie, refresh_token_of,
    session_cookies, supplier, to_login,
};
use crate::{graphql::guard::Caller, state::AppState};

/// What the base template shows around every page.
pub struct Layout {
    pub t: &'static Texts,
    pub csrf: String,
    pub who: Option<Who>,
    pub css: String,
    pub js: String,
    pub path: String,
    pub now: String,
    pub notice: Option<String>,
}

pub struct Who {
    pub name: String,
    pub organisation: String,
}

impl Layout {
    pub async fn of(page: &Page, state: &AppState) -> Self {
        let who = if page.is_logged_in() {
            let me = page.graphql(state, "query { me { user { name } organisation { name } } }", json!({})).await.ok();
            me.map(|me| Who {
                name: text(&me["me"]["user"]["name"]),
                organisation: text(&me["me"]["organisation"]["name"]),
            })
        } else {
            None
        };
        Self {
            t: page.t(),
            csrf: page.csrf.clone(),
            who,
            css: asset("app.css"),
            js: asset("live.js"),
            path: page.path.clone(),
            now: state.services.clock.now().to_rfc3339(),
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a console template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A refusal as a person reads it, in the page's language where the code says enough.
pub fn explain(page: &Page, refusal: &Refusal) -> String {
    let english = page.language == Language::English;
    match refusal.code.as_str() {
        "UNAUTHENTICATED" if english => format!("Not logged in: {}", refusal.message),
        "UNAUTHENTICATED" => format!("Tidak dapat masuk: {}", refusal.message),
        "FORBIDDEN" if english => format!("Not allowed: {}", refusal.message),
        "FORBIDDEN" => format!("Tidak diizinkan: {}", refusal.message),
        "TOO_MANY_ATTEMPTS" if english => "Too many attempts; wait a little and try again.".into(),
        "TOO_MANY_ATTEMPTS" => "Terlalu banyak percobaan; tunggu sebentar lalu coba lagi.".into(),
        _ => refusal.message.clone(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    l: Layout,
    title: String,
    message: String,
}

pub async fn message(page: &Page, state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    let l = Layout::of(page, state).await;
    let mut response = render(&MessagePage { l, title: title.to_owned(), message: message.to_owned() });
    *response.status_mut() = status;
    response
}

pub async fn not_found(page: &Page, state: &AppState) -> Response {
    message(page, state, StatusCode::NOT_FOUND, page.t().not_found, page.t().not_found).await
}

/// `/`: the caller's home, by the kind of their organisation.
pub async fn home(State(state): State<AppState>, Extension(page): Extension<Page>) -> Response {
    let Caller::Actor(actor) = &page.caller else {
        return to_login();
    };
    match actor.organisation_kind {
        domain::organisation::OrganisationKind::Cooperative => cooperative::home(&page, &state).await,
        domain::organisation::OrganisationKind::Supplier => supplier::home(&page, &state).await,
        _ => {
            let english = page.language == Language::English;
            let text = if english {
                "The office's desk comes to the console next; until then, use the GraphQL API at /graphql."
            } else {
                "Meja kerja dinas segera hadir di konsol; sementara itu gunakan API GraphQL di /graphql."
            };
            message(&page, &state, StatusCode::OK, page.t().home, text).await
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    email: String,
    error: Option<String>,
}

pub async fn login_page(State(state): State<AppState>, Extension(page): Extension<Page>) -> Response {
    if page.is_logged_in() {
        return Redirect::to("/").into_response();
    }
    render(&LoginPage { l: Layout::of(&page, &state).await, email: String::new(), error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Form(form): Form<LoginForm>,
) -> Response {
    let anonymous = Page { caller: Caller::Anonymous, session: None, ..page.clone() };
    let result = anonymous
        .graphql(
            &state,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }",
            json!({ "e": form.email, "p": form.password }),
        )
        .await;
    match result {
        Ok(data) => {
            let session = &data["login"];
            let cookies = session_cookies(&state, &text(&session["accessToken"]), &text(&session["refreshToken"]));
            let mut response = Redirect::to("/").into_response();
            for cookie in cookies {
                if let Ok(value) = cookie.to_string().parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(refusal) => {
            let l = Layout::of(&anonymous, &state).await;
            let mut response = render(&LoginPage { l, email: form.email, error: Some(explain(&anonymous, &refusal)) });
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
    }
}

pub async fn logout(State(state): State<AppState>, Extension(page): Extension<Page>, jar: CookieJar) -> Response {
    if let Some(refresh_token) = refresh_token_of(&jar) {
        let _ = page
            .graphql(&state, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": refresh_token }))
            .await;
    }
    let mut response = Redirect::to("/login").into_response();
    for cookie in cleared_session_cookies(state.settings.is_production()) {
        if let Ok(value) = cookie.to_string().parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Deserialize)]
pub struct LanguageForm {
    back: Option<String>,
}

/// Switches between Bahasa Indonesia and English, and stays on the same page.
pub async fn set_language(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Form(form): Form<LanguageForm>,
) -> Response {
    let other = if page.language == Language::English { Language::Indonesian } else { Language::English };
    // Only a path on this site: never an address elsewhere.
    let back = form.back.filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'));
    let mut response = Redirect::to(back.as_deref().unwrap_or("/")).into_response();
    if let Ok(value) = language_cookie(other, state.settings.is_production()).to_string().parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    l: Layout,
    token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct InvitationQuery {
    token: Option<String>,
}

pub async fn invitation_page(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    axum::extract::Query(query): axum::extract::Query<InvitationQuery>,
) -> Response {
    let l = Layout::of(&page, &state).await;
    render(&InvitationPage { l, token: query.token.unwrap_or_default(), error: None })
}

#[derive(Deserialize)]
pub struct InvitationForm {
    token: String,
    password: String,
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Form(form): Form<InvitationForm>,
) -> Response {
    let result = page
        .graphql(
            &state,
            "mutation($t: String!, $p: String!) { acceptInvitation(invitationToken: $t, password: $p) { email } }",
            json!({ "t": form.token, "p": form.password }),
        )
        .await;
    let l = Layout::of(&page, &state).await;
    match result {
        Ok(data) => {
            let email = text(&data["acceptInvitation"]["email"]);
            let l = l.with_notice(Some(page.t().done.to_owned()));
            render(&LoginPage { l, email, error: None })
        }
        Err(refusal) => {
            let mut response = render(&InvitationPage { l, token: form.token, error: Some(explain(&page, &refusal)) });
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        }
    }
}

/// One order in a list.
pub struct OrderRow {
    pub id: String,
    pub number: String,
    pub status: String,
    pub status_label: String,
    pub party: String,
    pub total: String,
    pub amount_due: String,
}

pub fn order_rows(orders: &Value, cooperative_view: bool, language: Language) -> Vec<OrderRow> {
    edges(orders)
        .iter()
        .map(|order| OrderRow {
            id: text(&order["id"]),
            number: text(&order["number"]),
            status: text(&order["status"]),
            status_label: status_label(&text(&order["status"]), language).to_owned(),
            party: text(if cooperative_view { &order["supplierName"] } else { &order["cooperativeName"] }),
            total: rupiah(&order["total"]),
            amount_due: rupiah(&order["amountDue"]),
        })
        .collect()
}

pub const ORDER_LIST: &str = "query { purchaseOrders(first: 50) { edges { node {
    id number status supplierName cooperativeName total amountDue } } } }";

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    l: Layout,
    orders: Vec<OrderRow>,
    cooperative_view: bool,
}

pub async fn orders(State(state): State<AppState>, Extension(page): Extension<Page>) -> Response {
    let Caller::Actor(actor) = &page.caller else {
        return to_login();
    };
    let cooperative_view = actor.organisation_kind == domain::organisation::OrganisationKind::Cooperative;
    let data = page.graphql(&state, ORDER_LIST, json!({})).await.unwrap_or(Value::Null);
    let l = Layout::of(&page, &state).await;
    render(&OrdersPage {
        l,
        orders: order_rows(&data["purchaseOrders"], cooperative_view, page.language),
        cooperative_view,
    })
}

/// An order line as the order page shows it.
pub struct LineView {
    /// The confirmation form's values for this line.
    pub form_received: String,
    pub form_rejected: String,
    pub form_reason: String,
    pub form_note: String,
    pub id: String,
    pub commodity: String,
    pub quantity: String,
    pub unit_price: String,
    pub received: String,
    pub accepted: String,
    pub rejected: String,
    pub undelivered_raw: String,
    pub due: String,
}

pub struct ConfirmationView {
    pub id: String,
    pub received_at: String,
    pub receiver: String,
    pub discrepancy: bool,
    pub supplier_response: String,
    pub lines: Vec<String>,
}

pub struct DispatchView {
    pub dispatched_on: String,
    pub vehicle: String,
    pub driver: String,
    pub expected_arrival: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    l: Layout,
    id: String,
    number: String,
    status: String,
    status_label: String,
    /// Every order status with its label, as JSON, for the script that follows the order live.
    labels: String,
    supplier: String,
    cooperative: String,
    total: String,
    amount_due: String,
    accept_by: String,
    decline_reason: String,
    lines: Vec<LineView>,
    dispatches: Vec<DispatchView>,
    confirmations: Vec<ConfirmationView>,
    cooperative_view: bool,
    today: String,
    error: Option<String>,
    reasons: Vec<(&'static str, &'static str)>,
    form_receiver: String,
    form_note: String,
}

const ORDER: &str = "query($id: ID!) { purchaseOrder(id: $id) {
    id number status supplierName cooperativeName total amountDue acceptBy declineReason
    lines { id commodityId quantity unitPrice lineTotal dueDate dispatched received accepted rejected undelivered }
    dispatches { dispatchedOn vehicle driver expectedArrival }
    confirmations { id receivedAt receiverName discrepancy supplierResponse
        lines { orderLineId received accepted rejected rejectionReason rejectionNote } } } }";

/// The order page, optionally with a refusal to show beside its forms.
/// The order page after an action on the order: saved, or the refusal beside its forms.
pub async fn order_outcome(page: &Page, state: &AppState, order_id: &str, result: Result<Value, Refusal>) -> Response {
    match result {
        Ok(_) => order_page(page, state, order_id, None, Some(page.t().done.to_owned())).await,
        Err(refusal) => order_page(page, state, order_id, Some(explain(page, &refusal)), None).await,
    }
}

/// What the clerk typed into the delivery confirmation, kept when it is refused: per line, then the receiver and note.
#[derive(Debug, Clone, Default)]
pub struct ReceiptTyped {
    pub received: Vec<String>,
    pub rejected: Vec<String>,
    pub reasons: Vec<String>,
    pub notes: Vec<String>,
    pub receiver: String,
    pub note: String,
}

pub async fn order_page(
    page: &Page,
    state: &AppState,
    id: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    order_page_typed(page, state, id, error, notice, None).await
}

/// The order page, with what was typed into a refused delivery confirmation kept in its form.
pub async fn order_page_typed(
    page: &Page,
    state: &AppState,
    id: &str,
    error: Option<String>,
    notice: Option<String>,
    typed: Option<ReceiptTyped>,
) -> Response {
    let Caller::Actor(actor) = &page.caller else {
        return to_login();
    };
    let cooperative_view = actor.organisation_kind == domain::organisation::OrganisationKind::Cooperative;
    let Ok(data) = page.graphql(state, ORDER, json!({ "id": id })).await else {
        return not_found(page, state).await;
    };
    let order = &data["purchaseOrder"];
    if order.is_null() {
        return not_found(page, state).await;
    }
    let commodities = commodity_names(page, state).await;
    let lines = order["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .enumerate()
                .map(|(index, line)| LineView {
                    form_received: typed
                        .as_ref()
                        .and_then(|t| t.received.get(index).cloned())
                        .unwrap_or_else(|| text(&line["undelivered"])),
                    form_rejected: typed
                        .as_ref()
                        .and_then(|t| t.rejected.get(index).cloned())
                        .unwrap_or_else(|| "0".into()),
                    form_reason: typed.as_ref().and_then(|t| t.reasons.get(index).cloned()).unwrap_or_default(),
                    form_note: typed.as_ref().and_then(|t| t.notes.get(index).cloned()).unwrap_or_default(),
                    id: text(&line["id"]),
                    commodity: commodities
                        .iter()
                        .find(|(id, _)| *id == text(&line["commodityId"]))
                        .map(|(_, name)| name.clone())
                        .unwrap_or_default(),
                    quantity: number(&line["quantity"]),
                    unit_price: rupiah(&line["unitPrice"]),
                    received: number(&line["received"]),
                    accepted: number(&line["accepted"]),
                    rejected: number(&line["rejected"]),
                    undelivered_raw: text(&line["undelivered"]),
                    due: text(&line["dueDate"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let dispatches = order["dispatches"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|d| DispatchView {
                    dispatched_on: text(&d["dispatchedOn"]),
                    vehicle: text(&d["vehicle"]),
                    driver: text(&d["driver"]),
                    expected_arrival: text(&d["expectedArrival"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let confirmations = order["confirmations"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|c| ConfirmationView {
                    id: text(&c["id"]),
                    received_at: in_wib(&c["receivedAt"]),
                    receiver: text(&c["receiverName"]),
                    discrepancy: c["discrepancy"].as_bool().unwrap_or(false),
                    supplier_response: text(&c["supplierResponse"]),
                    lines: c["lines"]
                        .as_array()
                        .map(|lines| {
                            lines
                                .iter()
                                .map(|l| {
                                    let mut line = format!(
                                        "{} {} · {} {} · {} {}",
                                        page.t().received,
                                        number(&l["received"]),
                                        page.t().accepted,
                                        number(&l["accepted"]),
                                        page.t().rejected,
                                        number(&l["rejected"])
                                    );
                                    if !l["rejectionReason"].is_null() {
                                        line.push_str(&format!(
                                            " ({} {})",
                                            text(&l["rejectionReason"]),
                                            text(&l["rejectionNote"])
                                        ));
                                    }
                                    line
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let l = Layout::of(page, state).await.with_notice(notice);
    let refused = error.is_some();
    let mut response = render(&OrderPage {
        l,
        id: text(&order["id"]),
        number: text(&order["number"]),
        status: text(&order["status"]),
        status_label: status_label(&text(&order["status"]), page.language).to_owned(),
        labels: serde_json::to_string(&serde_json::Map::from_iter(
            ["ISSUED", "ACCEPTED", "DECLINED", "PARTIALLY_DELIVERED", "DELIVERED", "CLOSED", "CANCELLED"]
                .map(|code| (code.to_owned(), Value::String(status_label(code, page.language).to_owned()))),
        ))
        .unwrap_or_default(),
        supplier: text(&order["supplierName"]),
        cooperative: text(&order["cooperativeName"]),
        total: rupiah(&order["total"]),
        amount_due: rupiah(&order["amountDue"]),
        accept_by: in_wib(&order["acceptBy"]),
        decline_reason: text(&order["declineReason"]),
        lines,
        dispatches,
        confirmations,
        cooperative_view,
        today: domain::clock::date_in_wib(state.services.clock.now()).to_string(),
        error,
        reasons: rejection_reasons(page.language),
        form_receiver: typed.as_ref().map(|t| t.receiver.clone()).unwrap_or_default(),
        form_note: typed.as_ref().map(|t| t.note.clone()).unwrap_or_default(),
    });
    if response.status() == StatusCode::OK && refused {
        // The form was refused: a client (and a test) can tell from the status, a person from the message.
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// Commodity ids with their names in the page's language (the catalogue is small).
pub async fn commodity_names(page: &Page, state: &AppState) -> Vec<(String, String)> {
    let data = page
        .graphql(state, "query { commodities(first: 100) { edges { node { id nameId nameEn unit } } } }", json!({}))
        .await
        .unwrap_or(Value::Null);
    edges(&data["commodities"])
        .iter()
        .map(|c| {
            let name = if page.language == Language::English { &c["nameEn"] } else { &c["nameId"] };
            (text(&c["id"]), format!("{} ({})", text(name), unit(&text(&c["unit"]), page.language)))
        })
        .collect()
}

pub async fn order(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
) -> Response {
    order_page(&page, &state, &id, None, None).await
}

/// One kind of e-mail and whether the caller receives it.
pub struct PreferenceView {
    pub kind: String,
    pub label: String,
    pub enabled: bool,
    pub optional: bool,
}

pub struct DueView {
    pub party: String,
    pub ordered: String,
    pub due: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    l: Layout,
    preferences: Vec<PreferenceView>,
    dues: Vec<DueView>,
    cooperative_view: bool,
}

const SETTINGS: &str = "query { notificationPreferences { kind enabled optional } amountsDue { cooperativeId supplierId orderedTotal amountDue }
    purchaseOrders(first: 100) { edges { node { supplierId supplierName cooperativeId cooperativeName } } } }";

fn notification_label(kind: &str, language: Language) -> String {
    let english = language == Language::English;
    let label = match (kind, english) {
        ("TENDER_PUBLISHED", false) => "Tender baru dibuka",
        ("TENDER_PUBLISHED", true) => "A new tender opens",
        ("TENDER_CLOSING_SOON", false) => "Pengingat batas penawaran",
        ("TENDER_CLOSING_SOON", true) => "Bid deadline reminder",
        ("PRICE_ALERT", false) => "Peringatan harga",
        ("PRICE_ALERT", true) => "Price alerts",
        _ => "",
    };
    if label.is_empty() { kind.replace('_', " ").to_lowercase() } else { label.to_owned() }
}

pub async fn settings_page(page: &Page, state: &AppState, notice: Option<String>) -> Response {
    let Caller::Actor(actor) = &page.caller else {
        return to_login();
    };
    let cooperative_view = actor.organisation_kind == domain::organisation::OrganisationKind::Cooperative;
    let data = page.graphql(state, SETTINGS, json!({})).await.unwrap_or(Value::Null);
    let preferences = data["notificationPreferences"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|p| PreferenceView {
                    kind: text(&p["kind"]),
                    label: notification_label(&text(&p["kind"]), page.language),
                    enabled: p["enabled"] == true,
                    optional: p["optional"] == true,
                })
                .collect()
        })
        .unwrap_or_default();
    let orders = edges(&data["purchaseOrders"]);
    let name_of = |id: &Value, id_key: &str, name_key: &str| {
        orders.iter().find(|o| &o[id_key] == id).map(|o| text(&o[name_key])).unwrap_or_default()
    };
    let dues = data["amountsDue"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|d| DueView {
                    party: if cooperative_view {
                        name_of(&d["supplierId"], "supplierId", "supplierName")
                    } else {
                        name_of(&d["cooperativeId"], "cooperativeId", "cooperativeName")
                    },
                    ordered: rupiah(&d["orderedTotal"]),
                    due: rupiah(&d["amountDue"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let l = Layout::of(page, state).await.with_notice(notice);
    render(&SettingsPage { l, preferences, dues, cooperative_view })
}

pub async fn settings(State(state): State<AppState>, Extension(page): Extension<Page>) -> Response {
    settings_page(&page, &state, None).await
}

#[derive(Deserialize)]
pub struct PreferenceForm {
    kind: String,
    enabled: String,
}

pub async fn set_preference(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Form(form): Form<PreferenceForm>,
) -> Response {
    let result = page
        .graphql(
            &state,
            "mutation($k: NotificationKind!, $e: Boolean!) { setNotificationPreference(kind: $k, enabled: $e) { kind } }",
            json!({ "k": form.kind, "e": form.enabled == "true" }),
        )
        .await;
    let notice = match result {
        Ok(_) => page.t().done.to_owned(),
        Err(refusal) => explain(&page, &refusal),
    };
    settings_page(&page, &state, Some(notice)).await
}
