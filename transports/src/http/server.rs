//! The hyper accept loop: HTTP/1.1, a body cap, a header read timeout and a graceful drain.
//!
//! Routing is not here: every request goes to one [`Handler`] that the server wiring supplies.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use super::limits::{BodyError, read_body};
use crate::Error;

/// A request with its body read (under the cap).
#[derive(Debug)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: Method,
    /// Path, percent-encoded as received.
    pub path: String,
    /// Query string without `?`, if any.
    pub query: Option<String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// The peer's address.
    pub peer: SocketAddr,
}

/// A response to send.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: StatusCode,
    /// Extra headers (Content-Type included).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// A response with `status`, a content type and a body.
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        HttpResponse {
            status,
            headers,
            body: body.into(),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body)
    }
}

/// What the listener calls for every request.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, req: HttpRequest) -> impl Future<Output = HttpResponse> + Send;

    /// Answers a request the listener refused before reading it whole (body too large or
    /// unreadable), so a protocol endpoint can answer in its own format (e.g. a SOAP fault).
    fn refused(&self, path: &str, status: StatusCode, reason: &str) -> HttpResponse {
        let _ = path;
        HttpResponse::text(status, reason.to_string())
    }
}

/// Limits of the listener.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How long a client may take to send the request head.
    pub header_read_timeout: Duration,
    /// How long in-flight requests get to finish on shutdown.
    pub drain_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Binds a TCP listener.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// Serves connections from `listener` until `shutdown` completes, then drains open connections
/// (up to [`ServerOptions::drain_timeout`]).
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    opts: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Per-connection failures (e.g. EMFILE, reset before accept) must not
                        // stop the listener; back off briefly so a full fd table does not spin.
                        warn!(error = %e, "Accept failed.");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    let handler = handler.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&*handler, req, peer, opts).await) }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(opts.header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        debug!(%peer, error = %e, "Connection ended with an error.");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    info!("Listener closed; draining open connections.");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(opts.drain_timeout) => {
            warn!("Drain timeout reached; closing remaining connections.");
        }
    }
    Ok(())
}

async fn answer<H: Handler>(
    handler: &H,
    req: Request<Incoming>,
    peer: SocketAddr,
    opts: ServerOptions,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let reply = match read_body(body, opts.max_body_bytes).await {
        Ok(body) => {
            let req = HttpRequest {
                method: parts.method,
                path: parts.uri.path().to_string(),
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers,
                body,
                peer,
            };
            handler.handle(req).await
        }
        Err(e @ BodyError::TooLarge { .. }) => handler.refused(
            parts.uri.path(),
            StatusCode::PAYLOAD_TOO_LARGE,
            &e.to_string(),
        ),
        Err(e) => handler.refused(parts.uri.path(), StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = reply.status;
    *resp.headers_mut() = reply.headers;
    resp
}
