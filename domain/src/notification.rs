//! What Lumbung tells people by e-mail: the kinds of message, which of them a user may turn off, and their text.
//!
//! Every message is written in Bahasa Indonesia first with an English translation below, and shows instants in WIB.
//! A message never carries a bid's price or quantity to anyone but its own supplier: the texts here take only what
//! their recipient may read, so the callers cannot leak what they do not pass.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::{clock::wib, error::RuleError};

/// Where a queued e-mail stands: waiting (or retrying), sent, or given up after its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Pending,
    Sent,
    Failed,
}

impl OutboxStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Sent, Self::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| RuleError::invalid("status", format!("unknown outbox status {value:?}")))
    }
}

/// The kinds of e-mail. Each has a stable name used in storage and in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    TenderPublished,
    BidReceived,
    TenderClosingSoon,
    TenderAwarded,
    OrderIssued,
    OrderDeclined,
    OrderReAwarded,
    DispatchRecorded,
    DeliveryConfirmed,
    PriceAlert,
    OrganisationReviewed,
}

impl NotificationKind {
    pub const ALL: [Self; 11] = [
        Self::TenderPublished,
        Self::BidReceived,
        Self::TenderClosingSoon,
        Self::TenderAwarded,
        Self::OrderIssued,
        Self::OrderDeclined,
        Self::OrderReAwarded,
        Self::DispatchRecorded,
        Self::DeliveryConfirmed,
        Self::PriceAlert,
        Self::OrganisationReviewed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenderPublished => "TENDER_PUBLISHED",
            Self::BidReceived => "BID_RECEIVED",
            Self::TenderClosingSoon => "TENDER_CLOSING_SOON",
            Self::TenderAwarded => "TENDER_AWARDED",
            Self::OrderIssued => "ORDER_ISSUED",
            Self::OrderDeclined => "ORDER_DECLINED",
            Self::OrderReAwarded => "ORDER_RE_AWARDED",
            Self::DispatchRecorded => "DISPATCH_RECORDED",
            Self::DeliveryConfirmed => "DELIVERY_CONFIRMED",
            Self::PriceAlert => "PRICE_ALERT",
            Self::OrganisationReviewed => "ORGANISATION_REVIEWED",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| RuleError::invalid("kind", "is not a kind of notification"))
    }

    /// Whether a user may turn this kind off. Messages about the user's own money, orders, bids and standing stay
    /// on: only invitations to act (a new tender, a reminder, a market alert) are optional.
    pub fn is_optional(self) -> bool {
        matches!(self, Self::TenderPublished | Self::TenderClosingSoon | Self::PriceAlert)
    }
}

/// A rendered message: subject and plain-text body, both bilingual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText {
    pub subject: String,
    pub body: String,
}

/// An instant as people in Malang read it: `28-11-2026 14:00 WIB`.
pub fn in_wib(instant: DateTime<Utc>) -> String {
    instant.with_timezone(&wib()).format("%d-%m-%Y %H:%M WIB").to_string()
}

/// Rupiah with Indonesian grouping: `Rp2.250.000`, decimals after a comma when there are any.
pub fn rupiah(amount: Decimal) -> String {
    // The grouping of `group_thousands`, with Indonesian separators: dots between thousands, a comma before decimals.
    let grouped: String = crate::pool::group_thousands(amount.abs())
        .chars()
        .map(|c| match c {
            ',' => '.',
            '.' => ',',
            other => other,
        })
        .collect();
    let sign = if amount.is_sign_negative() && !amount.is_zero() { "-" } else { "" };
    format!("{sign}Rp{grouped}")
}

fn bilingual(subject_id: &str, subject_en: &str, body_id: &str, body_en: &str) -> MessageText {
    MessageText {
        subject: format!("{subject_id} / {subject_en}"),
        body: format!(
            "{body_id}\n\n-- English --\n\n{body_en}\n\n--\nLumbung, pasar pengadaan Koperasi Merah Putih.\nPesan ini dikirim otomatis; atur pemberitahuan di profil Anda.\nThis message was sent automatically; manage notifications in your profile.\n"
        ),
    }
}

/// What a message is about, with only the facts its recipient may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    TenderPublished {
        tender_title: String,
        commodity: String,
        deadline: DateTime<Utc>,
    },
    /// To the bidder only: the receipt of its own bid.
    BidReceived {
        tender_title: String,
        lot_number: i32,
        action: String,
        version: i32,
        receipt_hash: String,
        received_at: DateTime<Utc>,
    },
    TenderClosingSoon {
        tender_title: String,
        deadline: DateTime<Utc>,
    },
    /// To one bidder: its own result on one lot.
    BidResult {
        tender_title: String,
        lot_number: i32,
        awarded_quantity: Option<(Decimal, String, Decimal)>,
    },
    /// To a cooperative whose demand the tender carried.
    TenderAwardedToCooperative {
        tender_title: String,
        orders: usize,
    },
    OrderIssued {
        order_number: String,
        total: Decimal,
        accept_by: DateTime<Utc>,
    },
    OrderDeclined {
        order_number: String,
        reason: String,
    },
    OrderReAwarded {
        order_number: String,
        replacement_number: String,
        reason: String,
    },
    DispatchRecorded {
        order_number: String,
        vehicle: String,
        expected_arrival: chrono::NaiveDate,
    },
    DeliveryConfirmed {
        order_number: String,
        discrepancy: bool,
        accepted: Decimal,
        rejected: Decimal,
    },
    OrganisationReviewed {
        organisation: String,
        status: String,
        reason: Option<String>,
    },
    /// To agency analysts: a price was observed above the HET.
    PriceAlert {
        commodity: String,
        area: String,
        price: Decimal,
        ceiling: Decimal,
        day: chrono::NaiveDate,
        source: String,
    },
}

impl Notice {
    pub fn kind(&self) -> NotificationKind {
        match self {
            Self::TenderPublished { .. } => NotificationKind::TenderPublished,
            Self::BidReceived { .. } => NotificationKind::BidReceived,
            Self::TenderClosingSoon { .. } => NotificationKind::TenderClosingSoon,
            Self::BidResult { .. } | Self::TenderAwardedToCooperative { .. } => NotificationKind::TenderAwarded,
            Self::OrderIssued { .. } => NotificationKind::OrderIssued,
            Self::OrderDeclined { .. } => NotificationKind::OrderDeclined,
            Self::OrderReAwarded { .. } => NotificationKind::OrderReAwarded,
            Self::DispatchRecorded { .. } => NotificationKind::DispatchRecorded,
            Self::DeliveryConfirmed { .. } => NotificationKind::DeliveryConfirmed,
            Self::OrganisationReviewed { .. } => NotificationKind::OrganisationReviewed,
            Self::PriceAlert { .. } => NotificationKind::PriceAlert,
        }
    }

    pub fn render(&self) -> MessageText {
        match self {
            Self::TenderPublished { tender_title, commodity, deadline } => {
                let deadline = in_wib(*deadline);
                bilingual(
                    &format!("Tender baru: {tender_title}"),
                    &format!("New tender: {tender_title}"),
                    &format!(
                        "Tender \"{tender_title}\" untuk {commodity} telah dibuka. Batas akhir penawaran: {deadline}.\nMasuk ke Lumbung untuk melihat lot dan mengajukan penawaran."
                    ),
                    &format!(
                        "The tender \"{tender_title}\" for {commodity} is open. Bids close at {deadline}.\nLog in to Lumbung to see its lots and bid."
                    ),
                )
            }
            Self::BidReceived { tender_title, lot_number, action, version, receipt_hash, received_at } => {
                let at = in_wib(*received_at);
                let (verb_id, verb_en) = match action.as_str() {
                    "REVISED" => ("perubahan penawaran", "bid revision"),
                    "WITHDRAWN" => ("penarikan penawaran", "bid withdrawal"),
                    _ => ("penawaran", "bid"),
                };
                bilingual(
                    &format!("Tanda terima {verb_id}: {tender_title}"),
                    &format!("Receipt for your {verb_en}: {tender_title}"),
                    &format!(
                        "Kami menerima {verb_id} Anda untuk lot {lot_number} (versi {version}) pada {at} waktu server.\nHash tanda terima: {receipt_hash}\nSimpan hash ini: hash membuktikan isi penawaran Anda tanpa mengungkapkannya."
                    ),
                    &format!(
                        "We received your {verb_en} for lot {lot_number} (version {version}) at {at} server time.\nReceipt hash: {receipt_hash}\nKeep this hash: it proves your bid's content without revealing it."
                    ),
                )
            }
            Self::TenderClosingSoon { tender_title, deadline } => {
                let deadline = in_wib(*deadline);
                bilingual(
                    &format!("Tender ditutup dalam 24 jam: {tender_title}"),
                    &format!("Tender closes within 24 hours: {tender_title}"),
                    &format!(
                        "Anda telah melihat tender \"{tender_title}\" tetapi belum mengajukan penawaran. Penawaran ditutup pada {deadline}."
                    ),
                    &format!("You looked at the tender \"{tender_title}\" but have not bid. Bids close at {deadline}."),
                )
            }
            Self::BidResult { tender_title, lot_number, awarded_quantity } => match awarded_quantity {
                Some((quantity, unit, unit_price)) => {
                    let price = rupiah(*unit_price);
                    let quantity = quantity.normalize();
                    bilingual(
                        &format!("Penawaran Anda menang: {tender_title}"),
                        &format!("Your bid won: {tender_title}"),
                        &format!(
                            "Penawaran Anda untuk lot {lot_number} dimenangkan: {quantity} {unit} dengan harga {price} per {unit}.\nPesanan pembelian akan menyusul; terima dalam batas waktunya."
                        ),
                        &format!(
                            "Your bid for lot {lot_number} was awarded {quantity} {unit} at {price} per {unit}.\nPurchase orders follow; accept them before their deadline."
                        ),
                    )
                }
                None => bilingual(
                    &format!("Hasil tender: {tender_title}"),
                    &format!("Tender result: {tender_title}"),
                    &format!(
                        "Penawaran Anda untuk lot {lot_number} tidak dimenangkan. Terima kasih atas partisipasi Anda."
                    ),
                    &format!("Your bid for lot {lot_number} was not awarded. Thank you for taking part."),
                ),
            },
            Self::TenderAwardedToCooperative { tender_title, orders } => bilingual(
                &format!("Tender dimenangkan: {tender_title}"),
                &format!("Tender awarded: {tender_title}"),
                &format!(
                    "Tender \"{tender_title}\" yang memuat permintaan koperasi Anda telah diputuskan. {orders} pesanan pembelian diterbitkan untuk koperasi Anda."
                ),
                &format!(
                    "The tender \"{tender_title}\" that carried your cooperative's demand has been awarded. {orders} purchase order(s) were issued for your cooperative."
                ),
            ),
            Self::OrderIssued { order_number, total, accept_by } => {
                let total = rupiah(*total);
                let accept_by = in_wib(*accept_by);
                bilingual(
                    &format!("Pesanan pembelian {order_number} diterbitkan"),
                    &format!("Purchase order {order_number} issued"),
                    &format!(
                        "Pesanan pembelian {order_number} senilai {total} telah diterbitkan. Pemasok harus menerimanya paling lambat {accept_by}."
                    ),
                    &format!(
                        "Purchase order {order_number} for {total} has been issued. The supplier must accept it by {accept_by}."
                    ),
                )
            }
            Self::OrderDeclined { order_number, reason } => bilingual(
                &format!("Pesanan pembelian {order_number} ditolak"),
                &format!("Purchase order {order_number} declined"),
                &format!("Pemasok menolak pesanan pembelian {order_number}. Alasan: {reason}"),
                &format!("The supplier declined purchase order {order_number}. Reason: {reason}"),
            ),
            Self::OrderReAwarded { order_number, replacement_number, reason } => bilingual(
                &format!("Pesanan pembelian {order_number} dialihkan"),
                &format!("Purchase order {order_number} re-awarded"),
                &format!(
                    "Pesanan pembelian {order_number} dialihkan ke pemasok berikutnya sebagai pesanan {replacement_number}. Alasan: {reason}"
                ),
                &format!(
                    "Purchase order {order_number} was re-awarded to the next supplier as order {replacement_number}. Reason: {reason}"
                ),
            ),
            Self::DispatchRecorded { order_number, vehicle, expected_arrival } => {
                let arrival = expected_arrival.format("%d-%m-%Y");
                bilingual(
                    &format!("Barang dikirim: {order_number}"),
                    &format!("Goods dispatched: {order_number}"),
                    &format!(
                        "Pemasok mencatat pengiriman untuk pesanan {order_number} dengan kendaraan {vehicle}. Perkiraan tiba: {arrival}.\nKonfirmasi penerimaan di Lumbung setelah barang tiba."
                    ),
                    &format!(
                        "The supplier recorded a dispatch for order {order_number} on vehicle {vehicle}. Expected arrival: {arrival}.\nConfirm receipt in Lumbung once the goods arrive."
                    ),
                )
            }
            Self::DeliveryConfirmed { order_number, discrepancy, accepted, rejected } => {
                let (accepted, rejected) = (accepted.normalize(), rejected.normalize());
                if *discrepancy {
                    bilingual(
                        &format!("Penerimaan disengketakan: {order_number}"),
                        &format!("Delivery disputed: {order_number}"),
                        &format!(
                            "Koperasi mencatat selisih pada pesanan {order_number}: diterima {accepted}, ditolak {rejected}. Tanggapi di Lumbung."
                        ),
                        &format!(
                            "The cooperative recorded a discrepancy on order {order_number}: accepted {accepted}, rejected {rejected}. Respond in Lumbung."
                        ),
                    )
                } else {
                    bilingual(
                        &format!("Penerimaan dikonfirmasi: {order_number}"),
                        &format!("Delivery confirmed: {order_number}"),
                        &format!("Koperasi mengonfirmasi penerimaan pesanan {order_number}: diterima {accepted}."),
                        &format!("The cooperative confirmed delivery of order {order_number}: accepted {accepted}."),
                    )
                }
            }
            Self::PriceAlert { commodity, area, price, ceiling, day, source } => {
                let (price, ceiling, day) = (rupiah(*price), rupiah(*ceiling), day.format("%d-%m-%Y"));
                bilingual(
                    &format!("Peringatan harga: {commodity} di atas HET"),
                    &format!("Price alert: {commodity} above the HET"),
                    &format!(
                        "Harga {commodity} di {area} pada {day} tercatat {price}, di atas HET {ceiling} (sumber: {source}).\nPeriksa daftar peringatan di Lumbung."
                    ),
                    &format!(
                        "{commodity} in {area} on {day} was observed at {price}, above the HET of {ceiling} (source: {source}).\nSee the alert list in Lumbung."
                    ),
                )
            }
            Self::OrganisationReviewed { organisation, status, reason } => {
                let (status_id, status_en) = match status.as_str() {
                    "VERIFIED" => ("diverifikasi", "verified"),
                    "REJECTED" => ("ditolak", "rejected"),
                    "SUSPENDED" => ("dibekukan", "suspended"),
                    _ => ("diperbarui", "updated"),
                };
                let reason_id = reason.as_deref().map(|r| format!(" Alasan: {r}")).unwrap_or_default();
                let reason_en = reason.as_deref().map(|r| format!(" Reason: {r}")).unwrap_or_default();
                bilingual(
                    &format!("Status {organisation}: {status_id}"),
                    &format!("{organisation} is {status_en}"),
                    &format!("Organisasi {organisation} telah {status_id}.{reason_id}"),
                    &format!("The organisation {organisation} has been {status_en}.{reason_en}"),
                )
            }
        }
    }
}

/// Suppliers who opened a tender but have not bid are reminded once this close to its deadline.
pub fn closing_reminder_window() -> chrono::Duration {
    chrono::Duration::hours(24)
}

/// How long a failed message waits before its next attempt: doubling from 30 seconds, at most six hours.
pub fn retry_delay(attempts_so_far: u32) -> chrono::Duration {
    let seconds = 30_i64.saturating_mul(1_i64 << attempts_so_far.min(20));
    chrono::Duration::seconds(seconds.min(6 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn instants_read_in_wib() {
        assert_eq!(in_wib(at("2026-11-28T07:00:00Z")), "28-11-2026 14:00 WIB");
        assert_eq!(in_wib(at("2026-11-28T17:30:00Z")), "29-11-2026 00:30 WIB");
    }

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(dec!(2250000)), "Rp2.250.000");
        assert_eq!(rupiah(dec!(2250)), "Rp2.250");
        assert_eq!(rupiah(dec!(999)), "Rp999");
        assert_eq!(rupiah(dec!(1234.50)), "Rp1.234,5");
        assert_eq!(rupiah(dec!(0)), "Rp0");
        assert_eq!(rupiah(dec!(-1500)), "-Rp1.500");
    }

    #[test]
    fn messages_are_indonesian_first_then_english_with_wib_times() {
        let text = Notice::TenderPublished {
            tender_title: "Urea Kedungkandang".into(),
            commodity: "Pupuk Urea bersubsidi".into(),
            deadline: at("2026-12-01T03:00:00Z"),
        }
        .render();
        assert_eq!(text.subject, "Tender baru: Urea Kedungkandang / New tender: Urea Kedungkandang");
        let indonesian = text.body.find("telah dibuka").unwrap();
        let english = text.body.find("is open").unwrap();
        assert!(indonesian < english);
        assert!(text.body.contains("01-12-2026 10:00 WIB"));
    }

    #[test]
    fn a_receipt_carries_the_hash_and_time_but_no_amount() {
        let text = Notice::BidReceived {
            tender_title: "Urea".into(),
            lot_number: 1,
            action: "SUBMITTED".into(),
            version: 1,
            receipt_hash: "ab12".into(),
            received_at: at("2026-11-28T07:00:00Z"),
        }
        .render();
        assert!(text.body.contains("ab12") && text.body.contains("14:00 WIB"));
        assert!(!text.body.contains("Rp"));
    }

    #[test]
    fn only_invitations_to_act_are_optional() {
        let optional: Vec<_> = NotificationKind::ALL.into_iter().filter(|k| k.is_optional()).collect();
        assert_eq!(
            optional,
            [NotificationKind::TenderPublished, NotificationKind::TenderClosingSoon, NotificationKind::PriceAlert]
        );
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert!(NotificationKind::parse("SPAM").is_err());
    }

    #[test]
    fn retries_back_off_exponentially_up_to_six_hours() {
        assert_eq!(retry_delay(0).num_seconds(), 30);
        assert_eq!(retry_delay(1).num_seconds(), 60);
        assert_eq!(retry_delay(3).num_seconds(), 240);
        assert_eq!(retry_delay(40).num_seconds(), 6 * 3600);
    }
}
