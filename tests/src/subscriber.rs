//! A GraphQL subscription client over WebSocket speaking `graphql-transport-ws`, as a browser client would.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One connection (`connection_init` done) carrying one subscription.
#[derive(Debug)]
pub struct Subscriber {
    socket: Socket,
}

/// How a connection attempt ended.
#[derive(Debug)]
pub enum Connected {
    Acknowledged(Box<Subscriber>),
    /// The server closed the connection, with its close code.
    Closed(Option<u16>),
}

impl Subscriber {
    /// Opens `/graphql/ws` on `http_address` and sends `connection_init` with the access token, if any.
    pub async fn connect(http_address: &str, access_token: Option<&str>) -> Connected {
        let url = format!("{}/graphql/ws", http_address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().unwrap_or_else(|e| panic!("request: {e}"));
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
        let (mut socket, _) = connect_async(request).await.unwrap_or_else(|e| panic!("connect: {e}"));
        let payload =
            access_token.map_or_else(|| json!({}), |token| json!({ "authorization": format!("Bearer {token}") }));
        send(&mut socket, json!({ "type": "connection_init", "payload": payload })).await;
        loop {
            match next_message(&mut socket, Duration::from_secs(10)).await {
                Some(Incoming::Json(message)) if message["type"] == "connection_ack" => {
                    return Connected::Acknowledged(Box::new(Self { socket }));
                }
                Some(Incoming::Json(_)) => continue,
                Some(Incoming::Closed(code)) => return Connected::Closed(code),
                None => return Connected::Closed(None),
            }
        }
    }

    /// Opens `/graphql/ws` and sends nothing, as a client that never initialises would.
    pub async fn open_without_init(http_address: &str) -> Self {
        let url = format!("{}/graphql/ws", http_address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().unwrap_or_else(|e| panic!("request: {e}"));
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
        let (socket, _) = connect_async(request).await.unwrap_or_else(|e| panic!("connect: {e}"));
        Self { socket }
    }

    /// Connects with a token and panics unless the server acknowledges.
    pub async fn connected(http_address: &str, access_token: &str) -> Self {
        match Self::connect(http_address, Some(access_token)).await {
            Connected::Acknowledged(subscriber) => *subscriber,
            Connected::Closed(code) => panic!("connection refused with close code {code:?}"),
        }
    }

    /// Starts the subscription `query` with `variables` (operation id "1").
    pub async fn subscribe(&mut self, query: &str, variables: Value) {
        send(
            &mut self.socket,
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }),
        )
        .await;
    }

    /// The next `next` payload (`{"data": ...}` or `{"errors": ...}`), an `error` message's payload as
    /// `{"errors": ...}`, or `None` when nothing arrives within `timeout` or the stream completes.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            match next_message(&mut self.socket, timeout).await? {
                Incoming::Json(message) => match message["type"].as_str() {
                    Some("next") => return Some(message["payload"].clone()),
                    Some("error") => return Some(json!({ "errors": message["payload"].clone() })),
                    Some("complete") => return None,
                    Some("ping") => send(&mut self.socket, json!({ "type": "pong" })).await,
                    _ => continue,
                },
                Incoming::Closed(_) => return None,
            }
        }
    }

    /// Sends a raw text message, as a misbehaving client would; false when the socket no longer takes it.
    pub async fn send_text(&mut self, text: String) -> bool {
        self.socket.send(Message::text(text)).await.is_ok()
    }

    /// Whether the server closes the socket within `timeout` (whatever else arrives before).
    pub async fn closes_within(&mut self, timeout: Duration) -> bool {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match next_message(&mut self.socket, left).await {
                None => return false,
                Some(Incoming::Closed(_)) => return true,
                Some(Incoming::Json(_)) => continue,
            }
        }
    }

    /// The close code, if the server closes the socket within `timeout` (whatever else arrives before); `None` when it
    /// stays open.
    pub async fn close_code_within(&mut self, timeout: Duration) -> Option<Option<u16>> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match next_message(&mut self.socket, left).await {
                None => return None,
                Some(Incoming::Closed(code)) => return Some(code),
                Some(Incoming::Json(message)) => {
                    if message["type"] == "ping" {
                        send(&mut self.socket, json!({ "type": "pong" })).await;
                    }
                }
            }
        }
    }

    /// Sends `query` as operation `id` and returns its first answer (a `next` payload, or an `error` message's as
    /// `{"errors": ...}`), or `None` when the socket closes or nothing arrives within `timeout`.
    pub async fn operation(&mut self, id: &str, query: &str, variables: Value, timeout: Duration) -> Option<Value> {
        send(
            &mut self.socket,
            json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }),
        )
        .await;
        self.next(timeout).await
    }

    /// Every payload that arrives until `quiet` passes without one.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut all = Vec::new();
        while let Some(payload) = self.next(quiet).await {
            all.push(payload);
        }
        all
    }
}

enum Incoming {
    Json(Value),
    Closed(Option<u16>),
}

async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::text(message.to_string())).await.unwrap_or_else(|e| panic!("send: {e}"));
}

async fn next_message(socket: &mut Socket, timeout: Duration) -> Option<Incoming> {
    loop {
        let message = tokio::time::timeout(timeout, socket.next()).await.ok()?;
        match message {
            Some(Ok(Message::Text(text))) => {
                return Some(Incoming::Json(serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON: {e}"))));
            }
            Some(Ok(Message::Close(frame))) => return Some(Incoming::Closed(frame.map(|f| u16::from(f.code)))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Some(Incoming::Closed(None)),
        }
    }
}
