//! A small SMTP server on loopback that speaks real SMTP (greeting, EHLO, MAIL, RCPT, DATA, QUIT) and keeps what
//! it receives, so tests can read the mail the server sent over the wire. It can be stopped (the port then refuses
//! connections, as a mail server that is down does) and started again on the same port.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpSocket, TcpStream},
    task::JoinHandle,
};

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    /// The raw message (headers and body) as sent after DATA, dot-unstuffed.
    pub raw: String,
}

impl ReceivedMail {
    /// A header's value (first occurrence, unfolded), e.g. `Subject` or `Message-ID`.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.raw.split_once("\r\n\r\n")?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| decode_encoded_words(value.trim()))
        })
    }

    /// The body as text, with quoted-printable decoded when the message uses it.
    pub fn body(&self) -> String {
        let body = self.raw.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let quoted_printable = self
            .header("Content-Transfer-Encoding")
            .is_some_and(|encoding| encoding.eq_ignore_ascii_case("quoted-printable"));
        if quoted_printable { decode_quoted_printable(body) } else { body.to_owned() }
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'='
            && let Some(byte) = joined.get(index + 1..index + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes RFC 2047 `=?utf-8?b?...?=` and `=?utf-8?q?...?=` words, as mail clients show them.
fn decode_encoded_words(value: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    for word in value.split_whitespace() {
        let decoded = word.strip_prefix("=?").and_then(|rest| rest.strip_suffix("?=")).and_then(|inner| {
            let mut parts = inner.splitn(3, '?');
            let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
            match encoding {
                "b" | "B" => base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                "q" | "Q" => Some(decode_quoted_printable(&text.replace('_', " "))),
                _ => None,
            }
        });
        match decoded {
            // Adjacent encoded words join without the space between them.
            Some(text) => out.push_str(&text),
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
    }
    out
}

pub struct SmtpServer {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    task: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")), Arc::default()).await
    }

    async fn start_on(address: SocketAddr, received: Arc<Mutex<Vec<ReceivedMail>>>) -> Self {
        let socket = TcpSocket::new_v4().unwrap_or_else(|e| panic!("socket: {e}"));
        socket.set_reuseaddr(true).unwrap_or_else(|e| panic!("reuseaddr: {e}"));
        socket.bind(address).unwrap_or_else(|e| panic!("bind {address}: {e}"));
        let listener = socket.listen(64).unwrap_or_else(|e| panic!("listen: {e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let store = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, store).await;
                });
            }
        });
        Self { address, received, task: Some(task) }
    }

    /// `SMTP_URL` for this server (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// Stops listening: connections are refused until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port, keeping what was received before.
    pub async fn restart(&mut self) {
        self.stop();
        // The aborted task drops its listener at its next poll; give it a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let again = Self::start_on(self.address, self.received.clone()).await;
        *self = again;
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until at least `count` messages arrived (or `timeout` passed) and returns all received so far.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn converse(stream: TcpStream, store: Arc<Mutex<Vec<ReceivedMail>>>) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"220 lumbung-test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => writer.write_all(b"250-lumbung-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?,
            "HELO" => writer.write_all(b"250 lumbung-test\r\n").await?,
            "MAIL" => {
                from = angle_address(&command);
                to.clear();
                writer.write_all(b"250 OK\r\n").await?;
            }
            "RCPT" => {
                to.push(angle_address(&command));
                writer.write_all(b"250 OK\r\n").await?;
            }
            "DATA" => {
                writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    raw.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                }
                store.lock().unwrap_or_else(PoisonError::into_inner).push(ReceivedMail {
                    envelope_from: from.clone(),
                    envelope_to: to.clone(),
                    raw,
                });
                writer.write_all(b"250 OK queued\r\n").await?;
            }
            "RSET" | "NOOP" => writer.write_all(b"250 OK\r\n").await?,
            "QUIT" => {
                writer.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => writer.write_all(b"502 command not implemented\r\n").await?,
        }
    }
}

fn angle_address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}
