//! Server configuration: one struct per section of `conf/bpelgate.toml`.
//!
//! Layers, later ones winning: built-in defaults < the `--config` TOML file < environment
//! variables `BPELGATE__SECTION__KEY` < command-line flags. See [`load`].

mod error;
mod load;
mod validate;

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use error::Error;
pub use load::{ENV_PREFIX, Overrides, load, load_str};

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Listener, directories and timeouts.
    pub server: ServerSection,
    /// The management API.
    pub management: ManagementSection,
    /// Where instances are kept.
    pub database: DatabaseSection,
    /// `[dehydration]`.
    pub dehydration: DehydrationSection,
    /// The pooled client used to call partner services.
    pub http_client: HttpClientSection,
    /// Caps on untrusted input.
    pub limits: LimitsSection,
    /// Execution events.
    pub events: EventsSection,
    /// The BPEL compiler.
    pub compiler: CompilerSection,
    /// `[[cleanup-schedule]]`: server-wide cleanups.
    pub cleanup_schedule: Vec<CleanupSchedule>,
}

/// `[[cleanup-schedule]]`: a server-wide cleanup of ended instances (WSO2 BPS bps.xml
/// `<Schedules>`), for every process whose deploy.xml has no `<schedule>` of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CleanupSchedule {
    /// Quartz cron expression, UTC (`0 0 3 * * ?`: every day at 03:00).
    pub when: String,
    /// ODE instance filters; each selects instances on its own (`status=completed`).
    pub filters: Vec<String>,
    /// What goes: `instance` (the row, its jobs and events), `events`, or `all`; `variables`,
    /// `messages` and `correlations` are accepted (ended instances keep none of them).
    #[serde(default = "all_categories")]
    pub categories: Vec<String>,
}

fn all_categories() -> Vec<String> {
    vec!["all".to_string()]
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServerSection {
    /// HTTP port before the offset is added (9763 like WSO2 BPS; 0 = any free port).
    pub http_port: u16,
    /// Address the listener binds.
    pub bind: IpAddr,
    /// Added to every port, like Carbon's `<Offset>`.
    pub port_offset: u16,
    /// Hot deployment directory; every sub-directory is a package. Left unset or empty, it is
    /// `<data-dir>/deploy` (resolved by [`load`]) and the sample packages are copied into it.
    pub deploy_dir: PathBuf,
    /// Directory for the embedded database and other state.
    pub data_dir: PathBuf,
    /// Directory that `conf:/name.epr` references resolve against.
    pub conf_dir: PathBuf,
    /// How often the deploy directory is scanned, in milliseconds.
    pub scan_interval_ms: u64,
    /// How long an inbound request waits for a two-way process reply, in milliseconds.
    pub mex_timeout_ms: u64,
    /// Sample packages copied into the default deploy dir at start (skipped when missing).
    pub samples_dir: PathBuf,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            http_port: 9763,
            bind: IpAddr::from([127, 0, 0, 1]),
            port_offset: 0,
            deploy_dir: PathBuf::from("data").join(DEFAULT_DEPLOY_SUBDIR),
            data_dir: PathBuf::from("data"),
            conf_dir: PathBuf::from("conf"),
            scan_interval_ms: 1000,
            mex_timeout_ms: 120_000,
            samples_dir: PathBuf::from("examples"),
        }
    }
}

impl ServerSection {
    /// The port the listener binds: `http-port + port-offset` (0 stays 0: any free port).
    pub fn effective_http_port(&self) -> Option<u16> {
        if self.http_port == 0 {
            return Some(0);
        }
        self.http_port.checked_add(self.port_offset)
    }

    /// The default deploy dir for this data dir: `<data-dir>/deploy`.
    pub fn default_deploy_dir(&self) -> PathBuf {
        self.data_dir.join(DEFAULT_DEPLOY_SUBDIR)
    }

    /// Whether the deploy dir is the default one (where the sample packages are copied).
    pub fn deploy_dir_is_default(&self) -> bool {
        self.deploy_dir == self.default_deploy_dir()
    }
}

/// The deploy dir's name under the data dir when `deploy-dir` is not set.
pub const DEFAULT_DEPLOY_SUBDIR: &str = "deploy";

/// `[management]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ManagementSection {
    /// Bearer token required by `/management`; with none, only loopback peers are served.
    pub token: Option<String>,
}

/// `[database]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatabaseSection {
    /// `sqlite:PATH` or `postgres://...`; none = an SQLite file under the data dir.
    pub url: Option<String>,
    /// Most connections in the pool (PostgreSQL; SQLite readers).
    pub pool_size: u32,
    /// Timeout to establish a connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Timeout of one statement (PostgreSQL `statement_timeout`; SQLite busy timeout), in ms.
    pub statement_timeout_ms: u64,
    /// SQLite `synchronous` pragma: `full` (default: durable at every commit) or `normal`.
    pub sqlite_synchronous: String,
    /// Most step writes grouped into one commit.
    pub max_group: usize,
    /// Stable id of this node (jobs are owned by node id). Empty: generated once and kept in
    /// `<data-dir>/node-id`.
    pub node_id: String,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        DatabaseSection {
            url: None,
            pool_size: 8,
            connect_timeout_ms: 5_000,
            statement_timeout_ms: 30_000,
            sqlite_synchronous: "full".into(),
            max_group: 512,
            node_id: String::new(),
        }
    }
}

/// `[dehydration]`: instances idle in memory are dropped and reloaded on their next event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DehydrationSection {
    /// An instance idle longer than this is dropped from memory, in milliseconds.
    pub max_age_ms: u64,
    /// Most instances kept in memory; the least recently used go first.
    pub max_count: usize,
}

impl Default for DehydrationSection {
    fn default() -> Self {
        DehydrationSection {
            max_age_ms: 1_200_000,
            max_count: 1_000,
        }
    }
}

/// `[http-client]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpClientSection {
    /// Most pooled connections to one partner host.
    pub max_connections_per_host: u32,
    /// Most pooled connections overall.
    pub max_total_connections: u32,
    /// Timeout to establish a partner connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Timeout for a whole partner request, in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for HttpClientSection {
    fn default() -> Self {
        HttpClientSection {
            max_connections_per_host: 20,
            max_total_connections: 200,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 120_000,
        }
    }
}

/// `[limits]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct LimitsSection {
    /// Largest accepted HTTP request body, in bytes.
    pub max_body_bytes: usize,
    /// Deepest accepted XML element nesting.
    pub max_xml_depth: usize,
    /// How long a client may take to send a request head, in milliseconds.
    pub header_read_timeout_ms: u64,
    /// Most bytes an uploaded package archive may unpack to.
    pub max_package_bytes: u64,
    /// Most entries (files and directories) an uploaded package archive may hold.
    pub max_package_files: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_body_bytes: 16 * 1024 * 1024,
            max_xml_depth: 256,
            header_read_timeout_ms: 30_000,
            max_package_bytes: 64 * 1024 * 1024,
            max_package_files: 10_000,
        }
    }
}

impl LimitsSection {
    /// The XML parser limits these settings imply.
    pub fn xml(&self) -> bpelgate_wsdl::xml::Limits {
        bpelgate_wsdl::xml::Limits {
            max_bytes: self.max_body_bytes,
            max_depth: self.max_xml_depth,
            ..bpelgate_wsdl::xml::Limits::default()
        }
    }
}

/// Which execution events are generated for processes whose deploy.xml has no
/// `<process-events>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GenerateEvents {
    /// No events (WSO2 BPS behaviour).
    #[default]
    None,
    /// Every category except scope handling (Apache ODE behaviour).
    Ode,
    /// Every category.
    All,
}

/// `[events]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct EventsSection {
    /// Events generated when deploy.xml says nothing: `none`, `ode` or `all`.
    pub generate_default: GenerateEvents,
}

/// `[compiler]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct CompilerSection {
    /// Reject processes whose expressions have XPath syntax errors or undeclared namespace
    /// prefixes. Off by default: like Apache ODE, such a process deploys with a warning and the
    /// expression faults (`bpel:subLanguageExecutionFault`) when it is evaluated.
    pub strict_expressions: bool,
    /// Apache ODE compatibility: turn the WS-BPEL static analysis rules ODE does not enforce
    /// (SA00001, SA00005, SA00033, SA00043, SA00046, SA00056, SA00057) into warnings and run such
    /// processes the way ODE does (docs/decisions/002-static-analysis-spec-first.md). Off by
    /// default: the specification first.
    pub ode_compat: bool,
}
