//! The console in a real browser: Debian's `chromium` driven over WebDriver (`chromedriver`) by fantoccini, against
//! the real server. These tests are ignored where chromedriver is not installed; `.ci/run` installs it and runs them.
//! Each main page is saved as a screenshot at phone size under the build's temporary folder
//! (`target/tmp/lumbung-screenshots`).

// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use fantoccini::{Client, ClientBuilder, Locator};
use lumbung_tests::{Login, PASSWORD, TestApp, cooperative_input, spawn_app_with};
use serde_json::{Value, json};

const NEEDS: &str = "needs chromium and chromedriver (apt install chromium chromium-driver); .ci/run runs these";
const CUTOFF: &str = "2026-11-27T10:00:00Z"; // 27 November 17:00 WIB
const PHONE: (u32, u32) = (360, 640);
const DESK: (u32, u32) = (1280, 800);

/// A headless Chromium with its own chromedriver, closed when dropped.
struct Browser {
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

async fn browser((width, height): (u32, u32)) -> Browser {
    let port = free_port();
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: apt install chromium chromium-driver");
    let mut options = serde_json::Map::new();
    let mut chrome = json!({ "args": [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        format!("--window-size={width},{height}"), "--lang=id"
    ] });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = json!("/usr/bin/chromium");
    }
    options.insert("goog:chromeOptions".into(), chrome);
    let started = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(options.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return Browser { client, driver },
            Err(error) if started.elapsed() > Duration::from_secs(20) => panic!("chromedriver did not start: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

impl Browser {
    async fn open(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.unwrap();
        self.every_input_is_labelled().await;
    }

    async fn log_in(&self, app: &TestApp, email: &str) {
        self.open(app, "/login").await;
        self.client.find(Locator::Id("email")).await.unwrap().send_keys(email).await.unwrap();
        self.client.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        self.click(Locator::Css("form[action='/login'] button")).await;
    }

    /// Clicks a link or a form's button and waits for the page it leads to (every click in these tests navigates).
    async fn click(&self, locator: Locator<'_>) {
        self.client.execute("window.lumbungBeforeClick = true; return null;", vec![]).await.unwrap();
        self.client.find(locator).await.unwrap().click().await.unwrap();
        let started = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.lumbungBeforeClick === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(loaded, Ok(Value::Bool(true))) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "the next page did not load");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.every_input_is_labelled().await;
    }

    async fn fill(&self, id: &str, value: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn text(&self) -> String {
        self.client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// An automated check on every page a test visits: each visible input, select and text area has a label.
    async fn every_input_is_labelled(&self) {
        let unlabelled = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
                    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                    .map(e => e.name || e.id);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(unlabelled, json!([]), "unlabelled inputs on {}", self.client.current_url().await.unwrap());
    }

    async fn screenshot(&self, name: &str) {
        let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lumbung-screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("{name}.png")), self.client.screenshot().await.unwrap()).unwrap();
    }
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn gql(app: &TestApp, who: &Login, query: &str, variables: Value) -> Value {
    app.gql(Some(&who.access_token), query, variables).await.data().clone()
}

/// The agency, a Cemorokandang cooperative with its RDKK allocation, two fertiliser suppliers and an open pool for
/// subsidised urea.
async fn season() -> (TestApp, Login, Login, Login, Login, String) {
    let app =
        spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "50"), ("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "2592000")]).await;
    let (_, agency) = app.bootstrap().await;
    for query in [
        "mutation { createCommodity(input: { code: \"UREA-SUB\", nameId: \"Urea bersubsidi\", nameEn: \"Subsidised urea\", unit: KG, category: SUBSIDISED_FERTILISER }) { code } }",
        "mutation { setPriceReference(input: { commodityCode: \"UREA-SUB\", kind: HET, price: \"1800\", areaScope: NATIONAL, effectiveFrom: \"2025-10-22\" }) { price } }",
    ] {
        gql(&app, &agency, query, json!({})).await;
    }
    let coop = app.verified_cooperative(&agency, "Cemorokandang").await;
    let supplier = app.verified_supplier(&agency, "Tani Makmur", false).await;
    let rival = app.verified_supplier(&agency, "Sri Rejeki", false).await;
    gql(
        &app,
        &agency,
        "mutation($i: FertiliserAllocationInput!) { recordFertiliserAllocation(input: $i) { quantity } }",
        json!({ "i": { "cooperativeId": coop.organisation_id, "commodityCode": "UREA-SUB", "season": "2026-MT1", "quantity": "20000" } }),
    )
    .await;
    let pool = gql(
        &app,
        &agency,
        "mutation($i: DemandPoolInput!) { openDemandPool(input: $i) { id } }",
        json!({ "i": { "commodityCode": "UREA-SUB", "city": "Kota Malang", "season": "2026-MT1",
            "deliveryFirstDay": "2026-12-01", "deliveryLastDay": "2026-12-15", "cutoff": CUTOFF } }),
    )
    .await;
    let pool_id = pool["openDemandPool"]["id"].as_str().unwrap().to_owned();
    (app, agency, coop, supplier, rival, pool_id)
}

async fn wait_until_closed(app: &TestApp, agency: &Login, tender_id: &str) {
    for _ in 0..200 {
        let tender =
            gql(app, agency, "query($id: ID!) { tender(id: $id) { lots { outcome } } }", json!({ "id": tender_id }))
                .await;
        if tender["tender"]["lots"][0]["outcome"] != "PENDING" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the tender was not closed");
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (apt install chromium chromium-driver); .ci/run runs these"]
async fn a_season_through_the_console_clerk_on_a_phone_and_sales_officer_at_a_desk() {
    let _ = NEEDS;
    let (app, agency, coop, supplier, rival, pool_id) = season().await;

    // The clerk, on a phone, puts the cooperative's demand into the open pool.
    let clerk = browser(PHONE).await;
    clerk.log_in(&app, &coop.email).await;
    let home = clerk.text().await;
    assert!(home.contains("Urea bersubsidi"), "{home}");
    clerk.screenshot("cooperative-home").await;
    clerk.click(Locator::Css(&format!("a[href='/pools/{pool_id}']"))).await;
    clerk.fill("quantity", "15.000").await;
    clerk.click(Locator::Css("form[action$='/demand'] button")).await;
    let pool_page = clerk.text().await;
    assert!(pool_page.contains("15.000 kg"), "{pool_page}");
    assert!(pool_page.contains("Sisa alokasi RDKK musim ini (2026-MT1): 5.000 kg"), "{pool_page}");
    clerk.screenshot("cooperative-pool").await;
    // A quantity that is not a number stays in the form with the reason beside it.
    clerk.fill("quantity", "lima ribu").await;
    clerk.click(Locator::Css("form[action$='/demand'] button")).await;
    let refused = clerk.client.find(Locator::Id("quantity")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(refused.as_deref(), Some("lima ribu"));
    assert!(clerk.client.find(Locator::Css(".form-error")).await.is_ok());

    // The agency makes a tender of the frozen pool (through the API) with an hour and a day to bid.
    app.clock.set(at(CUTOFF) + chrono::Duration::hours(1));
    let now = domain::clock::Clock::now(&app.clock);
    let created = gql(
        &app,
        &agency,
        "mutation($i: TenderInput!) { createTender(input: $i) { id lots { id } } }",
        json!({ "i": { "poolId": pool_id, "maxUnitPrice": "1700", "biddingStart": now, "deadline": now + chrono::Duration::hours(25) } }),
    )
    .await;
    let tender_id = created["createTender"]["id"].as_str().unwrap().to_owned();
    gql(&app, &agency, "mutation($id: ID!) { publishTender(id: $id) { status } }", json!({ "id": tender_id })).await;

    // The sales officer, at a desk, bids, revises, and keeps the receipt.
    let officer = browser(DESK).await;
    officer.log_in(&app, &supplier.email).await;
    // A day and an hour by the server's clock (the script keeps counting from there, so the hour may read 0 by now).
    let countdown = officer.client.find(Locator::Css(".countdown")).await.unwrap().text().await.unwrap();
    assert!(countdown.starts_with("1 hari ") && countdown.ends_with(" lagi"), "{countdown}");
    officer.click(Locator::Css(&format!("a[href='/tenders/{tender_id}']"))).await;
    let price_field = format!("price-{}", created["createTender"]["lots"][0]["id"].as_str().unwrap());
    // A price that is not a number is refused beside the form, which keeps what was typed.
    officer.fill(&price_field, "seribu").await;
    officer.click(Locator::Css("button[value='submit']")).await;
    let kept = officer.client.find(Locator::Id(&price_field)).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("seribu"));
    assert!(officer.client.find(Locator::Css(".field-error")).await.is_ok());
    officer.fill(&price_field, "1.650").await;
    officer.click(Locator::Css("button[value='submit']")).await;
    let receipt = officer.client.find(Locator::Id("commitment-hash")).await.unwrap().text().await.unwrap();
    assert_eq!(receipt.len(), 64, "a SHA-256 commitment: {receipt}");
    let lot_id = created["createTender"]["lots"][0]["id"].as_str().unwrap().to_owned();
    officer.fill(&format!("price-{lot_id}"), "1640").await;
    officer.click(Locator::Css("button[value='revise']")).await;
    let revised = officer.text().await;
    assert!(revised.contains("REVISED"), "{revised}");
    assert!(revised.contains("Rp1.640 × 15.000 kg"), "{revised}");
    officer.screenshot("supplier-tender-desk").await;
    officer.client.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    officer.screenshot("supplier-tender").await;

    // Before the deadline, neither another supplier nor the cooperative sees anything of the bid.
    let other = browser(DESK).await;
    other.log_in(&app, &rival.email).await;
    other.open(&app, &format!("/tenders/{tender_id}")).await;
    let seen = other.source().await;
    for secret in ["1.640", "1640", "Tani Makmur", receipt.as_str()] {
        assert!(!seen.contains(secret), "another supplier's page shows {secret}");
    }
    clerk.open(&app, &format!("/pools/{pool_id}")).await;
    let seen = clerk.source().await;
    for secret in ["1.640", "1640", "Tani Makmur", receipt.as_str()] {
        assert!(!seen.contains(secret), "the cooperative's page shows {secret}");
    }

    // After the deadline the agency confirms the award; the officer accepts and dispatches.
    app.clock.advance(chrono::Duration::hours(26));
    wait_until_closed(&app, &agency, &tender_id).await;
    gql(&app, &agency, "mutation($id: ID!) { confirmAward(id: $id) { status } }", json!({ "id": tender_id })).await;
    // The clerk keeps the new order open: its status follows the order live, without reloading.
    let orders = gql(&app, &coop, "query { purchaseOrders { edges { node { id } } } }", json!({})).await;
    let order_id = orders["purchaseOrders"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    clerk.open(&app, &format!("/orders/{order_id}")).await;
    let badge = || async { clerk.client.find(Locator::Id("order-status")).await.unwrap().text().await.unwrap() };
    assert_eq!(badge().await, "Menunggu diterima pemasok");
    tokio::time::sleep(Duration::from_secs(1)).await;
    officer.client.set_window_size(DESK.0, DESK.1).await.unwrap();
    officer.open(&app, "/").await;
    officer.click(Locator::Css("a.big-action")).await;
    officer.click(Locator::Css("form[action$='/accept'] button")).await;
    assert!(officer.text().await.contains("Diterima pemasok"));
    let started = Instant::now();
    while badge().await != "Diterima pemasok" {
        assert!(started.elapsed() < Duration::from_secs(5), "the clerk's open order did not follow the acceptance");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    officer.fill("vehicle", "N 1234 AB").await;
    officer.fill("driver", "Pak Slamet").await;
    officer.click(Locator::Css("form[action$='/dispatch'] button")).await;
    assert!(officer.text().await.contains("N 1234 AB"));

    // The clerk, next to the truck: the shortest path from home to a confirmed delivery, with a rejection.
    clerk.open(&app, "/").await;
    clerk.click(Locator::Css("a.big-action")).await;
    clerk.screenshot("cooperative-confirm-delivery").await;
    clerk.fill("received-1", "15000").await;
    // A typing slip is refused, and the form keeps everything that was typed.
    clerk.fill("rejected-1", "lima ratus").await;
    clerk.client.find(Locator::Id("reason-1")).await.unwrap().select_by_value("DAMAGED").await.unwrap();
    clerk.fill("rnote-1", "karung sobek").await;
    clerk.fill("receiver", "Bu Sri").await;
    clerk.click(Locator::Css("form[action$='/confirm'] button")).await;
    assert!(clerk.client.find(Locator::Css(".form-error")).await.is_ok());
    let form = &clerk.client;
    let value = |id: &'static str| async move {
        form.find(Locator::Id(id)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
    };
    assert_eq!(
        [value("received-1").await, value("rejected-1").await, value("reason-1").await, value("receiver").await],
        ["15000", "lima ratus", "DAMAGED", "Bu Sri"]
    );
    clerk.fill("rejected-1", "500").await;
    clerk.click(Locator::Css("form[action$='/confirm'] button")).await;
    let confirmed = clerk.text().await;
    assert!(confirmed.contains("Sebagian diterima"), "{confirmed}");
    assert!(confirmed.contains("Rp23.780.000"), "amount due for 14,500 kg at Rp1,640: {confirmed}");
    clerk.screenshot("cooperative-order").await;
    // What the cooperative owes, and its e-mail choices.
    clerk.open(&app, "/settings").await;
    assert!(clerk.text().await.contains("Rp23.780.000"));
    clerk.click(Locator::Css("form[action='/settings/notifications'] button")).await;
    assert!(clerk.text().await.contains("Tersimpan."));
    clerk.screenshot("cooperative-settings").await;
    let orders =
        gql(&app, &coop, "query { purchaseOrders { edges { node { lines { accepted rejected } } } } }", json!({}))
            .await;
    assert_eq!(orders["purchaseOrders"]["edges"][0]["node"]["lines"][0]["accepted"], "14500");
    assert_eq!(orders["purchaseOrders"]["edges"][0]["node"]["lines"][0]["rejected"], "500");
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (apt install chromium chromium-driver); .ci/run runs these"]
async fn an_organisation_named_like_a_script_shows_as_text_and_logout_ends_the_session() {
    let app = spawn_app_with(&[]).await;
    let (_, agency) = app.bootstrap().await;
    let name = "<script>alert(1)</script>";
    let mut input = cooperative_input("Sawojajar", "sawojajar@kmp.test");
    input["name"] = json!(name);
    let id = app.register(input).await;
    app.verify(&agency, &id).await;
    let page = browser(PHONE).await;
    page.log_in(&app, "sawojajar@kmp.test").await;
    let who = page.client.find(Locator::Css(".who")).await.unwrap().text().await.unwrap();
    assert!(who.contains(name), "the name shows as text: {who}");
    assert!(page.client.get_alert_text().await.is_err(), "a script ran");
    page.screenshot("escaped-name").await;

    let cookies = page.client.get_all_cookies().await.unwrap();
    let access = cookies.iter().find(|c| c.name() == "lumbung_access").map(|c| c.value().to_owned()).unwrap();
    app.gql(Some(&access), "query { me { role } }", json!({})).await.data();
    page.click(Locator::Css("form[action='/logout'] button")).await;
    assert!(page.client.current_url().await.unwrap().path().ends_with("/login"));
    page.open(&app, "/orders").await;
    assert!(
        page.client.current_url().await.unwrap().path().ends_with("/login"),
        "logged out, the console asks to log in"
    );
    app.gql(Some(&access), "query { me { role } }", json!({})).await.expect_error("UNAUTHENTICATED");
}
