//! Faults: the real `lumbung` binary killed with SIGKILL in the middle of a bid burst, then restarted on the same
//! database. Every bid whose receipt a client got is there with the hash it was given, nothing is half-written, and a
//! request whose answer was lost, retried with its idempotency key, is stored once. On SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, sync::Arc, time::Duration};

use serde_json::{Value, json};
use tokio::sync::Mutex;

mod support;

use support::{TestDatabase, free_port, gql, prepare, start};

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
    let mut server = start(&database.url, port, &[]).await;
    let support::Prepared { lot_id: lot, suppliers: tokens, .. } =
        prepare(&database.url, port, 6, chrono::Duration::hours(1)).await;

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
    // A client stops quietly when the server dies under it; a client that was refused a bid panicked, and that fails
    // the test here.
    for client in clients {
        if let Err(failure) = client.await {
            std::panic::resume_unwind(failure.into_panic());
        }
    }

    let mut server = start(&database.url, port, &[]).await;
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
}
