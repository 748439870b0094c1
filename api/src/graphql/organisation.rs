//! Organisations, their delivery points, and the agency's review of them.

use async_graphql::{
    Context, Enum, ID, Object,
    connection::{Connection, OpaqueCursor},
};
use chrono::{DateTime, Utc};
use domain::{access, organisation as rules};
use infra::{identity::OrganisationFilter, read_models as read, services::Services};
use uuid::Uuid;

use super::{
    catalogue::Category,
    error::ApiResult,
    guard::{authenticated, require},
    identity::{OrganisationInput, Registration, User},
    loaders::{Loaders, loader_error},
    pagination::{MaxPageSize, connection, page_request},
    parse_id,
};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::OrganisationKind")]
pub enum OrganisationKind {
    /// A Koperasi Merah Putih cooperative: the buyer.
    Cooperative,
    /// A private supplier or a state-owned enterprise (BUMN).
    Supplier,
    /// Diskopindag, the city's cooperative, industry and trade office.
    Agency,
    /// The operator of Lumbung.
    Platform,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "rules::OrganisationStatus")]
pub enum OrganisationStatus {
    /// Registered, waiting for review.
    Pending,
    /// May act in the marketplace.
    Verified,
    /// Refused at review, with a reason.
    Rejected,
    /// Stopped after verification; its users cannot log in.
    Suspended,
}

/// A cooperative's delivery point (gerai).
pub struct DeliveryPoint(pub read::DeliveryPoint);

#[Object]
impl DeliveryPoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn address(&self) -> &str {
        &self.0.address
    }
    async fn kelurahan(&self) -> &str {
        &self.0.kelurahan
    }
    async fn kecamatan(&self) -> &str {
        &self.0.kecamatan
    }
    async fn city(&self) -> &str {
        &self.0.city
    }
}

/// A cooperative, supplier, the agency or the platform.
pub struct Organisation(pub read::Organisation);

#[Object]
impl Organisation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> OrganisationKind {
        self.0.kind.into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn status(&self) -> OrganisationStatus {
        self.0.status.into()
    }
    /// Why it was rejected or suspended.
    async fn status_reason(&self) -> Option<&str> {
        self.0.status_reason.as_deref()
    }
    async fn registration_number(&self) -> Option<&str> {
        self.0.registration_number.as_deref()
    }
    async fn kelurahan(&self) -> Option<&str> {
        self.0.kelurahan.as_deref()
    }
    async fn kecamatan(&self) -> Option<&str> {
        self.0.kecamatan.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    async fn province(&self) -> Option<&str> {
        self.0.province.as_deref()
    }
    /// A state-owned enterprise (BUMN).
    async fn is_state_owned(&self) -> bool {
        self.0.is_state_owned
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }
    /// The categories a supplier sells.
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        let loaded = ctx.data::<Loaders>()?.categories.load_one(self.0.id).await.map_err(loader_error)?;
        Ok(loaded.unwrap_or_default().into_iter().map(Into::into).collect())
    }
    /// A cooperative's delivery points.
    async fn delivery_points(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeliveryPoint>> {
        let loaded = ctx.data::<Loaders>()?.delivery_points.load_one(self.0.id).await.map_err(loader_error)?;
        Ok(loaded.unwrap_or_default().into_iter().map(DeliveryPoint).collect())
    }
    /// Its users: visible to its own members and to the agency and admins.
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let actor = authenticated(ctx)?;
        if !actor.may_view_organisation(self.0.id) {
            return Ok(vec![]);
        }
        let loaded = ctx.data::<Loaders>()?.users.load_one(self.0.id).await.map_err(loader_error)?;
        Ok(loaded.unwrap_or_default().into_iter().map(User).collect())
    }
}

#[derive(Default)]
pub struct OrganisationQuery;

#[Object]
impl OrganisationQuery {
    /// One organisation: the caller's own, or any for the agency and admins. Others read as not found.
    async fn organisation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Organisation>> {
        let actor = require(ctx, access::Permission::ViewOwnOrganisation)?;
        let id = parse_id("id", &id)?;
        let services = ctx.data::<Services>()?;
        Ok(services.identity.organisation(actor, id).await.api()?.map(Organisation))
    }

    /// All organisations, oldest first, for the agency and admins; filter by kind and status (e.g. `PENDING` to review).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        kind: Option<OrganisationKind>,
        status: Option<OrganisationStatus>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, Organisation>> {
        let actor = require(ctx, access::Permission::ViewAllOrganisations)?;
        let had_cursor = after.is_some();
        let page = page_request(first, after, *ctx.data::<MaxPageSize>()?)?;
        let filter = OrganisationFilter { kind: kind.map(Into::into), status: status.map(Into::into) };
        let page = ctx.data::<Services>()?.identity.organisations(actor, filter, page).await.api()?;
        Ok(connection(page, had_cursor, |row| row.id, Organisation))
    }
}

#[derive(Default)]
pub struct OrganisationMutation;

async fn review(
    ctx: &Context<'_>,
    id: ID,
    decision: rules::ReviewDecision,
    reason: Option<String>,
) -> async_graphql::Result<Organisation> {
    let actor = require(ctx, access::Permission::ReviewOrganisations)?;
    let id = parse_id("id", &id)?;
    let services = ctx.data::<Services>()?;
    Ok(Organisation(services.identity.review(actor, id, decision, reason.as_deref()).await.api()?))
}

#[Object]
impl OrganisationMutation {
    /// Verifies a pending (or previously rejected) organisation so it may act.
    async fn verify_organisation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Organisation> {
        review(ctx, id, rules::ReviewDecision::Verify, note).await
    }

    /// Rejects a pending registration, saying why.
    async fn reject_organisation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<Organisation> {
        review(ctx, id, rules::ReviewDecision::Reject, Some(reason)).await
    }

    /// Suspends a verified organisation, saying why. Its users are logged out and cannot log in.
    async fn suspend_organisation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<Organisation> {
        review(ctx, id, rules::ReviewDecision::Suspend, Some(reason)).await
    }

    /// Lifts a suspension.
    async fn reinstate_organisation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Organisation> {
        review(ctx, id, rules::ReviewDecision::Reinstate, note).await
    }

    /// A platform admin creates an organisation of any kind (the agency, say), verified from the start.
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        input: OrganisationInput,
    ) -> async_graphql::Result<Registration> {
        let actor = require(ctx, access::Permission::ManageOrganisations)?;
        let services = ctx.data::<Services>()?;
        let registered = services.identity.create_verified(actor, input.into()).await.api()?;
        Ok(Registration::new(Organisation(registered.organisation), User(registered.user)))
    }
}
