//! Registration, sessions, invitations and `me`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access;
use infra::{identity as service, read_models as read, services::Services};

use super::{
    catalogue::Category,
    error::ApiResult,
    guard::{authenticated, public, require},
    organisation::{Organisation, OrganisationKind},
};

/// A user's role, fixed by the kind of their organisation.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "access::Role")]
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

/// Something a caller may be allowed to do; `me.permissions` lists the caller's.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "access::Permission")]
pub enum Permission {
    ViewOwnOrganisation,
    ManageOwnUsers,
    ViewAllOrganisations,
    ReviewOrganisations,
    ManageOrganisations,
    ReadCatalogue,
    ManageCatalogue,
    ViewAuditLog,
    ManageTendering,
    SubmitDemand,
    SubmitBids,
    ViewTendering,
    MonitorPrices,
}

/// A person who logs in, within one organisation.
pub struct User(pub read::User);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// May invite further users into the organisation.
    async fn is_organisation_admin(&self) -> bool {
        self.0.is_organisation_admin
    }
    /// `ACTIVE`, `INVITED` until the invitation is accepted, or `DEACTIVATED` by an organisation admin.
    async fn status(&self) -> &str {
        self.0.status.as_str()
    }
    async fn organisation_id(&self) -> ID {
        ID(self.0.organisation_id.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The caller, their organisation and what they may do.
pub struct Me {
    actor: access::Actor,
}

#[Object]
impl Me {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let services = ctx.data::<Services>()?;
        // The session cache holds the caller's account (changes to it end or refresh the entry).
        let cached = ctx.data_opt::<super::guard::CallerSession>().and_then(|s| services.identity.cached_user(s.0));
        if let Some(user) = cached.filter(|user| user.id == self.actor.user_id) {
            return Ok(User(user));
        }
        let user = services.identity.user(&self.actor, self.actor.user_id).await.api()?;
        user.map(User).ok_or_else(|| "the account no longer exists".into())
    }
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Organisation> {
        let services = ctx.data::<Services>()?;
        let organisation = services.identity.organisation(&self.actor, self.actor.organisation_id).await.api()?;
        organisation.map(Organisation).ok_or_else(|| "the organisation no longer exists".into())
    }
    async fn role(&self) -> Role {
        self.actor.role.into()
    }
    async fn permissions(&self) -> Vec<Permission> {
        self.actor.permissions().into_iter().map(Into::into).collect()
    }
}

/// A logged-in session. Send the access token as `Authorization: Bearer <token>`; exchange the refresh token
/// for a new session with `refreshSession` before the access token expires. Each refresh token works once.
#[derive(SimpleObject)]
pub struct Session {
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    refresh_token: String,
    refresh_token_expires_at: DateTime<Utc>,
    user: User,
}

impl From<service::Session> for Session {
    fn from(session: service::Session) -> Self {
        Self {
            access_token: session.access_token,
            access_token_expires_at: session.access_token_expires_at,
            refresh_token: session.refresh_token,
            refresh_token_expires_at: session.refresh_token_expires_at,
            user: User(session.user),
        }
    }
}

/// A new organisation and its first user.
#[derive(SimpleObject)]
pub struct Registration {
    organisation: Organisation,
    user: User,
}

impl Registration {
    pub fn new(organisation: Organisation, user: User) -> Self {
        Self { organisation, user }
    }
}

/// An invitation just made. The token is shown only here: pass it to the invitee for `acceptInvitation`.
#[derive(SimpleObject)]
pub struct Invitation {
    user: User,
    invitation_token: String,
    expires_at: DateTime<Utc>,
}

#[derive(InputObject)]
pub struct DeliveryPointInput {
    pub name: String,
    pub address: String,
    pub kelurahan: String,
    pub kecamatan: String,
    pub city: String,
}

#[derive(InputObject)]
pub struct FirstUserInput {
    pub email: String,
    pub name: String,
    pub password: String,
}

/// An organisation with its first user. Cooperatives give their registration number, kelurahan, kecamatan,
/// city and at least one delivery point; suppliers the categories they sell and whether they are a BUMN.
#[derive(InputObject)]
pub struct OrganisationInput {
    pub kind: OrganisationKind,
    pub name: String,
    pub registration_number: Option<String>,
    pub kelurahan: Option<String>,
    pub kecamatan: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    #[graphql(default)]
    pub is_state_owned: bool,
    #[graphql(default)]
    pub categories: Vec<Category>,
    #[graphql(default)]
    pub delivery_points: Vec<DeliveryPointInput>,
    pub first_user: FirstUserInput,
}

impl From<OrganisationInput> for service::OrganisationInput {
    fn from(input: OrganisationInput) -> Self {
        Self {
            kind: input.kind.into(),
            name: input.name,
            registration_number: input.registration_number,
            kelurahan: input.kelurahan,
            kecamatan: input.kecamatan,
            city: input.city,
            province: input.province,
            is_state_owned: input.is_state_owned,
            categories: input.categories.into_iter().map(Into::into).collect(),
            delivery_points: input
                .delivery_points
                .into_iter()
                .map(|point| service::DeliveryPointInput {
                    name: point.name,
                    address: point.address,
                    kelurahan: point.kelurahan,
                    kecamatan: point.kecamatan,
                    city: point.city,
                })
                .collect(),
            first_user: service::FirstUserInput {
                email: input.first_user.email,
                name: input.first_user.name,
                password: input.first_user.password,
            },
        }
    }
}

#[derive(InputObject)]
pub struct InviteUserInput {
    pub email: String,
    pub name: String,
    #[graphql(default)]
    pub organisation_admin: bool,
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The caller, their organisation and what they may do.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let actor = authenticated(ctx)?;
        Ok(Me { actor: actor.clone() })
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// A cooperative or supplier signs up with its first user. It starts `PENDING` until the agency verifies it.
    async fn register_organisation(
        &self,
        ctx: &Context<'_>,
        input: OrganisationInput,
    ) -> async_graphql::Result<Registration> {
        public(ctx);
        let services = ctx.data::<Services>()?;
        let registered = services.identity.register(input.into()).await.api()?;
        Ok(Registration::new(Organisation(registered.organisation), User(registered.user)))
    }

    /// Logs in. Unknown e-mail and wrong password get the same answer; repeated failures lock the address for a while.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> async_graphql::Result<Session> {
        public(ctx);
        let services = ctx.data::<Services>()?;
        let client = ctx.data_opt::<super::guard::ClientAddress>().map(|address| address.0);
        Ok(services.identity.login(&email, &password, client).await.api()?.into())
    }

    /// Exchanges a refresh token for a new session. Reusing a refresh token ends every session of that login.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<Session> {
        public(ctx);
        let services = ctx.data::<Services>()?;
        Ok(services.identity.refresh(&refresh_token).await.api()?.into())
    }

    /// Ends the login that a refresh token belongs to. The refresh token itself is the proof, so no access token is needed.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<bool> {
        public(ctx);
        let services = ctx.data::<Services>()?;
        services.identity.logout(&refresh_token).await.api()
    }

    /// An organisation admin invites a colleague into their organisation.
    async fn invite_user(&self, ctx: &Context<'_>, input: InviteUserInput) -> async_graphql::Result<Invitation> {
        let actor = require(ctx, access::Permission::ManageOwnUsers)?;
        let services = ctx.data::<Services>()?;
        let invitation =
            services.identity.invite(actor, &input.email, &input.name, input.organisation_admin).await.api()?;
        Ok(Invitation {
            user: User(invitation.user),
            invitation_token: invitation.token,
            expires_at: invitation.expires_at,
        })
    }

    /// The invitee sets a password with the token from their invitation, then logs in.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        invitation_token: String,
        password: String,
    ) -> async_graphql::Result<User> {
        public(ctx);
        let services = ctx.data::<Services>()?;
        Ok(User(services.identity.accept_invitation(&invitation_token, &password).await.api()?))
    }

    /// The caller changes their password, giving the current one; every other session of theirs ends at once.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let actor = authenticated(ctx)?;
        let session = ctx
            .data_opt::<super::guard::CallerSession>()
            .ok_or_else(|| async_graphql::Error::new("the caller's session is unknown"))?;
        let services = ctx.data::<Services>()?;
        services.identity.change_password(actor, session.0, &current_password, &new_password).await.api()?;
        Ok(true)
    }

    /// An organisation admin deactivates a colleague: they can no longer log in and every session of theirs ends
    /// at once, on every server.
    async fn deactivate_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let actor = require(ctx, access::Permission::ManageOwnUsers)?;
        let user_id = super::parse_id("userId", &user_id)?;
        Ok(User(ctx.data::<Services>()?.identity.deactivate_user(actor, user_id).await.api()?))
    }

    /// An organisation admin makes a colleague an admin (who may invite and deactivate users), or no longer one.
    async fn set_organisation_admin(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        organisation_admin: bool,
    ) -> async_graphql::Result<User> {
        let actor = require(ctx, access::Permission::ManageOwnUsers)?;
        let user_id = super::parse_id("userId", &user_id)?;
        let services = ctx.data::<Services>()?;
        Ok(User(services.identity.set_organisation_admin(actor, user_id, organisation_admin).await.api()?))
    }
}
