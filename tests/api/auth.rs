//! Login, sessions and every kind of token the server must refuse.

use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lumbung_tests::{PASSWORD, TEST_JWT_SECRET, spawn_app};
use serde_json::json;

const ME: &str = "{ me { user { email } role organisation { name } permissions } }";

#[tokio::test]
async fn a_user_logs_in_and_me_returns_who_they_are_and_what_they_may_do() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let me = app.gql(Some(&agency.access_token), ME, json!({})).await;
    let me = &me.data()["me"];
    assert_eq!(me["user"]["email"], "analis@diskopindag.test");
    assert_eq!(me["role"], "AGENCY_ANALYST");
    assert_eq!(me["organisation"]["name"], "Diskopindag Kota Malang");
    let permissions = me["permissions"].as_array().unwrap();
    assert!(permissions.contains(&json!("REVIEW_ORGANISATIONS")));
    assert!(!permissions.contains(&json!("MANAGE_ORGANISATIONS")));
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.bootstrap().await;
    let wrong_password = app.login("analis@diskopindag.test", "not-the-password").await;
    let unknown = app.login("nobody@diskopindag.test", "not-the-password").await;
    wrong_password.expect_error("UNAUTHENTICATED");
    unknown.expect_error("UNAUTHENTICATED");
    assert_eq!(wrong_password.error_message(), unknown.error_message());
}

#[tokio::test]
async fn repeated_failures_lock_an_address_whether_or_not_it_has_an_account() {
    let app = spawn_app().await;
    app.bootstrap().await;
    for email in ["analis@diskopindag.test", "nobody@diskopindag.test"] {
        for _ in 0..5 {
            app.login(email, "not-the-password").await.expect_error("UNAUTHENTICATED");
        }
        let locked = app.login(email, "not-the-password").await;
        locked.expect_error("TOO_MANY_ATTEMPTS");
        assert_eq!(locked.body["errors"][0]["extensions"]["retryAfterSeconds"], 30);
    }
    // Even the right password waits out the lock; afterwards it works and the count starts again.
    app.login("analis@diskopindag.test", PASSWORD).await.expect_error("TOO_MANY_ATTEMPTS");
    app.clock.advance(Duration::seconds(31));
    app.login_ok("analis@diskopindag.test", PASSWORD).await;
    app.login("analis@diskopindag.test", "not-the-password").await.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_refresh_token_rotates_and_reusing_an_old_one_ends_the_whole_login() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let refresh = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
    let first = app.gql(None, refresh, json!({ "token": agency.refresh_token })).await;
    let first = first.data()["refreshSession"].clone();
    let rotated = first["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(rotated, agency.refresh_token);
    app.gql(Some(first["accessToken"].as_str().unwrap()), ME, json!({})).await.data();

    // The old token again: refused, and the rotated one dies with it.
    app.gql(None, refresh, json!({ "token": agency.refresh_token })).await.expect_error("UNAUTHENTICATED");
    app.gql(None, refresh, json!({ "token": rotated })).await.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let logout =
        app.gql(None, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": agency.refresh_token })).await;
    assert_eq!(logout.data()["logout"], true);
    app.gql(
        None,
        "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
        json!({ "t": agency.refresh_token }),
    )
    .await
    .expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    app.clock.advance(Duration::days(31));
    app.gql(
        None,
        "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
        json!({ "t": agency.refresh_token }),
    )
    .await
    .expect_error("UNAUTHENTICATED");
}

/// The `sid` claim of an access token.
fn session_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

fn forge(claims: serde_json::Value, secret: &str, algorithm: Algorithm) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), &claims, &EncodingKey::from_secret(secret.as_bytes()).unwrap())
        .unwrap()
}

#[tokio::test]
async fn every_bad_access_token_is_refused_with_unauthenticated() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let now = app.clock_now_timestamp();
    // The session the agency's own token names: a forged token needs one that is still open.
    let session = session_of(&agency.access_token);
    let claims = |aud: &str, exp: i64| json!({ "sub": agency.user_id, "sid": session, "iss": "lumbung", "aud": aud, "iat": now, "exp": exp });
    // A well-formed token the server would accept, as a control.
    let good = forge(claims("lumbung-api", now + 600), TEST_JWT_SECRET, Algorithm::HS256);
    app.gql(Some(&good), ME, json!({})).await.data();

    let b64 = |value: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let alg_none =
        format!("{}.{}.", b64(json!({ "alg": "none", "typ": "JWT" })), b64(claims("lumbung-api", now + 600)));
    let wrong_signature =
        forge(claims("lumbung-api", now + 600), "another-secret-another-secret-another!!", Algorithm::HS256);
    let wrong_audience = forge(claims("someone-else", now + 600), TEST_JWT_SECRET, Algorithm::HS256);
    let expired = forge(claims("lumbung-api", now - 1), TEST_JWT_SECRET, Algorithm::HS256);
    let other_algorithm = forge(claims("lumbung-api", now + 600), TEST_JWT_SECRET, Algorithm::HS512);
    let wrong_issuer = forge(
        json!({ "sub": agency.user_id, "sid": session, "iss": "someone-else", "aud": "lumbung-api", "iat": now, "exp": now + 600 }),
        TEST_JWT_SECRET,
        Algorithm::HS256,
    );
    let not_yet_valid = forge(
        json!({ "sub": agency.user_id, "sid": session, "iss": "lumbung", "aud": "lumbung-api", "iat": now, "exp": now + 600, "nbf": now + 300 }),
        TEST_JWT_SECRET,
        Algorithm::HS256,
    );
    // The payload changed after signing (another user), the signature kept.
    let tampered = {
        use base64::Engine;
        let parts: Vec<&str> = good.split('.').collect();
        let payload = json!({ "sub": "01900000-0000-7000-8000-000000000001", "sid": session, "iss": "lumbung", "aud": "lumbung-api", "iat": now, "exp": now + 600 });
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    // Signed right, but naming no session, or one that was never opened: a token is only as good as its session.
    let no_session = forge(
        json!({ "sub": agency.user_id, "iss": "lumbung", "aud": "lumbung-api", "iat": now, "exp": now + 600 }),
        TEST_JWT_SECRET,
        Algorithm::HS256,
    );
    let unknown_session = forge(
        json!({ "sub": agency.user_id, "sid": "01900000-0000-7000-8000-000000000002", "iss": "lumbung", "aud": "lumbung-api", "iat": now, "exp": now + 600 }),
        TEST_JWT_SECRET,
        Algorithm::HS256,
    );
    for (kind, token) in [
        ("no session", no_session),
        ("a session never opened", unknown_session),
        ("wrong issuer", wrong_issuer),
        ("not yet valid", not_yet_valid),
        ("tampered payload", tampered),
        ("alg none", alg_none),
        ("wrong signature", wrong_signature),
        ("wrong audience", wrong_audience),
        ("expired", expired),
        ("HS512 instead of HS256", other_algorithm),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let response = app.gql(Some(&token), ME, json!({})).await;
        assert_eq!(response.error_code(), "UNAUTHENTICATED", "{kind}: {}", response.body);
        assert!(response.body["data"].is_null(), "{kind} leaked data");
    }
    // A header that is not a bearer token.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", format!("Basic {}", agency.access_token))
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn an_access_token_stops_working_when_it_expires() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    app.clock.advance(Duration::minutes(14));
    app.gql(Some(&agency.access_token), ME, json!({})).await.data();
    app.clock.advance(Duration::minutes(1));
    app.gql(Some(&agency.access_token), ME, json!({})).await.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn an_invited_colleague_sets_a_password_and_logs_in() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Madyopuro").await;
    let invitation = app
        .gql(
            Some(&coop.access_token),
            "mutation { inviteUser(input: { email: \"bendahara@kmp.test\", name: \"Bendahara\" }) { invitationToken user { status role } } }",
            json!({}),
        )
        .await;
    let invitation = &invitation.data()["inviteUser"];
    assert_eq!(invitation["user"]["status"], "INVITED");
    assert_eq!(invitation["user"]["role"], "COOP_STAFF");
    // Before accepting there is no password to log in with.
    app.login("bendahara@kmp.test", PASSWORD).await.expect_error("UNAUTHENTICATED");
    let accept =
        "mutation($t: String!, $p: String!) { acceptInvitation(invitationToken: $t, password: $p) { status } }";
    let token = invitation["invitationToken"].as_str().unwrap();
    let accepted = app.gql(None, accept, json!({ "t": token, "p": "kas-koperasi-hujan-pagi" })).await;
    assert_eq!(accepted.data()["acceptInvitation"]["status"], "ACTIVE");
    app.login_ok("bendahara@kmp.test", "kas-koperasi-hujan-pagi").await;
    // The token works once.
    app.gql(None, accept, json!({ "t": token, "p": "kata-sandi-lainnya" })).await.expect_error("UNAUTHENTICATED");

    // Only organisation admins invite: the new colleague is not one.
    let colleague = app.login_ok("bendahara@kmp.test", "kas-koperasi-hujan-pagi").await;
    app.gql(
        Some(&colleague.access_token),
        "mutation { inviteUser(input: { email: \"lagi@kmp.test\", name: \"Lagi\" }) { invitationToken } }",
        json!({}),
    )
    .await
    .expect_error("FORBIDDEN");
}

trait ClockNow {
    fn clock_now_timestamp(&self) -> i64;
}

impl ClockNow for lumbung_tests::TestApp {
    fn clock_now_timestamp(&self) -> i64 {
        use domain::clock::Clock;
        self.clock.now().timestamp()
    }
}

/// A flood of logins from one address is refused before any password is hashed, and failed passwords lock the
/// account only for the client that tried them: a stranger cannot lock a user out.
#[tokio::test]
async fn login_floods_are_limited_per_client_and_lockouts_are_per_account_and_client() {
    let app = lumbung_tests::spawn_app_with(&[("LUMBUNG_LOGIN_PER_CLIENT_PER_MINUTE", "8")]).await;
    app.bootstrap().await;
    // Another address on this machine: the whole of 127.0.0.0/8 is loopback.
    let elsewhere =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().ok()).build().unwrap();
    let login = |client: &reqwest::Client, email: &str, password: &str| {
        client
            .post(format!("{}/graphql", app.address))
            .json(&json!({
                "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
                "variables": { "e": email, "p": password }
            }))
            .send()
    };
    let code = |body: &serde_json::Value| body["errors"][0]["extensions"]["code"].as_str().unwrap_or("ok").to_owned();
    let analyst = "analis@diskopindag.test";
    // A stranger at 127.0.0.2 fails five times: locked out there, and only there.
    for _ in 0..5 {
        let answer: serde_json::Value =
            login(&elsewhere, analyst, "not-the-password").await.unwrap().json().await.unwrap();
        assert_eq!(code(&answer), "UNAUTHENTICATED");
    }
    let stranger: serde_json::Value =
        login(&elsewhere, analyst, lumbung_tests::PASSWORD).await.unwrap().json().await.unwrap();
    assert_eq!(code(&stranger), "TOO_MANY_ATTEMPTS");
    let owner: serde_json::Value =
        login(&app.client, analyst, lumbung_tests::PASSWORD).await.unwrap().json().await.unwrap();
    assert_eq!(code(&owner), "ok", "the user logs in from their own address: {owner}");
    // The stranger's address has used six of its eight attempts a minute; on another account two more are tried,
    // then it is refused before any password is checked.
    let mut codes = Vec::new();
    for _ in 0..4 {
        let answer: serde_json::Value =
            login(&elsewhere, "seseorang@kmp.test", "not-the-password").await.unwrap().json().await.unwrap();
        if code(&answer) == "TOO_MANY_ATTEMPTS" {
            assert!(answer["errors"][0]["extensions"]["retryAfterSeconds"].as_i64().is_some_and(|s| s >= 1));
        }
        codes.push(code(&answer));
    }
    assert_eq!(codes, ["UNAUTHENTICATED", "UNAUTHENTICATED", "TOO_MANY_ATTEMPTS", "TOO_MANY_ATTEMPTS"]);
}
