//! Organisations (cooperatives, suppliers, the agency, the platform) and their verification lifecycle.

use serde::{Deserialize, Serialize};

use crate::{RuleError, identity::bounded_text};

/// What kind of party an organisation is in the marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrganisationKind {
    /// A Koperasi Merah Putih cooperative: the buyer.
    Cooperative,
    /// A private supplier or a state-owned enterprise (BUMN).
    Supplier,
    /// Diskopindag, the city's cooperative, industry and trade office.
    Agency,
    /// The operator of Lumbung itself.
    Platform,
}

impl OrganisationKind {
    pub const ALL: [Self; 4] = [Self::Cooperative, Self::Supplier, Self::Agency, Self::Platform];

    /// Only cooperatives and suppliers sign themselves up; the agency and platform are created by an admin.
    pub fn may_self_register(self) -> bool {
        matches!(self, Self::Cooperative | Self::Supplier)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cooperative => "COOPERATIVE",
            Self::Supplier => "SUPPLIER",
            Self::Agency => "AGENCY",
            Self::Platform => "PLATFORM",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| RuleError::invalid("kind", format!("unknown organisation kind {value:?}")))
    }
}

/// Where an organisation stands in verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrganisationStatus {
    /// Registered, waiting for the agency or a platform admin.
    Pending,
    /// May act in the marketplace.
    Verified,
    /// Refused at review; may be verified later once the reason is addressed.
    Rejected,
    /// Stopped after verification; its users cannot log in.
    Suspended,
}

/// A reviewer's decision about an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    Verify,
    Reject,
    Suspend,
    Reinstate,
}

impl ReviewDecision {
    /// Rejecting or suspending always says why, so the organisation can put it right.
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Reject | Self::Suspend)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "VERIFY",
            Self::Reject => "REJECT",
            Self::Suspend => "SUSPEND",
            Self::Reinstate => "REINSTATE",
        }
    }
}

impl OrganisationStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Verified, Self::Rejected, Self::Suspended];

    /// The status after `decision`, or why the decision does not apply now.
    pub fn apply(self, decision: ReviewDecision) -> Result<Self, RuleError> {
        use OrganisationStatus::*;
        use ReviewDecision::*;
        match (self, decision) {
            (Pending | Rejected, Verify) => Ok(Verified),
            (Pending, Reject) => Ok(Rejected),
            (Verified, Suspend) => Ok(Suspended),
            (Suspended, Reinstate) => Ok(Verified),
            (from, decision) => Err(RuleError::InvalidTransition(format!(
                "an organisation that is {} cannot be given the decision {}",
                from.as_str(),
                decision.as_str()
            ))),
        }
    }

    /// Pending organisations may log in to see where they stand; rejected and suspended ones may not.
    pub fn may_log_in(self) -> bool {
        matches!(self, Self::Pending | Self::Verified)
    }

    /// Only verified organisations act in the marketplace (bid, order, publish).
    pub fn may_act(self) -> bool {
        self == Self::Verified
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Verified => "VERIFIED",
            Self::Rejected => "REJECTED",
            Self::Suspended => "SUSPENDED",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| RuleError::invalid("status", format!("unknown organisation status {value:?}")))
    }
}

/// The reason given with a review decision: required for reject and suspend, at most 500 characters.
pub fn review_reason(decision: ReviewDecision, reason: Option<&str>) -> Result<Option<String>, RuleError> {
    match reason.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => bounded_text("reason", text, 1, 500).map(Some),
        None if decision.needs_reason() => Err(RuleError::invalid("reason", "a reason is required for this decision")),
        None => Ok(None),
    }
}

/// An organisation's legal or trading name.
pub fn organisation_name(value: &str) -> Result<String, RuleError> {
    bounded_text("name", value, 2, 150)
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrganisationStatus::*;
    use ReviewDecision::*;

    #[test]
    fn every_status_and_decision_pair_has_a_defined_outcome() {
        let expected = [
            (Pending, Verify, Some(Verified)),
            (Pending, Reject, Some(Rejected)),
            (Pending, Suspend, None),
            (Pending, Reinstate, None),
            (Verified, Verify, None),
            (Verified, Reject, None),
            (Verified, Suspend, Some(Suspended)),
            (Verified, Reinstate, None),
            (Rejected, Verify, Some(Verified)),
            (Rejected, Reject, None),
            (Rejected, Suspend, None),
            (Rejected, Reinstate, None),
            (Suspended, Verify, None),
            (Suspended, Reject, None),
            (Suspended, Suspend, None),
            (Suspended, Reinstate, Some(Verified)),
        ];
        for (from, decision, to) in expected {
            assert_eq!(from.apply(decision).ok(), to, "{from:?} + {decision:?}");
        }
    }

    #[test]
    fn only_verified_organisations_act_and_suspended_ones_cannot_log_in() {
        assert!(Verified.may_act());
        assert!(!Pending.may_act());
        assert!(Pending.may_log_in());
        assert!(!Suspended.may_log_in());
        assert!(!Rejected.may_log_in());
    }

    #[test]
    fn reject_and_suspend_need_a_reason() {
        assert!(review_reason(Reject, None).is_err());
        assert!(review_reason(Suspend, Some("   ")).is_err());
        assert_eq!(review_reason(Verify, None).unwrap(), None);
        assert_eq!(
            review_reason(Suspend, Some(" izin usaha kedaluwarsa ")).unwrap().as_deref(),
            Some("izin usaha kedaluwarsa")
        );
    }

    #[test]
    fn kinds_and_statuses_round_trip_through_text() {
        for kind in OrganisationKind::ALL {
            assert_eq!(OrganisationKind::parse(kind.as_str()).unwrap(), kind);
        }
        for status in OrganisationStatus::ALL {
            assert_eq!(OrganisationStatus::parse(status.as_str()).unwrap(), status);
        }
    }
}
