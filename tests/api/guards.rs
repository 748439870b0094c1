//! Guards a user relies on that no other test pins: each test here fails when its rule is broken.

use chrono::Duration;
use serde_json::{Value, json};

use crate::tendering::{BIDDING_START, CUTOFF, DEADLINE, Season, at, pool_demand, season};

const EVERYTHING: &str = "query($id: ID!) { tender(id: $id) { status bidCount myBids { unitPrice }
    allocations { quantity } lots { outcome totalCost awardedQuantity bids { unitPrice quantity supplierName } } } }";

/// A tender with two bids from the scenario's suppliers; the clock stands an hour into bidding.
async fn bidding(season: &Season) -> (String, String, String) {
    pool_demand(season).await;
    let (tender_id, lot) = season.tender(1).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    let a = season.bid(&season.supplier_a, &lot, "1623.45", "10000", 5, None).await;
    let a_bid = a.data()["submitBid"]["bidId"].as_str().unwrap().to_owned();
    season.bid(&season.bumn, &lot, "1651.55", "24000", 7, None).await.data();
    (tender_id, lot, a_bid)
}

const SECRETS: [&str; 4] = ["1623.45", "1651.55", "16234500", "38689500"];

fn assert_sealed(who: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{who} learnt {secret}: {text}");
    }
}

#[tokio::test]
async fn the_platform_admin_sees_no_sealed_bid_either() {
    let season = season().await;
    let (tender_id, _, a_bid) = bidding(&season).await;
    let admin = &season.admin;
    let read = season.gql(admin, EVERYTHING, json!({ "id": tender_id })).await;
    assert_sealed("the admin", &read.body.to_string());
    if !read.refused() {
        assert_eq!(read.data()["tender"]["lots"][0]["bids"], json!([]));
    }
    let history =
        season.gql(admin, "query($b: ID!) { bidHistory(bidId: $b) { unitPrice } }", json!({ "b": a_bid })).await;
    assert_sealed("the admin", &history.body.to_string());
    let trail = season
        .gql(
            admin,
            "{ auditEntries(first: 100) { edges { node { action summary actorOrganisationId actorUserId } } } }",
            json!({}),
        )
        .await;
    let text = trail.data().to_string();
    assert!(text.contains("bid.submitted"), "{text}");
    assert_sealed("the admin", &text);
    let bids: Vec<&Value> = trail.data()["auditEntries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["action"].as_str().unwrap().starts_with("bid."))
        .collect();
    assert!(bids.iter().all(|n| n["actorOrganisationId"].is_null() && n["actorUserId"].is_null()), "{bids:?}");
    assert_receipts_sealed(&season).await;
    let (status, body) = download(&season, &season.admin, &format!("/exports/ocds/{tender_id}.json")).await;
    assert_sealed("the admin's OCDS", &format!("{status} {body}"));
}

/// The admins' outbox shows bid receipts without their recipient or anything of the bid.
async fn assert_receipts_sealed(season: &Season) {
    let outbox = season
        .gql(&season.admin, "{ outboxMessages(first: 100) { edges { node { kind recipient subject } } } }", json!({}))
        .await;
    let text = outbox.data().to_string();
    assert_sealed("the outbox", &text);
    let receipts: Vec<Value> = outbox.data()["outboxMessages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .filter(|m| m["kind"] == "BID_RECEIVED")
        .collect();
    assert_eq!(receipts.len(), 2, "{text}");
    for receipt in &receipts {
        let shown = receipt.to_string();
        assert!(!shown.contains(&season.supplier_a.email) && !shown.contains(&season.bumn.email), "{shown}");
    }
}

async fn download(season: &Season, who: &lumbung_tests::Login, path: &str) -> (u16, String) {
    let response = season
        .app
        .client
        .get(format!("{}{path}", season.app.address))
        .bearer_auth(&who.access_token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_cancelled_tenders_bids_stay_sealed_for_good() {
    let season = season().await;
    let (tender_id, lot, a_bid) = bidding(&season).await;
    season
        .gql(
            &season.agency,
            "mutation($id: ID!) { cancelTender(id: $id, reason: \"spesifikasi salah\") { status } }",
            json!({ "id": tender_id }),
        )
        .await
        .data();
    // Long after the deadline that never came (three weeks), nothing of the bids shows to anyone but their own supplier.
    season.app.clock.set(at(DEADLINE) + Duration::days(20));
    for (who, login) in [
        ("the agency", &season.agency),
        ("the admin", &season.admin),
        ("a supplier that did not bid", &season.supplier_b),
        ("a cooperative", &season.cemorokandang),
    ] {
        let read = season.gql(login, EVERYTHING, json!({ "id": tender_id })).await;
        assert_sealed(who, &read.body.to_string());
        let history =
            season.gql(login, "query($b: ID!) { bidHistory(bidId: $b) { unitPrice } }", json!({ "b": a_bid })).await;
        assert_sealed(who, &history.body.to_string());
    }
    for login in [&season.agency, &season.admin] {
        let trail = season
            .gql(
                login,
                "{ auditEntries(first: 100) { edges { node { action summary actorOrganisationId actorUserId } } } }",
                json!({}),
            )
            .await;
        assert_sealed("the audit trail", &trail.data().to_string());
        let bid_entries: Vec<Value> = trail.data()["auditEntries"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .filter(|n| n["action"].as_str().unwrap().starts_with("bid."))
            .collect();
        assert!(!bid_entries.is_empty());
        assert!(
            bid_entries.iter().all(|n| n["actorOrganisationId"].is_null() && n["actorUserId"].is_null()),
            "a cancelled tender's audit trail names a bidder: {bid_entries:?}"
        );
    }
    assert_receipts_sealed(&season).await;
    for path in [
        format!("/exports/ocds/{tender_id}.json"),
        "/exports/ocds.jsonl".to_owned(),
        "/exports/red-flags.csv".to_owned(),
    ] {
        let (status, body) = download(&season, &season.agency, &path).await;
        assert_sealed(&path, &format!("{status} {body}"));
        assert!(!body.contains("Supplier A") && !body.contains("BUMN Pupuk"), "{path} names a bidder: {body}");
    }
    // The bidder still sees its own.
    let own = season.gql(&season.supplier_a, EVERYTHING, json!({ "id": tender_id })).await;
    assert!(own.body.to_string().contains("1623.45"), "{}", own.body);
    // And nobody can bid on it.
    let late = season.bid(&season.supplier_b, &lot, "1600", "24000", 3, None).await;
    assert!(late.refused(), "{}", late.body);
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_its_caller() {
    let season = season().await;
    pool_demand(&season).await;
    let (_, lot) = season.tender(1).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    let a = season.bid(&season.supplier_a, &lot, "1620", "10000", 5, Some("same-key")).await;
    let b = season.bid(&season.bumn, &lot, "1650", "24000", 7, Some("same-key")).await;
    let (a, b) = (a.data()["submitBid"].clone(), b.data()["submitBid"].clone());
    assert_ne!(a["bidId"], b["bidId"], "two suppliers with one key each get their own bid");
    assert_ne!(a["commitmentHash"], b["commitmentHash"]);
    let own = season
        .gql(&season.bumn, "query($b: ID!) { bidHistory(bidId: $b) { unitPrice } }", json!({ "b": b["bidId"] }))
        .await;
    assert_eq!(own.data()["bidHistory"], json!([{ "unitPrice": "1650" }]));
    // Each caller's retry still gets its own first answer.
    let again = season.bid(&season.bumn, &lot, "1650", "24000", 7, Some("same-key")).await;
    assert_eq!(again.data()["submitBid"], b);
}

#[tokio::test]
async fn each_party_sees_only_its_own_amounts_and_bid_history() {
    let season = crate::ordering::awarded_season().await;
    let due = "{ amountsDue { cooperativeId supplierId orderedTotal } }";
    for coop in [&season.cemorokandang, &season.madyopuro, &season.kedungkandang] {
        let rows = season.gql(coop, due, json!({})).await.data()["amountsDue"].as_array().unwrap().clone();
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r["cooperativeId"] == coop.organisation_id.as_str()), "{rows:?}");
    }
    for supplier in [&season.supplier_a, &season.bumn] {
        let rows = season.gql(supplier, due, json!({})).await.data()["amountsDue"].as_array().unwrap().clone();
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r["supplierId"] == supplier.organisation_id.as_str()), "{rows:?}");
    }
    let everyone = season.gql(&season.agency, due, json!({})).await.data()["amountsDue"].as_array().unwrap().len();
    assert_eq!(everyone, 4);
    // After the deadline and the award, a supplier still cannot read another supplier's bid history.
    let tender =
        season.gql(&season.supplier_a, "{ tenders(first: 1) { edges { node { myBids { id } } } } }", json!({})).await;
    let a_bid = tender.data()["tenders"]["edges"][0]["node"]["myBids"][0]["id"].clone();
    for other in [&season.bumn, &season.supplier_b] {
        let history =
            season.gql(other, "query($b: ID!) { bidHistory(bidId: $b) { unitPrice } }", json!({ "b": a_bid })).await;
        assert!(!history.body.to_string().contains("1620"), "{}", history.body);
    }
}

#[tokio::test]
async fn an_rdkk_allocation_caps_demand_across_every_pool_of_the_season() {
    let season = season().await;
    pool_demand(&season).await; // Kedungkandang uses all 4,000 kg of its allocation in the first pool.
    let second = season
        .gql(
            &season.agency,
            "mutation($i: DemandPoolInput!) { openDemandPool(input: $i) { id } }",
            json!({ "i": {
                "commodityCode": "UREA-SUB", "city": "Kota Malang", "kecamatans": ["Kedungkandang"], "season": "2026-MT1",
                "deliveryFirstDay": "2026-12-16", "deliveryLastDay": "2026-12-31", "cutoff": at(CUTOFF) + Duration::days(10)
            } }),
        )
        .await;
    let pool = second.data()["openDemandPool"]["id"].as_str().unwrap().to_owned();
    let point = season.delivery_point(&season.kedungkandang).await;
    let add = "mutation($i: DemandLineInput!) { addDemandLine(input: $i) { id } }";
    let line = |quantity: &str| json!({ "i": { "poolId": pool, "deliveryPointId": point, "quantity": quantity, "wantedDate": "2026-12-20" } });
    let refused = season.gql(&season.kedungkandang, add, line("1")).await;
    refused.expect_error("BAD_USER_INPUT");
    assert!(refused.error_message().contains("0 kg remain"), "{}", refused.error_message());
    // Madyopuro has 1,000 kg of its 9,000 left: exactly that is accepted in the second pool, one more is not.
    let point = season.delivery_point(&season.madyopuro).await;
    let line = |quantity: &str| json!({ "i": { "poolId": pool, "deliveryPointId": point, "quantity": quantity, "wantedDate": "2026-12-20" } });
    season.gql(&season.madyopuro, add, line("1001")).await.expect_error("BAD_USER_INPUT");
    season.gql(&season.madyopuro, add, line("1000")).await.data();
}

#[tokio::test]
async fn a_tender_needs_the_minimum_bidding_period() {
    let season = crate::tendering::season_with(&[("LUMBUNG_MIN_BIDDING_SECONDS", "259200")]).await;
    pool_demand(&season).await;
    season.app.clock.set(at(CUTOFF) + Duration::hours(1));
    let create = |start: String, deadline: String| {
        json!({ "i": { "poolId": season.pool_id, "maxUnitPrice": "1700", "partialBidsAllowed": true, "minPartialQuantity": "5000",
            "minResponsiveBids": 1, "biddingStart": start, "deadline": deadline } })
    };
    let now = at(CUTOFF) + Duration::hours(1);
    let draft = "mutation($i: TenderInput!) { createTender(input: $i) { id } }";
    let publish = "mutation($id: ID!) { publishTender(id: $id) { status } }";
    // Bidding from now for exactly three days.
    let created =
        season.gql(&season.agency, draft, create(now.to_rfc3339(), (now + Duration::days(3)).to_rfc3339())).await;
    let id = created.data()["createTender"]["id"].clone();
    // Published a second later, suppliers would get a second less than the minimum: refused, naming it.
    season.app.clock.set(now + Duration::seconds(1));
    let refused = season.gql(&season.agency, publish, json!({ "id": id })).await;
    refused.expect_error("BAD_USER_INPUT");
    assert!(refused.error_message().contains("at least 3 days (259200 seconds)"), "{}", refused.error_message());
    let still = season.gql(&season.agency, "query($id: ID!) { tender(id: $id) { status } }", json!({ "id": id })).await;
    assert_eq!(still.data()["tender"]["status"], "DRAFT");
    // Published at the start, exactly three days is enough.
    season.app.clock.set(now);
    assert_eq!(
        season.gql(&season.agency, publish, json!({ "id": id })).await.data()["publishTender"]["status"],
        "OPEN"
    );
    // Moving the deadline keeps at least the minimum (it only moves later, so it always does here).
    let extend = "mutation($id: ID!, $d: DateTime!) { extendTenderDeadline(id: $id, deadline: $d, reason: \"waktu tambahan\") { deadline } }";
    let later = (now + Duration::days(4)).to_rfc3339();
    season.gql(&season.agency, extend, json!({ "id": id, "d": later })).await.data();
}
