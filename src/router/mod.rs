//! Routing: an inbound message → the instance waiting for it (by partner link, operation and
//! correlation values) or a new instance; steps run here; their effects (replies, invokes,
//! timers) are carried out after the step. Partners that are processes of this engine are
//! called in-process (peer-to-peer); others through a [`PartnerTransport`].

// Replies carry faults by value (see runtime): large but rare.
#![allow(clippy::large_enum_variant)]

mod index;

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
use crate::runtime::{
    Effects, Input, InvokeOut, InvokeResult, PackageStylesheets, ProcessCtx, ReplyBody,
    new_instance, step,
};
use index::{Index, WaitKey};

/// How an inbound message was answered.
#[derive(Debug)]
pub enum Delivery {
    /// The process replied (output or fault).
    Reply(ReplyBody),
    /// A one-way message was accepted.
    Accepted,
    /// The message cannot be routed (unknown partner link, inactive process, no instance and
    /// no start activity, timeout): a client-visible reason.
    Rejected(String),
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
#[derive(Debug, Clone)]
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
        }
    }
}

type Key = (QName, u64);

struct Deployed {
    key: Key,
    package: String,
    ctx: Arc<ProcessCtx>,
    active: bool,
    /// A newer version took this one's endpoints over.
    retired: std::sync::atomic::AtomicBool,
    partner_links: HashMap<String, PartnerLinkId>,
    invokes: HashMap<PartnerLinkId, PartnerEndpoint>,
    routing: Mutex<Routing>,
}

#[derive(Default)]
struct Routing {
    instances: HashMap<i64, Arc<Mutex<crate::runtime::Instance>>>,
    index: Index,
    early: Vec<Early>,
}

struct Early {
    key: WaitKey,
    message: Element,
    mex: Option<MexId>,
    expires: Millis,
}

struct Inner {
    processes: RwLock<HashMap<Key, Arc<Deployed>>>,
    next_instance: AtomicI64,
    next_mex: AtomicU64,
    waiting: Mutex<HashMap<MexId, oneshot::Sender<ReplyBody>>>,
    transport: RwLock<Option<Arc<dyn PartnerTransport>>>,
    registry: Weak<Registry>,
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

    /// A router resolving peer-to-peer partners through `registry`; it registers itself as the
    /// registry's deploy listener.
    pub fn new(registry: &Arc<Registry>, config: RouterConfig) -> Self {
        let router = Router {
            inner: Arc::new(Inner {
                processes: RwLock::new(HashMap::new()),
                next_instance: AtomicI64::new(config.clock.now_ms() * 1000 % 1_000_000_000_000 + 1),
                next_mex: AtomicU64::new(1),
                waiting: Mutex::new(HashMap::new()),
                transport: RwLock::new(None),
                registry: Arc::downgrade(registry),
                config,
            }),
        };
        registry.set_listener(Arc::new(Listener(Arc::downgrade(&router.inner))));
        router
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

    /// Live instances of every process version.
    pub fn instances(&self) -> Vec<InstanceInfo> {
        let processes: Vec<Arc<Deployed>> = match self.inner.processes.read() {
            Ok(m) => m.values().cloned().collect(),
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for d in processes {
            let instances: Vec<_> = lock(&d.routing).instances.values().cloned().collect();
            for inst in instances {
                let g = lock(&inst);
                out.push(InstanceInfo {
                    id: g.id,
                    pid: d.ctx.pid.to_string(),
                    status: format!("{:?}", g.status),
                });
            }
        }
        out.sort_by_key(|i| i.id);
        out
    }

    /// Number of live instances of a process version (for tests and metrics).
    pub fn instance_count(&self, process: &QName, version: u64) -> usize {
        self.deployed(&(process.clone(), version))
            .map_or(0, |d| lock(&d.routing).instances.len())
    }

    /// Delivers an inbound message for `partner_link`/`operation` of a process version and
    /// waits for the reply (request-response) or the acceptance (one-way).
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
            let id = self.inner.next_mex.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            lock(&self.inner.waiting).insert(id, tx);
            (Some(id), Some(rx))
        };
        let key = WaitKey {
            partner_link: pl,
            operation: operation.to_string(),
        };
        // Instances of older versions of the process keep receiving their correlated messages
        // through the current version's endpoint (running instances finish on their version).
        let Some(message) = self.route_to_older_version(&d, partner_link, operation, message, mex)
        else {
            return match rx {
                None => Delivery::Accepted,
                Some(rx) => self.await_reply(rx, mex).await,
            };
        };
        if let Err(reason) = self.route(&d, key, message, mex) {
            if let Some(m) = mex {
                lock(&self.inner.waiting).remove(&m);
            }
            return Delivery::Rejected(reason);
        }
        let Some(rx) = rx else {
            return Delivery::Accepted;
        };
        self.await_reply(rx, mex).await
    }

    async fn await_reply(&self, rx: oneshot::Receiver<ReplyBody>, mex: Option<MexId>) -> Delivery {
        match tokio::time::timeout(self.inner.config.reply_timeout, rx).await {
            Ok(Ok(body)) => Delivery::Reply(body),
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
    fn route_to_older_version(
        &self,
        d: &Arc<Deployed>,
        partner_link: &str,
        operation: &str,
        message: Element,
        mex: Option<MexId>,
    ) -> Option<Element> {
        let others: Vec<Arc<Deployed>> = match self.inner.processes.read() {
            Ok(m) => m
                .values()
                .filter(|o| {
                    o.key.0 == d.key.0 && o.key.1 != d.key.1 && o.retired.load(Ordering::Relaxed)
                })
                .cloned()
                .collect(),
            Err(_) => return Some(message),
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
            if let Some((inst, sub, keys)) = claimed {
                self.correlation_event(&o, Some(inst), &key, mex, keys, true);
                self.run(
                    &o,
                    inst,
                    Input::Message {
                        subscription: sub,
                        message,
                        mex,
                    },
                );
                return None;
            }
        }
        Some(message)
    }

    /// Finds or creates the instance for a message and runs the step.
    fn route(
        &self,
        d: &Arc<Deployed>,
        key: WaitKey,
        message: Element,
        mex: Option<MexId>,
    ) -> Result<(), String> {
        let creates = d.active && !d.retired.load(Ordering::Relaxed) && starts(&d.ctx, &key);
        let expires = self.now_ms() + self.inner.config.early_message_timeout.as_millis() as Millis;
        // Matching and parking happen under one lock, so a subscription added by a concurrent
        // step is either seen here or sees the parked message (after_step).
        let (matched, message) = {
            let mut r = lock(&d.routing);
            match r.index.claim(&d.ctx, &key, &message, false) {
                Some(m) => (Some(m), Some(message)),
                None if creates => (None, Some(message)),
                None => {
                    r.early.push(Early {
                        key: key.clone(),
                        message,
                        mex,
                        expires,
                    });
                    (None, None)
                }
            }
        };
        let Some(message) = message else {
            // Kept for a receive to come (DESIGN decision 3).
            self.correlation_event(d, None, &key, mex, Vec::new(), false);
            let router = self.clone();
            let d2 = d.clone();
            let timeout = self.inner.config.early_message_timeout;
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                router.expire_early(&d2);
            });
            return Ok(());
        };
        if let Some((inst, sub, keys)) = matched {
            self.correlation_event(d, Some(inst), &key, mex, keys, true);
            self.run(
                d,
                inst,
                Input::Message {
                    subscription: sub,
                    message,
                    mex,
                },
            );
            return Ok(());
        }
        {
            let id = self.inner.next_instance.fetch_add(1, Ordering::Relaxed);
            let inst = Arc::new(Mutex::new(new_instance(id)));
            lock(&d.routing).instances.insert(id, inst.clone());
            debug!(process = %d.key.0, instance = id, "New instance.");
            let now = self.now_ms();
            let mut fx = {
                let mut guard = lock(&inst);
                let mut fx = step(&d.ctx, &mut guard, now, Input::Start);
                let sub = guard
                    .subscriptions
                    .iter()
                    .find(|(_, s)| {
                        s.create_instance
                            && s.partner_link == key.partner_link
                            && s.operation == key.operation
                    })
                    .map(|(id, _)| *id);
                match sub {
                    Some(sub) => {
                        let fx2 = step(
                            &d.ctx,
                            &mut guard,
                            now,
                            Input::Message {
                                subscription: sub,
                                message,
                                mex,
                            },
                        );
                        merge(&mut fx, fx2);
                    }
                    None => {
                        // The start activity was not reached (e.g. the process faulted first).
                        if let Some(m) = mex {
                            fx.replies.push(crate::runtime::ReplyOut {
                                mex: m,
                                operation: key.operation,
                                body: ReplyBody::Fault {
                                    name: guard
                                        .fault
                                        .as_ref()
                                        .map(|f| f.name.clone())
                                        .unwrap_or_else(|| {
                                            QName::new(
                                                crate::runtime::fault::BPEL_NS,
                                                "missingRequest",
                                            )
                                        }),
                                    data: None,
                                    explanation:
                                        "the new instance did not reach its start activity".into(),
                                },
                            });
                        }
                    }
                }
                fx
            };
            let follow = self.after_step(d, id, &mut fx);
            self.apply(d, id, fx);
            self.run_follow(d, follow);
            Ok(())
        }
    }

    /// CorrelationMatch / CorrelationNoMatch for an inbound message.
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

    fn expire_early(&self, d: &Arc<Deployed>) {
        let now = self.now_ms();
        let expired: Vec<Early> = {
            let mut r = lock(&d.routing);
            let (gone, kept): (Vec<_>, Vec<_>) = r.early.drain(..).partition(|e| e.expires <= now);
            r.early = kept;
            gone
        };
        for e in expired {
            if let Some(mex) = e.mex {
                self.send_reply(
                    mex,
                    ReplyBody::Fault {
                        name: QName::new(crate::runtime::fault::BPEL_NS, "correlationViolation"),
                        data: None,
                        explanation: format!(
                            "no instance of {} accepted operation {} in time",
                            d.key.0, e.key.operation
                        ),
                    },
                );
            }
        }
    }

    /// Runs one step of instance `id` and everything it leads to.
    fn run(&self, d: &Arc<Deployed>, id: i64, input: Input) {
        let Some(inst) = lock(&d.routing).instances.get(&id).cloned() else {
            if let Input::Message { mex: Some(m), .. } = input {
                self.send_reply(
                    m,
                    ReplyBody::Fault {
                        name: QName::new(crate::runtime::fault::BPEL_NS, "correlationViolation"),
                        data: None,
                        explanation: "the instance has ended".into(),
                    },
                );
            }
            return;
        };
        let mut fx = {
            let mut guard = lock(&inst);
            step(&d.ctx, &mut guard, self.now_ms(), input)
        };
        let follow = self.after_step(d, id, &mut fx);
        self.apply(d, id, fx);
        self.run_follow(d, follow);
    }

    fn run_follow(&self, d: &Arc<Deployed>, follow: Vec<(i64, u32, Early)>) {
        for (inst, sub, e) in follow {
            self.run(
                d,
                inst,
                Input::Message {
                    subscription: sub,
                    message: e.message,
                    mex: e.mex,
                },
            );
        }
    }

    /// Re-indexes the instance's subscriptions, drops it when it ended, and claims early
    /// messages its new subscriptions match.
    fn after_step(&self, d: &Arc<Deployed>, id: i64, fx: &mut Effects) -> Vec<(i64, u32, Early)> {
        let mut follow = Vec::new();
        if !fx.subscriptions_changed && !fx.ended {
            return follow;
        }
        let Some(inst) = lock(&d.routing).instances.get(&id).cloned() else {
            return follow;
        };
        let guard = lock(&inst);
        let mut r = lock(&d.routing);
        r.index.remove_instance(id);
        if fx.ended {
            r.instances.remove(&id);
            return follow;
        }
        r.index.add_instance(&d.ctx, &guard);
        drop(guard);
        if !r.early.is_empty() {
            let early = std::mem::take(&mut r.early);
            for e in early {
                match r.index.claim(&d.ctx, &e.key, &e.message, false) {
                    Some((inst, sub, _)) => follow.push((inst, sub, e)),
                    None => r.early.push(e),
                }
            }
        }
        follow
    }

    fn send_reply(&self, mex: MexId, body: ReplyBody) {
        if let Some(tx) = lock(&self.inner.waiting).remove(&mex) {
            let _ = tx.send(body);
        }
    }

    /// Carries out a step's effects.
    fn apply(&self, d: &Arc<Deployed>, id: i64, fx: Effects) {
        if !fx.events.is_empty() {
            self.inner.config.events.publish(&fx.events);
        }
        for r in fx.replies {
            self.send_reply(r.mex, r.body);
        }
        for (alarm, at) in fx.alarms {
            let router = self.clone();
            let d2 = d.clone();
            let delay = Duration::from_millis((at - self.now_ms()).max(0) as u64);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                router.run(&d2, id, Input::Alarm(alarm));
            });
        }
        for out in fx.invokes {
            let router = self.clone();
            let d2 = d.clone();
            tokio::spawn(async move {
                let one_way = out.one_way;
                let invoke = out.invoke;
                let result = router.call_partner(&d2, out).await;
                if !one_way {
                    router.run(&d2, id, Input::InvokeResult { invoke, result });
                }
            });
        }
    }

    /// Calls a partner: in-process when it is a process of this engine (and usePeer2Peer is
    /// not false), else through the transport.
    async fn call_partner(&self, d: &Arc<Deployed>, out: InvokeOut) -> InvokeResult {
        let ep = d.invokes.get(&out.partner_link);
        let pl = d.ctx.process.partner_link(out.partner_link);
        let Some((_, port_type)) = pl.partner_role.clone() else {
            return InvokeResult::Failure(format!("partner link {} has no partnerRole", pl.name));
        };
        let dynamic = out.endpoint.as_ref().and_then(epr_address);
        if out.endpoint.is_some() && dynamic.is_none() {
            // The process assigned an endpoint reference this engine cannot call.
            return InvokeResult::Fault {
                name: QName::new(crate::runtime::fault::BPEL_NS, "unsupportedReference"),
                data: None,
            };
        }
        let address = dynamic
            .clone()
            .or_else(|| ep.and_then(|e| e.address.clone()));
        // Peer-to-peer: the configured service is provided by a process of this engine.
        let p2p_allowed = ep.is_none_or(|e| e.use_peer2peer);
        if p2p_allowed && dynamic.is_none() {
            if let Some(target) = ep
                .and_then(|e| e.service.as_ref())
                .and_then(|(svc, _)| self.local_endpoint(svc))
            {
                return self.call_local(target, &out).await;
            }
            if let Some(target) = address
                .as_deref()
                .and_then(|a| self.local_endpoint_by_address(a))
            {
                return self.call_local(target, &out).await;
            }
        }
        let Some(address) = address else {
            // Nothing initialised the partner role: no EPR assigned, no deploy.xml address, no
            // local provider (WS-BPEL 2.0 §10.3).
            return InvokeResult::Fault {
                name: QName::new(crate::runtime::fault::BPEL_NS, "uninitializedPartnerRole"),
                data: None,
            };
        };
        let transport = self.inner.transport.read().ok().and_then(|t| t.clone());
        let Some(transport) = transport else {
            return InvokeResult::Failure("no partner transport is configured".into());
        };
        transport
            .call(PartnerCall {
                address,
                service: ep.and_then(|e| e.service.clone()),
                port_type,
                operation: out.operation.clone(),
                one_way: out.one_way,
                message: out.message,
                wsdl: d.ctx.wsdl.clone(),
            })
            .await
    }

    fn local_endpoint(&self, service: &QName) -> Option<Arc<crate::deploy::registry::Endpoint>> {
        let registry = self.inner.registry.upgrade()?;
        registry
            .endpoint(&service.local)
            .filter(|e| e.service == *service)
    }

    fn local_endpoint_by_address(
        &self,
        address: &str,
    ) -> Option<Arc<crate::deploy::registry::Endpoint>> {
        let registry = self.inner.registry.upgrade()?;
        let path = address.split("/services/").nth(1)?;
        let name = path.split(['?', '/']).next()?;
        registry.endpoint(name)
    }

    async fn call_local(
        &self,
        target: Arc<crate::deploy::registry::Endpoint>,
        out: &InvokeOut,
    ) -> InvokeResult {
        let delivery = Box::pin(self.deliver(
            &target.process,
            target.version,
            &target.partner_link,
            &out.operation,
            out.message.clone(),
            out.one_way,
        ))
        .await;
        match delivery {
            Delivery::Accepted => InvokeResult::Output(Element::new(QName::new("", "message"))),
            Delivery::Reply(ReplyBody::Output(m)) => InvokeResult::Output(m),
            Delivery::Reply(ReplyBody::Fault {
                name,
                data,
                explanation,
            }) => {
                if data.is_some() {
                    InvokeResult::Fault { name, data }
                } else {
                    InvokeResult::Failure(format!("partner process faulted: {name} {explanation}"))
                }
            }
            Delivery::Rejected(reason) => InvokeResult::Failure(reason),
        }
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
                stylesheets: Box::new(PackageStylesheets::new(Some(dir.clone()))),
                failure_handling: (invokes.iter())
                    .filter_map(|(id, i)| i.failure_handling.map(|f| (*id, f)))
                    .collect(),
            };
            let key = (p.built.process.name.clone(), p.version);
            map.insert(
                key.clone(),
                Arc::new(Deployed {
                    key,
                    package: package.to_string(),
                    ctx: Arc::new(ctx),
                    active: p.state == ProcessState::Active,
                    retired: std::sync::atomic::AtomicBool::new(p.state == ProcessState::Retired),
                    partner_links,
                    invokes,
                    routing: Mutex::new(Routing::default()),
                }),
            );
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

fn merge(into: &mut Effects, more: Effects) {
    into.replies.extend(more.replies);
    into.invokes.extend(more.invokes);
    into.alarms.extend(more.alarms);
    into.events.extend(more.events);
    into.subscriptions_changed |= more.subscriptions_changed;
    into.ended |= more.ended;
}

/// Whether a createInstance activity of the process accepts this partner link and operation.
fn starts(ctx: &ProcessCtx, key: &WaitKey) -> bool {
    ctx.process
        .start_activities
        .iter()
        .any(|a| match &ctx.process.activity(*a).kind {
            ActivityKind::Receive(r) => {
                r.inbound.partner_link == key.partner_link
                    && r.inbound.operation.name == key.operation
            }
            ActivityKind::Pick(p) => p.on_messages.iter().any(|m| {
                m.inbound.partner_link == key.partner_link
                    && m.inbound.operation.name == key.operation
            }),
            _ => false,
        })
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

    fn retired(&self, process: &QName, version: u64) {
        if let Some(inner) = self.0.upgrade()
            && let Ok(map) = inner.processes.read()
            && let Some(d) = map.get(&(process.clone(), version))
        {
            d.retired.store(true, Ordering::Relaxed);
        }
    }
}
