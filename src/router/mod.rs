//! Routing: an inbound message → the instance waiting for it (by partner link, operation and
//! correlation values) or a new instance; steps run here; their effects (replies, invokes,
//! timers) are carried out after the step committed (DESIGN decisions 2 and 3). Partners that
//! are processes of this engine are called in-process (peer-to-peer); others through a
//! [`PartnerTransport`].
//!
//! With a [`Store`](crate::store::Store), every step of a persistent process commits its new
//! state, jobs (timers, the invoke outbox), parked messages and events in one write before
//! anything leaves the engine; idle instances are dropped from memory and reloaded on their
//! next event; [`Router::recover`] rebuilds the routing index and resumes jobs at start-up.

// Replies carry faults by value (see runtime): large but rare.
#![allow(clippy::large_enum_variant)]

mod cleanup;
pub use cleanup::Cleaned;
use cleanup::Cleanups;
mod index;
mod jobs;
mod partner;
mod step;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::Duration;

use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::{Element, QName};
use tokio::sync::oneshot;
use tracing::{debug, warn};

use crate::deploy::Registry;
use crate::deploy::package::PartnerEndpoint;
use crate::deploy::registry::{ActivatedProcess, DeployListener, ProcessState};
use crate::model::{ActivityKind, PartnerLinkId};
use crate::runtime::data::Millis;
use crate::runtime::state::{MexId, Role};
use crate::runtime::{Input, InvokeResult, PackageStylesheets, ProcessCtx, ReplyBody};
use crate::store::SharedStore;
use index::{Index, WaitKey};
use step::{Consumed, Slot};

/// How an inbound message was answered.
#[derive(Debug)]
pub enum Delivery {
    /// The process replied (output or fault).
    Reply(ReplyBody),
    /// A one-way message was accepted (and, for a persistent process, committed).
    Accepted,
    /// The message cannot be routed (unknown partner link, inactive process, no instance and
    /// no start activity, timeout): a client-visible reason.
    Rejected(String),
    /// The engine could not take the message now (the database is unreachable): nothing of
    /// it was kept; the client may retry.
    Unavailable(String),
}

/// A live instance as the management API lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceInfo {
    /// Instance id.
    pub id: i64,
    /// ODE process id `{ns}local-version`.
    pub pid: String,
    /// Status (`Active`, `Suspended`, ...).
    pub status: String,
}

/// A call to a partner outside this engine.
#[derive(Debug, Clone)]
pub struct PartnerCall {
    /// The address to post to.
    pub address: String,
    /// The partner's WSDL service and port, when known (binding for the SOAP mapping).
    pub service: Option<(QName, String)>,
    /// The partner role's portType.
    pub port_type: QName,
    /// Operation name.
    pub operation: String,
    /// One-way operation.
    pub one_way: bool,
    /// The request in message form.
    pub message: Element,
    /// The calling process's WSDL set.
    pub wsdl: Arc<WsdlSet>,
}

/// A boxed future, for the object-safe transport trait.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Sends invokes to partners outside the engine (SOAP/HTTP, AMQP).
pub trait PartnerTransport: Send + Sync {
    /// Carries out a call and reports what the partner answered.
    fn call(&self, call: PartnerCall) -> BoxFuture<InvokeResult>;
}

/// Runtime settings of the router.
#[derive(Clone)]
pub struct RouterConfig {
    /// How long a request-response exchange may wait for its reply.
    pub reply_timeout: Duration,
    /// How long a message that matched no instance is kept for a receive to come.
    pub early_message_timeout: Duration,
    /// Deploy dir (package directories, for stylesheets).
    pub deploy_dir: PathBuf,
    /// Events of processes whose deploy.xml has no `<process-events>`.
    pub default_events: crate::events::DefaultEvents,
    /// Where events go after each step.
    pub events: crate::events::EventBus,
    /// The time source of steps and timers.
    pub clock: Arc<dyn crate::runtime::clock::Clock>,
    /// Where persistent processes keep their instances (`None`: everything in memory).
    pub store: Option<SharedStore>,
    /// This node's stable id (owner of the jobs it creates).
    pub node: String,
    /// An instance idle in memory longer than this is dropped (reloaded on its next event).
    pub dehydrate_after: Duration,
    /// Most persistent instances kept in memory.
    pub max_hydrated: usize,
    /// How often the job table is polled for due jobs (timers and retries).
    pub poll_interval: Duration,
}

impl std::fmt::Debug for RouterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterConfig")
            .field("reply_timeout", &self.reply_timeout)
            .field("node", &self.node)
            .field("store", &self.store.as_ref().map(|s| s.backend()))
            .finish_non_exhaustive()
    }
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            reply_timeout: Duration::from_secs(120),
            early_message_timeout: Duration::from_secs(60),
            deploy_dir: PathBuf::from("."),
            default_events: crate::events::DefaultEvents::None,
            events: crate::events::EventBus::new(),
            clock: Arc::new(crate::runtime::clock::SystemClock),
            store: None,
            node: "local".into(),
            dehydrate_after: Duration::from_secs(20 * 60),
            max_hydrated: 1_000,
            poll_interval: Duration::from_secs(1),
        }
    }
}

type Key = (QName, u64);

struct Deployed {
    key: Key,
    /// `{ns}local` of the process, as stored.
    clark: String,
    package: String,
    ctx: Arc<ProcessCtx>,
    /// Creates instances (state Active); changed by the registry's `state_changed`.
    active: std::sync::atomic::AtomicBool,
    /// Retired: creates no instances, its running ones still get their messages.
    retired: std::sync::atomic::AtomicBool,
    /// Instances are kept in the store (not `<in-memory>` and a store is configured).
    persistent: bool,
    partner_links: HashMap<String, PartnerLinkId>,
    /// The other myRole partner links deploy.xml provides on the same service and port, in
    /// declaration order: a message to that endpoint may be meant for any of them.
    shared_endpoint: HashMap<PartnerLinkId, Vec<PartnerLinkId>>,
    invokes: HashMap<PartnerLinkId, PartnerEndpoint>,
    /// deploy.xml `<cleanup>`: what the step that ends an instance deletes, when it completed
    /// and when it faulted or was terminated.
    cleanup: Cleanups,
    /// deploy.xml has `<schedule>`s: server-wide cleanup schedules leave its instances alone.
    own_schedules: bool,
    routing: Mutex<Routing>,
    /// Messages kept for a receive to come, shared by every version of the process: a message
    /// reaches the process's endpoint, not a version, and the instance it is meant for may run
    /// on an older one. Locked after `routing` when both are held.
    early: Arc<Mutex<Vec<Early>>>,
}

#[derive(Default)]
struct Routing {
    /// Every live instance (hydrated or not).
    instances: HashMap<i64, Arc<Slot>>,
    index: Index,
}

struct Early {
    /// Partner link (by name: ids are per version) and operation it was sent to.
    partner_link: String,
    operation: String,
    /// The version whose endpoint took it in; another version's instance takes it only
    /// through a correlated receive (as in `route_to_older_version`).
    version: u64,
    message: Element,
    mex: Option<MexId>,
    expires: Millis,
    /// The parked row, for a one-way message of a persistent process.
    parked: Option<i64>,
    /// Parked but not yet committed: no step may take it before its row exists.
    pending: bool,
}

/// How a waiting requester is answered.
enum Answer {
    Reply(ReplyBody),
    Unavailable(String),
}

/// Ids handed out from blocks reserved in the store (or a local counter without one).
struct Ids {
    next: i64,
    end: i64,
}

const ID_BLOCK: i64 = 1_000;

struct Inner {
    processes: RwLock<HashMap<Key, Arc<Deployed>>>,
    ids: tokio::sync::Mutex<Ids>,
    next_mex: AtomicU64,
    waiting: Mutex<HashMap<MexId, oneshot::Sender<Answer>>>,
    transport: RwLock<Option<Arc<dyn PartnerTransport>>>,
    registry: Weak<Registry>,
    /// Jobs being carried out by this node (never picked twice by the poller).
    in_flight: Mutex<std::collections::HashSet<i64>>,
    /// Jobs finished recently, with when (see `release_job`).
    finished: Mutex<HashMap<i64, Millis>>,
    /// Hydrated persistent instances (for the dehydration bound).
    hydrated: AtomicI64,
    /// Persistent instances in memory, least recently used first (entries superseded by a
    /// later use of the same instance are skipped).
    lru: Mutex<std::collections::VecDeque<(Weak<Slot>, u64, Millis)>>,
    touch_seq: AtomicU64,
    /// Set by [`Router::stop`]: no more steps, timers or polls.
    stopped: std::sync::atomic::AtomicBool,
    config: RouterConfig,
}

/// The engine's message router. Cheap to clone.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Router {
    fn now_ms(&self) -> Millis {
        self.inner.config.clock.now_ms()
    }

    /// The router clock's time (anchors relative dates of management filters).
    pub fn now_for_filters(&self) -> i64 {
        self.now_ms()
    }

    fn store(&self) -> Option<&SharedStore> {
        self.inner.config.store.as_ref()
    }

    /// A router resolving peer-to-peer partners through `registry`; it registers itself as the
    /// registry's deploy listener.
    pub fn new(registry: &Arc<Registry>, config: RouterConfig) -> Self {
        let start = if config.store.is_some() {
            // Ids come from the store; this block is empty so the first use reserves one.
            Ids { next: 0, end: 0 }
        } else {
            let n = config.clock.now_ms() * 1000 % 1_000_000_000_000 + 1;
            Ids {
                next: n,
                end: i64::MAX,
            }
        };
        // Exchange ids must not repeat across restarts: a recovered instance still holds the
        // ids of requests that were open when the server stopped.
        let mex_start = (config.clock.now_ms().max(0) as u64).saturating_mul(1000) + 1;
        let router = Router {
            inner: Arc::new(Inner {
                processes: RwLock::new(HashMap::new()),
                ids: tokio::sync::Mutex::new(start),
                next_mex: AtomicU64::new(mex_start),
                waiting: Mutex::new(HashMap::new()),
                transport: RwLock::new(None),
                registry: Arc::downgrade(registry),
                in_flight: Mutex::new(std::collections::HashSet::new()),
                finished: Mutex::new(HashMap::new()),
                hydrated: AtomicI64::new(0),
                lru: Mutex::new(std::collections::VecDeque::new()),
                touch_seq: AtomicU64::new(0),
                stopped: std::sync::atomic::AtomicBool::new(false),
                config,
            }),
        };
        registry.set_listener(Arc::new(Listener(Arc::downgrade(&router.inner))));
        router
    }

    /// Stops the engine's background work: no further steps run (inputs arriving now are
    /// answered as unavailable), timers and the job poller end. What was committed stays in
    /// the store for the next start.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Relaxed)
    }

    /// Sets the transport used for partners outside the engine.
    pub fn set_transport(&self, transport: Arc<dyn PartnerTransport>) {
        if let Ok(mut t) = self.inner.transport.write() {
            *t = Some(transport);
        }
    }

    fn deployed(&self, key: &Key) -> Option<Arc<Deployed>> {
        self.inner.processes.read().ok()?.get(key).cloned()
    }

    fn deployed_by_clark(&self, clark: &str, version: u64) -> Option<Arc<Deployed>> {
        let map = self.inner.processes.read().ok()?;
        map.values()
            .find(|d| d.key.1 == version && d.clark == clark)
            .cloned()
    }

    /// Every deployed version of process `name`.
    fn versions_of(&self, name: &QName) -> Vec<Arc<Deployed>> {
        match self.inner.processes.read() {
            Ok(m) => m.values().filter(|d| d.key.0 == *name).cloned().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Offers the kept messages of `d`'s process to the waiting instances of each of its
    /// versions (`d`'s own too when `with_self`), one version's routing lock at a time, and
    /// runs the steps they are taken by.
    async fn offer_early(&self, d: &Arc<Deployed>, with_self: bool) {
        for o in self.versions_of(&d.key.0) {
            if !with_self && Arc::ptr_eq(&o, d) {
                continue;
            }
            let follow = {
                let mut r = lock(&o.routing);
                step::claim_early(&o, &mut r)
            };
            self.run_follow(&o, follow).await;
        }
    }

    /// A fresh id for an instance, job or parked message.
    async fn next_id(&self) -> Result<i64, crate::store::StoreError> {
        let mut ids = self.inner.ids.lock().await;
        if ids.next >= ids.end {
            let Some(store) = self.store() else {
                return Err(crate::store::StoreError::Database(
                    "the id counter is exhausted".into(),
                ));
            };
            let first = store.reserve_ids(ID_BLOCK).await?;
            ids.next = first;
            ids.end = first + ID_BLOCK;
        }
        let id = ids.next;
        ids.next += 1;
        Ok(id)
    }

    /// Live instances of every process version (persistent ones from memory too: every live
    /// instance has a slot).
    pub fn instances(&self) -> Vec<InstanceInfo> {
        let processes: Vec<Arc<Deployed>> = match self.inner.processes.read() {
            Ok(m) => m.values().cloned().collect(),
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for d in processes {
            let slots: Vec<(i64, Arc<Slot>)> = lock(&d.routing)
                .instances
                .iter()
                .map(|(id, s)| (*id, s.clone()))
                .collect();
            for (id, slot) in slots {
                out.push(InstanceInfo {
                    id,
                    pid: d.ctx.pid.to_string(),
                    status: slot.status_name(),
                });
            }
        }
        out.sort_by_key(|i| i.id);
        out
    }

    /// Feeds an operator command (terminate, suspend, resume, recover) to a live instance as
    /// one step; false when no live instance has that id.
    pub async fn command(&self, id: i64, input: Input) -> Result<bool, String> {
        let processes: Vec<Arc<Deployed>> = match self.inner.processes.read() {
            Ok(m) => m.values().cloned().collect(),
            Err(_) => return Ok(false),
        };
        let Some(d) = processes
            .into_iter()
            .find(|d| lock(&d.routing).instances.contains_key(&id))
        else {
            return Ok(false);
        };
        self.run(&d, id, input, Consumed::default())
            .await
            .map_err(|RouteError::Unavailable(e)| e)?;
        Ok(true)
    }

    /// Number of live instances of a process version (for tests and metrics).
    pub fn instance_count(&self, process: &QName, version: u64) -> usize {
        self.deployed(&(process.clone(), version))
            .map_or(0, |d| lock(&d.routing).instances.len())
    }

    /// Number of persistent instances currently held in memory.
    pub fn hydrated_count(&self) -> i64 {
        self.inner.hydrated.load(Ordering::Relaxed)
    }

    fn open_exchange(&self) -> (MexId, oneshot::Receiver<Answer>) {
        let id = self.inner.next_mex.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.waiting).insert(id, tx);
        (id, rx)
    }

    /// Delivers an inbound message for `partner_link`/`operation` of a process version and
    /// waits for the reply (request-response) or the acceptance (one-way). A one-way message
    /// to a persistent process is accepted only once the step that took it (or the parked
    /// message) is committed.
    pub async fn deliver(
        &self,
        process: &QName,
        version: u64,
        partner_link: &str,
        operation: &str,
        message: Element,
        one_way: bool,
    ) -> Delivery {
        let Some(d) = self.deployed(&(process.clone(), version)) else {
            return Delivery::Rejected(format!(
                "process {process} version {version} is not deployed"
            ));
        };
        let Some(&pl) = d.partner_links.get(partner_link) else {
            return Delivery::Rejected(format!(
                "process {process} has no partner link named {partner_link}"
            ));
        };
        let (mex, rx) = if one_way {
            (None, None)
        } else {
            let (id, rx) = self.open_exchange();
            (Some(id), Some(rx))
        };
        let key = d.inbound_key(pl, operation);
        let partner_link = d.ctx.process.partner_link(key.partner_link).name.as_str();
        // Instances of older versions of the process keep receiving their correlated messages
        // through the current version's endpoint (running instances finish on their version).
        let routed = match self
            .route_to_older_version(&d, partner_link, operation, message, mex)
            .await
        {
            Ok(None) => Ok(()),
            Ok(Some(message)) => self.route(&d, key, message, mex).await,
            Err(e) => Err(e),
        };
        if let Err(e) = routed {
            if let Some(m) = mex {
                lock(&self.inner.waiting).remove(&m);
            }
            return e.into_delivery();
        }
        match rx {
            None => Delivery::Accepted,
            Some(rx) => self.await_reply(rx, mex).await,
        }
    }

    async fn await_reply(&self, rx: oneshot::Receiver<Answer>, mex: Option<MexId>) -> Delivery {
        match tokio::time::timeout(self.inner.config.reply_timeout, rx).await {
            Ok(Ok(Answer::Reply(body))) => Delivery::Reply(body),
            Ok(Ok(Answer::Unavailable(reason))) => Delivery::Unavailable(reason),
            Ok(Err(_)) => Delivery::Rejected("the exchange was dropped without a reply".into()),
            Err(_) => {
                if let Some(m) = mex {
                    lock(&self.inner.waiting).remove(&m);
                }
                Delivery::Rejected(format!(
                    "no reply within {} s",
                    self.inner.config.reply_timeout.as_secs()
                ))
            }
        }
    }

    /// Offers a message to the waiting instances of the other versions of `d`'s process; gives
    /// it back when none takes it.
    async fn route_to_older_version(
        &self,
        d: &Arc<Deployed>,
        partner_link: &str,
        operation: &str,
        message: Element,
        mex: Option<MexId>,
    ) -> Result<Option<Element>, RouteError> {
        let others: Vec<Arc<Deployed>> = match self.inner.processes.read() {
            Ok(m) => m
                .values()
                .filter(|o| {
                    o.key.0 == d.key.0 && o.key.1 != d.key.1 && o.retired.load(Ordering::Relaxed)
                })
                .cloned()
                .collect(),
            Err(_) => return Ok(Some(message)),
        };
        for o in others {
            let Some(&pl) = o.partner_links.get(partner_link) else {
                continue;
            };
            let key = WaitKey {
                partner_link: pl,
                operation: operation.to_string(),
            };
            let claimed = lock(&o.routing).index.claim(&o.ctx, &key, &message, true);
            if let Some(c) = claimed {
                let input = c.input(message, mex);
                self.correlation_event(&o, Some(c.instance), &key, mex, c.keys, true);
                self.run(&o, c.instance, input, Consumed::default()).await?;
                return Ok(None);
            }
        }
        Ok(Some(message))
    }

    /// Finds or creates the instance for a message and runs the step.
    async fn route(
        &self,
        d: &Arc<Deployed>,
        key: WaitKey,
        message: Element,
        mex: Option<MexId>,
    ) -> Result<(), RouteError> {
        let creates = d.active.load(Ordering::Relaxed)
            && !d.retired.load(Ordering::Relaxed)
            && starts(&d.ctx, &key);
        let now = self.now_ms();
        let expires = now + self.inner.config.early_message_timeout.as_millis() as Millis;
        // A one-way message to a persistent process is parked durably before it is accepted.
        let parked = if d.persistent && mex.is_none() && !creates {
            Some(self.next_id().await.map_err(RouteError::store)?)
        } else {
            None
        };
        // Matching and parking happen under one lock, so a subscription added by a concurrent
        // step is either seen here or sees the parked message (after_step).
        let (matched, message) = {
            let mut r = lock(&d.routing);
            match r.index.claim(&d.ctx, &key, &message, false) {
                Some(m) => (Some(m), Some(message)),
                None if creates => (None, Some(message)),
                None => {
                    lock(&d.early).push(Early {
                        partner_link: d.ctx.process.partner_link(key.partner_link).name.clone(),
                        operation: key.operation.clone(),
                        version: d.key.1,
                        message,
                        mex,
                        expires,
                        parked,
                        pending: parked.is_some(),
                    });
                    (None, None)
                }
            }
        };
        let Some(message) = message else {
            // Kept for a receive to come (DESIGN decision 3).
            self.correlation_event(d, None, &key, mex, Vec::new(), false);
            if let Some(id) = parked {
                self.park(d, id, &key, expires).await?;
            } else {
                // An instance of another version may have subscribed since
                // `route_to_older_version` looked: it saw no kept message then.
                self.offer_early(d, false).await;
            }
            let router = self.clone();
            let d2 = d.clone();
            let timeout = self.inner.config.early_message_timeout;
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                router.expire_early(&d2).await;
            });
            return Ok(());
        };
        if let Some(c) = matched {
            let input = c.input(message, mex);
            self.correlation_event(d, Some(c.instance), &key, mex, c.keys, true);
            return self.run(d, c.instance, input, Consumed::default()).await;
        }
        self.create(d, key, message, mex).await
    }

    /// Commits a parked one-way message (the early list already holds it); on failure the
    /// message leaves the early list again and the sender is told to retry.
    async fn park(
        &self,
        d: &Arc<Deployed>,
        id: i64,
        key: &WaitKey,
        expires: Millis,
    ) -> Result<(), RouteError> {
        let Some(store) = self.store() else {
            return Ok(());
        };
        let body = {
            let early = lock(&d.early);
            early
                .iter()
                .find(|e| e.parked == Some(id))
                .map(|e| bpelgate_wsdl::xml::to_string(&e.message).into_bytes())
        };
        // Already claimed by a step that raced ahead: that step committed it.
        let Some(body) = body else {
            return Ok(());
        };
        let pl = d.ctx.process.partner_link(key.partner_link).name.clone();
        let write = crate::store::StepWrite {
            park_messages: vec![crate::store::ParkedMessage {
                id,
                process: d.clark.clone(),
                version: d.key.1 as i64,
                partner_link: pl,
                operation: key.operation.clone(),
                body,
                received_ms: self.now_ms(),
                expires_ms: expires,
            }],
            ..crate::store::StepWrite::default()
        };
        if let Err(e) = store.commit(write).await {
            lock(&d.early).retain(|e| e.parked != Some(id));
            return Err(RouteError::store(e));
        }
        // Now that the row exists a step may take it; one may have subscribed meanwhile, on
        // any version of the process.
        {
            let mut early = lock(&d.early);
            let Some(e) = early.iter_mut().find(|e| e.parked == Some(id)) else {
                return Ok(());
            };
            e.pending = false;
        }
        let router = self.clone();
        let d = d.clone();
        // The sender is answered already (the message is safe); the step runs on its own.
        tokio::spawn(async move { router.offer_early(&d, true).await });
        Ok(())
    }

    fn send_reply(&self, mex: MexId, body: ReplyBody) {
        if let Some(tx) = lock(&self.inner.waiting).remove(&mex) {
            let _ = tx.send(Answer::Reply(body));
        }
    }

    fn send_unavailable(&self, mex: MexId, reason: &str) {
        if let Some(tx) = lock(&self.inner.waiting).remove(&mex) {
            let _ = tx.send(Answer::Unavailable(reason.to_string()));
        }
    }
}

/// Why a message could not be taken.
#[derive(Debug)]
enum RouteError {
    /// The store failed: nothing was committed.
    Unavailable(String),
}

impl RouteError {
    fn store(e: crate::store::StoreError) -> Self {
        RouteError::Unavailable(e.to_string())
    }

    fn into_delivery(self) -> Delivery {
        match self {
            RouteError::Unavailable(r) => Delivery::Unavailable(r),
        }
    }
}

impl Router {
    fn correlation_event(
        &self,
        d: &Arc<Deployed>,
        instance: Option<i64>,
        key: &WaitKey,
        mex: Option<MexId>,
        keys: Vec<(crate::model::CorrelationSetId, Vec<String>)>,
        matched: bool,
    ) {
        use crate::events::{CorrelationKey, EventHeader, EventKind, EventType, MexRef};
        let ty = if matched {
            EventType::CorrelationMatch
        } else {
            EventType::CorrelationNoMatch
        };
        if !d
            .ctx
            .events
            .type_enabled(crate::model::ScopeId::PROCESS, ty)
        {
            return;
        }
        let pl = d.ctx.process.partner_link(key.partner_link);
        let mex = MexRef {
            port_type: pl
                .my_role
                .as_ref()
                .map(|(_, pt)| pt.clone())
                .unwrap_or_default(),
            operation: key.operation.clone(),
            mex_id: mex.map(|m| m.to_string()).unwrap_or_default(),
        };
        let keys = keys
            .into_iter()
            .map(|(set, values)| CorrelationKey {
                correlation_set: d.ctx.process.correlation_set(set).name.clone(),
                values,
            })
            .collect();
        let header = EventHeader {
            timestamp_ms: self.now_ms(),
            process_id: d.ctx.pid.clone(),
            process_name: d.ctx.name.clone(),
            instance_id: instance,
        };
        let kind = if matched {
            EventKind::CorrelationMatch { mex, keys }
        } else {
            EventKind::CorrelationNoMatch { mex, keys }
        };
        self.inner.config.events.publish(&[header.event(kind)]);
    }

    fn activate(&self, package: &str, processes: &[ActivatedProcess], wsdl: &Arc<WsdlSet>) {
        let dir = self.inner.config.deploy_dir.join(package);
        let mut map = match self.inner.processes.write() {
            Ok(m) => m,
            Err(e) => e.into_inner(),
        };
        for p in processes {
            let process = p.built.process.clone();
            let partner_links = process
                .partner_links
                .iter()
                .filter(|pl| pl.scope == crate::model::ScopeId::PROCESS)
                .map(|pl| (pl.name.clone(), pl.id))
                .collect::<HashMap<_, _>>();
            let invokes = p
                .built
                .invokes
                .iter()
                .filter_map(|i| {
                    partner_links
                        .get(&i.partner_link)
                        .map(|id| (*id, i.clone()))
                })
                .collect::<HashMap<_, _>>();
            let shared_endpoint = shared_endpoints(&p.built.provides, &partner_links);
            let mut endpoints = std::collections::BTreeMap::new();
            for (id, i) in &invokes {
                if let Some(addr) = &i.address {
                    endpoints.insert((*id, Role::Partner), service_ref(addr));
                }
            }
            let properties = p
                .built
                .dd
                .properties
                .iter()
                .map(|prop| (prop.name.clone(), property_element(&prop.value)))
                .collect();
            let events = crate::events::EventFilter::for_process(
                p.built.dd.events.as_ref(),
                self.inner.config.default_events,
                &process,
            );
            let ctx = ProcessCtx {
                pid: Arc::from(format!("{}-{}", process.name, p.version)),
                name: Arc::new(process.name.clone()),
                events,
                process,
                wsdl: wsdl.clone(),
                properties,
                endpoints,
                // A kept version reads its own copy's stylesheets, not the redeployed package's.
                stylesheets: Box::new(PackageStylesheets::new(Some(
                    p.dir.clone().unwrap_or_else(|| dir.clone()),
                ))),
                failure_handling: (invokes.iter())
                    .filter_map(|(id, i)| i.failure_handling.map(|f| (*id, f)))
                    .collect(),
            };
            let key = (p.built.process.name.clone(), p.version);
            let early = (map.values())
                .find(|o| o.key.0 == key.0)
                .map(|o| o.early.clone())
                .unwrap_or_default();
            let deployed = Arc::new(Deployed {
                clark: key.0.to_string(),
                persistent: self.inner.config.store.is_some() && !p.built.dd.in_memory,
                key,
                package: package.to_string(),
                ctx: Arc::new(ctx),
                active: std::sync::atomic::AtomicBool::new(p.state == ProcessState::Active),
                retired: std::sync::atomic::AtomicBool::new(p.state == ProcessState::Retired),
                partner_links,
                shared_endpoint,
                invokes,
                cleanup: Cleanups::of(&p.built.dd.cleanups),
                own_schedules: !p.built.dd.schedules.is_empty(),
                routing: Mutex::new(Routing::default()),
                early,
            });
            self.start_schedules(&deployed, &p.built.dd.schedules);
            map.insert(deployed.key.clone(), deployed);
        }
    }

    fn remove(&self, package: &str) {
        let mut map = match self.inner.processes.write() {
            Ok(m) => m,
            Err(e) => e.into_inner(),
        };
        let before = map.len();
        map.retain(|_, d| d.package != package);
        if map.len() != before {
            debug!(package, "Process versions unloaded.");
        }
    }
}

impl Deployed {
    /// The wait key a message to `pl`'s endpoint is routed on. When deploy.xml provides several
    /// partner links on one service and port, the message goes to the first of them that an
    /// instance waits on for this operation, else to the first that starts instances with it,
    /// else to `pl` itself (where it is kept as an early message).
    fn inbound_key(&self, pl: PartnerLinkId, operation: &str) -> WaitKey {
        let own = WaitKey {
            partner_link: pl,
            operation: operation.to_string(),
        };
        let Some(others) = self.shared_endpoint.get(&pl) else {
            return own;
        };
        let candidates: Vec<WaitKey> = std::iter::once(own.clone())
            .chain(others.iter().map(|o| WaitKey {
                partner_link: *o,
                operation: operation.to_string(),
            }))
            .collect();
        let waited = {
            let r = lock(&self.routing);
            candidates.iter().find(|k| r.index.waits_on(k)).cloned()
        };
        waited
            .or_else(|| candidates.iter().find(|k| starts(&self.ctx, k)).cloned())
            .or_else(|| candidates.iter().find(|k| receives(&self.ctx, k)).cloned())
            .unwrap_or(own)
    }
}

/// Whether some receive, onMessage or onEvent of the process takes messages on `key`.
fn receives(ctx: &ProcessCtx, key: &WaitKey) -> bool {
    let p = &ctx.process;
    p.activities.iter().any(|a| takes(&a.kind, key))
        || (p.scopes.iter()).any(|s| s.on_events.iter().any(|e| inbound_on(&e.inbound, key)))
}

/// Whether a receive or pick `kind` has an inbound on `key`.
fn takes(kind: &ActivityKind, key: &WaitKey) -> bool {
    match kind {
        ActivityKind::Receive(r) => inbound_on(&r.inbound, key),
        ActivityKind::Pick(p) => p.on_messages.iter().any(|m| inbound_on(&m.inbound, key)),
        _ => false,
    }
}

fn inbound_on(i: &crate::model::Inbound, key: &WaitKey) -> bool {
    i.partner_link == key.partner_link && i.operation.name == key.operation
}

/// For each provided partner link, the others provided on the same service and port.
fn shared_endpoints(
    provides: &[crate::deploy::package::ProvidedEndpoint],
    partner_links: &HashMap<String, PartnerLinkId>,
) -> HashMap<PartnerLinkId, Vec<PartnerLinkId>> {
    let mut out: HashMap<PartnerLinkId, Vec<PartnerLinkId>> = HashMap::new();
    for p in provides {
        let Some(&id) = partner_links.get(&p.partner_link) else {
            continue;
        };
        let others: Vec<PartnerLinkId> = provides
            .iter()
            .filter(|o| o.service == p.service && o.port == p.port)
            .filter_map(|o| partner_links.get(&o.partner_link).copied())
            .filter(|o| *o != id)
            .collect();
        if !others.is_empty() {
            out.insert(id, others);
        }
    }
    out
}

/// Whether a createInstance activity of the process accepts this partner link and operation.
fn starts(ctx: &ProcessCtx, key: &WaitKey) -> bool {
    (ctx.process.start_activities.iter()).any(|a| takes(&ctx.process.activity(*a).kind, key))
}

/// The address inside an endpoint reference (`sref:service-ref` or a bare `wsa:EndpointReference`).
fn epr_address(epr: &Element) -> Option<String> {
    fn find(e: &Element) -> Option<String> {
        if e.name.local == "Address" {
            let text: String = e
                .children
                .iter()
                .filter_map(|n| match n {
                    bpelgate_wsdl::Node::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect();
            let t = text.trim();
            return (!t.is_empty()).then(|| t.to_string());
        }
        e.children.iter().find_map(|n| match n {
            bpelgate_wsdl::Node::Element(c) => find(c),
            _ => None,
        })
    }
    find(epr).or_else(|| {
        // A service-ref holding only text: an address as written.
        let text: String = epr
            .children
            .iter()
            .filter_map(|n| match n {
                bpelgate_wsdl::Node::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let t = text.trim();
        (t.starts_with("http://") || t.starts_with("https://")).then(|| t.to_string())
    })
}

/// `<sref:service-ref><wsa:EndpointReference><wsa:Address>addr</wsa:Address>...`.
fn service_ref(address: &str) -> Element {
    let mut addr = Element::new(QName::new(WSA, "Address"));
    addr.children
        .push(bpelgate_wsdl::Node::Text(address.to_string()));
    let mut epr = Element::new(QName::new(WSA, "EndpointReference"));
    epr.children.push(bpelgate_wsdl::Node::Element(addr));
    let mut sref = Element::new(QName::new(SREF, "service-ref"));
    sref.children.push(bpelgate_wsdl::Node::Element(epr));
    sref
}

const WSA: &str = "http://www.w3.org/2005/08/addressing";
const SREF: &str = "http://docs.oasis-open.org/wsbpel/2.0/serviceref";

fn property_element(value: &crate::deploy::descriptor::PropertyValue) -> Element {
    use crate::deploy::descriptor::PropertyValue;
    let mut e = Element::new(QName::new("", "property"));
    match value {
        PropertyValue::Text(t) => e.children.push(bpelgate_wsdl::Node::Text(t.clone())),
        PropertyValue::Xml(children) => {
            e.children
                .extend(children.iter().cloned().map(bpelgate_wsdl::Node::Element));
        }
    }
    e
}

struct Listener(Weak<Inner>);

impl DeployListener for Listener {
    fn activated(&self, package: &str, processes: &[ActivatedProcess], wsdl: &Arc<WsdlSet>) {
        if let Some(inner) = self.0.upgrade() {
            Router { inner }.activate(package, processes, wsdl);
        } else {
            warn!(package, "Router is gone; deployment not loaded.");
        }
    }

    fn removed(&self, package: &str) {
        if let Some(inner) = self.0.upgrade() {
            Router { inner }.remove(package);
        }
    }

    fn state_changed(&self, process: &QName, version: u64, state: ProcessState) {
        if let Some(inner) = self.0.upgrade()
            && let Ok(map) = inner.processes.read()
            && let Some(d) = map.get(&(process.clone(), version))
        {
            d.active
                .store(state == ProcessState::Active, Ordering::Relaxed);
            d.retired
                .store(state == ProcessState::Retired, Ordering::Relaxed);
        }
    }
}
