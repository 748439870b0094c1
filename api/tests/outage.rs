//! PostgreSQL goes away under load and comes back: requests fail fast with `SERVICE_UNAVAILABLE`, readiness reports
//! the outage, and the server recovers by itself. It runs its own PostgreSQL instance (the shared one serves the other
//! tests), so it needs PostgreSQL's server binaries; it runs with the PostgreSQL suite (`TEST_DATABASE_URL` set).

// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

const PASSWORD: &str = "kata-sandi-yang-kuat-1";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

fn postgres_binary(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries under /usr/lib/postgresql")
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin").join(name)))
        .filter(|path| path.exists())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| panic!("{name} not found under /usr/lib/postgresql"))
}

/// Runs a PostgreSQL tool as the `postgres` user when we are root (the server refuses to run as root).
fn as_postgres(program: &Path, args: &[String]) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let status = if root {
        let line =
            std::iter::once(program.display().to_string()).chain(args.iter().cloned()).collect::<Vec<_>>().join(" ");
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", &line])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    } else {
        Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status()
    };
    status.map(|s| s.success()).unwrap_or(false)
}

struct PrivatePostgres {
    directory: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn create() -> Self {
        let directory = std::env::temp_dir().join(format!("lumbung-outage-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&directory).unwrap();
        let _ = Command::new("chown").args(["postgres:postgres", &directory.display().to_string()]).status();
        let data = directory.join("data").display().to_string();
        assert!(
            as_postgres(
                &postgres_binary("initdb"),
                &["-D".into(), data, "-A".into(), "trust".into(), "-U".into(), "postgres".into(), "--no-sync".into()]
            ),
            "initdb"
        );
        let instance = Self { directory, port: free_port() };
        instance.start();
        instance
    }

    fn pg_ctl(&self, args: &[&str]) -> bool {
        let mut all = vec!["-D".to_owned(), self.directory.join("data").display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        as_postgres(&postgres_binary("pg_ctl"), &all)
    }

    fn start(&self) {
        let options =
            format!("'-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off'", self.port, self.directory.display());
        let log = self.directory.join("log").display().to_string();
        assert!(self.pg_ctl(&["-o", &options, "-l", &log, "-w", "start"]), "pg_ctl start");
    }

    fn stop(&self) {
        assert!(self.pg_ctl(&["-m", "immediate", "-w", "stop"]), "pg_ctl stop");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lumbung(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lumbung"));
    command
        .env("DATABASE_URL", database_url)
        // These tests run tenders of a few seconds.
        .env("LUMBUNG_MIN_BIDDING_SECONDS", "1")
        .env("JWT_SECRET", "outage-test-secret-outage-test-secret-0123456789")
        .env("RUST_LOG", "error")
        .env("LUMBUNG_MAIL_WORKER", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

async fn ready(client: &reqwest::Client, port: u16) -> Option<u16> {
    client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.ok().map(|r| r.status().as_u16())
}

async fn me(client: &reqwest::Client, port: u16, token: &str) -> Value {
    client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(token)
        // The organisation is read from the database; who is calling may come from this node's session cache.
        .json(&json!({ "query": "{ me { role organisation { name } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

// Runs once, with the PostgreSQL suite; the SQLite run has no PostgreSQL to lose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs TEST_DATABASE_URL"]
async fn the_server_reports_a_database_outage_and_recovers_by_itself() {
    assert!(
        std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()),
        "a database outage needs PostgreSQL's server binaries: set TEST_DATABASE_URL"
    );
    let postgres = PrivatePostgres::create();
    let created = lumbung(&postgres.url())
        .args(["create-admin", "--email", "admin@outage.test", "--name", "Admin"])
        .env("LUMBUNG_ADMIN_PASSWORD", PASSWORD)
        .status()
        .unwrap();
    assert!(created.success());
    let port = free_port();
    let _server =
        Server(lumbung(&postgres.url()).args(["serve", "--bind", &format!("127.0.0.1:{port}")]).spawn().unwrap());
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let started = Instant::now();
    while ready(&client, port).await != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(30), "the server never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login: Value = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": "mutation($p: String!) { login(email: \"admin@outage.test\", password: $p) { accessToken } }", "variables": { "p": PASSWORD } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(me(&client, port, &token).await["data"]["me"]["role"], "PLATFORM_ADMIN");

    postgres.stop();
    // While it is down: a clear, coded failure, quickly, and readiness says so.
    let asked = Instant::now();
    let during = me(&client, port, &token).await;
    assert!(asked.elapsed() < Duration::from_secs(15), "a request during the outage took {:?}", asked.elapsed());
    assert_eq!(during["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{during}");
    assert!(!during.to_string().contains("127.0.0.1"), "no connection detail leaks: {during}");
    assert_eq!(ready(&client, port).await, Some(503));

    postgres.start();
    let restarted = Instant::now();
    loop {
        let answer = me(&client, port, &token).await;
        if answer["data"]["me"]["role"] == "PLATFORM_ADMIN" && answer["errors"].is_null() {
            break;
        }
        assert!(restarted.elapsed() < Duration::from_secs(30), "no recovery: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ready(&client, port).await, Some(200));
}
