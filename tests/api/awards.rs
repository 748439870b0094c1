//! The award that stands: after any sequence of declines, re-awards, cancellations and acceptances, every read tells
//! the same story as the purchase orders that count — bids, the lot, allocations, amounts due, award price
//! indicators, concentration and the OCDS export (which records each change as an amendment).
//!
//! A property test: proptest draws the sequences; each runs against a real server with its own database (SQLite, or
//! PostgreSQL with `TEST_DATABASE_URL`).

use std::collections::BTreeMap;

use chrono::Duration;
use lumbung_tests::Login;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::{ordering::awarded_season, prices::assert_valid_package, tendering::Season};

const ORDERS: &str = "{ purchaseOrders(first: 100) { edges { node { id number status cooperativeId supplierId total
    replacedByOrderId lines { quantity unitPrice } } } } }";

const TENDER: &str = "query($id: ID!) { tender(id: $id) { lots { quantity awardedQuantity totalCost
    bids { supplierId awardedQuantity unitPrice } } allocations { cooperativeId supplierId quantity unitPrice } } }";

#[derive(Debug, Clone, Copy)]
enum Step {
    /// The order's supplier declines it.
    Decline(usize),
    /// The order's supplier accepts it.
    Accept(usize),
    /// The agency re-awards it (refused unless declined or overdue).
    ReAward(usize),
    /// The agency cancels it.
    Cancel(usize),
    /// Two days pass: orders not accepted become overdue.
    Wait,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..8_usize).prop_map(Step::Decline),
        1 => (0..8_usize).prop_map(Step::Accept),
        3 => (0..8_usize).prop_map(Step::ReAward),
        1 => (0..8_usize).prop_map(Step::Cancel),
        1 => Just(Step::Wait),
    ]
}

fn decimal(value: &Value) -> Decimal {
    value.as_str().map_or(Decimal::ZERO, |text| text.parse().unwrap())
}

fn counts(order: &Value) -> bool {
    !matches!(order["status"].as_str(), Some("DECLINED" | "CANCELLED"))
}

fn quantity_of(order: &Value) -> Decimal {
    order["lines"].as_array().unwrap().iter().map(|line| decimal(&line["quantity"])).sum()
}

async fn orders(season: &Season) -> Vec<Value> {
    let mut orders: Vec<Value> = season.gql(&season.agency, ORDERS, json!({})).await.data()["purchaseOrders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect();
    orders.sort_by(|a, b| a["number"].as_str().cmp(&b["number"].as_str()));
    orders
}

fn supplier<'a>(season: &'a Season, organisation_id: &str) -> &'a Login {
    [&season.supplier_a, &season.bumn, &season.supplier_b, &season.supplier_c, &season.supplier_d]
        .into_iter()
        .find(|login| login.organisation_id == organisation_id)
        .unwrap()
}

/// Takes one step; a refusal is an answer too (with a client code), and must change nothing the checks can see.
async fn take(season: &Season, step: Step) {
    let all = orders(season).await;
    let pick = |index: usize, wanted: &dyn Fn(&Value) -> bool| {
        let candidates: Vec<&Value> = all.iter().filter(|o| wanted(o)).collect();
        (!candidates.is_empty()).then(|| candidates[index % candidates.len()].clone())
    };
    let answer = match step {
        Step::Wait => {
            season.app.clock.advance(Duration::days(2) + Duration::minutes(1));
            return;
        }
        Step::Decline(index) => {
            let Some(order) = pick(index, &|o| o["status"] == "ISSUED") else { return };
            let who = supplier(season, order["supplierId"].as_str().unwrap());
            let decline = "mutation($id: ID!) { declinePurchaseOrder(id: $id, reason: \"stok habis\") { status } }";
            season.gql(who, decline, json!({ "id": order["id"] })).await
        }
        Step::Accept(index) => {
            let Some(order) = pick(index, &|o| o["status"] == "ISSUED") else { return };
            let who = supplier(season, order["supplierId"].as_str().unwrap());
            season
                .gql(
                    who,
                    "mutation($id: ID!) { acceptPurchaseOrder(id: $id) { status } }",
                    json!({ "id": order["id"] }),
                )
                .await
        }
        Step::ReAward(index) => {
            let Some(order) = pick(index, &|o| {
                o["replacedByOrderId"].is_null() && matches!(o["status"].as_str(), Some("DECLINED" | "ISSUED"))
            }) else {
                return;
            };
            let re_award = "mutation($id: ID!) { reAwardPurchaseOrder(id: $id, reason: \"dialihkan\") { id } }";
            season.gql(&season.agency, re_award, json!({ "id": order["id"] })).await
        }
        Step::Cancel(index) => {
            let Some(order) = pick(index, &|o| counts(o)) else { return };
            let cancel = "mutation($id: ID!) { cancelPurchaseOrder(id: $id, reason: \"dibatalkan dinas\") { status } }";
            season.gql(&season.agency, cancel, json!({ "id": order["id"] })).await
        }
    };
    if answer.refused() {
        let code = answer.error_code();
        assert!(matches!(code.as_str(), "CONFLICT" | "BAD_USER_INPUT"), "{step:?}: {}", answer.body);
    }
}

/// Every read against the orders that count.
async fn assert_one_story(season: &Season, tender_id: &str, steps: &[Step]) {
    let all = orders(season).await;
    let counting: Vec<&Value> = all.iter().filter(|o| counts(o)).collect();
    let ordered: Decimal = counting.iter().map(|o| quantity_of(o)).sum();
    let cost: Decimal = counting.iter().map(|o| decimal(&o["total"])).sum();
    let mut per_supplier: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut per_pair: BTreeMap<(String, String), (Decimal, Decimal)> = BTreeMap::new();
    for order in &counting {
        let supplier = order["supplierId"].as_str().unwrap().to_owned();
        *per_supplier.entry(supplier.clone()).or_default() += quantity_of(order);
        let pair = per_pair.entry((order["cooperativeId"].as_str().unwrap().to_owned(), supplier)).or_default();
        pair.0 += quantity_of(order);
        pair.1 += decimal(&order["total"]);
    }

    // The tender: the lot, each bid, the allocations.
    let tender = season.gql(&season.agency, TENDER, json!({ "id": tender_id })).await;
    let tender = &tender.data()["tender"];
    let lot = &tender["lots"][0];
    assert!(decimal(&lot["awardedQuantity"]) <= decimal(&lot["quantity"]), "{steps:?}: {lot}");
    assert_eq!(decimal(&lot["awardedQuantity"]), ordered, "{steps:?}: lot {lot}");
    assert_eq!(decimal(&lot["totalCost"]), cost, "{steps:?}: lot {lot}");
    for bid in lot["bids"].as_array().unwrap() {
        let expected = per_supplier.get(bid["supplierId"].as_str().unwrap()).copied().unwrap_or_default();
        assert_eq!(decimal(&bid["awardedQuantity"]), expected, "{steps:?}: bid {bid}");
    }
    let mut allocated: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for allocation in tender["allocations"].as_array().unwrap() {
        let supplier = allocation["supplierId"].as_str().unwrap();
        let bid = lot["bids"].as_array().unwrap().iter().find(|b| b["supplierId"] == supplier).unwrap();
        assert_eq!(allocation["unitPrice"], bid["unitPrice"], "{steps:?}: an allocation at its supplier's price");
        *allocated
            .entry((allocation["cooperativeId"].as_str().unwrap().to_owned(), supplier.to_owned()))
            .or_default() += decimal(&allocation["quantity"]);
    }
    let expected: BTreeMap<(String, String), Decimal> = per_pair.iter().map(|(k, v)| (k.clone(), v.0)).collect();
    assert_eq!(allocated, expected, "{steps:?}: allocations");

    // What each cooperative owes each supplier, as ordered.
    let due = season.gql(&season.agency, "{ amountsDue { cooperativeId supplierId orderedTotal } }", json!({})).await;
    let owed: BTreeMap<(String, String), Decimal> = due.data()["amountsDue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let key = (d["cooperativeId"].as_str().unwrap().to_owned(), d["supplierId"].as_str().unwrap().to_owned());
            (key, decimal(&d["orderedTotal"]))
        })
        .collect();
    let expected: BTreeMap<(String, String), Decimal> = per_pair.iter().map(|(k, v)| (k.clone(), v.1)).collect();
    assert_eq!(owed, expected, "{steps:?}: amounts due");

    // The award price indicators count each counting line once, at its price.
    let indicators = season
        .gql(
            &season.agency,
            "query($i: PriceQueryInput!) { priceIndicators(input: $i) { quantity weightedMean count } }",
            json!({ "i": { "commodityCode": "UREA-SUB", "period": "MONTH", "from": "2026-11-01", "to": "2027-01-31" } }),
        )
        .await;
    let rows = indicators.data()["priceIndicators"].as_array().unwrap().clone();
    let observed: Decimal = rows.iter().map(|r| decimal(&r["quantity"])).sum();
    assert_eq!(observed, ordered, "{steps:?}: award observations {rows:?}");
    let lines: u64 = counting.iter().map(|o| o["lines"].as_array().unwrap().len() as u64).sum();
    assert_eq!(rows.iter().map(|r| r["count"].as_u64().unwrap_or(0)).sum::<u64>(), lines, "{steps:?}: {rows:?}");
    let paid: Decimal = rows.iter().map(|r| decimal(&r["weightedMean"]) * decimal(&r["quantity"])).sum();
    assert!((paid - cost).abs() <= ordered * Decimal::new(1, 2), "{steps:?}: {paid} paid against {cost} ordered");

    // Concentration: the same shares as the orders.
    let report = season.gql(&season.agency, "{ tenderRedFlags { concentration { kecamatan hhi } } }", json!({})).await;
    let concentration = report.data()["tenderRedFlags"]["concentration"].as_array().unwrap().clone();
    if ordered.is_zero() {
        assert!(concentration.is_empty(), "{steps:?}: {concentration:?}");
    } else {
        let hhi: Decimal = per_supplier
            .values()
            .filter(|q| !q.is_zero())
            .map(|q| {
                let share = *q / ordered * Decimal::ONE_HUNDRED;
                share * share
            })
            .sum();
        assert_eq!(concentration.len(), 1, "{steps:?}: {concentration:?}");
        assert!(
            (decimal(&concentration[0]["hhi"]) - hhi).abs() < Decimal::ONE,
            "{steps:?}: {concentration:?} vs {hhi}"
        );
    }

    // The OCDS export: the latest awards match the bids; the first award release keeps the award as first made.
    let url = format!("{}/exports/ocds/{tender_id}.json", season.app.address);
    let package: Value =
        season.app.client.get(url).bearer_auth(&season.agency.access_token).send().await.unwrap().json().await.unwrap();
    assert_valid_package(&package);
    let releases = package["releases"].as_array().unwrap();
    let first = releases.iter().find(|r| r["tag"][0] == "award").unwrap();
    let update = releases.iter().find(|r| r["tag"][0] == "awardUpdate");
    let changed = all.iter().any(|o| !counts(o) || o["replacedByOrderId"].is_string());
    assert_eq!(update.is_some(), changed, "{steps:?}: an awardUpdate release exactly when the award changed");
    let latest = update.unwrap_or(first);
    // Later releases (contracts) carry the awards as they stand.
    for release in releases.iter().filter(|r| r["tag"][0] == "contract") {
        assert_eq!(release["awards"], latest["awards"], "{steps:?}");
    }
    let mut active = Decimal::ZERO;
    for award in latest["awards"].as_array().unwrap() {
        let quantity = Decimal::try_from(award["items"][0]["quantity"].as_f64().unwrap()).unwrap();
        let supplier = award["suppliers"][0]["id"].as_str().unwrap();
        let expected = per_supplier.get(supplier).copied().unwrap_or_default();
        assert_eq!(quantity, expected, "{steps:?}: {award}");
        assert_eq!(award["status"], if expected.is_zero() { "cancelled" } else { "active" }, "{steps:?}: {award}");
        if award["status"] == "active" {
            active += quantity;
        }
    }
    assert_eq!(active, ordered, "{steps:?}: active OCDS awards");
    let first_total: f64 =
        first["awards"].as_array().unwrap().iter().map(|a| a["items"][0]["quantity"].as_f64().unwrap()).sum();
    assert_eq!(first_total, 24_000.0, "{steps:?}: the award as first made stays in its release");
    // Contracts are the orders: a declined or cancelled one is cancelled there too.
    let last = releases.last().unwrap();
    for contract in last["contracts"].as_array().into_iter().flatten() {
        let order = all.iter().find(|o| o["id"] == contract["id"]).unwrap();
        assert_eq!(contract["status"] == "cancelled", !counts(order), "{steps:?}: {contract}");
    }
}

async fn tender_id(season: &Season) -> String {
    let tenders = season.gql(&season.agency, "{ tenders(first: 5) { edges { node { id } } } }", json!({})).await;
    tenders.data()["tenders"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned()
}

async fn run(steps: Vec<Step>) {
    let season = awarded_season().await;
    let tender = tender_id(&season).await;
    assert_one_story(&season, &tender, &[]).await;
    for (taken, step) in steps.iter().enumerate() {
        take(&season, *step).await;
        assert_one_story(&season, &tender, &steps[..=taken]).await;
    }
}

proptest! {
    // Each case runs a whole season on a real server: a few cases, no long shrinking.
    #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 8, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn every_read_follows_the_orders_that_count(steps in proptest::collection::vec(step(), 1..7)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(steps));
    }
}

/// The case, by hand: the Madyopuro order declined by BUMN and re-awarded to Supplier B.
#[tokio::test]
async fn a_declined_order_re_awarded_moves_its_quantity_and_price_everywhere() {
    let steps = vec![Step::Decline(0), Step::ReAward(0)];
    let season = awarded_season().await;
    let tender = tender_id(&season).await;
    let all = orders(&season).await;
    let madyopuro = all.iter().position(|o| o["cooperativeId"] == season.madyopuro.organisation_id.as_str()).unwrap();
    let issued_before = all[..madyopuro].iter().filter(|o| o["status"] == "ISSUED").count();
    take(&season, Step::Decline(issued_before)).await;
    let declined = orders(&season).await.into_iter().find(|o| o["status"] == "DECLINED").unwrap();
    assert_eq!(declined["cooperativeId"], season.madyopuro.organisation_id.as_str());
    assert_one_story(&season, &tender, &steps[..1]).await;
    let re_award = "mutation($id: ID!) { reAwardPurchaseOrder(id: $id, reason: \"BUMN menolak\") { supplierName } }";
    let replacement = season.gql(&season.agency, re_award, json!({ "id": declined["id"] })).await;
    assert_eq!(replacement.data()["reAwardPurchaseOrder"]["supplierName"], "Supplier B");
    assert_one_story(&season, &tender, &steps).await;
    // 10,000 kg at Rp1,620 (A), 6,000 kg at Rp1,650 (BUMN), 8,000 kg at Rp1,690 (B).
    let read = season.gql(&season.agency, TENDER, json!({ "id": tender })).await;
    let lot = &read.data()["tender"]["lots"][0];
    assert_eq!(lot["awardedQuantity"], "24000");
    assert_eq!(lot["totalCost"], "39620000");
    // The cooperative's own view names the new supplier at its price, and owes nothing to the one that declined.
    let own = season.gql(&season.madyopuro, TENDER, json!({ "id": tender })).await;
    let allocations = own.data()["tender"]["allocations"].as_array().unwrap().clone();
    assert_eq!(allocations.len(), 1, "{allocations:?}");
    assert_eq!(allocations[0]["supplierId"], season.supplier_b.organisation_id.as_str());
    assert_eq!(allocations[0]["unitPrice"], "1690");
    let due = season.gql(&season.madyopuro, "{ amountsDue { supplierId orderedTotal } }", json!({})).await;
    assert_eq!(
        due.data()["amountsDue"],
        json!([{ "supplierId": season.supplier_b.organisation_id, "orderedTotal": "13520000" }])
    );
}
