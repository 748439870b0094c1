//! `lumbung-load`: the bid burst and the limits beside it, measured in one run on this machine.
//!
//! It starts a real Lumbung server in this process (on a fresh SQLite file, or a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set), prepares one open tender and as many verified suppliers as the largest client count,
//! then for each client count has every client submit and keep revising its bid over HTTP as fast as the server
//! answers, checking every response body. Beside it, the same run measures the raw database's rate for a durable
//! single-row insert transaction (the sqlite3 CLI with the same PRAGMAs; pgbench with a one-line insert script), and
//! one authenticated read through GraphQL against a plain axum JSON handler doing the same database read.
//!
//!     cargo run --release -p lumbung-tests --bin lumbung-load -- --seconds 10 --clients 1,16,256
//!     TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --release -p lumbung-tests --bin lumbung-load

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use axum::{Json, Router, extract::State, routing::get};
use chrono::Duration as ChronoDuration;
use clap::Parser;
use domain::access::Actor;
use infra::services::Services;
use lumbung_tests::{Login, PASSWORD, TestApp, spawn_app_with, supplier_input};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// Seconds each burst lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent client counts to run, comma-separated.
    #[arg(long, default_value = "1,16,256", value_delimiter = ',')]
    clients: Vec<usize>,
    /// Requests for the GraphQL-versus-plain-handler read comparison.
    #[arg(long, default_value_t = 2000)]
    reads: usize,
    /// Instead of the burst: close (evaluate and allocate) one lot of this many cooperatives' demand lines through
    /// the database, with `--bids` bids.
    #[arg(long)]
    national: Option<usize>,
    #[arg(long, default_value_t = 1000)]
    bids: usize,
    /// Instead of the burst: store this many price observations (10 commodities, 500 kecamatan, two years) with
    /// their daily rollups, then time indicator queries against a scan of the observations.
    #[arg(long)]
    prices: Option<usize>,
}

struct Burst {
    clients: usize,
    accepted: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Resets the process's peak resident memory (Linux: `clear_refs` value 5), so the peak read afterwards belongs to
/// the burst and not to preparing it (hundreds of Argon2 password hashes, 19 MiB each, while suppliers register).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mib() -> f64 {
    memory_mib("VmHWM:")
}

fn memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn gql(app: &TestApp, token: &str, query: &str, variables: Value) -> anyhow::Result<Value> {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?;
    let body: Value = response.json().await?;
    if body.get("errors").is_some_and(|e| !e.is_null()) {
        bail!("GraphQL error: {body}");
    }
    Ok(body["data"].clone())
}

/// One open tender for a non-subsidised fertiliser, with a lot big enough for every client's bid.
async fn prepare(app: &TestApp, suppliers: usize) -> anyhow::Result<(String, String, Vec<Login>, Login)> {
    let (_, agency) = app.bootstrap().await;
    let token = agency.access_token.clone();
    gql(app, &token, "mutation { createCommodity(input: { code: \"NPK-NONSUB\", nameId: \"NPK nonsubsidi\", nameEn: \"NPK\", unit: KG, category: FERTILISER }) { code } }", json!({})).await?;
    let now = app.clock_now();
    let cutoff = now + ChronoDuration::hours(1);
    let pool = gql(
        app,
        &token,
        "mutation($i: DemandPoolInput!) { openDemandPool(input: $i) { id } }",
        json!({ "i": { "commodityCode": "NPK-NONSUB", "city": "Kota Malang", "deliveryFirstDay": (now + ChronoDuration::days(10)).date_naive(), "deliveryLastDay": (now + ChronoDuration::days(20)).date_naive(), "cutoff": cutoff } }),
    )
    .await?;
    let pool_id = pool["openDemandPool"]["id"].as_str().context("pool id")?.to_owned();
    let coop = app.verified_cooperative(&agency, "Sawojajar").await;
    let points = gql(
        app,
        &coop.access_token,
        "query($id: ID!) { organisation(id: $id) { deliveryPoints { id } } }",
        json!({ "id": coop.organisation_id }),
    )
    .await?;
    let point = points["organisation"]["deliveryPoints"][0]["id"].as_str().context("delivery point")?.to_owned();
    gql(
        app,
        &coop.access_token,
        "mutation($i: DemandLineInput!) { addDemandLine(input: $i) { id } }",
        json!({ "i": { "poolId": pool_id, "deliveryPointId": point, "quantity": "100000000", "wantedDate": (now + ChronoDuration::days(12)).date_naive() } }),
    )
    .await?;
    app.clock.set(cutoff);
    let tender = gql(
        app,
        &token,
        "mutation($i: TenderInput!) { createTender(input: $i) { id lots { id } } }",
        json!({ "i": { "poolId": pool_id, "maxUnitPrice": "5000", "partialBidsAllowed": true, "biddingStart": cutoff, "deadline": cutoff + ChronoDuration::days(30) } }),
    )
    .await?;
    let tender_id = tender["createTender"]["id"].as_str().context("tender id")?.to_owned();
    let lot_id = tender["createTender"]["lots"][0]["id"].as_str().context("lot id")?.to_owned();
    gql(app, &token, "mutation($id: ID!) { publishTender(id: $id) { status } }", json!({ "id": tender_id })).await?;
    let mut logins = Vec::with_capacity(suppliers);
    for i in 0..suppliers {
        let email = format!("beban{i}@supplier.test");
        let mut input = supplier_input(&format!("Pemasok Beban {i}"), &email, i % 10 == 0);
        input["categories"] = json!(["FERTILISER"]);
        let id = app.register(input).await;
        app.verify(&agency, &id).await;
        logins.push(app.login_ok(&email, PASSWORD).await);
    }
    Ok((tender_id, lot_id, logins, agency))
}

const SUBMIT: &str =
    "mutation($i: SubmitBidInput!) { submitBid(input: $i) { bidId version receivedAt commitmentHash } }";
const REVISE: &str =
    "mutation($i: ReviseBidInput!) { reviseBid(input: $i) { bidId version receivedAt commitmentHash } }";

async fn burst(app: &TestApp, lot_id: &str, suppliers: &[Login], clients: usize, seconds: u64) -> Burst {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for supplier in suppliers.iter().take(clients).cloned() {
        let client = app.client.clone();
        let url = app.url("/graphql");
        let lot = lot_id.to_owned();
        let latencies = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0_usize;
            let mut errors = 0_usize;
            let mut mine = Vec::new();
            let mut bid_id: Option<String> = None;
            // A bid left from an earlier burst is revised rather than submitted again.
            let existing = client
                .post(&url)
                .bearer_auth(&supplier.access_token)
                .json(&json!({ "query": "query { tenders(first: 1) { edges { node { myBids { id } } } } }" }))
                .send()
                .await;
            if let Ok(response) = existing
                && let Ok(body) = response.json::<Value>().await
            {
                bid_id = body["data"]["tenders"]["edges"][0]["node"]["myBids"][0]["id"].as_str().map(str::to_owned);
            }
            let mut price = 4000_i64;
            while Instant::now() < until {
                price = if price <= 3000 { 4000 } else { price - 1 };
                let offer = json!({ "unitPrice": price.to_string(), "quantity": "1000", "leadTimeDays": 3, "validityDays": 30 });
                let request = match &bid_id {
                    None => json!({ "query": SUBMIT, "variables": { "i": { "lotId": lot, "offer": offer } } }),
                    Some(id) => json!({ "query": REVISE, "variables": { "i": { "bidId": id, "offer": offer } } }),
                };
                let sent = Instant::now();
                let response = client.post(&url).bearer_auth(&supplier.access_token).json(&request).send().await;
                let body = match response {
                    Ok(response) => response.json::<Value>().await.ok(),
                    Err(_) => None,
                };
                mine.push(sent.elapsed());
                // GraphQL errors travel with HTTP 200: the body decides.
                let receipt = body.as_ref().and_then(|b| {
                    let data = &b["data"];
                    if data["submitBid"]["bidId"].is_string() { Some(data["submitBid"].clone()) } else if data["reviseBid"]["bidId"].is_string() { Some(data["reviseBid"].clone()) } else { None }
                });
                match receipt {
                    Some(receipt) if receipt["commitmentHash"].as_str().is_some_and(|h| h.len() == 64) => {
                        accepted += 1;
                        bid_id = receipt["bidId"].as_str().map(str::to_owned);
                    }
                    _ => {
                        if errors == 0 {
                            eprintln!("first refused request: {}", body.map(|b| b.to_string()).unwrap_or_default());
                        }
                        errors += 1;
                    }
                }
            }
            latencies.lock().await.extend(mine);
            (accepted, errors)
        }));
    }
    let mut accepted = 0;
    let mut errors = 0;
    for task in tasks {
        if let Ok((a, e)) = task.await {
            accepted += a;
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    let mut latencies = std::mem::take(&mut *latencies.lock().await);
    latencies.sort_unstable();
    Burst { clients, accepted, errors, elapsed, latencies }
}

/// The ceiling beside the burst: the same number of clients sending the smallest GraphQL request there is
/// (`{ __typename }`, no token, no database), as fast as the server answers. No bid can be accepted faster than this
/// on this machine, whatever the database does.
async fn empty_request_rate(app: &TestApp, clients: usize, seconds: u64) -> f64 {
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = app.client.clone();
        let url = app.url("/graphql");
        tasks.push(tokio::spawn(async move {
            let request = json!({ "query": "{ __typename }" });
            let mut answered = 0_usize;
            while Instant::now() < until {
                let response = client.post(&url).json(&request).send().await;
                if let Ok(response) = response
                    && let Ok(body) = response.json::<Value>().await
                    && body["data"]["__typename"] == "Query"
                {
                    answered += 1;
                }
            }
            answered
        }));
    }
    let mut answered = 0;
    for task in tasks {
        answered += task.await.unwrap_or(0);
    }
    answered as f64 / started.elapsed().as_secs_f64()
}

/// Authenticated reads beside the empty request: `clients` clients, each with its own supplier's session, sending
/// `query` as fast as the server answers; a read counts only when its body has data at `answered` and no error.
async fn authenticated_read_rate(
    app: &TestApp,
    suppliers: &[Login],
    query: &Value,
    answered: &'static str,
    clients: usize,
    seconds: u64,
) -> f64 {
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for supplier in suppliers.iter().take(clients).cloned() {
        let client = app.client.clone();
        let url = app.url("/graphql");
        let request = query.clone();
        tasks.push(tokio::spawn(async move {
            let mut count = 0_usize;
            while Instant::now() < until {
                let response = client.post(&url).bearer_auth(&supplier.access_token).json(&request).send().await;
                if let Ok(response) = response
                    && let Ok(body) = response.json::<Value>().await
                    && body["errors"].is_null()
                    && !body["data"][answered].is_null()
                {
                    count += 1;
                }
            }
            count
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or(0);
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// The raw database's rate for a durable single-row insert transaction.
fn raw_insert_rate(database_url: &str, clients: usize, seconds: u64) -> anyhow::Result<f64> {
    if let Some(path) = database_url.strip_prefix("sqlite://").map(|rest| rest.split('?').next().unwrap_or(rest)) {
        // SQLite serialises writers, so one connection is its ceiling: the same PRAGMAs as the server, one
        // autocommitted (durable) INSERT per transaction.
        let raw = format!("{path}.raw");
        let _ = std::fs::remove_file(&raw);
        let rows = 2_000 * seconds.max(1);
        let mut script = String::from(
            "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nPRAGMA busy_timeout=10000;\nCREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);\n",
        );
        for i in 0..rows {
            script.push_str(&format!("INSERT INTO t (v) VALUES ({i});\n"));
        }
        let started = Instant::now();
        let output = Command::new("sqlite3")
            .arg(&raw)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                if let Some(stdin) = child.stdin.as_mut() {
                    stdin.write_all(script.as_bytes())?;
                }
                child.wait()
            })
            .context("running sqlite3 (apt-get install sqlite3)")?;
        let elapsed = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&raw);
        if !output.success() {
            bail!("sqlite3 failed");
        }
        return Ok(rows as f64 / elapsed);
    }
    // PostgreSQL: pgbench with a one-line insert script, `clients` connections, same server settings.
    let (base, database) = database_url.rsplit_once('/').context("database URL")?;
    let setup = Command::new("psql")
        .arg(format!("{base}/{database}"))
        .args(["-qc", "CREATE TABLE IF NOT EXISTS raw_insert (id bigserial PRIMARY KEY, v bigint NOT NULL)"])
        .status()
        .context("running psql")?;
    if !setup.success() {
        bail!("psql could not create the raw table");
    }
    let script = std::env::temp_dir().join("lumbung-raw-insert.sql");
    std::fs::write(&script, "INSERT INTO raw_insert (v) VALUES (1);\n")?;
    // The server allows 100 connections (and the API's own pool holds 20 of them): pgbench gets at most 64.
    let connections = clients.min(64);
    let output = Command::new("pgbench")
        .args(["-n", "-c", &connections.to_string(), "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(format!("{base}/{database}"))
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|tps| tps.parse::<f64>().ok())
        .with_context(|| format!("pgbench printed no tps: {text} {}", String::from_utf8_lossy(&output.stderr)))
}

#[derive(Clone)]
struct PlainState {
    services: Services,
}

/// The plain handler: the same authentication and the same database read as `tender(id)`, as JSON without GraphQL.
async fn plain_tender(
    State(state): State<PlainState>,
    headers: axum::http::HeaderMap,
    axum::extract::Path(id): axum::extract::Path<uuid::Uuid>,
) -> Json<Value> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let actor: Actor = match state.services.identity.actor_for_access_token(token).await {
        Ok(actor) => actor,
        Err(error) => return Json(json!({ "error": error.code() })),
    };
    match state.services.tendering.tender(&actor, id).await {
        Ok(Some(row)) => Json(
            json!({ "id": row.id, "title": row.title, "status": row.stored_status.as_str(), "deadline": row.deadline_at }),
        ),
        Ok(None) => Json(json!({ "error": "NOT_FOUND" })),
        Err(error) => Json(json!({ "error": error.code() })),
    }
}

async fn timed_reads(
    client: &reqwest::Client,
    reads: usize,
    send: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    for _ in 0..reads {
        let body: Value = send(client).send().await?.json().await?;
        if body.get("errors").is_some_and(|e| !e.is_null()) || body.get("error").is_some() {
            bail!("read failed: {body}");
        }
    }
    Ok(reads as f64 / started.elapsed().as_secs_f64())
}

trait Now {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl Now for TestApp {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use domain::clock::Clock;
        self.clock.now()
    }
}

/// Stores a national-scale lot directly (bulk inserts), then times closing it through the service: evaluation of
/// every bid and allocation to every demand line, persisted in one transaction.
async fn national(app: &TestApp, cooperatives: usize, bids: usize) -> anyhow::Result<()> {
    use infra::entities::{bid, commodity, delivery_point, demand_line, demand_pool, lot, organisation, tender};
    use sea_orm::{EntityTrait, Set};
    use uuid::Uuid;

    let db = &app.services.db;
    let now = app.clock_now();
    let commodity_id = Uuid::now_v7();
    commodity::Entity::insert(commodity::ActiveModel {
        id: Set(commodity_id),
        code: Set("UREA-NAS".into()),
        name_id: Set("Urea".into()),
        name_en: Set("Urea".into()),
        unit: Set("KG".into()),
        category: Set("FERTILISER".into()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(db)
    .await?;
    let organisation_row = |id: Uuid, kind: &str, name: String| organisation::ActiveModel {
        id: Set(id),
        kind: Set(kind.into()),
        name: Set(name),
        status: Set("VERIFIED".into()),
        status_reason: Set(None),
        registration_number: Set(None),
        kelurahan: Set(Some("Kelurahan".into())),
        kecamatan: Set(Some("Kecamatan".into())),
        city: Set(Some("Kota".into())),
        province: Set(None),
        is_state_owned: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        reviewed_at: Set(None),
        reviewed_by: Set(None),
    };
    let pool_id = Uuid::now_v7();
    demand_pool::Entity::insert(demand_pool::ActiveModel {
        id: Set(pool_id),
        commodity_id: Set(commodity_id),
        province: Set(None),
        city: Set("Kota".into()),
        kecamatans: Set("[]".into()),
        season: Set(None),
        delivery_first_day: Set((now + ChronoDuration::days(10)).date_naive()),
        delivery_last_day: Set((now + ChronoDuration::days(40)).date_naive()),
        cutoff_at: Set(now - ChronoDuration::days(3)),
        status: Set("TENDERED".into()),
        cancel_reason: Set(None),
        created_by: Set(Uuid::nil()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(db)
    .await?;
    let started = Instant::now();
    let mut total = 0_i64;
    let ids: Vec<Uuid> = (0..cooperatives).map(|_| Uuid::now_v7()).collect();
    for chunk in ids.chunks(1_000) {
        organisation::Entity::insert_many(
            chunk.iter().map(|id| organisation_row(*id, "COOPERATIVE", format!("KMP {id}"))),
        )
        .exec_without_returning(db)
        .await?;
        let points: Vec<_> = chunk
            .iter()
            .map(|id| delivery_point::ActiveModel {
                id: Set(*id),
                organisation_id: Set(*id),
                name: Set("Gerai".into()),
                address: Set("Jalan".into()),
                kelurahan: Set("Kelurahan".into()),
                kecamatan: Set("Kecamatan".into()),
                city: Set("Kota".into()),
                created_at: Set(now),
            })
            .collect();
        delivery_point::Entity::insert_many(points).exec_without_returning(db).await?;
        let lines: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let quantity = 500 + (i as i64 * 7919) % 20_000;
                total += quantity;
                demand_line::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    pool_id: Set(pool_id),
                    cooperative_id: Set(*id),
                    delivery_point_id: Set(*id),
                    quantity_e4: Set(quantity * 10_000),
                    wanted_date: Set((now + ChronoDuration::days(12)).date_naive()),
                    created_by: Set(Uuid::nil()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
            })
            .collect();
        demand_line::Entity::insert_many(lines).exec_without_returning(db).await?;
    }
    let tender_id = Uuid::now_v7();
    tender::Entity::insert(tender::ActiveModel {
        id: Set(tender_id),
        pool_id: Set(pool_id),
        commodity_id: Set(commodity_id),
        title: Set("National lot".into()),
        status: Set("OPEN".into()),
        criterion: Set("LOWEST_PRICE".into()),
        price_weight: Set(100),
        lead_time_weight: Set(0),
        partial_bids_allowed: Set(true),
        min_partial_quantity_e4: Set(None),
        min_responsive_bids: Set(2),
        acceptance_days: Set(2),
        bidding_start_at: Set(now - ChronoDuration::days(2)),
        deadline_at: Set(now - ChronoDuration::seconds(1)),
        cancel_reason: Set(None),
        created_by: Set(Uuid::nil()),
        created_at: Set(now),
        updated_at: Set(now),
        published_at: Set(Some(now - ChronoDuration::days(2))),
        closed_at: Set(None),
        awarded_at: Set(None),
    })
    .exec(db)
    .await?;
    let lot_id = Uuid::now_v7();
    lot::Entity::insert(lot::ActiveModel {
        id: Set(lot_id),
        tender_id: Set(tender_id),
        number: Set(1),
        kecamatan: Set(None),
        quantity_e4: Set(total * 10_000),
        max_unit_price_e4: Set(1_750 * 10_000),
        outcome: Set("PENDING".into()),
        awarded_quantity_e4: Set(None),
        total_cost_e4: Set(None),
    })
    .exec(db)
    .await?;
    let suppliers: Vec<Uuid> = (0..bids).map(|_| Uuid::now_v7()).collect();
    for (chunk_index, chunk) in suppliers.chunks(500).enumerate() {
        organisation::Entity::insert_many(
            chunk.iter().map(|id| organisation_row(*id, "SUPPLIER", format!("Pemasok {id}"))),
        )
        .exec_without_returning(db)
        .await?;
        let rows: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let n = (chunk_index * 500 + i) as i64;
                bid::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tender_id: Set(tender_id),
                    lot_id: Set(lot_id),
                    supplier_id: Set(*id),
                    status: Set("ACTIVE".into()),
                    version: Set(1),
                    unit_price_e4: Set((1_500 + (n * 37) % 300) * 10_000),
                    quantity_e4: Set((50_000 + (n * 104_729) % 2_000_000) * 10_000),
                    lead_time_days: Set((n % 14) as i32),
                    validity_days: Set(30),
                    received_at: Set(now - ChronoDuration::seconds(n)),
                    commitment_hash: Set("0".repeat(64)),
                    nonce: Set("n".into()),
                    rank: Set(None),
                    awarded_quantity_e4: Set(None),
                    rejection: Set(None),
                    created_at: Set(now),
                }
            })
            .collect();
        bid::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    let stored = started.elapsed();
    let closing = Instant::now();
    let closed = app.services.tendering.close(tender_id).await?;
    let elapsed = closing.elapsed();
    anyhow::ensure!(closed, "the tender was not closed");
    let backend = if app.database.is_postgres() { "PostgreSQL" } else { "SQLite" };
    println!(
        "| {backend} | {cooperatives} | {bids} | {:.2} s | {:.2} s |",
        stored.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

const PRICE_COMMODITIES: usize = 10;
const PRICE_AREAS: usize = 500;
const PRICE_DAYS: i64 = 730;

/// A deterministic spread of prices: each commodity around its base, drifting by day and area, with noise.
fn synthetic_price(commodity: usize, area: usize, day: i64, n: usize) -> i64 {
    let base = 2_000 + 1_500 * commodity as i64;
    let drift = (day % 90) * base / 3_000;
    let area_offset = (area as i64 % 17) * base / 400;
    let noise = ((n as i64).wrapping_mul(2_654_435_761) % 97) * base / 2_000;
    (base + drift + area_offset + noise) * 10_000
}

/// Stores `count` observations in bulk and builds their rollups (what the write path maintains one transaction at a
/// time), then times indicator queries through the service against the same answers computed from the observations.
async fn price_history(app: &TestApp, count: usize) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    use uuid::Uuid;

    let db = &app.services.db;
    let backend = if app.database.is_postgres() { "PostgreSQL" } else { "SQLite" };
    let (_, agency) = app.bootstrap().await;
    let actor = app.services.identity.actor_for_access_token(&agency.access_token).await?;
    let mut commodity_ids = Vec::new();
    for index in 0..PRICE_COMMODITIES {
        let code = format!("BENCH-{index:02}");
        app.gql(
            Some(&agency.access_token),
            "mutation($c: String!) { createCommodity(input: { code: $c, nameId: $c, nameEn: $c, unit: KG, category: STAPLE }) { id } }",
            json!({ "c": code }),
        )
        .await
        .data();
        let id: Uuid = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT id FROM commodity WHERE code = '{code}'"),
            ))
            .await?
            .context("commodity")?
            .try_get("", "id")?;
        commodity_ids.push(id);
    }
    let today = app.clock_now().date_naive();
    let first_day = today - ChronoDuration::days(PRICE_DAYS - 1);
    eprintln!("storing {count} observations on {backend} …");
    let started = Instant::now();
    // Literals as each backend stores them: SQLite keeps UUIDs as 16-byte blobs.
    let uuid_literal = |id: Uuid| {
        if app.database.is_postgres() { format!("'{id}'") } else { format!("X'{}'", id.simple()) }
    };
    let mut n = 0;
    while n < count {
        let txn = db.begin().await?;
        let batch_end = (n + 100_000).min(count);
        while n < batch_end {
            let statement_end = (n + 1_000).min(batch_end);
            let mut sql = String::from(
                "INSERT INTO price_observation (id, commodity_id, source, city, kecamatan, kelurahan, observed_at, \
                 observed_on, unit_price_e4, quantity_e4, ceiling_e4, above_ceiling, tender_id, order_id, market_name, \
                 recorded_by) VALUES ",
            );
            for i in n..statement_end {
                let commodity = i % PRICE_COMMODITIES;
                let area = (i / PRICE_COMMODITIES) % PRICE_AREAS;
                let day = ((i / (PRICE_COMMODITIES * PRICE_AREAS)) as i64 * 7919) % PRICE_DAYS;
                let date = first_day + ChronoDuration::days(day);
                let price = synthetic_price(commodity, area, day, i);
                let quantity = (100 + (i % 50) * 20) as i64 * 10_000;
                let source = if i % 5 == 4 { "SURVEY" } else { "AWARD" };
                if i > n {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({}, {}, '{source}', 'Kota {}', 'Kecamatan {area:03}', NULL, '{date}T05:00:00+00:00', '{date}', {price}, {quantity}, NULL, {}, NULL, NULL, NULL, NULL)",
                    uuid_literal(Uuid::now_v7()),
                    uuid_literal(commodity_ids[commodity]),
                    area / 10,
                    if app.database.is_postgres() { "false" } else { "0" },
                ));
            }
            txn.execute_unprepared(&sql).await?;
            n = statement_end;
        }
        txn.commit().await?;
        eprintln!("  {n} stored ({:.0} s)", started.elapsed().as_secs_f64());
    }
    let stored = started.elapsed();
    let started = Instant::now();
    db.execute_unprepared(
        "INSERT INTO price_rollup (commodity_id, source, day, city, kecamatan, observations, sum_price_e4, \
         sum_price_squared, min_price_e4, max_price_e4, sum_quantity_e4, sum_amount_e4, above_ceiling) \
         SELECT commodity_id, source, observed_on, city, kecamatan, COUNT(*), SUM(unit_price_e4), \
         SUM((unit_price_e4 / 10000.0) * (unit_price_e4 / 10000.0)), MIN(unit_price_e4), MAX(unit_price_e4), \
         SUM(quantity_e4), SUM(unit_price_e4 * (quantity_e4 / 10000)), 0 \
         FROM price_observation GROUP BY commodity_id, source, observed_on, city, kecamatan",
    )
    .await?;
    db.execute_unprepared(
        "INSERT INTO price_rollup (commodity_id, source, day, city, kecamatan, observations, sum_price_e4, \
         sum_price_squared, min_price_e4, max_price_e4, sum_quantity_e4, sum_amount_e4, above_ceiling) \
         SELECT commodity_id, source, day, '*', '*', SUM(observations), SUM(sum_price_e4), SUM(sum_price_squared), \
         MIN(min_price_e4), MAX(max_price_e4), SUM(sum_quantity_e4), SUM(sum_amount_e4), SUM(above_ceiling) \
         FROM price_rollup GROUP BY commodity_id, source, day",
    )
    .await?;
    let rolled = started.elapsed();
    if app.database.is_postgres() {
        db.execute_unprepared("ANALYZE").await?;
    }
    println!("## Price indicators over {count} observations on {backend}\n");
    println!("Stored in bulk in {:.0} s; rollups built in {:.0} s.\n", stored.as_secs_f64(), rolled.as_secs_f64());
    println!("| query | rows in answer | from rollups | with medians | scanning the observations | scan ÷ rollups |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let code = "BENCH-03".to_owned();
    let month_start = infra::prices::Period::Month.start_of(today);
    let queries = [
        ("12 months, monthly, all areas", infra::prices::Period::Month, today - ChronoDuration::days(364), None, false),
        (
            "12 months, weekly, one kecamatan",
            infra::prices::Period::Week,
            today - ChronoDuration::days(364),
            Some("Kecamatan 042"),
            false,
        ),
        ("this month, by kecamatan", infra::prices::Period::Month, month_start, None, true),
        (
            "30 days, daily, one kecamatan",
            infra::prices::Period::Day,
            today - ChronoDuration::days(29),
            Some("Kecamatan 042"),
            false,
        ),
    ];
    for (name, period, from, kecamatan, by_area) in queries {
        let query = |with_median| infra::prices::IndicatorQuery {
            commodity_code: code.clone(),
            source: infra::prices::SOURCE_AWARD,
            period,
            from,
            to: today,
            kecamatan: kecamatan.map(str::to_owned),
            city: None,
            by_area,
            with_median,
        };
        let mut rollup_times = Vec::new();
        let mut median_times = Vec::new();
        let mut rows = 0;
        for _ in 0..5 {
            let started = Instant::now();
            rows = app.services.prices.indicators(&actor, &query(false)).await?.len();
            rollup_times.push(started.elapsed());
            let started = Instant::now();
            app.services.prices.indicators(&actor, &query(true)).await?;
            median_times.push(started.elapsed());
        }
        // The same counts, sums and extremes straight from the observations, as a query without rollups would.
        let kecamatan_filter = kecamatan.map(|k| format!(" AND kecamatan = '{k}'")).unwrap_or_default();
        let group = if by_area { ", kecamatan" } else { "" };
        let scan_sql = format!(
            "SELECT observed_on{group}, COUNT(*), SUM(unit_price_e4), MIN(unit_price_e4), MAX(unit_price_e4), SUM(quantity_e4) \
             FROM price_observation WHERE commodity_id = {} AND source = 'AWARD' AND observed_on BETWEEN '{from}' AND '{today}'{kecamatan_filter} \
             GROUP BY observed_on{group}",
            uuid_literal(commodity_ids[3])
        );
        let mut scan_times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), scan_sql.clone())).await?;
            scan_times.push(started.elapsed());
        }
        for times in [&mut rollup_times, &mut median_times, &mut scan_times] {
            times.sort_unstable();
        }
        let (rollup, median, scan) = (rollup_times[2], median_times[2], scan_times[2]);
        println!(
            "| {name} | {rows} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} |",
            rollup.as_secs_f64() * 1000.0,
            median.as_secs_f64() * 1000.0,
            scan.as_secs_f64() * 1000.0,
            scan.as_secs_f64() / rollup.as_secs_f64()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(count) = args.prices {
        let app = spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000"), ("LUMBUNG_MAIL_WORKER", "false")]).await;
        price_history(&app, count).await?;
        app.stop().await;
        return Ok(());
    }
    if let Some(cooperatives) = args.national {
        let app = spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000")]).await;
        println!("| backend | demand lines | bids | storing them (bulk) | closing: evaluate, allocate, persist |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        national(&app, cooperatives, args.bids).await?;
        app.stop().await;
        return Ok(());
    }
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    // The closer stays out of the way; access tokens outlive the run.
    let app =
        spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000"), ("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "86400")])
            .await;
    let backend = if app.database.is_postgres() { "PostgreSQL" } else { "SQLite" };
    eprintln!("preparing {backend}: one open tender and {max_clients} verified suppliers …");
    let (tender_id, lot_id, suppliers, agency) = prepare(&app, max_clients).await?;

    reset_peak_rss();
    let resident_before = memory_mib("VmRSS:");
    println!("## Bid burst on {backend} ({} s per run)\n", args.seconds);
    println!(
        "| clients | accepted bids/s | p50 | p95 | p99 | errors | raw insert tx/s | API ÷ raw | empty requests/s | empty ÷ raw |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for clients in &args.clients {
        let result = burst(&app, &lot_id, &suppliers, *clients, args.seconds).await;
        let rate = result.accepted as f64 / result.elapsed.as_secs_f64();
        let raw = raw_insert_rate(&app.database.url, *clients, args.seconds)?;
        let empty = empty_request_rate(&app, *clients, args.seconds).await;
        println!(
            "| {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {} | {:.0} | {:.2} | {:.0} | {:.2} |",
            result.clients,
            rate,
            percentile(&result.latencies, 0.50).as_secs_f64() * 1000.0,
            percentile(&result.latencies, 0.95).as_secs_f64() * 1000.0,
            percentile(&result.latencies, 0.99).as_secs_f64() * 1000.0,
            result.errors,
            raw,
            rate / raw,
            empty,
            empty / raw
        );
    }
    // Authenticated reads against the empty request, same clients and sessions: what authenticating costs.
    println!("## Authenticated reads on {backend} beside the empty request ({} s per run)\n", args.seconds);
    println!("| clients | empty requests/s | `me` reads/s | `me` ÷ empty | `tender(id)` reads/s | `tender` ÷ empty |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let me = json!({ "query": "query { me { role user { id email } } }" });
    let tender = json!({ "query": "query($id: ID!) { tender(id: $id) { id title status deadline } }", "variables": { "id": tender_id } });
    for clients in &args.clients {
        let empty = empty_request_rate(&app, *clients, args.seconds).await;
        let me_rate = authenticated_read_rate(&app, &suppliers, &me, "me", *clients, args.seconds).await;
        let tender_rate = authenticated_read_rate(&app, &suppliers, &tender, "tender", *clients, args.seconds).await;
        println!(
            "| {clients} | {empty:.0} | {me_rate:.0} | {:.2} | {tender_rate:.0} | {:.2} |",
            me_rate / empty,
            tender_rate / empty
        );
    }
    println!();

    // What the process holds before the bursts is mostly heap the allocator kept from preparing them (an Argon2
    // hash of 19 MiB per supplier registered and logged in); the growth is what the bursts themselves need.
    let peak = peak_rss_mib();
    println!(
        "\nResident memory of the process (server and clients together): {resident_before:.0} MiB before the bursts, \
         peak {peak:.0} MiB during them (+{:.0} MiB)\n",
        peak - resident_before
    );

    // GraphQL versus a plain axum handler: the same authenticated read of one tender, one request at a time.
    let plain = Router::new()
        .route("/tender/{id}", get(plain_tender))
        .with_state(PlainState { services: app.services.clone() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let plain_address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, plain).await;
    });
    let token = agency.access_token.clone();
    let graphql_url = app.url("/graphql");
    let query = json!({ "query": "query($id: ID!) { tender(id: $id) { id title status deadline } }", "variables": { "id": tender_id } });
    let graphql_rate =
        timed_reads(&app.client, args.reads, |c| c.post(&graphql_url).bearer_auth(&token).json(&query)).await?;
    let plain_url = format!("http://{plain_address}/tender/{tender_id}");
    let plain_rate = timed_reads(&app.client, args.reads, |c| c.get(&plain_url).bearer_auth(&token)).await?;
    println!("## One authenticated read on {backend}: GraphQL against a plain axum handler\n");
    println!("| path | reads/s |\n| --- | ---: |");
    println!("| GraphQL `tender(id)` | {graphql_rate:.0} |\n| plain JSON handler | {plain_rate:.0} |");
    println!("\nGraphQL ÷ plain: {:.2}", graphql_rate / plain_rate);
    app.stop().await;
    Ok(())
}
