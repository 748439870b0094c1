//! The real `lumbung` binary, started and prepared over HTTP as a client would: shared by the tests that need whole
//! server processes (faults, several nodes).

// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chrono::Utc;
use serde_json::{Value, json};

pub use lumbung_tests::{PASSWORD, TestDatabase};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

pub fn lumbung(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lumbung"));
    command
        .env("DATABASE_URL", database_url)
        // These tests run tenders of a few seconds.
        .env("LUMBUNG_MIN_BIDDING_SECONDS", "1")
        .env("JWT_SECRET", "fault-test-secret-fault-test-secret-0123456789")
        .env("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "3600")
        .env("RUST_LOG", "warn")
        // Bids queue receipts by e-mail; this test is about the bids, so the messages stay in the outbox table.
        .env("LUMBUNG_MAIL_WORKER", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

pub async fn start(database_url: &str, port: u16, environment: &[(&str, &str)]) -> Child {
    let mut child = lumbung(database_url)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .envs(environment.iter().copied())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not become ready");
}

pub async fn gql(client: &reqwest::Client, port: u16, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

pub async fn login(client: &reqwest::Client, port: u16, email: &str) -> Value {
    gql(
        client,
        port,
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { organisationId } } }",
        json!({ "e": email, "p": PASSWORD }),
    )
    .await["login"]
        .clone()
}

/// What [`prepare`] made.
pub struct Prepared {
    pub tender_id: String,
    pub lot_id: String,
    pub agency: String,
    pub suppliers: Vec<String>,
}

/// An agency, a cooperative with demand, an open tender whose bidding ends after `bidding`, and `suppliers` verified
/// suppliers.
pub async fn prepare(database_url: &str, port: u16, suppliers: usize, bidding: chrono::Duration) -> Prepared {
    let created = lumbung(database_url)
        .args(["create-admin", "--email", "admin@fault.test", "--name", "Admin"])
        .env("LUMBUNG_ADMIN_PASSWORD", PASSWORD)
        .status()
        .unwrap();
    assert!(created.success(), "lumbung create-admin");
    let client = reqwest::Client::new();
    let admin = login(&client, port, "admin@fault.test").await;
    let admin = admin["accessToken"].as_str().unwrap().to_owned();
    let register = "mutation($i: OrganisationInput!) { createOrganisation(input: $i) { organisation { id } } }";
    let user = |email: &str| json!({ "email": email, "name": "Orang Uji", "password": PASSWORD });
    gql(&client, port, Some(&admin), register, json!({ "i": { "kind": "AGENCY", "name": "Diskopindag", "city": "Kota Malang", "firstUser": user("agency@fault.test") } })).await;
    let agency = login(&client, port, "agency@fault.test").await["accessToken"].as_str().unwrap().to_owned();
    gql(&client, port, Some(&agency), "mutation { createCommodity(input: { code: \"NPK-NONSUB\", nameId: \"NPK\", nameEn: \"NPK\", unit: KG, category: FERTILISER }) { code } }", json!({})).await;
    gql(&client, port, Some(&admin), register, json!({ "i": {
        "kind": "COOPERATIVE", "name": "KMP Uji", "registrationNumber": "AHU-1", "kelurahan": "Dinoyo", "kecamatan": "Lowokwaru", "city": "Kota Malang",
        "deliveryPoints": [{ "name": "Gerai", "address": "Jl. Uji No. 1", "kelurahan": "Dinoyo", "kecamatan": "Lowokwaru", "city": "Kota Malang" }],
        "firstUser": user("coop@fault.test") } })).await;
    for i in 0..suppliers {
        gql(&client, port, Some(&admin), register, json!({ "i": { "kind": "SUPPLIER", "name": format!("Pemasok {i}"), "categories": ["FERTILISER"], "firstUser": user(&format!("s{i}@fault.test")) } })).await;
    }
    let now = Utc::now();
    let cutoff = now + chrono::Duration::seconds(2);
    let pool = gql(&client, port, Some(&agency), "mutation($i: DemandPoolInput!) { openDemandPool(input: $i) { id } }", json!({ "i": {
        "commodityCode": "NPK-NONSUB", "city": "Kota Malang", "deliveryFirstDay": (now + chrono::Duration::days(10)).date_naive(),
        "deliveryLastDay": (now + chrono::Duration::days(20)).date_naive(), "cutoff": cutoff } })).await;
    let pool_id = pool["openDemandPool"]["id"].as_str().unwrap().to_owned();
    let coop = login(&client, port, "coop@fault.test").await;
    let coop_token = coop["accessToken"].as_str().unwrap().to_owned();
    let points = gql(
        &client,
        port,
        Some(&coop_token),
        "query($id: ID!) { organisation(id: $id) { deliveryPoints { id } } }",
        json!({ "id": coop["user"]["organisationId"] }),
    )
    .await;
    gql(&client, port, Some(&coop_token), "mutation($i: DemandLineInput!) { addDemandLine(input: $i) { id } }", json!({ "i": {
        "poolId": pool_id, "deliveryPointId": points["organisation"]["deliveryPoints"][0]["id"], "quantity": "1000000", "wantedDate": (now + chrono::Duration::days(12)).date_naive() } })).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let tender = gql(&client, port, Some(&agency), "mutation($i: TenderInput!) { createTender(input: $i) { id lots { id } } }", json!({ "i": {
        "poolId": pool_id, "maxUnitPrice": "5000", "partialBidsAllowed": true, "biddingStart": Utc::now(), "deadline": Utc::now() + bidding } })).await;
    gql(
        &client,
        port,
        Some(&agency),
        "mutation($id: ID!) { publishTender(id: $id) { status } }",
        json!({ "id": tender["createTender"]["id"] }),
    )
    .await;
    let mut tokens = Vec::new();
    for i in 0..suppliers {
        tokens
            .push(login(&client, port, &format!("s{i}@fault.test")).await["accessToken"].as_str().unwrap().to_owned());
    }
    Prepared {
        tender_id: tender["createTender"]["id"].as_str().unwrap().to_owned(),
        lot_id: tender["createTender"]["lots"][0]["id"].as_str().unwrap().to_owned(),
        agency,
        suppliers: tokens,
    }
}
