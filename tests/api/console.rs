//! The web console over plain HTTP, as a browser's requests would arrive: CSRF, cookies, headers, page weight. (The
//! browser itself drives the console in the `browser` test target.)

use lumbung_tests::{PASSWORD, TestApp, spawn_app};
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `name=value` pairs a response sets.
fn set_cookies(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|cookie| cookie.split(';').next()?.split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())))
        .collect()
}

fn cookie_header(cookies: &[(String, String)]) -> String {
    cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
}

/// A logged-in browser's cookies (CSRF token, access and refresh tokens), got through the login form.
async fn logged_in(app: &TestApp, email: &str) -> Vec<(String, String)> {
    let client = client();
    let page = client.get(app.url("/login")).send().await.unwrap();
    let mut cookies = set_cookies(&page);
    let csrf = cookies.iter().find(|(n, _)| n == "lumbung_csrf").unwrap().1.clone();
    let response = client
        .post(app.url("/login"))
        .header("cookie", cookie_header(&cookies))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "logging in redirects home");
    cookies.extend(set_cookies(&response));
    assert!(cookies.iter().any(|(n, _)| n == "lumbung_access"));
    cookies
}

#[tokio::test]
async fn a_form_post_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let cookies = logged_in(&app, &coop.email).await;
    let csrf = cookies.iter().find(|(n, _)| n == "lumbung_csrf").unwrap().1.clone();
    let client = client();

    // No token, a wrong token, and no cookie at all (a form posted from another site).
    for (cookie, fields) in [
        (cookie_header(&cookies), vec![("back", "/")]),
        (cookie_header(&cookies), vec![("csrf", "not-the-token-not-the-token-not-the-token"), ("back", "/")]),
        (String::new(), vec![("csrf", csrf.as_str()), ("back", "/")]),
    ] {
        let response = client.post(app.url("/language")).header("cookie", cookie).form(&fields).send().await.unwrap();
        assert_eq!(response.status(), 403);
        assert!(set_cookies(&response).iter().all(|(n, _)| n != "lumbung_lang"), "the language changed");
    }
    let logout = client
        .post(app.url("/logout"))
        .header("cookie", cookie_header(&cookies))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 403);
    let access = cookies.iter().find(|(n, _)| n == "lumbung_access").unwrap().1.clone();
    app.gql(Some(&access), "query { me { role } }", json!({})).await.data();

    // With it, the same form works.
    let response = client
        .post(app.url("/language"))
        .header("cookie", cookie_header(&cookies))
        .form(&[("csrf", csrf.as_str()), ("back", "/orders")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/orders");
    assert!(set_cookies(&response).contains(&("lumbung_lang".into(), "en".into())));
}

#[tokio::test]
async fn console_pages_carry_their_security_headers_and_session_cookies_are_http_only() {
    let app = spawn_app().await;
    let response = client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    for cookie in headers.get_all("set-cookie") {
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite"), "{cookie}");
    }
    // Without a session, a page asks to log in.
    let orders = client().get(app.url("/orders")).send().await.unwrap();
    assert_eq!(orders.status(), 303);
    assert_eq!(orders.headers()["location"], "/login");
}

#[tokio::test]
async fn a_cooperative_page_weighs_under_60_kb_compressed_with_its_style_and_script() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let cookies = logged_in(&app, &coop.email).await;
    let client = client();
    let fetch = |path: String| {
        let client = client.clone();
        let cookies = cookie_header(&cookies);
        let url = app.url(&path);
        async move {
            let response =
                client.get(url).header("cookie", cookies).header("accept-encoding", "gzip").send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let compressed = response.headers().get("content-encoding").is_some_and(|e| e == "gzip");
            let cache = response.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
            let body = response.bytes().await.unwrap();
            (body, compressed, cache)
        }
    };
    let (home, home_compressed, _) = fetch("/".into()).await;
    assert!(home_compressed, "the page is sent compressed");
    let mut total = home.len();
    for asset in ["app.css", "live.js"] {
        let (body, _, cache) = fetch(format!("/static/{asset}")).await;
        assert!(cache.unwrap().contains("immutable"), "{asset} is cached for long");
        total += body.len();
    }
    assert!(total < 60 * 1024, "first load is {total} bytes");
}

/// The console's script opens the live socket with the session cookie; another site's page cannot: the cookie counts
/// only when the socket comes from the console's own origin.
#[tokio::test]
async fn the_session_cookie_opens_the_live_socket_only_from_the_consoles_own_origin() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let cookies = logged_in(&app, &coop.email).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let first_answer = |origin: String| {
        let (host, cookie) = (host.clone(), cookie_header(&cookies));
        async move {
            let mut request = format!("ws://{host}/graphql/ws").into_client_request().unwrap();
            let headers = request.headers_mut();
            headers.insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
            headers.insert("Origin", HeaderValue::from_str(&origin).unwrap());
            headers.insert("Cookie", HeaderValue::from_str(&cookie).unwrap());
            let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
            let send = |value: serde_json::Value| Message::text(value.to_string());
            socket.send(send(json!({ "type": "connection_init", "payload": {} }))).await.unwrap();
            let query = "subscription { orderEvents { status } }";
            socket.send(send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }))).await.unwrap();
            loop {
                let next = tokio::time::timeout(std::time::Duration::from_millis(800), socket.next()).await;
                match next {
                    // Nothing within the wait: an accepted subscription waiting for events.
                    Err(_) => return None,
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let message: serde_json::Value = serde_json::from_str(&text).unwrap();
                        if message["type"] == "next" || message["type"] == "error" {
                            return Some(message);
                        }
                    }
                    Ok(_) => return Some(json!({ "closed": true })),
                }
            }
        }
    };
    assert_eq!(first_answer(format!("http://{host}")).await, None, "the console's own page is refused");
    let elsewhere = first_answer("http://evil.example".into()).await.unwrap();
    assert_eq!(elsewhere["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{elsewhere}");
}
