//! Building a package: read deploy.xml, compile, and check deploy.xml against what compiled.
//!
//! Blocking and pure apart from reading files: the registry decides what becomes active.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use bpelgate_wsdl::Pos;
use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::xml::{Limits, QName};

use crate::compiler::{self, Diagnostic, PackageOutput, Severity};
use crate::config::Config;
use crate::model::{PartnerLink, Process};

use super::codes;
use super::descriptor::{self, Descriptor, FailureHandling, ProcessDd, ServiceRef};
use super::epr::{self, EndpointRef};

/// The file name of the deployment descriptor at a package's root.
pub const DEPLOY_XML: &str = "deploy.xml";

/// Compiles a package directory. The real implementation is [`BpelCompiler`]; tests use fakes.
pub trait PackageCompiler: Send + Sync + 'static {
    /// Compiles every BPEL process of `dir` with the default options.
    fn compile(&self, dir: &Path) -> PackageOutput;

    /// Compiles every BPEL process of `dir` with `options`; compilers that have no options
    /// ignore them.
    fn compile_with(&self, dir: &Path, options: &compiler::Options) -> PackageOutput {
        let _ = options;
        self.compile(dir)
    }
}

/// The BPEL compiler of this crate.
#[derive(Debug, Default, Clone, Copy)]
pub struct BpelCompiler;

impl PackageCompiler for BpelCompiler {
    fn compile(&self, dir: &Path) -> PackageOutput {
        compiler::compile_package(dir)
    }

    fn compile_with(&self, dir: &Path, options: &compiler::Options) -> PackageOutput {
        compiler::compile_package_with(dir, options)
    }
}

/// What building needs from the server configuration.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The server's conf dir (`conf:/name.epr`).
    pub conf_dir: std::path::PathBuf,
    /// XML limits for deploy.xml and EPR files.
    pub limits: Limits,
    /// Compiler options (`[compiler]`).
    pub compiler: compiler::Options,
}

impl BuildContext {
    /// The context the server configuration implies.
    pub fn from_config(config: &Config) -> Self {
        BuildContext {
            conf_dir: config.server.conf_dir.clone(),
            limits: config.limits.xml(),
            compiler: compiler::Options {
                strict_expressions: config.compiler.strict_expressions,
                ode_compat: config.compiler.ode_compat,
            },
        }
    }
}

/// Whether deploy.xml must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorMode {
    /// Deployment: a package without deploy.xml is an error.
    Required,
    /// `bpelgate check`: validate deploy.xml only when it exists.
    IfPresent,
}

/// A package that compiled and whose deploy.xml matches it.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    /// deploy.xml.
    pub descriptor: Descriptor,
    /// Every deploy.xml process, with its compiled form and endpoints.
    pub processes: Vec<BuiltProcess>,
    /// All WSDL documents of the package.
    pub wsdl: Arc<WsdlSet>,
}

/// One process to deploy.
#[derive(Debug, Clone)]
pub struct BuiltProcess {
    /// Its deploy.xml entry.
    pub dd: ProcessDd,
    /// The compiled process.
    pub process: Process,
    /// myRole endpoints to expose.
    pub provides: Vec<ProvidedEndpoint>,
    /// partnerRole endpoints.
    pub invokes: Vec<PartnerEndpoint>,
}

/// A service endpoint a process provides.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvidedEndpoint {
    /// The partner link (myRole).
    pub partner_link: String,
    /// WSDL service.
    pub service: QName,
    /// WSDL port.
    pub port: String,
    /// `<enableSharing/>`.
    pub enable_sharing: bool,
    /// Per-endpoint `mex-timeout` override.
    pub mex_timeout_ms: Option<u64>,
}

/// A partner a process calls.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerEndpoint {
    /// The partner link (partnerRole).
    pub partner_link: String,
    /// WSDL service and port, when deploy.xml names them.
    pub service: Option<(QName, String)>,
    /// The address to call: the UEP EPR's, else the WSDL port's.
    pub address: Option<String>,
    /// The UEP endpoint reference, when configured.
    pub epr: Option<EndpointRef>,
    /// `usePeer2Peer`.
    pub use_peer2peer: bool,
    /// Failure handling override.
    pub failure_handling: Option<FailureHandling>,
}

/// The outcome of [`build`]: every diagnostic (warnings included) and the package when there
/// is no error.
#[derive(Debug)]
pub struct BuildResult {
    /// Compiler and deployment diagnostics, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Present when no diagnostic is an error and deploy.xml was present.
    pub package: Option<BuiltPackage>,
}

impl BuildResult {
    /// Error-level diagnostics.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

/// Reads deploy.xml, compiles the package and checks deploy.xml against the compiled
/// processes and the package's WSDL.
pub fn build(
    dir: &Path,
    compiler: &dyn PackageCompiler,
    ctx: &BuildContext,
    mode: DescriptorMode,
) -> BuildResult {
    let mut diagnostics = Vec::new();
    let dd_path = dir.join(DEPLOY_XML);
    let descriptor = match std::fs::read(&dd_path) {
        Ok(bytes) => match descriptor::parse(&bytes, DEPLOY_XML, &ctx.limits) {
            Ok(d) => Some(d),
            Err(errors) => {
                diagnostics.extend(errors);
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && mode == DescriptorMode::IfPresent => {
            None
        }
        Err(e) => {
            let msg = if e.kind() == std::io::ErrorKind::NotFound {
                "the package has no deploy.xml at its root".to_string()
            } else {
                format!("cannot read deploy.xml: {e}")
            };
            diagnostics.push(Diagnostic::error(
                codes::DD_MISSING,
                DEPLOY_XML,
                Pos::default(),
                msg,
            ));
            None
        }
    };
    let output = compile_guarded(compiler, dir, &ctx.compiler);
    let compile_failed = output.has_errors();
    diagnostics.extend(output.diagnostics);
    let has_errors = |d: &[Diagnostic]| d.iter().any(|d| d.severity == Severity::Error);
    let Some(descriptor) = descriptor else {
        return BuildResult {
            diagnostics,
            package: None,
        };
    };
    if compile_failed || has_errors(&diagnostics) {
        // Checking deploy.xml against a package that did not compile would only repeat the
        // compiler's errors as "process not found".
        return BuildResult {
            diagnostics,
            package: None,
        };
    }
    let mut v = Validator {
        dir,
        ctx,
        wsdl: &output.wsdl,
        diagnostics: Vec::new(),
    };
    let processes: Vec<BuiltProcess> = descriptor
        .processes
        .iter()
        .filter_map(|dd| v.process(dd, &output.processes))
        .collect();
    diagnostics.append(&mut v.diagnostics);
    let package = (!has_errors(&diagnostics)).then(|| BuiltPackage {
        descriptor,
        processes,
        wsdl: Arc::new(output.wsdl),
    });
    BuildResult {
        diagnostics,
        package,
    }
}

/// A panicking compiler must not take the server down: the package fails instead.
fn compile_guarded(
    compiler: &dyn PackageCompiler,
    dir: &Path,
    options: &compiler::Options,
) -> PackageOutput {
    match catch_unwind(AssertUnwindSafe(|| compiler.compile_with(dir, options))) {
        Ok(out) => out,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::error!(package = %dir.display(), %why, "The compiler panicked; the package is marked failed. This is a bug.");
            PackageOutput {
                diagnostics: vec![Diagnostic::error(
                    codes::INTERNAL,
                    DEPLOY_XML,
                    Pos::default(),
                    format!("internal compiler error (please report it): {why}"),
                )],
                ..PackageOutput::default()
            }
        }
    }
}

struct Validator<'a> {
    dir: &'a Path,
    ctx: &'a BuildContext,
    wsdl: &'a WsdlSet,
    diagnostics: Vec<Diagnostic>,
}

enum Role {
    My,
    Partner,
}

impl Validator<'_> {
    fn err(&mut self, code: &str, pos: Pos, msg: String) {
        self.diagnostics
            .push(Diagnostic::error(code, DEPLOY_XML, pos, msg));
    }

    fn process(&mut self, dd: &ProcessDd, compiled: &[Process]) -> Option<BuiltProcess> {
        let wanted = dd.process_type.as_ref().unwrap_or(&dd.name);
        let Some(process) = compiled.iter().find(|p| &p.name == wanted) else {
            let mut found: Vec<String> = compiled.iter().map(|p| p.name.to_string()).collect();
            found.sort();
            let found = if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            };
            self.err(
                codes::PROCESS_NOT_FOUND,
                dd.pos,
                format!(
                    "process {wanted} is not among the processes compiled from this package (found: {found})"
                ),
            );
            return None;
        };
        let before = self.diagnostics.len();
        let mut provides = Vec::new();
        for p in &dd.provides {
            let Some(pl) = self.partner_link(process, &p.partner_link, Role::My, p.pos) else {
                continue;
            };
            let role_pt = pl.my_role.as_ref().map(|(_, pt)| pt.clone());
            if self.check_service(&p.service, role_pt.as_ref()).is_none() {
                continue;
            }
            provides.push(ProvidedEndpoint {
                partner_link: p.partner_link.clone(),
                service: p.service.name.clone(),
                port: p.service.port.clone(),
                enable_sharing: p.enable_sharing,
                mex_timeout_ms: p.service.endpoint.as_ref().and_then(|e| e.mex_timeout_ms),
            });
        }
        let mut invokes = Vec::new();
        for i in &dd.invokes {
            let Some(pl) = self.partner_link(process, &i.partner_link, Role::Partner, i.pos) else {
                continue;
            };
            let role_pt = pl.partner_role.as_ref().map(|(_, pt)| pt.clone());
            let mut address = None;
            let mut service = None;
            let mut epr_ref = None;
            if let Some(s) = &i.service {
                let Some(port_address) = self.check_service(s, role_pt.as_ref()) else {
                    continue;
                };
                address = port_address;
                service = Some((s.name.clone(), s.port.clone()));
                if let Some(ep) = &s.endpoint {
                    let read = match (&ep.inline_epr, &ep.endpoint_reference) {
                        (Some(inline), _) => Some(epr::from_element(inline, DEPLOY_XML)),
                        (None, Some(r)) => {
                            Some(epr::read(r, self.dir, &self.ctx.conf_dir, &self.ctx.limits))
                        }
                        (None, None) => None,
                    };
                    match read {
                        Some(Ok(e)) => {
                            address = Some(e.address.clone());
                            epr_ref = Some(e);
                        }
                        Some(Err(e)) => {
                            self.err(codes::EPR, ep.pos, e.to_string());
                            continue;
                        }
                        None => {}
                    }
                }
            }
            invokes.push(PartnerEndpoint {
                partner_link: i.partner_link.clone(),
                service,
                address,
                epr: epr_ref,
                use_peer2peer: i.use_peer2peer,
                failure_handling: i.failure_handling,
            });
        }
        let ok = self.diagnostics.len() == before;
        // Accepted so that ODE packages deploy unchanged, but without effect here: say so
        // rather than let an operator count on them.
        if dd.in_memory {
            for sch in &dd.schedules {
                self.diagnostics.push(Diagnostic::warning(
                    codes::NOT_SUPPORTED,
                    DEPLOY_XML,
                    sch.pos,
                    format!(
                        "<schedule when=\"{}\"> has nothing to clean up: an in-memory process \
                         stores no instances",
                        sch.when
                    ),
                ));
            }
        }
        if !dd.mex_interceptors.is_empty() {
            self.diagnostics.push(Diagnostic::warning(
                codes::NOT_SUPPORTED,
                DEPLOY_XML,
                dd.pos,
                format!(
                    "<mex-interceptors> ({}) are Java classes of Apache ODE and are not run",
                    dd.mex_interceptors.join(", ")
                ),
            ));
        }
        ok.then(|| BuiltProcess {
            dd: dd.clone(),
            process: process.clone(),
            provides,
            invokes,
        })
    }

    fn partner_link<'p>(
        &mut self,
        process: &'p Process,
        name: &str,
        role: Role,
        pos: Pos,
    ) -> Option<&'p PartnerLink> {
        let Some(pl) = process.partner_links.iter().find(|pl| pl.name == name) else {
            let declared: Vec<&str> = process
                .partner_links
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            self.err(
                codes::PARTNER_LINK,
                pos,
                format!(
                    "partner link '{name}' is not declared in process {} (declared: {})",
                    process.name,
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ),
            );
            return None;
        };
        match role {
            Role::My if pl.my_role.is_none() => {
                self.err(
                    codes::PARTNER_LINK,
                    pos,
                    format!(
                        "<provide partnerLink=\"{name}\">: the partner link has no myRole, so process {} provides no service through it",
                        process.name
                    ),
                );
                None
            }
            Role::Partner if pl.partner_role.is_none() => {
                self.err(
                    codes::PARTNER_LINK,
                    pos,
                    format!(
                        "<invoke partnerLink=\"{name}\">: the partner link has no partnerRole, so process {} calls no partner through it",
                        process.name
                    ),
                );
                None
            }
            _ => Some(pl),
        }
    }

    /// Checks that service and port exist and the port's binding is for the role's portType.
    /// Returns the port's address (`Some(None)` when the port has none); `None` on error.
    fn check_service(
        &mut self,
        s: &ServiceRef,
        role_port_type: Option<&QName>,
    ) -> Option<Option<String>> {
        let Some(service) = self.wsdl.service(&s.name) else {
            let known = service_names(self.wsdl);
            self.err(
                codes::SERVICE_NOT_FOUND,
                s.pos,
                format!(
                    "service {} is not defined in any WSDL of the package (services found: {})",
                    s.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
            return None;
        };
        let Some(port) = service.port(&s.port) else {
            let ports: Vec<&str> = service.ports.iter().map(|p| p.name.as_str()).collect();
            self.err(
                codes::SERVICE_NOT_FOUND,
                s.pos,
                format!(
                    "service {} has no port '{}' (ports: {})",
                    s.name,
                    s.port,
                    if ports.is_empty() {
                        "none".to_string()
                    } else {
                        ports.join(", ")
                    }
                ),
            );
            return None;
        };
        let Some(binding) = self.wsdl.binding(&port.binding) else {
            self.err(
                codes::SERVICE_NOT_FOUND,
                s.pos,
                format!(
                    "port '{}' of service {} uses binding {}, which no WSDL of the package defines",
                    s.port, s.name, port.binding
                ),
            );
            return None;
        };
        if let Some(pt) = role_port_type
            && &binding.port_type != pt
        {
            self.err(
                codes::PORT_TYPE_MISMATCH,
                s.pos,
                format!(
                    "port '{}' of service {} binds portType {}, but the partner link role needs portType {pt}",
                    s.port, s.name, binding.port_type
                ),
            );
            return None;
        }
        Some(port.address.clone())
    }
}

/// Every service name of the set, for error messages.
fn service_names(set: &WsdlSet) -> Vec<String> {
    let mut v: Vec<String> = set
        .documents
        .values()
        .flat_map(|d| d.services.iter().map(|s| s.name.to_string()))
        .collect();
    v.sort();
    v.dedup();
    v
}
