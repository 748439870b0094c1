//! Who may do what: roles, permissions and the caller of a request.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    RuleError,
    organisation::{OrganisationKind, OrganisationStatus},
    tender::TenderStatus,
};

/// A user's role, fixed by the kind of organisation they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Pengurus koperasi: cooperative staff.
    CoopStaff,
    /// Sales staff of a supplier or BUMN.
    SupplierSales,
    /// Diskopindag analyst.
    AgencyAnalyst,
    /// Operator of the platform.
    PlatformAdmin,
}

impl Role {
    pub const ALL: [Self; 4] = [Self::CoopStaff, Self::SupplierSales, Self::AgencyAnalyst, Self::PlatformAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CoopStaff => "COOP_STAFF",
            Self::SupplierSales => "SUPPLIER_SALES",
            Self::AgencyAnalyst => "AGENCY_ANALYST",
            Self::PlatformAdmin => "PLATFORM_ADMIN",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| RuleError::invalid("role", format!("unknown role {value:?}")))
    }

    /// The role every user of this kind of organisation holds.
    pub fn for_kind(kind: OrganisationKind) -> Self {
        match kind {
            OrganisationKind::Cooperative => Self::CoopStaff,
            OrganisationKind::Supplier => Self::SupplierSales,
            OrganisationKind::Agency => Self::AgencyAnalyst,
            OrganisationKind::Platform => Self::PlatformAdmin,
        }
    }
}

/// Something a caller may be allowed to do. Every query and mutation names the permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// Read one's own organisation, its users and delivery points.
    ViewOwnOrganisation,
    /// Invite further users into one's own organisation (organisation admins only).
    ManageOwnUsers,
    /// Read every organisation.
    ViewAllOrganisations,
    /// Verify, reject, suspend and reinstate organisations.
    ReviewOrganisations,
    /// Create agency and platform organisations directly.
    ManageOrganisations,
    /// Read the commodity catalogue and its price references.
    ReadCatalogue,
    /// Add and change commodities and their HET and reference prices.
    ManageCatalogue,
    /// Read the audit trail.
    ViewAuditLog,
    /// Open demand pools, record RDKK allocations, create, publish and cancel tenders, confirm awards.
    ManageTendering,
    /// Add, change and remove a cooperative's demand lines.
    SubmitDemand,
    /// Submit, revise and withdraw sealed bids.
    SubmitBids,
    /// Read the pools and tenders that concern one's organisation.
    ViewTendering,
    /// Record market survey prices; read price indicators, alerts, red flags; export open data (the agency).
    MonitorPrices,
}

impl Permission {
    pub const ALL: [Self; 13] = [
        Self::ViewOwnOrganisation,
        Self::ManageOwnUsers,
        Self::ViewAllOrganisations,
        Self::ReviewOrganisations,
        Self::ManageOrganisations,
        Self::ReadCatalogue,
        Self::ManageCatalogue,
        Self::ViewAuditLog,
        Self::ManageTendering,
        Self::SubmitDemand,
        Self::SubmitBids,
        Self::ViewTendering,
        Self::MonitorPrices,
    ];

    /// Whether the permission changes the marketplace, and so needs a verified organisation.
    fn is_action(self) -> bool {
        !matches!(self, Self::ViewOwnOrganisation | Self::ReadCatalogue)
    }
}

/// The authenticated caller of a request, as loaded from the database for that request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub organisation_id: Uuid,
    pub organisation_kind: OrganisationKind,
    pub organisation_status: OrganisationStatus,
    pub role: Role,
    /// May invite users into the organisation; the first user of an organisation is its admin.
    pub is_organisation_admin: bool,
}

impl Actor {
    /// Whether this actor holds `permission` now.
    pub fn may(&self, permission: Permission) -> bool {
        use Permission::*;
        if permission.is_action() && !self.organisation_status.may_act() {
            return false;
        }
        match permission {
            ViewOwnOrganisation | ReadCatalogue => true,
            ManageOwnUsers => self.is_organisation_admin,
            ViewAllOrganisations | ReviewOrganisations | ManageCatalogue | ViewAuditLog => {
                matches!(self.role, Role::AgencyAnalyst | Role::PlatformAdmin)
            }
            ManageOrganisations => self.role == Role::PlatformAdmin,
            ManageTendering | MonitorPrices => self.role == Role::AgencyAnalyst,
            SubmitDemand => self.role == Role::CoopStaff,
            SubmitBids => self.role == Role::SupplierSales,
            ViewTendering => true,
        }
    }

    /// Every permission this actor holds, for `me` and for clients that hide what a user cannot do.
    pub fn permissions(&self) -> Vec<Permission> {
        Permission::ALL.into_iter().filter(|permission| self.may(*permission)).collect()
    }

    /// The authorisation decision: `Ok` or a `Forbidden` error that says what is missing.
    pub fn require(&self, permission: Permission) -> Result<(), RuleError> {
        if self.may(permission) {
            return Ok(());
        }
        if permission.is_action() && !self.organisation_status.may_act() {
            return Err(RuleError::Forbidden(format!(
                "your organisation is {}; only verified organisations may do this",
                self.organisation_status.as_str()
            )));
        }
        Err(RuleError::Forbidden(format!("your role may not {}", describe(permission))))
    }

    /// Whether this actor may decide about the organisation `target` (of kind `target_kind`).
    /// The agency reviews cooperatives and suppliers; a platform admin reviews any organisation but its own.
    pub fn may_review(&self, target: Uuid, target_kind: OrganisationKind) -> Result<(), RuleError> {
        self.require(Permission::ReviewOrganisations)?;
        if target == self.organisation_id {
            return Err(RuleError::Forbidden("no one may review their own organisation".into()));
        }
        match (self.role, target_kind) {
            (Role::PlatformAdmin, _) => Ok(()),
            (Role::AgencyAnalyst, OrganisationKind::Cooperative | OrganisationKind::Supplier) => Ok(()),
            _ => Err(RuleError::Forbidden("the agency reviews cooperatives and suppliers only".into())),
        }
    }

    /// Whether this actor may read organisation `target`: its own, or any for the agency and admins.
    pub fn may_view_organisation(&self, target: Uuid) -> bool {
        target == self.organisation_id || self.may(Permission::ViewAllOrganisations)
    }

    /// Whether this actor may see a tender at all. `concerned`: for a supplier, that it is verified for the tender's
    /// category; for a cooperative, that it has demand in the tender's pool (the agency and admins see every one).
    /// A draft exists for nobody but the office.
    pub fn may_view_tender(&self, status: TenderStatus, concerned: bool) -> bool {
        match self.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => true,
            OrganisationKind::Supplier => status != TenderStatus::Draft && concerned,
            OrganisationKind::Cooperative => concerned,
        }
    }

    /// Whether this actor, who may see the tender, sees an opened bid on it: nobody while bids are sealed (open,
    /// draft, cancelled); once closed the agency and admins all of them; a supplier its own and, after the award,
    /// the winning ones; a cooperative the winning ones after the award.
    pub fn sees_opened_bid(&self, status: TenderStatus, bidder: Uuid, won: bool) -> bool {
        if status.bids_sealed() {
            return false;
        }
        if self.may(Permission::ManageTendering) || self.organisation_kind == OrganisationKind::Platform {
            return true;
        }
        bidder == self.organisation_id || (status == TenderStatus::Awarded && won)
    }

    /// Which of a tender's allocations this actor, who may see the tender, reads.
    pub fn allocation_scope(&self, status: TenderStatus) -> AllocationScope {
        if status.bids_sealed() {
            return AllocationScope::Nothing;
        }
        match self.organisation_kind {
            OrganisationKind::Agency | OrganisationKind::Platform => AllocationScope::All,
            _ if status != TenderStatus::Awarded => AllocationScope::Nothing,
            OrganisationKind::Cooperative => AllocationScope::OfCooperative(self.organisation_id),
            OrganisationKind::Supplier => AllocationScope::OfSupplier(self.organisation_id),
        }
    }
}

/// Which allocations of a tender a caller reads (see [`Actor::allocation_scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationScope {
    Nothing,
    All,
    /// Those of this cooperative's demand.
    OfCooperative(Uuid),
    /// Those this supplier serves.
    OfSupplier(Uuid),
}

fn describe(permission: Permission) -> &'static str {
    match permission {
        Permission::ViewOwnOrganisation => "view this organisation",
        Permission::ManageOwnUsers => "invite users (organisation admins only)",
        Permission::ViewAllOrganisations => "view other organisations",
        Permission::ReviewOrganisations => "review organisations",
        Permission::ManageOrganisations => {
            "administer the platform: create agency and platform organisations, read and retry the outbox (platform admins only)"
        }
        Permission::ReadCatalogue => "read the catalogue",
        Permission::ManageCatalogue => "change the commodity catalogue",
        Permission::ViewAuditLog => "read the audit trail",
        Permission::ManageTendering => {
            "run the season: demand pools, tenders, awards and the orders they issue (agency analysts only)"
        }
        Permission::SubmitDemand => {
            "act for a cooperative: submit demand, confirm deliveries, close orders (cooperative staff only)"
        }
        Permission::SubmitBids => {
            "act for a supplier: bid, accept or decline orders, dispatch (supplier sales staff only)"
        }
        Permission::ViewTendering => "view pools and tenders",
        Permission::MonitorPrices => "monitor prices and export open data (agency analysts only)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(kind: OrganisationKind, organisation: u128) -> Actor {
        Actor {
            user_id: Uuid::from_u128(1000 + organisation),
            organisation_id: Uuid::from_u128(organisation),
            organisation_kind: kind,
            organisation_status: OrganisationStatus::Verified,
            role: Role::for_kind(kind),
            is_organisation_admin: true,
        }
    }

    #[test]
    fn who_sees_a_tender() {
        use OrganisationKind::*;
        for status in TenderStatus::ALL {
            assert!(caller(Agency, 1).may_view_tender(status, false));
            assert!(caller(Platform, 1).may_view_tender(status, false));
            assert_eq!(caller(Supplier, 1).may_view_tender(status, true), status != TenderStatus::Draft);
            assert!(!caller(Supplier, 1).may_view_tender(status, false));
            assert!(caller(Cooperative, 1).may_view_tender(status, true));
            assert!(!caller(Cooperative, 1).may_view_tender(status, false));
        }
    }

    #[test]
    fn opened_bids_by_status_and_caller() {
        use OrganisationKind::*;
        let (bidder, other) = (Uuid::from_u128(7), Uuid::from_u128(8));
        for status in TenderStatus::ALL {
            let sealed = status.bids_sealed();
            let awarded = status == TenderStatus::Awarded;
            for (kind, organisation) in [(Agency, 1), (Platform, 2), (Supplier, 7), (Supplier, 9), (Cooperative, 3)] {
                let actor = caller(kind, organisation);
                for (who, won) in [(bidder, true), (bidder, false), (other, true), (other, false)] {
                    let expected = !sealed
                        && (matches!(kind, Agency | Platform) || who == actor.organisation_id || (awarded && won));
                    assert_eq!(actor.sees_opened_bid(status, who, won), expected, "{kind:?} {status:?} {won}");
                }
            }
        }
        // The platform admin is in the sealed-bid loop like everyone else.
        assert!(!caller(Platform, 2).sees_opened_bid(TenderStatus::Open, bidder, false));
        assert!(!caller(Agency, 1).sees_opened_bid(TenderStatus::Cancelled, bidder, false));
    }

    #[test]
    fn allocations_by_status_and_caller() {
        use OrganisationKind::*;
        for status in TenderStatus::ALL {
            let scope = |kind, organisation| caller(kind, organisation).allocation_scope(status);
            if status.bids_sealed() {
                for kind in OrganisationKind::ALL {
                    assert_eq!(scope(kind, 1), AllocationScope::Nothing);
                }
                continue;
            }
            assert_eq!(scope(Agency, 1), AllocationScope::All);
            assert_eq!(scope(Platform, 1), AllocationScope::All);
            let (coop, supplier) = if status == TenderStatus::Awarded {
                (AllocationScope::OfCooperative(Uuid::from_u128(3)), AllocationScope::OfSupplier(Uuid::from_u128(7)))
            } else {
                (AllocationScope::Nothing, AllocationScope::Nothing)
            };
            assert_eq!(scope(Cooperative, 3), coop, "{status:?}");
            assert_eq!(scope(Supplier, 7), supplier, "{status:?}");
        }
    }

    fn actor(kind: OrganisationKind, status: OrganisationStatus, admin: bool) -> Actor {
        Actor {
            user_id: Uuid::nil(),
            organisation_id: Uuid::from_u128(1),
            organisation_kind: kind,
            organisation_status: status,
            role: Role::for_kind(kind),
            is_organisation_admin: admin,
        }
    }

    #[test]
    fn pending_organisations_read_but_do_not_act() {
        let pending = actor(OrganisationKind::Cooperative, OrganisationStatus::Pending, true);
        assert_eq!(pending.permissions(), vec![Permission::ViewOwnOrganisation, Permission::ReadCatalogue]);
        let error = pending.require(Permission::ManageOwnUsers).unwrap_err();
        assert!(error.to_string().contains("PENDING"), "{error}");
    }

    #[test]
    fn only_agency_and_admins_manage_the_catalogue_and_review() {
        for kind in OrganisationKind::ALL {
            let verified = actor(kind, OrganisationStatus::Verified, false);
            let expected = matches!(kind, OrganisationKind::Agency | OrganisationKind::Platform);
            assert_eq!(verified.may(Permission::ManageCatalogue), expected, "{kind:?}");
            assert_eq!(verified.may(Permission::ReviewOrganisations), expected, "{kind:?}");
            assert_eq!(verified.may(Permission::ViewAuditLog), expected, "{kind:?}");
            assert_eq!(verified.may(Permission::ManageOrganisations), kind == OrganisationKind::Platform);
        }
    }

    #[test]
    fn only_organisation_admins_invite() {
        assert!(actor(OrganisationKind::Supplier, OrganisationStatus::Verified, true).may(Permission::ManageOwnUsers));
        assert!(
            !actor(OrganisationKind::Supplier, OrganisationStatus::Verified, false).may(Permission::ManageOwnUsers)
        );
    }

    #[test]
    fn the_agency_reviews_cooperatives_and_suppliers_but_not_platforms_or_itself() {
        let agency = actor(OrganisationKind::Agency, OrganisationStatus::Verified, false);
        assert!(agency.may_review(Uuid::from_u128(9), OrganisationKind::Cooperative).is_ok());
        assert!(agency.may_review(Uuid::from_u128(9), OrganisationKind::Supplier).is_ok());
        assert!(agency.may_review(Uuid::from_u128(9), OrganisationKind::Platform).is_err());
        assert!(agency.may_review(agency.organisation_id, OrganisationKind::Agency).is_err());
        let admin = actor(OrganisationKind::Platform, OrganisationStatus::Verified, false);
        assert!(admin.may_review(Uuid::from_u128(9), OrganisationKind::Agency).is_ok());
        assert!(admin.may_review(admin.organisation_id, OrganisationKind::Platform).is_err());
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
    }
}
