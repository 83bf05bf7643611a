//! A deployed process as the runtime uses it: the compiled model plus what the deployment adds.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::{Element, QName};

use super::data::Stylesheets;
use super::fault::Fault;
use super::state::Role;
use crate::deploy::descriptor::FailureHandling;
use crate::model::{PartnerLinkId, Process};
use crate::xslt::Stylesheet;

/// Everything a step needs besides the instance.
pub struct ProcessCtx {
    /// The compiled process.
    pub process: Process,
    /// Its package's WSDL and schemas.
    pub wsdl: Arc<WsdlSet>,
    /// deploy.xml `<property>` values.
    pub properties: Vec<(QName, Element)>,
    /// Initial endpoint references per partner link role (from deploy.xml and the WSDL).
    pub endpoints: BTreeMap<(PartnerLinkId, Role), Element>,
    /// Stylesheets of the package.
    pub stylesheets: Box<dyn Stylesheets + Send + Sync>,
    /// Which events this process emits (deploy.xml `process-events`).
    pub events: crate::events::EventFilter,
    /// The process version id, `{ns}local-version` (ODE pid), for events.
    pub pid: Arc<str>,
    /// The process QName, shared by its events.
    pub name: Arc<QName>,
    /// deploy.xml `<invoke partnerLink>` failure handling, by process-level partner link; it
    /// takes precedence over the invoke's own `ext:failureHandling`.
    pub failure_handling: BTreeMap<PartnerLinkId, FailureHandling>,
}

impl std::fmt::Debug for ProcessCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessCtx")
            .field("process", &self.process.name)
            .finish_non_exhaustive()
    }
}

/// Stylesheets read from a package directory on first use and kept compiled.
#[derive(Debug)]
pub struct PackageStylesheets {
    dir: Option<PathBuf>,
    cache: Mutex<HashMap<String, Arc<Stylesheet>>>,
}

impl PackageStylesheets {
    /// Stylesheets of the package at `dir` (None: a process without files, e.g. in tests).
    pub fn new(dir: Option<PathBuf>) -> Self {
        PackageStylesheets {
            dir,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl Stylesheets for PackageStylesheets {
    fn stylesheet(&self, uri: &str) -> Result<Arc<Stylesheet>, Fault> {
        let not_found = |why: String| {
            Fault::standard(
                "xsltStylesheetNotFound",
                format!("stylesheet `{uri}`: {why}"),
            )
        };
        if let Ok(cache) = self.cache.lock()
            && let Some(s) = cache.get(uri)
        {
            return Ok(s.clone());
        }
        let Some(dir) = &self.dir else {
            return Err(not_found("the process has no package directory".into()));
        };
        let rel = uri.strip_prefix("file:").unwrap_or(uri);
        if rel.split(['/', '\\']).any(|c| c == "..") || rel.starts_with('/') {
            return Err(not_found(
                "only files inside the package can be used".into(),
            ));
        }
        let path = dir.join(rel);
        let bytes =
            std::fs::read(&path).map_err(|e| not_found(format!("{}: {e}", path.display())))?;
        let root = bpelgate_wsdl::xml::parse(&bytes, &bpelgate_wsdl::xml::Limits::default())
            .map_err(|e| not_found(format!("not well-formed XML: {e}")))?;
        let sheet = Stylesheet::compile(root).map_err(|e| {
            Fault::standard(
                "subLanguageExecutionFault",
                format!("stylesheet `{uri}`: {e}"),
            )
        })?;
        let sheet = Arc::new(sheet);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(uri.to_string(), sheet.clone());
        }
        Ok(sheet)
    }
}
