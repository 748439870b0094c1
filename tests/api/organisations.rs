//! Registration, review and who may see and do what.

use lumbung_tests::{PASSWORD, cooperative_input, spawn_app, supplier_input};
use serde_json::{Value, json};

const REGISTER: &str =
    "mutation($input: OrganisationInput!) { registerOrganisation(input: $input) { organisation { id status } } }";
const COUNT_ORGANISATIONS: &str = "{ organisations(first: 100) { edges { node { id name status } } } }";

async fn organisation_count(app: &lumbung_tests::TestApp, token: &str) -> usize {
    app.gql(Some(token), COUNT_ORGANISATIONS, json!({})).await.data()["organisations"]["edges"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn a_registered_cooperative_waits_pending_and_cannot_act_until_verified() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let id = app.register(cooperative_input("Bumiayu", "bumiayu@kmp.test")).await;
    let coop = app.login_ok("bumiayu@kmp.test", PASSWORD).await;
    let me = app.gql(Some(&coop.access_token), "{ me { permissions organisation { status } } }", json!({})).await;
    assert_eq!(me.data()["me"]["organisation"]["status"], "PENDING");
    assert_eq!(me.data()["me"]["permissions"], json!(["VIEW_OWN_ORGANISATION", "READ_CATALOGUE"]));
    let invite = "mutation { inviteUser(input: { email: \"x@kmp.test\", name: \"X\" }) { invitationToken } }";
    let refused = app.gql(Some(&coop.access_token), invite, json!({})).await;
    refused.expect_error("FORBIDDEN");
    assert!(refused.error_message().contains("PENDING"), "{}", refused.error_message());

    app.verify(&agency, &id).await;
    app.gql(Some(&coop.access_token), invite, json!({})).await.data();
}

#[tokio::test]
async fn invalid_registrations_are_refused_with_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let (admin, _) = app.bootstrap().await;
    let before = organisation_count(&app, &admin.access_token).await;
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut bad_email = cooperative_input("Dinoyo", "not-an-email");
    bad_email["firstUser"]["email"] = json!("not-an-email");
    cases.push(("bad e-mail", bad_email, "email"));
    let mut short_password = cooperative_input("Dinoyo", "dinoyo@kmp.test");
    short_password["firstUser"]["password"] = json!("pendek");
    cases.push(("short password", short_password, "password"));
    let mut no_gerai = cooperative_input("Dinoyo", "dinoyo@kmp.test");
    no_gerai["deliveryPoints"] = json!([]);
    cases.push(("cooperative without delivery point", no_gerai, "deliveryPoints"));
    let mut no_kelurahan = cooperative_input("Dinoyo", "dinoyo@kmp.test");
    no_kelurahan["kelurahan"] = json!("   ");
    cases.push(("cooperative without kelurahan", no_kelurahan, "kelurahan"));
    let mut no_categories = supplier_input("CV Kosong", "kosong@supplier.test", false);
    no_categories["categories"] = json!([]);
    cases.push(("supplier without categories", no_categories, "categories"));
    let mut state_owned_coop = cooperative_input("Dinoyo", "dinoyo@kmp.test");
    state_owned_coop["isStateOwned"] = json!(true);
    cases.push(("state-owned cooperative", state_owned_coop, "isStateOwned"));
    let mut agency = supplier_input("Dinas Palsu", "palsu@dinas.test", false);
    agency["kind"] = json!("AGENCY");
    agency["categories"] = json!([]);
    cases.push(("self-registered agency", agency, "kind"));
    let mut empty_name = cooperative_input("Dinoyo", "dinoyo@kmp.test");
    empty_name["name"] = json!("");
    cases.push(("empty name", empty_name, "name"));
    // Weak input rules: guessable, personal and control-character passwords; invisible and reversed names; markup
    // in an address.
    for (case, password) in [
        ("guessable password", "1234567890".to_owned()),
        ("password equal to the e-mail", "dinoyo@kmp.test".to_owned()),
        ("password of NUL characters", "\0".repeat(12)),
    ] {
        let mut weak = cooperative_input("Dinoyo", "dinoyo@kmp.test");
        weak["firstUser"]["password"] = json!(password);
        cases.push((case, weak, "password"));
    }
    for (case, name) in [("invisible name", "\u{200B}\u{200B}\u{200B}"), ("reversed name", "Koperasi \u{202E}ikasuk")] {
        let mut odd = cooperative_input("Dinoyo", "dinoyo@kmp.test");
        odd["name"] = json!(name);
        cases.push((case, odd, "name"));
    }
    let mut markup = cooperative_input("Dinoyo", "dinoyo@kmp.test");
    markup["firstUser"]["email"] = json!("<script>@kmp.demo");
    cases.push(("markup e-mail", markup, "email"));

    for (case, input, field) in cases {
        let response = app.gql(None, REGISTER, json!({ "input": input })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{case}: {}", response.body);
        assert_eq!(response.body["errors"][0]["extensions"]["field"], field, "{case}");
        assert!(response.body["data"].is_null(), "{case}");
    }
    assert_eq!(organisation_count(&app, &admin.access_token).await, before, "nothing may be stored");
}

#[tokio::test]
async fn an_email_address_belongs_to_one_account() {
    let app = spawn_app().await;
    app.bootstrap().await;
    app.register(cooperative_input("Sawojajar", "sawojajar@kmp.test")).await;
    let again = app.gql(None, REGISTER, json!({ "input": cooperative_input("Sawojajar", "SAWOJAJAR@kmp.test") })).await;
    again.expect_error("CONFLICT");
}

#[tokio::test]
async fn review_follows_the_lifecycle_and_suspension_ends_every_session() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let supplier = app.verified_supplier(&agency, "CV Tani Makmur", false).await;
    let id = supplier.organisation_id.clone();
    let call = |query: &'static str, variables: Value| {
        let token = agency.access_token.clone();
        let app = &app;
        async move { app.gql(Some(&token), query, variables).await }
    };
    call("mutation($id: ID!) { verifyOrganisation(id: $id) { status } }", json!({ "id": id }))
        .await
        .expect_error("CONFLICT");
    call("mutation($id: ID!) { suspendOrganisation(id: $id, reason: \"  \") { status } }", json!({ "id": id }))
        .await
        .expect_error("BAD_USER_INPUT");
    let suspended = call(
        "mutation($id: ID!) { suspendOrganisation(id: $id, reason: \"izin usaha kedaluwarsa\") { status statusReason } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(suspended.data()["suspendOrganisation"]["status"], "SUSPENDED");
    assert_eq!(suspended.data()["suspendOrganisation"]["statusReason"], "izin usaha kedaluwarsa");

    app.gql(Some(&supplier.access_token), "{ me { role } }", json!({})).await.expect_error("UNAUTHENTICATED");
    app.gql(
        None,
        "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
        json!({ "t": supplier.refresh_token }),
    )
    .await
    .expect_error("UNAUTHENTICATED");
    app.login(&supplier.email, PASSWORD).await.expect_error("FORBIDDEN");

    call("mutation($id: ID!) { reinstateOrganisation(id: $id) { status } }", json!({ "id": id })).await.data();
    app.login_ok(&supplier.email, PASSWORD).await;
}

#[tokio::test]
async fn a_rejected_registration_says_why_and_cannot_log_in() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let id = app.register(cooperative_input("Bandulan", "bandulan@kmp.test")).await;
    let reject = "mutation($id: ID!, $r: String!) { rejectOrganisation(id: $id, reason: $r) { status statusReason } }";
    let rejected =
        app.gql(Some(&agency.access_token), reject, json!({ "id": id, "r": "nomor badan hukum tidak cocok" })).await;
    assert_eq!(rejected.data()["rejectOrganisation"]["status"], "REJECTED");
    app.login("bandulan@kmp.test", PASSWORD).await.expect_error("FORBIDDEN");
}

#[tokio::test]
async fn each_role_is_refused_what_it_may_not_do() {
    let app = spawn_app().await;
    let (admin, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Kedungkandang").await;
    let supplier = app.verified_supplier(&agency, "UD Sri Rejeki", false).await;
    let other_coop = app.register(cooperative_input("Cemorokandang", "cemorokandang@kmp.test")).await;
    let admin_org = admin.organisation_id.clone();
    let agency_org = agency.organisation_id.clone();

    let organisation_input = supplier_input("PT Baru", "baru@supplier.test", false);
    let commodity_input =
        json!({ "code": "GULA", "nameId": "Gula pasir", "nameEn": "Sugar", "unit": "KG", "category": "STAPLE" });
    let operations: Vec<(&str, &str, Value)> = vec![
        ("review", "mutation($id: ID!) { verifyOrganisation(id: $id) { status } }", json!({ "id": other_coop })),
        ("list organisations", COUNT_ORGANISATIONS, json!({})),
        (
            "create organisation",
            "mutation($i: OrganisationInput!) { createOrganisation(input: $i) { user { id } } }",
            json!({ "i": organisation_input }),
        ),
        (
            "create commodity",
            "mutation($i: CommodityInput!) { createCommodity(input: $i) { code } }",
            json!({ "i": commodity_input }),
        ),
        ("read audit trail", "{ auditEntries { edges { node { action } } } }", json!({})),
    ];
    for (what, query, variables) in &operations {
        for (who, login) in [("cooperative", &coop), ("supplier", &supplier)] {
            let response = app.gql(Some(&login.access_token), query, variables.clone()).await;
            assert_eq!(response.error_code(), "FORBIDDEN", "{who} may not {what}: {}", response.body);
            assert!(response.body["data"].is_null(), "{who} {what}");
        }
        let anonymous = app.gql(None, query, variables.clone()).await;
        assert_eq!(anonymous.error_code(), "UNAUTHENTICATED", "anonymous {what}");
    }
    // The agency may not create organisations, nor review the platform or itself.
    let create = &operations[2];
    app.gql(Some(&agency.access_token), create.1, create.2.clone()).await.expect_error("FORBIDDEN");
    for target in [admin_org, agency_org] {
        app.gql(
            Some(&agency.access_token),
            "mutation($id: ID!) { suspendOrganisation(id: $id, reason: \"coba\") { status } }",
            json!({ "id": target }),
        )
        .await
        .expect_error("FORBIDDEN");
    }
}

#[tokio::test]
async fn a_cooperative_sees_only_its_own_organisation() {
    let app = spawn_app().await;
    let (_, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Madyopuro").await;
    let other = app.verified_cooperative(&agency, "Sawojajar").await;
    let query = "query($id: ID!) { organisation(id: $id) { name users { email } deliveryPoints { name } } }";
    let own = app.gql(Some(&coop.access_token), query, json!({ "id": coop.organisation_id })).await;
    assert_eq!(own.data()["organisation"]["users"][0]["email"], "madyopuro@kmp.test");
    assert_eq!(own.data()["organisation"]["deliveryPoints"][0]["name"], "Gerai KMP Madyopuro");
    let foreign = app.gql(Some(&coop.access_token), query, json!({ "id": other.organisation_id })).await;
    assert!(foreign.data()["organisation"].is_null(), "another cooperative must read as not found");
    // The agency sees both.
    let seen = app.gql(Some(&agency.access_token), query, json!({ "id": other.organisation_id })).await;
    assert_eq!(seen.data()["organisation"]["users"][0]["email"], "sawojajar@kmp.test");
}

#[tokio::test]
async fn state_changes_leave_an_audit_trail_without_secrets() {
    let app = spawn_app().await;
    let (admin, agency) = app.bootstrap().await;
    let id = app.register(cooperative_input("Dinoyo", "dinoyo@kmp.test")).await;
    app.verify(&agency, &id).await;
    app.login("dinoyo@kmp.test", "tebakan-yang-salah").await.expect_error("UNAUTHENTICATED");
    let trail = app
        .gql(
            Some(&admin.access_token),
            "{ auditEntries(first: 100) { edges { node { action subjectType subjectId actorUserId summary } } } }",
            json!({}),
        )
        .await;
    let entries = trail.data()["auditEntries"]["edges"].as_array().unwrap().clone();
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["node"]["action"].as_str()).collect();
    for expected in ["organisation.registered", "organisation.verified", "session.login_failed", "organisation.created"]
    {
        assert!(actions.contains(&expected), "missing {expected} in {actions:?}");
    }
    let verified = entries.iter().find(|e| e["node"]["action"] == "organisation.verified").unwrap();
    assert_eq!(verified["node"]["subjectId"], id.as_str());
    assert_eq!(verified["node"]["actorUserId"], agency.user_id.as_str());
    let all_text = trail.body.to_string();
    assert!(
        !all_text.contains(PASSWORD) && !all_text.contains("tebakan-yang-salah"),
        "a password reached the audit trail"
    );
    assert!(!all_text.contains(&agency.refresh_token), "a token reached the audit trail");
}

#[tokio::test]
async fn organisations_page_with_cursors_and_refuse_oversized_pages() {
    let app = spawn_app().await;
    let (admin, _) = app.bootstrap().await;
    for name in ["Bumiayu", "Bandulan", "Dinoyo", "Sawojajar", "Bandungrejosari"] {
        app.register(cooperative_input(name, &format!("{}@kmp.test", name.to_lowercase()))).await;
    }
    let query = "query($after: String) { organisations(first: 2, after: $after, kind: COOPERATIVE) {
        edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }";
    let mut names = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = app.gql(Some(&admin.access_token), query, json!({ "after": after })).await;
        let connection = page.data()["organisations"].clone();
        names.extend(
            connection["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 5);
    assert!(names[0].ends_with("Bumiayu") && names[4].ends_with("Bandungrejosari"), "oldest first: {names:?}");

    for (first, code) in [(101, "BAD_USER_INPUT"), (0, "BAD_USER_INPUT"), (-1, "BAD_USER_INPUT")] {
        app.gql(
            Some(&admin.access_token),
            "query($f: Int) { organisations(first: $f) { edges { cursor } } }",
            json!({ "f": first }),
        )
        .await
        .expect_error(code);
    }
    app.gql(
        Some(&admin.access_token),
        "{ organisations(after: \"bm90LWEtY3Vyc29y\") { edges { cursor } } }",
        json!({}),
    )
    .await
    .expect_error("BAD_USER_INPUT");
}
