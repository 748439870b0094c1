//! How the console writes values for people: rupiah and quantities as Indonesians write them, instants in WIB, time
//! left, and statuses, units and reasons in the page's language. Pure functions over the API's JSON.

use chrono::{DateTime, Utc};
use domain::{
    clock::{Language, time_left, wib},
    money::{format_rupiah, indonesian_number},
};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::state::AppState;

/// A JSON string as text ("" when absent).
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn decimal(value: &Value) -> Decimal {
    value.as_str().and_then(|text| text.parse().ok()).unwrap_or_default()
}

pub fn rupiah(value: &Value) -> String {
    if value.is_null() { "–".into() } else { format_rupiah(decimal(value)) }
}

pub fn number(value: &Value) -> String {
    if value.is_null() { "–".into() } else { indonesian_number(decimal(value)) }
}

/// An instant as people in Malang read it: `27-11-2026 09:00 WIB`.
pub fn in_wib(value: &Value) -> String {
    value
        .as_str()
        .and_then(|text| text.parse::<DateTime<Utc>>().ok())
        .map(|instant| format!("{} WIB", instant.with_timezone(&wib()).format("%d-%m-%Y %H:%M")))
        .unwrap_or_default()
}

pub fn left(state: &AppState, value: &Value, language: Language) -> String {
    value
        .as_str()
        .and_then(|text| text.parse::<DateTime<Utc>>().ok())
        .map(|deadline| time_left(state.services.clock.now(), deadline, language))
        .unwrap_or_default()
}

pub fn edges(value: &Value) -> Vec<Value> {
    value["edges"].as_array().map(|edges| edges.iter().map(|edge| edge["node"].clone()).collect()).unwrap_or_default()
}

/// A status as people read it (the code stays as the badge's class).
pub fn status_label(code: &str, language: Language) -> &'static str {
    let english = language == Language::English;
    match (code, english) {
        ("ISSUED", false) => "Menunggu diterima pemasok",
        ("ISSUED", true) => "Waiting for the supplier",
        ("ACCEPTED", false) => "Diterima pemasok",
        ("ACCEPTED", true) => "Accepted by the supplier",
        ("DECLINED", false) => "Ditolak pemasok",
        ("DECLINED", true) => "Declined",
        ("PARTIALLY_DELIVERED", false) => "Sebagian diterima",
        ("PARTIALLY_DELIVERED", true) => "Partly delivered",
        ("DELIVERED", false) => "Diterima lengkap",
        ("DELIVERED", true) => "Delivered",
        ("CLOSED", false) => "Selesai",
        ("CLOSED", true) => "Closed",
        ("CANCELLED", false) => "Dibatalkan",
        ("CANCELLED", true) => "Cancelled",
        ("DRAFT", false) => "Draf",
        ("DRAFT", true) => "Draft",
        ("OPEN", false) => "Dibuka",
        ("OPEN", true) => "Open",
        ("FROZEN", false) => "Ditutup untuk permintaan",
        ("FROZEN", true) => "Frozen",
        ("TENDERED", false) => "Sudah ditenderkan",
        ("TENDERED", true) => "Tendered",
        ("AWARDED", false) => "Sudah ada pemenang",
        ("AWARDED", true) => "Awarded",
        ("UNSUCCESSFUL", false) => "Tidak berhasil",
        ("UNSUCCESSFUL", true) => "Unsuccessful",
        ("ACTIVE", false) => "Berlaku",
        ("ACTIVE", true) => "Active",
        ("WITHDRAWN", false) => "Ditarik",
        ("WITHDRAWN", true) => "Withdrawn",
        (_, _) => "",
    }
}

pub fn rejection_reasons(language: Language) -> Vec<(&'static str, &'static str)> {
    let english = language == Language::English;
    vec![
        ("DAMAGED", if english { "Damaged" } else { "Rusak" }),
        ("SHORT_WEIGHT", if english { "Short weight" } else { "Berat kurang" }),
        ("WRONG_PRODUCT", if english { "Wrong product" } else { "Barang salah" }),
        ("QUALITY", if english { "Poor quality" } else { "Mutu buruk" }),
        ("EXPIRED", if english { "Expired" } else { "Kedaluwarsa" }),
        ("OTHER", if english { "Other (say what)" } else { "Lainnya (sebutkan)" }),
    ]
}

pub fn unit(code: &str, language: Language) -> &'static str {
    let english = language == Language::English;
    match code {
        "KG" => "kg",
        "LITRE" => {
            if english {
                "litre"
            } else {
                "liter"
            }
        }
        "CYLINDER" => {
            if english {
                "cylinder"
            } else {
                "tabung"
            }
        }
        "GALLON" => {
            if english {
                "gallon"
            } else {
                "galon"
            }
        }
        "SACK_50KG" => {
            if english {
                "50 kg sack"
            } else {
                "karung 50 kg"
            }
        }
        _ => "",
    }
}

/// A number as a person typed it, for the API: `15.000` (dots group thousands, as Indonesians write) is fifteen
/// thousand, `1.000,5` and `1000.5` are a thousand and a half. What does not read as a number is passed on as typed, so
/// the API refuses it with its own message.
pub fn typed_number(typed: &str) -> String {
    domain::money::parse_rupiah(typed).map_or_else(|| typed.trim().to_owned(), |value| value.normalize().to_string())
}

#[cfg(test)]
mod tests {
    use super::typed_number;

    #[test]
    fn numbers_read_as_people_type_them() {
        assert_eq!(typed_number("15.000"), "15000");
        assert_eq!(typed_number("15000"), "15000");
        assert_eq!(typed_number("1.000,5"), "1000.5");
        assert_eq!(typed_number("1000.5"), "1000.5");
        assert_eq!(typed_number("1,5"), "1.5");
        assert_eq!(typed_number(" lima ratus "), "lima ratus");
    }
}
