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

/// An instance as `/management/instances` shows it.
#[derive(Debug, Clone, Serialize)]
struct InstanceView {
    id: i64,
    /// ODE process id `{ns}local-version`.
    pid: String,
    /// `active`, `suspended`, `completed`, `faulted`, `terminated`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_active_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<String>,
}

/// A live in-memory instance (no stored times).
impl From<crate::router::InstanceInfo> for InstanceView {
    fn from(i: crate::router::InstanceInfo) -> Self {
        InstanceView {
            id: i.id,
            pid: i.pid,
            status: i.status.to_lowercase(),
            created_ms: None,
            last_active_ms: None,
            fault: None,
        }
    }
}

impl From<crate::store::InstanceSummary> for InstanceView {
    fn from(s: crate::store::InstanceSummary) -> Self {
        InstanceView {
            id: s.id,
            pid: format!("{}-{}", s.process, s.version),
            status: s.status.as_str().to_string(),
            created_ms: Some(s.created_ms),
            last_active_ms: Some(s.modified_ms),
            fault: s.fault,
        }
    }
}

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
            (&Method::GET, ["instances"]) => self.instances(req).await,
            (&Method::GET, ["jobs", "parked"]) => self.parked_jobs().await,
            (&Method::DELETE, ["instances"]) => self.delete_instances(req).await,
            (&Method::DELETE, ["instances", id]) => self.delete_instance(id).await,
            (&Method::GET, ["instances", id]) => match id.parse::<i64>() {
                Ok(id) => self.instance(id).await,
                Err(_) => error(
                    StatusCode::BAD_REQUEST,
                    &format!("'{id}' is not an instance id"),
                ),
            },
            (&Method::POST, ["processes", target, action @ ("activate" | "retire")]) => {
                let state = if *action == "activate" {
                    ProcessState::Active
                } else {
                    ProcessState::Retired
                };
                self.set_state(&decode_segment(target), state).await
            }
            (&Method::POST, ["instances", id, action]) => {
                self.instance_action(req, id, action).await
            }
            (&Method::GET, ["instances", id, "events"]) => match id.parse::<i64>() {
                Ok(id) => self.instance_events(id).await,
                Err(_) => error(
                    StatusCode::BAD_REQUEST,
                    &format!("'{id}' is not an instance id"),
                ),
            },
            (&Method::GET, ["events"]) => {
                let limit = query_param(req, "limit")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100usize);
                let filter = filter_param(req);
                // Events come from the router's instances: none without one.
                let Some(router) = &self.router else {
                    return json(StatusCode::OK, &Vec::<serde_json::Value>::new());
                };
                let now = router.now_for_filters();
                match crate::store::filter::parse_events(&filter, now) {
                    Ok(query) => {
                        let query = crate::events::EventQuery {
                            instance_id: query_param(req, "instance").and_then(|v| v.parse().ok()),
                            ..query
                        };
                        json(StatusCode::OK, &self.events.recent(&query, limit))
                    }
                    Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad filter: {e}")),
                }
            }
            (_, ["packages"] | ["packages", _] | ["processes"] | ["processes", _, _]) => {
                error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
            }
            _ => error(StatusCode::NOT_FOUND, "no such management resource"),
        }
    }

    /// Live in-memory instances plus the stored ones matching `?filter=` (ODE instance filter
    /// keys `status`, `pid`, `iid`, `started`; `?limit=`).
    async fn instances(&self, req: &HttpRequest) -> HttpResponse {
        let Some(router) = &self.router else {
            return json(StatusCode::OK, &Vec::<InstanceView>::new());
        };
        let filter = filter_param(req);
        let limit = query_param(req, "limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000usize);
        let f = match crate::store::filter::parse(&filter, router.now_for_filters()) {
            Ok(f) => f,
            Err(e) => return error(StatusCode::BAD_REQUEST, &e),
        };
        let mut out: Vec<InstanceView> = Vec::new();
        if router.is_persistent() {
            let mut q = f.query.clone();
            q.limit = limit;
            match router.stored_instances(q).await {
                Ok(rows) => out.extend(rows.into_iter().map(InstanceView::from)),
                Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
            }
        }
        for i in router.instances() {
            if out.iter().any(|o| o.id == i.id) || !matches_live(&f, &i) {
                continue;
            }
            out.push(InstanceView::from(i));
        }
        out.sort_by_key(|o| std::cmp::Reverse(o.id));
        out.truncate(limit);
        json(StatusCode::OK, &out)
    }

    async fn instance(&self, id: i64) -> HttpResponse {
        let Some(router) = &self.router else {
            return error(StatusCode::NOT_FOUND, &format!("no instance {id}"));
        };
        if router.is_persistent() {
            let q = crate::store::InstanceQuery {
                ids: vec![id],
                ..Default::default()
            };
            match router.stored_instances(q).await {
                Ok(rows) => {
                    if let Some(r) = rows.into_iter().next() {
                        return json(StatusCode::OK, &InstanceView::from(r));
                    }
                }
                Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
            }
        }
        match router.instances().into_iter().find(|i| i.id == id) {
            Some(i) => json(StatusCode::OK, &InstanceView::from(i)),
            None => error(StatusCode::NOT_FOUND, &format!("no instance {id}")),
        }
    }

    /// `POST /management/instances/{id}/{terminate|suspend|resume|recover}`: one operator
    /// step. `recover` takes `?activity=TASK&action=retry|cancel|fault` (ODE's
    /// `recoverActivity`).
    async fn instance_action(&self, req: &HttpRequest, id: &str, action: &str) -> HttpResponse {
        let Ok(id) = id.parse::<i64>() else {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("'{id}' is not an instance id"),
            );
        };
        let input = match action {
            "terminate" => crate::runtime::Input::Terminate,
            "suspend" => crate::runtime::Input::Suspend,
            "resume" => crate::runtime::Input::Resume,
            "recover" => {
                let task = query_param(req, "activity").and_then(|v| v.parse().ok());
                let what = match query_param(req, "action") {
                    Some("retry") => Some(crate::events::RecoveryAction::Retry),
                    Some("cancel") => Some(crate::events::RecoveryAction::Cancel),
                    Some("fault") => Some(crate::events::RecoveryAction::Fault),
                    _ => None,
                };
                let (Some(task), Some(action)) = (task, what) else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "recover needs ?activity=<failed activity id>&action=retry|cancel|fault",
                    );
                };
                crate::runtime::Input::Recover { task, action }
            }
            other => {
                return error(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "unknown instance action '{other}' (terminate, suspend, resume, recover)"
                    ),
                );
            }
        };
        let Some(router) = &self.router else {
            return error(StatusCode::NOT_FOUND, &format!("no live instance {id}"));
        };
        match router.command(id, input).await {
            Ok(true) => json(
                StatusCode::OK,
                &serde_json::json!({ "id": id, "action": action, "done": true }),
            ),
            Ok(false) => error(StatusCode::NOT_FOUND, &format!("no live instance {id}")),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e),
        }
    }

    /// `DELETE /management/instances?filter=…`: deletes the ended instances the ODE instance
    /// filter selects (rows, jobs and events; at most 2,000 a call), like ODE's
    /// `InstanceManagement.delete(filter)`. Live ones are left alone and counted. A filter is
    /// required, so that a bare DELETE never empties the database.
    async fn delete_instances(&self, req: &HttpRequest) -> HttpResponse {
        let filter = filter_param(req);
        if filter.trim().is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "give ?filter= (ODE instance filter), e.g. status=completed started<-30d",
            );
        }
        let done = match &self.router {
            None => Ok(crate::router::Cleaned::default()),
            Some(router) => match crate::store::filter::parse(&filter, router.now_for_filters()) {
                Err(e) => return error(StatusCode::BAD_REQUEST, &e),
                // `status=error` selects nothing, as in ODE.
                Ok(f) if f.nothing => Ok(crate::router::Cleaned::default()),
                Ok(f) => router.clean_up_ended(f.query, true, true).await,
            },
        };
        match done {
            Ok(done) => json(
                StatusCode::OK,
                &serde_json::json!({ "deleted": done.cleaned, "live_skipped": done.live }),
            ),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        }
    }

    /// `DELETE /management/instances/{id}`: removes an ended instance with its events and
    /// jobs. A live one (active, suspended, waiting for recovery) is refused with 409, so no
    /// running work is dropped by accident: terminate it first.
    async fn delete_instance(&self, id: &str) -> HttpResponse {
        let Ok(id) = id.parse::<i64>() else {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("'{id}' is not an instance id"),
            );
        };
        let Some(router) = &self.router else {
            return error(StatusCode::NOT_FOUND, &format!("no instance {id}"));
        };
        if let Some(live) = router.instances().into_iter().find(|i| i.id == id) {
            return error(
                StatusCode::CONFLICT,
                &format!(
                    "instance {id} is {}; terminate it before deleting it",
                    live.status.to_lowercase()
                ),
            );
        }
        match router.delete_stored_instance(id).await {
            Ok(true) => json(
                StatusCode::OK,
                &serde_json::json!({ "id": id, "deleted": true }),
            ),
            Ok(false) => error(StatusCode::NOT_FOUND, &format!("no instance {id}")),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        }
    }

    /// Jobs given up after repeated failures: kept for an operator, never deleted silently.
    async fn parked_jobs(&self) -> HttpResponse {
        let Some(router) = &self.router else {
            return json(StatusCode::OK, &Vec::<serde_json::Value>::new());
        };
        match router.parked_jobs().await {
            Ok(jobs) => {
                let rows: Vec<serde_json::Value> = jobs
                    .iter()
                    .map(|j| {
                        serde_json::json!({
                            "id": j.id,
                            "kind": j.kind.as_str(),
                            "instance": j.instance,
                            "pid": format!("{}-{}", j.process, j.version),
                            "due_ms": j.due_ms,
                            "retries": j.retries,
                            "last_error": j.last_error,
                        })
                    })
                    .collect();
                json(StatusCode::OK, &rows)
            }
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        }
    }

    /// Stored events of a persistent instance, else the recent in-memory ones.
    async fn instance_events(&self, id: i64) -> HttpResponse {
        if let Some(router) = self.router.as_ref().filter(|r| r.is_persistent()) {
            match router.stored_events(id).await {
                Ok(rows) if !rows.is_empty() => {
                    let events: Vec<serde_json::Value> = rows
                        .iter()
                        .filter_map(|r| {
                            let mut v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
                            if let Some(o) = v.as_object_mut() {
                                o.insert("step".into(), r.step.into());
                            }
                            Some(v)
                        })
                        .collect();
                    return json(StatusCode::OK, &events);
                }
                Ok(_) => {}
                Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
            }
        }
        json(StatusCode::OK, &self.events.events_for(id))
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

/// Whether a live in-memory instance passes `f` (status, ids and pid; no dates in memory).
fn matches_live(f: &crate::store::filter::Filter, i: &crate::router::InstanceInfo) -> bool {
    if f.nothing {
        return false;
    }
    let q = &f.query;
    if !q.ids.is_empty() && !q.ids.contains(&i.id) {
        return false;
    }
    if !q.status.is_empty()
        && !q
            .status
            .iter()
            .any(|s| s.as_str().eq_ignore_ascii_case(&i.status))
    {
        return false;
    }
    if let (Some(p), Some(v)) = (&q.process, q.version)
        && i.pid != format!("{p}-{v}")
    {
        return false;
    }
    q.created_from.is_none() && q.created_before.is_none()
}

/// The `filter` query parameter, decoded: `+` and `%20` are spaces (form encoding), `%XX`
/// escapes.
fn filter_param(req: &HttpRequest) -> String {
    decode_segment(
        &query_param(req, "filter")
            .unwrap_or_default()
            .replace('+', " "),
    )
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
