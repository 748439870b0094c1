//! List queries with nested relations cost a constant number of database statements whatever the page size: one
//! per relation (DataLoader), never one per row. This counts statements; it is a correctness test, not a timing.

use lumbung_tests::{TestApp, cooperative_input, spawn_app_with, supplier_input};
use serde_json::json;

async fn statements_for(app: &TestApp, token: &str, query: &str, first: i32) -> u64 {
    let before = app.services.queries.get();
    let response = app.gql(Some(token), query, json!({ "first": first })).await;
    response.data();
    app.services.queries.get() - before
}

#[tokio::test]
async fn nested_lists_cost_the_same_for_two_rows_or_twenty() {
    // The background closer stays quiet so that only this request's statements are counted.
    let app = spawn_app_with(&[("LUMBUNG_CLOSE_INTERVAL_MS", "3600000"), ("LUMBUNG_MAIL_WORKER", "false")]).await;
    let (admin, agency) = app.bootstrap().await;
    for i in 0..12 {
        app.register(cooperative_input(&format!("Koperasi{i}"), &format!("k{i}@kmp.test"))).await;
        app.register(supplier_input(&format!("Pemasok {i}"), &format!("p{i}@supplier.test"), i % 2 == 0)).await;
    }
    for i in 0..20 {
        let code = format!("BARANG-{i}");
        app.gql(
            Some(&agency.access_token),
            "mutation($c: String!) { createCommodity(input: { code: $c, nameId: \"Barang\", nameEn: \"Goods\", unit: KG, category: STAPLE }) { code } }",
            json!({ "c": code }),
        )
        .await
        .data();
        app.gql(
            Some(&agency.access_token),
            "mutation($c: String!) { setPriceReference(input: { commodityCode: $c, kind: REFERENCE, price: \"1000\", areaScope: NATIONAL, effectiveFrom: \"2026-01-01\" }) { price } }",
            json!({ "c": code }),
        )
        .await
        .data();
    }
    let organisations = "query($first: Int) { organisations(first: $first) { edges { node { name categories
        users { email } deliveryPoints { name } } } } }";
    let small = statements_for(&app, &admin.access_token, organisations, 2).await;
    let large = statements_for(&app, &admin.access_token, organisations, 20).await;
    assert_eq!(small, large, "organisations: {small} statements for 2 rows, {large} for 20");
    assert!(large <= 6, "one for the caller, one for the page, one per relation: {large}");

    let commodities = "query($first: Int) { commodities(first: $first) { edges { node { code priceReferences { price }
        applicablePrice(kind: REFERENCE) { price } } } } }";
    let small = statements_for(&app, &agency.access_token, commodities, 2).await;
    let large = statements_for(&app, &agency.access_token, commodities, 20).await;
    assert_eq!(small, large, "commodities: {small} statements for 2 rows, {large} for 20");
}
