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
