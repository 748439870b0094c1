//! `/graphql/ws`: subscriptions over WebSocket (`graphql-transport-ws`) that follow the caller's session.
//!
//! The access token travels in the `connection_init` payload (`{"authorization": "Bearer <token>"}`). From then on
//! the socket is only as good as the session the token names: every operation started on it and every event it
//! delivers is checked against the session (this node's session cache), and when the session ends, the organisation
//! is suspended or the token expires, the server closes the socket — 4401 when signing in again would help, 4403 when
//! it would not — within a second, on every node. A fresh token takes a new `connection_init`, that is a reconnect
//! (a second one on the same socket closes it with 4429). A socket that sends no `connection_init` in time is closed
//! with 4408.

use std::{
    future::ready,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data, Executor, Request, Response, ServerError,
    http::{WebSocketProtocols as Protocols, WsMessage},
};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, header},
    response::{IntoResponse, Response as HttpResponse},
};
use futures::{SinkExt, StreamExt, stream::BoxStream};
use infra::{
    ServiceError,
    services::Services,
    sessions::{SessionEnd, SessionState},
    tokens::VerifiedToken,
};

use crate::{
    graphql::{
        LumbungSchema,
        error::to_graphql,
        guard::{Caller, CallerSession, DecisionLedger},
        loaders::Loaders,
    },
    state::AppState,
};

/// How often an open socket compares its token's expiry with the server's clock.
const EXPIRY_CHECK: Duration = Duration::from_millis(500);

/// What `connection_init` established.
#[derive(Debug, Clone)]
enum Handshake {
    Anonymous,
    Session(VerifiedToken),
    /// The token was refused; the socket closes with this code.
    Refused(u16, String),
}

pub async fn graphql_ws(State(state): State<AppState>, headers: HeaderMap, upgrade: WebSocketUpgrade) -> HttpResponse {
    // A WebSocket message (and frame) is held to the same limit as an HTTP body; a larger one closes the socket.
    let limit = state.settings.max_body_bytes;
    let console_token = console_session_token(&headers);
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .protocols(["graphql-transport-ws"])
        .on_upgrade(move |socket| serve(socket, state, console_token))
        .into_response()
}

/// The console's own pages open the socket with the session cookie rather than a token in `connection_init` (their
/// script cannot read the `HttpOnly` cookie). Only from the same origin: a browser always says where a WebSocket
/// comes from, so another site's page cannot ride on the cookie.
fn console_session_token(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let origin_host = origin.split_once("://").map(|(_, rest)| rest)?;
    if origin_host != host {
        return None;
    }
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == crate::console::ACCESS_COOKIE)
        .map(|(_, value)| value.to_owned())
}

async fn serve(socket: WebSocket, state: AppState, console_token: Option<String>) {
    let handshake: Arc<OnceLock<Handshake>> = Arc::default();
    let services = state.services.clone();
    let (mut sink, source) = socket.split();
    let input = source.take_while(|received| ready(received.is_ok())).filter_map(|received| {
        ready(match received {
            Ok(Message::Text(text)) => Some(axum::body::Bytes::from(text)),
            Ok(Message::Binary(bytes)) => Some(bytes),
            _ => None,
        })
    });
    let executor = SessionExecutor {
        schema: state.schema.clone(),
        services: services.clone(),
        handshake: handshake.clone(),
        active: Arc::default(),
        max_subscriptions: state.settings.ws_max_subscriptions,
    };
    let on_init = {
        let (services, handshake) = (services.clone(), handshake.clone());
        move |payload| connection_data(services, handshake, payload, console_token)
    };
    let graphql =
        async_graphql::http::WebSocket::new(executor, input, Protocols::GraphQLWS).on_connection_init(on_init);
    futures::pin_mut!(graphql);

    let init_deadline = tokio::time::sleep(Duration::from_secs(state.settings.ws_init_timeout_seconds));
    tokio::pin!(init_deadline);
    let mut session_changes = services.identity.sessions().changes();
    let mut expiry_check = tokio::time::interval(EXPIRY_CHECK);
    let close: Option<(u16, String)> = loop {
        let session = match handshake.get() {
            Some(Handshake::Session(token)) => Some(*token),
            _ => None,
        };
        tokio::select! {
            message = graphql.next() => match message {
                None => break None,
                Some(WsMessage::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break None;
                    }
                }
                Some(WsMessage::Close(code, reason)) => match handshake.get() {
                    // The library closes a refused `connection_init` with 1002; the protocol's code says why.
                    Some(Handshake::Refused(code, reason)) => break Some((*code, reason.clone())),
                    _ => break Some((code, reason)),
                },
            },
            () = &mut init_deadline, if handshake.get().is_none() => {
                break Some((4408, "Connection initialisation timeout".into()));
            }
            _ = session_changes.recv(), if session.is_some() => {
                // A change (or missed changes, when lagging) may end this session: look again.
                if let Some(token) = session
                    && let Err(end) = current_actor(&services, &token).await
                {
                    break Some(closing(end));
                }
            }
            _ = expiry_check.tick(), if session.is_some() => {
                if let Some(token) = session
                    && services.clock.now() >= token.expires_at
                {
                    break Some((4401, "the access token has expired; reconnect with a fresh one".into()));
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
}

fn closing(end: SessionEnd) -> (u16, String) {
    (end.close_code(), end.error().to_string())
}

/// The caller of `token` now, or why there is none: the session from the cache, the expiry by the server's clock.
async fn current_actor(services: &Services, token: &VerifiedToken) -> Result<domain::access::Actor, SessionEnd> {
    if services.clock.now() >= token.expires_at {
        return Err(SessionEnd::SignedOut);
    }
    match services.identity.session_state(token).await {
        Ok(SessionState::Active(open)) => Ok(open.actor.clone()),
        Ok(SessionState::Ended(end)) => Err(end),
        // The database did not answer on a cache miss: nothing is delivered until it does.
        Err(error) => {
            tracing::warn!(%error, "a socket could not check its session");
            Err(SessionEnd::SignedOut)
        }
    }
}

async fn connection_data(
    services: Services,
    handshake: Arc<OnceLock<Handshake>>,
    payload: serde_json::Value,
    console_token: Option<String>,
) -> async_graphql::Result<Data> {
    let token = ["authorization", "Authorization"]
        .iter()
        .find_map(|key| payload.get(*key).and_then(serde_json::Value::as_str))
        .map(|value| value.strip_prefix("Bearer ").unwrap_or(value).trim().to_owned())
        .or(console_token);
    let mut data = Data::default();
    let outcome = match token {
        None => Handshake::Anonymous,
        Some(token) => match services.identity.authenticate(&token).await {
            Ok(authenticated) => {
                data.insert(CallerSession(authenticated.session_id));
                Handshake::Session(VerifiedToken {
                    user_id: authenticated.actor.user_id,
                    session_id: authenticated.session_id,
                    expires_at: authenticated.expires_at,
                })
            }
            Err(ServiceError::Unavailable(_) | ServiceError::Internal(_)) => {
                let reason = "the server cannot check credentials right now; retry".to_owned();
                let _ = handshake.set(Handshake::Refused(1011, reason.clone()));
                return Err(async_graphql::Error::new(reason));
            }
            Err(error) => {
                let _ = handshake.set(Handshake::Refused(4403, error.to_string()));
                return Err(async_graphql::Error::new(error.to_string()));
            }
        },
    };
    // The caller itself is decided per operation (see `SessionExecutor`); anonymous sockets are anonymous throughout.
    data.insert(Caller::Anonymous);
    data.insert(DecisionLedger::default());
    data.insert(Loaders::new(&services));
    let _ = handshake.set(outcome);
    Ok(data)
}

/// Runs each operation of a socket as the session's caller is now, and stops delivering when the session ends.
#[derive(Clone)]
struct SessionExecutor {
    schema: LumbungSchema,
    services: Services,
    handshake: Arc<OnceLock<Handshake>>,
    /// Operations running on this socket now, held to `max_subscriptions` (`LUMBUNG_WS_MAX_SUBSCRIPTIONS`).
    active: Arc<AtomicUsize>,
    max_subscriptions: usize,
}

/// One running operation of a socket; dropping it (the operation completed or was stopped) frees its place.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Executor for SessionExecutor {
    async fn execute(&self, request: Request) -> Response {
        // The socket runs every operation as a stream; a single answer is its first item.
        let mut stream = self.execute_stream(request, None);
        stream.next().await.unwrap_or_default()
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        if self.active.fetch_add(1, Ordering::AcqRel) >= self.max_subscriptions {
            self.active.fetch_sub(1, Ordering::AcqRel);
            let mut error = ServerError::new(
                format!("at most {} operations may run on one socket at once", self.max_subscriptions),
                None,
            );
            let mut extensions = async_graphql::ErrorExtensionValues::default();
            extensions.set("code", "TOO_MANY_SUBSCRIPTIONS");
            error.extensions = Some(extensions);
            return futures::stream::once(ready(Response::from_errors(vec![error]))).boxed();
        }
        let running = Running(self.active.clone());
        self.operation(request, session_data)
            .map(move |response| {
                let _ = &running;
                response
            })
            .boxed()
    }
}

impl SessionExecutor {
    fn operation(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let Some(Handshake::Session(token)) = self.handshake.get().cloned() else {
            return Executor::execute_stream(&self.schema, request, session_data);
        };
        let (schema, services) = (self.schema.clone(), self.services.clone());
        futures::stream::once(async move {
            match current_actor(&services, &token).await {
                Err(end) => futures::stream::once(ready(refused(end))).boxed(),
                Ok(actor) => {
                    let request = request.data(Caller::Actor(actor));
                    Executor::execute_stream(&schema, request, session_data)
                        .then(move |response| {
                            let services = services.clone();
                            async move { (current_actor(&services, &token).await.is_ok(), response) }
                        })
                        // An event is delivered only while the session stands; the socket closes meanwhile.
                        .take_while(|(session_stands, _)| ready(*session_stands))
                        .map(|(_, response)| response)
                        .boxed()
                }
            }
        })
        .flatten()
        .boxed()
    }
}

fn refused(end: SessionEnd) -> Response {
    let error: ServerError = to_graphql(end.error()).into_server_error(async_graphql::Pos::default());
    Response::from_errors(vec![error])
}
