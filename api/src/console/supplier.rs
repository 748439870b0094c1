//! The supplier's sales officer: open tenders with a live countdown, sealed bids and their receipts, results after
//! the close, and purchase orders to accept, decline, dispatch and answer.

use askama::Template;
use axum::{
    Extension,
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::clock::Language;
use serde_json::{Value, json};

use super::{
    Page, form_every, form_field as field, form_fields,
    pages::{
        Layout, OrderRow, edges, explain, in_wib, left, not_found, number, order_outcome, order_rows, render, rupiah,
        text, typed_number, unit,
    },
    to_login,
};
use crate::state::AppState;

pub struct TenderRow {
    pub id: String,
    pub title: String,
    pub commodity: String,
    pub deadline: String,
    pub deadline_raw: String,
    pub deadline_left: String,
}

pub struct PerformanceView {
    pub fill_rate: String,
    pub on_time_rate: String,
    pub rejection_rate: String,
    pub orders: String,
}

#[derive(Template)]
#[template(path = "home_supplier.html")]
struct Home {
    l: Layout,
    tenders: Vec<TenderRow>,
    to_act: Vec<OrderRow>,
    orders: Vec<OrderRow>,
    performance: Option<PerformanceView>,
}

const HOME: &str = "query {
    tenders(first: 50, status: OPEN) { edges { node { id title deadline commodity { nameId nameEn } } } }
    purchaseOrders(first: 50) { edges { node { id number status supplierName cooperativeName total amountDue } } }
    supplierPerformance { orders fillRate onTimeRate rejectionRate } }";

fn percent(value: &Value) -> String {
    if value.is_null() {
        return "–".into();
    }
    let ratio = super::pages::decimal(value) * rust_decimal::Decimal::from(100);
    format!("{} %", domain::money::indonesian_number(ratio.round_dp(1)))
}

pub async fn home(page: &Page, state: &AppState) -> Response {
    let data = page.graphql(state, HOME, json!({})).await.unwrap_or(Value::Null);
    let tenders = edges(&data["tenders"])
        .iter()
        .map(|t| TenderRow {
            id: text(&t["id"]),
            title: text(&t["title"]),
            commodity: text(if page.language == Language::English {
                &t["commodity"]["nameEn"]
            } else {
                &t["commodity"]["nameId"]
            }),
            deadline: in_wib(&t["deadline"]),
            deadline_raw: text(&t["deadline"]),
            deadline_left: left(state, &t["deadline"], page.language),
        })
        .collect();
    let orders = order_rows(&data["purchaseOrders"], false, page.language);
    let (to_act, orders): (Vec<_>, Vec<_>) =
        orders.into_iter().partition(|o| o.status == "ISSUED" || o.status == "ACCEPTED");
    let performance = data["supplierPerformance"].as_array().and_then(|rows| rows.first()).map(|p| PerformanceView {
        fill_rate: percent(&p["fillRate"]),
        on_time_rate: percent(&p["onTimeRate"]),
        rejection_rate: percent(&p["rejectionRate"]),
        orders: text(&p["orders"]),
    });
    render(&Home { l: Layout::of(page, state).await, tenders, to_act, orders, performance })
}

/// What the officer typed into a lot's bid form, kept when the bid is refused.
pub struct Typed {
    pub lot: String,
    pub price: String,
    pub quantity: String,
    pub lead: String,
    pub validity: String,
}

pub struct LotView {
    /// What the lot's bid form shows: what was typed (when refused), else the standing bid, else defaults.
    pub form: (String, String, String, String),
    pub refused_here: bool,
    pub id: String,
    pub number: String,
    pub kecamatan: String,
    pub quantity: String,
    pub ceiling: String,
    pub outcome: String,
    pub destinations: Vec<String>,
    pub my_bid: Option<BidView>,
}

pub struct BidView {
    pub id: String,
    pub status: String,
    pub version: String,
    pub unit_price: String,
    pub unit_price_raw: String,
    pub quantity: String,
    pub quantity_raw: String,
    pub lead_time_days: String,
    pub validity_days: String,
    pub received_at: String,
    pub commitment_hash: String,
    pub rank: String,
    pub awarded_quantity: String,
    pub rejection: String,
    pub history: Vec<String>,
}

pub struct Receipt {
    pub bid_id: String,
    pub action: String,
    pub version: String,
    pub received_at: String,
    pub commitment_hash: String,
}

#[derive(Template)]
#[template(path = "tender.html")]
struct TenderPage {
    l: Layout,
    id: String,
    title: String,
    commodity: String,
    unit: String,
    status: String,
    status_label: String,
    open: bool,
    closed: bool,
    deadline: String,
    deadline_raw: String,
    deadline_left: String,
    minimum: String,
    lots: Vec<LotView>,
    receipt: Option<Receipt>,
    error: Option<String>,
}

const TENDER: &str = "query($id: ID!) { tender(id: $id) {
    id title status deadline partialBidsAllowed minPartialQuantity commodity { nameId nameEn unit }
    lots { id number kecamatan quantity maxUnitPrice outcome
        destinations { deliveryPoint { name kecamatan } quantity earliestWantedDate } }
    myBids { id lotId status version unitPrice quantity leadTimeDays validityDays receivedAt commitmentHash
        rank awardedQuantity rejection } } }";

async fn tender_page(
    page: &Page,
    state: &AppState,
    id: &str,
    receipt: Option<Receipt>,
    error: Option<String>,
    typed: Option<Typed>,
) -> Response {
    if !page.is_logged_in() {
        return to_login();
    }
    let Ok(data) = page.graphql(state, TENDER, json!({ "id": id })).await else {
        return not_found(page, state).await;
    };
    let tender = &data["tender"];
    if tender.is_null() {
        return not_found(page, state).await;
    }
    let unit_name = unit(&text(&tender["commodity"]["unit"]), page.language).to_owned();
    let my_bids = tender["myBids"].as_array().cloned().unwrap_or_default();
    let mut lots = Vec::new();
    for lot in tender["lots"].as_array().cloned().unwrap_or_default() {
        let mine = my_bids.iter().find(|b| b["lotId"] == lot["id"]);
        let my_bid = match mine {
            None => None,
            Some(bid) => {
                let history = page
                    .graphql(
                        state,
                        "query($id: ID!) { bidHistory(bidId: $id) { version action unitPrice quantity receivedAt } }",
                        json!({ "id": bid["id"] }),
                    )
                    .await
                    .ok()
                    .and_then(|h| h["bidHistory"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|v| {
                        format!(
                            "v{} {} · {} × {} · {}",
                            text(&v["version"]),
                            text(&v["action"]),
                            rupiah(&v["unitPrice"]),
                            number(&v["quantity"]),
                            in_wib(&v["receivedAt"])
                        )
                    })
                    .collect();
                Some(BidView {
                    id: text(&bid["id"]),
                    status: text(&bid["status"]),
                    version: text(&bid["version"]),
                    unit_price: rupiah(&bid["unitPrice"]),
                    unit_price_raw: text(&bid["unitPrice"]),
                    quantity: format!("{} {unit_name}", number(&bid["quantity"])),
                    quantity_raw: text(&bid["quantity"]),
                    lead_time_days: text(&bid["leadTimeDays"]),
                    validity_days: text(&bid["validityDays"]),
                    received_at: in_wib(&bid["receivedAt"]),
                    commitment_hash: text(&bid["commitmentHash"]),
                    rank: text(&bid["rank"]),
                    awarded_quantity: if bid["awardedQuantity"].is_null() {
                        String::new()
                    } else {
                        format!("{} {unit_name}", number(&bid["awardedQuantity"]))
                    },
                    rejection: text(&bid["rejection"]),
                    history,
                })
            }
        };
        let lot_id = text(&lot["id"]);
        let form = match (&typed, &my_bid) {
            (Some(typed), _) if typed.lot == lot_id => {
                (typed.price.clone(), typed.quantity.clone(), typed.lead.clone(), typed.validity.clone())
            }
            (_, Some(bid)) => (
                bid.unit_price_raw.clone(),
                bid.quantity_raw.clone(),
                bid.lead_time_days.clone(),
                bid.validity_days.clone(),
            ),
            _ => (String::new(), text(&lot["quantity"]), "7".into(), "30".into()),
        };
        lots.push(LotView {
            refused_here: typed.as_ref().is_some_and(|t| t.lot == lot_id) && error.is_some(),
            form,
            id: lot_id,
            number: text(&lot["number"]),
            kecamatan: text(&lot["kecamatan"]),
            quantity: format!("{} {unit_name}", number(&lot["quantity"])),
            ceiling: rupiah(&lot["maxUnitPrice"]),
            outcome: text(&lot["outcome"]),
            destinations: lot["destinations"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .map(|d| {
                            format!(
                                "{} ({}) · {} {unit_name} · {}",
                                text(&d["deliveryPoint"]["name"]),
                                text(&d["deliveryPoint"]["kecamatan"]),
                                number(&d["quantity"]),
                                text(&d["earliestWantedDate"])
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            my_bid,
        });
    }
    let status = text(&tender["status"]);
    let refused = error.is_some();
    let mut response = render(&TenderPage {
        l: Layout::of(page, state).await,
        id: text(&tender["id"]),
        title: text(&tender["title"]),
        commodity: text(if page.language == Language::English {
            &tender["commodity"]["nameEn"]
        } else {
            &tender["commodity"]["nameId"]
        }),
        unit: unit_name.clone(),
        status_label: super::pages::status_label(&status, page.language).to_owned(),
        open: status == "OPEN",
        closed: matches!(status.as_str(), "CLOSED" | "AWARDED" | "UNSUCCESSFUL"),
        status,
        deadline: in_wib(&tender["deadline"]),
        deadline_raw: text(&tender["deadline"]),
        deadline_left: left(state, &tender["deadline"], page.language),
        minimum: if tender["partialBidsAllowed"] == true && !tender["minPartialQuantity"].is_null() {
            format!("{} {unit_name}", number(&tender["minPartialQuantity"]))
        } else {
            String::new()
        },
        lots,
        receipt,
        error,
    });
    if refused {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

pub async fn tender(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
) -> Response {
    tender_page(&page, &state, &id, None, None, None).await
}

/// Submits, revises or withdraws a sealed bid, then shows its receipt.
pub async fn bid(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(tender_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_fields(&body);
    // Both notations: `1637.50`, and as Indonesians write it, `1.637,50`.
    let number = |name: &str| typed_number(&field(&form, name));
    let offer = json!({
        "unitPrice": number("unit_price"),
        "quantity": number("quantity"),
        "leadTimeDays": field(&form, "lead_time_days").parse::<i64>().unwrap_or(-1),
        "validityDays": field(&form, "validity_days").parse::<i64>().unwrap_or(-1),
    });
    const RECEIPT: &str = "{ bidId version action receivedAt commitmentHash }";
    let (mutation, variables, key) = match field(&form, "action").as_str() {
        "withdraw" => (
            format!("mutation($id: ID!) {{ withdrawBid(bidId: $id) {RECEIPT} }}"),
            json!({ "id": field(&form, "bid") }),
            "withdrawBid",
        ),
        "revise" => (
            format!("mutation($i: ReviseBidInput!) {{ reviseBid(input: $i) {RECEIPT} }}"),
            json!({ "i": { "bidId": field(&form, "bid"), "offer": offer } }),
            "reviseBid",
        ),
        _ => (
            format!("mutation($i: SubmitBidInput!) {{ submitBid(input: $i) {RECEIPT} }}"),
            json!({ "i": { "lotId": field(&form, "lot"), "offer": offer } }),
            "submitBid",
        ),
    };
    match page.graphql(&state, &mutation, variables).await {
        Ok(data) => {
            let r = &data[key];
            let receipt = Receipt {
                bid_id: text(&r["bidId"]),
                action: text(&r["action"]),
                version: text(&r["version"]),
                received_at: in_wib(&r["receivedAt"]),
                commitment_hash: text(&r["commitmentHash"]),
            };
            tender_page(&page, &state, &tender_id, Some(receipt), None, None).await
        }
        Err(refusal) => {
            let typed = Typed {
                lot: field(&form, "form_lot"),
                price: field(&form, "unit_price"),
                quantity: field(&form, "quantity"),
                lead: field(&form, "lead_time_days"),
                validity: field(&form, "validity_days"),
            };
            tender_page(&page, &state, &tender_id, None, Some(explain(&page, &refusal)), Some(typed)).await
        }
    }
}

/// A bid's receipt as a text file to keep: every version with its server time and commitment hash.
pub async fn receipt_download(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(bid_id): Path<String>,
) -> Response {
    if !page.is_logged_in() {
        return to_login();
    }
    let query = "query($id: ID!) { bidHistory(bidId: $id) { version action unitPrice quantity leadTimeDays validityDays receivedAt commitmentHash } }";
    let versions = page
        .graphql(&state, query, json!({ "id": bid_id }))
        .await
        .ok()
        .and_then(|data| data["bidHistory"].as_array().cloned())
        .unwrap_or_default();
    if versions.is_empty() {
        return not_found(&page, &state).await;
    }
    let mut lines = vec![format!("Lumbung — tanda terima penawaran / bid receipt\nBid: {bid_id}\n")];
    for v in &versions {
        lines.push(format!(
            "Versi/version {} {}\n  harga satuan/unit price {}  jumlah/quantity {}  {} hari/days  berlaku/valid {} hari/days\n  waktu server/server time {} ({})\n  SHA-256 {}\n",
            text(&v["version"]),
            text(&v["action"]),
            text(&v["unitPrice"]),
            text(&v["quantity"]),
            text(&v["leadTimeDays"]),
            text(&v["validityDays"]),
            in_wib(&v["receivedAt"]),
            text(&v["receivedAt"]),
            text(&v["commitmentHash"]),
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"bid-{bid_id}.txt\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        lines.join("\n"),
    )
        .into_response()
}

pub async fn accept_order(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
) -> Response {
    let result = page
        .graphql(&state, "mutation($id: ID!) { acceptPurchaseOrder(id: $id) { status } }", json!({ "id": id }))
        .await;
    order_outcome(&page, &state, &id, result).await
}

pub async fn decline_order(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let reason = field(&form_fields(&body), "reason");
    let result = page
        .graphql(
            &state,
            "mutation($id: ID!, $r: String!) { declinePurchaseOrder(id: $id, reason: $r) { status } }",
            json!({ "id": id, "r": reason }),
        )
        .await;
    order_outcome(&page, &state, &id, result).await
}

pub async fn record_dispatch(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_fields(&body);
    let quantities = form_every(&form, "quantity");
    let lines: Vec<Value> = form_every(&form, "line")
        .into_iter()
        .zip(quantities)
        .map(|(line, quantity)| json!({ "orderLineId": line, "quantity": typed_number(&quantity) }))
        .collect();
    let input = json!({
        "orderId": id,
        "dispatchedOn": field(&form, "dispatched_on"),
        "expectedArrival": field(&form, "expected_arrival"),
        "vehicle": field(&form, "vehicle"),
        "driver": field(&form, "driver"),
        "lines": lines,
    });
    let result = page
        .graphql(&state, "mutation($i: DispatchInput!) { recordDispatch(input: $i) { status } }", json!({ "i": input }))
        .await;
    order_outcome(&page, &state, &id, result).await
}

pub async fn answer_discrepancy(
    State(state): State<AppState>,
    Extension(page): Extension<Page>,
    Path(confirmation_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_fields(&body);
    let order_id = field(&form, "order");
    let result = page
        .graphql(
            &state,
            "mutation($id: ID!, $r: String!) { answerDiscrepancy(confirmationId: $id, response: $r) }",
            json!({ "id": confirmation_id, "r": field(&form, "response") }),
        )
        .await;
    order_outcome(&page, &state, &order_id, result).await
}
