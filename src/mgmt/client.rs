//! A small client of the management API, for `bpelgate deploy|undeploy|processes|retire|activate`:
//! one HTTP/1.1 connection per request (plain `http://` only), JSON answers, the server's
//! `{"error"}` message on failure.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// The server `bpelgate` talks to when `--server` is not given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:9763";

/// Largest answer read from the server.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why a management request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL cannot be used.
    #[error("invalid server URL '{url}': {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made.
    #[error("cannot connect to {server}: {source}")]
    Connect {
        /// `host:port`.
        server: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP exchange with {server} failed: {reason}")]
    Http {
        /// `host:port`.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("{server} did not answer within {secs} s")]
    Timeout {
        /// `host:port`.
        server: String,
        /// The timeout.
        secs: u64,
    },
    /// The server answered with an error status.
    #[error("{message} (HTTP {status})")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's `error` message, or its body.
        message: String,
    },
    /// The answer is not the JSON expected.
    #[error("the server's answer is not JSON: {0}")]
    Json(String),
}

/// A management API client.
#[derive(Debug, Clone)]
pub struct Client {
    /// `host:port` to connect to (and the Host header).
    authority: String,
    /// Path prefix of the server URL, without a trailing '/'.
    base: String,
    token: Option<String>,
    timeout: Duration,
}

impl Client {
    /// A client of the server at `url` (`http://host[:port][/prefix]`), sending `token` as a
    /// bearer token when given.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("https is not supported by this client; use http://")),
            _ => return Err(bad("expected http://host:port")),
        }
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        Ok(Client {
            authority: format!("{host}:{port}"),
            base: uri.path().trim_end_matches('/').to_string(),
            token: token.filter(|t| !t.is_empty()),
            timeout: Duration::from_secs(300),
        })
    }

    /// The same client with another per-request timeout (default 300 s: a deploy compiles).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends one request to `path` (below the server URL) and returns the status and body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: Option<&'static str>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let secs = self.timeout.as_secs();
        match tokio::time::timeout(
            self.timeout,
            self.exchange(method, path, body, content_type),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                server: self.authority.clone(),
                secs,
            }),
        }
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: Option<&'static str>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let http = |e: &dyn std::fmt::Display| ClientError::Http {
            server: self.authority.clone(),
            reason: e.to_string(),
        };
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|source| ClientError::Connect {
                server: self.authority.clone(),
                source,
            })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http(&e))?;
        // The connection task ends when the exchange is over and `sender` is dropped.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(HOST, &self.authority);
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        if let Some(t) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Full::new(body)).map_err(|e| http(&e))?;
        let resp = sender.send_request(req).await.map_err(|e| http(&e))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| http(&e))?
            .to_bytes();
        Ok((status, body))
    }

    /// Sends a request and decodes a JSON answer; an error status becomes
    /// [`ClientError::Server`] with the server's message.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: Option<&'static str>,
    ) -> Result<Value, ClientError> {
        let (status, body) = self.send(method, path, body, content_type).await?;
        let value: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            let message = value
                .as_ref()
                .and_then(|v| v.get("error"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(ClientError::Server {
                status: status.as_u16(),
                message,
            });
        }
        value.ok_or_else(|| ClientError::Json(String::from_utf8_lossy(&body).into_owned()))
    }

    /// `POST /management/packages`: uploads a zipped package; `name` overrides the name the
    /// archive implies. Returns the package JSON (with `location`).
    pub async fn deploy_zip(&self, zip: Vec<u8>, name: Option<&str>) -> Result<Value, ClientError> {
        let path = match name {
            Some(n) => format!("/management/packages?name={}", encode(n)),
            None => "/management/packages".to_string(),
        };
        self.json(
            Method::POST,
            &path,
            Bytes::from(zip),
            Some("application/zip"),
        )
        .await
    }

    /// `DELETE /management/packages/{name}`.
    pub async fn undeploy(&self, name: &str) -> Result<Value, ClientError> {
        let path = format!("/management/packages/{}", encode(name));
        self.json(Method::DELETE, &path, Bytes::new(), None).await
    }

    /// `POST /management/processes/{target}/{action}`: `target` is a pid (`{ns}local-version`)
    /// or a process QName (`{ns}local`), `action` is `retire` or `activate`. Returns every
    /// version of the process afterwards.
    pub async fn set_process_state(
        &self,
        target: &str,
        action: &str,
    ) -> Result<Value, ClientError> {
        let path = format!("/management/processes/{}/{action}", encode(target));
        self.json(Method::POST, &path, Bytes::new(), None).await
    }

    /// `GET /management/processes`.
    pub async fn processes(&self) -> Result<Value, ClientError> {
        self.json(Method::GET, "/management/processes", Bytes::new(), None)
            .await
    }

    /// `GET /management/instances?filter=…&limit=…` (ODE's instance filter syntax).
    pub async fn instances(&self, filter: &str, limit: usize) -> Result<Value, ClientError> {
        let path = format!(
            "/management/instances?filter={}&limit={limit}",
            encode(filter)
        );
        self.json(Method::GET, &path, Bytes::new(), None).await
    }

    /// `GET /management/events?filter=…&limit=…` (ODE's event filter syntax).
    pub async fn events(&self, filter: &str, limit: usize) -> Result<Value, ClientError> {
        let path = format!("/management/events?filter={}&limit={limit}", encode(filter));
        self.json(Method::GET, &path, Bytes::new(), None).await
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = Client::new("http://localhost:9000/", None).unwrap();
        assert_eq!(c.authority, "localhost:9000");
        assert_eq!(c.base, "");
        let c = Client::new("http://10.0.0.1/bps", Some(String::new())).unwrap();
        assert_eq!(c.authority, "10.0.0.1:80");
        assert_eq!(c.base, "/bps");
        assert!(c.token.is_none());
        assert!(Client::new("https://x", None).is_err());
        assert!(Client::new("localhost:9763", None).is_err());
    }

    #[test]
    fn names_are_encoded() {
        assert_eq!(encode("Hello World-1.0"), "Hello%20World-1.0");
        assert_eq!(encode("a&b=c"), "a%26b%3Dc");
    }
}
