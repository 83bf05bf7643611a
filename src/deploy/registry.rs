//! What is deployed: packages, their versions (one global number per deployment, shared by its
//! processes, as ODE's DU version), the state of every process version and the service
//! endpoints the active ones hold.
//!
//! Redeploying a package makes a new version; the previous ones are retired, not removed, so
//! their running instances finish on them. Undeploying removes every version. The
//! [`VersionStore`] keeps numbers, states and a copy of each version across restarts.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bpelgate_wsdl::Pos;
use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::xml::QName;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::compiler::{Diagnostic, Severity};

use super::codes;
use super::descriptor::ProcessDd;
use super::package::{BuildResult, BuiltPackage, BuiltProcess, DEPLOY_XML};
use super::versions::{ProcessRecord, VersionError, VersionRecord, VersionStore};

/// Deployment state of a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageState {
    /// Compiled, validated, endpoints active.
    Deployed,
    /// Something was wrong; nothing of it is active.
    Failed,
}

/// State of a process version (ODE's ProcessState).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessState {
    /// Creates instances.
    Active,
    /// Creates no new instances; existing ones run to completion (their messages still reach
    /// them, through the active version's endpoint or, when no version is active, its own).
    Retired,
    /// Deployed with `<active>false</active>`: no endpoints.
    Disabled,
}

/// A process version as the management API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// `{ns}local`.
    pub qname: String,
    /// Global version number.
    pub version: u64,
    /// Its state.
    pub state: ProcessState,
}

/// A package as the management API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageInfo {
    /// Directory name.
    pub name: String,
    /// Deployed or failed.
    pub state: PackageState,
    /// Errors as `file:line:col: code: message`.
    pub errors: Vec<String>,
    /// Warnings of the last build, same format (the package deployed regardless).
    pub warnings: Vec<String>,
    /// Every loaded version of its processes, newest version first (empty when it never
    /// deployed).
    pub processes: Vec<ProcessInfo>,
}

/// A process version with its package, for `/management/processes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessListing {
    /// ODE-style process id: `{ns}local-version`.
    pub pid: String,
    /// `{ns}local`.
    pub qname: String,
    /// Global version number.
    pub version: u64,
    /// Its state.
    pub state: ProcessState,
    /// The package it came from.
    pub package: String,
}

/// An active service endpoint: `/services/{service local name}`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// WSDL service.
    pub service: QName,
    /// WSDL port.
    pub port: String,
    /// Package directory name.
    pub package: String,
    /// The process providing it.
    pub process: QName,
    /// That process's version.
    pub version: u64,
    /// The myRole partner link.
    pub partner_link: String,
    /// Whether the endpoint may be shared.
    pub enable_sharing: bool,
    /// The package's WSDL documents (for `?wsdl` and message binding).
    pub wsdl: Arc<WsdlSet>,
}

/// Where a deployment's files are, for the version store.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The package directory that was built (copied as the version's kept copy).
    pub dir: &'a Path,
    /// Its [`content_fingerprint`](super::versions::content_fingerprint).
    pub fingerprint: &'a str,
}

/// Why a process version's state could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No loaded process version matches.
    #[error("no process or process version '{0}' is deployed")]
    NotFound(String),
    /// Activating it would take a service another process provides.
    #[error("{0}")]
    Conflict(String),
    /// The version store could not record the change; nothing changed.
    #[error("the new state cannot be recorded: {0}")]
    Store(#[from] VersionError),
}

/// A process version's state change, recorded in the version store and told to the listener.
#[derive(Debug, Clone)]
struct StateChange {
    package: String,
    version: u64,
    process: QName,
    state: ProcessState,
}

struct DeployedProcess {
    built: BuiltProcess,
    state: ProcessState,
    /// The endpoints it provides: held while it is active, a fallback while it is retired.
    endpoints: Vec<Arc<Endpoint>>,
}

/// One version of a package.
struct PackageVersion {
    version: u64,
    /// Its kept copy, when the store keeps copies.
    dir: Option<PathBuf>,
    warnings: Vec<String>,
    processes: Vec<DeployedProcess>,
    wsdl: Arc<WsdlSet>,
}

impl PackageVersion {
    fn new(
        package: &str,
        version: u64,
        dir: Option<PathBuf>,
        warnings: Vec<String>,
        pkg: BuiltPackage,
        state_of: impl Fn(&BuiltProcess) -> ProcessState,
    ) -> Self {
        let processes = pkg
            .processes
            .into_iter()
            .map(|built| {
                let endpoints = built
                    .provides
                    .iter()
                    .map(|p| {
                        Arc::new(Endpoint {
                            service: p.service.clone(),
                            port: p.port.clone(),
                            package: package.to_string(),
                            process: built.process.name.clone(),
                            version,
                            partner_link: p.partner_link.clone(),
                            enable_sharing: p.enable_sharing,
                            wsdl: pkg.wsdl.clone(),
                        })
                    })
                    .collect();
                DeployedProcess {
                    state: state_of(&built),
                    built,
                    endpoints,
                }
            })
            .collect();
        PackageVersion {
            version,
            dir,
            warnings,
            processes,
            wsdl: pkg.wsdl,
        }
    }

    fn activated(&self) -> Vec<ActivatedProcess> {
        self.processes
            .iter()
            .map(|p| ActivatedProcess {
                built: p.built.clone(),
                version: self.version,
                state: p.state,
                dir: self.dir.clone(),
            })
            .collect()
    }
}

struct PackageEntry {
    /// Outcome of the last build of the deploy dir's content.
    state: PackageState,
    errors: Vec<String>,
    warnings: Vec<String>,
    /// Kept versions that could not be loaded at start-up.
    restore_errors: Vec<String>,
    /// Loaded versions, oldest first.
    versions: Vec<PackageVersion>,
}

impl PackageEntry {
    fn new() -> Self {
        PackageEntry {
            state: PackageState::Failed,
            errors: Vec::new(),
            warnings: Vec::new(),
            restore_errors: Vec::new(),
            versions: Vec::new(),
        }
    }

    fn insert(&mut self, v: PackageVersion) {
        self.versions.retain(|x| x.version != v.version);
        let at = self.versions.partition_point(|x| x.version < v.version);
        self.versions.insert(at, v);
    }

    fn info(&self, name: &str) -> PackageInfo {
        PackageInfo {
            name: name.to_string(),
            state: self.state,
            errors: self
                .errors
                .iter()
                .chain(&self.restore_errors)
                .cloned()
                .collect(),
            warnings: self.warnings.clone(),
            processes: self
                .versions
                .iter()
                .rev()
                .flat_map(|v| {
                    v.processes.iter().map(|p| ProcessInfo {
                        qname: p.built.process.name.to_string(),
                        version: v.version,
                        state: p.state,
                    })
                })
                .collect(),
        }
    }
}

#[derive(Default)]
struct Inner {
    packages: BTreeMap<String, PackageEntry>,
    /// Service local name → endpoints held by active process versions (more than one only with
    /// enableSharing), oldest version first.
    endpoints: HashMap<String, Vec<Arc<Endpoint>>>,
    /// Service local name → endpoints of retired versions, newest first: used when no active
    /// version provides the service, so running instances still get their messages.
    fallback: HashMap<String, Vec<Arc<Endpoint>>>,
}

/// Told about loaded, removed and changed process versions, so the runtime can load and drop
/// them (the registry must not depend on the runtime; the runtime registers itself here).
/// Calls come in the order the changes happened.
pub trait DeployListener: Send + Sync {
    /// Process versions were loaded: a new version of package `package`, or a kept version
    /// restored at start-up. The package's other versions stay loaded.
    fn activated(&self, package: &str, processes: &[ActivatedProcess], wsdl: &Arc<WsdlSet>);
    /// Package `package` was undeployed: every version of it is gone.
    fn removed(&self, package: &str);
    /// A loaded process version changed state. `Retired`: it creates no new instances, its
    /// running ones still receive their correlated messages. `Active`: it creates instances
    /// again (the version that was active before gets `Retired`).
    fn state_changed(&self, process: &QName, version: u64, state: ProcessState);
}

/// A process version handed to a [`DeployListener`].
#[derive(Debug, Clone)]
pub struct ActivatedProcess {
    /// The compiled process and its deployment.
    pub built: BuiltProcess,
    /// Its version.
    pub version: u64,
    /// Its state.
    pub state: ProcessState,
    /// The version's kept copy, when there is one: its files (XSL sheets and the like) stay as
    /// they were when the deploy dir's package changes; otherwise the deploy dir's package.
    pub dir: Option<PathBuf>,
}

/// Deployed packages and active endpoints. Cheap to read from request handlers.
pub struct Registry {
    inner: RwLock<Inner>,
    store: Arc<VersionStore>,
    /// Serialises changes with their store writes and listener calls, so the listener sees
    /// them in order; readers only take `inner`.
    ops: Mutex<()>,
    listener: OnceLock<Arc<dyn DeployListener>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Default for Registry {
    /// A registry whose versions live in memory only.
    fn default() -> Self {
        Registry::new(Arc::new(VersionStore::in_memory()))
    }
}

fn initial_state(dd: &ProcessDd) -> ProcessState {
    if !dd.active {
        ProcessState::Disabled
    } else if dd.retired {
        ProcessState::Retired
    } else {
        ProcessState::Active
    }
}

fn split_diagnostics(diagnostics: &[Diagnostic]) -> (Vec<String>, Vec<String>) {
    let of = |s: Severity| {
        diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    (of(Severity::Error), of(Severity::Warning))
}

fn store_error(e: &VersionError) -> String {
    Diagnostic::error(
        codes::VERSION_STORE,
        DEPLOY_XML,
        Pos::default(),
        format!("the package version cannot be recorded: {e}"),
    )
    .to_string()
}

impl Registry {
    /// An empty registry recording versions in `store`.
    pub fn new(store: Arc<VersionStore>) -> Self {
        Registry {
            inner: RwLock::new(Inner::default()),
            store,
            ops: Mutex::new(()),
            listener: OnceLock::new(),
        }
    }

    // A panic while holding the lock cannot leave `Inner` half-updated in a way that matters
    // more than refusing all traffic, so poisoning is ignored.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn ops(&self) -> MutexGuard<'_, ()> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the runtime's listener (once).
    pub fn set_listener(&self, listener: Arc<dyn DeployListener>) {
        let _ = self.listener.set(listener);
    }

    /// The version store.
    pub fn versions(&self) -> &Arc<VersionStore> {
        &self.store
    }

    /// Deploys `result` as a new version of package `name`, with no kept copy (see
    /// [`deploy`](Self::deploy)).
    pub fn install(&self, name: &str, result: BuildResult) -> PackageInfo {
        self.deploy(name, result, None)
    }

    /// Records the outcome of building package `name`. A package that built becomes a new
    /// version: the package's previous versions are retired (not removed), and other packages'
    /// active versions of its processes give up the services it provides. The content of the
    /// newest recorded version (same fingerprint) gets that version's number again instead,
    /// with its recorded states. A failed build changes no version: the ones loaded keep
    /// serving.
    pub fn deploy(
        &self,
        name: &str,
        result: BuildResult,
        source: Option<Source<'_>>,
    ) -> PackageInfo {
        let _ops = self.ops();
        let (mut errors, warnings) = split_diagnostics(&result.diagnostics);
        let pkg = match result.package {
            Some(pkg) if errors.is_empty() => pkg,
            _ => {
                if errors.is_empty() {
                    errors.push("the package did not build (no diagnostic was given)".into());
                }
                return self.fail(name, errors, warnings);
            }
        };
        let conflicts = self.read().conflicts(name, &pkg);
        if !conflicts.is_empty() {
            return self.fail(name, conflicts, warnings);
        }
        let fingerprint = source.map_or("", |s| s.fingerprint);
        let recorded = self
            .store
            .latest(name)
            .filter(|r| !fingerprint.is_empty() && r.fingerprint == fingerprint)
            .filter(|r| !self.read().is_loaded(name, r.version));
        let (version, persisted) = match recorded {
            Some(r) => {
                if let Some(src) = source
                    && let Err(e) = self.store.ensure_copy(name, r.version, src.dir)
                {
                    warn!(package = %name, version = r.version, error = %e, "Cannot restore the kept copy of a package version.");
                }
                (r.version, Some(r.processes))
            }
            None => {
                let records = pkg
                    .processes
                    .iter()
                    .map(|b| ProcessRecord {
                        qname: b.process.name.to_string(),
                        state: initial_state(&b.dd),
                    })
                    .collect();
                match self
                    .store
                    .create(name, fingerprint, source.map(|s| s.dir), records)
                {
                    Ok(v) => (v, None),
                    Err(e) => {
                        warn!(package = %name, error = %e, "Cannot record a new package version.");
                        return self.fail(name, vec![store_error(&e)], warnings);
                    }
                }
            }
        };
        let state_of = |b: &BuiltProcess| match &persisted {
            Some(recs) => recorded_state(recs, &b.process.name),
            None => initial_state(&b.dd),
        };
        let dir = self.store.copy_dir(name, version);
        let new = PackageVersion::new(name, version, dir, warnings.clone(), pkg, state_of);
        let mut inner = self.write();
        let mut changes = if persisted.is_none() {
            inner.retire_package_changes(name)
        } else {
            Vec::new()
        };
        for p in new
            .processes
            .iter()
            .filter(|p| p.state == ProcessState::Active)
        {
            changes.extend(inner.take_over_changes(name, version, &p.built));
        }
        dedup(&mut changes);
        inner.apply(&changes);
        let activated = new.activated();
        let wsdl = new.wsdl.clone();
        let entry = inner
            .packages
            .entry(name.to_string())
            .or_insert_with(PackageEntry::new);
        entry.state = PackageState::Deployed;
        entry.errors.clear();
        entry.warnings = warnings;
        entry.insert(new);
        let info = entry.info(name);
        inner.rebuild_endpoints();
        drop(inner);
        self.persist(&changes);
        if let Some(l) = self.listener.get() {
            l.activated(name, &activated, &wsdl);
        }
        self.notify(&changes);
        info
    }

    fn fail(&self, name: &str, errors: Vec<String>, warnings: Vec<String>) -> PackageInfo {
        let mut inner = self.write();
        let entry = inner
            .packages
            .entry(name.to_string())
            .or_insert_with(PackageEntry::new);
        entry.state = PackageState::Failed;
        entry.errors = errors;
        entry.warnings = warnings;
        entry.info(name)
    }

    /// When `fingerprint` is that of the newest recorded version of `name` and that version is
    /// loaded, the package is deployed as it is (a touched or re-uploaded package with the same
    /// content): marks it deployed again and returns it. None when it must be built.
    pub fn unchanged(&self, name: &str, fingerprint: &str) -> Option<PackageInfo> {
        if fingerprint.is_empty() {
            return None;
        }
        let _ops = self.ops();
        let latest = self.store.latest(name)?;
        if latest.fingerprint != fingerprint {
            return None;
        }
        let mut inner = self.write();
        let entry = inner.packages.get_mut(name)?;
        let warnings = entry
            .versions
            .iter()
            .find(|v| v.version == latest.version)?
            .warnings
            .clone();
        entry.state = PackageState::Deployed;
        entry.errors.clear();
        entry.warnings = warnings;
        Some(entry.info(name))
    }

    /// Loads recorded version `record` of package `name` from its kept copy (at start-up):
    /// `result` is the copy's build, or why there is none. Processes take their recorded
    /// states; one whose services another process holds now is retired instead. A version
    /// that cannot be loaded is reported in the package's errors.
    pub fn restore(
        &self,
        name: &str,
        record: &VersionRecord,
        result: Result<BuildResult, String>,
    ) -> PackageInfo {
        let _ops = self.ops();
        let version = record.version;
        let (mut problems, warnings) = match &result {
            Ok(r) => split_diagnostics(&r.diagnostics),
            Err(msg) => (vec![msg.clone()], Vec::new()),
        };
        let pkg = match result {
            Ok(BuildResult {
                package: Some(pkg), ..
            }) if problems.is_empty() => pkg,
            _ => {
                if problems.is_empty() {
                    problems.push("the package did not build (no diagnostic was given)".into());
                }
                warn!(package = %name, version, error = %problems[0], "A kept package version cannot be loaded; its instances cannot continue.");
                let mut inner = self.write();
                let entry = inner
                    .packages
                    .entry(name.to_string())
                    .or_insert_with(PackageEntry::new);
                entry.restore_errors.extend(
                    problems
                        .iter()
                        .map(|e| format!("kept version {version}: {e}")),
                );
                return entry.info(name);
            }
        };
        let mut new = PackageVersion::new(
            name,
            version,
            self.store.copy_dir(name, version),
            warnings.clone(),
            pkg,
            |b| recorded_state(&record.processes, &b.process.name),
        );
        let mut inner = self.write();
        let mut changes = Vec::new();
        for p in new
            .processes
            .iter_mut()
            .filter(|p| p.state == ProcessState::Active)
        {
            let conflicts = inner.holder_conflicts(&p.built, None);
            if let Some(first) = conflicts.first() {
                warn!(package = %name, version, process = %p.built.process.name, conflict = %first, "A kept active process version is retired: its service is taken.");
                p.state = ProcessState::Retired;
                changes.push(StateChange {
                    package: name.to_string(),
                    version,
                    process: p.built.process.name.clone(),
                    state: ProcessState::Retired,
                });
            }
        }
        for p in new
            .processes
            .iter()
            .filter(|p| p.state == ProcessState::Active)
        {
            changes.extend(inner.take_over_changes(name, version, &p.built));
        }
        dedup(&mut changes);
        inner.apply(&changes);
        let activated = new.activated();
        let wsdl = new.wsdl.clone();
        let entry = inner
            .packages
            .entry(name.to_string())
            .or_insert_with(PackageEntry::new);
        entry.state = PackageState::Deployed;
        entry.warnings = warnings;
        entry.insert(new);
        let info = entry.info(name);
        inner.rebuild_endpoints();
        drop(inner);
        self.persist(&changes);
        if let Some(l) = self.listener.get() {
            l.activated(name, &activated, &wsdl);
        }
        self.notify(&changes);
        info
    }

    /// Removes every version of a package, their endpoints, records and kept copies; false
    /// when it was not known.
    pub fn undeploy(&self, name: &str) -> bool {
        let _ops = self.ops();
        let mut inner = self.write();
        let known = inner.packages.remove(name).is_some();
        inner.rebuild_endpoints();
        drop(inner);
        let recorded = !self.store.records(name).is_empty();
        if let Err(e) = self.store.remove_package(name) {
            warn!(package = %name, error = %e, "Cannot remove the package's version records.");
        }
        if let Some(l) = self.listener.get() {
            l.removed(name);
        }
        known || recorded
    }

    /// Sets the state of a process version (`POST /management/processes/{target}/...`).
    /// `target` is a pid (`{ns}local-version`) or a process QName (`{ns}local`): retiring a
    /// QName retires its active versions, activating one activates its newest version. An
    /// activated version takes the endpoints of its services over from the other versions of
    /// the process (they are retired). Returns every version of the process afterwards.
    pub fn set_process_state(
        &self,
        target: &str,
        state: ProcessState,
    ) -> Result<Vec<ProcessListing>, StateError> {
        let _ops = self.ops();
        let inner = self.read();
        let (qname, version) = inner
            .resolve(target)
            .ok_or_else(|| StateError::NotFound(target.to_string()))?;
        let versions: Vec<(String, u64, ProcessState)> = inner
            .versions_of(&qname)
            .into_iter()
            .filter(|(_, v, s)| match (version, state) {
                (Some(want), _) => *v == want,
                (None, ProcessState::Active) => true,
                (None, _) => *s == ProcessState::Active,
            })
            .collect();
        let versions = match (version, state) {
            // The newest version of the process.
            (None, ProcessState::Active) => versions
                .into_iter()
                .max_by_key(|x| x.1)
                .into_iter()
                .collect(),
            _ => versions,
        };
        let mut changes = Vec::new();
        for (package, v, current) in versions {
            if current == state {
                continue;
            }
            if state == ProcessState::Active {
                let Some(built) = inner.built(&package, v, &qname) else {
                    continue;
                };
                let conflicts = inner.holder_conflicts(built, None);
                if !conflicts.is_empty() {
                    return Err(StateError::Conflict(conflicts.join("; ")));
                }
                changes.extend(inner.take_over_changes(&package, v, built));
            }
            changes.push(StateChange {
                package,
                version: v,
                process: qname.clone(),
                state,
            });
        }
        drop(inner);
        dedup(&mut changes);
        if !changes.is_empty() {
            self.store.set_states(&records_of(&changes))?;
            let mut inner = self.write();
            inner.apply(&changes);
            inner.rebuild_endpoints();
            drop(inner);
            self.notify(&changes);
        }
        let name = qname.to_string();
        Ok(self
            .processes()
            .into_iter()
            .filter(|p| p.qname == name)
            .collect())
    }

    fn persist(&self, changes: &[StateChange]) {
        if let Err(e) = self.store.set_states(&records_of(changes)) {
            warn!(error = %e, "Cannot record process version states; they revert at the next start.");
        }
    }

    fn notify(&self, changes: &[StateChange]) {
        if let Some(l) = self.listener.get() {
            for c in changes {
                l.state_changed(&c.process, c.version, c.state);
            }
        }
    }

    /// One package.
    pub fn package(&self, name: &str) -> Option<PackageInfo> {
        self.read().packages.get(name).map(|p| p.info(name))
    }

    /// Every package, by name.
    pub fn packages(&self) -> Vec<PackageInfo> {
        self.read()
            .packages
            .iter()
            .map(|(n, p)| p.info(n))
            .collect()
    }

    /// Every loaded process version, by package, newest version first.
    pub fn processes(&self) -> Vec<ProcessListing> {
        let inner = self.read();
        inner
            .packages
            .iter()
            .flat_map(|(pkg, entry)| {
                entry.versions.iter().rev().flat_map(move |v| {
                    v.processes.iter().map(move |p| ProcessListing {
                        pid: format!("{}-{}", p.built.process.name, v.version),
                        qname: p.built.process.name.to_string(),
                        version: v.version,
                        state: p.state,
                        package: pkg.clone(),
                    })
                })
            })
            .collect()
    }

    /// The endpoint serving `/services/{service_local_name}`: the active version's (the first,
    /// when shared), else the newest retired version's, so running instances of a process
    /// with no active version still get their messages.
    pub fn endpoint(&self, service_local_name: &str) -> Option<Arc<Endpoint>> {
        let inner = self.read();
        inner
            .endpoints
            .get(service_local_name)
            .or_else(|| inner.fallback.get(service_local_name))
            .and_then(|v| v.first().cloned())
    }
}

fn recorded_state(records: &[ProcessRecord], process: &QName) -> ProcessState {
    let name = process.to_string();
    records
        .iter()
        .find(|r| r.qname == name)
        .map_or(ProcessState::Retired, |r| r.state)
}

/// Keeps the first of several changes of one process version.
fn dedup(changes: &mut Vec<StateChange>) {
    let mut seen = std::collections::HashSet::new();
    changes.retain(|c| seen.insert((c.package.clone(), c.version, c.process.clone())));
}

fn records_of(changes: &[StateChange]) -> Vec<(String, u64, String, ProcessState)> {
    changes
        .iter()
        .map(|c| (c.package.clone(), c.version, c.process.to_string(), c.state))
        .collect()
}

impl Inner {
    fn is_loaded(&self, package: &str, version: u64) -> bool {
        self.packages
            .get(package)
            .is_some_and(|e| e.versions.iter().any(|v| v.version == version))
    }

    fn built(&self, package: &str, version: u64, process: &QName) -> Option<&BuiltProcess> {
        self.packages
            .get(package)?
            .versions
            .iter()
            .find(|v| v.version == version)?
            .processes
            .iter()
            .find(|p| p.built.process.name == *process)
            .map(|p| &p.built)
    }

    /// `(package, version, state)` of every loaded version of `process`.
    fn versions_of(&self, process: &QName) -> Vec<(String, u64, ProcessState)> {
        let mut out = Vec::new();
        for (name, entry) in &self.packages {
            for v in &entry.versions {
                for p in &v.processes {
                    if p.built.process.name == *process {
                        out.push((name.clone(), v.version, p.state));
                    }
                }
            }
        }
        out
    }

    /// A management target: a pid `{ns}local-version` of a loaded version, else a QName of a
    /// loaded process.
    fn resolve(&self, target: &str) -> Option<(QName, Option<u64>)> {
        let after_ns = target.rfind('}').map_or(0, |i| i + 1);
        if let Some((base, v)) = target.rsplit_once('-')
            && base.len() >= after_ns
            && let Ok(version) = v.parse::<u64>()
        {
            let qname = QName::from_clark(base);
            if self
                .versions_of(&qname)
                .iter()
                .any(|(_, x, _)| *x == version)
            {
                return Some((qname, Some(version)));
            }
        }
        let qname = QName::from_clark(target);
        (!self.versions_of(&qname).is_empty()).then_some((qname, None))
    }

    /// Every active process of `package`'s loaded versions becomes retired.
    fn retire_package_changes(&self, package: &str) -> Vec<StateChange> {
        let mut out = Vec::new();
        if let Some(entry) = self.packages.get(package) {
            for v in &entry.versions {
                for p in v
                    .processes
                    .iter()
                    .filter(|p| p.state == ProcessState::Active)
                {
                    out.push(StateChange {
                        package: package.to_string(),
                        version: v.version,
                        process: p.built.process.name.clone(),
                        state: ProcessState::Retired,
                    });
                }
            }
        }
        out
    }

    /// Version `version` of package `package` activates `process`: every other active version
    /// of the same process that provides one of its services stops taking new instances (ODE
    /// retires it; its running instances finish) and gives up its endpoints. Same-named
    /// processes behind other services are unrelated.
    fn take_over_changes(
        &self,
        package: &str,
        version: u64,
        process: &BuiltProcess,
    ) -> Vec<StateChange> {
        let mut out = Vec::new();
        let services: Vec<&str> = process
            .provides
            .iter()
            .map(|p| p.service.local.as_str())
            .collect();
        for (name, entry) in &self.packages {
            for v in &entry.versions {
                if name == package && v.version == version {
                    continue;
                }
                for p in &v.processes {
                    let taken = p.state == ProcessState::Active
                        && p.built.process.name == process.process.name
                        && p.built
                            .provides
                            .iter()
                            .any(|e| services.contains(&e.service.local.as_str()));
                    if taken {
                        out.push(StateChange {
                            package: name.clone(),
                            version: v.version,
                            process: p.built.process.name.clone(),
                            state: ProcessState::Retired,
                        });
                    }
                }
            }
        }
        out
    }

    fn apply(&mut self, changes: &[StateChange]) {
        for c in changes {
            let p = self
                .packages
                .get_mut(&c.package)
                .and_then(|e| e.versions.iter_mut().find(|v| v.version == c.version))
                .and_then(|v| {
                    v.processes
                        .iter_mut()
                        .find(|p| p.built.process.name == c.process)
                });
            if let Some(p) = p {
                p.state = c.state;
            }
        }
    }

    /// Derives the endpoint maps from the process states.
    fn rebuild_endpoints(&mut self) {
        let mut held: HashMap<String, Vec<Arc<Endpoint>>> = HashMap::new();
        let mut fallback: HashMap<String, Vec<Arc<Endpoint>>> = HashMap::new();
        for entry in self.packages.values() {
            for v in &entry.versions {
                for p in &v.processes {
                    let map = match p.state {
                        ProcessState::Active => &mut held,
                        ProcessState::Retired => &mut fallback,
                        ProcessState::Disabled => continue,
                    };
                    for e in &p.endpoints {
                        map.entry(e.service.local.clone())
                            .or_default()
                            .push(e.clone());
                    }
                }
            }
        }
        for list in held.values_mut() {
            list.sort_by_key(|e| e.version);
        }
        for list in fallback.values_mut() {
            list.sort_by_key(|e| std::cmp::Reverse(e.version));
        }
        self.endpoints = held;
        self.fallback = fallback;
    }

    /// Active holders of `process`'s services that are other processes, unless every provider
    /// shares the service; holders in package `ignore` do not count.
    fn holder_conflicts(&self, process: &BuiltProcess, ignore: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for p in &process.provides {
            let pos = process
                .dd
                .provides
                .iter()
                .find(|x| x.partner_link == p.partner_link)
                .map(|x| x.service.pos)
                .unwrap_or_default();
            let clash = self.endpoints.get(&p.service.local).and_then(|list| {
                list.iter().find(|e| {
                    Some(e.package.as_str()) != ignore
                        && !(e.enable_sharing && p.enable_sharing)
                        && e.process != process.process.name
                })
            });
            if let Some(e) = clash {
                out.push(conflict(
                    pos,
                    format!(
                        "service {} is already provided by package '{}' (process {}); service names must be unique unless every provider declares <enableSharing/>",
                        p.service, e.package, e.process
                    ),
                ));
            }
        }
        out
    }

    /// Service URLs use the WSDL service's local name, so two providers of one name clash
    /// unless every one of them declares `<enableSharing/>`. The package's own earlier
    /// versions do not count: deploying retires them. Another package's version of the same
    /// process is taken over, not a clash (see `take_over_changes`).
    fn conflicts(&self, name: &str, pkg: &BuiltPackage) -> Vec<String> {
        let mut out = Vec::new();
        let mut mine: Vec<(&str, &QName, bool)> = Vec::new();
        for bp in pkg
            .processes
            .iter()
            .filter(|p| initial_state(&p.dd) == ProcessState::Active)
        {
            out.extend(self.holder_conflicts(bp, Some(name)));
            for p in &bp.provides {
                let local = p.service.local.as_str();
                if let Some((_, other, _)) = mine.iter().find(|(l, q, sharing)| {
                    *l == local && *q != &bp.process.name && !(*sharing && p.enable_sharing)
                }) {
                    let pos = bp
                        .dd
                        .provides
                        .iter()
                        .find(|x| x.partner_link == p.partner_link)
                        .map(|x| x.service.pos)
                        .unwrap_or_default();
                    out.push(conflict(
                        pos,
                        format!(
                            "service {} is provided by both process {other} and process {} of package '{name}'",
                            p.service, bp.process.name
                        ),
                    ));
                }
                mine.push((local, &bp.process.name, p.enable_sharing));
            }
        }
        out
    }
}

fn conflict(pos: Pos, msg: String) -> String {
    Diagnostic::error(codes::SERVICE_CONFLICT, DEPLOY_XML, pos, msg).to_string()
}
