//! Wiring: configuration → registry and hot deployment → the HTTP listener and its routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use bpelgate_transports::http::{self, Handler, HttpRequest, HttpResponse, ServerOptions};
use bpelgate_wsdl::wsdl::publish_wsdl;
use hyper::header::HOST;
use hyper::{Method, StatusCode};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Config;
use crate::deploy::{BpelCompiler, BuildContext, Deployer, PackageCompiler, Registry};
use crate::mgmt::Management;

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configured port plus offset does not fit in 16 bits.
    #[error("http-port + port-offset is beyond 65535")]
    Port,
    /// The listener failed.
    #[error(transparent)]
    Transport(#[from] bpelgate_transports::Error),
    /// The version store under the data dir cannot be opened.
    #[error("cannot open the package version store: {0}")]
    Versions(#[from] crate::deploy::VersionError),
    /// A server task panicked or was cancelled.
    #[error("server task failed: {0}")]
    Task(String),
    /// The database could not be opened (unreachable, bad URL, unreadable schema).
    #[error("database {url}: {source}")]
    Database {
        /// The configured URL (password masked) or file.
        url: String,
        /// What went wrong.
        source: crate::store::StoreError,
    },
    /// The node id file could not be read or written.
    #[error("node id file {path}: {source}")]
    NodeId {
        /// `<data-dir>/node-id`.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
}

/// Opens the configured database (applying pending migrations, like an embedded database
/// is expected to): a clear error when it cannot be reached.
pub async fn open_store(config: &Config) -> Result<crate::store::SharedStore, Error> {
    let url = match crate::store::open::backend(
        config.database.url.as_deref(),
        &config.server.data_dir,
    ) {
        Ok(crate::store::open::Backend::Sqlite(p)) => p.display().to_string(),
        Ok(crate::store::open::Backend::Postgres(u)) => crate::store::open::redacted(&u),
        Err(source) => {
            return Err(Error::Database {
                url: config.database.url.clone().unwrap_or_default(),
                source,
            });
        }
    };
    crate::store::open::open(&config.database, &config.server.data_dir, true)
        .await
        .map_err(|source| Error::Database { url, source })
}

/// This node's stable id: `[database] node-id`, else the one kept in `<data-dir>/node-id`
/// (created once). Jobs belong to a node id; a new id per start would orphan them (BPS-1173).
pub fn node_id(config: &Config) -> Result<String, Error> {
    if !config.database.node_id.trim().is_empty() {
        return Ok(config.database.node_id.trim().to_string());
    }
    let path = config.server.data_dir.join("node-id");
    let io = |source| Error::NodeId {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::create_dir_all(&config.server.data_dir).map_err(io)?;
    use crate::runtime::clock::Clock;
    let nanos = crate::runtime::clock::SystemClock.now_ms() as u128 * 1_000_000;
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() { "node".into() } else { host };
    let id = format!("{host}-{:x}", nanos ^ u128::from(std::process::id()));
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{id}\n")).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(id)
}

/// The version store's directory under the data dir.
pub const VERSIONS_DIR: &str = "versions";

const STARTING: u8 = 0;
const READY: u8 = 1;
const DRAINING: u8 = 2;

struct App {
    health: AtomicU8,
    registry: Arc<Registry>,
    services: crate::services::Services,
    management: Management,
    bind_addr: SocketAddr,
}

/// A started server.
pub struct Running {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: watch::Sender<bool>,
    serve: JoinHandle<Result<(), bpelgate_transports::Error>>,
    watcher: JoinHandle<()>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Starts the server: binds the listener (answering `/health` with 503 at once), deploys the
/// packages already in the deploy dir, then reports ready and keeps watching the deploy dir.
pub async fn start(config: Config, compiler: Arc<dyn PackageCompiler>) -> Result<Running, Error> {
    let port = config.server.effective_http_port().ok_or(Error::Port)?;
    let listener = http::bind(SocketAddr::new(config.server.bind, port)).await?;
    let addr = listener
        .local_addr()
        .map_err(bpelgate_transports::Error::Io)?;
    let store = open_store(&config).await?;
    let node = node_id(&config)?;
    info!(backend = store.backend(), node = %node, "Database open.");
    // Versions survive restarts: numbers, states and a copy of every version, kept under the
    // data dir; the kept versions are loaded before the deploy dir is scanned (below).
    let versions = crate::deploy::VersionStore::open(&config.server.data_dir.join(VERSIONS_DIR))?;
    let registry = Arc::new(Registry::new(Arc::new(versions)));
    let events = crate::events::EventBus::new();
    let router = crate::router::Router::new(
        &registry,
        crate::router::RouterConfig {
            deploy_dir: config.server.deploy_dir.clone(),
            default_events: match config.events.generate_default {
                crate::config::GenerateEvents::None => crate::events::DefaultEvents::None,
                crate::config::GenerateEvents::Ode => crate::events::DefaultEvents::Ode,
                crate::config::GenerateEvents::All => crate::events::DefaultEvents::All,
            },
            events: events.clone(),
            reply_timeout: Duration::from_millis(config.server.mex_timeout_ms),
            store: Some(store.clone()),
            node: node.clone(),
            dehydrate_after: Duration::from_millis(config.dehydration.max_age_ms),
            max_hydrated: config.dehydration.max_count,
            ..crate::router::RouterConfig::default()
        },
    );
    let hc = &config.http_client;
    let client =
        bpelgate_transports::http::HttpClient::new(bpelgate_transports::http::ClientConfig {
            max_connections_per_host: hc.max_connections_per_host as usize,
            max_total_connections: hc.max_total_connections as usize,
            connect_timeout: Duration::from_millis(hc.connect_timeout_ms),
            request_timeout: Duration::from_millis(hc.request_timeout_ms),
            ..bpelgate_transports::http::ClientConfig::default()
        })
        .map_err(|e| Error::Task(format!("cannot create the partner HTTP client: {e}")))?;
    router.set_transport(crate::partners::transport(client, config.limits.xml()));
    router.start_server_schedules(&config.cleanup_schedule);
    let recent = Arc::new(crate::events::RecentEvents::default());
    events.add_listener(recent.clone());
    events.add_listener(Arc::new(crate::events::TracingListener));
    let services = crate::services::Services::new(router.clone(), config.limits.xml());
    let deployer = Arc::new(Deployer::new(
        registry.clone(),
        compiler,
        config.server.deploy_dir.clone(),
        BuildContext::from_config(&config),
    ));
    let app = Arc::new(App {
        health: AtomicU8::new(STARTING),
        registry,
        services,
        management: Management {
            token: config.management.token.clone(),
            deployer: deployer.clone(),
            archive_limits: crate::deploy::archive::ArchiveLimits::from_config(&config.limits),
            events: recent,
            router: Some(router.clone()),
        },
        bind_addr: addr,
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let opts = ServerOptions {
        max_body_bytes: config.limits.max_body_bytes,
        header_read_timeout: Duration::from_millis(config.limits.header_read_timeout_ms),
        ..ServerOptions::default()
    };
    let mut rx = shutdown_rx.clone();
    let serve = tokio::spawn(http::serve(listener, app.clone(), opts, async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }));
    crate::deploy::samples::prepare(&config.server);
    info!(%addr, deploy_dir = %config.server.deploy_dir.display(), "Listening; deploying packages.");
    let d = deployer.clone();
    let report = tokio::task::spawn_blocking(move || {
        d.restore();
        d.scan()
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?;
    // Instances come back once their process versions are deployed again.
    router.recover().await.map_err(|source| Error::Database {
        url: store.backend().to_string(),
        source,
    })?;
    spawn_heartbeat(store, node);
    app.health.store(READY, Ordering::SeqCst);
    info!(%addr, packages = report.deployed.len(), "Server ready.");
    let watcher = tokio::spawn(crate::deploy::watcher::watch(
        deployer,
        Duration::from_millis(config.server.scan_interval_ms),
        shutdown_rx,
    ));
    Ok(Running {
        addr,
        app,
        shutdown,
        serve,
        watcher,
    })
}

/// Records this node as alive every 10 s (cluster bookkeeping; failures are only logged).
fn spawn_heartbeat(store: crate::store::SharedStore, node: String) {
    tokio::spawn(async move {
        loop {
            let now = crate::runtime::clock::Clock::now_ms(&crate::runtime::clock::SystemClock);
            if let Err(e) = store.heartbeat(&node, now).await {
                warn!(error = %e, "Node heartbeat not recorded.");
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    });
}

impl Running {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The deployment registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.app.registry
    }

    /// Stops accepting, lets in-flight requests finish, stops the watcher.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.app.health.store(DRAINING, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        let served = self.serve.await.map_err(|e| Error::Task(e.to_string()))?;
        if let Err(e) = self.watcher.await {
            warn!(error = %e, "The deploy watcher ended abnormally.");
        }
        served?;
        info!("Server stopped.");
        Ok(())
    }
}

/// Runs the server with the BPEL compiler until SIGINT or SIGTERM, then drains.
pub async fn run(config: Config) -> Result<(), Error> {
    let running = start(config, Arc::new(BpelCompiler)).await?;
    shutdown_signal().await;
    info!("Shutdown requested; draining.");
    running.shutdown().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!(error = %e, "Cannot listen for Ctrl-C.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                warn!(error = %e, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

impl Handler for App {
    fn refused(&self, path: &str, status: StatusCode, reason: &str) -> HttpResponse {
        if path.starts_with("/services/") {
            // A SOAP endpoint answers in SOAP, whatever went wrong.
            let body = bpelgate_wsdl::soap::encode_client_fault(
                bpelgate_wsdl::wsdl::SoapVersion::Soap11,
                reason,
            );
            return HttpResponse::new(status, "text/xml; charset=utf-8", body);
        }
        HttpResponse::text(status, reason.to_string())
    }

    async fn handle(&self, req: HttpRequest) -> HttpResponse {
        let path = req.path.clone();
        if path == "/health" {
            return self.health(&req);
        }
        if path == "/metrics" {
            return crate::mgmt::metrics::handle(&self.registry, &req);
        }
        if let Some(rest) = path.strip_prefix("/management/") {
            return self.management.handle(&req, rest).await;
        }
        if let Some(name) = path.strip_prefix("/services/") {
            let name = name.trim_end_matches('/');
            if req.method == Method::POST
                && let Some(ep) = self.registry.endpoint(name)
            {
                return self.services.invoke(&req, &ep).await;
            }
            return self.service(&req, name);
        }
        HttpResponse::text(StatusCode::NOT_FOUND, "not found\n")
    }
}

impl App {
    fn health(&self, req: &HttpRequest) -> HttpResponse {
        if req.method != Method::GET && req.method != Method::HEAD {
            return HttpResponse::text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
        }
        match self.health.load(Ordering::SeqCst) {
            READY => HttpResponse::text(StatusCode::OK, "ok"),
            DRAINING => HttpResponse::text(StatusCode::SERVICE_UNAVAILABLE, "draining"),
            _ => HttpResponse::text(StatusCode::SERVICE_UNAVAILABLE, "starting"),
        }
    }

    fn service(&self, req: &HttpRequest, name: &str) -> HttpResponse {
        let endpoint = self.registry.endpoint(name);
        let wants_wsdl = req
            .query
            .as_deref()
            .is_some_and(|q| q.split('&').any(|p| p.eq_ignore_ascii_case("wsdl")));
        match (&req.method, endpoint) {
            (&Method::GET, Some(ep)) if wants_wsdl => {
                let Some(defs) = ep.wsdl.document_of_service(&ep.service) else {
                    return HttpResponse::text(StatusCode::NOT_FOUND, "no WSDL for this service\n");
                };
                let address = format!("http://{}/services/{name}", self.authority(req));
                HttpResponse::new(
                    StatusCode::OK,
                    "text/xml; charset=utf-8",
                    publish_wsdl(defs, &ep.service, &address),
                )
            }
            (&Method::POST, None) => soap_fault(
                StatusCode::NOT_FOUND,
                "soapenv:Client",
                &format!("no service named '{name}' is deployed"),
            ),
            (_, None) => HttpResponse::text(
                StatusCode::NOT_FOUND,
                format!("no service named '{name}' is deployed\n"),
            ),
            (_, Some(_)) => HttpResponse::text(
                StatusCode::METHOD_NOT_ALLOWED,
                "use POST for SOAP requests or GET ?wsdl\n",
            ),
        }
    }

    /// The Host header when it looks like `host[:port]`, else the bound address.
    fn authority(&self, req: &HttpRequest) -> String {
        req.headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
            })
            .map(str::to_string)
            .unwrap_or_else(|| self.bind_addr.to_string())
    }
}

/// Only used for placeholder and routing faults until the SOAP layer exists; it will move to
/// `transports::soap::fault`.
fn soap_fault(status: StatusCode, code: &str, reason: &str) -> HttpResponse {
    let mut escaped = String::new();
    bpelgate_wsdl::xml::write::escape_text(reason, &mut escaped);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escaped}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    );
    HttpResponse::new(status, "text/xml; charset=utf-8", body)
}
