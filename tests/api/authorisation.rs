//! Every query and mutation, generated from the schema itself, called by every kind of caller: each gets a result it
//! is allowed or a refusal with a stable code, never an internal error; anonymous callers are refused everything but
//! the public operations. An operation added without an authorisation decision fails here.

use lumbung_tests::{Login, TestApp, spawn_app};
use serde_json::{Map, Value, json};

/// Operations anyone may call without logging in.
const PUBLIC: [&str; 5] = ["registerOrganisation", "login", "refreshSession", "logout", "acceptInvitation"];

const ALLOWED_CODES: [&str; 8] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "DEADLINE_PASSED",
    "TOO_MANY_ATTEMPTS",
    "GRAPHQL_VALIDATION_FAILED",
];

const INTROSPECTION: &str = r#"
query {
  __schema {
    queryType { fields { name args { name type { ...T } } type { ...T } } }
    mutationType { fields { name args { name type { ...T } } type { ...T } } }
    subscriptionType { fields { name args { name type { ...T } } type { ...T } } }
    types { name kind inputFields { name defaultValue type { ...T } } enumValues { name } }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
"#;

struct Schema {
    types: Map<String, Value>,
}

impl Schema {
    fn named(type_ref: &Value) -> (&str, &str) {
        let mut current = type_ref;
        while current["name"].is_null() {
            current = &current["ofType"];
        }
        (current["kind"].as_str().unwrap_or_default(), current["name"].as_str().unwrap_or_default())
    }

    /// A GraphQL literal of the given type: well-formed, but pointing at nothing that exists.
    fn literal(&self, type_ref: &Value, depth: usize) -> String {
        if type_ref["kind"] == "NON_NULL" {
            return self.literal(&type_ref["ofType"], depth);
        }
        if type_ref["kind"] == "LIST" {
            return "[]".into();
        }
        let (kind, name) = Self::named(type_ref);
        match (kind, name) {
            ("SCALAR", "ID") => "\"01900000-0000-7000-8000-000000000000\"".into(),
            ("SCALAR", "Int") => "1".into(),
            ("SCALAR", "Float") => "1.0".into(),
            ("SCALAR", "Boolean") => "false".into(),
            ("SCALAR", "Decimal") => "\"1\"".into(),
            ("SCALAR", "DateTime") => "\"2026-11-25T02:00:00Z\"".into(),
            ("SCALAR", "NaiveDate") => "\"2026-11-25\"".into(),
            ("SCALAR", _) => "\"probe\"".into(),
            ("ENUM", _) => self.types[name]["enumValues"][0]["name"].as_str().unwrap_or_default().to_owned(),
            ("INPUT_OBJECT", _) if depth < 5 => {
                let fields = self.types[name]["inputFields"].as_array().cloned().unwrap_or_default();
                let required: Vec<String> = fields
                    .iter()
                    .filter(|f| f["type"]["kind"] == "NON_NULL" && f["defaultValue"].is_null())
                    .map(|f| {
                        format!("{}: {}", f["name"].as_str().unwrap_or_default(), self.literal(&f["type"], depth + 1))
                    })
                    .collect();
                format!("{{ {} }}", required.join(", "))
            }
            _ => "null".into(),
        }
    }

    /// `field(arg: literal, …) { __typename }` with every required argument.
    fn call(&self, field: &Value) -> String {
        let name = field["name"].as_str().unwrap_or_default();
        let args: Vec<String> = field["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["type"]["kind"] == "NON_NULL")
            .map(|a| format!("{}: {}", a["name"].as_str().unwrap_or_default(), self.literal(&a["type"], 0)))
            .collect();
        let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
        let (kind, _) = Self::named(&field["type"]);
        let selection = if matches!(kind, "OBJECT" | "INTERFACE" | "UNION") { " { __typename }" } else { "" };
        format!("{name}{args}{selection}")
    }
}

async fn operations(app: &TestApp) -> (Schema, Vec<(String, String)>) {
    let response = app.gql(None, INTROSPECTION, json!({})).await;
    let schema = response.data()["__schema"].clone();
    let types: Map<String, Value> = schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t.clone()))
        .collect();
    let schema_types = Schema { types };
    let mut operations = Vec::new();
    for (root, keyword) in [("queryType", "query"), ("mutationType", "mutation"), ("subscriptionType", "subscription")]
    {
        for field in schema[root]["fields"].as_array().unwrap() {
            let document = format!("{keyword} {{ {} }}", schema_types.call(field));
            operations.push((format!("{keyword} {}", field["name"].as_str().unwrap()), document));
        }
    }
    (schema_types, operations)
}

/// Every kind of caller, the anonymous one first.
fn callers<'a>(
    coop: &'a Login,
    supplier: &'a Login,
    agency: &'a Login,
    admin: &'a Login,
) -> Vec<(&'static str, Option<&'a Login>)> {
    vec![
        ("anonymous", None),
        ("cooperative", Some(coop)),
        ("supplier", Some(supplier)),
        ("agency", Some(agency)),
        ("admin", Some(admin)),
    ]
}

#[tokio::test]
async fn every_operation_makes_an_authorisation_decision_for_every_caller() {
    let app = spawn_app().await;
    let (admin, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let supplier = app.verified_supplier(&agency, "CV Uji", false).await;
    let (_, operations) = operations(&app).await;
    assert!(operations.len() > 50, "the schema lists every operation: {}", operations.len());

    let callers = callers(&coop, &supplier, &agency, &admin);
    for (who, login) in &callers {
        for (operation, document) in operations.iter().filter(|(o, _)| !o.starts_with("subscription ")) {
            let name = operation.split_once(' ').map_or(operation.as_str(), |(_, name)| name);
            // Logging out would end the session the rest of the loop uses.
            if name == "logout" && login.is_some() {
                continue;
            }
            let response = app.gql(login.map(|l| l.access_token.as_str()), document, json!({})).await;
            let codes: Vec<String> = response.body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("(no code)").to_owned())
                .collect();
            for code in &codes {
                assert!(
                    ALLOWED_CODES.contains(&code.as_str()),
                    "{who} calling {name} got {code}: {}\n{document}",
                    response.body
                );
            }
            if login.is_none() && !PUBLIC.contains(&name) {
                assert_eq!(
                    codes.first().map(String::as_str),
                    Some("UNAUTHENTICATED"),
                    "anonymous {name}: {}",
                    response.body
                );
            }
        }
    }
}

/// Every subscription, generated from the schema, started over WebSocket by every kind of caller: each is refused with a
/// stable code or accepted, and an anonymous caller is refused every one before anything streams.
#[tokio::test]
async fn every_subscription_makes_an_authorisation_decision_for_every_caller() {
    use lumbung_tests::subscriber::{Connected, Subscriber};
    use std::time::Duration;

    let app = spawn_app().await;
    let (admin, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let supplier = app.verified_supplier(&agency, "CV Uji", false).await;
    let (_, operations) = operations(&app).await;
    let subscriptions: Vec<&(String, String)> =
        operations.iter().filter(|(o, _)| o.starts_with("subscription ")).collect();
    assert!(subscriptions.len() >= 4, "{subscriptions:?}");
    let callers = callers(&coop, &supplier, &agency, &admin);
    for (who, login) in &callers {
        for (name, document) in &subscriptions {
            let Connected::Acknowledged(mut subscriber) =
                Subscriber::connect(&app.address, login.map(|l| l.access_token.as_str())).await
            else {
                panic!("{who}: the connection is acknowledged");
            };
            subscriber.subscribe(document, json!({})).await;
            // A refusal arrives at once; an accepted subscription streams nothing until an event happens.
            let Some(payload) = subscriber.next(Duration::from_millis(500)).await else {
                assert!(login.is_some(), "anonymous {name} was not refused");
                continue;
            };
            let code = payload["errors"][0]["extensions"]["code"].as_str().unwrap_or("(no code)").to_owned();
            assert!(ALLOWED_CODES.contains(&code.as_str()), "{who} starting {name} got {code}: {payload}");
            if login.is_none() {
                assert_eq!(code, "UNAUTHENTICATED", "anonymous {name}: {payload}");
            }
        }
    }
}

/// Who may call each operation, by kind of caller: cooperative, supplier, agency, platform admin. `+` allowed (data,
/// or a refusal about the arguments: not found, bad input, conflict), `F` refused with `FORBIDDEN` whatever the
/// arguments, `-` not probed here (logging out would end the session the loop uses). The decision is the role's and
/// comes before any lookup, so it holds for ids that point at nothing. Every operation in the schema must be listed.
const WHO_MAY: &[(&str, &str)] = &[
    // Queries.
    ("me", "++++"),
    ("organisation", "++++"),
    ("organisations", "FF++"),
    ("commodities", "++++"),
    ("commodity", "++++"),
    ("auditEntries", "FF++"),
    ("demandPools", "+F++"),
    ("demandPool", "+F++"),
    ("fertiliserAllocations", "FF+F"),
    ("tenders", "++++"),
    ("tender", "++++"),
    ("bidHistory", "++++"),
    ("purchaseOrders", "++++"),
    ("purchaseOrder", "++++"),
    ("amountsDue", "++++"),
    ("supplierPerformance", "F+++"),
    ("notificationPreferences", "++++"),
    ("outboxMessages", "FFF+"),
    ("priceIndicators", "FF+F"),
    ("priceDisparity", "FF+F"),
    ("priceAlerts", "FF+F"),
    ("poolingSavings", "FF+F"),
    ("publishedPrices", "++++"),
    ("tenderRedFlags", "FF+F"),
    ("ocdsReleasePackage", "FF+F"),
    // Sessions and users: every organisation's own.
    ("registerOrganisation", "++++"),
    ("login", "++++"),
    ("refreshSession", "++++"),
    ("logout", "----"),
    ("inviteUser", "++++"),
    ("acceptInvitation", "++++"),
    ("changePassword", "++++"),
    ("deactivateUser", "++++"),
    ("setOrganisationAdmin", "++++"),
    // Organisations and the catalogue.
    ("verifyOrganisation", "FF++"),
    ("rejectOrganisation", "FF++"),
    ("suspendOrganisation", "FF++"),
    ("reinstateOrganisation", "FF++"),
    ("createOrganisation", "FFF+"),
    ("createCommodity", "FF++"),
    ("updateCommodity", "FF++"),
    ("setPriceReference", "FF++"),
    // Pooling and tendering.
    ("openDemandPool", "FF+F"),
    ("extendPoolCutoff", "FF+F"),
    ("cancelDemandPool", "FF+F"),
    ("recordFertiliserAllocation", "FF+F"),
    ("addDemandLine", "+FFF"),
    ("changeDemandLine", "+FFF"),
    ("removeDemandLine", "+FFF"),
    ("createTender", "FF+F"),
    ("publishTender", "FF+F"),
    ("cancelTender", "FF+F"),
    ("extendTenderDeadline", "FF+F"),
    ("confirmAward", "FF+F"),
    ("submitBid", "F+FF"),
    ("reviseBid", "F+FF"),
    ("withdrawBid", "F+FF"),
    // Orders.
    ("acceptPurchaseOrder", "F+FF"),
    ("declinePurchaseOrder", "F+FF"),
    ("recordDispatch", "F+FF"),
    ("confirmDelivery", "+FFF"),
    ("answerDiscrepancy", "F+FF"),
    ("shortClosePurchaseOrder", "+F+F"),
    ("closePurchaseOrder", "+F+F"),
    ("cancelPurchaseOrder", "FF+F"),
    ("reAwardPurchaseOrder", "FF+F"),
    // Notifications and prices.
    ("setNotificationPreference", "++++"),
    ("retryOutboxMessage", "FFF+"),
    ("recordMarketPrice", "FF+F"),
    ("importMarketSurvey", "FF+F"),
    ("publishMonthlyPrice", "FF+F"),
];

#[tokio::test]
async fn every_operation_is_refused_exactly_to_the_callers_the_table_names() {
    let app = spawn_app().await;
    let (admin, agency) = app.bootstrap().await;
    let coop = app.verified_cooperative(&agency, "Bumiayu").await;
    let supplier = app.verified_supplier(&agency, "CV Uji", false).await;
    let (_, operations) = operations(&app).await;
    let callers = callers(&coop, &supplier, &agency, &admin);
    let mut listed = 0;
    for (operation, document) in operations.iter().filter(|(o, _)| !o.starts_with("subscription ")) {
        let name = operation.split_once(' ').map_or(operation.as_str(), |(_, name)| name);
        let Some((_, expected)) = WHO_MAY.iter().find(|(n, _)| *n == name) else {
            panic!("{name} has no row in WHO_MAY: decide who may call it");
        };
        listed += 1;
        for ((who, login), expected) in callers.iter().skip(1).zip(expected.chars()) {
            if expected == '-' {
                continue;
            }
            let response = app.gql(login.map(|l| l.access_token.as_str()), document, json!({})).await;
            let code = response.body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned);
            match expected {
                'F' => assert_eq!(code.as_deref(), Some("FORBIDDEN"), "{who} calling {name}: {}", response.body),
                // A public operation answers a bad token as unauthenticated: that is about its argument.
                _ => assert!(
                    code.as_deref() != Some("FORBIDDEN")
                        && (code.as_deref() != Some("UNAUTHENTICATED") || PUBLIC.contains(&name)),
                    "{who} may call {name}: {}",
                    response.body
                ),
            }
        }
    }
    assert_eq!(listed, WHO_MAY.len(), "WHO_MAY lists an operation the schema no longer has");
}

/// Two organisations of each kind with real objects (the awarded season: three cooperatives, a winning and a losing
/// supplier, one that did not bid): each reads its own and never the other's, directly or through nested fields.
#[tokio::test]
async fn no_organisation_reads_another_ones_objects() {
    let season = crate::ordering::awarded_season().await;
    let (coop, other_coop) = (&season.cemorokandang, &season.kedungkandang);
    let (winner, loser, outsider) = (&season.supplier_a, &season.supplier_b, &season.supplier_c);
    let ids = |response: &lumbung_tests::Gql, path: &[&str], field: &str| -> Vec<String> {
        let mut value = response.data().clone();
        for step in path {
            value = value[*step].clone();
        }
        value.as_array().unwrap().iter().map(|v| v[field].as_str().unwrap_or_default().to_owned()).collect()
    };

    // Orders: the list and each order, with its nested lines.
    let orders = "{ purchaseOrders(first: 50) { edges { node { id cooperativeId supplierId } } } }";
    let all = season.gql(&season.agency, orders, json!({})).await;
    let every: Vec<Value> =
        all.data()["purchaseOrders"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    let own_order = every
        .iter()
        .find(|o| {
            o["cooperativeId"] == coop.organisation_id.as_str() && o["supplierId"] == winner.organisation_id.as_str()
        })
        .unwrap();
    for (who, login, sees) in [
        ("its cooperative", coop, true),
        ("its supplier", winner, true),
        ("another cooperative", other_coop, false),
        ("another supplier with orders", &season.bumn, false),
        ("a losing bidder", loser, false),
        ("a supplier that did not bid", outsider, false),
    ] {
        let read = season
            .gql(
                login,
                "query($id: ID!) { purchaseOrder(id: $id) { id lines { quantity } confirmations { id } } }",
                json!({ "id": own_order["id"] }),
            )
            .await;
        assert_eq!(read.data()["purchaseOrder"].is_object(), sees, "{who}: {}", read.body);
    }
    for login in [coop, other_coop] {
        let listed = season.gql(login, orders, json!({})).await;
        let listed: Vec<Value> = listed.data()["purchaseOrders"]["edges"].as_array().unwrap().clone();
        assert!(
            !listed.is_empty() && listed.iter().all(|e| e["node"]["cooperativeId"] == login.organisation_id.as_str())
        );
    }
    for login in [winner, &season.bumn, loser, outsider] {
        let listed = season.gql(login, orders, json!({})).await;
        let listed: Vec<Value> = listed.data()["purchaseOrders"]["edges"].as_array().unwrap().clone();
        assert!(listed.iter().all(|e| e["node"]["supplierId"] == login.organisation_id.as_str()), "{listed:?}");
    }

    // The tender's nested allocations: a cooperative its own, a supplier those it serves, a loser none.
    let tender_id = {
        let tenders = season.gql(&season.agency, "{ tenders(first: 1) { edges { node { id } } } }", json!({})).await;
        tenders.data()["tenders"]["edges"][0]["node"]["id"].clone()
    };
    let allocations =
        "query($id: ID!) { tender(id: $id) { allocations { cooperativeId supplierId } lots { bids { supplierId } } } }";
    for login in [coop, other_coop] {
        let read = season.gql(login, allocations, json!({ "id": tender_id })).await;
        let owners = ids(&read, &["tender", "allocations"], "cooperativeId");
        assert!(!owners.is_empty() && owners.iter().all(|o| *o == login.organisation_id), "{owners:?}");
    }
    let served = season.gql(winner, allocations, json!({ "id": tender_id })).await;
    let suppliers = ids(&served, &["tender", "allocations"], "supplierId");
    assert!(!suppliers.is_empty() && suppliers.iter().all(|s| *s == winner.organisation_id), "{suppliers:?}");
    let lost = season.gql(loser, allocations, json!({ "id": tender_id })).await;
    assert_eq!(lost.data()["tender"]["allocations"], json!([]));
    // After the award a bidder sees its own bid and the winning ones, never another loser's.
    let lot_bids: Vec<String> = lost.data()["tender"]["lots"][0]["bids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["supplierId"].as_str().unwrap().to_owned())
        .collect();
    assert!(lot_bids.contains(&loser.organisation_id), "{lot_bids:?}");
    let read = season.gql(outsider, allocations, json!({ "id": tender_id })).await;
    let outsider_bids = read.data()["tender"]["lots"][0]["bids"].as_array().cloned().unwrap_or_default();
    assert!(
        outsider_bids.iter().all(|b| b["supplierId"] == winner.organisation_id.as_str()
            || b["supplierId"] == season.bumn.organisation_id.as_str()),
        "a supplier that did not bid sees at most the winners: {outsider_bids:?}"
    );

    // Demand: a pool's nested lines are a cooperative's own; another's RDKK allocations are refused.
    let pool = "query($id: ID!) { demandPool(id: $id) { lines { cooperativeId } } }";
    for login in [coop, other_coop] {
        let read = season.gql(login, pool, json!({ "id": season.pool_id })).await;
        let owners = ids(&read, &["demandPool", "lines"], "cooperativeId");
        assert!(!owners.is_empty() && owners.iter().all(|o| *o == login.organisation_id), "{owners:?}");
    }
    // RDKK allocations are the office's to read (the table); another cooperative's are refused too.
    let rdkk = "query($c: ID!) { fertiliserAllocations(cooperativeId: $c) { quantity } }";
    season.gql(coop, rdkk, json!({ "c": other_coop.organisation_id })).await.expect_error("FORBIDDEN");

    // Organisations: another one's users stay with it and the office.
    let users = "query($id: ID!) { organisation(id: $id) { users { email } } }";
    for (login, other) in [(coop, other_coop), (winner, loser), (loser, coop)] {
        let read = season.gql(login, users, json!({ "id": other.organisation_id })).await;
        assert!(!read.body.to_string().contains(&other.email), "{}", read.body);
    }
}
