//! What Diskopindag sees (SCENARIOS.md section 4): pooled prices against the HET and the market, savings, stability,
//! alerts with what lies behind them, red flags, CSV downloads and the OCDS export validated against its schemas.

use std::time::Duration as StdDuration;

use chrono::Duration;
use lumbung_tests::{Login, subscriber::Subscriber};
use serde_json::{Value, json};

use crate::{
    ordering::awarded_season,
    tendering::{BIDDING_START, Season, at, pool_demand, season},
};

const MARKETS: [&str; 14] = [
    "Pasar Besar",
    "Pasar Oro-Oro Dowo",
    "Pasar Dinoyo",
    "Pasar Blimbing",
    "Pasar Kebalen",
    "Pasar Bunul",
    "Pasar Tawangmangu",
    "Pasar Klojen",
    "Pasar Gadang",
    "Pasar Kasin",
    "Pasar Madyopuro",
    "Pasar Sukun",
    "Pasar Mergan",
    "Pasar Kedungkandang",
];

const INDICATORS: &str =
    "query($i: PriceQueryInput!) { priceIndicators(input: $i) { periodStart city kecamatan count min max
    mean median weightedMean quantity marketMean coefficientOfVariation cvChange unstable changePercent ceiling ratioToCeiling
    shareAboveCeiling savings } }";

const ALERTS: &str = "query($i: PriceQueryInput!) { priceAlerts(input: $i) { kind day kecamatan value threshold tenderIds marketNames } }";

fn november(commodity: &str) -> Value {
    json!({ "commodityCode": commodity, "period": "MONTH", "from": "2026-11-01", "to": "2026-11-30" })
}

/// The day's survey of the 14 city markets, urea at Rp1,770 and Rp1,790 in turn (mean Rp1,780), with four bad rows.
fn survey_csv() -> String {
    let mut csv = String::from("commodity_code,market,kelurahan,kecamatan,city,date,price\n");
    for (index, market) in MARKETS.iter().enumerate() {
        let price = if index % 2 == 0 { "1.770" } else { "1790" };
        csv.push_str(&format!("UREA-SUB,{market},,Klojen,Kota Malang,2026-11-28,{price}\n"));
    }
    csv.push_str("GULA-X,Pasar Besar,,Klojen,Kota Malang,2026-11-28,15000\n");
    csv.push_str("UREA-SUB,Pasar Besar,,Klojen,Kota Malang,2026-11-28,murah\n");
    csv.push_str("UREA-SUB,Pasar Besar,,Klojen,Kota Malang,2026-12-30,1780\n");
    csv.push_str("UREA-SUB,,,Klojen,Kota Malang,2026-11-28,1780\n");
    csv
}

async fn import(season: &Season, csv: &str) -> Value {
    season
        .gql(
            &season.agency,
            "mutation($csv: String!) { importMarketSurvey(csv: $csv) { accepted rejected { line field message } } }",
            json!({ "csv": csv }),
        )
        .await
        .data()["importMarketSurvey"]
        .clone()
}

async fn download(season: &Season, who: Option<&Login>, path: &str) -> (u16, String) {
    let mut request = season.app.client.get(format!("{}{path}", season.app.address));
    if let Some(who) = who {
        request = request.bearer_auth(&who.access_token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_agency_sees_pooled_prices_against_the_het_and_the_market_with_savings() {
    let season = awarded_season().await;

    // One action for the day's survey: the good rows are kept, each bad one reported.
    let result = import(&season, &survey_csv()).await;
    assert_eq!(result["accepted"], 14);
    let rejected: Vec<(u64, &str)> = result["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["field"].as_str().unwrap()))
        .collect();
    assert_eq!(rejected, vec![(16, "commodityCode"), (17, "price"), (18, "date"), (19, "marketName")]);

    let indicators = season.gql(&season.agency, INDICATORS, json!({ "i": november("UREA-SUB") })).await;
    let rows = indicators.data()["priceIndicators"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let month = &rows[0];
    // The four award lines: 10,000 kg at 1,620 and 2,000 + 8,000 + 4,000 kg at 1,650.
    assert_eq!(month["periodStart"], "2026-11-01");
    assert_eq!(month["count"], 4);
    assert_eq!((month["min"].as_str(), month["max"].as_str()), (Some("1620"), Some("1650")));
    assert_eq!(month["mean"], "1642.50");
    assert_eq!(month["median"], "1650");
    assert_eq!(month["weightedMean"], "1637.50");
    assert_eq!(month["quantity"], "24000");
    assert_eq!(month["marketMean"], "1780");
    assert_eq!(month["ceiling"], "1800");
    // 1,637.50 ÷ 1,800: 91% of the HET; none above it.
    assert_eq!(month["ratioToCeiling"], "0.9097");
    assert_eq!(month["shareAboveCeiling"], "0");
    // (1,780 − 1,637.50) × 24,000.
    assert_eq!(month["savings"], "3420000");
    assert_eq!(month["unstable"], false);
    assert!(month["coefficientOfVariation"].as_str().unwrap().parse::<f64>().unwrap() < 9.0);
    // Nothing to warn about.
    let alerts = season.gql(&season.agency, ALERTS, json!({ "i": november("UREA-SUB") })).await;
    assert_eq!(alerts.data()["priceAlerts"], json!([]));

    // One city's areas: Malang holds them all; another city has none.
    let mut malang = november("UREA-SUB");
    malang["city"] = json!("Kota Malang");
    let in_malang = season.gql(&season.agency, INDICATORS, json!({ "i": malang })).await;
    let in_malang = in_malang.data()["priceIndicators"][0].clone();
    assert_eq!((in_malang["count"].as_u64(), in_malang["weightedMean"].as_str()), (Some(4), Some("1637.50")));
    assert_eq!(in_malang["marketMean"], "1780");
    let mut batu = november("UREA-SUB");
    batu["city"] = json!("Kota Batu");
    assert_eq!(season.gql(&season.agency, INDICATORS, json!({ "i": batu })).await.data()["priceIndicators"], json!([]));

    // By area: Kedungkandang alone, and so no disparity to speak of.
    let by_area =
        json!({ "i": { "commodityCode": "UREA-SUB", "from": "2026-11-01", "to": "2026-11-30", "byArea": true } });
    let areas = season.gql(&season.agency, INDICATORS, by_area).await;
    assert_eq!(areas.data()["priceIndicators"][0]["kecamatan"], "Kedungkandang");
    assert_eq!(areas.data()["priceIndicators"][0]["city"], "Kota Malang");
    let disparity = season
        .gql(
            &season.agency,
            "query($i: PriceQueryInput!) { priceDisparity(input: $i) { areas spreadPercent coefficientOfVariation } }",
            json!({ "i": november("UREA-SUB") }),
        )
        .await;
    assert_eq!(
        disparity.data()["priceDisparity"],
        json!([{ "areas": 1, "spreadPercent": "0", "coefficientOfVariation": null }])
    );

    // The same table as CSV, for the agency only.
    let path = "/exports/price-indicators.csv?commodityCode=UREA-SUB&period=MONTH&from=2026-11-01&to=2026-11-30";
    let (status, text) = download(&season, Some(&season.agency), path).await;
    assert_eq!(status, 200, "{text}");
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("period_start,city,kecamatan,count,min,max,mean,median,weighted_mean"));
    assert_eq!(
        lines.next().unwrap(),
        "2026-11-01,,,4,1620,1650,1642.50,1650,1637.50,24000,1780,,,false,,1800,0.9097,0,3420000"
            .replace(",,,false", &format!(",{},,false", month["coefficientOfVariation"].as_str().unwrap()))
    );
    assert_eq!(download(&season, Some(&season.cemorokandang), path).await.0, 403);
    assert_eq!(download(&season, None, path).await.0, 401);

    // The season's savings, summed per commodity and in total.
    let savings = season
        .gql(
            &season.agency,
            "{ poolingSavings(from: \"2026-11-01\", to: \"2026-11-30\") { commodities { commodityCode quantity amountPaid savings } total } }",
            json!({}),
        )
        .await;
    assert_eq!(
        savings.data()["poolingSavings"],
        json!({ "commodities": [{ "commodityCode": "UREA-SUB", "quantity": "24000", "amountPaid": "39300000", "savings": "3420000" }], "total": "3420000" })
    );

    let (_, csv) =
        download(&season, Some(&season.agency), "/exports/pooling-savings.csv?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(csv, "commodity_code,quantity,amount_paid,savings\nUREA-SUB,24000,39300000,3420000\nTOTAL,,,3420000\n");

    // Cooperatives and suppliers see no indicators, only what the office publishes.
    for who in [&season.cemorokandang, &season.supplier_a] {
        season.gql(who, INDICATORS, json!({ "i": november("UREA-SUB") })).await.expect_error("FORBIDDEN");
    }
    let published = "{ publishedPrices { commodityCode month mean observations } }";
    assert_eq!(season.gql(&season.cemorokandang, published, json!({})).await.data()["publishedPrices"], json!([]));
    season
        .gql(
            &season.agency,
            "mutation { publishMonthlyPrice(commodityCode: \"UREA-SUB\", month: \"2026-11-15\") { month } }",
            json!({}),
        )
        .await
        .data();
    // The pooled price weighs each order line by its quantity (10,000 kg at Rp1,620, 14,000 kg at Rp1,650; the plain
    // mean of the four lines would be Rp1,642.50), the same figure the office's indicators show as weighted mean.
    assert_eq!(
        season.gql(&season.supplier_b, published, json!({})).await.data()["publishedPrices"],
        json!([{ "commodityCode": "UREA-SUB", "month": "2026-11-01", "mean": "1637.50", "observations": 4 }])
    );
    let whole_city = json!({ "commodityCode": "UREA-SUB", "period": "MONTH", "from": "2026-11-01", "to": "2026-11-30", "byArea": false });
    let indicators = season.gql(&season.agency, INDICATORS, json!({ "i": whole_city })).await;
    assert_eq!(indicators.data()["priceIndicators"][0]["weightedMean"], "1637.50");
}

#[tokio::test]
async fn a_price_above_the_het_raises_an_alert_that_reaches_the_agency_live() {
    let season = awarded_season().await;
    let mut live = Subscriber::connected(&season.app.address, &season.agency.access_token).await;
    // From cursor 0: nothing recorded while the subscription starts is missed.
    live.subscribe("subscription { priceAlerts(after: \"0\") { kecamatan price ceiling marketName } }", json!({}))
        .await;
    let mut refused = Subscriber::connected(&season.app.address, &season.cemorokandang.access_token).await;
    refused.subscribe("subscription { priceAlerts { price } }", json!({})).await;
    let refusal = refused.next(StdDuration::from_secs(10)).await.unwrap();
    assert_eq!(refusal["errors"][0]["extensions"]["code"], "FORBIDDEN");
    tokio::time::sleep(StdDuration::from_millis(200)).await;

    let recorded = season
        .gql(
            &season.agency,
            "mutation($i: MarketPriceInput!) { recordMarketPrice(input: $i) { accepted } }",
            json!({ "i": { "commodityCode": "UREA-SUB", "marketName": "Pasar Besar", "kecamatan": "Klojen",
                "city": "Kota Malang", "date": "2026-11-28", "price": "1850" } }),
        )
        .await;
    assert_eq!(recorded.data()["recordMarketPrice"]["accepted"], 1);
    let event = live.next(StdDuration::from_secs(10)).await.expect("the alert arrives live");
    assert_eq!(
        event["data"]["priceAlerts"],
        json!({ "kecamatan": "Klojen", "price": "1850", "ceiling": "1800", "marketName": "Pasar Besar" })
    );

    let alerts = season
        .gql(&season.agency, ALERTS, json!({ "i": { "commodityCode": "UREA-SUB", "from": "2026-11-01", "to": "2026-11-30", "source": "MARKET" } }))
        .await;
    let alerts = alerts.data()["priceAlerts"].as_array().unwrap().clone();
    let above = alerts.iter().find(|a| a["kind"] == "ABOVE_HET").expect("an ABOVE_HET alert");
    assert_eq!(above["value"], "1850");
    assert_eq!(above["threshold"], "1800");
    assert_eq!(above["marketNames"], json!(["Pasar Besar"]));

    // A bad single price is refused with its field and changes nothing.
    season
        .gql(
            &season.agency,
            "mutation($i: MarketPriceInput!) { recordMarketPrice(input: $i) { accepted } }",
            json!({ "i": { "commodityCode": "UREA-SUB", "marketName": "Pasar Besar", "kecamatan": "Klojen",
                "city": "Kota Malang", "date": "2026-11-28", "price": "-5" } }),
        )
        .await
        .expect_error("BAD_USER_INPUT");
    let (_, csv) = download(
        &season,
        Some(&season.agency),
        "/exports/price-alerts.csv?commodityCode=UREA-SUB&from=2026-11-01&to=2026-11-30&source=MARKET",
    )
    .await;
    assert_eq!(csv.lines().filter(|l| l.starts_with("ABOVE_HET")).count(), 1, "{csv}");
}

#[tokio::test]
async fn an_unstable_week_of_rice_prices_raises_instability_and_change_alerts() {
    let season = awarded_season().await;
    season
        .gql(
            &season.agency,
            "mutation { createCommodity(input: { code: \"BERAS-MED\", nameId: \"Beras medium\", nameEn: \"Medium rice\", unit: KG, category: STAPLE }) { code } }",
            json!({}),
        )
        .await
        .data();
    let mut csv = String::from("commodity_code,market,kelurahan,kecamatan,city,date,price\n");
    // A calm week (CV about 0.6 %), then a week of shortage and panic buying.
    for (day, price) in
        [("2026-11-16", "13000"), ("2026-11-17", "13100"), ("2026-11-18", "13200"), ("2026-11-19", "13100")]
    {
        csv.push_str(&format!("BERAS-MED,Pasar Besar,,Klojen,Kota Malang,{day},{price}\n"));
    }
    for (day, price) in
        [("2026-11-23", "13500"), ("2026-11-24", "15500"), ("2026-11-25", "17500"), ("2026-11-26", "16000")]
    {
        csv.push_str(&format!("BERAS-MED,Pasar Kebalen,,Klojen,Kota Malang,{day},{price}\n"));
    }
    // Another kecamatan, calm throughout: no alert there.
    csv.push_str("BERAS-MED,Pasar Dinoyo,,Lowokwaru,Kota Malang,2026-11-24,13000\n");
    assert_eq!(import(&season, &csv).await["accepted"], 9);
    let weekly = json!({ "i": { "commodityCode": "BERAS-MED", "period": "WEEK", "from": "2026-11-16", "to": "2026-11-28", "source": "MARKET", "kecamatan": "Klojen" } });
    let rows = season.gql(&season.agency, INDICATORS, weekly.clone()).await;
    let rows = rows.data()["priceIndicators"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["unstable"], false);
    assert_eq!(rows[1]["unstable"], true);
    // Mean 13,100 → 15,625: +19.27 %.
    assert_eq!(rows[1]["changePercent"], "19.27");
    // The CV's trend: from 0.62 % to 10.57 %.
    assert_eq!(rows[1]["cvChange"], "9.95");

    let everywhere = json!({ "i": { "commodityCode": "BERAS-MED", "period": "WEEK", "from": "2026-11-16", "to": "2026-11-28", "source": "MARKET" } });
    let alerts = season.gql(&season.agency, ALERTS, everywhere).await;
    let alerts = alerts.data()["priceAlerts"].as_array().unwrap().clone();
    let kinds: Vec<&str> = alerts.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["UNSTABLE", "PRICE_CHANGE"], "{alerts:?}");
    assert!(alerts.iter().all(|a| a["day"] == "2026-11-23" && a["kecamatan"] == "Klojen"));
    assert!(alerts.iter().all(|a| a["marketNames"] == json!(["Pasar Kebalen"])), "{alerts:?}");
    assert_eq!(alerts[0]["threshold"], "9");
}

#[tokio::test]
async fn red_flags_report_their_coverage_and_the_season_tender_raises_only_its_short_period() {
    let season = awarded_season().await;
    let report = season
        .gql(
            &season.agency,
            "{ tenderRedFlags { coverage { code computable fired } tenders { title fired flags { code fired } }
               suppliers { name bids won flags } buyers { name tenders submittedBids disqualifiedBids flags }
               concentration { kecamatan hhi dominantSharePercent concentrated } } }",
            json!({}),
        )
        .await;
    let report = report.data()["tenderRedFlags"].clone();
    let coverage = |code: &str| {
        report["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code}"))
    };
    // One evaluated tender with three responsive bids: the tender flags could all be computed but R024/R058, which
    // need at least four tenders to tell an outlier.
    for code in ["R018", "R028", "R036", "R035", "LMB-HET", "LMB-MAX"] {
        assert_eq!(coverage(code), json!({ "code": code, "computable": 1, "fired": 0 }));
    }
    // The outlier flags need four of a kind to compare: three suppliers bid, one office bought, nobody won 20 tenders.
    for code in ["R024", "R058", "R025", "R038", "R038-BUYER", "R048"] {
        assert_eq!(coverage(code)["computable"], 0, "{code}");
    }
    assert_eq!(
        report["buyers"],
        json!([{ "name": "Diskopindag Kota Malang", "tenders": 1, "submittedBids": 3, "disqualifiedBids": 0, "flags": [] }])
    );
    // The scenario gives suppliers 2 days 4 hours, under R003's 7 days for an open procedure: the one flag it raises.
    assert_eq!(coverage("R003"), json!({ "code": "R003", "computable": 1, "fired": 1 }));
    assert_eq!(report["tenders"][0]["fired"], json!(["R003"]));
    // BUMN carries 14,000 of 24,000 kg in Kedungkandang: HHI 41.67² + 58.33² = 5,138.89, highly concentrated.
    assert_eq!(
        report["concentration"],
        json!([{ "kecamatan": "Kedungkandang", "hhi": "5138.89", "dominantSharePercent": "58.33", "concentrated": true }])
    );
    let bumn = report["suppliers"].as_array().unwrap().iter().find(|s| s["name"] == "BUMN Pupuk").unwrap().clone();
    assert_eq!((bumn["bids"].as_u64(), bumn["won"].as_u64()), (Some(1), Some(1)));
    season
        .gql(&season.supplier_a, "{ tenderRedFlags { tenders { title } } }", json!({}))
        .await
        .expect_error("FORBIDDEN");
}

/// The OCDS 1.1.5 schemas, read offline from the repository's test fixtures (`tests/fixtures/ocds-1.1.5`).
fn ocds_schema(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ocds-1.1.5").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The lots extension refers to `#/definitions/SubmissionTerms`, which belongs to another extension and is not in the
/// merged schema. Lumbung never emits `submissionTerms`; each such missing definition is stood in for by an object.
fn define_dangling_references(schema: &mut Value) {
    fn references(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref")
                    && let Some(name) = target.strip_prefix("#/definitions/")
                {
                    found.push(name.to_owned());
                }
                map.values().for_each(|v| references(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    references(schema, &mut found);
    for name in found {
        if schema["definitions"].get(&name).is_none() {
            schema["definitions"][name] = json!({ "type": ["object", "null"] });
        }
    }
}

/// Validates a package: each release against the release schema with both extensions, and the package against the
/// package schema (whose release `$ref` points online, so releases are checked on their own).
pub(crate) fn assert_valid_package(package: &Value) {
    let mut release_schema = ocds_schema("release-schema-with-bids-and-lots.json");
    define_dangling_references(&mut release_schema);
    let release_schema = jsonschema::draft4::new(&release_schema).unwrap();
    let mut package_schema = ocds_schema("release-package-schema.json");
    package_schema["properties"]["releases"]["items"] = json!({ "type": "object" });
    let package_schema = jsonschema::draft4::new(&package_schema).unwrap();
    let errors: Vec<String> =
        package_schema.iter_errors(package).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "package: {errors:#?}");
    for release in package["releases"].as_array().unwrap() {
        let errors: Vec<String> =
            release_schema.iter_errors(release).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "release {}: {errors:#?}", release["id"]);
    }
}

#[tokio::test]
async fn the_ocds_export_follows_the_process_and_validates_against_the_schemas() {
    let season = awarded_season().await;
    let orders = season
        .gql(&season.supplier_a, "{ purchaseOrders(first: 5) { edges { node { id lines { id } } } } }", json!({}))
        .await;
    let order = orders.data()["purchaseOrders"]["edges"][0]["node"].clone();
    season
        .gql(
            &season.supplier_a,
            "mutation($id: ID!) { acceptPurchaseOrder(id: $id) { status } }",
            json!({ "id": order["id"] }),
        )
        .await
        .data();
    season.app.clock.set(at("2026-12-02T08:00:00Z"));
    season
        .gql(
            &season.cemorokandang,
            "mutation($i: ConfirmDeliveryInput!) { confirmDelivery(input: $i) { status } }",
            json!({ "i": { "orderId": order["id"], "receivedAt": "2026-12-02T07:00:00Z", "receiverName": "Bu Sri",
                "lines": [{ "orderLineId": order["lines"][0]["id"], "received": "6000", "accepted": "5900", "rejected": "100", "rejectionReason": "DAMAGED" }] } }),
        )
        .await
        .data();
    let tenders = season.gql(&season.agency, "{ tenders(first: 5) { edges { node { id } } } }", json!({})).await;
    let tender_id = tenders.data()["tenders"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();

    let package = season
        .gql(&season.agency, "query($id: ID!) { ocdsReleasePackage(tenderId: $id) }", json!({ "id": tender_id }))
        .await;
    let package = package.data()["ocdsReleasePackage"].clone();
    assert_valid_package(&package);
    let tags: Vec<&str> =
        package["releases"].as_array().unwrap().iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
    assert_eq!(tags, vec!["tender", "award", "contract", "implementation"]);
    let implementation = &package["releases"][3];
    assert_eq!(implementation["ocid"], format!("ocds-lmbng1-{tender_id}"));
    assert_eq!(implementation["bids"]["details"].as_array().unwrap().len(), 3);
    let awards = implementation["awards"].as_array().unwrap();
    assert_eq!(awards.len(), 2);
    assert!(awards.iter().all(|a| a["relatedBid"].is_string() && a["status"] == "active"));
    assert_eq!(implementation["contracts"].as_array().unwrap().len(), 4);
    let milestones: Vec<&Value> = implementation["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["implementation"]["milestones"].as_array().unwrap())
        .collect();
    assert!(milestones.iter().any(|m| m["status"] == "partiallyMet"), "{milestones:?}");
    let bumn =
        implementation["parties"].as_array().unwrap().iter().find(|p| p["name"] == "BUMN Pupuk").unwrap().clone();
    assert_eq!(bumn["details"]["stateOwned"], true);
    assert_eq!(bumn["roles"], json!(["tenderer", "supplier", "payee"]));

    // The same over HTTP, and in bulk as JSON Lines.
    let (status, text) = download(&season, Some(&season.agency), &format!("/exports/ocds/{tender_id}.json")).await;
    assert_eq!(status, 200);
    assert_valid_package(&serde_json::from_str(&text).unwrap());
    let (status, lines) = download(&season, Some(&season.agency), "/exports/ocds.jsonl").await;
    assert_eq!(status, 200);
    assert_eq!(lines.lines().count(), 1);
    for line in lines.lines() {
        assert_valid_package(&serde_json::from_str(line).unwrap());
    }
    assert_eq!(download(&season, Some(&season.supplier_a), "/exports/ocds.jsonl").await.0, 403);
}

#[tokio::test]
async fn nothing_about_bids_is_exported_before_the_deadline() {
    let season = season().await;
    pool_demand(&season).await;
    let (tender_id, lot) = season.tender(2).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    // Prices no id or instant can contain (a dot and cents), so a match can only be a leak.
    season.bid(&season.supplier_a, &lot, "1623.45", "10000", 5, None).await.data();
    season.bid(&season.bumn, &lot, "1651.55", "24000", 7, None).await.data();
    let package = season
        .gql(&season.agency, "query($id: ID!) { ocdsReleasePackage(tenderId: $id) }", json!({ "id": tender_id }))
        .await;
    let package = package.data()["ocdsReleasePackage"].clone();
    assert_valid_package(&package);
    assert_eq!(package["releases"].as_array().unwrap().len(), 1);
    let release = &package["releases"][0];
    assert_eq!(release["tender"]["status"], "active");
    assert!(release.get("bids").is_none() && release.get("awards").is_none());
    assert!(release["tender"].get("tenderers").is_none() && release["tender"].get("numberOfTenderers").is_none());
    let text = package.to_string();
    for secret in ["1623.45", "1651.55", "Supplier A", "BUMN"] {
        assert!(!text.contains(secret), "{secret} leaked into the export");
    }
    let (_, bulk) = download(&season, Some(&season.agency), "/exports/ocds.jsonl").await;
    assert!(!bulk.contains("1623.45") && !bulk.contains("1651.55") && !bulk.contains("BUMN"));
}

#[tokio::test]
async fn a_tender_with_one_responsive_bid_near_the_ceiling_is_flagged() {
    let season = season().await;
    pool_demand(&season).await;
    // One responsive bid is enough for this tender; Supplier C bids above the maximum price and is disqualified.
    let (tender_id, lot) = season.tender(1).await;
    season.app.clock.set(at(BIDDING_START) + Duration::hours(1));
    season.bid(&season.supplier_a, &lot, "1690", "24000", 5, None).await.data();
    season.bid(&season.supplier_c, &lot, "1750", "24000", 3, None).await.data();
    season.app.clock.set(at(crate::tendering::DEADLINE));
    crate::tendering::wait_until_closed(&season, &tender_id).await;
    season
        .gql(&season.agency, "mutation($id: ID!) { confirmAward(id: $id) { status } }", json!({ "id": tender_id }))
        .await
        .data();
    let report = season
        .gql(&season.agency, "{ tenderRedFlags { coverage { code computable fired } tenders { fired } } }", json!({}))
        .await;
    let report = report.data()["tenderRedFlags"].clone();
    let mut fired: Vec<String> =
        report["tenders"][0]["fired"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    fired.sort();
    // A single responsive bid (R018), every other bid disqualified (R035), awarded at 1,690: within 1 % of 1,700; and
    // the scenario's short bidding period (R003).
    assert_eq!(fired, vec!["LMB-MAX", "R003", "R018", "R035"]);
    let coverage =
        |code: &str| report["coverage"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap().clone();
    assert_eq!(coverage("R018"), json!({ "code": "R018", "computable": 1, "fired": 1 }));
    assert_eq!(coverage("R036"), json!({ "code": "R036", "computable": 1, "fired": 0 }));
    // The CSV download carries the same.
    let (status, csv) = download(&season, Some(&season.agency), "/exports/red-flags.csv").await;
    assert_eq!(status, 200);
    assert!(csv.lines().any(|l| l.ends_with(",R018,true")), "{csv}");
    assert!(csv.lines().any(|l| l.ends_with(",R028,false")), "{csv}");
}
