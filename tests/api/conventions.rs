//! GraphQL conventions every operation follows: codes on every error, request limits, GET for queries only,
//! production hardening, health, readiness and metrics, and SQLite under concurrent writers.

use lumbung_tests::{cooperative_input, spawn_app, spawn_app_with};
use serde_json::{Value, json};

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413_before_parsing() {
    let app = spawn_app().await;
    let padding = "x".repeat(1024 * 1024 + 1);
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(format!("{{\"query\":\"{{ __typename }}\",\"padding\":\"{padding}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn batches_and_non_json_bodies_are_refused() {
    let app = spawn_app().await;
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let response = app.client.post(app.url("/graphql")).json(&batch).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BATCH_NOT_ALLOWED");

    let form = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=mutation")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 415);
}

#[tokio::test]
async fn get_runs_queries_but_refuses_mutations() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let query = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { role } }")])
        .bearer_auth(&agency.access_token)
        .send()
        .await
        .unwrap();
    let body: Value = query.json().await.unwrap();
    assert_eq!(body["data"]["me"]["role"], "AGENCY_ANALYST");

    let mutation = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { logout(refreshToken: \"x\") }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status().as_u16(), 405);
    let body: Value = mutation.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn hostile_query_shapes_are_refused_with_a_code() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let token = Some(agency.access_token.as_str());
    let aliases: String = (0..40).map(|i| format!("a{i}: __typename ")).collect();
    app.gql(token, &format!("{{ {aliases} }}"), json!({})).await.expect_error("QUERY_TOO_COMPLEX");

    let fields: String = (0..400).map(|_| "__typename ").collect();
    app.gql(token, &format!("{{ {fields} }}"), json!({})).await.expect_error("QUERY_TOO_COMPLEX");

    let mut deep = "name".to_owned();
    for _ in 0..15 {
        deep = format!("organisation {{ {deep} }}");
    }
    let deep = format!("{{ me {{ {deep} }} }}");
    let response = app.gql(token, &deep, json!({})).await;
    assert!(!response.error_code().is_empty());
    assert!(response.body["data"].is_null());

    let directives: String = (0..10).map(|_| "@include(if: true) ").collect();
    let response = app.gql(token, &format!("{{ me {directives} {{ role }} }}"), json!({})).await;
    assert!(!response.error_code().is_empty());

    app.gql(token, "{ me { role ", json!({})).await.expect_error("GRAPHQL_VALIDATION_FAILED");
    app.gql(token, "{ me { nonsense } }", json!({})).await.expect_error("GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn production_mode_hides_the_schema_and_graphiql() {
    let app = spawn_app_with(&[("LUMBUNG_ENV", "production")]).await;
    let introspection = app.gql(None, "{ __schema { types { name } } }", json!({})).await;
    let refused = introspection.body["errors"].is_array() || introspection.body["data"]["__schema"].is_null();
    assert!(refused, "introspection must be off: {}", introspection.body);
    let typo = app.gql(None, "{ mee { role } }", json!({})).await;
    assert!(!typo.error_message().contains("Did you mean"), "{}", typo.error_message());
    let graphiql = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(graphiql.status().as_u16(), 404);

    let development = spawn_app().await;
    let introspection = development.gql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(introspection.data()["__schema"]["queryType"]["name"], "Query");
    let graphiql = development.client.get(development.url("/graphql")).send().await.unwrap();
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
}

#[tokio::test]
async fn health_readiness_and_metrics_answer_and_requests_carry_an_id() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(health.headers().get("x-request-id").is_some());
    let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let expected = if app.database.is_postgres() { "postgres" } else { "sqlite" };
    assert_eq!(ready["database"], expected);
    app.gql(None, "{ me { role } }", json!({})).await.expect_error("UNAUTHENTICATED");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("graphql_errors_total{code=\"UNAUTHENTICATED\"}"), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"), "{metrics}");
}

#[tokio::test]
async fn concurrent_writers_all_succeed() {
    let app = spawn_app().await;
    app.bootstrap().await;
    let registrations = (0..16).map(|i| {
        let app = &app;
        async move {
            let input = cooperative_input(&format!("Koperasi{i}"), &format!("k{i}@kmp.test"));
            app.gql(
                None,
                "mutation($input: OrganisationInput!) { registerOrganisation(input: $input) { organisation { id } } }",
                json!({ "input": input }),
            )
            .await
        }
    });
    let responses = futures::future::join_all(registrations).await;
    for response in responses {
        response.data();
    }
}
