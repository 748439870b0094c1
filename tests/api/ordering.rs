//! Section 3 of the Malang season: purchase orders from the award, dispatches, deliveries with rejections, a
//! declined order re-awarded, amounts due and supplier performance.

use chrono::Duration;
use lumbung_tests::Login;
use serde_json::{Value, json};

use crate::tendering::{BIDDING_START, DEADLINE, Season, at, pool_demand, season, wait_until_closed};

const ORDERS: &str = "{ purchaseOrders(first: 50) { edges { node { id number status cooperativeName supplierName total
    lines { id quantity unitPrice lineTotal dueDate } } } } }";

/// Runs the scenario's tender to a confirmed award; the clock then stands at the deadline (28 November 12:00 WIB).
pub(crate) async fn awarded_season() -> Season {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    season.bid(&season.supplier_a, &lot, "1620", "10000", 5, None).await.data();
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    season.bid(&season.supplier_b, &lot, "1690", "24000", 4, None).await.data();
    season.app.clock.set(at(DEADLINE));
    wait_until_closed(&season, &tender_id).await;
    season
        .gql(&season.agency, "mutation($id: ID!) { confirmAward(id: $id) { status } }", json!({ "id": tender_id }))
        .await
        .data();
    season
}

async fn orders_of(season: &Season, who: &Login) -> Vec<Value> {
    let response = season.gql(who, ORDERS, json!({})).await;
    response.data()["purchaseOrders"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

fn find<'a>(orders: &'a [Value], cooperative: &str, supplier: &str) -> &'a Value {
    orders
        .iter()
        .find(|o| o["cooperativeName"].as_str().unwrap().ends_with(cooperative) && o["supplierName"] == supplier)
        .unwrap_or_else(|| panic!("no order {cooperative} ← {supplier} in {orders:?}"))
}

#[tokio::test]
async fn the_award_becomes_orders_goods_arrive_and_each_side_sees_the_same_amounts() {
    let season = awarded_season().await;
    let orders = orders_of(&season, &season.agency).await;
    assert_eq!(orders.len(), 4);
    let a = find(&orders, "Cemorokandang", "Supplier A");
    assert_eq!(a["total"], "16200000");
    assert_eq!(a["lines"][0]["dueDate"], "2026-12-03");
    assert_eq!(find(&orders, "Cemorokandang", "BUMN Pupuk")["total"], "3300000");
    assert_eq!(find(&orders, "Cemorokandang", "BUMN Pupuk")["lines"][0]["dueDate"], "2026-12-05");
    assert_eq!(find(&orders, "Madyopuro", "BUMN Pupuk")["total"], "13200000");
    assert_eq!(find(&orders, "Kedungkandang", "BUMN Pupuk")["total"], "6600000");
    let mut numbers: Vec<&str> = orders.iter().map(|o| o["number"].as_str().unwrap()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 4);
    assert!(
        numbers.iter().all(|n| n.starts_with("KMP-MLG-2026-") && n.len() == "KMP-MLG-2026-000001".len()),
        "{numbers:?}"
    );
    // Each party sees only its own orders.
    assert_eq!(orders_of(&season, &season.cemorokandang).await.len(), 2);
    assert_eq!(orders_of(&season, &season.supplier_a).await.len(), 1);
    assert_eq!(orders_of(&season, &season.supplier_b).await.len(), 0);

    let order_id = a["id"].as_str().unwrap().to_owned();
    let line_id = a["lines"][0]["id"].as_str().unwrap().to_owned();
    let accepted = season
        .gql(
            &season.supplier_a,
            "mutation($id: ID!) { acceptPurchaseOrder(id: $id) { status } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(accepted.data()["acceptPurchaseOrder"]["status"], "ACCEPTED");

    let dispatch =
        "mutation($i: DispatchInput!) { recordDispatch(input: $i) { status dispatches { id } lines { dispatched } } }";
    let first_load = json!({ "i": { "orderId": order_id, "lines": [{ "orderLineId": line_id, "quantity": "6000" }],
        "dispatchedOn": "2026-12-02", "vehicle": "N 1234 AB", "driver": "Pak Budi", "expectedArrival": "2026-12-02" } });
    let dispatched = season.gql(&season.supplier_a, dispatch, first_load).await;
    let dispatch_id = dispatched.data()["recordDispatch"]["dispatches"][0]["id"].as_str().unwrap().to_owned();

    // Two torn 50 kg sacks: 100 kg rejected as damaged.
    let confirm = "mutation($i: ConfirmDeliveryInput!) { confirmDelivery(input: $i) { status amountDue confirmations { id discrepancy } } }";
    let first_receipt = json!({ "i": { "orderId": order_id, "dispatchId": dispatch_id, "receivedAt": "2026-12-02T07:00:00Z", "receiverName": "Bu Sri",
        "lines": [{ "orderLineId": line_id, "received": "6000", "accepted": "5900", "rejected": "100", "rejectionReason": "DAMAGED", "rejectionNote": "dua karung sobek" }] } });
    season.app.clock.set(at("2026-12-02T08:00:00Z"));
    let received = season.gql(&season.cemorokandang, confirm, first_receipt).await;
    let received = &received.data()["confirmDelivery"];
    assert_eq!(received["status"], "PARTIALLY_DELIVERED");
    assert_eq!(received["amountDue"], "9558000");
    assert_eq!(received["confirmations"][0]["discrepancy"], true);
    let confirmation_id = received["confirmations"][0]["id"].as_str().unwrap().to_owned();
    season
        .gql(
            &season.supplier_a,
            "mutation($c: ID!) { answerDiscrepancy(confirmationId: $c, response: \"karung pengganti dikirim\") }",
            json!({ "c": confirmation_id }),
        )
        .await
        .data();

    // More than is open is refused: 4,000 remain plus the 100 rejected.
    let too_much = json!({ "i": { "orderId": order_id, "lines": [{ "orderLineId": line_id, "quantity": "4101" }],
        "dispatchedOn": "2026-12-04", "vehicle": "N 1234 AB", "driver": "Pak Budi", "expectedArrival": "2026-12-04" } });
    season.gql(&season.supplier_a, dispatch, too_much).await.expect_error("BAD_USER_INPUT");
    let second_load = json!({ "i": { "orderId": order_id, "lines": [{ "orderLineId": line_id, "quantity": "4000" }],
        "dispatchedOn": "2026-12-04", "vehicle": "N 1234 AB", "driver": "Pak Budi", "expectedArrival": "2026-12-04" } });
    season.gql(&season.supplier_a, dispatch, second_load).await.data();

    // Accepting beyond the order is refused; the real receipt (a day late) is sent twice and recorded once.
    season.app.clock.set(at("2026-12-04T09:00:00Z"));
    let over = json!({ "i": { "orderId": order_id, "receivedAt": "2026-12-04T08:00:00Z", "receiverName": "Bu Sri",
        "lines": [{ "orderLineId": line_id, "received": "4101", "accepted": "4101" }] } });
    season.gql(&season.cemorokandang, confirm, over).await.expect_error("BAD_USER_INPUT");
    let second_receipt = json!({ "i": { "orderId": order_id, "receivedAt": "2026-12-04T08:00:00Z", "receiverName": "Bu Sri",
        "lines": [{ "orderLineId": line_id, "received": "4000", "accepted": "4000" }], "idempotencyKey": "cemorokandang-a-2" } });
    let once = season.gql(&season.cemorokandang, confirm, second_receipt.clone()).await;
    let twice = season.gql(&season.cemorokandang, confirm, second_receipt).await;
    assert_eq!(once.data(), twice.data());
    assert_eq!(twice.data()["confirmDelivery"]["confirmations"].as_array().unwrap().len(), 2);
    assert_eq!(twice.data()["confirmDelivery"]["amountDue"], "16038000");

    // Both sides see the same amount due.
    let due = "{ amountsDue { supplierId amountDue orderedTotal } }";
    let coop_view = season.gql(&season.cemorokandang, due, json!({})).await;
    let supplier_view = season.gql(&season.supplier_a, due, json!({})).await;
    let coop_due = coop_view.data()["amountsDue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["supplierId"] == season.supplier_a.organisation_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(coop_due["amountDue"], "16038000");
    assert_eq!(supplier_view.data()["amountsDue"], json!([coop_due]));

    // 100 kg will not come: the cooperative short-closes and the rest is recorded.
    let closed = season
        .gql(&season.cemorokandang, "mutation($id: ID!) { shortClosePurchaseOrder(id: $id, reason: \"sisa 100 kg tidak dikirim ulang\") { status closeReason lines { undelivered } } }", json!({ "id": order_id }))
        .await;
    assert_eq!(closed.data()["shortClosePurchaseOrder"]["status"], "CLOSED");
    assert_eq!(closed.data()["shortClosePurchaseOrder"]["lines"][0]["undelivered"], "100");

    // Supplier A's record matches the hand computation: 9,900 of 10,000 accepted, one of two loads on time.
    let performance = "query($s: ID) { supplierPerformance(supplierId: $s) { orders deliveries fillRate onTimeRate rejectionRate averageDaysLate rejections { reason quantity } } }";
    let own = season.gql(&season.supplier_a, performance, json!({ "s": null })).await;
    let record = &own.data()["supplierPerformance"][0];
    assert_eq!(record["orders"], 1);
    assert_eq!(record["deliveries"], 2);
    assert_eq!(record["fillRate"], "0.99");
    assert_eq!(record["onTimeRate"], "0.5");
    assert_eq!(record["rejectionRate"], "0.01");
    assert_eq!(record["averageDaysLate"], "0.5");
    assert_eq!(record["rejections"], json!([{ "reason": "DAMAGED", "quantity": "100" }]));
    let agency = season.gql(&season.agency, performance, json!({ "s": season.supplier_a.organisation_id })).await;
    assert_eq!(agency.data()["supplierPerformance"][0]["fillRate"], "0.99");
    season
        .gql(&season.supplier_b, performance, json!({ "s": season.supplier_a.organisation_id }))
        .await
        .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn a_declined_order_is_re_awarded_to_the_next_bid() {
    let season = awarded_season().await;
    let orders = orders_of(&season, &season.agency).await;
    let declined_id = find(&orders, "Madyopuro", "BUMN Pupuk")["id"].as_str().unwrap().to_owned();
    // Too early to re-award an order that is neither declined nor overdue.
    let re_award = "mutation($id: ID!) { reAwardPurchaseOrder(id: $id, reason: \"BUMN menolak\") { id supplierName total status replacesOrderId replacementReason } }";
    season.gql(&season.agency, re_award, json!({ "id": declined_id })).await.expect_error("CONFLICT");
    let declined = season
        .gql(&season.bumn, "mutation($id: ID!) { declinePurchaseOrder(id: $id, reason: \"stok gudang tidak cukup\") { status declineReason } }", json!({ "id": declined_id }))
        .await;
    assert_eq!(declined.data()["declinePurchaseOrder"]["status"], "DECLINED");
    let replacement = season.gql(&season.agency, re_award, json!({ "id": declined_id })).await;
    let replacement = &replacement.data()["reAwardPurchaseOrder"];
    assert_eq!(replacement["supplierName"], "Supplier B");
    assert_eq!(replacement["total"], "13520000", "8,000 kg at Supplier B's Rp1,690");
    assert_eq!(replacement["status"], "ISSUED");
    assert_eq!(replacement["replacesOrderId"], declined_id.as_str());
    let history = season
        .gql(
            &season.madyopuro,
            "query($id: ID!) { purchaseOrder(id: $id) { replacedByOrderId replacementReason } }",
            json!({ "id": declined_id }),
        )
        .await;
    assert_eq!(history.data()["purchaseOrder"]["replacedByOrderId"], replacement["id"]);
    assert_eq!(history.data()["purchaseOrder"]["replacementReason"], "BUMN menolak");
    season.gql(&season.agency, re_award, json!({ "id": declined_id })).await.expect_error("CONFLICT");
    // Supplier B now sees the order addressed to it, delivers it in full, and the cooperative closes it.
    assert_eq!(orders_of(&season, &season.supplier_b).await.len(), 1);
    let new_id = replacement["id"].as_str().unwrap().to_owned();
    season
        .gql(
            &season.supplier_b,
            "mutation($id: ID!) { acceptPurchaseOrder(id: $id) { status } }",
            json!({ "id": new_id }),
        )
        .await
        .data();
    let order = season
        .gql(&season.madyopuro, "query($id: ID!) { purchaseOrder(id: $id) { lines { id } } }", json!({ "id": new_id }))
        .await;
    let line_id = order.data()["purchaseOrder"]["lines"][0]["id"].as_str().unwrap().to_owned();
    season
        .gql(
            &season.supplier_b,
            "mutation($i: DispatchInput!) { recordDispatch(input: $i) { status } }",
            json!({ "i": { "orderId": new_id, "lines": [{ "orderLineId": line_id, "quantity": "8000" }], "dispatchedOn": "2026-12-01", "vehicle": "L 9 XY", "driver": "Pak Andi", "expectedArrival": "2026-12-02" } }),
        )
        .await
        .data();
    let confirm = "mutation($i: ConfirmDeliveryInput!) { confirmDelivery(input: $i) { status amountDue } }";
    let other_without_note = json!({ "i": { "orderId": new_id, "receivedAt": "2026-11-28T05:00:00Z", "receiverName": "Pak Joko",
        "lines": [{ "orderLineId": line_id, "received": "8000", "accepted": "7999", "rejected": "1", "rejectionReason": "OTHER" }] } });
    season.gql(&season.madyopuro, confirm, other_without_note).await.expect_error("BAD_USER_INPUT");
    let all_of_it = json!({ "i": { "orderId": new_id, "receivedAt": "2026-11-28T05:00:00Z", "receiverName": "Pak Joko",
        "lines": [{ "orderLineId": line_id, "received": "8000", "accepted": "8000" }] } });
    let delivered = season.gql(&season.madyopuro, confirm, all_of_it).await;
    assert_eq!(delivered.data()["confirmDelivery"], json!({ "status": "DELIVERED", "amountDue": "13520000" }));
    let closed = season
        .gql(
            &season.madyopuro,
            "mutation($id: ID!) { closePurchaseOrder(id: $id) { status } }",
            json!({ "id": new_id }),
        )
        .await;
    assert_eq!(closed.data()["closePurchaseOrder"]["status"], "CLOSED");
}

#[tokio::test]
async fn an_order_not_accepted_in_time_may_be_re_awarded() {
    let season = awarded_season().await;
    let orders = orders_of(&season, &season.agency).await;
    let overdue = find(&orders, "Kedungkandang", "BUMN Pupuk")["id"].as_str().unwrap().to_owned();
    let re_award = "mutation($id: ID!) { reAwardPurchaseOrder(id: $id, reason: \"tidak dijawab\") { supplierName } }";
    season.gql(&season.agency, re_award, json!({ "id": overdue })).await.expect_error("CONFLICT");
    season.app.clock.advance(Duration::days(2));
    let replacement = season.gql(&season.agency, re_award, json!({ "id": overdue })).await;
    assert_eq!(replacement.data()["reAwardPurchaseOrder"]["supplierName"], "Supplier B");
    let old = season
        .gql(
            &season.agency,
            "query($id: ID!) { purchaseOrder(id: $id) { status cancelReason } }",
            json!({ "id": overdue }),
        )
        .await;
    assert_eq!(old.data()["purchaseOrder"]["status"], "CANCELLED");
}

#[tokio::test]
async fn each_party_is_refused_the_others_actions_on_orders() {
    let season = awarded_season().await;
    let orders = orders_of(&season, &season.agency).await;
    let order = find(&orders, "Cemorokandang", "Supplier A");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let line_id = order["lines"][0]["id"].as_str().unwrap().to_owned();
    let accept = "mutation($id: ID!) { acceptPurchaseOrder(id: $id) { status } }";
    season.gql(&season.cemorokandang, accept, json!({ "id": order_id })).await.expect_error("FORBIDDEN");
    season.gql(&season.agency, accept, json!({ "id": order_id })).await.expect_error("FORBIDDEN");
    season.gql(&season.bumn, accept, json!({ "id": order_id })).await.expect_error("NOT_FOUND");
    season.gql(&season.supplier_a, accept, json!({ "id": order_id })).await.data();

    let confirm = "mutation($i: ConfirmDeliveryInput!) { confirmDelivery(input: $i) { status } }";
    let receipt = json!({ "i": { "orderId": order_id, "receivedAt": "2026-11-28T05:00:00Z", "receiverName": "Siapa Saja",
        "lines": [{ "orderLineId": line_id, "received": "1", "accepted": "1" }] } });
    season.gql(&season.supplier_a, confirm, receipt.clone()).await.expect_error("FORBIDDEN");
    season.gql(&season.agency, confirm, receipt.clone()).await.expect_error("FORBIDDEN");
    season.gql(&season.madyopuro, confirm, receipt).await.expect_error("NOT_FOUND");
    let dispatch = "mutation($i: DispatchInput!) { recordDispatch(input: $i) { status } }";
    let load = json!({ "i": { "orderId": order_id, "lines": [{ "orderLineId": line_id, "quantity": "1" }], "dispatchedOn": "2026-12-01", "vehicle": "x", "driver": "y", "expectedArrival": "2026-12-01" } });
    season.gql(&season.cemorokandang, dispatch, load).await.expect_error("FORBIDDEN");
    let cancel = "mutation($id: ID!) { cancelPurchaseOrder(id: $id, reason: \"coba batal\") { status } }";
    season.gql(&season.supplier_a, cancel, json!({ "id": order_id })).await.expect_error("FORBIDDEN");
    season.gql(&season.cemorokandang, cancel, json!({ "id": order_id })).await.expect_error("FORBIDDEN");
    season
        .gql(
            &season.supplier_a,
            "mutation($id: ID!) { shortClosePurchaseOrder(id: $id, reason: \"tidak jadi\") { status } }",
            json!({ "id": order_id }),
        )
        .await
        .expect_error("FORBIDDEN");
    let peek = season
        .gql(&season.madyopuro, "query($id: ID!) { purchaseOrder(id: $id) { id } }", json!({ "id": order_id }))
        .await;
    assert!(peek.data()["purchaseOrder"].is_null(), "another cooperative reads it as not found");
    // The agency may cancel an order nothing was delivered against, saying why.
    let cancelled = season.gql(&season.agency, cancel, json!({ "id": order_id })).await;
    assert_eq!(cancelled.data()["cancelPurchaseOrder"]["status"], "CANCELLED");
    let unsupported = json!({ "id": order_id });
    season.gql(&season.supplier_a, accept, unsupported).await.expect_error("CONFLICT");
}
