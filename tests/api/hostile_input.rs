//! Hostile and malformed input values, generated: huge numbers, negative and zero quantities, precision beyond the
//! unit, unicode, empty strings, far-past and far-future dates. Every answer is a result or a coded refusal, never a
//! panic or an internal error, and refused requests write nothing.

use proptest::{
    prelude::*,
    strategy::{Strategy, ValueTree},
    test_runner::TestRunner,
};
use serde_json::{Value, json};

use crate::tendering::{BIDDING_START, at, pool_demand, season};

const REFUSALS: [&str; 5] = ["BAD_USER_INPUT", "CONFLICT", "NOT_FOUND", "DEADLINE_PASSED", "FORBIDDEN"];

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("-0".to_owned()),
        Just("1e30".to_owned()),
        Just("NaN".to_owned()),
        Just("1,000".to_owned()),
        Just("١٢٣".to_owned()),
        Just("99999999999999999999999999999999".to_owned()),
        Just("0.0000000000000000000000000001".to_owned()),
        "-?[0-9]{1,32}(\\.[0-9]{1,30})?",
        "[0-9]{1,6}\\.[0-9]{3,8}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

fn date_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0001-01-01".to_owned()),
        Just("9999-12-31".to_owned()),
        Just("2026-02-30".to_owned()),
        Just("".to_owned()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        any::<String>().prop_map(|s| s.chars().take(20).collect()),
    ]
}

fn sample<S: Strategy>(strategy: &S, runner: &mut TestRunner) -> S::Value {
    strategy.new_tree(runner).map(|tree| tree.current()).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_refusal_or_result(body: &Value, context: &str) {
    if let Some(errors) = body["errors"].as_array() {
        for error in errors {
            let code = error["extensions"]["code"].as_str().unwrap_or("(none)");
            assert!(REFUSALS.contains(&code), "{context}: unexpected code {code}: {body}");
        }
    }
}

#[tokio::test]
async fn generated_bad_values_get_a_coded_refusal_and_write_nothing() {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START));
    let first = season.bid(&season.supplier_a, &lot, "1620", "10000", 5, None).await;
    let bid_id = first.data()["submitBid"]["bidId"].as_str().unwrap().to_owned();

    let mut runner = TestRunner::deterministic();
    let mut accepted_revisions = 0;
    for case in 0..120 {
        let price = sample(&number_text(), &mut runner);
        let quantity = sample(&number_text(), &mut runner);
        let lead =
            sample(&prop_oneof![Just(i64::from(i32::MAX)), Just(-1_i64), 0_i64..400, Just(i64::MAX)], &mut runner);
        let validity = sample(&prop_oneof![Just(0_i64), 1_i64..400, Just(i64::MIN)], &mut runner);
        let response = season
            .app
            .gql(
                Some(&season.supplier_a.access_token),
                "mutation($i: ReviseBidInput!) { reviseBid(input: $i) { version } }",
                json!({ "i": { "bidId": bid_id, "offer": { "unitPrice": price, "quantity": quantity, "leadTimeDays": lead, "validityDays": validity } } }),
            )
            .await;
        assert_eq!(response.status, 200, "case {case}: {}", response.body);
        assert_refusal_or_result(
            &response.body,
            &format!("case {case} reviseBid({price:?}, {quantity:?}, {lead}, {validity})"),
        );
        if response.body["errors"].is_null() {
            accepted_revisions += 1;
        }
    }
    // Only accepted revisions were stored: the history is the first version plus each of them, nothing else.
    let history = season
        .gql(&season.supplier_a, "query($b: ID!) { bidHistory(bidId: $b) { version } }", json!({ "b": bid_id }))
        .await;
    assert_eq!(history.data()["bidHistory"].as_array().unwrap().len(), 1 + accepted_revisions);

    let before = season
        .gql(
            &season.agency,
            "query($id: ID!) { demandPool(id: $id) { pooledQuantity } }",
            json!({ "id": season.pool_id }),
        )
        .await;
    let point = season.delivery_point(&season.madyopuro).await;
    for case in 0..60 {
        let quantity = sample(&number_text(), &mut runner);
        let wanted = sample(&date_text(), &mut runner);
        let response = season
            .app
            .gql(
                Some(&season.madyopuro.access_token),
                "mutation($i: DemandLineInput!) { addDemandLine(input: $i) { id } }",
                json!({ "i": { "poolId": season.pool_id, "deliveryPointId": point, "quantity": quantity, "wantedDate": wanted } }),
            )
            .await;
        assert_refusal_or_result(&response.body, &format!("case {case} addDemandLine({quantity:?}, {wanted:?})"));
        assert!(!response.body["errors"].is_null(), "the pool is tendered: nothing may be added");
    }
    let after = season
        .gql(
            &season.agency,
            "query($id: ID!) { demandPool(id: $id) { pooledQuantity } }",
            json!({ "id": season.pool_id }),
        )
        .await;
    assert_eq!(before.data(), after.data());

    for case in 0..60 {
        let price = sample(&number_text(), &mut runner);
        let from = sample(&date_text(), &mut runner);
        let response = season
            .app
            .gql(
                Some(&season.agency.access_token),
                "mutation($i: PriceReferenceInput!) { setPriceReference(input: $i) { price } }",
                json!({ "i": { "commodityCode": "UREA-SUB", "kind": "REFERENCE", "price": price, "areaScope": "CITY", "areaName": "Kota Malang", "effectiveFrom": from } }),
            )
            .await;
        assert_refusal_or_result(&response.body, &format!("case {case} setPriceReference({price:?}, {from:?})"));
    }
    let _ = tender_id;
}

/// Small things an attacker (or a careless client) tries: a look-alike media type, a huge request id, and refusals
/// that must name what the caller actually lacks.
#[tokio::test]
async fn media_types_request_ids_and_refusals_are_exact() {
    let app = lumbung_tests::spawn_app().await;
    let (admin, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let post = |content_type: &'static str, request_id: Option<String>| {
        let mut request = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", content_type)
            .body(r#"{"query":"{ __typename }"}"#);
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    // The media type is matched whole: `application/jsonfoo` is not JSON; parameters are allowed.
    assert_eq!(post("application/jsonfoo", None).await.unwrap().status().as_u16(), 415);
    assert_eq!(post("application/json; charset=utf-8", None).await.unwrap().status().as_u16(), 200);
    assert_eq!(post("Application/JSON", None).await.unwrap().status().as_u16(), 200);

    // A short, printable request id is kept; a 9 KB or unprintable one is replaced by the server's own.
    let echoed = |response: &reqwest::Response| {
        response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let kept = post("application/json", Some("client-req-42".into())).await.unwrap();
    assert_eq!(echoed(&kept), "client-req-42");
    let huge = post("application/json", Some("a".repeat(9 * 1024))).await.unwrap();
    let replaced = echoed(&huge);
    assert_eq!(replaced.len(), 36, "a fresh UUID: {replaced}");
    let odd = post("application/json", Some("id with spaces".into())).await.unwrap();
    assert_eq!(echoed(&odd).len(), 36);

    // Refusals name what the caller lacks.
    let accept = app
        .gql(
            Some(&coop.access_token),
            "mutation { acceptPurchaseOrder(id: \"01900000-0000-7000-8000-000000000000\") { status } }",
            json!({}),
        )
        .await;
    accept.expect_error("FORBIDDEN");
    let message = accept.error_message();
    assert!(message.contains("act for a supplier") && message.contains("accept"), "{message}");
    let outbox =
        app.gql(Some(&agency.access_token), "{ outboxMessages(first: 1) { edges { node { id } } } }", json!({})).await;
    outbox.expect_error("FORBIDDEN");
    assert!(outbox.error_message().contains("outbox"), "{}", outbox.error_message());
    let confirm = app
        .gql(
            Some(&admin.access_token),
            "mutation { closePurchaseOrder(id: \"01900000-0000-7000-8000-000000000000\") { status } }",
            json!({}),
        )
        .await;
    confirm.expect_error("FORBIDDEN");
}

/// Mistakes a client makes are answered as the client's: an aliased introspection is introspection, and an argument
/// of the wrong kind for a `Decimal`, `NaiveDate` or `DateTime` is bad input, as a literal or a variable, logged in or not.
#[tokio::test]
async fn client_mistakes_get_client_codes() {
    let app = lumbung_tests::spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let aliased = app.gql(None, "{ a: __schema { queryType { name } } }", json!({})).await;
    assert_eq!(aliased.data()["a"]["queryType"]["name"], "Query");
    for token in [None, Some(agency.access_token.as_str())] {
        for (query, variables) in [
            ("{ tenderRedFlags(from: 5) { coverage { code } } }", json!({})),
            ("query($f: DateTime) { tenderRedFlags(from: $f) { coverage { code } } }", json!({ "f": 5 })),
            ("{ poolingSavings(from: 5, to: \"2026-11-30\") { total } }", json!({})),
            (
                "mutation { setPriceReference(input: { commodityCode: \"X\", kind: HET, price: true, areaScope: NATIONAL, effectiveFrom: \"2026-01-01\" }) { price } }",
                json!({}),
            ),
        ] {
            let answer = app.gql(token, query, variables).await;
            let code = answer.error_code();
            assert!(
                matches!(code.as_str(), "BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED" | "UNAUTHENTICATED"),
                "{query}: {}",
                answer.body
            );
        }
    }
}

/// Limits answer with their own code, a flood of errors is capped, and a download's bad query string gets the API's
/// JSON refusal rather than plain text.
#[tokio::test]
async fn limits_and_malformed_downloads_answer_like_the_api() {
    let app = lumbung_tests::spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let deep =
        format!("{{ me {{ organisation {{ {}id{} }} }} }}", "users { organisation { ".repeat(10), " } }".repeat(10));
    app.gql(Some(&agency.access_token), &deep, json!({})).await.expect_error("QUERY_TOO_COMPLEX");

    // Five hundred declared variables the operation never uses: one error each, capped at twenty and a summary.
    let declared: Vec<String> = (0..500).map(|i| format!("$v{i}: Int")).collect();
    let unused = format!("query({}) {{ __typename }}", declared.join(", "));
    let answer = app.gql(None, &unused, json!({})).await;
    let errors = answer.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 21, "{}", answer.body);
    assert!(errors[20]["message"].as_str().unwrap().contains("480 more"), "{}", errors[20]);
    assert!(errors.iter().all(|e| e["extensions"]["code"].is_string()));

    let response = app
        .client
        .get(format!("{}/exports/price-indicators.csv?from=nonsense", app.address))
        .bearer_auth(&agency.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
}

/// `/metrics` is closed in production unless a token is configured and presented, and no request can add a series.
#[tokio::test]
async fn metrics_are_private_in_production_and_their_labels_bounded() {
    let development = lumbung_tests::spawn_app().await;
    let metrics = |app: &lumbung_tests::TestApp, token: Option<&str>| {
        let mut request = app.client.get(format!("{}/metrics", app.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    // A made-up method with a long name counts as OTHER; it never becomes a label.
    let long_method = "X".repeat(2_000);
    let odd = reqwest::Method::from_bytes(long_method.as_bytes()).unwrap();
    let _ = development.client.request(odd, format!("{}/graphql", development.address)).send().await.unwrap();
    let text = metrics(&development, None).await.unwrap().text().await.unwrap();
    assert!(text.contains("method=\"OTHER\""), "{text}");
    assert!(!text.contains(&long_method[..100]));

    let closed = lumbung_tests::spawn_app_with(&[("LUMBUNG_ENV", "production")]).await;
    assert_eq!(metrics(&closed, None).await.unwrap().status().as_u16(), 404);
    let token = "metrics-token-metrics-token-0123456789";
    let open = lumbung_tests::spawn_app_with(&[("LUMBUNG_ENV", "production"), ("LUMBUNG_METRICS_TOKEN", token)]).await;
    assert_eq!(metrics(&open, None).await.unwrap().status().as_u16(), 401);
    assert_eq!(metrics(&open, Some("metrics-token-metrics-token-01234567xx")).await.unwrap().status().as_u16(), 401);
    let read = metrics(&open, Some(token)).await.unwrap();
    assert_eq!(read.status().as_u16(), 200);
    assert!(read.text().await.unwrap().contains("db_statements_total"));
}

/// The body limit holds before a byte of the body is read, and on WebSocket messages too.
#[tokio::test]
async fn oversized_bodies_are_refused_from_their_declared_length_and_on_sockets() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = lumbung_tests::spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let host = app.address.trim_start_matches("http://").to_owned();
    for expect in ["", "Expect: 100-continue\r\n"] {
        let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n{expect}\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0_u8; 256];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
            .await
            .expect("the server answers at once, without waiting for the 50 MB")
            .unwrap();
        let first_line = String::from_utf8_lossy(&answer[..read]).lines().next().unwrap_or_default().to_owned();
        assert!(first_line.starts_with("HTTP/1.1 413"), "{expect:?}: {first_line}");
    }

    let mut socket = lumbung_tests::subscriber::Subscriber::connected(&app.address, &agency.access_token).await;
    let huge = format!(
        r#"{{"id":"1","type":"subscribe","payload":{{"query":"subscription {{ {} }}"}}}}"#,
        " ".repeat(2 * 1024 * 1024)
    );
    let sent = socket.send_text(huge).await;
    assert!(!sent || socket.closes_within(std::time::Duration::from_secs(5)).await, "a 2 MB message closes the socket");
}

/// A client that trickles a body cannot hold a connection: after the body timeout it gets 408.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = lumbung_tests::spawn_app_with(&[("LUMBUNG_BODY_TIMEOUT_SECONDS", "1")]).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(br#"{"query":"#).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0_u8; 512];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("the server answers once the body timeout passes")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("REQUEST_TIMEOUT"), "{text}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900), "not before the timeout");
}

#[tokio::test]
async fn a_connection_that_does_not_send_its_request_head_in_time_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = lumbung_tests::spawn_app_with(&[("LUMBUNG_HEADER_TIMEOUT_SECONDS", "1")]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    // Half a request head, then nothing (slowloris); and a connection that never says anything.
    let mut trickling = tokio::net::TcpStream::connect(&address).await.unwrap();
    trickling.write_all(b"GET /healthz HTTP/1.1\r\nHost: lumbung\r\n").await.unwrap();
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    for stream in [&mut trickling, &mut silent] {
        let mut buffer = [0_u8; 256];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buffer)).await;
        // Closed (0 bytes, or a 408 answer then close) well before the client gives up.
        let read = read.expect("the server kept an idle connection open").unwrap_or(0);
        let answer = String::from_utf8_lossy(&buffer[..read]).to_string();
        assert!(read == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    // A whole request still gets its answer.
    app.client.get(app.url("/healthz")).send().await.unwrap().error_for_status().unwrap();
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_frees() {
    let app = lumbung_tests::spawn_app_with(&[("LUMBUNG_MAX_CONNECTIONS", "2")]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let fresh = || reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let health = app.url("/healthz");
    let holders = [
        tokio::net::TcpStream::connect(&address).await.unwrap(),
        tokio::net::TcpStream::connect(&address).await.unwrap(),
    ];
    // Both slots are taken by connections that send nothing: a third waits instead of being served.
    let waited = fresh().get(&health).timeout(std::time::Duration::from_millis(700)).send().await;
    assert!(waited.is_err(), "a connection beyond the limit was served");
    drop(holders);
    let served = fresh().get(&health).timeout(std::time::Duration::from_secs(5)).send().await.unwrap();
    assert!(served.status().is_success());
}

#[tokio::test]
async fn a_socket_holds_a_bounded_number_of_subscriptions() {
    let app = lumbung_tests::spawn_app_with(&[("LUMBUNG_WS_MAX_SUBSCRIPTIONS", "2")]).await;
    let (_, agency) = app.bootstrap().await;
    let mut socket = lumbung_tests::subscriber::Subscriber::connected(&app.address, &agency.access_token).await;
    let events = "subscription { orderEvents { status } }";
    let wait = std::time::Duration::from_millis(400);
    assert_eq!(socket.operation("1", events, json!({}), wait).await, None);
    assert_eq!(socket.operation("2", events, json!({}), wait).await, None);
    let refused = socket.operation("3", events, json!({}), wait).await.unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS", "{refused}");
    // Completing one frees its place.
    assert!(socket.send_text(json!({ "id": "1", "type": "complete" }).to_string()).await);
    // Read past the two completions (of 3 and of 1) until the socket is quiet.
    for _ in 0..3 {
        let _ = socket.next(wait).await;
    }
    assert_eq!(socket.operation("4", events, json!({}), wait).await, None, "a freed place was not given back");
}
