//! What is deployed: packages, process versions and the service endpoints they activate.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bpelgate_wsdl::Pos;
use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::xml::QName;
use serde::Serialize;

use crate::compiler::{Diagnostic, Severity};

use super::codes;
use super::package::{BuildResult, BuiltPackage, BuiltProcess, DEPLOY_XML};

/// Hands out process versions: one global counter, increasing across every package.
///
/// In memory for now; the store persists it once the database exists.
pub trait VersionSource: Send + Sync {
    /// The next version number (never reused).
    fn next_version(&self) -> u64;
}

/// A [`VersionSource`] that starts at 1 every run.
#[derive(Debug, Default)]
pub struct MemoryVersions(AtomicU64);

impl VersionSource for MemoryVersions {
    fn next_version(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessState {
    /// Creates instances.
    Active,
    /// Creates no new instances; existing ones run to completion.
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
    /// Process versions (empty when failed).
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

struct DeployedProcess {
    built: BuiltProcess,
    version: u64,
    state: ProcessState,
}

struct PackageEntry {
    state: PackageState,
    errors: Vec<String>,
    warnings: Vec<String>,
    processes: Vec<DeployedProcess>,
    wsdl: Option<Arc<WsdlSet>>,
}

impl PackageEntry {
    fn info(&self, name: &str) -> PackageInfo {
        PackageInfo {
            name: name.to_string(),
            state: self.state,
            errors: self.errors.clone(),
            warnings: self.warnings.clone(),
            processes: self
                .processes
                .iter()
                .map(|p| ProcessInfo {
                    qname: p.built.process.name.to_string(),
                    version: p.version,
                    state: p.state,
                })
                .collect(),
        }
    }
}

#[derive(Default)]
struct Inner {
    packages: BTreeMap<String, PackageEntry>,
    /// Service local name → endpoints (more than one only with enableSharing).
    endpoints: HashMap<String, Vec<Arc<Endpoint>>>,
}

/// Told about activations and removals, so the runtime can load and drop process versions
/// (the registry must not depend on the runtime; the runtime registers itself here).
pub trait DeployListener: Send + Sync {
    /// Package `package` was (re)deployed with these process versions.
    fn activated(&self, package: &str, processes: &[ActivatedProcess], wsdl: &Arc<WsdlSet>);
    /// Package `package` was undeployed or replaced (called before `activated` on a redeploy).
    fn removed(&self, package: &str);
    /// A newer version took the endpoints of this process version over: it creates no new
    /// instances; its running ones still receive their correlated messages.
    fn retired(&self, process: &QName, version: u64) {
        let _ = (process, version);
    }
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
}

/// Deployed packages and active endpoints. Cheap to read from request handlers.
pub struct Registry {
    inner: RwLock<Inner>,
    versions: Box<dyn VersionSource>,
    listener: std::sync::OnceLock<Arc<dyn DeployListener>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(Box::new(MemoryVersions::default()))
    }
}

impl Registry {
    /// An empty registry taking versions from `versions`.
    pub fn new(versions: Box<dyn VersionSource>) -> Self {
        Registry {
            inner: RwLock::new(Inner::default()),
            versions,
            listener: std::sync::OnceLock::new(),
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

    /// Registers the runtime's listener (once).
    pub fn set_listener(&self, listener: Arc<dyn DeployListener>) {
        let _ = self.listener.set(listener);
    }

    /// Records the outcome of building package `name` (replacing an earlier deployment of
    /// it) and activates its endpoints when it succeeded.
    pub fn install(&self, name: &str, result: BuildResult) -> PackageInfo {
        let mut errors: Vec<String> = result
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        let warnings: Vec<String> = result
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(ToString::to_string)
            .collect();
        let mut retired = Vec::new();
        let mut inner = self.write();
        // The previous deployment's endpoints go first, so a redeploy does not conflict with itself.
        inner.remove_endpoints(name);
        let entry = match result.package {
            Some(pkg) if errors.is_empty() => match inner.conflicts(name, &pkg) {
                conflicts if conflicts.is_empty() => {
                    self.activate(&mut inner, name, pkg, &mut retired)
                }
                conflicts => {
                    errors = conflicts;
                    failed(errors)
                }
            },
            _ => {
                if errors.is_empty() {
                    errors.push("the package did not build (no diagnostic was given)".into());
                }
                failed(errors)
            }
        };
        let entry = PackageEntry { warnings, ..entry };
        let info = entry.info(name);
        let activated: Vec<ActivatedProcess> = entry
            .processes
            .iter()
            .map(|p| ActivatedProcess {
                built: p.built.clone(),
                version: p.version,
                state: p.state,
            })
            .collect();
        let wsdl = entry.wsdl.clone();
        inner.packages.insert(name.to_string(), entry);
        drop(inner);
        if let Some(l) = self.listener.get() {
            l.removed(name);
            if let Some(wsdl) = wsdl {
                l.activated(name, &activated, &wsdl);
            }
            for (process, version) in &retired {
                l.retired(process, *version);
            }
        }
        info
    }

    fn activate(
        &self,
        inner: &mut Inner,
        name: &str,
        pkg: BuiltPackage,
        retired: &mut Vec<(QName, u64)>,
    ) -> PackageEntry {
        for built in pkg.processes.iter().filter(|p| p.dd.active) {
            let services: Vec<String> = built
                .provides
                .iter()
                .map(|p| p.service.local.clone())
                .collect();
            retired.extend(inner.retire_older_versions(name, &built.process.name, &services));
        }
        let mut processes = Vec::new();
        for built in pkg.processes {
            let version = self.versions.next_version();
            let state = if !built.dd.active {
                ProcessState::Disabled
            } else if built.dd.retired {
                ProcessState::Retired
            } else {
                ProcessState::Active
            };
            if state != ProcessState::Disabled {
                for p in &built.provides {
                    inner
                        .endpoints
                        .entry(p.service.local.clone())
                        .or_default()
                        .push(Arc::new(Endpoint {
                            service: p.service.clone(),
                            port: p.port.clone(),
                            package: name.to_string(),
                            process: built.process.name.clone(),
                            version,
                            partner_link: p.partner_link.clone(),
                            enable_sharing: p.enable_sharing,
                            wsdl: pkg.wsdl.clone(),
                        }));
                }
            }
            processes.push(DeployedProcess {
                built,
                version,
                state,
            });
        }
        PackageEntry {
            state: PackageState::Deployed,
            errors: Vec::new(),
            warnings: Vec::new(),
            processes,
            wsdl: Some(pkg.wsdl),
        }
    }

    /// Removes a package and its endpoints; false when it was not known.
    pub fn undeploy(&self, name: &str) -> bool {
        let mut inner = self.write();
        inner.remove_endpoints(name);
        let known = inner.packages.remove(name).is_some();
        drop(inner);
        if let Some(l) = self.listener.get() {
            l.removed(name);
        }
        known
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

    /// Every deployed process version.
    pub fn processes(&self) -> Vec<ProcessListing> {
        let inner = self.read();
        inner
            .packages
            .iter()
            .flat_map(|(pkg, entry)| {
                entry.processes.iter().map(move |p| ProcessListing {
                    pid: format!("{}-{}", p.built.process.name, p.version),
                    qname: p.built.process.name.to_string(),
                    version: p.version,
                    state: p.state,
                    package: pkg.clone(),
                })
            })
            .collect()
    }

    /// The endpoint serving `/services/{service_local_name}` (the first, when shared).
    pub fn endpoint(&self, service_local_name: &str) -> Option<Arc<Endpoint>> {
        self.read()
            .endpoints
            .get(service_local_name)
            .and_then(|v| v.first().cloned())
    }
}

fn failed(errors: Vec<String>) -> PackageEntry {
    PackageEntry {
        state: PackageState::Failed,
        errors,
        warnings: Vec::new(),
        processes: Vec::new(),
        wsdl: None,
    }
}

impl Inner {
    /// A new version of `process`, deployed by package `by` and providing `services` (local
    /// names): another package's version of the same process that provides one of those
    /// services stops taking new instances (ODE retires it; its running instances finish) and
    /// gives up those endpoints. Same-named processes behind other services are unrelated.
    fn retire_older_versions(
        &mut self,
        by: &str,
        process: &QName,
        services: &[String],
    ) -> Vec<(QName, u64)> {
        let mut versions = Vec::new();
        let mut retired: Vec<String> = Vec::new();
        for list in self.endpoints.values_mut() {
            list.retain(|e| {
                let taken_over = e.package != by
                    && e.process == *process
                    && services.iter().any(|s| *s == e.service.local);
                if taken_over && !retired.contains(&e.package) {
                    retired.push(e.package.clone());
                }
                !taken_over
            });
        }
        self.endpoints.retain(|_, v| !v.is_empty());
        for pkg in retired {
            if let Some(entry) = self.packages.get_mut(&pkg) {
                for p in entry.processes.iter_mut() {
                    if p.built.process.name == *process && p.state == ProcessState::Active {
                        p.state = ProcessState::Retired;
                        versions.push((process.clone(), p.version));
                    }
                }
            }
        }
        versions
    }

    fn remove_endpoints(&mut self, package: &str) {
        self.endpoints.retain(|_, v| {
            v.retain(|e| e.package != package);
            !v.is_empty()
        });
    }

    /// Service URLs use the WSDL service's local name, so two providers of one name clash
    /// unless every one of them declares `<enableSharing/>`.
    fn conflicts(&self, name: &str, pkg: &BuiltPackage) -> Vec<String> {
        let mut out = Vec::new();
        let mut mine: Vec<(&str, &QName, bool)> = Vec::new();
        for bp in pkg.processes.iter().filter(|p| p.dd.active) {
            for p in &bp.provides {
                let local = p.service.local.as_str();
                let pos = bp
                    .dd
                    .provides
                    .iter()
                    .find(|x| x.partner_link == p.partner_link)
                    .map(|x| x.service.pos)
                    .unwrap_or_default();
                // Another package providing it with the same process is an older version of
                // it: the new one takes the endpoint over (see `retire_older_versions`).
                if let Some(existing) = self.endpoints.get(local)
                    && let Some(e) = existing.iter().find(|e| {
                        !(e.enable_sharing && p.enable_sharing) && e.process != bp.process.name
                    })
                {
                    out.push(conflict(
                        pos,
                        format!(
                            "service {} is already provided by package '{}' (process {}); service names must be unique unless every provider declares <enableSharing/>",
                            p.service, e.package, e.process
                        ),
                    ));
                }
                if let Some((_, other, _)) = mine.iter().find(|(l, q, sharing)| {
                    *l == local && *q != &bp.process.name && !(*sharing && p.enable_sharing)
                }) {
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
