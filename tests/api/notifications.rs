//! E-mail: every party hears of what concerns them, over real SMTP, in Bahasa Indonesia first with times in WIB; no
//! message reveals a sealed bid; an SMTP outage loses and duplicates nothing.

use std::{collections::HashSet, time::Duration as StdDuration};

use chrono::Duration;
use lumbung_tests::{
    Login,
    smtp::{ReceivedMail, SmtpServer},
    spawn_app_with,
};
use serde_json::json;

use crate::tendering::{BIDDING_START, DEADLINE, at, pool_demand, season_with, wait_until_closed};

const WAIT: StdDuration = StdDuration::from_secs(15);

fn to<'a>(mails: &'a [ReceivedMail], who: &Login) -> Vec<&'a ReceivedMail> {
    mails.iter().filter(|m| m.envelope_to.contains(&who.email)).collect()
}

fn subjects(mails: &[&ReceivedMail]) -> Vec<String> {
    mails.iter().map(|m| m.header("Subject").unwrap_or_default()).collect()
}

fn with_subject<'a>(mails: &'a [ReceivedMail], prefix: &str) -> Vec<&'a ReceivedMail> {
    mails.iter().filter(|m| m.header("Subject").is_some_and(|s| s.starts_with(prefix))).collect()
}

#[tokio::test]
async fn a_tender_flow_mails_every_party_in_bahasa_first_without_revealing_sealed_bids() {
    let smtp = SmtpServer::start().await;
    let season = season_with(&[("SMTP_URL", &smtp.url())]).await;
    // Supplier D does not want invitations to new tenders; receipts about its own bids cannot be turned off.
    let off = season
        .gql(
            &season.supplier_d,
            "mutation { setNotificationPreference(kind: TENDER_PUBLISHED, enabled: false) { kind enabled optional } }",
            json!({}),
        )
        .await;
    let preferences = off.data()["setNotificationPreference"].as_array().unwrap().clone();
    assert!(preferences.contains(&json!({ "kind": "TENDER_PUBLISHED", "enabled": false, "optional": true })));
    season
        .gql(
            &season.supplier_d,
            "mutation { setNotificationPreference(kind: BID_RECEIVED, enabled: false) { kind } }",
            json!({}),
        )
        .await
        .expect_error("BAD_USER_INPUT");
    // The verification mails of the eight organisations, before the tender starts.
    let before = smtp.wait_for(8, WAIT).await.len();
    assert_eq!(before, 8);

    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    // Supplier C opens the tender but never bids: it will get the closing reminder.
    season
        .gql(&season.supplier_c, "query($id: ID!) { tender(id: $id) { title } }", json!({ "id": tender_id }))
        .await
        .data();
    season
        .gql(&season.supplier_a, "query($id: ID!) { tender(id: $id) { title } }", json!({ "id": tender_id }))
        .await
        .data();
    let receipt_a = season.bid(&season.supplier_a, &lot, "1620", "10000", 5, None).await.data()["submitBid"].clone();
    season.bid(&season.bumn, &lot, "1650", "24000", 7, None).await.data();
    season.bid(&season.supplier_b, &lot, "1690", "24000", 4, None).await.data();

    // Less than 24 hours before the deadline the reminder goes out, once.
    season.app.clock.set(at(DEADLINE) - Duration::hours(20));
    // Four invitations, three receipts and one reminder.
    smtp.wait_for(before + 4 + 3 + 1, WAIT).await;
    // Once the outbox has sent everything queued, a second reminder could only come from a second queuing.
    for _ in 0..400 {
        if outbox(&season.app, &season.admin).await.iter().all(|m| m["status"] == "SENT") {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    let everything_sealed = smtp.received();
    let sealed_period = &everything_sealed[before..];

    let published = with_subject(sealed_period, "Tender baru:");
    let invited: HashSet<&String> = published.iter().flat_map(|m| &m.envelope_to).collect();
    let expected: HashSet<&String> =
        [&season.supplier_a, &season.bumn, &season.supplier_b, &season.supplier_c].iter().map(|l| &l.email).collect();
    assert_eq!(invited, expected, "verified fertiliser suppliers that did not opt out are invited");
    let invitation = published[0];
    let body = invitation.body();
    assert!(body.contains("28-11-2026 12:00 WIB"), "the deadline is shown in WIB: {body}");
    let indonesian = body.find("telah dibuka").expect("Indonesian text");
    let english = body.find("is open").expect("English text");
    assert!(indonesian < english, "Bahasa Indonesia comes first");

    let receipts = to(sealed_period, &season.supplier_a);
    let receipt = receipts
        .iter()
        .find(|m| m.header("Subject").is_some_and(|s| s.starts_with("Tanda terima")))
        .unwrap_or_else(|| panic!("a receipt for supplier A among {:?}", subjects(&receipts)));
    assert!(receipt.body().contains(receipt_a["commitmentHash"].as_str().unwrap()));
    assert!(receipt.body().contains("26-11-2026 09:00 WIB"), "server time of receipt in WIB: {}", receipt.body());
    for who in [&season.bumn, &season.supplier_b] {
        assert_eq!(
            to(sealed_period, who).iter().filter(|m| m.header("Subject").unwrap().starts_with("Tanda terima")).count(),
            1
        );
    }
    let reminders = with_subject(sealed_period, "Tender ditutup dalam 24 jam");
    assert_eq!(reminders.len(), 1, "one reminder, to the supplier that looked but did not bid");
    assert_eq!(reminders[0].envelope_to, vec![season.supplier_c.email.clone()]);
    // Before the deadline no message holds any bid's price or quantity.
    for mail in sealed_period {
        for secret in ["Rp", "1.620", "1.650", "1.690", "24000", "24.000", "10000", "10.000"] {
            assert!(!mail.raw.contains(secret), "{secret} leaked in {:?}", mail.header("Subject"));
        }
    }

    // Platform admins see the outbox, but not who bid before the deadline.
    let admin = season.app.login_ok("admin@lumbung.test", lumbung_tests::PASSWORD).await;
    let receipts_in_outbox = || async {
        let response = season
            .app
            .gql(
                Some(&admin.access_token),
                "{ outboxMessages(first: 100) { edges { node { kind recipient subject } } } }",
                json!({}),
            )
            .await;
        response.data()["outboxMessages"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .filter(|n| n["kind"] == "BID_RECEIVED")
            .collect::<Vec<_>>()
    };
    let sealed = receipts_in_outbox().await;
    assert_eq!(sealed.len(), 3);
    assert!(sealed.iter().all(|n| n["recipient"] == "(sealed until the deadline)"), "{sealed:?}");

    season.app.clock.set(at(DEADLINE));
    wait_until_closed(&season, &tender_id).await;
    let opened = receipts_in_outbox().await;
    assert!(opened.iter().any(|n| n["recipient"] == season.supplier_a.email.as_str()), "{opened:?}");
    season
        .gql(&season.agency, "mutation($id: ID!) { confirmAward(id: $id) { status } }", json!({ "id": tender_id }))
        .await
        .data();
    let seen = everything_sealed.len();
    // Three bidders' results, three cooperatives' award notices, and two parties for each of the orders.
    let orders = season.gql(&season.agency, "{ purchaseOrders(first: 50) { edges { node { id } } } }", json!({})).await;
    let order_count = orders.data()["purchaseOrders"]["edges"].as_array().unwrap().len();
    let after_award = smtp.wait_for(seen + 3 + 3 + 2 * order_count, WAIT).await;
    let after_award = &after_award[seen..];
    let won = to(after_award, &season.supplier_a)
        .into_iter()
        .find(|m| m.header("Subject").unwrap().starts_with("Penawaran Anda menang"))
        .expect("supplier A hears it won");
    assert!(won.body().contains("10000 kg dengan harga Rp1.620 per kg"), "{}", won.body());
    let lost = to(after_award, &season.supplier_b)
        .into_iter()
        .find(|m| m.header("Subject").unwrap().starts_with("Hasil tender"))
        .expect("supplier B hears its result");
    // Its own result only: nothing about the winners' prices.
    assert!(!lost.raw.contains("1.620") && !lost.raw.contains("1.650"), "{}", lost.body());
    for coop in [&season.cemorokandang, &season.madyopuro, &season.kedungkandang] {
        let theirs = subjects(&to(after_award, coop));
        assert!(theirs.iter().any(|s| s.starts_with("Tender dimenangkan")), "{theirs:?}");
        assert!(theirs.iter().any(|s| s.starts_with("Pesanan pembelian") && s.contains("diterbitkan")), "{theirs:?}");
    }

    // Every message has its own stable Message-ID, and nothing was sent twice.
    let everything = smtp.received();
    let ids: Vec<String> = everything.iter().map(|m| m.header("Message-ID").expect("a Message-ID")).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "no message sent twice");
    assert!(ids.iter().all(|id| id.ends_with("@lumbung.local>")));
}

async fn outbox(app: &lumbung_tests::TestApp, admin: &Login) -> Vec<serde_json::Value> {
    let response = app
        .gql(
            Some(&admin.access_token),
            "{ outboxMessages(first: 100) { edges { node { id recipient status attempts lastError } } } }",
            json!({}),
        )
        .await;
    response.data()["outboxMessages"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

#[tokio::test]
async fn an_smtp_outage_keeps_messages_queued_and_each_is_delivered_once_when_it_returns() {
    let mut smtp = SmtpServer::start().await;
    smtp.stop();
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url()), ("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "2592000")]).await;
    let (admin, agency) = app.bootstrap().await;
    // Verifying two organisations mails their users.
    let first = app.verified_cooperative(&agency, "Bumiayu").await;
    let second = app.verified_supplier(&agency, "Toko Tani Makmur", false).await;

    // While SMTP is down the messages stay queued, with the failure recorded.
    let mut queued = Vec::new();
    for _ in 0..100 {
        queued = outbox(&app, &admin).await;
        // Claimed (attempts counted) and failed (the error recorded).
        if queued.len() == 2 && queued.iter().all(|m| m["attempts"].as_i64() >= Some(1) && m["lastError"].is_string()) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(queued.len(), 2, "{queued:?}");
    for message in &queued {
        assert_eq!(message["status"], "PENDING");
        assert!(message["lastError"].as_str().is_some_and(|e| !e.is_empty()), "{message:?}");
    }
    assert!(smtp.received().is_empty());

    // SMTP returns; once the retry is due each message arrives exactly once.
    smtp.restart().await;
    app.clock.advance(Duration::minutes(10));
    let delivered = smtp.wait_for(2, WAIT).await;
    // Once the outbox records both as sent, no lease can end and no worker can send either again.
    for _ in 0..400 {
        if outbox(&app, &admin).await.iter().all(|m| m["status"] == "SENT") {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    app.clock.advance(Duration::hours(1));
    let after = outbox(&app, &admin).await;
    assert!(after.iter().all(|m| m["status"] == "SENT"), "{after:?}");
    assert_eq!(smtp.received().len(), 2, "each message delivered once: {:?}", delivered);
    let recipients: HashSet<String> = delivered.iter().flat_map(|m| m.envelope_to.clone()).collect();
    assert_eq!(recipients, HashSet::from([first.email.clone(), second.email.clone()]));
    // The Message-ID is the outbox row's own id, so a retry can never be a second, different mail.
    let ids: HashSet<String> = after.iter().map(|m| format!("<{}@lumbung.local>", m["id"].as_str().unwrap())).collect();
    let sent: HashSet<String> = delivered.iter().filter_map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids, sent);
    let verified = delivered.iter().find(|m| m.envelope_to == vec![first.email.clone()]).unwrap();
    assert!(verified.header("Subject").unwrap().contains("diverifikasi"), "{:?}", verified.header("Subject"));
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_marked_failed_for_admins_and_can_be_queued_again() {
    let mut smtp = SmtpServer::start().await;
    smtp.stop();
    let app = spawn_app_with(&[
        ("SMTP_URL", &smtp.url()),
        ("LUMBUNG_MAIL_MAX_ATTEMPTS", "2"),
        ("LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", "2592000"),
    ])
    .await;
    let (admin, agency) = app.bootstrap().await;
    let cooperative = app.verified_cooperative(&agency, "Dinoyo").await;
    let mut failed = Vec::new();
    for _ in 0..200 {
        // Each pass makes the next retry due.
        app.clock.advance(Duration::minutes(5));
        let response = app
            .gql(
                Some(&admin.access_token),
                "{ outboxMessages(status: FAILED, first: 10) { edges { node { id attempts recipient } } } }",
                json!({}),
            )
            .await;
        failed = response.data()["outboxMessages"]["edges"].as_array().unwrap().clone();
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(failed.len(), 1, "the message is marked failed after its attempts");
    let message = &failed[0]["node"];
    assert_eq!(message["attempts"], 2);
    assert_eq!(message["recipient"], cooperative.email);

    // Only admins see and retry the outbox.
    app.gql(Some(&agency.access_token), "{ outboxMessages(first: 1) { edges { node { id } } } }", json!({}))
        .await
        .expect_error("FORBIDDEN");
    smtp.restart().await;
    let retried = app
        .gql(
            Some(&admin.access_token),
            "mutation($id: ID!) { retryOutboxMessage(id: $id) { status attempts } }",
            json!({ "id": message["id"] }),
        )
        .await;
    assert_eq!(retried.data()["retryOutboxMessage"], json!({ "status": "PENDING", "attempts": 0 }));
    let delivered = smtp.wait_for(1, WAIT).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].envelope_to, vec![cooperative.email.clone()]);
    // A message that is not failed cannot be retried.
    app.gql(
        Some(&admin.access_token),
        "mutation($id: ID!) { retryOutboxMessage(id: $id) { status } }",
        json!({ "id": message["id"] }),
    )
    .await
    .expect_error("CONFLICT");
}

#[tokio::test]
async fn without_smtp_each_message_is_written_once_as_an_eml_file() {
    let app = spawn_app_with(&[]).await;
    let (admin, agency) = app.bootstrap().await;
    let cooperative = app.verified_cooperative(&agency, "Sawojajar").await;
    // Done when the outbox says every message is sent; then the folder holds each exactly once.
    let mut messages = Vec::new();
    for _ in 0..400 {
        messages = outbox(&app, &admin).await;
        if !messages.is_empty() && messages.iter().all(|m| m["status"] == "SENT") {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["status"], "SENT");
    let folder = app.database.outbox_dir.clone();
    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].file_name().unwrap().to_string_lossy(), format!("{}.eml", messages[0]["id"].as_str().unwrap()));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains(&format!("To: {}", cooperative.email)), "{text}");
    assert!(text.contains("Message-ID: <"), "{text}");
}
