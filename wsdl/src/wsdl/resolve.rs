//! Loading a set of WSDL/XSD documents through a [`Loader`], following imports, and looking
//! definitions up by qualified name across the whole set.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::error::Error;
use crate::xml::{Limits, NsScope, Pos, QName, parse};
use crate::xsd::{
    self, AttributeDecl, AttributeGroupDef, ElementDecl, GroupDef, Schema, TypeDef, XSD_NS,
};

use super::model::*;
use super::ns;
use super::parse::parse_definitions;

/// Where documents come from: package-relative paths with `/` separators.
pub trait Loader {
    /// The bytes of the document at `path`, or why it cannot be read.
    fn load(&self, path: &str) -> Result<Vec<u8>, String>;
    /// Every file of the package, as package-relative paths.
    fn list(&self) -> Vec<String>;
}

/// Largest document a [`DirLoader`] reads (the XML parser's default limit).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads documents from a package directory; never outside it.
#[derive(Clone, Debug)]
pub struct DirLoader {
    root: PathBuf,
}

impl DirLoader {
    /// A loader for the package directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirLoader { root: root.into() }
    }

    /// The package directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn walk(&self, dir: &Path, rel: &str, depth: usize, out: &mut Vec<String>) {
        // Deep trees are not package layouts; the cap also guards against pathological inputs.
        if depth > 32 {
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let Ok(ft) = entry.file_type() else { continue };
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // Symbolic links to directories are not followed, so a link cannot loop or leave
            // the package.
            if ft.is_dir() {
                self.walk(&entry.path(), &path, depth + 1, out);
            } else if ft.is_file() {
                out.push(path);
            }
        }
    }
}

impl Loader for DirLoader {
    fn load(&self, path: &str) -> Result<Vec<u8>, String> {
        check_relative(path)?;
        let full = self.root.join(path);
        let root = self
            .root
            .canonicalize()
            .map_err(|e| format!("package directory {}: {e}", self.root.display()))?;
        let real = full.canonicalize().map_err(|e| e.to_string())?;
        if !real.starts_with(&root) {
            return Err("the file lies outside the package directory".to_owned());
        }
        let meta = fs::metadata(&real).map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("not a regular file".to_owned());
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!(
                "the file is {} bytes, more than the limit of {MAX_FILE_BYTES}",
                meta.len()
            ));
        }
        fs::read(&real).map_err(|e| e.to_string())
    }

    fn list(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&self.root, "", 0, &mut out);
        out.sort();
        out
    }
}

/// Rejects paths a loader must not open: URLs, absolute paths, `..` components.
fn check_relative(path: &str) -> Result<(), String> {
    if is_remote(path) {
        return Err(format!("'{path}': remote imports are not supported"));
    }
    let p = Path::new(path);
    if path.starts_with('/') || path.starts_with('\\') || p.is_absolute() || has_drive(path) {
        return Err(format!(
            "'{path}': absolute paths are not supported; use a path relative to the package"
        ));
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!("'{path}' leaves the package directory"));
    }
    Ok(())
}

fn is_remote(location: &str) -> bool {
    let lower = location.trim().to_ascii_lowercase();
    lower.contains("://") || lower.starts_with("file:") || lower.starts_with("urn:")
}

fn has_drive(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Documents held in memory, for tests and for packages read from archives.
#[derive(Clone, Debug, Default)]
pub struct MemLoader {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemLoader {
    /// An empty loader.
    pub fn new() -> Self {
        MemLoader::default()
    }

    /// Adds (or replaces) the file at `path`.
    pub fn insert(&mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), contents.into());
    }

    /// Builder form of [`MemLoader::insert`].
    pub fn with(mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.insert(path, contents);
        self
    }
}

impl Loader for MemLoader {
    fn load(&self, path: &str) -> Result<Vec<u8>, String> {
        check_relative(path)?;
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "no such file in the package".to_owned())
    }

    fn list(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }
}

/// Resolves an import `location` written in `base` (a package-relative file) to a
/// package-relative path: relative to `base`'s directory, `.`/`..` folded, `%XX` decoded.
pub fn resolve_location(base: &str, location: &str) -> Result<String, String> {
    let location = location.trim();
    if location.is_empty() {
        return Err("the location is empty".to_owned());
    }
    if is_remote(location) {
        return Err(format!(
            "'{location}': remote imports are not supported; copy the document into the package \
             and import it by a relative path"
        ));
    }
    let location = percent_decode(location).replace('\\', "/");
    if location.starts_with('/') || has_drive(&location) {
        return Err(format!(
            "'{location}': absolute paths are not supported; use a path relative to the \
             importing file"
        ));
    }
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop();
    for seg in location.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("'{location}' leaves the package directory"));
                }
            }
            s => parts.push(s),
        }
    }
    parts.retain(|p| !p.is_empty() && *p != ".");
    Ok(parts.join("/"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// What kind of reference led to a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeKind {
    WsdlImport,
    XsdImport,
    XsdInclude,
}

/// One import/include found in a loaded document.
struct Edge {
    from: String,
    pos: Pos,
    location: String,
    target: Result<String, String>,
    namespace: Option<String>,
    /// The including schema's namespace (for chameleon includes).
    includer_ns: String,
    kind: EdgeKind,
}

/// A document waiting to be read.
struct Pending {
    path: String,
    /// The namespace of the including schema, when reached through `xsd:include`: a schema
    /// without targetNamespace takes it (chameleon include).
    includer_ns: Option<String>,
}

impl WsdlSet {
    /// Reads `entry_files` (WSDL or XSD) and every document they import, transitively.
    ///
    /// Each document is read once, so import cycles terminate. Problems do not stop the load:
    /// every readable document ends up in the set and every problem in the returned list.
    pub fn load(loader: &dyn Loader, entry_files: &[String]) -> (WsdlSet, Vec<Error>) {
        let mut set = WsdlSet::default();
        let mut errors = Vec::new();
        let mut edges: Vec<Edge> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        let mut queue: VecDeque<Pending> = VecDeque::new();
        for f in entry_files {
            match check_relative(f) {
                Ok(()) => queue.push_back(Pending {
                    path: f.clone(),
                    includer_ns: None,
                }),
                Err(reason) => errors.push(Error::Load {
                    file: f.clone(),
                    reason,
                }),
            }
        }
        let entries: BTreeSet<&String> = entry_files.iter().collect();
        while let Some(p) = queue.pop_front() {
            if !seen.insert(schema_key(&p.path, p.includer_ns.as_deref())) {
                continue;
            }
            let bytes = match loader.load(&p.path) {
                Ok(b) => b,
                Err(reason) => {
                    if entries.contains(&p.path) {
                        errors.push(Error::Load {
                            file: p.path.clone(),
                            reason: reason.clone(),
                        });
                    }
                    failed.insert(p.path.clone(), reason);
                    continue;
                }
            };
            let mut found = Vec::new();
            match read_document(&bytes, &p.path, p.includer_ns.as_deref()) {
                Ok(Doc::Wsdl(d)) => {
                    collect_wsdl_edges(&d, &mut found);
                    set.documents.insert(p.path.clone(), *d);
                }
                Ok(Doc::Schema(s, chameleon)) => {
                    collect_schema_edges(&s, &p.path, &mut found);
                    let key = if chameleon {
                        schema_key(&p.path, p.includer_ns.as_deref())
                    } else {
                        p.path.clone()
                    };
                    set.schema_documents.insert(key, *s);
                }
                Err(e) => errors.push(e),
            }
            for e in found {
                if let Ok(t) = &e.target {
                    let includer_ns = (e.kind == EdgeKind::XsdInclude && !e.includer_ns.is_empty())
                        .then(|| e.includer_ns.clone());
                    queue.push_back(Pending {
                        path: t.clone(),
                        includer_ns,
                    });
                }
                edges.push(e);
            }
        }
        for e in &edges {
            if let Some(err) = set.check_edge(e, &failed) {
                errors.push(err);
            }
        }
        (set, errors)
    }

    /// Reads every `.wsdl` and `.xsd` file the loader lists, and what they import. ODE does this
    /// for deploy.xml services, which may live in any WSDL of the package.
    pub fn load_package(loader: &dyn Loader) -> (WsdlSet, Vec<Error>) {
        let files: Vec<String> = loader
            .list()
            .into_iter()
            .filter(|f| {
                let l = f.to_ascii_lowercase();
                l.ends_with(".wsdl") || l.ends_with(".xsd")
            })
            .collect();
        WsdlSet::load(loader, &files)
    }

    fn check_edge(&self, e: &Edge, failed: &BTreeMap<String, String>) -> Option<Error> {
        let what = match e.kind {
            EdgeKind::WsdlImport => "wsdl:import",
            EdgeKind::XsdImport => "xsd:import",
            EdgeKind::XsdInclude => "xsd:include",
        };
        let target = match &e.target {
            Ok(t) => t,
            Err(reason) => {
                return Some(Error::invalid(
                    &e.from,
                    e.pos,
                    format!("{what} of '{}': {reason}", e.location),
                ));
            }
        };
        if let Some(reason) = failed.get(target) {
            return Some(Error::invalid(
                &e.from,
                e.pos,
                format!(
                    "{what} of '{}' (resolved to '{target}'): cannot read it: {reason}",
                    e.location
                ),
            ));
        }
        // The target's own tns; a document that failed to parse has its own error already.
        let actual = if let Some(d) = self.documents.get(target) {
            d.target_namespace.as_str()
        } else if let Some(s) = self.schema_documents.get(target) {
            s.target_namespace.as_str()
        } else {
            return None;
        };
        match e.kind {
            EdgeKind::XsdInclude => (!actual.is_empty() && actual != e.includer_ns).then(|| {
                Error::invalid(
                    &e.from,
                    e.pos,
                    format!(
                        "xsd:include of '{}': the included schema's targetNamespace '{actual}' \
                             differs from the including schema's '{}'; use xsd:import for another \
                             namespace",
                        e.location, e.includer_ns
                    ),
                )
            }),
            EdgeKind::WsdlImport | EdgeKind::XsdImport => {
                let expected = e.namespace.as_deref().unwrap_or("");
                if e.kind == EdgeKind::WsdlImport && expected.is_empty() {
                    return None;
                }
                (actual != expected).then(|| {
                    Error::invalid(
                        &e.from,
                        e.pos,
                        format!(
                            "{what} of '{}' declares namespace '{expected}' but the document's \
                             targetNamespace is '{actual}'",
                            e.location
                        ),
                    )
                })
            }
        }
    }
}

/// Where a schema is filed in [`WsdlSet::schema_documents`]: its path, or `path#namespace` for
/// a chameleon-included schema (the same file may take several namespaces).
fn schema_key(path: &str, chameleon: Option<&str>) -> String {
    match chameleon {
        Some(ns) => format!("{path}#{ns}"),
        None => path.to_owned(),
    }
}

enum Doc {
    Wsdl(Box<Definitions>),
    /// A schema, and whether it was read as a chameleon include.
    Schema(Box<Schema>, bool),
}

fn read_document(bytes: &[u8], file: &str, includer_ns: Option<&str>) -> Result<Doc, Error> {
    let root = parse(bytes, &Limits::default()).map_err(|source| Error::Xml {
        file: file.to_owned(),
        source,
    })?;
    if root.is(XSD_NS, "schema") {
        let own_ns = root.attr("targetNamespace").unwrap_or("");
        return Ok(match includer_ns {
            Some(ns) if own_ns.is_empty() => Doc::Schema(
                Box::new(xsd::parse_schema_chameleon(
                    &root,
                    &NsScope::new(),
                    file,
                    ns,
                )?),
                true,
            ),
            _ => Doc::Schema(
                Box::new(xsd::parse_schema(&root, &NsScope::new(), file)?),
                false,
            ),
        });
    }
    if root.is(ns::WSDL, "definitions") {
        return parse_definitions(root, file).map(|d| Doc::Wsdl(Box::new(d)));
    }
    Err(Error::invalid(
        file,
        root.pos,
        format!(
            "root element is <{}>; expected wsdl:definitions ({}) or xsd:schema ({XSD_NS})",
            root.name,
            ns::WSDL
        ),
    ))
}

fn collect_wsdl_edges(d: &Definitions, out: &mut Vec<Edge>) {
    for i in &d.wsdl_imports {
        if let Some(loc) = &i.location {
            out.push(Edge {
                from: d.file.clone(),
                pos: i.pos,
                location: loc.clone(),
                target: resolve_location(&d.file, loc),
                namespace: Some(i.namespace.clone()),
                includer_ns: String::new(),
                kind: EdgeKind::WsdlImport,
            });
        }
    }
    for s in &d.schemas {
        collect_schema_edges(s, &d.file, out);
    }
}

fn collect_schema_edges(s: &Schema, file: &str, out: &mut Vec<Edge>) {
    for i in &s.imports {
        if let Some(loc) = &i.location {
            out.push(Edge {
                from: file.to_owned(),
                pos: i.pos,
                location: loc.clone(),
                target: resolve_location(file, loc),
                namespace: i.namespace.clone(),
                includer_ns: s.target_namespace.clone(),
                kind: EdgeKind::XsdImport,
            });
        }
    }
    for i in &s.includes {
        out.push(Edge {
            from: file.to_owned(),
            pos: i.pos,
            location: i.location.clone(),
            target: resolve_location(file, &i.location),
            namespace: None,
            includer_ns: s.target_namespace.clone(),
            kind: EdgeKind::XsdInclude,
        });
    }
}

impl WsdlSet {
    /// Every document of the set.
    pub fn definitions(&self) -> impl Iterator<Item = &Definitions> {
        self.documents.values()
    }

    /// Every schema of the set: inline ones of each WSDL, then stand-alone documents.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.documents
            .values()
            .flat_map(|d| d.schemas.iter())
            .chain(self.schema_documents.values())
    }

    /// The message `name`.
    pub fn message(&self, name: &QName) -> Option<&Message> {
        self.definitions()
            .flat_map(|d| d.messages.iter())
            .find(|m| m.name == *name)
    }

    /// The portType `name`.
    pub fn port_type(&self, name: &QName) -> Option<&PortType> {
        self.definitions()
            .flat_map(|d| d.port_types.iter())
            .find(|m| m.name == *name)
    }

    /// The binding `name`.
    pub fn binding(&self, name: &QName) -> Option<&Binding> {
        self.definitions()
            .flat_map(|d| d.bindings.iter())
            .find(|m| m.name == *name)
    }

    /// The service `name`.
    pub fn service(&self, name: &QName) -> Option<&Service> {
        self.definitions()
            .flat_map(|d| d.services.iter())
            .find(|m| m.name == *name)
    }

    /// The partnerLinkType `name`.
    pub fn partner_link_type(&self, name: &QName) -> Option<&PartnerLinkType> {
        self.definitions()
            .flat_map(|d| d.partner_link_types.iter())
            .find(|m| m.name == *name)
    }

    /// The property `name`.
    pub fn property(&self, name: &QName) -> Option<&Property> {
        self.definitions()
            .flat_map(|d| d.properties.iter())
            .find(|m| m.name == *name)
    }

    /// Every propertyAlias of the property `property`, in document order.
    pub fn property_aliases<'a>(
        &'a self,
        property: &'a QName,
    ) -> impl Iterator<Item = &'a PropertyAlias> + 'a {
        self.definitions()
            .flat_map(|d| d.property_aliases.iter())
            .filter(move |a| a.property == *property)
    }

    /// The top-level element declaration `name`.
    pub fn element_decl(&self, name: &QName) -> Option<&ElementDecl> {
        self.schemas_for(&name.ns).find_map(|s| s.element(name))
    }

    /// The type `name`: a complex or simple type of some schema, or a built-in XSD type.
    pub fn type_def(&self, name: &QName) -> Option<TypeDef<'_>> {
        if xsd::is_builtin(name) {
            return Some(TypeDef::Builtin(name.clone()));
        }
        self.schemas_for(&name.ns).find_map(|s| s.type_def(name))
    }

    /// The top-level attribute declaration `name`.
    pub fn attribute_decl(&self, name: &QName) -> Option<&AttributeDecl> {
        self.schemas_for(&name.ns).find_map(|s| s.attribute(name))
    }

    /// The named model group `name`.
    pub fn group_def(&self, name: &QName) -> Option<&GroupDef> {
        self.schemas_for(&name.ns).find_map(|s| s.group(name))
    }

    /// The named attribute group `name`.
    pub fn attribute_group_def(&self, name: &QName) -> Option<&AttributeGroupDef> {
        self.schemas_for(&name.ns)
            .find_map(|s| s.attribute_group(name))
    }

    fn schemas_for<'s, 'n>(
        &'s self,
        ns: &'n str,
    ) -> impl Iterator<Item = &'s Schema> + use<'s, 'n> {
        self.schemas().filter(move |s| s.target_namespace == ns)
    }

    /// The port `port` of service `service`, with its binding.
    pub fn find_port(&self, service: &QName, port: &str) -> Option<(&Service, &Port, &Binding)> {
        let s = self.service(service)?;
        let p = s.port(port)?;
        let b = self.binding(&p.binding)?;
        Some((s, p, b))
    }

    /// Every (service, port, binding) whose binding binds `port_type`.
    pub fn services_for_port_type(&self, port_type: &QName) -> Vec<(&Service, &Port, &Binding)> {
        let mut out = Vec::new();
        for s in self.definitions().flat_map(|d| d.services.iter()) {
            for p in &s.ports {
                if let Some(b) = self.binding(&p.binding)
                    && b.port_type == *port_type
                {
                    out.push((s, p, b));
                }
            }
        }
        out
    }

    /// The document that defines service `service` (what `?wsdl` publishes).
    pub fn document_of_service(&self, service: &QName) -> Option<&Definitions> {
        self.definitions()
            .find(|d| d.services.iter().any(|s| s.name == *service))
    }

    /// The WSDL documents whose targetNamespace is `ns`.
    pub fn documents_in_namespace<'a>(
        &'a self,
        ns: &'a str,
    ) -> impl Iterator<Item = &'a Definitions> + 'a {
        self.definitions().filter(move |d| d.target_namespace == ns)
    }
}

/// The text of `defs` with every `soap:address`/`soap12:address` location of the ports of
/// `service` set to `address`; other services and documents are left as written.
pub fn publish_wsdl(defs: &Definitions, service: &QName, address: &str) -> String {
    let mut root = defs.root.clone();
    if defs.target_namespace == service.ns {
        for s in root.elements_mut().filter(|s| {
            s.is(ns::WSDL, "service") && s.attr("name").map(str::trim) == Some(&service.local)
        }) {
            for p in s.elements_mut().filter(|p| p.is(ns::WSDL, "port")) {
                for a in p.elements_mut().filter(|a| {
                    a.name.local == "address"
                        && (a.name.ns == ns::SOAP11 || a.name.ns == ns::SOAP12)
                }) {
                    a.set_attr("location", address);
                }
            }
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&crate::xml::to_string(&root));
    out
}
