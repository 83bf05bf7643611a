//! The management API: JSON over HTTP under `/management`.
//!
//! Access: a bearer token when one is configured; otherwise only loopback peers.
//!
//! [`client`] is the other side, used by the `bpelgate deploy|undeploy|processes|retire|activate`
//! commands.

use std::sync::Arc;

use bpelgate_transports::http::{HttpRequest, HttpResponse};
use hyper::header::AUTHORIZATION;
use hyper::{Method, StatusCode};
use serde::Serialize;

use crate::deploy::archive::ArchiveLimits;
use crate::deploy::{Deployer, Error as DeployError, ProcessState, StateError, valid_package_name};

pub mod client;
pub mod metrics;
mod upload;

/// What the management API works on.
#[derive(Debug, Clone)]
pub struct Management {
    /// The required bearer token, if any.
    pub token: Option<String>,
    /// Packages and processes.
    pub deployer: Arc<Deployer>,
    /// Caps on uploaded package archives.
    pub archive_limits: ArchiveLimits,
    /// Recent execution events (until events are stored with their steps).
    pub events: Arc<crate::events::RecentEvents>,
    /// Live instances.
    pub router: Option<crate::router::Router>,
}

/// `{"error": "..."}` bodies.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => HttpResponse::new(status, "application/json", body),
        Err(e) => HttpResponse::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the response: {e}"),
        ),
    }
}

fn error(status: StatusCode, msg: &str) -> HttpResponse {
    json(status, &ErrorBody { error: msg })
}

/// Compares without an early exit, so response timing does not reveal how much of a guessed
/// token was right.
fn token_matches(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

impl Management {
    fn authorize(&self, req: &HttpRequest) -> Option<HttpResponse> {
        match &self.token {
            Some(expected) => {
                let given = req
                    .headers
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim);
                match given {
                    Some(t) if token_matches(t, expected) => None,
                    _ => {
                        let mut r = error(
                            StatusCode::UNAUTHORIZED,
                            "a valid 'Authorization: Bearer <token>' header is required",
                        );
                        r.headers.insert(
                            hyper::header::WWW_AUTHENTICATE,
                            hyper::header::HeaderValue::from_static("Bearer"),
                        );
                        Some(r)
                    }
                }
            }
            None if req.peer.ip().is_loopback() => None,
            None => Some(error(
                StatusCode::FORBIDDEN,
                "management is served to loopback clients only; set [management] token to allow remote access",
            )),
        }
    }

    /// Answers a request whose path is `/management/{rest}`.
    pub async fn handle(&self, req: &HttpRequest, rest: &str) -> HttpResponse {
        if let Some(denied) = self.authorize(req) {
            return denied;
        }
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let registry = self.deployer.registry();
        match (&req.method, segments.as_slice()) {
            (&Method::GET, ["packages"]) => json(StatusCode::OK, &registry.packages()),
            (&Method::GET, ["packages", name]) => match registry.package(name) {
                Some(p) => json(StatusCode::OK, &p),
                None => error(StatusCode::NOT_FOUND, &format!("no package named '{name}'")),
            },
            (&Method::POST, ["packages"]) => self.upload(req).await,
            (&Method::DELETE, ["packages", name]) => self.delete(name).await,
            (&Method::GET, ["processes"]) => json(StatusCode::OK, &registry.processes()),
            (&Method::POST, ["processes", target, action @ ("activate" | "retire")]) => {
                let state = if *action == "activate" {
                    ProcessState::Active
                } else {
                    ProcessState::Retired
                };
                self.set_state(&decode_segment(target), state).await
            }
            (&Method::GET, ["instances"]) => match &self.router {
                Some(r) => json(StatusCode::OK, &r.instances()),
                None => json(StatusCode::OK, &Vec::<crate::router::InstanceInfo>::new()),
            },
            (&Method::GET, ["instances", id, "events"]) => match id.parse::<i64>() {
                Ok(id) => json(StatusCode::OK, &self.events.events_for(id)),
                Err(_) => error(
                    StatusCode::BAD_REQUEST,
                    &format!("'{id}' is not an instance id"),
                ),
            },
            (&Method::GET, ["events"]) => {
                let limit = query_param(req, "limit")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100usize);
                let query = crate::events::EventQuery {
                    instance_id: query_param(req, "instance").and_then(|v| v.parse().ok()),
                    ..Default::default()
                };
                json(StatusCode::OK, &self.events.recent(&query, limit))
            }
            (_, ["packages"] | ["packages", _] | ["processes"] | ["processes", _, _]) => {
                error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
            }
            _ => error(StatusCode::NOT_FOUND, "no such management resource"),
        }
    }

    /// Retires or activates a process version: answers every version of the process.
    async fn set_state(&self, target: &str, state: ProcessState) -> HttpResponse {
        let deployer = self.deployer.clone();
        let owned = target.to_string();
        // The version store writes to disk.
        let outcome = tokio::task::spawn_blocking(move || {
            deployer.registry().set_process_state(&owned, state)
        })
        .await;
        match outcome {
            Ok(Ok(versions)) => json(StatusCode::OK, &versions),
            Ok(Err(e @ StateError::NotFound(_))) => error(StatusCode::NOT_FOUND, &e.to_string()),
            Ok(Err(e @ StateError::Conflict(_))) => error(StatusCode::CONFLICT, &e.to_string()),
            Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the state change did not finish: {e}"),
            ),
        }
    }

    async fn delete(&self, name: &str) -> HttpResponse {
        if !valid_package_name(name) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("'{name}' is not a valid package name"),
            );
        }
        let deployer = self.deployer.clone();
        let owned = name.to_string();
        match tokio::task::spawn_blocking(move || deployer.remove(&owned)).await {
            Ok(Ok(true)) => json(
                StatusCode::OK,
                &serde_json::json!({ "name": name, "undeployed": true }),
            ),
            Ok(Ok(false)) => error(StatusCode::NOT_FOUND, &format!("no package named '{name}'")),
            Ok(Err(e @ DeployError::InvalidName(_))) => {
                error(StatusCode::BAD_REQUEST, &e.to_string())
            }
            Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("undeploy did not finish: {e}"),
            ),
        }
    }
}

/// A percent-encoded path segment (a process QName holds '/', '{' and '}'), decoded; '+' stays.
fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of query parameter `name`, if present.
fn query_param<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.query.as_deref()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded() {
        assert_eq!(
            decode_segment("%7Burn%3Ap%2Fx%7DHello-3"),
            "{urn:p/x}Hello-3"
        );
        assert_eq!(decode_segment("a+b%"), "a+b%");
    }

    #[test]
    fn token_comparison() {
        assert!(token_matches("secret", "secret"));
        assert!(!token_matches("secreT", "secret"));
        assert!(!token_matches("secret1", "secret"));
        assert!(!token_matches("", "secret"));
    }
}
