//! Live updates over WebSocket (`graphql-transport-ws`): the same authorisation as queries, sealed bids stay sealed,
//! a reconnecting subscriber catches up from its cursor, and events cross server nodes on PostgreSQL.

use std::time::Duration as StdDuration;

use chrono::Duration;
use lumbung_tests::subscriber::{Connected, Subscriber};
use serde_json::{Value, json};

use crate::tendering::{BIDDING_START, DEADLINE, Season, at, pool_demand, season, season_with, wait_until_closed};

const WAIT: StdDuration = StdDuration::from_secs(10);
const QUIET: StdDuration = StdDuration::from_millis(600);

const TENDER_EVENTS: &str = "subscription($id: ID!, $after: String) { tenderEvents(tenderId: $id, after: $after) { cursor kind status deadline } }";
const BID_COUNT: &str =
    "subscription($id: ID!, $after: String) { bidCount(tenderId: $id, after: $after) { bidCount } }";
const ORDER_EVENTS: &str = "subscription($after: String) { orderEvents(after: $after) { orderId number kind status } }";

/// The next tender event of `kind`, skipping others (subscriptions here start from cursor 0, so that nothing that
/// happens while they start is missed, and first replay what came before).
async fn next_tender_event(subscriber: &mut Subscriber, kind: &str) -> Value {
    loop {
        let event = next_data(subscriber).await["tenderEvents"].clone();
        if event["kind"] == kind {
            return event;
        }
    }
}

async fn next_data(subscriber: &mut Subscriber) -> Value {
    let payload = subscriber.next(WAIT).await.expect("an event");
    assert!(payload.get("errors").is_none(), "{payload}");
    payload["data"].clone()
}

async fn first_error_code(subscriber: &mut Subscriber) -> String {
    let payload = subscriber.next(WAIT).await.expect("an answer");
    payload["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
}

async fn published(season: &Season) -> (String, String) {
    pool_demand(season).await;
    let (tender_id, lot) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    (tender_id, lot)
}

#[tokio::test]
async fn subscribers_follow_a_tender_and_the_agency_sees_only_a_count_of_sealed_bids() {
    let season = season().await;
    let (tender_id, lot) = published(&season).await;
    let address = season.app.address.clone();

    let mut cooperative = Subscriber::connected(&address, &season.cemorokandang.access_token).await;
    cooperative.subscribe(TENDER_EVENTS, json!({ "id": tender_id, "after": "0" })).await;
    let mut agency = Subscriber::connected(&address, &season.agency.access_token).await;
    agency.subscribe(BID_COUNT, json!({ "id": tender_id, "after": "0" })).await;
    // Give both subscriptions time to start listening.
    tokio::time::sleep(StdDuration::from_millis(200)).await;

    let new_deadline = at(DEADLINE) + Duration::hours(2);
    season
        .gql(
            &season.agency,
            "mutation($id: ID!, $d: DateTime!) { extendTenderDeadline(id: $id, deadline: $d, reason: \"Jalan banjir di Kedungkandang\") { deadline } }",
            json!({ "id": tender_id, "d": new_deadline }),
        )
        .await
        .data();
    let published = next_tender_event(&mut cooperative, "PUBLISHED").await;
    assert_eq!(published["status"], "OPEN");
    let extended = next_tender_event(&mut cooperative, "DEADLINE_EXTENDED").await;
    assert_eq!(extended["kind"], "DEADLINE_EXTENDED");
    assert_eq!(extended["status"], "OPEN");
    assert_eq!(extended["deadline"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(), new_deadline);

    season.bid(&season.supplier_a, &lot, "1620", "10000", 5, None).await.data();
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    let first = subscriber_counts(&mut agency, 2).await;
    assert_eq!(first.last(), Some(&2), "{first:?}");

    // At the new deadline the closer closes the tender; subscribers hear it.
    season.app.clock.set(new_deadline);
    wait_until_closed(&season, &tender_id).await;
    let closed = next_tender_event(&mut cooperative, "CLOSED").await;
    assert_eq!(closed["kind"], "CLOSED");
    assert_eq!(closed["status"], "CLOSED");

    // A subscriber that reconnects with the cursor of the first event receives what came after it.
    let mut resumed = Subscriber::connected(&address, &season.madyopuro.access_token).await;
    resumed.subscribe(TENDER_EVENTS, json!({ "id": tender_id, "after": extended["cursor"] })).await;
    let replayed = next_data(&mut resumed).await["tenderEvents"].clone();
    assert_eq!(replayed["kind"], "CLOSED");
    assert_eq!(replayed["cursor"], closed["cursor"]);
    assert!(resumed.drain(QUIET).await.is_empty(), "nothing else was missed");
}

/// Reads bid-count events until `count` is reached; the counts never reveal more than the number of bids.
async fn subscriber_counts(agency: &mut Subscriber, count: u64) -> Vec<u64> {
    let mut counts = Vec::new();
    while counts.last() != Some(&count) {
        let event = next_data(agency).await;
        assert_eq!(event["bidCount"].as_object().unwrap().len(), 1, "only the count: {event}");
        counts.push(event["bidCount"]["bidCount"].as_u64().unwrap());
    }
    counts
}

#[tokio::test]
async fn a_subscriber_without_the_right_to_see_an_event_never_receives_it() {
    let season = season().await;
    let (tender_id, lot) = published(&season).await;
    let address = season.app.address.clone();

    // Without a token: no subscription that needs a caller.
    let Connected::Acknowledged(mut anonymous) = Subscriber::connect(&address, None).await else {
        panic!("an anonymous connection is acknowledged");
    };
    anonymous.subscribe(TENDER_EVENTS, json!({ "id": tender_id })).await;
    assert_eq!(first_error_code(&mut anonymous).await, "UNAUTHENTICATED");

    // A forged token closes the connection at `connection_init`, before any acknowledgement.
    match Subscriber::connect(&address, Some("not-a-token")).await {
        Connected::Closed(code) => assert!(code.is_some(), "closed with a close frame"),
        Connected::Acknowledged(_) => panic!("a bad token must be refused"),
    }

    // Suppliers may not follow the bid count; a cooperative outside the pool may not follow the tender.
    let mut supplier = Subscriber::connected(&address, &season.supplier_b.access_token).await;
    supplier.subscribe(BID_COUNT, json!({ "id": tender_id })).await;
    assert_eq!(first_error_code(&mut supplier).await, "FORBIDDEN");
    let outsider = season.app.verified_cooperative(&season.agency, "Bumiayu").await;
    let mut outside = Subscriber::connected(&address, &outsider.access_token).await;
    outside.subscribe(TENDER_EVENTS, json!({ "id": tender_id })).await;
    assert_eq!(first_error_code(&mut outside).await, "NOT_FOUND");
    let mut bad_cursor = Subscriber::connected(&address, &season.agency.access_token).await;
    bad_cursor.subscribe(TENDER_EVENTS, json!({ "id": tender_id, "after": "yesterday" })).await;
    assert_eq!(first_error_code(&mut bad_cursor).await, "BAD_USER_INPUT");

    // After the award: each party follows its own orders only.
    season.bid(&season.supplier_a, &lot, "1620", "10000", 5, None).await.data();
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    season.app.clock.set(at(DEADLINE));
    wait_until_closed(&season, &tender_id).await;
    let mut loser = Subscriber::connected(&address, &season.supplier_b.access_token).await;
    loser.subscribe(ORDER_EVENTS, json!({ "after": "0" })).await;
    let mut winner = Subscriber::connected(&address, &season.supplier_a.access_token).await;
    winner.subscribe(ORDER_EVENTS, json!({ "after": "0" })).await;
    let mut kedungkandang = Subscriber::connected(&address, &season.kedungkandang.access_token).await;
    kedungkandang.subscribe(ORDER_EVENTS, json!({ "after": "0" })).await;
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    season
        .gql(&season.agency, "mutation($id: ID!) { confirmAward(id: $id) { status } }", json!({ "id": tender_id }))
        .await
        .data();

    let to_winner: Vec<Value> =
        winner.drain(QUIET).await.into_iter().map(|p| p["data"]["orderEvents"].clone()).collect();
    assert!(!to_winner.is_empty());
    let orders =
        season.gql(&season.supplier_a, "{ purchaseOrders(first: 50) { edges { node { id } } } }", json!({})).await;
    let own: Vec<&Value> =
        orders.data()["purchaseOrders"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
    assert_eq!(to_winner.len(), own.len(), "one ISSUED event per own order: {to_winner:?}");
    assert!(to_winner.iter().all(|e| e["kind"] == "ISSUED" && own.contains(&&e["orderId"])));
    let to_kedungkandang = kedungkandang.drain(QUIET).await;
    assert_eq!(to_kedungkandang.len(), 1, "Kedungkandang's one order: {to_kedungkandang:?}");
    assert!(loser.drain(QUIET).await.is_empty(), "a supplier without orders hears of none");
}

async fn outbox_count(season: &Season) -> usize {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let count = infra::entities::outbox_message::Entity::find().count(&season.app.services.db).await.unwrap();
    usize::try_from(count).unwrap()
}

/// Messages of the outbox not yet recorded as sent.
async fn unsent(season: &Season) -> u64 {
    use infra::entities::outbox_message;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Status.ne(infra::notification::OUTBOX_SENT))
        .count(&season.app.services.db)
        .await
        .unwrap()
}

/// Two server nodes on one PostgreSQL database: an event caused on one reaches subscribers on the other, and the
/// outbox workers of both nodes send each message once. (SQLite is one node by design.)
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL"]
async fn events_and_mail_cross_nodes_once_on_postgresql() {
    let smtp = lumbung_tests::smtp::SmtpServer::start().await;
    let season = season_with(&[("SMTP_URL", &smtp.url())]).await;
    assert!(season.app.database.is_postgres(), "two nodes on one database need PostgreSQL: set TEST_DATABASE_URL");
    let (tender_id, lot) = published(&season).await;
    // What node A queued so far is delivered first: the test's clock jumps (days) would otherwise end the leases of
    // messages node A has in flight, and node B would rightly take them over.
    let queued_before = outbox_count(&season).await;
    assert_eq!(smtp.wait_for(queued_before, WAIT).await.len(), queued_before);
    // Node B never closes tenders itself: what its subscriber sees was done on node A.
    let node_b = lumbung_tests::spawn_on(
        season.app.database.clone(),
        &[
            ("SMTP_URL", &smtp.url()),
            ("LUMBUNG_CLOSE_INTERVAL_MS", "3600000"),
            ("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "2592000"),
        ],
    )
    .await;
    node_b.clock.set(domain::clock::Clock::now(&season.app.clock));
    let mut on_b = Subscriber::connected(&node_b.address, &season.cemorokandang.access_token).await;
    on_b.subscribe(TENDER_EVENTS, json!({ "id": tender_id, "after": "0" })).await;
    let mut count_on_b = Subscriber::connected(&node_b.address, &season.agency.access_token).await;
    count_on_b.subscribe(BID_COUNT, json!({ "id": tender_id, "after": "0" })).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    // Bids through node A; the agency's subscriber on node B counts them.
    season.bid(&season.supplier_a, &lot, "1620", "10000", 5, None).await.data();
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    let counts = subscriber_counts(&mut count_on_b, 2).await;
    assert_eq!(counts.last(), Some(&2));

    // Both nodes run outbox workers: every queued message arrives exactly once. (Checked before the test jumps the
    // clocks by days, which would end the leases of messages in flight.)
    let queued = outbox_count(&season).await;
    smtp.wait_for(queued, WAIT).await;
    // Once every row says sent, no lease is left to end and neither worker can send one again.
    for _ in 0..400 {
        if unsent(&season).await == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    assert_eq!(unsent(&season).await, 0);
    let received = smtp.received();
    let ids: std::collections::HashSet<String> = received.iter().filter_map(|m| m.header("Message-ID")).collect();
    assert!(queued > queued_before);
    assert_eq!(received.len(), queued, "each message once");
    assert_eq!(ids.len(), received.len());

    season.app.clock.set(at(DEADLINE));
    node_b.clock.set(at(DEADLINE));
    wait_until_closed(&season, &tender_id).await;
    let closed = next_tender_event(&mut on_b, "CLOSED").await;
    assert_eq!(closed["kind"], "CLOSED");
}
