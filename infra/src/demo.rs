//! Demo data for `lumbung serve --demo`: Diskopindag Kota Malang, the eight active Malang cooperatives,
//! suppliers (two of them BUMN) and the catalogue with today's ceilings. Figures follow `shared/SCENARIOS.md`.

use chrono::NaiveDate;
use domain::{
    access::Actor,
    commodity::{AreaScope, Category, PriceKind, Unit},
    organisation::OrganisationKind,
};
use domain::{bid::ProposedOffer, clock::Clock};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{
    ServiceError,
    catalogue::{CommodityInput, PriceReferenceInput},
    error::ServiceResult,
    identity::{DeliveryPointInput, FirstUserInput, OrganisationInput},
    pooling::{DemandLineInput, PoolInput},
    services::Services,
};

/// The one password every demo login uses. Demo data is for a laptop, never for production.
pub const DEMO_PASSWORD: &str = "lumbung-demo-2026";

/// A login printed for the person trying the demo.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub organisation: String,
    pub role: &'static str,
    pub email: String,
}

const CITY: &str = "Kota Malang";
const PROVINCE: &str = "Jawa Timur";

/// The eight active cooperatives of Malang: (name suffix, kelurahan, kecamatan).
pub const MALANG_COOPERATIVES: [(&str, &str, &str); 8] = [
    ("Bumiayu", "Bumiayu", "Kedungkandang"),
    ("Bandulan", "Bandulan", "Sukun"),
    ("Dinoyo", "Dinoyo", "Lowokwaru"),
    ("Sawojajar", "Sawojajar", "Kedungkandang"),
    ("Bandungrejosari", "Bandungrejosari", "Sukun"),
    ("Madyopuro", "Madyopuro", "Kedungkandang"),
    ("Kedungkandang", "Kedungkandang", "Kedungkandang"),
    ("Cemorokandang", "Cemorokandang", "Kedungkandang"),
];

/// Suppliers: (name, e-mail, BUMN, categories).
const SUPPLIERS: [(&str, &str, bool, &[Category]); 6] = [
    (
        "PT Pupuk Indonesia (Persero) Pemasaran Jawa Timur",
        "penjualan@pupuk-indonesia.demo",
        true,
        &[Category::SubsidisedFertiliser, Category::Fertiliser],
    ),
    ("Perum BULOG Kanwil Jawa Timur", "penjualan@bulog.demo", true, &[Category::Staple]),
    ("CV Tani Makmur Malang", "sales@tanimakmur.demo", false, &[Category::SubsidisedFertiliser, Category::Fertiliser]),
    ("UD Sri Rejeki Pupuk", "sales@srirejeki.demo", false, &[Category::SubsidisedFertiliser]),
    ("PT Lancar Agro Distribusi", "sales@lancaragro.demo", false, &[Category::SubsidisedFertiliser]),
    (
        "UD Sumber Pangan Arjosari",
        "sales@sumberpangan.demo",
        false,
        &[Category::Staple, Category::Lpg, Category::Water],
    ),
];

/// (code, Indonesian name, English name, unit, category, kind, price, area scope, area name, effective from, note)
type CatalogueRow = (
    &'static str,
    &'static str,
    &'static str,
    Unit,
    Category,
    PriceKind,
    i64,
    AreaScope,
    Option<&'static str>,
    (i32, u32, u32),
    &'static str,
);

const CATALOGUE: [CatalogueRow; 9] = [
    (
        "UREA-SUB",
        "Pupuk Urea bersubsidi",
        "Subsidised urea fertiliser",
        Unit::Kilogram,
        Category::SubsidisedFertiliser,
        PriceKind::Het,
        1_800,
        AreaScope::National,
        None,
        (2025, 10, 22),
        "HET pupuk bersubsidi, turun 20% mulai 22 Oktober 2025",
    ),
    (
        "NPK-SUB",
        "Pupuk NPK bersubsidi",
        "Subsidised NPK fertiliser",
        Unit::Kilogram,
        Category::SubsidisedFertiliser,
        PriceKind::Het,
        1_840,
        AreaScope::National,
        None,
        (2025, 10, 22),
        "HET pupuk bersubsidi, turun 20% mulai 22 Oktober 2025",
    ),
    (
        "ORGANIK-SUB",
        "Pupuk organik bersubsidi",
        "Subsidised organic fertiliser",
        Unit::Kilogram,
        Category::SubsidisedFertiliser,
        PriceKind::Het,
        640,
        AreaScope::National,
        None,
        (2025, 10, 22),
        "HET pupuk bersubsidi, turun 20% mulai 22 Oktober 2025",
    ),
    (
        "BERAS-MEDIUM",
        "Beras medium",
        "Medium-grade rice",
        Unit::Kilogram,
        Category::Staple,
        PriceKind::Het,
        13_500,
        AreaScope::Province,
        Some(PROVINCE),
        (2025, 8, 22),
        "HET zona 1",
    ),
    (
        "BERAS-PREMIUM",
        "Beras premium",
        "Premium rice",
        Unit::Kilogram,
        Category::Staple,
        PriceKind::Het,
        14_900,
        AreaScope::Province,
        Some(PROVINCE),
        (2025, 8, 22),
        "HET zona 1",
    ),
    (
        "MINYAKITA",
        "Minyak goreng Minyakita",
        "Minyakita cooking oil",
        Unit::Litre,
        Category::Staple,
        PriceKind::Het,
        15_700,
        AreaScope::National,
        None,
        (2024, 8, 14),
        "HET Minyakita",
    ),
    (
        "LPG-3KG",
        "LPG 3 kg",
        "3 kg LPG cylinder",
        Unit::Cylinder,
        Category::Lpg,
        PriceKind::Het,
        18_000,
        AreaScope::Province,
        Some(PROVINCE),
        (2025, 1, 1),
        "HET LPG 3 kg Jawa Timur",
    ),
    (
        "TELUR-AYAM",
        "Telur ayam ras",
        "Chicken eggs",
        Unit::Kilogram,
        Category::Staple,
        PriceKind::Reference,
        30_000,
        AreaScope::City,
        Some(CITY),
        (2026, 11, 1),
        "Harga acuan (survei pasar)",
    ),
    (
        "AIR-GALON-19L",
        "Air minum isi ulang 19 l",
        "Refill drinking water, 19 l",
        Unit::Gallon,
        Category::Water,
        PriceKind::Reference,
        5_000,
        AreaScope::City,
        Some(CITY),
        (2026, 11, 1),
        "Harga acuan ilustratif",
    ),
];

fn simple_organisation(kind: OrganisationKind, name: &str, email: &str, person: &str) -> OrganisationInput {
    OrganisationInput {
        kind,
        name: name.into(),
        registration_number: None,
        kelurahan: None,
        kecamatan: None,
        city: Some(CITY.into()),
        province: Some(PROVINCE.into()),
        is_state_owned: false,
        categories: vec![],
        delivery_points: vec![],
        first_user: FirstUserInput { email: email.into(), name: person.into(), password: DEMO_PASSWORD.into() },
    }
}

/// Seeds the demo into an empty database and returns the logins; refuses a database that already has data.
pub async fn seed(services: &Services, settings: &crate::config::Settings) -> ServiceResult<Vec<DemoLogin>> {
    if !services.identity.is_empty().await? {
        return Err(ServiceError::Conflict(
            "the database already has data; demo data goes only into an empty one".into(),
        ));
    }
    let mut logins = Vec::new();
    let mut add = |organisation: &str, role: &'static str, email: &str| {
        logins.push(DemoLogin { organisation: organisation.into(), role, email: email.into() });
    };

    let identity = &services.identity;
    identity.create_platform_admin("admin@lumbung.demo", "Admin Platform", DEMO_PASSWORD).await?;
    add("Lumbung Platform", "PLATFORM_ADMIN", "admin@lumbung.demo");

    let agency = "Diskopindag Kota Malang";
    let email = "analis@diskopindag-malang.demo";
    let agency_registered = identity
        .create_verified_unattended(simple_organisation(OrganisationKind::Agency, agency, email, "Rina Analis"))
        .await?;
    let agency_actor = actor(&agency_registered);
    add(agency, "AGENCY_ANALYST", email);

    let mut cooperatives: Vec<(String, Actor)> = Vec::new();
    for (index, (place, kelurahan, kecamatan)) in MALANG_COOPERATIVES.iter().enumerate() {
        let name = format!("Koperasi Kelurahan Merah Putih {place}");
        let email = format!("{}@kmp.demo", place.to_lowercase());
        let mut input =
            simple_organisation(OrganisationKind::Cooperative, &name, &email, &format!("Pengurus KMP {place}"));
        input.registration_number = Some(format!("AHU-{:07}.AH.01.29.TAHUN 2025", 1_000 + index));
        input.kelurahan = Some((*kelurahan).into());
        input.kecamatan = Some((*kecamatan).into());
        input.delivery_points = vec![DeliveryPointInput {
            name: format!("Gerai KMP {place}"),
            address: format!("Kantor Kelurahan {kelurahan}, Kecamatan {kecamatan}, Kota Malang"),
            kelurahan: (*kelurahan).into(),
            kecamatan: (*kecamatan).into(),
            city: CITY.into(),
        }];
        let registered = identity.create_verified_unattended(input).await?;
        cooperatives.push((place.to_string(), actor(&registered)));
        add(&name, "COOP_STAFF", &email);
    }

    let mut suppliers: Vec<(String, Actor)> = Vec::new();
    for (name, email, state_owned, categories) in SUPPLIERS {
        let mut input = simple_organisation(OrganisationKind::Supplier, name, email, &format!("Sales {name}"));
        input.is_state_owned = state_owned;
        input.categories = categories.to_vec();
        let registered = identity.create_verified_unattended(input).await?;
        suppliers.push((email.to_string(), actor(&registered)));
        add(name, "SUPPLIER_SALES", email);
    }

    for (code, name_id, name_en, unit, category, kind, price, scope, area, (y, m, d), note) in CATALOGUE {
        services
            .catalogue
            .create_commodity(
                None,
                CommodityInput { code: code.into(), name_id: name_id.into(), name_en: name_en.into(), unit, category },
            )
            .await?;
        let effective_from =
            NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| ServiceError::internal("bad date in demo catalogue"))?;
        services
            .catalogue
            .set_price_reference(
                None,
                PriceReferenceInput {
                    commodity_code: code.into(),
                    kind,
                    price: Decimal::from(price),
                    area_scope: scope,
                    area_name: area.map(Into::into),
                    effective_from,
                    note: Some(note.into()),
                },
            )
            .await?;
    }
    open_urea_pool(services, &agency_actor, &cooperatives).await?;
    survey_markets(services, &agency_actor).await?;
    let people = People { agency: agency_actor, cooperatives, suppliers };
    living_season(services, settings, &people).await?;
    Ok(logins)
}

/// The demo's actors by name.
struct People {
    agency: Actor,
    cooperatives: Vec<(String, Actor)>,
    /// By e-mail address.
    suppliers: Vec<(String, Actor)>,
}

impl People {
    fn cooperative(&self, place: &str) -> ServiceResult<&Actor> {
        self.cooperatives
            .iter()
            .find(|(name, _)| name == place)
            .map(|(_, actor)| actor)
            .ok_or_else(|| ServiceError::internal(format!("demo cooperative {place} missing")))
    }

    fn supplier(&self, email: &str) -> ServiceResult<&Actor> {
        self.suppliers
            .iter()
            .find(|(address, _)| address == email)
            .map(|(_, actor)| actor)
            .ok_or_else(|| ServiceError::internal(format!("demo supplier {email} missing")))
    }
}

/// What a newcomer needs to see every screen at work, dated relative to today so that the demo never goes stale: an
/// NPK tender awarded three weeks ago whose orders were delivered (one with a rejection and the supplier's answer), a
/// rice tender awarded yesterday whose orders wait to be accepted and dispatched, and an organic-fertiliser tender open
/// for bids now (its deadline two days ahead, one bid in). The past is played through the same use cases on a clock
/// of its own, so every record, price observation and audit entry is what the season would have left.
async fn living_season(services: &Services, settings: &crate::config::Settings, people: &People) -> ServiceResult<()> {
    let now = services.clock.now();
    let clock = crate::clock::ManualClock::starting_at(now - chrono::Duration::days(24));
    let past = Services::new(services.db.clone(), std::sync::Arc::new(clock.clone()), settings)
        .map_err(|error| ServiceError::internal(format!("demo history: {error}")))?;
    let agency = &people.agency;
    let tani_makmur = people.supplier("sales@tanimakmur.demo")?;
    let pupuk_indonesia = people.supplier("penjualan@pupuk-indonesia.demo")?;
    let sri_rejeki = people.supplier("sales@srirejeki.demo")?;
    let bulog = people.supplier("penjualan@bulog.demo")?;
    let sumber_pangan = people.supplier("sales@sumberpangan.demo")?;
    let offer = |price: i64, quantity: i64, lead: i32| ProposedOffer {
        unit_price: Decimal::from(price),
        quantity: Decimal::from(quantity),
        lead_time_days: lead,
        validity_days: 30,
    };

    // Three weeks ago: NPK for two Kedungkandang cooperatives, awarded and delivered.
    for (place, quantity) in [("Cemorokandang", 6_000), ("Madyopuro", 4_000)] {
        past.pooling
            .record_allocation(
                agency,
                people.cooperative(place)?.organisation_id,
                "NPK-SUB",
                SEASON,
                Decimal::from(quantity),
            )
            .await?;
    }
    let npk = pool_with_demand(
        &past,
        people,
        "NPK-SUB",
        vec!["Kedungkandang".into()],
        Some(SEASON),
        &[("Cemorokandang", 5_000), ("Madyopuro", 3_000)],
    )
    .await?;
    clock.advance(chrono::Duration::days(2) + chrono::Duration::hours(1));
    let (tender, lot) = published_tender(&past, agency, npk, chrono::Duration::days(3)).await?;
    for (supplier, bid) in [
        (tani_makmur, offer(1_790, 8_000, 5)),
        (pupuk_indonesia, offer(1_810, 8_000, 3)),
        (sri_rejeki, offer(1_835, 8_000, 7)),
    ] {
        past.tendering.submit_bid(supplier, lot, bid, None).await?;
    }
    clock.advance(chrono::Duration::days(3) + chrono::Duration::minutes(5));
    past.tendering.close(tender).await?;
    past.tendering.confirm_award(agency, tender).await?;
    let orders = orders_of(&past, tani_makmur).await?;
    clock.advance(chrono::Duration::hours(3));
    for order in &orders {
        past.ordering.accept(tani_makmur, order.id).await?;
    }
    clock.advance(chrono::Duration::days(2));
    for order in &orders {
        let lines = past.ordering.lines(&[order.id]).await?;
        let today = domain::clock::date_in_wib(clock.now());
        past.ordering
            .dispatch(
                tani_makmur,
                order.id,
                crate::ordering::DispatchInput {
                    lines: lines.iter().map(|line| (line.id, line.quantity)).collect(),
                    dispatched_on: today,
                    vehicle: "N 8123 KA".into(),
                    driver: "Pak Slamet".into(),
                    expected_arrival: today + chrono::Duration::days(1),
                },
            )
            .await?;
    }
    clock.advance(chrono::Duration::days(1));
    let mut answered = false;
    for order in &orders {
        let cooperative = people
            .cooperatives
            .iter()
            .find(|(_, actor)| actor.organisation_id == order.cooperative_id)
            .map(|(_, actor)| actor)
            .ok_or_else(|| ServiceError::internal("demo order without its cooperative"))?;
        let lines = past.ordering.lines(&[order.id]).await?;
        // Madyopuro finds a torn sack on the truck and refuses it.
        let torn = if order.cooperative_id == people.cooperative("Madyopuro")?.organisation_id { 50 } else { 0 };
        let confirmation = past
            .ordering
            .confirm_delivery(
                cooperative,
                order.id,
                crate::ordering::ConfirmationInput {
                    dispatch_id: None,
                    received_at: clock.now(),
                    receiver_name: "Pengurus gerai".into(),
                    note: None,
                    lines: lines
                        .iter()
                        .map(|line| crate::ordering::ReceiptLineInput {
                            order_line_id: line.id,
                            received: line.quantity,
                            accepted: line.quantity - Decimal::from(torn),
                            rejected: Decimal::from(torn),
                            reason: (torn > 0).then_some(domain::purchase_order::RejectionReason::Damaged),
                            reason_text: (torn > 0).then(|| "satu karung sobek".to_owned()),
                        })
                        .collect(),
                    idempotency_key: None,
                },
            )
            .await?;
        if torn > 0 && !answered {
            clock.advance(chrono::Duration::hours(4));
            past.ordering
                .respond_to_discrepancy(
                    tani_makmur,
                    confirmation.id,
                    "Maaf, karung rusak saat bongkar; 50 kg tidak ditagihkan.",
                )
                .await?;
            answered = true;
        } else {
            past.ordering.close(cooperative, order.id).await?;
        }
    }

    // Six days ago: medium rice for two cooperatives elsewhere in the city, and organic fertiliser in Kedungkandang.
    clock.set(now - chrono::Duration::days(6));
    let rice =
        pool_with_demand(&past, people, "BERAS-MEDIUM", vec![], None, &[("Dinoyo", 1_200), ("Bandulan", 800)]).await?;
    for (place, quantity) in [("Kedungkandang", 3_000), ("Bumiayu", 2_000)] {
        past.pooling
            .record_allocation(
                agency,
                people.cooperative(place)?.organisation_id,
                "ORGANIK-SUB",
                SEASON,
                Decimal::from(quantity),
            )
            .await?;
    }
    let organic_cutoff = chrono::Duration::days(5) - chrono::Duration::hours(1);
    let organic = pool_with_demand_until(
        &past,
        people,
        "ORGANIK-SUB",
        vec!["Kedungkandang".into()],
        Some(SEASON),
        &[("Kedungkandang", 2_500), ("Bumiayu", 1_500)],
        organic_cutoff,
    )
    .await?;
    clock.advance(chrono::Duration::days(2) + chrono::Duration::hours(1));
    let (rice_tender, rice_lot) = published_tender(&past, agency, rice, chrono::Duration::days(3)).await?;
    clock.advance(chrono::Duration::hours(1));
    past.tendering.submit_bid(bulog, rice_lot, offer(12_950, 2_000, 2), None).await?;
    past.tendering.submit_bid(sumber_pangan, rice_lot, offer(13_200, 2_000, 1), None).await?;
    // A day ago: the organic tender opens for three days, with one bid in.
    clock.set(now - chrono::Duration::days(1));
    let (_, organic_lot) = published_tender(&past, agency, organic, chrono::Duration::days(3)).await?;
    clock.advance(chrono::Duration::hours(2));
    past.tendering.submit_bid(tani_makmur, organic_lot, offer(620, 4_000, 4), None).await?;
    // The rice tender's deadline passed this morning: awarded, one order accepted (to dispatch), one still to accept.
    clock.set(now - chrono::Duration::hours(3));
    past.tendering.close(rice_tender).await?;
    past.tendering.confirm_award(agency, rice_tender).await?;
    clock.advance(chrono::Duration::hours(1));
    let dinoyo = people.cooperative("Dinoyo")?.organisation_id;
    for order in orders_of(&past, bulog).await? {
        if order.cooperative_id == dinoyo {
            past.ordering.accept(bulog, order.id).await?;
        }
    }
    Ok(())
}

/// A pool of `commodity` opened now (cut-off in two days) with the cooperatives' demand in.
async fn pool_with_demand(
    services: &Services,
    people: &People,
    commodity: &str,
    kecamatans: Vec<String>,
    season: Option<&str>,
    demand: &[(&str, i64)],
) -> ServiceResult<Uuid> {
    pool_with_demand_until(services, people, commodity, kecamatans, season, demand, chrono::Duration::days(2)).await
}

async fn pool_with_demand_until(
    services: &Services,
    people: &People,
    commodity: &str,
    kecamatans: Vec<String>,
    season: Option<&str>,
    demand: &[(&str, i64)],
    cutoff_after: chrono::Duration,
) -> ServiceResult<Uuid> {
    let now = services.clock.now();
    let today = domain::clock::date_in_wib(now);
    let pool = services
        .pooling
        .open_pool(
            &people.agency,
            PoolInput {
                commodity_code: commodity.into(),
                province: Some(PROVINCE.into()),
                city: CITY.into(),
                kecamatans,
                season: season.map(Into::into),
                delivery_first_day: today + chrono::Duration::days(8),
                delivery_last_day: today + chrono::Duration::days(20),
                cutoff: now + cutoff_after,
            },
        )
        .await?;
    for (place, quantity) in demand {
        let coop = people.cooperative(place)?;
        let points = services.identity.delivery_points_of(&[coop.organisation_id]).await?;
        let point = points.first().ok_or_else(|| ServiceError::internal("demo cooperative without delivery point"))?;
        services
            .pooling
            .add_line(
                coop,
                DemandLineInput {
                    pool_id: pool.id,
                    delivery_point_id: point.id,
                    quantity: Decimal::from(*quantity),
                    wanted_date: today + chrono::Duration::days(10),
                    idempotency_key: None,
                },
            )
            .await?;
    }
    Ok(pool.id)
}

/// A tender of a frozen pool, ceiling at the HET, published with bidding open from now for `bidding`.
async fn published_tender(
    services: &Services,
    agency: &Actor,
    pool_id: Uuid,
    bidding: chrono::Duration,
) -> ServiceResult<(Uuid, Uuid)> {
    let now = services.clock.now();
    let tender = services
        .tendering
        .create(
            agency,
            crate::tendering::TenderInput {
                pool_id,
                title: None,
                max_unit_price: None,
                reference_margin_percent: None,
                criterion: domain::tender::AwardCriterion::LowestPrice,
                partial_bids_allowed: false,
                min_partial_quantity: None,
                min_responsive_bids: 1,
                acceptance_days: 2,
                bidding_start: now,
                deadline: now + bidding,
                lot_per_kecamatan: false,
            },
        )
        .await?;
    services.tendering.publish(agency, tender.id).await?;
    let lots = services.tendering.lots_of(&[tender.id]).await?;
    let lot = lots.first().ok_or_else(|| ServiceError::internal("demo tender without a lot"))?;
    Ok((tender.id, lot.id))
}

async fn orders_of(services: &Services, supplier: &Actor) -> ServiceResult<Vec<crate::read_models::PurchaseOrder>> {
    let page =
        services.ordering.orders(supplier, None, crate::pagination::PageRequest { after: None, limit: 100 }).await?;
    Ok(page.items)
}

fn actor(registered: &crate::identity::Registered) -> Actor {
    let (organisation, user) = (&registered.organisation, &registered.user);
    Actor {
        user_id: user.id,
        organisation_id: organisation.id,
        organisation_kind: organisation.kind,
        organisation_status: organisation.status,
        role: user.role,
        is_organisation_admin: user.is_organisation_admin,
    }
}

/// The start of the season in SCENARIOS.md, so the demo has something to do: RDKK allocations for three
/// Kedungkandang cooperatives and an open pool for subsidised urea, with Cemorokandang's and Madyopuro's demand in.
/// Kedungkandang's 4,000 kg are left for the person trying the demo to add.
async fn open_urea_pool(services: &Services, agency: &Actor, cooperatives: &[(String, Actor)]) -> ServiceResult<()> {
    let now = services.clock.now();
    let cooperative = |name: &str| {
        cooperatives
            .iter()
            .find(|(place, _)| place == name)
            .map(|(_, actor)| actor.clone())
            .ok_or_else(|| ServiceError::internal(format!("demo cooperative {name} missing")))
    };
    for (name, quantity) in [("Cemorokandang", 15_000), ("Madyopuro", 9_000), ("Kedungkandang", 4_000)] {
        let coop = cooperative(name)?;
        services
            .pooling
            .record_allocation(agency, coop.organisation_id, "UREA-SUB", SEASON, Decimal::from(quantity))
            .await?;
    }
    let today = domain::clock::date_in_wib(now);
    let pool = services
        .pooling
        .open_pool(
            agency,
            PoolInput {
                commodity_code: "UREA-SUB".into(),
                province: Some(PROVINCE.into()),
                city: CITY.into(),
                kecamatans: vec!["Kedungkandang".into()],
                season: Some(SEASON.into()),
                delivery_first_day: today + chrono::Duration::days(5),
                delivery_last_day: today + chrono::Duration::days(19),
                cutoff: now + chrono::Duration::days(2),
            },
        )
        .await?;
    for (name, quantity) in [("Cemorokandang", 12_000), ("Madyopuro", 8_000)] {
        let coop = cooperative(name)?;
        let point = services.identity.delivery_points_of(&[coop.organisation_id]).await?;
        let point = point.first().ok_or_else(|| ServiceError::internal("demo cooperative without delivery point"))?;
        services
            .pooling
            .add_line(
                &coop,
                DemandLineInput {
                    pool_id: pool.id,
                    delivery_point_id: point.id,
                    quantity: Decimal::from(quantity),
                    wanted_date: today + chrono::Duration::days(7),
                    idempotency_key: None,
                },
            )
            .await?;
    }
    Ok(())
}

/// Two weeks of the office's daily market survey (urea, medium rice, Minyakita, eggs in five markets), so the price
/// indicators and alerts have something to show: rice creeps above its HET in the second week.
async fn survey_markets(services: &Services, agency: &Actor) -> ServiceResult<()> {
    const MARKETS: [(&str, &str); 5] = [
        ("Pasar Besar", "Klojen"),
        ("Pasar Blimbing", "Blimbing"),
        ("Pasar Dinoyo", "Lowokwaru"),
        ("Pasar Gadang", "Sukun"),
        ("Pasar Madyopuro", "Kedungkandang"),
    ];
    const PRICES: [(&str, i64, i64); 4] =
        [("UREA-SUB", 1_780, 10), ("BERAS-MEDIUM", 13_300, 25), ("MINYAKITA", 15_600, 20), ("TELUR-AYAM", 29_000, 150)];
    let today = domain::clock::date_in_wib(services.clock.now());
    let mut rows = Vec::new();
    for days_ago in (0..14).rev() {
        let date = today - chrono::Duration::days(days_ago);
        for (index, (market, kecamatan)) in MARKETS.iter().enumerate() {
            for (code, base, step) in PRICES {
                // A small spread between markets; rice rises through the second week.
                let spread = (index as i64 - 2) * step;
                let rise = if code == "BERAS-MEDIUM" && days_ago < 7 { (7 - days_ago) * 60 } else { 0 };
                rows.push((
                    rows.len() + 2,
                    Ok(crate::prices::SurveyInput {
                        commodity_code: code.into(),
                        market_name: (*market).into(),
                        kelurahan: None,
                        kecamatan: (*kecamatan).into(),
                        city: CITY.into(),
                        province: Some(PROVINCE.into()),
                        date,
                        price: Decimal::from(base + spread + rise),
                    }),
                ));
            }
        }
    }
    services.prices.record_survey(agency, rows).await?;
    Ok(())
}

/// The planting season the demo's RDKK allocations belong to.
pub const SEASON: &str = "2026-MT1";
