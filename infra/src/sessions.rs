//! Sessions: login, refresh and logout, and one truth about who is calling.
//!
//! Every access token names its session (`sid`): the refresh-token family of one login. A session ends with logout,
//! refresh-token reuse, a password change (its other sessions), the user's deactivation, or its organisation's
//! suspension or rejection; reinstating an organisation does not bring its ended sessions back.
//!
//! Who a session's caller is lives in a per-node cache ([`SessionCache`], moka), filled on first use, so that an
//! authenticated request costs no database round trip. Every change that ends or alters a session is a `SESSION`
//! live event written in the transaction of the change: PostgreSQL `NOTIFY` carries it to every node at commit (and
//! this node applies it at commit as well), SQLite applies it in-process at commit. While a node is not listening
//! (before its listener connects, or after the connection drops) it trusts no cached entry and asks the database on
//! every request, so no node acts on a stale session for longer than an event takes to arrive.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};
use domain::{
    access::{Actor, Role},
    identity::{Email, Password, UserStatus},
    organisation::{OrganisationKind, OrganisationStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    ServiceError,
    audit::{self, AuditRecord},
    db::{WriteTransaction, begin_write},
    entities::{app_user, login_throttle, organisation, refresh_token},
    error::ServiceResult,
    identity::{IdentityService, Session},
    notification::Topic,
    password,
    tokens::{VerifiedToken, new_opaque_token, token_hash},
};

/// What changed, as carried by a `SESSION` live event: one session, every session of a user, or of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionChange {
    Session(Uuid),
    User(Uuid),
    Organisation(Uuid),
    /// Anything may have changed (this node missed events): forget everything.
    All,
}

impl SessionChange {
    /// Whether this change may concern the session `session_id` of `actor`.
    pub fn concerns(self, session_id: Uuid, actor: &Actor) -> bool {
        match self {
            Self::Session(id) => id == session_id,
            Self::User(id) => id == actor.user_id,
            Self::Organisation(id) => id == actor.organisation_id,
            Self::All => true,
        }
    }

    fn subject(self) -> Uuid {
        match self {
            Self::Session(id) | Self::User(id) | Self::Organisation(id) => id,
            Self::All => Uuid::nil(),
        }
    }
}

/// Why a session no longer admits its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Logged out, replaced after refresh-token reuse, ended by a password change, or past its refresh token's life:
    /// signing in again helps (graphql-transport-ws close code 4401).
    SignedOut,
    /// The user was deactivated or the organisation suspended or rejected: signing in again does not help (4403).
    Barred,
}

impl SessionEnd {
    /// The graphql-transport-ws close code for a socket whose session ended this way.
    pub fn close_code(self) -> u16 {
        match self {
            Self::SignedOut => 4401,
            Self::Barred => 4403,
        }
    }

    pub fn error(self) -> ServiceError {
        match self {
            Self::SignedOut => ServiceError::Unauthenticated("this session has ended; sign in again".into()),
            Self::Barred => ServiceError::Unauthenticated("this account can no longer be used".into()),
        }
    }
}

/// A session as the cache holds it. An ended session never comes back, so the end is cached too.
#[derive(Debug, Clone)]
pub enum SessionState {
    Active(Arc<ActiveSession>),
    Ended(SessionEnd),
}

/// Who an open session's caller is: what they may do, and their account as `me` shows it.
#[derive(Debug)]
pub struct ActiveSession {
    pub actor: Actor,
    pub user: crate::read_models::User,
}

/// A caller whose access token was checked against its session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: Actor,
    pub session_id: Uuid,
    /// When the access token stops working (a socket opened with it closes then).
    pub expires_at: DateTime<Utc>,
}

/// The per-node cache of sessions, invalidated by session events. Cheap to clone.
#[derive(Clone)]
pub struct SessionCache(Arc<CacheInner>);

struct CacheInner {
    entries: moka::sync::Cache<Uuid, SessionState>,
    /// Bumped by every invalidation, so that a fill read before an invalidation is not stored after it.
    generation: AtomicU64,
    fill_or_invalidate: Mutex<()>,
    /// Whether this node receives every session event now; if not, no cached entry is trusted.
    trusted: AtomicBool,
    changes: broadcast::Sender<SessionChange>,
}

impl SessionCache {
    /// `trusted` from the start when events cannot be missed (one process, SQLite); on PostgreSQL only once the
    /// listener is connected (see [`Self::set_trusted`]).
    pub fn new(capacity: u64, trusted: bool) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(capacity)
            // Idle sessions leave memory; a returning caller costs one read.
            .time_to_idle(std::time::Duration::from_secs(30 * 60))
            .support_invalidation_closures()
            .build();
        let (changes, _) = broadcast::channel(1024);
        Self(Arc::new(CacheInner {
            entries,
            generation: AtomicU64::new(0),
            fill_or_invalidate: Mutex::new(()),
            trusted: AtomicBool::new(trusted),
            changes,
        }))
    }

    /// Changes as this node applies them, for open sockets to re-check their session.
    pub fn changes(&self) -> broadcast::Receiver<SessionChange> {
        self.0.changes.subscribe()
    }

    /// Whether cached entries are trusted now.
    pub fn is_trusted(&self) -> bool {
        self.0.trusted.load(Ordering::Acquire)
    }

    /// Called by the PostgreSQL listener: untrusted while it is not listening; on (re)connecting everything cached is
    /// forgotten, since events may have been missed meanwhile.
    pub fn set_trusted(&self, trusted: bool) {
        self.apply(SessionChange::All);
        self.0.trusted.store(trusted, Ordering::Release);
        if trusted {
            // Entries filled while untrusted may predate a missed event.
            self.apply(SessionChange::All);
        }
    }

    fn get(&self, session_id: Uuid) -> Option<SessionState> {
        if !self.is_trusted() {
            return None;
        }
        self.0.entries.get(&session_id)
    }

    fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    fn fill(&self, session_id: Uuid, state: SessionState, read_at_generation: u64) {
        let _guard = self.0.fill_or_invalidate.lock().unwrap_or_else(PoisonError::into_inner);
        if self.is_trusted() && self.generation() == read_at_generation {
            self.0.entries.insert(session_id, state);
        }
    }

    /// Forgets what `change` may have made stale, then tells open sockets.
    pub fn apply(&self, change: SessionChange) {
        {
            let _guard = self.0.fill_or_invalidate.lock().unwrap_or_else(PoisonError::into_inner);
            let entries = &self.0.entries;
            let invalidated = match change {
                SessionChange::Session(id) => {
                    entries.invalidate(&id);
                    Ok(())
                }
                SessionChange::User(user) => entries
                    .invalidate_entries_if(
                        move |_, state| matches!(state, SessionState::Active(open) if open.actor.user_id == user),
                    )
                    .map(drop),
                SessionChange::Organisation(organisation) => entries
                    .invalidate_entries_if(move |_, state| {
                        matches!(state, SessionState::Active(open) if open.actor.organisation_id == organisation)
                    })
                    .map(drop),
                SessionChange::All => {
                    entries.invalidate_all();
                    Ok(())
                }
            };
            if invalidated.is_err() {
                entries.invalidate_all();
            }
            self.0.generation.fetch_add(1, Ordering::AcqRel);
        }
        // No open socket is not an error.
        let _ = self.0.changes.send(change);
    }
}

impl IdentityService {
    /// The caller behind an access token: its signature and expiry checked here, its session from this node's cache
    /// (the database only on a miss).
    pub async fn actor_for_access_token(&self, token: &str) -> ServiceResult<Actor> {
        Ok(self.authenticate(token).await?.actor)
    }

    /// As [`Self::actor_for_access_token`], with the session and the token's expiry (for sockets).
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Authenticated> {
        let verified = self.access_tokens.verify(token, self.clock.now())?;
        match self.session_state(&verified).await? {
            SessionState::Active(open) => Ok(Authenticated {
                actor: open.actor.clone(),
                session_id: verified.session_id,
                expires_at: verified.expires_at,
            }),
            SessionState::Ended(end) => Err(end.error()),
        }
    }

    /// Where a token's session stands now.
    pub async fn session_state(&self, token: &VerifiedToken) -> ServiceResult<SessionState> {
        let state = match self.sessions.get(token.session_id) {
            Some(state) => state,
            None => {
                let generation = self.sessions.generation();
                let state = self.load_session(token).await?;
                self.sessions.fill(token.session_id, state.clone(), generation);
                state
            }
        };
        Ok(match state {
            // A token names its user and session together; a mismatch is no session of this caller.
            SessionState::Active(open) if open.actor.user_id != token.user_id => {
                SessionState::Ended(SessionEnd::SignedOut)
            }
            other => other,
        })
    }

    async fn load_session(&self, token: &VerifiedToken) -> ServiceResult<SessionState> {
        let found =
            app_user::Entity::find_by_id(token.user_id).find_also_related(organisation::Entity).one(&self.db).await?;
        let Some((user, Some(organisation))) = found else {
            return Ok(SessionState::Ended(SessionEnd::SignedOut));
        };
        let organisation_status = OrganisationStatus::parse(&organisation.status)?;
        if UserStatus::parse(&user.status)? != UserStatus::Active || !organisation_status.may_log_in() {
            return Ok(SessionState::Ended(SessionEnd::Barred));
        }
        let alive = refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(token.session_id))
            .filter(refresh_token::Column::UserId.eq(token.user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(self.clock.now()))
            .one(&self.db)
            .await?
            .is_some();
        if !alive {
            return Ok(SessionState::Ended(SessionEnd::SignedOut));
        }
        let actor = Actor {
            user_id: user.id,
            organisation_id: organisation.id,
            organisation_kind: OrganisationKind::parse(&organisation.kind)?,
            organisation_status,
            role: Role::parse(&user.role)?,
            is_organisation_admin: user.is_organisation_admin,
        };
        Ok(SessionState::Active(Arc::new(ActiveSession { actor, user: user.try_into()? })))
    }

    /// The account of an open session's caller from this node's cache, when it is there and trusted (`me` reads it
    /// on every page): `None` sends the caller to the database.
    pub fn cached_user(&self, session_id: Uuid) -> Option<crate::read_models::User> {
        match self.sessions.get(session_id)? {
            SessionState::Active(open) => Some(open.user.clone()),
            SessionState::Ended(_) => None,
        }
    }

    /// Records in `txn` that sessions changed; every node applies it once `txn` commits.
    pub(crate) async fn sessions_changed(
        &self,
        txn: &WriteTransaction,
        now: DateTime<Utc>,
        change: SessionChange,
    ) -> ServiceResult<()> {
        let payload = serde_json::to_value(change).map_err(|error| ServiceError::internal(error.to_string()))?;
        self.events.publish(txn, now, Topic::Session, change.subject(), payload).await?;
        Ok(())
    }

    /// Ends every session of `user_id` (all but `keep`, when given). Returns how many refresh tokens were revoked.
    pub(crate) async fn end_sessions_of_user(
        connection: &impl ConnectionTrait,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> ServiceResult<u64> {
        let mut update = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null());
        if let Some(keep) = keep {
            update = update.filter(refresh_token::Column::FamilyId.ne(keep));
        }
        Ok(update.exec(connection).await?.rows_affected)
    }

    /// The caller changes their password, proving the current one; every other session of theirs ends.
    pub async fn change_password(
        &self,
        actor: &Actor,
        session_id: Uuid,
        current_password: &str,
        new_password: &str,
    ) -> ServiceResult<()> {
        let user = app_user::Entity::find_by_id(actor.user_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::Unauthenticated("this account can no longer be used".into()))?;
        if !password::verify(user.password_hash.clone(), current_password.to_owned()).await {
            return Err(ServiceError::bad_input("currentPassword", "is not your current password"));
        }
        let email = Email::parse(&user.email)?;
        let new_hash = password::hash(Password::parse(new_password, &[email.as_str(), &user.name])?).await?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let mut changed = user.into_active_model();
        changed.password_hash = Set(Some(new_hash));
        changed.updated_at = Set(now);
        changed.update(&txn).await?;
        let ended = Self::end_sessions_of_user(&txn, actor.user_id, Some(session_id), now).await?;
        self.sessions_changed(&txn, now, SessionChange::User(actor.user_id)).await?;
        let summary = json!({ "otherSessionsEnded": ended > 0 });
        audit::record(&txn, now, AuditRecord::by(actor, "user.password_changed", "user", actor.user_id, summary))
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Logs in with e-mail and password from `client` (its network address, when known). Wrong credentials and
    /// unknown e-mails get the same answer in the same time. Attempts are rate-limited per client and overall before
    /// any password is hashed; repeated failures lock the (account, client) pair for a while, whether or not the
    /// account exists — so a stranger elsewhere cannot lock a user out.
    pub async fn login(
        &self,
        email: &str,
        candidate_password: &str,
        client: Option<std::net::IpAddr>,
    ) -> ServiceResult<Session> {
        let email = Email::parse(email)?;
        self.limits.check(client)?;
        let email_key = match client {
            Some(client) => token_hash(&format!("{}\n{client}", email.as_str())),
            None => token_hash(email.as_str()),
        };
        let now = self.clock.now();
        if let Some(throttle) = login_throttle::Entity::find_by_id(email_key.clone()).one(&self.db).await?
            && let Some(until) = throttle.locked_until
            && until > now
        {
            return Err(ServiceError::TooManyAttempts { retry_after_seconds: (until - now).num_seconds().max(1) });
        }
        let user = app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(&self.db).await?;
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let password_matches = password::verify(stored_hash, candidate_password.to_owned()).await;
        let Some(user) = user.filter(|u| password_matches && u.status == UserStatus::Active.as_str()) else {
            self.record_failed_login(&email_key, now).await?;
            return Err(ServiceError::Unauthenticated("invalid e-mail or password".into()));
        };
        let organisation = self.organisation_of(&user).await?;
        let status = OrganisationStatus::parse(&organisation.status)?;
        if !status.may_log_in() {
            return Err(ServiceError::Forbidden(format!(
                "your organisation is {}; contact the cooperative office",
                status.as_str()
            )));
        }
        let txn = begin_write(&self.db).await?;
        login_throttle::Entity::delete_by_id(email_key).exec(&txn).await?;
        let session = self.start_session(&txn, user, Uuid::now_v7(), now).await?;
        audit::record(
            &txn,
            now,
            AuditRecord {
                actor_user_id: Some(session.user.id),
                actor_organisation_id: Some(session.user.organisation_id),
                action: "session.logged_in",
                subject_type: "user",
                subject_id: session.user.id.to_string(),
                summary: json!({}),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(session)
    }

    async fn record_failed_login(&self, email_key: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        let txn = begin_write(&self.db).await?;
        let previous = login_throttle::Entity::find_by_id(email_key.to_owned()).one(&txn).await?;
        let failures = previous.as_ref().map_or(0, |row| row.failures.max(0).unsigned_abs()).saturating_add(1);
        let locked_until = self.throttle.locked_until(failures, now);
        let row = login_throttle::ActiveModel {
            email_key: Set(email_key.to_owned()),
            failures: Set(i32::try_from(failures).unwrap_or(i32::MAX)),
            locked_until: Set(locked_until),
            last_failure_at: Set(now),
        };
        if previous.is_some() {
            row.update(&txn).await?;
        } else {
            row.insert(&txn).await?;
        }
        // The audit names the hashed address, never the password tried.
        let summary = json!({ "failures": failures, "locked": locked_until.is_some() });
        audit::record(&txn, now, AuditRecord::anonymous("session.login_failed", "email", &email_key[..16], summary))
            .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn start_session(
        &self,
        connection: &impl ConnectionTrait,
        user: app_user::Model,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> ServiceResult<Session> {
        let refresh_token = new_opaque_token();
        let refresh_token_expires_at = now + self.refresh_token_lifetime;
        refresh_token::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user.id),
            family_id: Set(family_id),
            token_hash: Set(token_hash(&refresh_token)),
            issued_at: Set(now),
            expires_at: Set(refresh_token_expires_at),
            rotated_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(connection)
        .await?;
        let (access_token, access_token_expires_at) = self.access_tokens.issue(user.id, family_id, now)?;
        let user = user.try_into()?;
        Ok(Session { access_token, access_token_expires_at, refresh_token, refresh_token_expires_at, user })
    }

    /// Exchanges a refresh token for a new session. Each refresh token works once: presenting one that was
    /// already rotated means it was stolen or replayed, so every token of its login is revoked.
    pub async fn refresh(&self, presented: &str) -> ServiceResult<Session> {
        let now = self.clock.now();
        let rejected = || ServiceError::Unauthenticated("the refresh token is invalid or expired".into());
        let txn = begin_write(&self.db).await?;
        let Some(stored) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash(presented)))
            .one(&txn)
            .await?
        else {
            return Err(rejected());
        };
        if stored.revoked_at.is_some() || stored.expires_at <= now {
            return Err(rejected());
        }
        // Claim the token: only one concurrent refresh can move it from unused to rotated.
        let claimed = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(stored.id))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            Self::revoke_family(&txn, stored.family_id, now).await?;
            self.sessions_changed(&txn, now, SessionChange::Session(stored.family_id)).await?;
            audit::record(
                &txn,
                now,
                AuditRecord::anonymous(
                    "session.refresh_token_reused",
                    "user",
                    stored.user_id,
                    json!({ "family": stored.family_id }),
                ),
            )
            .await?;
            txn.commit().await?;
            return Err(ServiceError::Unauthenticated(
                "this refresh token was already used; every session of that login has been ended".into(),
            ));
        }
        let user = app_user::Entity::find_by_id(stored.user_id).one(&txn).await?.ok_or_else(rejected)?;
        let organisation = self.organisation_of(&user).await?;
        if user.status != UserStatus::Active.as_str() || !OrganisationStatus::parse(&organisation.status)?.may_log_in()
        {
            return Err(rejected());
        }
        let session = self.start_session(&txn, user, stored.family_id, now).await?;
        txn.commit().await?;
        Ok(session)
    }

    /// Ends the login a refresh token belongs to. Returns whether there was anything to end.
    pub async fn logout(&self, presented: &str) -> ServiceResult<bool> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let Some(stored) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash(presented)))
            .one(&txn)
            .await?
        else {
            return Ok(false);
        };
        let revoked = Self::revoke_family(&txn, stored.family_id, now).await?;
        self.sessions_changed(&txn, now, SessionChange::Session(stored.family_id)).await?;
        audit::record(&txn, now, AuditRecord::anonymous("session.logged_out", "user", stored.user_id, json!({})))
            .await?;
        txn.commit().await?;
        Ok(revoked > 0)
    }

    async fn revoke_family(
        connection: &impl ConnectionTrait,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> ServiceResult<u64> {
        let result = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::FamilyId.eq(family_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(connection)
            .await?;
        Ok(result.rows_affected)
    }
}
