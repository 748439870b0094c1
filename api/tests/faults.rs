//! Faults: the real `lumbung` binary killed with SIGKILL in the middle of a bid burst, then restarted on the same
//! database. Every bid whose receipt a client got is there with the hash it was given, nothing is half-written, and a
//! request whose answer was lost, retried with its idempotency key, is stored once. On SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const PASSWORD: &str = "kata-sandi-yang-kuat-1";

struct TestDatabase {
    url: String,
    admin: Option<(String, String)>,
}

impl TestDatabase {
    async fn create() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let name = format!("lumbung_fault_{id}");
                let admin = Database::connect(&admin_url).await.unwrap();
                admin
                    .execute_raw(Statement::from_string(
                        admin.get_database_backend(),
                        format!("CREATE DATABASE {name}"),
                    ))
                    .await
                    .unwrap();
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_owned();
                Self { url: format!("{base}/{name}"), admin: Some((admin_url, name)) }
            }
            None => Self {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    std::env::temp_dir().join(format!("lumbung-fault-{id}.db")).display()
                ),
                admin: None,
            },
        }
    }

    async fn drop_it(&self) {
        if let Some((admin_url, name)) = &self.admin {
            let admin = Database::connect(admin_url).await.unwrap();
            let _ = admin
                .execute_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ))
                .await;
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

fn lumbung(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lumbung"));
    command
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", "fault-test-secret-fault-test-secret-0123456789")
        .env("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "3600")
        .env("RUST_LOG", "warn")
        // Bids queue receipts by e-mail; this test is about the bids, so the messages stay in the outbox table.
        .env("LUMBUNG_MAIL_WORKER", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

async fn start(database_url: &str, port: u16) -> Child {
    let mut child = lumbung(database_url).args(["serve", "--bind", &format!("127.0.0.1:{port}")]).spawn().unwrap();
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

async fn gql(client: &reqwest::Client, port: u16, token: Option<&str>, query: &str, variables: Value) -> Value {
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

async fn login(client: &reqwest::Client, port: u16, email: &str) -> Value {
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

/// An agency, a cooperative with demand, an open tender and `suppliers` verified suppliers; returns the lot and the
/// suppliers' tokens.
async fn prepare(database_url: &str, port: u16, suppliers: usize) -> (String, Vec<String>) {
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
        "poolId": pool_id, "maxUnitPrice": "5000", "partialBidsAllowed": true, "biddingStart": Utc::now(), "deadline": Utc::now() + chrono::Duration::hours(1) } })).await;
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
    (tender["createTender"]["lots"][0]["id"].as_str().unwrap().to_owned(), tokens)
}

/// What a client knows: the receipts it got, and the request in flight when the server died.
#[derive(Default, Clone)]
struct ClientLog {
    bid_id: Option<String>,
    receipts: Vec<(i64, String)>,
    in_flight: Option<(String, Value)>,
}

const SUBMIT: &str = "mutation($i: SubmitBidInput!) { submitBid(input: $i) { bidId version commitmentHash } }";
const REVISE: &str = "mutation($i: ReviseBidInput!) { reviseBid(input: $i) { bidId version commitmentHash } }";

fn request(log: &ClientLog, lot: &str, key: &str, price: i64) -> Value {
    let offer = json!({ "unitPrice": price.to_string(), "quantity": "1000", "leadTimeDays": 3, "validityDays": 30 });
    match &log.bid_id {
        None => {
            json!({ "query": SUBMIT, "variables": { "i": { "lotId": lot, "offer": offer, "idempotencyKey": key } } })
        }
        Some(id) => {
            json!({ "query": REVISE, "variables": { "i": { "bidId": id, "offer": offer, "idempotencyKey": key } } })
        }
    }
}

fn receipt_of(body: &Value) -> Option<(String, i64, String)> {
    let data = &body["data"];
    let receipt = if data["submitBid"].is_object() { &data["submitBid"] } else { &data["reviseBid"] };
    Some((
        receipt["bidId"].as_str()?.to_owned(),
        receipt["version"].as_i64()?,
        receipt["commitmentHash"].as_str()?.to_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_bids_survive_a_sigkill() {
    let database = TestDatabase::create().await;
    let port = free_port();
    let mut server = start(&database.url, port).await;
    let (lot, tokens) = prepare(&database.url, port, 6).await;

    let logs: Arc<Mutex<HashMap<usize, ClientLog>>> = Arc::new(Mutex::new(HashMap::new()));
    let mut clients = Vec::new();
    for (index, token) in tokens.iter().cloned().enumerate() {
        let logs = logs.clone();
        let lot = lot.clone();
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            let mut log = ClientLog::default();
            for attempt in 0..10_000_i64 {
                let key = format!("client-{index}-request-{attempt}");
                let body = request(&log, &lot, &key, 4000 - attempt % 900);
                log.in_flight = Some((key, body.clone()));
                logs.lock().await.insert(index, log.clone());
                let response = client
                    .post(format!("http://127.0.0.1:{port}/graphql"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                let Ok(response) = response else { break };
                let Ok(answer) = response.json::<Value>().await else { break };
                let (bid_id, version, hash) = receipt_of(&answer).unwrap_or_else(|| panic!("refused: {answer}"));
                log.bid_id = Some(bid_id);
                log.receipts.push((version, hash));
                log.in_flight = None;
                logs.lock().await.insert(index, log.clone());
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush beyond what was committed.
    server.wait().unwrap();
    for client in clients {
        let _ = client.await;
    }

    let mut server = start(&database.url, port).await;
    let http = reqwest::Client::new();
    let logs = logs.lock().await.clone();
    let mut receipts = 0;
    for (index, token) in tokens.iter().enumerate() {
        let mut log = logs.get(&index).cloned().unwrap_or_default();
        receipts += log.receipts.len();
        // The request in flight is retried with its key: stored at most once, whether or not it got through.
        if let Some((_, body)) = log.in_flight.take() {
            let retried: Value = http
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let again: Value = http
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(retried, again, "the same key twice gives the same receipt");
            if let Some((bid_id, version, hash)) = receipt_of(&retried) {
                log.bid_id = Some(bid_id);
                log.receipts.push((version, hash));
            }
        }
        let Some(bid_id) = log.bid_id else { continue };
        let history = gql(
            &http,
            port,
            Some(token),
            "query($b: ID!) { bidHistory(bidId: $b) { version commitmentHash } }",
            json!({ "b": bid_id }),
        )
        .await;
        let stored: Vec<(i64, String)> = history["bidHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["version"].as_i64().unwrap(), v["commitmentHash"].as_str().unwrap().to_owned()))
            .collect();
        // Versions are 1..n with no gap or repeat, and every acknowledged one is there with the hash it was given.
        let versions: Vec<i64> = stored.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=stored.len() as i64).collect::<Vec<_>>(), "client {index}");
        for receipt in &log.receipts {
            assert!(stored.contains(receipt), "client {index} lost acknowledged version {receipt:?}");
        }
        assert!(stored.len() <= log.receipts.len() + 1, "at most the one unacknowledged request got through");
        // The bid itself reads consistently: its latest version is the history's last.
        let bids = gql(
            &http,
            port,
            Some(token),
            "query { tenders(first: 1) { edges { node { myBids { version commitmentHash } } } } }",
            json!({}),
        )
        .await;
        let current = &bids["tenders"]["edges"][0]["node"]["myBids"][0];
        assert_eq!(
            (current["version"].as_i64().unwrap(), current["commitmentHash"].as_str().unwrap().to_owned()),
            stored.last().cloned().unwrap()
        );
    }
    assert!(receipts > 6, "the burst was under way when the server died ({receipts} receipts)");
    server.kill().unwrap();
    let _ = server.wait();
    database.drop_it().await;
}
