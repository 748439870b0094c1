//! Several server processes on one PostgreSQL database (`TEST_DATABASE_URL`): two real `lumbung serve` processes; a
//! subscriber connected to node B hears of a bid made through node A and of the tender that node A closed at its
//! deadline (node B never closes tenders itself in this test).

// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

mod support;

use support::{TestDatabase, free_port, gql, prepare, start};

/// Reads `graphql-transport-ws` messages until one of type `next` arrives for `id`, or `timeout` passes.
async fn next_for<S>(socket: &mut S, id: &str, timeout: Duration) -> Option<Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(left, socket.next()).await else {
            return None;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        if message["type"] == "next" && message["id"] == id {
            return Some(message["payload"].clone());
        }
        assert_ne!(message["type"], "error", "{message}");
    }
    None
}

// One SQLite database belongs to one process: several nodes are a PostgreSQL deployment.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL"]
async fn a_subscriber_on_one_node_hears_what_happens_through_another() {
    assert!(
        std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()),
        "several nodes need PostgreSQL: set TEST_DATABASE_URL"
    );
    let database = TestDatabase::create().await;
    let (port_a, port_b) = (free_port(), free_port());
    let mut node_a = start(&database.url, port_a, &[("LUMBUNG_CLOSE_INTERVAL_MS", "100")]).await;
    let mut node_b = start(&database.url, port_b, &[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000")]).await;
    let prepared = prepare(&database.url, port_a, 1, chrono::Duration::seconds(6)).await;

    // The agency follows the tender and its bid count on node B.
    let mut request = format!("ws://127.0.0.1:{port_b}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = connect_async(request).await.unwrap();
    let init =
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", prepared.agency) } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.unwrap().unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack}");
    for (id, query) in [
        ("status", "subscription($id: ID!) { tenderEvents(tenderId: $id) { kind status } }"),
        ("count", "subscription($id: ID!) { bidCount(tenderId: $id) { bidCount } }"),
    ] {
        let subscribe = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": { "id": prepared.tender_id } } });
        socket.send(Message::text(subscribe.to_string())).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A bid through node A is counted on node B.
    let client = reqwest::Client::new();
    let offer = json!({ "unitPrice": "4500", "quantity": "1000", "leadTimeDays": 3, "validityDays": 30 });
    gql(
        &client,
        port_a,
        Some(&prepared.suppliers[0]),
        "mutation($i: SubmitBidInput!) { submitBid(input: $i) { bidId } }",
        json!({ "i": { "lotId": prepared.lot_id, "offer": offer } }),
    )
    .await;
    let counted = next_for(&mut socket, "count", Duration::from_secs(10)).await.expect("the bid count on node B");
    assert_eq!(counted["data"]["bidCount"], json!({ "bidCount": 1 }));

    // Node A closes the tender at its deadline; node B's subscriber hears it.
    let closed = next_for(&mut socket, "status", Duration::from_secs(20)).await.expect("the close on node B");
    assert_eq!(closed["data"]["tenderEvents"]["kind"], "CLOSED");
    assert_eq!(closed["data"]["tenderEvents"]["status"], "CLOSED");

    for node in [&mut node_a, &mut node_b] {
        let _ = node.kill();
        let _ = node.wait();
    }
}
