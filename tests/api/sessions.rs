//! Sessions: one truth about who is calling, over HTTP and over an open WebSocket. Logout, refresh-token reuse,
//! expiry, a password change, deactivation, suspension and an admin-flag change each take effect on the next request
//! and close (or change) open sockets within a second; reinstating an organisation brings no old token back.

use std::time::Duration;

use lumbung_tests::{Login, PASSWORD, TestApp, spawn_app, spawn_app_with, subscriber::Subscriber};
use serde_json::json;

const ME: &str = "query { me { user { id } } }";
const ORDER_EVENTS: &str = "subscription { orderEvents { orderId status } }";
/// The bound the README promises for a session change to reach every open socket.
const WITHIN: Duration = Duration::from_secs(1);

async fn suspend(app: &TestApp, reviewer: &Login, organisation_id: &str) {
    app.gql(
        Some(&reviewer.access_token),
        "mutation($id: ID!) { suspendOrganisation(id: $id, reason: \"izin usaha kedaluwarsa\") { status } }",
        json!({ "id": organisation_id }),
    )
    .await
    .data();
}

async fn watching(app: &TestApp, login: &Login) -> Subscriber {
    let mut socket = Subscriber::connected(&app.address, &login.access_token).await;
    socket.subscribe(ORDER_EVENTS, json!({})).await;
    socket
}

/// A colleague invited into `admin`'s organisation, with the invitation accepted and logged in.
async fn colleague(app: &TestApp, admin: &Login, email: &str) -> Login {
    let invitation = app
        .gql(
            Some(&admin.access_token),
            "mutation($e: String!) { inviteUser(input: { email: $e, name: \"Bendahara Koperasi\" }) { invitationToken } }",
            json!({ "e": email }),
        )
        .await;
    let token = invitation.data()["inviteUser"]["invitationToken"].as_str().unwrap().to_owned();
    app.gql(
        None,
        "mutation($t: String!, $p: String!) { acceptInvitation(invitationToken: $t, password: $p) { status } }",
        json!({ "t": token, "p": PASSWORD }),
    )
    .await
    .data();
    app.login_ok(email, PASSWORD).await
}

#[tokio::test]
async fn suspending_an_organisation_closes_its_sockets_with_4403_and_reinstating_it_brings_no_token_back() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let mut socket = watching(&app, &coop).await;
    app.gql(Some(&coop.access_token), ME, json!({})).await.data();

    suspend(&app, &agency, &coop.organisation_id).await;
    assert_eq!(socket.close_code_within(WITHIN).await, Some(Some(4403)), "the socket outlived the suspension");
    app.gql(Some(&coop.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
    // A new socket with the old token is refused at `connection_init`.
    assert!(!matches!(
        Subscriber::connect(&app.address, Some(&coop.access_token)).await,
        lumbung_tests::subscriber::Connected::Acknowledged(_)
    ));

    app.gql(
        Some(&agency.access_token),
        "mutation($id: ID!) { reinstateOrganisation(id: $id) { status } }",
        json!({ "id": coop.organisation_id }),
    )
    .await
    .data();
    app.gql(Some(&coop.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
    let again = app.login_ok(&coop.email, PASSWORD).await;
    app.gql(Some(&again.access_token), ME, json!({})).await.data();
}

#[tokio::test]
async fn an_operation_sent_on_a_socket_after_a_suspension_does_nothing() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let mut socket = Subscriber::connected(&app.address, &coop.access_token).await;
    suspend(&app, &agency, &coop.organisation_id).await;
    let answer = socket
        .operation(
            "2",
            "mutation { setNotificationPreference(kind: PRICE_ALERT, enabled: false) { kind enabled } }",
            json!({}),
            Duration::from_secs(2),
        )
        .await;
    // Either refused, or the socket closed first: never carried out.
    if let Some(answer) = answer {
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{answer}");
    }
    app.gql(
        Some(&agency.access_token),
        "mutation($id: ID!) { reinstateOrganisation(id: $id) { status } }",
        json!({ "id": coop.organisation_id }),
    )
    .await
    .data();
    let again = app.login_ok(&coop.email, PASSWORD).await;
    let preferences =
        app.gql(Some(&again.access_token), "query { notificationPreferences { kind enabled } }", json!({})).await;
    let price_alert = preferences.data()["notificationPreferences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "PRICE_ALERT")
        .cloned()
        .unwrap();
    assert_eq!(price_alert["enabled"], true, "the mutation sent after the suspension was stored");
}

#[tokio::test]
async fn logging_out_ends_that_session_on_http_and_on_its_sockets_and_no_other() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let other = app.login_ok(&coop.email, PASSWORD).await;
    let mut ended = watching(&app, &coop).await;
    let mut still_open = watching(&app, &other).await;

    let logout =
        app.gql(None, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": coop.refresh_token })).await;
    assert_eq!(logout.data()["logout"], true);
    assert_eq!(ended.close_code_within(WITHIN).await, Some(Some(4401)));
    app.gql(Some(&coop.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
    assert_eq!(still_open.close_code_within(Duration::from_millis(1500)).await, None, "another session was closed");
    app.gql(Some(&other.access_token), ME, json!({})).await.data();
}

#[tokio::test]
async fn reusing_a_refresh_token_ends_the_whole_session_including_its_newer_tokens() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let refresh = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
    let renewed = app.gql(None, refresh, json!({ "t": coop.refresh_token })).await;
    let newer_access = renewed.data()["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
    let newer = Login { access_token: newer_access.clone(), ..coop.clone() };
    let mut socket = watching(&app, &newer).await;
    app.gql(Some(&newer_access), ME, json!({})).await.data();

    // The first refresh token again: stolen or replayed.
    app.gql(None, refresh, json!({ "t": coop.refresh_token })).await.expect_error("UNAUTHENTICATED");
    assert_eq!(socket.close_code_within(WITHIN).await, Some(Some(4401)));
    app.gql(Some(&newer_access), ME, json!({})).await.expect_error("UNAUTHENTICATED");
    app.gql(Some(&coop.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_socket_closes_when_its_access_token_expires() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let mut socket = watching(&app, &agency).await;
    assert_eq!(socket.close_code_within(Duration::from_millis(700)).await, None);
    // The harness's tokens live fifteen minutes on the server's clock.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(socket.close_code_within(WITHIN).await, Some(Some(4401)));
    app.gql(Some(&agency.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_socket_that_never_sends_connection_init_is_closed_with_4408() {
    let app = spawn_app_with(&[("LUMBUNG_WS_INIT_TIMEOUT_SECONDS", "1")]).await;
    let mut socket = Subscriber::open_without_init(&app.address).await;
    assert_eq!(socket.close_code_within(Duration::from_secs(3)).await, Some(Some(4408)));
    // One that does initialise in time stays open.
    let (_, agency) = app.bootstrap().await;
    let mut initialised = watching(&app, &agency).await;
    assert_eq!(initialised.close_code_within(Duration::from_millis(1500)).await, None);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_of_the_user() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let on_the_phone = app.login_ok(&coop.email, PASSWORD).await;
    let mut phone_socket = watching(&app, &on_the_phone).await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let new_password = "padi-jagung-kedelai-2027";

    app.gql(Some(&coop.access_token), change, json!({ "c": "not-the-password", "n": new_password }))
        .await
        .expect_error("BAD_USER_INPUT");
    app.gql(Some(&on_the_phone.access_token), ME, json!({})).await.data();

    let changed = app.gql(Some(&coop.access_token), change, json!({ "c": PASSWORD, "n": new_password })).await;
    assert_eq!(changed.data()["changePassword"], true);
    assert_eq!(phone_socket.close_code_within(WITHIN).await, Some(Some(4401)));
    app.gql(Some(&on_the_phone.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
    // The session that made the change goes on; the old password no longer opens one.
    app.gql(Some(&coop.access_token), ME, json!({})).await.data();
    app.login(&coop.email, PASSWORD).await.expect_error("UNAUTHENTICATED");
    app.login_ok(&coop.email, new_password).await;
}

#[tokio::test]
async fn a_deactivated_user_is_shut_out_at_once_and_cannot_log_in() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let treasurer = colleague(&app, &coop, "bendahara@kmp.test").await;
    let mut socket = watching(&app, &treasurer).await;
    let deactivate = "mutation($id: ID!) { deactivateUser(userId: $id) { status } }";

    // Not one's own account, and not another organisation's.
    app.gql(Some(&coop.access_token), deactivate, json!({ "id": coop.user_id })).await.expect_error("CONFLICT");
    app.gql(Some(&agency.access_token), deactivate, json!({ "id": treasurer.user_id })).await.expect_error("NOT_FOUND");

    let deactivated = app.gql(Some(&coop.access_token), deactivate, json!({ "id": treasurer.user_id })).await;
    assert_eq!(deactivated.data()["deactivateUser"]["status"], "DEACTIVATED");
    assert_eq!(socket.close_code_within(WITHIN).await, Some(Some(4403)));
    app.gql(Some(&treasurer.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
    app.login(&treasurer.email, PASSWORD).await.expect_error("UNAUTHENTICATED");
    app.gql(Some(&coop.access_token), ME, json!({})).await.data();
}

#[tokio::test]
async fn making_a_colleague_an_admin_changes_what_their_open_session_may_do() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let treasurer = colleague(&app, &coop, "bendahara@kmp.test").await;
    let invite =
        "mutation { inviteUser(input: { email: \"sekretaris@kmp.test\", name: \"Sekretaris\" }) { expiresAt } }";
    app.gql(Some(&treasurer.access_token), invite, json!({})).await.expect_error("FORBIDDEN");

    let promote = "mutation($id: ID!, $a: Boolean!) { setOrganisationAdmin(userId: $id, organisationAdmin: $a) { isOrganisationAdmin } }";
    let promoted = app.gql(Some(&coop.access_token), promote, json!({ "id": treasurer.user_id, "a": true })).await;
    assert_eq!(promoted.data()["setOrganisationAdmin"]["isOrganisationAdmin"], true);
    // The same access token, at once.
    app.gql(Some(&treasurer.access_token), invite, json!({})).await.data();

    app.gql(Some(&coop.access_token), promote, json!({ "id": treasurer.user_id, "a": false })).await.data();
    let again = "mutation { inviteUser(input: { email: \"wakil@kmp.test\", name: \"Wakil Ketua\" }) { expiresAt } }";
    app.gql(Some(&treasurer.access_token), again, json!({})).await.expect_error("FORBIDDEN");
}

// Several nodes share one PostgreSQL database; one SQLite file belongs to one process.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL"]
async fn a_change_through_one_node_reaches_sockets_and_requests_on_another_within_a_second() {
    let node_a = spawn_app().await;
    assert!(node_a.database.is_postgres(), "several nodes need PostgreSQL: set TEST_DATABASE_URL");
    let node_b = lumbung_tests::spawn_on(node_a.database.clone(), &[]).await;
    let (_, agency) = node_a.bootstrap().await;
    let coop = node_a.verified_cooperative(&agency, "Bumiayu").await;
    let supplier = node_a.verified_supplier(&agency, "CV Pupuk Makmur", false).await;
    // Node B has the sessions in its cache before anything changes.
    node_b.gql(Some(&coop.access_token), ME, json!({})).await.data();
    node_b.gql(Some(&supplier.access_token), ME, json!({})).await.data();
    let mut coop_on_b = watching(&node_b, &coop).await;
    let mut supplier_on_b = watching(&node_b, &supplier).await;

    suspend(&node_a, &agency, &coop.organisation_id).await;
    assert_eq!(coop_on_b.close_code_within(WITHIN).await, Some(Some(4403)), "node B's socket outlived the suspension");
    node_b.gql(Some(&coop.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");

    node_a
        .gql(None, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": supplier.refresh_token }))
        .await
        .data();
    assert_eq!(supplier_on_b.close_code_within(WITHIN).await, Some(Some(4401)), "node B's socket outlived the logout");
    node_b.gql(Some(&supplier.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_known_session_is_authenticated_without_a_database_statement() {
    // The background closer and mailer stay quiet so that only these requests' statements are counted.
    let app = spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000"), ("LUMBUNG_MAIL_WORKER", "false")]).await;
    let (_, agency) = app.bootstrap().await;
    // Fields answered from the caller alone, so any statement would be the authentication's.
    let caller_only = "query { me { role permissions } }";
    let statements = || app.services.queries.get();
    // The first request fills this node's cache (on PostgreSQL once its listener is connected).
    let started = std::time::Instant::now();
    loop {
        app.gql(Some(&agency.access_token), caller_only, json!({})).await.data();
        let before = statements();
        app.gql(Some(&agency.access_token), caller_only, json!({})).await.data();
        if statements() == before {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "every authenticated request still reads the database");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A change to the session is read again, once.
    app.gql(None, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": agency.refresh_token }))
        .await
        .data();
    app.gql(Some(&agency.access_token), caller_only, json!({})).await.expect_error("UNAUTHENTICATED");
    let before = statements();
    app.gql(Some(&agency.access_token), caller_only, json!({})).await.expect_error("UNAUTHENTICATED");
    assert_eq!(statements(), before, "an ended session is remembered too");
}
