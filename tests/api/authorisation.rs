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
