//! The commodity catalogue and its price references (HET ceilings and reference prices).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{RuleError, identity::bounded_text};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(value: &str) -> Result<Self, RuleError> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|item| item.as_str() == value)
                    .ok_or_else(|| RuleError::invalid(stringify!($name), format!("unknown value {value:?}")))
            }
        }
    };
}

text_enum! {
    /// The unit a commodity is counted in; every quantity of it carries this unit.
    Unit {
        Kilogram => "KG",
        Litre => "LITRE",
        /// An LPG cylinder (tabung).
        Cylinder => "CYLINDER",
        /// A refill-water gallon (galon, 19 litres).
        Gallon => "GALLON",
        /// A sack (karung) of 50 kg.
        Sack50Kg => "SACK_50KG",
    }
}

impl Unit {
    /// How the unit is written for people in Indonesia (in messages, not in the API).
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Kilogram => "kg",
            Self::Litre => "liter",
            Self::Cylinder => "tabung",
            Self::Gallon => "galon",
            Self::Sack50Kg => "karung 50 kg",
        }
    }
}

text_enum! {
    /// What kind of goods a commodity is; suppliers declare the categories they sell.
    Category {
        /// Pupuk subsidi: sold at no more than its HET, within each cooperative's RDKK allocation.
        SubsidisedFertiliser => "SUBSIDISED_FERTILISER",
        /// Non-subsidised and organic fertiliser.
        Fertiliser => "FERTILISER",
        /// Sembako: rice, cooking oil, sugar, eggs …
        Staple => "STAPLE",
        Lpg => "LPG",
        Water => "WATER",
    }
}

text_enum! {
    /// Which kind of price a reference is.
    PriceKind {
        /// Harga Eceran Tertinggi: the highest retail price set by the government.
        Het => "HET",
        /// For goods without an HET: the price the office monitors against (market survey).
        Reference => "REFERENCE",
    }
}

text_enum! {
    /// How wide an area a price reference covers.
    AreaScope {
        National => "NATIONAL",
        Province => "PROVINCE",
        City => "CITY",
    }
}

impl AreaScope {
    /// Narrower areas override wider ones.
    fn specificity(self) -> u8 {
        match self {
            Self::National => 0,
            Self::Province => 1,
            Self::City => 2,
        }
    }
}

/// The area a price reference applies to: the whole country, or one named province or city.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PriceArea {
    pub scope: AreaScope,
    /// Empty for national; otherwise the province or city name as written in the catalogue.
    pub name: String,
}

impl PriceArea {
    pub fn parse(scope: AreaScope, name: Option<&str>) -> Result<Self, RuleError> {
        let name = name.map(str::trim).unwrap_or_default();
        match (scope, name.is_empty()) {
            (AreaScope::National, true) => Ok(Self { scope, name: String::new() }),
            (AreaScope::National, false) => Err(RuleError::invalid("areaName", "a national price has no area name")),
            (_, true) => Err(RuleError::invalid("areaName", "a province or city price needs the area's name")),
            (_, false) => Ok(Self { scope, name: bounded_text("areaName", name, 2, 80)? }),
        }
    }

    fn covers(&self, place: &Place) -> bool {
        match self.scope {
            AreaScope::National => true,
            AreaScope::Province => place.province.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&self.name)),
            AreaScope::City => place.city.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&self.name)),
        }
    }
}

/// Where a buyer is, for choosing which price reference applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub province: Option<String>,
    pub city: Option<String>,
}

/// One price reference of a commodity: from `effective_from` on, in `area`, until a later one replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceReference {
    pub kind: PriceKind,
    pub price: Decimal,
    pub area: PriceArea,
    pub effective_from: NaiveDate,
}

/// The reference of `kind` that applies at `place` on `day`: the most specific area that covers the place,
/// and within it the latest one already in effect. `None` when no reference applies.
pub fn applicable_price<'a>(
    references: &'a [PriceReference],
    kind: PriceKind,
    place: &Place,
    day: NaiveDate,
) -> Option<&'a PriceReference> {
    references
        .iter()
        .filter(|r| r.kind == kind && r.effective_from <= day && r.area.covers(place))
        .max_by_key(|r| (r.area.scope.specificity(), r.effective_from))
}

/// A commodity's catalogue code, e.g. `UREA-SUB`: 2–32 upper-case letters, digits and dashes.
pub fn commodity_code(value: &str) -> Result<String, RuleError> {
    let code = value.trim().to_uppercase();
    let well_formed = (2..=32).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        && !code.starts_with('-')
        && !code.ends_with('-');
    if well_formed {
        Ok(code)
    } else {
        Err(RuleError::invalid("code", "must be 2–32 letters, digits or dashes, e.g. UREA-SUB"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn reference(price: Decimal, scope: AreaScope, name: Option<&str>, from: &str) -> PriceReference {
        PriceReference {
            kind: PriceKind::Het,
            price,
            area: PriceArea::parse(scope, name).unwrap(),
            effective_from: day(from),
        }
    }

    #[test]
    fn the_latest_reference_in_effect_applies() {
        let references = [
            reference(dec!(2250), AreaScope::National, None, "2024-01-01"),
            reference(dec!(1800), AreaScope::National, None, "2025-10-22"),
        ];
        let anywhere = Place::default();
        assert_eq!(
            applicable_price(&references, PriceKind::Het, &anywhere, day("2025-10-21")).unwrap().price,
            dec!(2250)
        );
        assert_eq!(
            applicable_price(&references, PriceKind::Het, &anywhere, day("2025-10-22")).unwrap().price,
            dec!(1800)
        );
        assert!(applicable_price(&references, PriceKind::Het, &anywhere, day("2023-12-31")).is_none());
        assert!(applicable_price(&references, PriceKind::Reference, &anywhere, day("2026-01-01")).is_none());
    }

    #[test]
    fn a_narrower_area_overrides_a_wider_one_only_where_it_applies() {
        let references = [
            reference(dec!(19000), AreaScope::National, None, "2025-01-01"),
            reference(dec!(18000), AreaScope::Province, Some("Jawa Timur"), "2024-01-01"),
        ];
        let malang = Place { province: Some("Jawa Timur".into()), city: Some("Kota Malang".into()) };
        let medan = Place { province: Some("Sumatera Utara".into()), city: Some("Kota Medan".into()) };
        let on = day("2026-11-28");
        assert_eq!(applicable_price(&references, PriceKind::Het, &malang, on).unwrap().price, dec!(18000));
        assert_eq!(applicable_price(&references, PriceKind::Het, &medan, on).unwrap().price, dec!(19000));
    }

    #[test]
    fn areas_and_codes_are_validated() {
        assert!(PriceArea::parse(AreaScope::National, Some("Jawa Timur")).is_err());
        assert!(PriceArea::parse(AreaScope::City, None).is_err());
        assert_eq!(commodity_code(" urea-sub ").unwrap(), "UREA-SUB");
        assert!(commodity_code("UREA SUB").is_err());
        assert!(commodity_code("-X").is_err());
        for unit in Unit::ALL {
            assert_eq!(Unit::parse(unit.as_str()).unwrap(), *unit);
        }
    }
}
