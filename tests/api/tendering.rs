//! One season in Malang (shared/SCENARIOS.md): pooling subsidised urea, a sealed-bid tender, evaluation and award,
//! with the server clock standing at the instants that matter.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lumbung_tests::{Gql, Login, TestApp, spawn_app_with, supplier_input};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(crate) const CUTOFF: &str = "2026-11-25T10:00:00Z"; // 25 November 17:00 WIB
pub(crate) const BIDDING_START: &str = "2026-11-26T01:00:00Z"; // 26 November 08:00 WIB
pub(crate) const DEADLINE: &str = "2026-11-28T05:00:00Z"; // 28 November 12:00 WIB

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

pub(crate) struct Season {
    pub(crate) app: TestApp,
    pub(crate) admin: Login,
    pub(crate) agency: Login,
    pub(crate) cemorokandang: Login,
    pub(crate) madyopuro: Login,
    pub(crate) kedungkandang: Login,
    pub(crate) supplier_a: Login,
    pub(crate) bumn: Login,
    pub(crate) supplier_b: Login,
    pub(crate) supplier_c: Login,
    pub(crate) supplier_d: Login,
    pub(crate) pool_id: String,
}

impl Season {
    pub(crate) async fn gql(&self, who: &Login, query: &str, variables: Value) -> Gql {
        self.app.gql(Some(&who.access_token), query, variables).await
    }

    pub(crate) async fn delivery_point(&self, coop: &Login) -> String {
        let response = self
            .gql(
                coop,
                "query($id: ID!) { organisation(id: $id) { deliveryPoints { id } } }",
                json!({ "id": coop.organisation_id }),
            )
            .await;
        response.data()["organisation"]["deliveryPoints"][0]["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn add_line(&self, coop: &Login, quantity: &str) -> Gql {
        let point = self.delivery_point(coop).await;
        self.gql(
            coop,
            "mutation($i: DemandLineInput!) { addDemandLine(input: $i) { id quantity } }",
            json!({ "i": { "poolId": self.pool_id, "deliveryPointId": point, "quantity": quantity, "wantedDate": "2026-12-05" } }),
        )
        .await
    }

    /// A draft, then published tender from the frozen pool, as in the scenario. Returns (tender id, lot id).
    pub(crate) async fn tender(&self, min_responsive_bids: i32) -> (String, String) {
        self.app.clock.set(at(CUTOFF) + Duration::hours(1));
        let created = self
            .gql(
                &self.agency,
                "mutation($i: TenderInput!) { createTender(input: $i) { id status lots { id quantity maxUnitPrice } } }",
                json!({ "i": {
                    "poolId": self.pool_id, "maxUnitPrice": "1700", "partialBidsAllowed": true, "minPartialQuantity": "5000",
                    "minResponsiveBids": min_responsive_bids, "biddingStart": BIDDING_START, "deadline": DEADLINE
                } }),
            )
            .await;
        let tender = created.data()["createTender"].clone();
        assert_eq!(tender["status"], "DRAFT");
        assert_eq!(tender["lots"][0]["quantity"], "24000");
        assert_eq!(tender["lots"][0]["maxUnitPrice"], "1700");
        let id = tender["id"].as_str().unwrap().to_owned();
        let published = self
            .gql(&self.agency, "mutation($id: ID!) { publishTender(id: $id) { status } }", json!({ "id": id }))
            .await;
        assert_eq!(published.data()["publishTender"]["status"], "OPEN");
        (id, tender["lots"][0]["id"].as_str().unwrap().to_owned())
    }

    pub(crate) async fn bid(
        &self,
        supplier: &Login,
        lot: &str,
        price: &str,
        quantity: &str,
        lead: i32,
        key: Option<&str>,
    ) -> Gql {
        self.gql(
            supplier,
            "mutation($i: SubmitBidInput!) { submitBid(input: $i) { bidId version action receivedAt commitmentHash } }",
            json!({ "i": { "lotId": lot, "offer": { "unitPrice": price, "quantity": quantity, "leadTimeDays": lead, "validityDays": 30 }, "idempotencyKey": key } }),
        )
        .await
    }
}

/// The agency, three Kedungkandang cooperatives with their RDKK allocations, five fertiliser suppliers and an open
/// pool for subsidised urea, at 25 November 09:00 WIB.
pub(crate) async fn season() -> Season {
    season_with(&[]).await
}

/// As [`season`], with more server settings (e.g. `SMTP_URL`).
pub(crate) async fn season_with(settings: &[(&str, &str)]) -> Season {
    // The clock jumps days ahead in these tests: access tokens live for the whole season here.
    let mut environment = vec![("LUMBUNG_CLOSE_INTERVAL_MS", "50"), ("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "2592000")];
    environment.extend_from_slice(settings);
    let app = spawn_app_with(&environment).await;
    let (admin, agency) = app.bootstrap().await;
    let token = Some(agency.access_token.as_str());
    app.gql(
        token,
        "mutation { createCommodity(input: { code: \"UREA-SUB\", nameId: \"Urea bersubsidi\", nameEn: \"Subsidised urea\", unit: KG, category: SUBSIDISED_FERTILISER }) { code } }",
        json!({}),
    )
    .await
    .data();
    app.gql(
        token,
        "mutation { setPriceReference(input: { commodityCode: \"UREA-SUB\", kind: HET, price: \"1800\", areaScope: NATIONAL, effectiveFrom: \"2025-10-22\" }) { price } }",
        json!({}),
    )
    .await
    .data();
    let cemorokandang = app.verified_cooperative(&agency, "Cemorokandang").await;
    let madyopuro = app.verified_cooperative(&agency, "Madyopuro").await;
    let kedungkandang = app.verified_cooperative(&agency, "Kedungkandang").await;
    let supplier_a = app.verified_supplier(&agency, "Supplier A", false).await;
    let bumn = app.verified_supplier(&agency, "BUMN Pupuk", true).await;
    let supplier_b = app.verified_supplier(&agency, "Supplier B", false).await;
    let supplier_c = app.verified_supplier(&agency, "Supplier C", false).await;
    let supplier_d = app.verified_supplier(&agency, "Supplier D", false).await;
    for (coop, quantity) in [(&cemorokandang, "15000"), (&madyopuro, "9000"), (&kedungkandang, "4000")] {
        app.gql(
            token,
            "mutation($i: FertiliserAllocationInput!) { recordFertiliserAllocation(input: $i) { quantity } }",
            json!({ "i": { "cooperativeId": coop.organisation_id, "commodityCode": "UREA-SUB", "season": "2026-MT1", "quantity": quantity } }),
        )
        .await
        .data();
    }
    let pool = app
        .gql(
            token,
            "mutation($i: DemandPoolInput!) { openDemandPool(input: $i) { id status } }",
            json!({ "i": {
                "commodityCode": "UREA-SUB", "city": "Kota Malang", "kecamatans": ["Kedungkandang"], "season": "2026-MT1",
                "deliveryFirstDay": "2026-12-01", "deliveryLastDay": "2026-12-15", "cutoff": CUTOFF
            } }),
        )
        .await;
    assert_eq!(pool.data()["openDemandPool"]["status"], "OPEN");
    let pool_id = pool.data()["openDemandPool"]["id"].as_str().unwrap().to_owned();
    Season {
        app,
        admin,
        agency,
        cemorokandang,
        madyopuro,
        kedungkandang,
        supplier_a,
        bumn,
        supplier_b,
        supplier_c,
        supplier_d,
        pool_id,
    }
}

/// Demand as in the scenario: 24,000 kg from three cooperatives after Kedungkandang's first ask is refused.
pub(crate) async fn pool_demand(season: &Season) {
    season.add_line(&season.cemorokandang, "12000").await.data();
    season.add_line(&season.madyopuro, "8000").await.data();
    let refused = season.add_line(&season.kedungkandang, "5000").await;
    refused.expect_error("BAD_USER_INPUT");
    assert!(
        refused.error_message().contains("exceeds the remaining allocation: 4,000 kg remain"),
        "{}",
        refused.error_message()
    );
    season.add_line(&season.kedungkandang, "4000").await.data();
}

pub(crate) async fn wait_until_closed(season: &Season, tender_id: &str) -> Value {
    let read = || async {
        let response = season
            .gql(
                &season.agency,
                "query($id: ID!) { tender(id: $id) { status lots { outcome } } }",
                json!({ "id": tender_id }),
            )
            .await;
        response.data()["tender"].clone()
    };
    for _ in 0..200 {
        if read().await["lots"][0]["outcome"] != "PENDING" {
            // The tender and its lots are read by separate statements: a read that overlapped the closing commit
            // can pair the old status with the new outcomes. Once the outcome shows, a fresh read sees both.
            return read().await;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    panic!("the tender was not closed by the background task");
}

#[tokio::test]
async fn a_pooled_order_goes_from_demand_to_award() {
    let season = season().await;
    pool_demand(&season).await;

    // Everyone in the pool sees the total; a cooperative sees only its own lines.
    let view = season
        .gql(
            &season.madyopuro,
            "query($id: ID!) { demandPool(id: $id) { pooledQuantity cooperativeCount status lines { quantity } } }",
            json!({ "id": season.pool_id }),
        )
        .await;
    let pool = &view.data()["demandPool"];
    assert_eq!(pool["pooledQuantity"], "24000");
    assert_eq!(pool["cooperativeCount"], 3);
    assert_eq!(pool["lines"], json!([{ "quantity": "8000" }]));

    // The pool freezes at its cut-off.
    season.app.clock.set(at(CUTOFF));
    season.add_line(&season.kedungkandang, "1").await.expect_error("DEADLINE_PASSED");
    let (tender_id, lot) = season.tender(2).await;

    // An instant finer than the databases store: the receipt shows it at microseconds, the first time and on replay.
    season.app.clock.set(at(BIDDING_START) + Duration::hours(2) + Duration::nanoseconds(19_074_727));
    let first = season.bid(&season.supplier_a, &lot, "1620", "10000", 5, Some("a-1")).await;
    let retry = season.bid(&season.supplier_a, &lot, "1620", "10000", 5, Some("a-1")).await;
    assert_eq!(first.data()["submitBid"], retry.data()["submitBid"], "a retry returns the first receipt");
    let received: DateTime<Utc> = first.data()["submitBid"]["receivedAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(received, at(BIDDING_START) + Duration::hours(2) + Duration::microseconds(19_074));
    season.bid(&season.supplier_a, &lot, "1600", "10000", 5, Some("a-1")).await.expect_error("CONFLICT");
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    let b = season.bid(&season.supplier_b, &lot, "1700", "24000", 4, None).await;
    let b_id = b.data()["submitBid"]["bidId"].as_str().unwrap().to_owned();
    season.bid(&season.supplier_c, &lot, "1750", "24000", 3, None).await.data();
    season.bid(&season.supplier_c, &lot, "1740", "24000", 3, None).await.expect_error("CONFLICT");
    season.bid(&season.supplier_d, &lot, "1600", "4000", 3, None).await.expect_error("BAD_USER_INPUT");

    // The deadline is exclusive: a revision one millisecond before it counts, a bid at it is refused.
    season.app.clock.set(at(DEADLINE) - Duration::milliseconds(1));
    let revised = season
        .gql(
            &season.supplier_b,
            "mutation($i: ReviseBidInput!) { reviseBid(input: $i) { version action receivedAt } }",
            json!({ "i": { "bidId": b_id, "offer": { "unitPrice": "1690", "quantity": "24000", "leadTimeDays": 4, "validityDays": 30 } } }),
        )
        .await;
    assert_eq!(revised.data()["reviseBid"]["version"], 2);
    let received: DateTime<Utc> = revised.data()["reviseBid"]["receivedAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(received, at(DEADLINE) - Duration::milliseconds(1), "received at the server's instant");
    season.app.clock.set(at(DEADLINE));
    let late = season.bid(&season.supplier_d, &lot, "1600", "24000", 3, Some("d-1")).await;
    late.expect_error("DEADLINE_PASSED");
    let count = season
        .gql(&season.agency, "query($id: ID!) { tender(id: $id) { bidCount } }", json!({ "id": tender_id }))
        .await;
    assert_eq!(count.data()["tender"]["bidCount"], 4, "nothing of the late bid was stored");

    let closed = wait_until_closed(&season, &tender_id).await;
    assert_eq!(closed["status"], "CLOSED");
    let evaluation = season
        .gql(
            &season.agency,
            "query($id: ID!) { tender(id: $id) { lots { totalCost awardedQuantity shortfall bids { supplierName unitPrice rank awardedQuantity rejection } } } }",
            json!({ "id": tender_id }),
        )
        .await;
    let lot_view = &evaluation.data()["tender"]["lots"][0];
    assert_eq!(lot_view["totalCost"], "39300000");
    assert_eq!(lot_view["awardedQuantity"], "24000");
    assert_eq!(lot_view["shortfall"], "0");
    let bids: Vec<(String, Value, Value, Value)> = lot_view["bids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["supplierName"].as_str().unwrap().to_owned(),
                b["rank"].clone(),
                b["awardedQuantity"].clone(),
                b["rejection"].clone(),
            )
        })
        .collect();
    assert_eq!(
        bids,
        vec![
            ("Supplier A".to_owned(), json!(1), json!("10000"), Value::Null),
            ("BUMN Pupuk".to_owned(), json!(2), json!("14000"), Value::Null),
            ("Supplier B".to_owned(), json!(3), json!("0"), Value::Null),
            ("Supplier C".to_owned(), Value::Null, json!("0"), json!("ABOVE_MAXIMUM_PRICE")),
        ]
    );

    let awarded = season
        .gql(&season.agency, "mutation($id: ID!) { confirmAward(id: $id) { status } }", json!({ "id": tender_id }))
        .await;
    assert_eq!(awarded.data()["confirmAward"]["status"], "AWARDED");

    // Each cooperative sees its own share, split only where the scenario splits it.
    let allocations = |coop: &Login| {
        let season = &season;
        let coop = coop.clone();
        let tender_id = tender_id.clone();
        async move {
            let response = season
                .gql(
                    &coop,
                    "query($id: ID!) { tender(id: $id) { allocations { supplierName quantity unitPrice lineTotal } } }",
                    json!({ "id": tender_id }),
                )
                .await;
            response.data()["tender"]["allocations"].clone()
        }
    };
    assert_eq!(
        allocations(&season.cemorokandang).await,
        json!([
            { "supplierName": "Supplier A", "quantity": "10000", "unitPrice": "1620", "lineTotal": "16200000" },
            { "supplierName": "BUMN Pupuk", "quantity": "2000", "unitPrice": "1650", "lineTotal": "3300000" }
        ])
    );
    assert_eq!(
        allocations(&season.madyopuro).await,
        json!([{ "supplierName": "BUMN Pupuk", "quantity": "8000", "unitPrice": "1650", "lineTotal": "13200000" }])
    );
    assert_eq!(
        allocations(&season.kedungkandang).await,
        json!([{ "supplierName": "BUMN Pupuk", "quantity": "4000", "unitPrice": "1650", "lineTotal": "6600000" }])
    );

    // A losing bidder sees its own outcome and the winning prices, not the other losers.
    let view = season
        .gql(&season.supplier_b, "query($id: ID!) { tender(id: $id) { lots { bids { supplierName unitPrice rank } } myBids { rank awardedQuantity } } }", json!({ "id": tender_id }))
        .await;
    let seen: Vec<&str> = view.data()["tender"]["lots"][0]["bids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["supplierName"].as_str())
        .collect();
    assert_eq!(seen, vec!["Supplier A", "BUMN Pupuk", "Supplier B"]);
    assert_eq!(view.data()["tender"]["myBids"][0]["rank"], 3);

    // A cooperative in the pool sees the winners and their prices.
    let coop_view = season
        .gql(
            &season.madyopuro,
            "query($id: ID!) { tender(id: $id) { lots { bids { supplierName unitPrice } } } }",
            json!({ "id": tender_id }),
        )
        .await;
    assert_eq!(
        coop_view.data()["tender"]["lots"][0]["bids"],
        json!([{ "supplierName": "Supplier A", "unitPrice": "1620" }, { "supplierName": "BUMN Pupuk", "unitPrice": "1650" }])
    );

    // The opened bid is provably the one received: its hash recomputes and matches the receipt.
    let own = season
        .gql(
            &season.supplier_a,
            "query($id: ID!) { tender(id: $id) { myBids { commitmentHash canonicalEncoding } } }",
            json!({ "id": tender_id }),
        )
        .await;
    let own = &own.data()["tender"]["myBids"][0];
    let recomputed = hex::encode(Sha256::digest(own["canonicalEncoding"].as_str().unwrap().as_bytes()));
    assert_eq!(own["commitmentHash"], recomputed.as_str());
    assert_eq!(first.data()["submitBid"]["commitmentHash"], recomputed.as_str());
}

#[tokio::test]
async fn sealed_bids_stay_sealed_on_every_path_until_the_deadline() {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    let a = season.bid(&season.supplier_a, &lot, "1623.45", "10000", 5, None).await;
    let a_bid = a.data()["submitBid"]["bidId"].as_str().unwrap().to_owned();
    season.bid(&season.bumn, &lot, "1651.55", "24000", 7, None).await.data();

    let everything = "query($id: ID!) { tender(id: $id) { status bidCount myBids { unitPrice quantity supplierName }
        allocations { quantity } lots { outcome totalCost awardedQuantity bids { unitPrice quantity supplierName } } } }";
    let secrets = ["1623.45", "1651.55", "Supplier A", "BUMN Pupuk"];
    for (who, login) in [
        ("another supplier", &season.supplier_b),
        ("a cooperative", &season.cemorokandang),
        ("the agency", &season.agency),
    ] {
        let response = season.gql(login, everything, json!({ "id": tender_id })).await;
        let text = response.body.to_string();
        for secret in secrets {
            assert!(!text.contains(secret), "{who} learnt {secret}: {text}");
        }
        assert_eq!(response.data()["tender"]["lots"][0]["bids"], json!([]), "{who}");
        let history =
            season.gql(login, "query($b: ID!) { bidHistory(bidId: $b) { unitPrice } }", json!({ "b": a_bid })).await;
        assert_eq!(history.data()["bidHistory"], json!([]), "{who} read the bid history");
        let revise = season
            .gql(
                login,
                "mutation($i: ReviseBidInput!) { reviseBid(input: $i) { version } }",
                json!({ "i": { "bidId": a_bid, "offer": { "unitPrice": "1", "quantity": "24000", "leadTimeDays": 1, "validityDays": 1 } } }),
            )
            .await;
        assert!(!revise.body.to_string().contains("1623.45"), "{who}: {}", revise.body);
        assert!(revise.body["data"].is_null());
    }
    // The agency learns the count and nothing else; others not even that.
    let agency = season.gql(&season.agency, everything, json!({ "id": tender_id })).await;
    assert_eq!(agency.data()["tender"]["bidCount"], 2);
    let other = season.gql(&season.supplier_b, everything, json!({ "id": tender_id })).await;
    assert!(other.data()["tender"]["bidCount"].is_null());
    // The bidder sees its own bid.
    let own = season.gql(&season.supplier_a, everything, json!({ "id": tender_id })).await;
    assert_eq!(own.data()["tender"]["myBids"][0]["unitPrice"], "1623.45");
    // The audit trail the agency reads names bids but not their prices or quantities.
    let trail = season
        .gql(&season.agency, "{ auditEntries(first: 100) { edges { node { action summary } } } }", json!({}))
        .await;
    let text = trail.data().to_string();
    assert!(text.contains("bid.submitted"));
    assert!(!text.contains("1623.45") && !text.contains("1651.55"), "the audit trail leaks a bid: {text}");
    // Nor who bid: a bid's entry names no actor until the deadline.
    let who_bid = "{ auditEntries(first: 100) { edges { node { action actorOrganisationId } } } }";
    let bid_entries = |trail: &Value| -> Vec<Value> {
        trail["auditEntries"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .filter(|n| n["action"].as_str().unwrap().starts_with("bid."))
            .collect()
    };
    let before = season.gql(&season.agency, who_bid, json!({})).await;
    let sealed = bid_entries(before.data());
    assert!(!sealed.is_empty() && sealed.iter().all(|n| n["actorOrganisationId"].is_null()), "{sealed:?}");

    // After the deadline the agency may open them.
    season.app.clock.set(at(DEADLINE));
    wait_until_closed(&season, &tender_id).await;
    let after = season.gql(&season.agency, who_bid, json!({})).await;
    assert!(bid_entries(after.data()).iter().all(|n| n["actorOrganisationId"].is_string()));
    let opened = season.gql(&season.agency, everything, json!({ "id": tender_id })).await;
    assert!(opened.body.to_string().contains("1623.45"));
}

#[tokio::test]
async fn withdrawn_bids_do_not_count_and_too_few_bids_leave_the_lot_unsuccessful() {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START));
    let a = season.bid(&season.supplier_a, &lot, "1620", "10000", 5, None).await;
    let a_bid = a.data()["submitBid"]["bidId"].as_str().unwrap().to_owned();
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    let withdrawn = season
        .gql(
            &season.supplier_a,
            "mutation($b: ID!) { withdrawBid(bidId: $b) { action version } }",
            json!({ "b": a_bid }),
        )
        .await;
    assert_eq!(withdrawn.data()["withdrawBid"], json!({ "action": "WITHDRAWN", "version": 2 }));
    season
        .gql(
            &season.supplier_a,
            "mutation($i: ReviseBidInput!) { reviseBid(input: $i) { version } }",
            json!({ "i": { "bidId": a_bid, "offer": { "unitPrice": "1600", "quantity": "10000", "leadTimeDays": 5, "validityDays": 30 } } }),
        )
        .await
        .expect_error("CONFLICT");
    let history = season
        .gql(&season.supplier_a, "query($b: ID!) { bidHistory(bidId: $b) { version action } }", json!({ "b": a_bid }))
        .await;
    assert_eq!(
        history.data()["bidHistory"],
        json!([{ "version": 1, "action": "SUBMITTED" }, { "version": 2, "action": "WITHDRAWN" }])
    );

    season.app.clock.set(at(DEADLINE));
    let closed = wait_until_closed(&season, &tender_id).await;
    assert_eq!(closed["status"], "UNSUCCESSFUL");
    assert_eq!(closed["lots"][0]["outcome"], "UNSUCCESSFUL");
    season
        .gql(&season.agency, "mutation($id: ID!) { confirmAward(id: $id) { status } }", json!({ "id": tender_id }))
        .await
        .expect_error("CONFLICT");
}

#[tokio::test]
async fn two_nodes_close_the_same_tender_exactly_once() {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(1).await;
    season.app.clock.set(at(BIDDING_START));
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    // A second node on the same database, with its background closer effectively off.
    let second =
        lumbung_tests::spawn_on(season.app.database.clone(), &[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000")]).await;
    second.clock.set(at(DEADLINE));
    let tender = uuid::Uuid::parse_str(&tender_id).unwrap();
    // The first node's clock stays before the deadline until both race.
    let (first_node, second_node) = tokio::join!(
        async {
            season.app.clock.set(at(DEADLINE));
            season.app.services.tendering.close(tender).await.unwrap()
        },
        second.services.tendering.close(tender)
    );
    let closes = [first_node, second_node.unwrap()];
    let closed_now = closes.iter().filter(|closed| **closed).count();
    // The background task of the first node may have won the race; either way at most one closing in total.
    assert!(closed_now <= 1, "{closes:?}");
    wait_until_closed(&season, &tender_id).await;
    let trail = season
        .gql(&season.agency, "query($id: String) { auditEntries(first: 100, subjectType: \"tender\", subjectId: $id) { edges { node { action } } } }", json!({ "id": tender_id }))
        .await;
    let closings = trail.data()["auditEntries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["action"] == "tender.closed")
        .count();
    assert_eq!(closings, 1);
    let allocations = season
        .gql(
            &season.agency,
            "query($id: ID!) { tender(id: $id) { allocations { quantity } } }",
            json!({ "id": tender_id }),
        )
        .await;
    assert_eq!(allocations.data()["tender"]["allocations"].as_array().unwrap().len(), 3, "allocated once, not twice");
}

#[tokio::test]
async fn each_actor_is_refused_what_it_may_not_do_in_tendering() {
    let season = season().await;
    pool_demand(&season).await;
    let app = &season.app;
    // A cooperative outside the pool's kecamatan cannot see or join it.
    let mut outside = lumbung_tests::cooperative_input("Bandulan", "bandulan@kmp.test");
    outside["kecamatan"] = json!("Sukun");
    let outside_id = app.register(outside).await;
    app.verify(&season.agency, &outside_id).await;
    let bandulan = app.login_ok("bandulan@kmp.test", lumbung_tests::PASSWORD).await;
    season.add_line(&bandulan, "100").await.expect_error("NOT_FOUND");
    let pool =
        season.gql(&bandulan, "query($id: ID!) { demandPool(id: $id) { id } }", json!({ "id": season.pool_id })).await;
    assert!(pool.data()["demandPool"].is_null());
    // Only the agency opens pools and records allocations; suppliers do not see pools.
    let open_pool = "mutation { openDemandPool(input: { commodityCode: \"UREA-SUB\", city: \"Kota Malang\", season: \"x\", deliveryFirstDay: \"2026-12-20\", deliveryLastDay: \"2026-12-30\", cutoff: \"2026-12-10T00:00:00Z\" }) { id } }";
    for who in [&season.cemorokandang, &season.supplier_a] {
        season.gql(who, open_pool, json!({})).await.expect_error("FORBIDDEN");
    }
    season
        .gql(&season.supplier_a, "{ demandPools { edges { node { id } } } }", json!({}))
        .await
        .expect_error("FORBIDDEN");
    // Only cooperatives add demand.
    let add = "mutation($p: ID!) { addDemandLine(input: { poolId: $p, deliveryPointId: $p, quantity: \"1\", wantedDate: \"2026-12-05\" }) { id } }";
    season.gql(&season.supplier_a, add, json!({ "p": season.pool_id })).await.expect_error("FORBIDDEN");
    season.gql(&season.agency, add, json!({ "p": season.pool_id })).await.expect_error("FORBIDDEN");
    // A cooperative cannot use another's delivery point.
    let foreign_point = season.delivery_point(&season.madyopuro).await;
    season
        .gql(
            &season.cemorokandang,
            "mutation($p: ID!, $d: ID!) { addDemandLine(input: { poolId: $p, deliveryPointId: $d, quantity: \"1\", wantedDate: \"2026-12-05\" }) { id } }",
            json!({ "p": season.pool_id, "d": foreign_point }),
        )
        .await
        .expect_error("BAD_USER_INPUT");

    let (tender_id, lot) = season.tender(2).await;
    app.clock.set(at(BIDDING_START));
    // Cooperatives and the agency do not bid; a supplier that does not sell fertiliser may not; nor may a pending one.
    season.bid(&season.cemorokandang, &lot, "1600", "24000", 5, None).await.expect_error("FORBIDDEN");
    season.bid(&season.agency, &lot, "1600", "24000", 5, None).await.expect_error("FORBIDDEN");
    let mut rice = supplier_input("UD Beras", "beras@supplier.test", false);
    rice["categories"] = json!(["STAPLE"]);
    let rice_id = app.register(rice).await;
    app.verify(&season.agency, &rice_id).await;
    let rice = app.login_ok("beras@supplier.test", lumbung_tests::PASSWORD).await;
    season.bid(&rice, &lot, "1600", "24000", 5, None).await.expect_error("FORBIDDEN");
    let hidden = season.gql(&rice, "query($id: ID!) { tender(id: $id) { id } }", json!({ "id": tender_id })).await;
    assert!(hidden.data()["tender"].is_null(), "a supplier of other goods does not see the tender");
    app.register(supplier_input("CV Baru", "baru@supplier.test", false)).await;
    let pending = app.login_ok("baru@supplier.test", lumbung_tests::PASSWORD).await;
    season.bid(&pending, &lot, "1600", "24000", 5, None).await.expect_error("FORBIDDEN");
    app.gql(None, "mutation($l: ID!) { submitBid(input: { lotId: $l, offer: { unitPrice: \"1\", quantity: \"1\", leadTimeDays: 1, validityDays: 1 } }) { bidId } }", json!({ "l": lot }))
        .await
        .expect_error("UNAUTHENTICATED");
    // Only the agency publishes, cancels and awards; suppliers cannot touch another's bid.
    for mutation in [
        "mutation($id: ID!) { confirmAward(id: $id) { id } }",
        "mutation($id: ID!) { cancelTender(id: $id, reason: \"tidak\") { id } }",
    ] {
        season.gql(&season.supplier_a, mutation, json!({ "id": tender_id })).await.expect_error("FORBIDDEN");
        season.gql(&season.cemorokandang, mutation, json!({ "id": tender_id })).await.expect_error("FORBIDDEN");
    }
    let bumn_bid = season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await;
    let bumn_bid = bumn_bid.data()["submitBid"]["bidId"].as_str().unwrap().to_owned();
    season
        .gql(&season.supplier_a, "mutation($b: ID!) { withdrawBid(bidId: $b) { version } }", json!({ "b": bumn_bid }))
        .await
        .expect_error("NOT_FOUND");
    // Bad offers are refused with the field.
    let zero = season.bid(&season.supplier_a, &lot, "0", "24000", 5, None).await;
    zero.expect_error("BAD_USER_INPUT");
    assert_eq!(zero.body["errors"][0]["extensions"]["field"], "unitPrice");
    season.bid(&season.supplier_a, &lot, "1600", "24000.0001", 5, None).await.expect_error("BAD_USER_INPUT");
    season.bid(&season.supplier_a, &lot, "1600", "24000", -1, None).await.expect_error("BAD_USER_INPUT");
}

#[tokio::test]
async fn suppliers_find_open_tenders_for_what_they_sell_with_where_the_goods_go() {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, _) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START));
    let listing = "{ tenders(status: OPEN) { edges { node { id deadline lots { quantity maxUnitPrice destinations { quantity deliveryPoint { name kecamatan } } } } } } }";
    let seen = season.gql(&season.supplier_a, listing, json!({})).await;
    let edges = seen.data()["tenders"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1);
    let tender = &edges[0]["node"];
    assert_eq!(tender["id"], tender_id.as_str());
    assert_eq!(tender["lots"][0]["maxUnitPrice"], "1700");
    let destinations = tender["lots"][0]["destinations"].as_array().unwrap();
    assert_eq!(destinations.len(), 3);
    let total: i64 = destinations.iter().map(|d| d["quantity"].as_str().unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(total, 24000);
    let deadline: DateTime<Utc> = tender["deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline, at(DEADLINE));

    let mut rice = supplier_input("UD Beras", "beras@supplier.test", false);
    rice["categories"] = json!(["STAPLE"]);
    let rice_id = season.app.register(rice).await;
    season.app.verify(&season.agency, &rice_id).await;
    let rice = season.app.login_ok("beras@supplier.test", lumbung_tests::PASSWORD).await;
    let none = season.gql(&rice, listing, json!({})).await;
    assert_eq!(none.data()["tenders"]["edges"], json!([]));
    // Once past the deadline it is no longer listed as open, even before the closing task has run.
    season.app.clock.set(at(DEADLINE));
    let after = season.gql(&season.supplier_a, listing, json!({})).await;
    assert_eq!(after.data()["tenders"]["edges"], json!([]));
}

#[tokio::test]
async fn cooperatives_change_and_remove_their_demand_until_the_cutoff_and_the_agency_can_extend_it() {
    let season = season().await;
    let line = season.add_line(&season.cemorokandang, "12000").await;
    let line_id = line.data()["addDemandLine"]["id"].as_str().unwrap().to_owned();
    // Above the allocation when changed, within it otherwise.
    let change =
        "mutation($id: ID!, $q: Decimal) { changeDemandLine(id: $id, changes: { quantity: $q }) { quantity } }";
    season
        .gql(&season.cemorokandang, change, json!({ "id": line_id, "q": "15001" }))
        .await
        .expect_error("BAD_USER_INPUT");
    let changed = season.gql(&season.cemorokandang, change, json!({ "id": line_id, "q": "15000" })).await;
    assert_eq!(changed.data()["changeDemandLine"]["quantity"], "15000");
    // Another cooperative cannot touch it.
    season.gql(&season.madyopuro, change, json!({ "id": line_id, "q": "1" })).await.expect_error("NOT_FOUND");
    // An idempotent add: the same key twice stores one line.
    let point = season.delivery_point(&season.madyopuro).await;
    let add = "mutation($i: DemandLineInput!) { addDemandLine(input: $i) { id } }";
    let input = json!({ "i": { "poolId": season.pool_id, "deliveryPointId": point, "quantity": "8000", "wantedDate": "2026-12-05", "idempotencyKey": "madyopuro-1" } });
    let first = season.gql(&season.madyopuro, add, input.clone()).await;
    let again = season.gql(&season.madyopuro, add, input).await;
    assert_eq!(first.data(), again.data());
    let totals = season
        .gql(
            &season.agency,
            "query($id: ID!) { demandPool(id: $id) { pooledQuantity lines { id } } }",
            json!({ "id": season.pool_id }),
        )
        .await;
    assert_eq!(totals.data()["demandPool"]["pooledQuantity"], "23000");
    assert_eq!(totals.data()["demandPool"]["lines"].as_array().unwrap().len(), 2);

    // The agency extends the cut-off; changes are then accepted past the old one.
    let extend = "mutation($id: ID!, $c: DateTime!) { extendPoolCutoff(id: $id, cutoff: $c) { cutoff status } }";
    season
        .gql(&season.agency, extend, json!({ "id": season.pool_id, "c": "2026-11-24T00:00:00Z" }))
        .await
        .expect_error("BAD_USER_INPUT");
    let extended =
        season.gql(&season.agency, extend, json!({ "id": season.pool_id, "c": "2026-11-26T10:00:00Z" })).await;
    assert_eq!(extended.data()["extendPoolCutoff"]["status"], "OPEN");
    season.app.clock.set(at(CUTOFF) + Duration::hours(1));
    let remove = "mutation($id: ID!) { removeDemandLine(id: $id) }";
    assert_eq!(
        season.gql(&season.cemorokandang, remove, json!({ "id": line_id })).await.data()["removeDemandLine"],
        true
    );
    season.app.clock.set(at("2026-11-26T10:00:00Z"));
    season
        .gql(&season.madyopuro, change, json!({ "id": first.data()["addDemandLine"]["id"], "q": "1" }))
        .await
        .expect_error("DEADLINE_PASSED");
    season
        .gql(&season.agency, extend, json!({ "id": season.pool_id, "c": "2026-11-27T10:00:00Z" }))
        .await
        .expect_error("DEADLINE_PASSED");

    // Cancelling says why; a cancelled pool takes no tender.
    let cancel =
        "mutation($id: ID!) { cancelDemandPool(id: $id, reason: \"stok pupuk dialihkan\") { status cancelReason } }";
    let cancelled = season.gql(&season.agency, cancel, json!({ "id": season.pool_id })).await;
    assert_eq!(cancelled.data()["cancelDemandPool"]["status"], "CANCELLED");
    season
        .gql(
            &season.agency,
            "mutation($i: TenderInput!) { createTender(input: $i) { id } }",
            json!({ "i": { "poolId": season.pool_id, "maxUnitPrice": "1700", "biddingStart": BIDDING_START, "deadline": DEADLINE } }),
        )
        .await
        .expect_error("CONFLICT");
}

#[tokio::test]
async fn the_ceiling_defaults_to_the_het_and_may_not_exceed_it() {
    let season = season().await;
    pool_demand(&season).await;
    season.app.clock.set(at(CUTOFF));
    let create = "mutation($i: TenderInput!) { createTender(input: $i) { lots { maxUnitPrice } } }";
    let above = json!({ "i": { "poolId": season.pool_id, "maxUnitPrice": "1800.01", "biddingStart": BIDDING_START, "deadline": DEADLINE } });
    let refused = season.gql(&season.agency, create, above).await;
    refused.expect_error("BAD_USER_INPUT");
    assert!(refused.error_message().contains("HET"), "{}", refused.error_message());
    let default = json!({ "i": { "poolId": season.pool_id, "biddingStart": BIDDING_START, "deadline": DEADLINE } });
    let created = season.gql(&season.agency, create, default).await;
    assert_eq!(created.data()["createTender"]["lots"][0]["maxUnitPrice"], "1800");
}

#[tokio::test]
async fn a_cooperative_pages_through_exactly_the_pools_of_its_area() {
    let season = season().await;
    let open = |kecamatan: &'static str| {
        let season = &season;
        async move {
            season
                .gql(
                    &season.agency,
                    "mutation($i: DemandPoolInput!) { openDemandPool(input: $i) { id } }",
                    json!({ "i": { "commodityCode": "UREA-SUB", "city": "Kota Malang", "kecamatans": [kecamatan], "season": "2026-MT1",
                        "deliveryFirstDay": "2026-12-01", "deliveryLastDay": "2026-12-15", "cutoff": CUTOFF } }),
                )
                .await
                .data()["openDemandPool"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let mut expected = vec![season.pool_id.clone()];
    for round in 0..2 {
        for _ in 0..10 {
            open("Sukun").await;
        }
        if round == 0 {
            expected.push(open("Kedungkandang").await);
        }
    }
    expected.reverse(); // newest first
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..10 {
        let page = season
            .gql(
                &season.cemorokandang,
                "query($after: String) { demandPools(first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        let connection = page.data()["demandPools"].clone();
        seen.extend(
            connection["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, expected);
}

/// The last minutes before a deadline: bids arrive together and the server writes them together (one transaction per
/// batch). Each is still judged on its own, in arrival order, and acknowledged only once stored.
#[tokio::test]
async fn bids_arriving_together_are_each_judged_and_stored_once() {
    use futures::future::join_all;

    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(1).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    let suppliers = [&season.supplier_a, &season.bumn, &season.supplier_b, &season.supplier_c, &season.supplier_d];

    // Everyone submits at once. Supplier A's request is retried under the same key at the same moment; supplier B
    // sends a second submission; supplier D also sends one below the minimum partial quantity.
    let keys: Vec<String> = (0..suppliers.len()).map(|i| format!("first-{i}")).collect();
    let mut round = Vec::new();
    for (supplier, key) in suppliers.iter().zip(&keys) {
        round.push(season.bid(supplier, &lot, "1650", "24000", 3, Some(key)));
    }
    round.push(season.bid(&season.supplier_a, &lot, "1650", "24000", 3, Some("first-0")));
    round.push(season.bid(&season.supplier_b, &lot, "1640", "24000", 3, None));
    round.push(season.bid(&season.supplier_d, &lot, "1600", "4000", 3, None));
    let mut answers = join_all(round).await;
    assert_eq!(answers[7].error_code(), "BAD_USER_INPUT");
    // Whichever of supplier B's two submissions was stored first stands; the other is refused.
    if answers[2].refused() {
        answers.swap(2, 6);
    }
    assert_eq!(answers[6].error_code(), "CONFLICT", "one bid per supplier and lot");
    let receipts: Vec<&Value> = answers[..5].iter().map(|answer| &answer.data()["submitBid"]).collect();
    assert_eq!(answers[5].data()["submitBid"], *receipts[0], "the retry returns the first receipt");
    let bid_ids: Vec<String> = receipts.iter().map(|r| r["bidId"].as_str().unwrap().to_owned()).collect();
    for receipt in &receipts {
        assert_eq!(receipt["version"], 1);
        assert_eq!(receipt["commitmentHash"].as_str().unwrap().len(), 64);
    }

    // Every supplier revises five times at once: five versions each, numbered in the order they were stored.
    let revise = "mutation($i: ReviseBidInput!) { reviseBid(input: $i) { bidId version } }";
    let mut round = Vec::new();
    for (supplier, bid_id) in suppliers.iter().zip(&bid_ids) {
        for step in 0..5 {
            let offer = json!({ "unitPrice": (1645 - step).to_string(), "quantity": "24000", "leadTimeDays": 3, "validityDays": 30 });
            round.push(season.gql(supplier, revise, json!({ "i": { "bidId": bid_id, "offer": offer } })));
        }
    }
    let answers = join_all(round).await;
    for (i, bid_id) in bid_ids.iter().enumerate() {
        let mut versions: Vec<i64> = answers[i * 5..i * 5 + 5]
            .iter()
            .map(|answer| {
                assert_eq!(answer.data()["reviseBid"]["bidId"], bid_id.as_str());
                answer.data()["reviseBid"]["version"].as_i64().unwrap()
            })
            .collect();
        versions.sort_unstable();
        assert_eq!(versions, [2, 3, 4, 5, 6], "no version lost or given twice");
        let history = season
            .gql(
                suppliers[i],
                "query($b: ID!) { bidHistory(bidId: $b) { version commitmentHash } }",
                json!({ "b": bid_id }),
            )
            .await;
        let history = history.data()["bidHistory"].as_array().unwrap().clone();
        let mut stored: Vec<i64> = history.iter().map(|v| v["version"].as_i64().unwrap()).collect();
        stored.sort_unstable();
        assert_eq!(stored, [1, 2, 3, 4, 5, 6]);
        let hashes: std::collections::HashSet<&str> =
            history.iter().map(|v| v["commitmentHash"].as_str().unwrap()).collect();
        assert_eq!(hashes.len(), 6, "every version has its own commitment");
    }

    // Two withdrawals of one bid at once: one is stored, the other finds it withdrawn.
    let withdraw = "mutation($b: ID!) { withdrawBid(bidId: $b) { version action } }";
    let answers = join_all([
        season.gql(&season.supplier_c, withdraw, json!({ "b": bid_ids[3] })),
        season.gql(&season.supplier_d, withdraw, json!({ "b": bid_ids[4] })),
        season.gql(&season.supplier_d, withdraw, json!({ "b": bid_ids[4] })),
    ])
    .await;
    assert_eq!(answers[0].data()["withdrawBid"]["version"], 7);
    let codes: Vec<Option<String>> =
        answers[1..].iter().map(|answer| answer.refused().then(|| answer.error_code())).collect();
    assert!(codes.contains(&None) && codes.contains(&Some("CONFLICT".into())), "{codes:?}");
    let count = season
        .gql(&season.agency, "query($id: ID!) { tender(id: $id) { bidCount } }", json!({ "id": tender_id }))
        .await;
    assert_eq!(count.data()["tender"]["bidCount"], 3);
}

/// Two nodes, one supplier, one lot, the same instant: each node's writer batches on its own, so the race is between
/// their transactions. One first bid is stored; the other request is told the supplier already has one.
#[tokio::test]
async fn the_same_first_bid_sent_to_two_nodes_at_once_is_stored_once() {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(1).await;
    let now = at(BIDDING_START) + Duration::hours(1);
    season.app.clock.set(now);
    let second =
        lumbung_tests::spawn_on(season.app.database.clone(), &[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000")]).await;
    second.clock.set(now);
    let submit = "mutation($i: SubmitBidInput!) { submitBid(input: $i) { bidId version } }";
    let offer = json!({ "unitPrice": "1650", "quantity": "24000", "leadTimeDays": 3, "validityDays": 30 });
    let suppliers = [&season.supplier_a, &season.bumn, &season.supplier_b, &season.supplier_c, &season.supplier_d];
    for supplier in suppliers {
        let variables = json!({ "i": { "lotId": lot, "offer": offer } });
        let (here, there) = tokio::join!(
            season.gql(supplier, submit, variables.clone()),
            second.gql(Some(&supplier.access_token), submit, variables.clone()),
        );
        let answers = [here, there];
        let stored: Vec<&Gql> = answers.iter().filter(|answer| !answer.refused()).collect();
        assert_eq!(stored.len(), 1, "exactly one first bid: {:?}", answers.iter().map(|a| &a.body).collect::<Vec<_>>());
        assert_eq!(stored[0].data()["submitBid"]["version"], 1);
        let other = answers.iter().find(|answer| answer.refused()).unwrap();
        other.expect_error("CONFLICT");
        assert!(other.error_message().contains("already have a bid"), "{}", other.error_message());
    }
    let count = season
        .gql(&season.agency, "query($id: ID!) { tender(id: $id) { bidCount } }", json!({ "id": tender_id }))
        .await;
    assert_eq!(count.data()["tender"]["bidCount"], 5);
    second.stop().await;
}
