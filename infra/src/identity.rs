//! Organisations, users and sessions: registration, review, login, refresh, logout and invitations.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use domain::{
    access::{Actor, Permission, Role},
    clock::Clock,
    commodity::Category,
    identity::{Email, Password, UserStatus, bounded_text, optional_text, person_name},
    login_throttle::LoginThrottle,
    organisation::{OrganisationKind, OrganisationStatus, ReviewDecision, organisation_name, review_reason},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    db::{WriteTransaction, begin_write},
    entities::{app_user, delivery_point, organisation, organisation_category, refresh_token},
    error::ServiceResult,
    notification::EventBus,
    pagination::{Page, PageRequest},
    password,
    read_models::{self, read_all, read_one},
    sessions::{SessionCache, SessionChange},
    tokens::{AccessTokens, new_opaque_token, token_hash},
};

const INVITATION_LIFETIME_DAYS: i64 = 7;

/// A delivery point (gerai) as entered.
#[derive(Debug, Clone)]
pub struct DeliveryPointInput {
    pub name: String,
    pub address: String,
    pub kelurahan: String,
    pub kecamatan: String,
    pub city: String,
}

/// The first user of a new organisation.
#[derive(Debug, Clone)]
pub struct FirstUserInput {
    pub email: String,
    pub name: String,
    pub password: String,
}

/// An organisation with its first user, as entered at registration.
#[derive(Debug, Clone)]
pub struct OrganisationInput {
    pub kind: OrganisationKind,
    pub name: String,
    pub registration_number: Option<String>,
    pub kelurahan: Option<String>,
    pub kecamatan: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub is_state_owned: bool,
    pub categories: Vec<Category>,
    pub delivery_points: Vec<DeliveryPointInput>,
    pub first_user: FirstUserInput,
}

/// A logged-in session: a short-lived access token and the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: read_models::User,
}

/// A new organisation and its first user.
#[derive(Debug, Clone)]
pub struct Registered {
    pub organisation: read_models::Organisation,
    pub user: read_models::User,
}

impl TryFrom<(organisation::Model, app_user::Model)> for Registered {
    type Error = ServiceError;
    fn try_from((organisation, user): (organisation::Model, app_user::Model)) -> ServiceResult<Self> {
        Ok(Self { organisation: organisation.try_into()?, user: user.try_into()? })
    }
}

/// An invitation just made: the token is shown once, to be passed to the invitee.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub user: read_models::User,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Which organisations to list.
#[derive(Debug, Clone, Default)]
pub struct OrganisationFilter {
    pub kind: Option<OrganisationKind>,
    pub status: Option<OrganisationStatus>,
}

#[derive(Clone)]
pub struct IdentityService {
    pub(crate) db: DatabaseConnection,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) access_tokens: Arc<AccessTokens>,
    pub(crate) refresh_token_lifetime: Duration,
    pub(crate) throttle: LoginThrottle,
    pub(crate) limits: crate::login_limits::LoginLimits,
    pub(crate) events: EventBus,
    pub(crate) sessions: SessionCache,
}

/// What [`IdentityService`] is made of besides the database and the clock.
pub struct IdentityParts {
    pub access_tokens: Arc<AccessTokens>,
    pub refresh_token_lifetime: Duration,
    pub limits: crate::login_limits::LoginLimits,
    pub events: EventBus,
    pub sessions: SessionCache,
}

struct ValidOrganisation {
    kind: OrganisationKind,
    name: String,
    registration_number: Option<String>,
    kelurahan: Option<String>,
    kecamatan: Option<String>,
    city: Option<String>,
    province: Option<String>,
    is_state_owned: bool,
    categories: Vec<Category>,
    delivery_points: Vec<DeliveryPointInput>,
    email: Email,
    user_name: String,
    password: Password,
}

fn validate_organisation(input: OrganisationInput) -> ServiceResult<ValidOrganisation> {
    let kind = input.kind;
    let place = |field: &'static str, value: Option<&str>| optional_text(field, value, 80);
    let valid = ValidOrganisation {
        kind,
        name: organisation_name(&input.name)?,
        registration_number: optional_text("registrationNumber", input.registration_number.as_deref(), 64)?,
        kelurahan: place("kelurahan", input.kelurahan.as_deref())?,
        kecamatan: place("kecamatan", input.kecamatan.as_deref())?,
        city: place("city", input.city.as_deref())?,
        province: place("province", input.province.as_deref())?,
        is_state_owned: input.is_state_owned,
        categories: input.categories,
        delivery_points: input
            .delivery_points
            .into_iter()
            .map(|point| {
                Ok(DeliveryPointInput {
                    name: bounded_text("deliveryPoints.name", &point.name, 2, 120)?,
                    address: bounded_text("deliveryPoints.address", &point.address, 5, 300)?,
                    kelurahan: bounded_text("deliveryPoints.kelurahan", &point.kelurahan, 2, 80)?,
                    kecamatan: bounded_text("deliveryPoints.kecamatan", &point.kecamatan, 2, 80)?,
                    city: bounded_text("deliveryPoints.city", &point.city, 2, 80)?,
                })
            })
            .collect::<Result<_, domain::RuleError>>()?,
        email: Email::parse(&input.first_user.email)?,
        user_name: person_name(&input.first_user.name)?,
        password: Password::parse(&input.first_user.password, &[&input.first_user.email, &input.first_user.name])?,
    };
    if kind == OrganisationKind::Cooperative {
        for (field, value) in [
            ("registrationNumber", &valid.registration_number),
            ("kelurahan", &valid.kelurahan),
            ("kecamatan", &valid.kecamatan),
            ("city", &valid.city),
        ] {
            if value.is_none() {
                return Err(ServiceError::bad_input(field, "is required for a cooperative"));
            }
        }
        if valid.delivery_points.is_empty() {
            return Err(ServiceError::bad_input("deliveryPoints", "a cooperative needs at least one delivery point"));
        }
    } else if !valid.delivery_points.is_empty() {
        return Err(ServiceError::bad_input("deliveryPoints", "only cooperatives have delivery points"));
    }
    if valid.delivery_points.len() > 20 {
        return Err(ServiceError::bad_input("deliveryPoints", "at most 20 delivery points"));
    }
    if kind == OrganisationKind::Supplier && valid.categories.is_empty() {
        return Err(ServiceError::bad_input("categories", "a supplier sells at least one category"));
    }
    if kind != OrganisationKind::Supplier && !valid.categories.is_empty() {
        return Err(ServiceError::bad_input("categories", "only suppliers declare categories"));
    }
    if kind != OrganisationKind::Supplier && valid.is_state_owned {
        return Err(ServiceError::bad_input("isStateOwned", "only suppliers can be state-owned (BUMN)"));
    }
    Ok(valid)
}

impl IdentityService {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, parts: IdentityParts) -> Self {
        let IdentityParts { access_tokens, refresh_token_lifetime, limits, events, sessions } = parts;
        Self {
            db,
            clock,
            access_tokens,
            refresh_token_lifetime,
            throttle: LoginThrottle::default(),
            limits,
            events,
            sessions,
        }
    }

    /// This node's session cache (for sockets to follow their session).
    pub fn sessions(&self) -> &SessionCache {
        &self.sessions
    }

    /// A cooperative or supplier signs itself up with its first user; it starts `PENDING`.
    pub async fn register(&self, input: OrganisationInput) -> ServiceResult<Registered> {
        if !input.kind.may_self_register() {
            return Err(ServiceError::bad_input("kind", "only cooperatives and suppliers register themselves"));
        }
        self.create_organisation(None, input, OrganisationStatus::Pending).await?.try_into()
    }

    /// A platform admin creates an organisation of any kind, verified from the start (the agency, say).
    pub async fn create_verified(&self, actor: &Actor, input: OrganisationInput) -> ServiceResult<Registered> {
        actor.require(Permission::ManageOrganisations)?;
        self.create_organisation(Some(actor), input, OrganisationStatus::Verified).await?.try_into()
    }

    /// For the command line and demo data: a verified organisation with no logged-in actor behind it.
    pub async fn create_verified_unattended(&self, input: OrganisationInput) -> ServiceResult<Registered> {
        self.create_organisation(None, input, OrganisationStatus::Verified).await?.try_into()
    }

    async fn create_organisation(
        &self,
        actor: Option<&Actor>,
        input: OrganisationInput,
        status: OrganisationStatus,
    ) -> ServiceResult<(organisation::Model, app_user::Model)> {
        let valid = validate_organisation(input)?;
        let password_hash = password::hash(valid.password).await?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        if app_user::Entity::find().filter(app_user::Column::Email.eq(valid.email.as_str())).one(&txn).await?.is_some()
        {
            return Err(ServiceError::Conflict("an account with this e-mail address already exists".into()));
        }
        let organisation = organisation::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(valid.kind.as_str().into()),
            name: Set(valid.name),
            status: Set(status.as_str().into()),
            status_reason: Set(None),
            registration_number: Set(valid.registration_number),
            kelurahan: Set(valid.kelurahan),
            kecamatan: Set(valid.kecamatan),
            city: Set(valid.city),
            province: Set(valid.province),
            is_state_owned: Set(valid.is_state_owned),
            created_at: Set(now),
            updated_at: Set(now),
            reviewed_at: Set((status == OrganisationStatus::Verified).then_some(now)),
            reviewed_by: Set(actor.map(|a| a.user_id)),
        }
        .insert(&txn)
        .await?;
        let mut categories: Vec<_> = valid.categories.iter().map(|c| c.as_str()).collect();
        categories.sort_unstable();
        categories.dedup();
        for category in &categories {
            organisation_category::ActiveModel {
                organisation_id: Set(organisation.id),
                category: Set((*category).into()),
            }
            .insert(&txn)
            .await?;
        }
        for point in valid.delivery_points {
            delivery_point::ActiveModel {
                id: Set(Uuid::now_v7()),
                organisation_id: Set(organisation.id),
                name: Set(point.name),
                address: Set(point.address),
                kelurahan: Set(point.kelurahan),
                kecamatan: Set(point.kecamatan),
                city: Set(point.city),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
        let user = app_user::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(organisation.id),
            email: Set(valid.email.as_str().into()),
            name: Set(valid.user_name),
            role: Set(Role::for_kind(valid.kind).as_str().into()),
            is_organisation_admin: Set(true),
            status: Set(UserStatus::Active.as_str().into()),
            password_hash: Set(Some(password_hash)),
            invitation_token_hash: Set(None),
            invitation_expires_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let summary = json!({
            "kind": organisation.kind,
            "name": organisation.name,
            "status": organisation.status,
            "categories": categories,
            "firstUser": user.id,
        });
        let record = match actor {
            Some(actor) => AuditRecord::by(actor, "organisation.created", "organisation", organisation.id, summary),
            None => AuditRecord::anonymous("organisation.registered", "organisation", organisation.id, summary),
        };
        audit::record(&txn, now, record).await?;
        txn.commit().await?;
        Ok((organisation, user))
    }

    /// For `lumbung create-admin`: a platform admin, in the platform organisation (created on first use).
    pub async fn create_platform_admin(
        &self,
        email: &str,
        name: &str,
        new_password: &str,
    ) -> ServiceResult<read_models::User> {
        let platform = organisation::Entity::find()
            .filter(organisation::Column::Kind.eq(OrganisationKind::Platform.as_str()))
            .order_by_asc(organisation::Column::Id)
            .one(&self.db)
            .await?;
        let Some(platform) = platform else {
            let input = OrganisationInput {
                kind: OrganisationKind::Platform,
                name: "Lumbung Platform".into(),
                registration_number: None,
                kelurahan: None,
                kecamatan: None,
                city: None,
                province: None,
                is_state_owned: false,
                categories: vec![],
                delivery_points: vec![],
                first_user: FirstUserInput { email: email.into(), name: name.into(), password: new_password.into() },
            };
            return Ok(self.create_verified_unattended(input).await?.user);
        };
        let email = Email::parse(email)?;
        let name = person_name(name)?;
        let password_hash = password::hash(Password::parse(new_password, &[email.as_str(), &name])?).await?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        if app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(&txn).await?.is_some() {
            return Err(ServiceError::Conflict("an account with this e-mail address already exists".into()));
        }
        let user = app_user::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(platform.id),
            email: Set(email.as_str().into()),
            name: Set(name),
            role: Set(Role::PlatformAdmin.as_str().into()),
            is_organisation_admin: Set(true),
            status: Set(UserStatus::Active.as_str().into()),
            password_hash: Set(Some(password_hash)),
            invitation_token_hash: Set(None),
            invitation_expires_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        audit::record(&txn, now, AuditRecord::anonymous("user.admin_created", "user", user.id, json!({}))).await?;
        txn.commit().await?;
        user.try_into()
    }

    /// Verifies, rejects, suspends or reinstates an organisation. Suspension ends every session of its users.
    pub async fn review(
        &self,
        actor: &Actor,
        organisation_id: Uuid,
        decision: ReviewDecision,
        reason: Option<&str>,
    ) -> ServiceResult<read_models::Organisation> {
        let reason = review_reason(decision, reason)?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let target = organisation::Entity::find_by_id(organisation_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ServiceError::NotFound("organisation".into()))?;
        let kind = OrganisationKind::parse(&target.kind)?;
        if !actor.may_view_organisation(target.id) {
            return Err(ServiceError::NotFound("organisation".into()));
        }
        actor.may_review(target.id, kind)?;
        let from = OrganisationStatus::parse(&target.status)?;
        let to = from.apply(decision)?;
        let mut changed = target.into_active_model();
        changed.status = Set(to.as_str().into());
        changed.status_reason = Set(reason.clone());
        changed.reviewed_at = Set(Some(now));
        changed.reviewed_by = Set(Some(actor.user_id));
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        if !to.may_log_in() {
            let users = app_user::Entity::find()
                .select_only()
                .column(app_user::Column::Id)
                .filter(app_user::Column::OrganisationId.eq(updated.id))
                .into_tuple::<Uuid>()
                .all(&txn)
                .await?;
            refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
                .filter(refresh_token::Column::UserId.is_in(users))
                .filter(refresh_token::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
        }
        // Every decision changes what its users may do (a verified organisation may act, a suspended one not at all).
        self.sessions_changed(&txn, now, SessionChange::Organisation(updated.id)).await?;
        let action = match decision {
            ReviewDecision::Verify => "organisation.verified",
            ReviewDecision::Reject => "organisation.rejected",
            ReviewDecision::Suspend => "organisation.suspended",
            ReviewDecision::Reinstate => "organisation.reinstated",
        };
        let summary = json!({ "from": from.as_str(), "to": to.as_str(), "reason": reason });
        audit::record(&txn, now, AuditRecord::by(actor, action, "organisation", updated.id, summary)).await?;
        // Its users hear of it, a suspended organisation's too (they can no longer log in to see it).
        let notice = domain::notification::Notice::OrganisationReviewed {
            organisation: updated.name.clone(),
            status: to.as_str().to_owned(),
            reason: reason.clone(),
        };
        let id = updated.id.to_string();
        crate::notification::mail_organisations(
            &txn,
            now,
            &notice,
            &[updated.id],
            crate::notification::Subject { kind: "organisation", id: &id },
        )
        .await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// An organisation admin invites a colleague; the returned token is given to them to set a password.
    pub async fn invite(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        organisation_admin: bool,
    ) -> ServiceResult<Invitation> {
        actor.require(Permission::ManageOwnUsers)?;
        let email = Email::parse(email)?;
        let name = person_name(name)?;
        let now = self.clock.now();
        let token = new_opaque_token();
        let expires_at = now + Duration::days(INVITATION_LIFETIME_DAYS);
        let txn = begin_write(&self.db).await?;
        if app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(&txn).await?.is_some() {
            return Err(ServiceError::Conflict("an account with this e-mail address already exists".into()));
        }
        let user = app_user::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(actor.organisation_id),
            email: Set(email.as_str().into()),
            name: Set(name),
            role: Set(Role::for_kind(actor.organisation_kind).as_str().into()),
            is_organisation_admin: Set(organisation_admin),
            status: Set(UserStatus::Invited.as_str().into()),
            password_hash: Set(None),
            invitation_token_hash: Set(Some(token_hash(&token))),
            invitation_expires_at: Set(Some(expires_at)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let summary = json!({ "organisationAdmin": organisation_admin });
        audit::record(&txn, now, AuditRecord::by(actor, "user.invited", "user", user.id, summary)).await?;
        txn.commit().await?;
        Ok(Invitation { user: user.try_into()?, token, expires_at })
    }

    /// The invitee sets their password; the invitation token then no longer works.
    pub async fn accept_invitation(&self, token: &str, new_password: &str) -> ServiceResult<read_models::User> {
        // Whose password it is, so that it may not contain their address or name (read outside the write).
        let invitee = app_user::Entity::find()
            .filter(app_user::Column::InvitationTokenHash.eq(token_hash(token)))
            .one(&self.db)
            .await?;
        let personal: Vec<&str> = invitee.iter().flat_map(|u| [u.email.as_str(), u.name.as_str()]).collect();
        let password_hash = password::hash(Password::parse(new_password, &personal)?).await?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let invited = app_user::Entity::find()
            .filter(app_user::Column::InvitationTokenHash.eq(token_hash(token)))
            .filter(app_user::Column::Status.eq(UserStatus::Invited.as_str()))
            .one(&txn)
            .await?
            .filter(|user| user.invitation_expires_at.is_some_and(|expiry| expiry > now))
            .ok_or_else(|| ServiceError::Unauthenticated("the invitation is invalid or has expired".into()))?;
        let mut accepted = invited.into_active_model();
        accepted.status = Set(UserStatus::Active.as_str().into());
        accepted.password_hash = Set(Some(password_hash));
        accepted.invitation_token_hash = Set(None);
        accepted.invitation_expires_at = Set(None);
        accepted.updated_at = Set(now);
        let user = accepted.update(&txn).await?;
        let record = AuditRecord {
            actor_user_id: Some(user.id),
            actor_organisation_id: Some(user.organisation_id),
            action: "user.invitation_accepted",
            subject_type: "user",
            subject_id: user.id.to_string(),
            summary: json!({}),
        };
        audit::record(&txn, now, record).await?;
        txn.commit().await?;
        user.try_into()
    }

    /// A colleague of the caller's organisation, for its admin to change.
    async fn colleague_for_update(
        &self,
        txn: &WriteTransaction,
        actor: &Actor,
        user_id: Uuid,
    ) -> ServiceResult<app_user::Model> {
        actor.require(Permission::ManageOwnUsers)?;
        if user_id == actor.user_id {
            return Err(ServiceError::Conflict(
                "ask another admin of your organisation to change your own account".into(),
            ));
        }
        app_user::Entity::find_by_id(user_id)
            .one(txn)
            .await?
            .filter(|user| user.organisation_id == actor.organisation_id)
            .ok_or_else(|| ServiceError::NotFound("user".into()))
    }

    /// An organisation admin deactivates a colleague: every session of theirs ends at once, on every node.
    pub async fn deactivate_user(&self, actor: &Actor, user_id: Uuid) -> ServiceResult<read_models::User> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let user = self.colleague_for_update(&txn, actor, user_id).await?;
        if UserStatus::parse(&user.status)? == UserStatus::Deactivated {
            return Err(ServiceError::Conflict("this user is already deactivated".into()));
        }
        let mut changed = user.into_active_model();
        changed.status = Set(UserStatus::Deactivated.as_str().into());
        changed.invitation_token_hash = Set(None);
        changed.invitation_expires_at = Set(None);
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        Self::end_sessions_of_user(&txn, user_id, None, now).await?;
        self.sessions_changed(&txn, now, SessionChange::User(user_id)).await?;
        audit::record(&txn, now, AuditRecord::by(actor, "user.deactivated", "user", user_id, json!({}))).await?;
        txn.commit().await?;
        updated.try_into()
    }

    /// An organisation admin makes a colleague an admin, or no longer one; their open sessions change at once.
    pub async fn set_organisation_admin(
        &self,
        actor: &Actor,
        user_id: Uuid,
        organisation_admin: bool,
    ) -> ServiceResult<read_models::User> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let user = self.colleague_for_update(&txn, actor, user_id).await?;
        let mut changed = user.into_active_model();
        changed.is_organisation_admin = Set(organisation_admin);
        changed.updated_at = Set(now);
        let updated = changed.update(&txn).await?;
        self.sessions_changed(&txn, now, SessionChange::User(user_id)).await?;
        let summary = json!({ "organisationAdmin": organisation_admin });
        audit::record(&txn, now, AuditRecord::by(actor, "user.admin_changed", "user", user_id, summary)).await?;
        txn.commit().await?;
        updated.try_into()
    }

    pub(crate) async fn organisation_of(&self, user: &app_user::Model) -> ServiceResult<organisation::Model> {
        organisation::Entity::find_by_id(user.organisation_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::internal("user without organisation"))
    }

    /// One organisation, if the actor may see it; otherwise as if it did not exist.
    pub async fn organisation(&self, actor: &Actor, id: Uuid) -> ServiceResult<Option<read_models::Organisation>> {
        actor.require(Permission::ViewOwnOrganisation)?;
        if !actor.may_view_organisation(id) {
            return Ok(None);
        }
        read_one(organisation::Entity::find_by_id(id).one(&self.db).await?)
    }

    pub async fn user(&self, actor: &Actor, id: Uuid) -> ServiceResult<Option<read_models::User>> {
        let user = app_user::Entity::find_by_id(id).one(&self.db).await?;
        read_one(user.filter(|u| u.id == actor.user_id || actor.may_view_organisation(u.organisation_id)))
    }

    /// Organisations for the agency and admins, oldest first.
    pub async fn organisations(
        &self,
        actor: &Actor,
        filter: OrganisationFilter,
        page: PageRequest<Uuid>,
    ) -> ServiceResult<Page<read_models::Organisation>> {
        actor.require(Permission::ViewAllOrganisations)?;
        let mut query = organisation::Entity::find().order_by_asc(organisation::Column::Id);
        if let Some(kind) = filter.kind {
            query = query.filter(organisation::Column::Kind.eq(kind.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter(organisation::Column::Status.eq(status.as_str()));
        }
        if let Some(after) = page.after {
            query = query.filter(organisation::Column::Id.gt(after));
        }
        let rows = read_all(query.limit(page.limit + 1).all(&self.db).await?)?;
        Ok(Page::from_overfetched(rows, page.limit))
    }

    // Batch loaders: one query for many organisations, so lists stay at a constant number of queries.

    pub async fn organisations_by_ids(&self, ids: &[Uuid]) -> ServiceResult<Vec<read_models::Organisation>> {
        read_all(
            organisation::Entity::find()
                .filter(organisation::Column::Id.is_in(ids.iter().copied()))
                .all(&self.db)
                .await?,
        )
    }

    pub async fn users_of(&self, organisation_ids: &[Uuid]) -> ServiceResult<Vec<read_models::User>> {
        read_all(
            app_user::Entity::find()
                .filter(app_user::Column::OrganisationId.is_in(organisation_ids.iter().copied()))
                .order_by_asc(app_user::Column::Id)
                .all(&self.db)
                .await?,
        )
    }

    pub async fn delivery_points_of(
        &self,
        organisation_ids: &[Uuid],
    ) -> ServiceResult<Vec<read_models::DeliveryPoint>> {
        read_all(
            delivery_point::Entity::find()
                .filter(delivery_point::Column::OrganisationId.is_in(organisation_ids.iter().copied()))
                .order_by_asc(delivery_point::Column::Id)
                .all(&self.db)
                .await?,
        )
    }

    /// The categories each organisation sells, as (organisation, category) pairs.
    pub async fn categories_of(&self, organisation_ids: &[Uuid]) -> ServiceResult<Vec<(Uuid, Category)>> {
        organisation_category::Entity::find()
            .filter(organisation_category::Column::OrganisationId.is_in(organisation_ids.iter().copied()))
            .order_by_asc(organisation_category::Column::Category)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                let category = Category::parse(&row.category)
                    .map_err(|error| ServiceError::internal(format!("a stored category does not parse: {error}")))?;
                Ok((row.organisation_id, category))
            })
            .collect()
    }

    /// Whether any organisation exists yet (demo data goes only into an empty database).
    pub async fn is_empty(&self) -> ServiceResult<bool> {
        Ok(organisation::Entity::find().one(&self.db).await?.is_none())
    }
}
