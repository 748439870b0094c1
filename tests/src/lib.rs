//! Test harness: starts the real server on a random port with a fresh database (SQLite by default, PostgreSQL when
//! `TEST_DATABASE_URL` is set) and speaks GraphQL over HTTP as a client would.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use infra::{clock::ManualClock, config::Settings, services::Services};
use lumbung_api::startup::Application;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

pub mod smtp;
pub mod subscriber;

/// The secret every test server signs with, so tests can forge tokens with it and without it.
pub const TEST_JWT_SECRET: &str = "test-secret-for-lumbung-end-to-end-tests-0123456789";
pub const PASSWORD: &str = "kata-sandi-yang-kuat-1";

/// The instant test servers start at: 25 November 2026, 09:00 WIB.
pub fn start_instant() -> DateTime<Utc> {
    "2026-11-25T02:00:00Z".parse().unwrap_or_default()
}

/// A database made for one test and removed after it.
pub struct TestDatabase {
    pub url: String,
    /// Where the servers on this database write e-mail when no SMTP server is configured.
    pub outbox_dir: std::path::PathBuf,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()) {
            Some(admin_url) => {
                let name = format!("lumbung_test_{}", Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| panic!("connect {admin_url}: {e}"));
                admin
                    .execute_raw(Statement::from_string(
                        admin.get_database_backend(),
                        format!("CREATE DATABASE {name}"),
                    ))
                    .await
                    .unwrap_or_else(|e| panic!("create database {name}: {e}"));
                let _ = admin.close().await;
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
                Self {
                    url: format!("{base}/{name}"),
                    outbox_dir: outbox_dir(),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            None => {
                let path = std::env::temp_dir().join(format!("lumbung-test-{}.db", Uuid::new_v4().simple()));
                Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    outbox_dir: outbox_dir(),
                    cleanup: Cleanup::SqliteFile(path),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Postgres { .. })
    }
}

fn outbox_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("lumbung-test-outbox-{}", Uuid::new_v4().simple()))
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.outbox_dir);
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime, which cannot block on itself: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = admin.execute_raw(Statement::from_string(admin.get_database_backend(), sql)).await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub services: Services,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub database: Arc<TestDatabase>,
    /// What the server was started with (for starting more of it, e.g. the demo's history).
    pub settings: Settings,
}

/// Extra environment for a test server, e.g. `("LUMBUNG_ENV", "production")`.
pub async fn spawn_app_with(environment: &[(&str, &str)]) -> TestApp {
    let database = Arc::new(TestDatabase::create().await);
    spawn_on(database, environment).await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server on an existing test database (a second node, or a restart).
pub async fn spawn_on(database: Arc<TestDatabase>, environment: &[(&str, &str)]) -> TestApp {
    let mut variables: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database.url.clone()),
        ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("LUMBUNG_OUTBOX_DIR".into(), database.outbox_dir.display().to_string()),
        ("LUMBUNG_MAIL_INTERVAL_MS".into(), "100".into()),
        // The season's tenders run 2 days 4 hours; the minimum period has tests of its own that set it.
        ("LUMBUNG_MIN_BIDDING_SECONDS".into(), "3600".into()),
        // Every test logs its users in from one address; the login limits have tests of their own.
        ("LUMBUNG_LOGIN_PER_CLIENT_PER_MINUTE".into(), "100000".into()),
        ("LUMBUNG_LOGIN_PER_SECOND".into(), "100000".into()),
    ];
    variables.extend(environment.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings =
        Settings::from_lookup(|name| variables.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .unwrap_or_else(|e| panic!("test settings: {e}"));
    let clock = ManualClock::starting_at(start_instant());
    let kept_settings = settings.clone();
    let application = Application::build(settings, "127.0.0.1:0", Arc::new(clock.clone()))
        .await
        .unwrap_or_else(|e| panic!("start the server: {e:?}"));
    let address = format!("http://{}", application.local_addr().unwrap_or_else(|e| panic!("{e}")));
    let services = application.services().clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = application
            .run_until(async move {
                let _ = stopped.await;
            })
            .await;
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        services,
        shutdown: Some(shutdown),
        task: Some(task),
        database,
        settings: kept_settings,
    }
}

/// A GraphQL response as the client sees it.
#[derive(Debug, Clone)]
pub struct Gql {
    pub status: u16,
    pub body: Value,
}

impl Gql {
    /// Whether the server answered with errors.
    pub fn refused(&self) -> bool {
        self.body.get("errors").is_some_and(|errors| !errors.is_null())
    }

    /// The data, failing the test if there were errors.
    pub fn data(&self) -> &Value {
        assert!(!self.refused(), "unexpected errors: {}", self.body);
        &self.body["data"]
    }

    /// The code of the first error, failing the test if there was none.
    pub fn error_code(&self) -> String {
        let code = &self.body["errors"][0]["extensions"]["code"];
        assert!(code.is_string(), "expected an error with a code, got: {}", self.body);
        code.as_str().unwrap_or_default().to_owned()
    }

    pub fn error_message(&self) -> String {
        self.body["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
    }

    /// Asserts the first error's code and returns the response for more checks.
    #[track_caller]
    pub fn expect_error(&self, code: &str) -> &Self {
        assert_eq!(self.error_code(), code, "response: {}", self.body);
        self
    }
}

/// A logged-in test user.
#[derive(Debug, Clone)]
pub struct Login {
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: String,
    pub organisation_id: String,
    pub email: String,
}

pub fn cooperative_input(name: &str, email: &str) -> Value {
    json!({
        "kind": "COOPERATIVE",
        "name": format!("Koperasi Kelurahan Merah Putih {name}"),
        "registrationNumber": format!("AHU-{name}"),
        "kelurahan": name,
        "kecamatan": "Kedungkandang",
        "city": "Kota Malang",
        "province": "Jawa Timur",
        "deliveryPoints": [{
            "name": format!("Gerai KMP {name}"),
            "address": format!("Jl. {name} No. 1, Kota Malang"),
            "kelurahan": name,
            "kecamatan": "Kedungkandang",
            "city": "Kota Malang"
        }],
        "firstUser": { "email": email, "name": format!("Pengurus {name}"), "password": PASSWORD }
    })
}

pub fn supplier_input(name: &str, email: &str, state_owned: bool) -> Value {
    json!({
        "kind": "SUPPLIER",
        "name": name,
        "city": "Kota Malang",
        "isStateOwned": state_owned,
        "categories": ["SUBSIDISED_FERTILISER"],
        "firstUser": { "email": email, "name": format!("Sales {name}"), "password": PASSWORD }
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a GraphQL request, with a bearer token when given.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request =
            self.client.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("POST /graphql: {e}"));
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or_else(|e| panic!("response is not JSON: {e}"));
        Gql { status, body }
    }

    pub async fn login(&self, email: &str, password: &str) -> Gql {
        self.gql(
            None,
            "mutation($email: String!, $password: String!) { login(email: $email, password: $password) {
                accessToken refreshToken accessTokenExpiresAt user { id organisationId email } } }",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Login {
        let response = self.login(email, password).await;
        let session = &response.data()["login"];
        Login {
            access_token: session["accessToken"].as_str().unwrap_or_default().into(),
            refresh_token: session["refreshToken"].as_str().unwrap_or_default().into(),
            user_id: session["user"]["id"].as_str().unwrap_or_default().into(),
            organisation_id: session["user"]["organisationId"].as_str().unwrap_or_default().into(),
            email: email.into(),
        }
    }

    /// A platform admin (made as `lumbung create-admin` does) and the agency it creates; both logged in.
    pub async fn bootstrap(&self) -> (Login, Login) {
        self.services
            .identity
            .create_platform_admin("admin@lumbung.test", "Admin", PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("create admin: {e}"));
        let admin = self.login_ok("admin@lumbung.test", PASSWORD).await;
        let agency = json!({
            "kind": "AGENCY",
            "name": "Diskopindag Kota Malang",
            "city": "Kota Malang",
            "firstUser": { "email": "analis@diskopindag.test", "name": "Analis", "password": PASSWORD }
        });
        self.gql(
            Some(&admin.access_token),
            "mutation($input: OrganisationInput!) { createOrganisation(input: $input) { organisation { id } } }",
            json!({ "input": agency }),
        )
        .await
        .data();
        let agency = self.login_ok("analis@diskopindag.test", PASSWORD).await;
        (admin, agency)
    }

    /// Registers an organisation; returns its id.
    pub async fn register(&self, input: Value) -> String {
        let response = self
            .gql(
                None,
                "mutation($input: OrganisationInput!) { registerOrganisation(input: $input) { organisation { id status } } }",
                json!({ "input": input }),
            )
            .await;
        response.data()["registerOrganisation"]["organisation"]["id"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn verify(&self, reviewer: &Login, organisation_id: &str) {
        self.gql(
            Some(&reviewer.access_token),
            "mutation($id: ID!) { verifyOrganisation(id: $id) { status } }",
            json!({ "id": organisation_id }),
        )
        .await
        .data();
    }

    /// Registers a cooperative, has the agency verify it and logs its first user in.
    pub async fn verified_cooperative(&self, agency: &Login, name: &str) -> Login {
        let email = format!("{}@kmp.test", name.to_lowercase());
        let id = self.register(cooperative_input(name, &email)).await;
        self.verify(agency, &id).await;
        self.login_ok(&email, PASSWORD).await
    }

    /// Registers a supplier, has the agency verify it and logs its first user in.
    pub async fn verified_supplier(&self, agency: &Login, name: &str, state_owned: bool) -> Login {
        let email = format!("{}@supplier.test", name.to_lowercase().replace(' ', "-"));
        let id = self.register(supplier_input(name, &email, state_owned)).await;
        self.verify(agency, &id).await;
        self.login_ok(&email, PASSWORD).await
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
