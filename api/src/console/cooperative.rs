//! The cooperative clerk's screens: open pools and their demand, the tender a pool became (status and deadline only),
//! and confirming a delivery — the task done most often, on a phone, next to a truck.

use askama::Template;
use axum::{
    Extension,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::clock::Language;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{
    Page, form_every as every, form_field as field, form_fields,
    pages::{
        Layout, OrderRow, edges, explain, left, not_found, number, order_outcome, order_page, order_page_typed,
        order_rows, render, text, typed_number, unit,
    },
    to_login,
};
use crate::state::AppState;

pub struct PoolRow {
    pub id: String,
    pub commodity: String,
    pub cutoff: String,
    pub cutoff_raw: String,
    pub cutoff_left: String,
    pub pooled: String,
    pub cooperatives: String,
}

#[derive(Template)]
#[template(path = "home_cooperative.html")]
struct Home {
    l: Layout,
    pools: Vec<PoolRow>,
    to_confirm: Vec<OrderRow>,
    orders: Vec<OrderRow>,
}

const HOME: &str = "query {
    demandPools(first: 20) { edges { node { id status cutoff pooledQuantity cooperativeCount
        commodity { nameId nameEn unit } } } }
    purchaseOrders(first: 50) { edges { node { id number status supplierName cooperativeName total amountDue } } } }";

fn commodity_name(commodity: &Value, language: Language) -> String {
    let name = if language == Language::English { &commodity["nameEn"] } else { &commodity["nameId"] };
    text(name)
}

pub async fn home(page: &Page, state: &AppState) -> Response {
    let data = page.graphql(state, HOME, json!({})).await.unwrap_or(Value::Null);
    let pools = edges(&data["demandPools"])
        .iter()
        .filter(|pool| pool["status"] == "OPEN")
        .map(|pool| PoolRow {
            id: text(&pool["id"]),
            commodity: commodity_name(&pool["commodity"], page.language),
            cutoff: super::pages::in_wib(&pool["cutoff"]),
            cutoff_raw: text(&pool["cutoff"]),
            cutoff_left: left(state, &pool["cutoff"], page.language),
            pooled: format!(
                "{} {}",
                number(&pool["pooledQuantity"]),
                unit(&text(&pool["commodity"]["unit"]), page.language)
            ),
            cooperatives: text(&pool["cooperativeCount"]),
        })
        .collect();
    let orders = order_rows(&data["purchaseOrders"], true, page.language);
    let (to_confirm, orders): (Vec<_>, Vec<_>) =
        orders.into_iter().partition(|o| o.status == "ACCEPTED" || o.status == "PARTIALLY_DELIVERED");
    render(&Home { l: Layout::of(page, state).await, pools, to_confirm, orders })
}

pub struct DemandRow {
    pub id: String,
    pub quantity: String,
    pub quantity_raw: String,
    pub wanted_date: String,
    pub delivery_point: String,
}

pub struct TenderRow {
    pub title: String,
    pub status: String,
    pub status_label: String,
    pub deadline: String,
    pub deadline_raw: String,
    pub deadline_left: String,
}

#[derive(Template)]
#[template(path = "pool.html")]
struct PoolPage {
    l: Layout,
    id: String,
    commodity: String,
    unit: String,
    status: String,
    status_label: String,
    open: bool,
    cutoff: String,
    cutoff_raw: String,
    cutoff_left: String,
    pooled: String,
    cooperatives: String,
    season: String,
    allocation_left: Option<String>,
    demand: Vec<DemandRow>,
    delivery_points: Vec<(String, String)>,
    tenders: Vec<TenderRow>,
    quantity: String,
    wanted_date: String,
    error: Option<String>,
    error_field: String,
}

const POOL: &str = "query($id: ID!, $coop: ID!) {
    demandPool(id: $id) { id status cutoff season pooledQuantity cooperativeCount deliveryFirstDay
        commodity { id code nameId nameEn unit }
        lines { id quantity wantedDate deliveryPointId } }
    organisation(id: $coop) { deliveryPoints { id name } }
    fertiliserAllocations(cooperativeId: $coop) { season quantity commodity { id } }
    tenders(first: 50) { edges { node { title status deadline poolId } } } }";

/// The pool page, optionally keeping what was typed and showing why it was refused.
async fn pool_page(
    page: &Page,
    state: &AppState,
    id: &str,
    typed: Option<(String, String, String, Option<String>)>,
) -> Response {
    let super::Caller::Actor(actor) = &page.caller else {
        return to_login();
    };
    let variables = json!({ "id": id, "coop": actor.organisation_id.to_string() });
    let Ok(data) = page.graphql(state, POOL, variables).await else {
        return not_found(page, state).await;
    };
    let pool = &data["demandPool"];
    if pool.is_null() {
        return not_found(page, state).await;
    }
    let unit_name = unit(&text(&pool["commodity"]["unit"]), page.language).to_owned();
    let points: Vec<(String, String)> = data["organisation"]["deliveryPoints"]
        .as_array()
        .map(|points| points.iter().map(|p| (text(&p["id"]), text(&p["name"]))).collect())
        .unwrap_or_default();
    let lines = pool["lines"].as_array().cloned().unwrap_or_default();
    let own_total: Decimal = lines.iter().map(|l| super::pages::decimal(&l["quantity"])).sum();
    let season = text(&pool["season"]);
    // The RDKK allocation of this commodity and season, less what this cooperative asks for in this pool.
    let allocation_left = data["fertiliserAllocations"].as_array().and_then(|allocations| {
        allocations
            .iter()
            .find(|a| text(&a["season"]) == season && a["commodity"]["id"] == pool["commodity"]["id"])
            .map(|a| {
                let left = super::pages::decimal(&a["quantity"]) - own_total;
                format!("{} {unit_name}", domain::money::indonesian_number(left))
            })
    });
    let demand = lines
        .iter()
        .map(|line| DemandRow {
            id: text(&line["id"]),
            quantity: format!("{} {unit_name}", number(&line["quantity"])),
            quantity_raw: text(&line["quantity"]),
            wanted_date: text(&line["wantedDate"]),
            delivery_point: points
                .iter()
                .find(|(point, _)| *point == text(&line["deliveryPointId"]))
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
        })
        .collect();
    let tenders = edges(&data["tenders"])
        .iter()
        .filter(|t| t["poolId"] == pool["id"])
        .map(|t| TenderRow {
            title: text(&t["title"]),
            status: text(&t["status"]),
            status_label: super::pages::status_label(&text(&t["status"]), page.language).to_owned(),
            deadline: super::pages::in_wib(&t["deadline"]),
            deadline_raw: text(&t["deadline"]),
            deadline_left: left(state, &t["deadline"], page.language),
        })
        .collect();
    let refused = typed.as_ref().is_some_and(|t| t.3.is_some());
    let (quantity, wanted_date, error_field, error) =
        typed.unwrap_or_else(|| (String::new(), text(&pool["deliveryFirstDay"]), String::new(), None));
    let mut response = render(&PoolPage {
        l: Layout::of(page, state).await,
        id: text(&pool["id"]),
        commodity: commodity_name(&pool["commodity"], page.language),
        unit: unit_name.clone(),
        status: text(&pool["status"]),
        status_label: super::pages::status_label(&text(&pool["status"]), page.language).to_owned(),
        open: pool["status"] == "OPEN",
        cutoff: super::pages::in_wib(&pool["cutoff"]),
        cutoff_raw: text(&pool["cutoff"]),
        cutoff_left: left(state, &pool["cutoff"], page.language),
        pooled: format!("{} {unit_name}", number(&pool["pooledQuantity"])),
        cooperatives: text(&pool["cooperativeCount"]),
        season,
        allocation_left,
        demand,
        delivery_points: points,
        tenders,
        quantity,
        wanted_date,
        error,
        error_field,
    });
    if refused {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

pub async fn pool(State(state): State<AppState>, Extension(page): Extension<Page>, Path(id): Path<String>) -> Response {
    pool_page(&page, &state, &id, None).await
}

pub async fn add_demand(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_fields(&body);
    let (quantity, wanted_date, point) =
        (field(&form, "quantity"), field(&form, "wanted_date"), field(&form, "delivery_point"));
    let input = json!({ "poolId": id, "deliveryPointId": point, "quantity": typed_number(&quantity), "wantedDate": wanted_date });
    let result = page
        .graphql(&state, "mutation($i: DemandLineInput!) { addDemandLine(input: $i) { id } }", json!({ "i": input }))
        .await;
    match result {
        Ok(_) => Redirect::to(&format!("/pools/{id}")).into_response(),
        Err(refusal) => {
            let field = refusal.field.clone().unwrap_or_default();
            let message = explain(&page, &refusal);
            pool_page(&page, &state, &id, Some((quantity, wanted_date, field, Some(message)))).await
        }
    }
}

pub async fn change_demand(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(line_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_fields(&body);
    let pool_id = field(&form, "pool");
    let result = if field(&form, "action") == "remove" {
        page.graphql(&state, "mutation($id: ID!) { removeDemandLine(id: $id) }", json!({ "id": line_id })).await
    } else {
        let changes = json!({ "quantity": typed_number(&field(&form, "quantity")) });
        page.graphql(
            &state,
            "mutation($id: ID!, $c: DemandLineChanges!) { changeDemandLine(id: $id, changes: $c) { id } }",
            json!({ "id": line_id, "c": changes }),
        )
        .await
    };
    match result {
        Ok(_) => Redirect::to(&format!("/pools/{pool_id}")).into_response(),
        Err(refusal) => {
            let message = explain(&page, &refusal);
            pool_page(&page, &state, &pool_id, Some((String::new(), String::new(), String::new(), Some(message)))).await
        }
    }
}

/// Confirms what arrived, line by line: received, and of it rejected with a reason; the rest is accepted.
pub async fn confirm_delivery(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_fields(&body);
    let (lines, received, rejected) = (every(&form, "line"), every(&form, "received"), every(&form, "rejected"));
    let (reasons, notes) = (every(&form, "reason"), every(&form, "rejection_note"));
    let typed = super::pages::ReceiptTyped {
        received: received.clone(),
        rejected: rejected.clone(),
        reasons: reasons.clone(),
        notes: notes.clone(),
        receiver: field(&form, "receiver"),
        note: field(&form, "note"),
    };
    let decimal = |text: &str| typed_number(text).parse::<Decimal>().ok();
    let mut inputs = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let got = received.get(index).map(String::as_str).unwrap_or("");
        let refused = rejected.get(index).map(String::as_str).unwrap_or("0");
        let (Some(got), Some(refused)) = (decimal(got), decimal(if refused.is_empty() { "0" } else { refused })) else {
            let message = if page.language == Language::English {
                "Quantities must be numbers, e.g. 1000 or 1000,5."
            } else {
                "Jumlah harus berupa angka, misalnya 1000 atau 1000,5."
            };
            return order_page_typed(&page, &state, &id, Some(message.to_owned()), None, Some(typed)).await;
        };
        let reason = reasons.get(index).filter(|r| !r.is_empty());
        let note = notes.get(index).filter(|n| !n.is_empty());
        inputs.push(json!({
            "orderLineId": line,
            "received": got.to_string(),
            "accepted": (got - refused).to_string(),
            "rejected": refused.to_string(),
            "rejectionReason": reason,
            "rejectionNote": note,
        }));
    }
    let note = field(&form, "note");
    let input = json!({
        "orderId": id,
        "receivedAt": state.services.clock.now().to_rfc3339(),
        "receiverName": field(&form, "receiver"),
        "note": if note.is_empty() { Value::Null } else { Value::String(note) },
        "lines": inputs,
    });
    let result = page
        .graphql(
            &state,
            "mutation($i: ConfirmDeliveryInput!) { confirmDelivery(input: $i) { status } }",
            json!({ "i": input }),
        )
        .await;
    match result {
        Ok(_) => order_page(&page, &state, &id, None, Some(page.t().done.to_owned())).await,
        Err(refusal) => order_page_typed(&page, &state, &id, Some(explain(&page, &refusal)), None, Some(typed)).await,
    }
}

/// Closes a delivered order, or short-closes a partly delivered one with a reason.
pub async fn close_order(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_fields(&body);
    let reason = field(&form, "reason");
    let result = if reason.is_empty() {
        page.graphql(&state, "mutation($id: ID!) { closePurchaseOrder(id: $id) { status } }", json!({ "id": id })).await
    } else {
        page.graphql(
            &state,
            "mutation($id: ID!, $r: String!) { shortClosePurchaseOrder(id: $id, reason: $r) { status } }",
            json!({ "id": id, "r": reason }),
        )
        .await
    };
    order_outcome(&page, &state, &id, result).await
}
