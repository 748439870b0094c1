//! The command line as an operator meets it: a production server never seeds the demo's public passwords.

// Test code: a failed step should stop the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::Read,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

#[test]
fn the_demo_is_refused_in_production() {
    let database = std::env::temp_dir().join(format!("lumbung-cli-{}.db", std::process::id()));
    let mut server = Command::new(env!("CARGO_BIN_EXE_lumbung"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .env("LUMBUNG_ENV", "production")
        .env("JWT_SECRET", "cli-test-secret-cli-test-secret-0123456789")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", database.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A server that started would run until stopped: give it a bounded time to refuse.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(20) {
            server.kill().unwrap();
            server.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut said = String::new();
    server.stderr.take().unwrap().read_to_string(&mut said).unwrap();
    let _ = std::fs::remove_file(&database);
    let status = status.expect("a production server with --demo must not start");
    assert!(!status.success(), "{said}");
    assert!(said.contains("--demo") && said.contains("production"), "{said}");
}
