//! The pooled outbound HTTP(S) client partners are called through.
//!
//! hyper-util's pooled client keeps idle keep-alive connections per host; it does not bound
//! connections in use, so two semaphores do: one per `scheme://host:port` and one for the
//! whole client. A permit is held from before the connection is checked out until the whole
//! response body is read, so the number of connections busy on a host never exceeds
//! [`ClientConfig::max_connections_per_host`]. Every call is bounded by a deadline covering
//! the wait for a permit, connecting, sending and reading the (capped) response body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::Semaphore;

#[cfg(feature = "https")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "https"))]
type Connector = HttpConnector;

/// Limits and timeouts of an [`HttpClient`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Most requests in flight (hence connections in use) to one `scheme://host:port`.
    pub max_connections_per_host: usize,
    /// Most requests in flight over the whole client.
    pub max_total_connections: usize,
    /// How long establishing a TCP connection may take.
    pub connect_timeout: Duration,
    /// Deadline of a whole call: waiting for a connection, sending, and reading the reply.
    pub request_timeout: Duration,
    /// Largest accepted response body.
    pub max_response_bytes: usize,
    /// How long an unused keep-alive connection stays in the pool.
    pub idle_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            max_connections_per_host: 20,
            max_total_connections: 200,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_response_bytes: 16 * 1024 * 1024,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A partner's HTTP answer, whatever its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientResponse {
    /// Status code.
    pub status: u16,
    /// The Content-Type header, if any and readable.
    pub content_type: Option<String>,
    /// The whole body.
    pub body: Bytes,
}

/// Why a call produced no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The URL cannot be called: not absolute http(s), no host, or unparsable.
    #[error("bad partner URL '{url}': {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request header name or value is not valid HTTP.
    #[error("bad request header '{name}'")]
    BadHeader {
        /// The header's name.
        name: String,
    },
    /// No connection could be made (refused, unreachable, DNS, TLS handshake, connect timeout).
    #[error("cannot connect to {url}: {reason}")]
    ConnectFailed {
        /// The URL.
        url: String,
        /// The underlying error chain.
        reason: String,
    },
    /// The call did not complete within its deadline.
    #[error("no complete reply from {url} within {after:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The response body is larger than the cap.
    #[error("reply from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// The connection failed after it was made (reset, closed mid-reply, protocol error).
    #[error("request to {url} failed: {reason}")]
    Failed {
        /// The URL.
        url: String,
        /// The underlying error chain.
        reason: String,
    },
    /// The TLS configuration could not be built.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// Per-host semaphores are dropped once this many hosts are known and a host is idle.
const HOST_TABLE_PRUNE_AT: usize = 1024;

/// A pooled HTTP/1.1 client (HTTPS through rustls with the webpki roots, when the `https`
/// feature is on). Cheap to clone; clones share the pool and the limits.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client<Connector, Full<Bytes>>,
    total: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    config: ClientConfig,
}

impl HttpClient {
    /// A client with `config`. Must be called inside a tokio runtime only when requests are
    /// made; construction itself does no I/O.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        let connector = connector(http)?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.idle_timeout)
            .pool_max_idle_per_host(config.max_connections_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                total: Arc::new(Semaphore::new(config.max_total_connections.max(1))),
                hosts: Mutex::new(HashMap::new()),
                config,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// POSTs `body` to `url` with `headers`, under [`ClientConfig::request_timeout`].
    pub async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Bytes,
    ) -> Result<ClientResponse, ClientError> {
        self.post_with_timeout(url, headers, body, self.inner.config.request_timeout)
            .await
    }

    /// POSTs with a deadline of its own (a partner's configured timeout).
    pub async fn post_with_timeout(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<ClientResponse, ClientError> {
        let (uri, host_key) = check_url(url)?;
        let mut req = Request::builder().method(Method::POST).uri(uri);
        let mut has_agent = false;
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| ClientError::BadHeader { name: k.clone() })?;
            let value =
                HeaderValue::from_str(v).map_err(|_| ClientError::BadHeader { name: k.clone() })?;
            has_agent |= name == USER_AGENT;
            req = req.header(name, value);
        }
        if !has_agent {
            req = req.header(USER_AGENT, concat!("bpelgate/", env!("CARGO_PKG_VERSION")));
        }
        let req = req.body(Full::new(body)).map_err(|e| ClientError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let host = self.host_semaphore(&host_key);
        let call = async {
            // Semaphores are never closed, so acquiring only fails if that changes; treat it
            // like a failed call rather than panicking.
            let closed = || ClientError::Failed {
                url: url.to_owned(),
                reason: "client is shut down".to_owned(),
            };
            let _host = host.acquire().await.map_err(|_| closed())?;
            let _total = self.inner.total.acquire().await.map_err(|_| closed())?;
            let resp = self.inner.client.request(req).await.map_err(|e| {
                let reason = error_chain(&e);
                if e.is_connect() {
                    ClientError::ConnectFailed {
                        url: url.to_owned(),
                        reason,
                    }
                } else {
                    ClientError::Failed {
                        url: url.to_owned(),
                        reason,
                    }
                }
            })?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let limit = self.inner.config.max_response_bytes;
            let body = match Limited::new(resp.into_body(), limit).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return Err(ClientError::TooLarge {
                        url: url.to_owned(),
                        limit,
                    });
                }
                Err(e) => {
                    return Err(ClientError::Failed {
                        url: url.to_owned(),
                        reason: format!("reading the reply: {e}"),
                    });
                }
            };
            Ok(ClientResponse {
                status,
                content_type,
                body,
            })
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                url: url.to_owned(),
                after: timeout,
            }),
        }
    }

    fn host_semaphore(&self, key: &str) -> Arc<Semaphore> {
        // A poisoned lock only means another caller panicked while holding it; the map itself
        // is still consistent (insert/retain are not interrupted halfway).
        let mut hosts = self
            .inner
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = hosts.get(key) {
            return s.clone();
        }
        if hosts.len() >= HOST_TABLE_PRUNE_AT {
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        let s = Arc::new(Semaphore::new(
            self.inner.config.max_connections_per_host.max(1),
        ));
        hosts.insert(key.to_owned(), s.clone());
        s
    }
}

#[cfg(feature = "https")]
fn connector(http: HttpConnector) -> Result<Connector, ClientError> {
    // The provider is named explicitly so a second rustls provider elsewhere in the binary
    // cannot make the choice ambiguous at run time.
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    Ok(builder.https_or_http().enable_http1().wrap_connector(http))
}

#[cfg(not(feature = "https"))]
fn connector(http: HttpConnector) -> Result<Connector, ClientError> {
    Ok(http)
}

/// Parses and checks `url`; returns it with its pool key `scheme://host:port`.
fn check_url(url: &str) -> Result<(Uri, String), ClientError> {
    let bad = |reason: &str| ClientError::BadUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
    let scheme = uri
        .scheme_str()
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| bad("not an absolute URL"))?;
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" if cfg!(feature = "https") => 443,
        "https" => return Err(bad("https is not built in (feature `https`)")),
        _ => return Err(bad("only http and https URLs can be called")),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host"))?
        .to_ascii_lowercase();
    let port = uri.port_u16().unwrap_or(default_port);
    Ok((uri, format!("{scheme}://{host}:{port}")))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests;
