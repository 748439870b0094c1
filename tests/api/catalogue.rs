//! The commodity catalogue, HET and reference prices, exact amounts, and the demo data.

use infra::demo;
use lumbung_tests::spawn_app;
use serde_json::json;

const CREATE: &str = "mutation($i: CommodityInput!) { createCommodity(input: $i) { code unit category } }";
const SET_PRICE: &str = "mutation($i: PriceReferenceInput!) { setPriceReference(input: $i) { price kind areaScope areaName effectiveFrom } }";

fn price(code: &str, kind: &str, price: &str, scope: &str, area: Option<&str>, from: &str) -> serde_json::Value {
    json!({ "i": { "commodityCode": code, "kind": kind, "price": price, "areaScope": scope, "areaName": area, "effectiveFrom": from } })
}

#[tokio::test]
async fn the_agency_keeps_prices_as_history_and_the_narrowest_latest_one_applies() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let token = Some(agency.access_token.as_str());
    let lpg = json!({ "i": { "code": "lpg-3kg", "nameId": "LPG 3 kg", "nameEn": "3 kg LPG", "unit": "CYLINDER", "category": "LPG" } });
    let created = app.gql(token, CREATE, lpg.clone()).await;
    assert_eq!(created.data()["createCommodity"], json!({ "code": "LPG-3KG", "unit": "CYLINDER", "category": "LPG" }));
    app.gql(token, CREATE, lpg).await.expect_error("CONFLICT");

    app.gql(token, SET_PRICE, price("LPG-3KG", "HET", "19000", "NATIONAL", None, "2025-01-01")).await.data();
    app.gql(token, SET_PRICE, price("LPG-3KG", "HET", "16000", "PROVINCE", Some("Jawa Timur"), "2024-01-01"))
        .await
        .data();
    app.gql(token, SET_PRICE, price("LPG-3KG", "HET", "18000", "PROVINCE", Some("Jawa Timur"), "2025-01-01"))
        .await
        .data();
    app.gql(token, SET_PRICE, price("LPG-3KG", "HET", "18500", "PROVINCE", Some("Jawa Timur"), "2025-01-01"))
        .await
        .expect_error("CONFLICT");

    let query = "query($p: String, $on: NaiveDate) { commodity(code: \"LPG-3KG\") {
        applicablePrice(kind: HET, province: $p, on: $on) { price areaName }
        priceReferences { price } } }";
    let read = |province: &'static str, on: &'static str| {
        let app = &app;
        let token = agency.access_token.clone();
        async move {
            let response = app.gql(Some(&token), query, json!({ "p": province, "on": on })).await;
            response.data()["commodity"]["applicablePrice"]["price"].as_str().map(str::to_owned)
        }
    };
    assert_eq!(read("Jawa Timur", "2026-11-28").await.as_deref(), Some("18000"));
    assert_eq!(read("Jawa Timur", "2024-06-01").await.as_deref(), Some("16000"));
    assert_eq!(read("Bali", "2026-11-28").await.as_deref(), Some("19000"));
    assert_eq!(read("Bali", "2024-06-01").await, None);
}

#[tokio::test]
async fn large_and_fractional_prices_come_back_exactly() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let token = Some(agency.access_token.as_str());
    let rice = json!({ "i": { "code": "BERAS-MEDIUM", "nameId": "Beras medium", "nameEn": "Medium rice", "unit": "KG", "category": "STAPLE" } });
    app.gql(token, CREATE, rice).await.data();
    // 17 significant digits: a float would lose the last ones.
    for (value, from) in [("99999999999.99", "2026-01-01"), ("1637.5", "2026-01-02"), ("0.01", "2026-01-03")] {
        let set = app
            .gql(token, SET_PRICE, price("BERAS-MEDIUM", "REFERENCE", value, "CITY", Some("Kota Malang"), from))
            .await;
        assert_eq!(set.data()["setPriceReference"]["price"], value);
    }
    let read = app.gql(token, "{ commodity(code: \"BERAS-MEDIUM\") { priceReferences { price } } }", json!({})).await;
    let prices: Vec<&str> = read.data()["commodity"]["priceReferences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["price"].as_str())
        .collect();
    assert_eq!(prices, vec!["0.01", "1637.5", "99999999999.99"]);
}

#[tokio::test]
async fn bad_prices_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let token = Some(agency.access_token.as_str());
    let urea = json!({ "i": { "code": "UREA-SUB", "nameId": "Urea bersubsidi", "nameEn": "Subsidised urea", "unit": "KG", "category": "SUBSIDISED_FERTILISER" } });
    app.gql(token, CREATE, urea).await.data();
    for bad in ["0", "-1800", "1800.001", "100000000001", "banyak"] {
        let response = app.gql(token, SET_PRICE, price("UREA-SUB", "HET", bad, "NATIONAL", None, "2025-10-22")).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{bad}: {}", response.body);
    }
    app.gql(token, SET_PRICE, price("UREA-SUB", "HET", "1800", "NATIONAL", Some("Jawa Timur"), "2025-10-22"))
        .await
        .expect_error("BAD_USER_INPUT");
    app.gql(token, SET_PRICE, price("NOT-THERE", "HET", "1800", "NATIONAL", None, "2025-10-22"))
        .await
        .expect_error("NOT_FOUND");
    let read = app.gql(token, "{ commodity(code: \"UREA-SUB\") { priceReferences { price } } }", json!({})).await;
    assert_eq!(read.data()["commodity"]["priceReferences"], json!([]));
}

#[tokio::test]
async fn every_logged_in_user_reads_the_catalogue_but_only_the_agency_changes_it() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let eggs = json!({ "i": { "code": "TELUR-AYAM", "nameId": "Telur ayam", "nameEn": "Eggs", "unit": "KG", "category": "STAPLE" } });
    app.gql(Some(&agency.access_token), CREATE, eggs).await.data();
    let list = app.gql(Some(&coop.access_token), "{ commodities { edges { node { code nameEn } } } }", json!({})).await;
    assert_eq!(list.data()["commodities"]["edges"][0]["node"]["code"], "TELUR-AYAM");
    app.gql(
        Some(&coop.access_token),
        "mutation { updateCommodity(code: \"TELUR-AYAM\", changes: { nameEn: \"Hen eggs\" }) { nameEn } }",
        json!({}),
    )
    .await
    .expect_error("FORBIDDEN");
    app.gql(None, "{ commodities { edges { node { code } } } }", json!({})).await.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn the_demo_logins_work_and_the_catalogue_has_todays_ceilings() {
    // The closer stays quiet while the demo plays its past (see the living-season test below).
    let app = lumbung_tests::spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000")]).await;
    let logins = demo::seed(&app.services, &app.settings).await.unwrap();
    assert_eq!(logins.iter().filter(|l| l.role == "COOP_STAFF").count(), 8);
    assert!(logins.iter().filter(|l| l.role == "SUPPLIER_SALES").count() >= 4);
    for login in &logins {
        app.login_ok(&login.email, demo::DEMO_PASSWORD).await;
    }
    let analyst = logins.iter().find(|l| l.role == "AGENCY_ANALYST").unwrap();
    let token = app.login_ok(&analyst.email, demo::DEMO_PASSWORD).await.access_token;
    let ceilings = app
        .gql(
            Some(&token),
            "{ commodities(first: 50) { edges { node { code applicablePrice(kind: HET, on: \"2026-11-28\", province: \"Jawa Timur\") { price } } } } }",
            json!({}),
        )
        .await;
    let het = |code: &str| {
        ceilings.data()["commodities"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["code"] == code)
            .map(|e| e["node"]["applicablePrice"]["price"].clone())
    };
    assert_eq!(het("UREA-SUB"), Some(json!("1800")));
    assert_eq!(het("NPK-SUB"), Some(json!("1840")));
    assert_eq!(het("ORGANIK-SUB"), Some(json!("640")));
    assert_eq!(het("BERAS-MEDIUM"), Some(json!("13500")));
    assert_eq!(het("BERAS-PREMIUM"), Some(json!("14900")));
    assert_eq!(het("MINYAKITA"), Some(json!("15700")));
    assert_eq!(het("LPG-3KG"), Some(json!("18000")));
    let suppliers = app
        .gql(
            Some(&token),
            "{ organisations(first: 50, kind: SUPPLIER) { edges { node { isStateOwned categories } } } }",
            json!({}),
        )
        .await;
    let bumn = suppliers.data()["organisations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["isStateOwned"] == true)
        .count();
    assert_eq!(bumn, 2);
    // The season has begun: an open pool for subsidised urea in Kedungkandang with two cooperatives' demand, and
    // Kedungkandang's own 4,000 kg of allocation left for the person trying the demo.
    let pools = app
        .gql(
            Some(&token),
            "{ demandPools { edges { node { status pooledQuantity cooperativeCount commodity { code } } } } }",
            json!({}),
        )
        .await;
    let urea = pools.data()["demandPools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["commodity"]["code"] == "UREA-SUB")
        .map(|e| e["node"].clone());
    assert_eq!(
        urea,
        Some(
            json!({ "status": "OPEN", "pooledQuantity": "20000", "cooperativeCount": 2, "commodity": { "code": "UREA-SUB" } })
        )
    );
    // Two weeks of market surveys: urea stays under its HET; medium rice rises above it in the last days.
    let alerts = |code: &str| {
        let variables = json!({ "i": { "commodityCode": code, "period": "WEEK", "from": "2026-11-11", "to": "2026-11-25", "source": "MARKET" } });
        let token = token.clone();
        let app = &app;
        async move {
            let response = app
                .gql(
                    Some(&token),
                    "query($i: PriceQueryInput!) { priceAlerts(input: $i) { kind marketNames } }",
                    variables,
                )
                .await;
            response.data()["priceAlerts"].as_array().unwrap().clone()
        }
    };
    assert_eq!(alerts("UREA-SUB").await, Vec::<serde_json::Value>::new());
    let rice = alerts("BERAS-MEDIUM").await;
    assert!(rice.iter().any(|a| a["kind"] == "ABOVE_HET"), "{rice:?}");
    // Seeding twice is refused rather than duplicating.
    assert!(demo::seed(&app.services, &app.settings).await.is_err());
}

#[tokio::test]
async fn the_demo_shows_a_living_season_dated_from_the_day_it_is_seeded() {
    // `serve --demo` seeds before the server starts its closer; here the server already runs, so its closer (whose
    // clock is at the season's end) stays quiet while the demo plays the past.
    let app = lumbung_tests::spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000")]).await;
    demo::seed(&app.services, &app.settings).await.unwrap();
    let login = |email: &'static str| app.login_ok(email, demo::DEMO_PASSWORD);
    let agency = login("analis@diskopindag-malang.demo").await;
    let tenders = app
        .gql(
            Some(&agency.access_token),
            "{ tenders(first: 20) { edges { node { id status deadline bidCount commodity { code } } } } }",
            json!({}),
        )
        .await;
    let tenders: Vec<serde_json::Value> =
        tenders.data()["tenders"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    let of = |code: &str| tenders.iter().find(|t| t["commodity"]["code"] == code).cloned().unwrap();
    assert_eq!(of("NPK-SUB")["status"], "AWARDED");
    assert_eq!(of("BERAS-MEDIUM")["status"], "AWARDED");
    // Open now, its deadline two days ahead of the day the demo was seeded, one sealed bid in (a count only).
    let organic = of("ORGANIK-SUB");
    assert_eq!(organic["status"], "OPEN");
    assert_eq!(organic["bidCount"], 1);
    let deadline: chrono::DateTime<chrono::Utc> = organic["deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!((deadline - lumbung_tests::start_instant()).num_hours(), 48);

    // The NPK orders were delivered: Madyopuro's with a rejected torn sack and the supplier's answer.
    let madyopuro = login("madyopuro@kmp.demo").await;
    let orders = app
        .gql(
            Some(&madyopuro.access_token),
            "{ purchaseOrders { edges { node { status amountDue confirmations { discrepancy supplierResponse lines { rejected } } } } } }",
            json!({}),
        )
        .await;
    let npk = orders.data()["purchaseOrders"]["edges"][0]["node"].clone();
    assert_eq!(npk["status"], "PARTIALLY_DELIVERED");
    assert_eq!(npk["confirmations"][0]["discrepancy"], true);
    assert_eq!(npk["confirmations"][0]["lines"][0]["rejected"], "50");
    assert!(npk["confirmations"][0]["supplierResponse"].as_str().is_some_and(|r| !r.is_empty()));
    // Awarded this morning: one rice order accepted and waiting to be dispatched, one waiting to be accepted.
    let bulog = login("penjualan@bulog.demo").await;
    let rice = app.gql(Some(&bulog.access_token), "{ purchaseOrders { edges { node { status } } } }", json!({})).await;
    let mut statuses: Vec<String> = rice.data()["purchaseOrders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["status"].as_str().unwrap().to_owned())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["ACCEPTED", "ISSUED"]);
}
