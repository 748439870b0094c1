//! Authorisation, visible at the top of every resolver.
//!
//! Each root field calls exactly one of [`public`], [`authenticated`] or [`require`] before doing anything. The
//! call is recorded, and [`AuthorisationAudit`] refuses the answer of any root field that made no decision, so an
//! operation added without one fails its first test instead of shipping open.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    Context, ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo},
};
use domain::access::{Actor, Permission};
use infra::ServiceError;

use super::error::{server_error, to_graphql};

/// Who is calling, as established from the request's `Authorization` header.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    /// A token was sent but refused; the reason is given to resolvers that need a caller.
    Rejected(String),
    /// The caller could not be checked because the database did not answer.
    Unavailable,
    Actor(Actor),
}

/// The session the caller's access token names (absent for anonymous callers).
#[derive(Debug, Clone, Copy)]
pub struct CallerSession(pub uuid::Uuid);

/// The network address the request came from (the peer of the connection), for limits that are per client.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The root fields of this request that made an authorisation decision.
#[derive(Default)]
pub struct DecisionLedger(Mutex<HashSet<String>>);

fn record_decision(ctx: &Context<'_>) {
    let Some(ledger) = ctx.data_opt::<DecisionLedger>() else {
        return;
    };
    let mut node = ctx.path_node;
    while let Some(current) = node {
        if current.parent.is_none() {
            ledger.0.lock().unwrap_or_else(PoisonError::into_inner).insert(current.field_name().to_owned());
        }
        node = current.parent.copied();
    }
}

/// Anyone may call this, logged in or not (registration, login).
pub fn public(ctx: &Context<'_>) {
    record_decision(ctx);
}

/// Any logged-in caller may call this; finer checks happen in the use case with the returned actor.
pub fn authenticated<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Actor> {
    record_decision(ctx);
    match ctx.data_opt::<Caller>() {
        Some(Caller::Actor(actor)) => Ok(actor),
        Some(Caller::Rejected(reason)) => Err(to_graphql(ServiceError::Unauthenticated(reason.clone()))),
        Some(Caller::Unavailable) => {
            Err(to_graphql(ServiceError::Unavailable(anyhow::anyhow!("the caller could not be loaded"))))
        }
        _ => Err(to_graphql(ServiceError::Unauthenticated(
            "log in first: send `Authorization: Bearer <access token>`".into(),
        ))),
    }
}

/// Only callers holding `permission` may call this.
pub fn require<'a>(ctx: &Context<'a>, permission: Permission) -> async_graphql::Result<&'a Actor> {
    let actor = authenticated(ctx)?;
    actor.require(permission).map_err(|error| to_graphql(error.into()))?;
    Ok(actor)
}

/// Refuses the result of any root field that resolved without an authorisation decision.
pub struct AuthorisationAudit;

impl ExtensionFactory for AuthorisationAudit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AuthorisationAuditExtension)
    }
}

struct AuthorisationAuditExtension;

#[async_trait::async_trait]
impl Extension for AuthorisationAuditExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let is_root = info.path_node.parent.is_none();
        // The ledger keys fields by their response name (an alias when there is one); introspection is recognised by
        // the field itself, so `{ a: __schema { … } }` is introspection too.
        let name = info.path_node.field_name().to_owned();
        let introspection = info.name.starts_with("__");
        let result = next.run(ctx, info).await;
        // An error reveals nothing and changes nothing (e.g. an argument that did not parse before the resolver ran).
        if !is_root || introspection || result.is_err() {
            return result;
        }
        let decided = ctx
            .data_opt::<DecisionLedger>()
            .is_some_and(|ledger| ledger.0.lock().unwrap_or_else(PoisonError::into_inner).contains(&name));
        if decided {
            result
        } else {
            tracing::error!(field = %name, "root field resolved without an authorisation decision");
            Err(server_error("INTERNAL_SERVER_ERROR", "internal error"))
        }
    }
}
