//! deploy.xml: Apache ODE's deployment descriptor (plus the WSO2 BPS additions), read leniently.
//!
//! ODE reads it with XMLBeans and does not validate it, and real packages put children in any
//! order; so do we. Unknown elements are skipped. Bad values are reported with file:line:col.

use std::collections::BTreeSet;

use bpelgate_wsdl::xml::{self, Element, Limits, NsScope, Pos, QName};

use crate::compiler::Diagnostic;

use super::codes;

/// Namespace of deploy.xml.
pub const DD_NS: &str = "http://www.apache.org/ode/schemas/dd/2007/03";
/// Namespace of the WSO2 unified endpoint (`<endpoint>` inside `<service>`).
pub const UEP_NS: &str = "http://wso2.org/bps/bpel/endpoint/config";
/// Namespace of `ext:failureHandling`.
pub const RECOVERY_NS: &str = "http://ode.apache.org/activityRecovery";

/// A parsed deploy.xml.
#[derive(Clone, Debug, PartialEq)]
pub struct Descriptor {
    /// Package-relative file name (`deploy.xml`).
    pub file: String,
    /// `<process>` entries in document order.
    pub processes: Vec<ProcessDd>,
}

/// One `<process>` of deploy.xml.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessDd {
    /// `@name`, resolved with the namespaces in scope (unprefixed = default namespace).
    pub name: QName,
    /// `@fileName`: the BPEL file, when given.
    pub file_name: Option<String>,
    /// `<active>` (default true): activate on deploy.
    pub active: bool,
    /// `<retired>` (default false): deploy retired.
    pub retired: bool,
    /// `<in-memory>` (default false): no persistence.
    pub in_memory: bool,
    /// `<type>`: the process definition to use when it differs from `@name`.
    pub process_type: Option<QName>,
    /// `<property>` entries.
    pub properties: Vec<Property>,
    /// `<process-events>`, when present.
    pub events: Option<ProcessEvents>,
    /// `<provide>` entries.
    pub provides: Vec<Provide>,
    /// `<invoke>` entries.
    pub invokes: Vec<Invoke>,
    /// `<mex-interceptors>` class names.
    pub mex_interceptors: Vec<String>,
    /// `<cleanup>` entries.
    pub cleanups: Vec<Cleanup>,
    /// `<schedule>` entries.
    pub schedules: Vec<Schedule>,
    /// Where `<process>` starts.
    pub pos: Pos,
}

/// A process property: `ode:process-property()` reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    /// `@name` as a QName.
    pub name: QName,
    /// Its value.
    pub value: PropertyValue,
}

/// The value of a `<property>`.
#[derive(Clone, Debug, PartialEq)]
pub enum PropertyValue {
    /// Text content.
    Text(String),
    /// Element content.
    Xml(Vec<Element>),
}

/// `generate` attribute of `<process-events>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generate {
    /// `all`.
    All,
    /// `none`.
    None,
}

/// An event category of `<enable-event>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventCategory {
    /// `instanceLifecycle`.
    InstanceLifecycle,
    /// `activityLifecycle`.
    ActivityLifecycle,
    /// `dataHandling`.
    DataHandling,
    /// `scopeHandling`.
    ScopeHandling,
    /// `correlation`.
    Correlation,
}

impl EventCategory {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "instanceLifecycle" => Self::InstanceLifecycle,
            "activityLifecycle" => Self::ActivityLifecycle,
            "dataHandling" => Self::DataHandling,
            "scopeHandling" => Self::ScopeHandling,
            "correlation" => Self::Correlation,
            _ => return None,
        })
    }
}

/// `<process-events>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessEvents {
    /// `@generate`, when given.
    pub generate: Option<Generate>,
    /// `<enable-event>` categories at process level.
    pub enabled: BTreeSet<EventCategory>,
    /// `<scope-events>` per named scope.
    pub scopes: Vec<ScopeEvents>,
}

/// `<scope-events name=...>`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeEvents {
    /// The scope name.
    pub name: String,
    /// Its categories.
    pub enabled: BTreeSet<EventCategory>,
}

/// `<service name port>` with the WSO2 endpoint extension.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRef {
    /// `@name`.
    pub name: QName,
    /// `@port`.
    pub port: String,
    /// WSO2 unified endpoint configuration, when present.
    pub endpoint: Option<EndpointConfig>,
    /// Where `<service>` starts.
    pub pos: Pos,
}

/// `<endpoint xmlns="http://wso2.org/bps/bpel/endpoint/config">`.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointConfig {
    /// `@endpointReference`: an EPR file (package-relative, absolute, or `conf:/name.epr`).
    pub endpoint_reference: Option<String>,
    /// `@serviceDescriptionReference` (an Axis2 services.xml; recorded, not interpreted).
    pub service_description_reference: Option<String>,
    /// `<mex-timeout value>` in milliseconds.
    pub mex_timeout_ms: Option<u64>,
    /// An inline `wsa:EndpointReference` (wins over `endpointReference`).
    pub inline_epr: Option<Element>,
    /// Where `<endpoint>` starts.
    pub pos: Pos,
}

/// `<provide partnerLink>`: a myRole endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Provide {
    /// `@partnerLink`.
    pub partner_link: String,
    /// The service and port to expose.
    pub service: ServiceRef,
    /// `<enableSharing/>`: several processes may share the endpoint.
    pub enable_sharing: bool,
    /// WSO2 `@correlationFilter`.
    pub correlation_filter: Option<QName>,
    /// Where `<provide>` starts.
    pub pos: Pos,
}

/// `<invoke partnerLink>`: a partnerRole endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Invoke {
    /// `@partnerLink`.
    pub partner_link: String,
    /// `@usePeer2Peer` (default true): call a locally deployed partner in-process.
    pub use_peer2peer: bool,
    /// The partner service and port, when given.
    pub service: Option<ServiceRef>,
    /// `<binding name>` (recorded; not used for routing).
    pub binding: Option<QName>,
    /// `ext:failureHandling`.
    pub failure_handling: Option<FailureHandling>,
    /// Where `<invoke>` starts.
    pub pos: Pos,
}

/// `ext:failureHandling` (activity recovery).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureHandling {
    /// `retryFor`: how many retries.
    pub retry_for: u32,
    /// `retryDelay`: seconds between retries.
    pub retry_delay_s: u32,
    /// `faultOnFailure`: throw `activityFailure` instead of waiting for recovery.
    pub fault_on_failure: bool,
}

/// When a `<cleanup>` applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CleanupOn {
    /// The instance completed.
    Success,
    /// The instance faulted or was terminated.
    Failure,
    /// Both.
    Always,
}

/// What a cleanup deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CleanupCategory {
    /// The instance row.
    Instance,
    /// Variables, scopes, partner links.
    Variables,
    /// Messages and message exchanges.
    Messages,
    /// Correlation sets.
    Correlations,
    /// Events.
    Events,
}

impl CleanupCategory {
    /// The categories a deploy.xml `<category>` (or a `[[cleanup-schedule]]` entry) names:
    /// one, or every one for `all`; None for an unknown name.
    pub fn named(name: &str) -> Option<&'static [CleanupCategory]> {
        use CleanupCategory::*;
        Some(match name {
            "instance" => &[Instance],
            "variables" => &[Variables],
            "messages" => &[Messages],
            "correlations" => &[Correlations],
            "events" => &[Events],
            "all" => &ALL_CATEGORIES,
            _ => return None,
        })
    }
}

const ALL_CATEGORIES: [CleanupCategory; 5] = [
    CleanupCategory::Instance,
    CleanupCategory::Variables,
    CleanupCategory::Messages,
    CleanupCategory::Correlations,
    CleanupCategory::Events,
];

/// `<cleanup on>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cleanup {
    /// `@on`; absent enables nothing (as in ODE).
    pub on: Option<CleanupOn>,
    /// Categories (`all` and no category both mean every one).
    pub categories: BTreeSet<CleanupCategory>,
    /// Where `<cleanup>` starts.
    pub pos: Pos,
}

/// `<schedule when>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Quartz cron expression.
    pub when: String,
    /// Cleanups to run.
    pub cleanups: Vec<ScheduledCleanup>,
    /// Where `<schedule>` starts.
    pub pos: Pos,
}

/// `<schedule><cleanup>`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledCleanup {
    /// Instance filters (ODE filter syntax).
    pub filters: Vec<String>,
    /// Categories.
    pub categories: BTreeSet<CleanupCategory>,
}

/// Parses deploy.xml; every problem is reported, each with file:line:col.
pub fn parse(bytes: &[u8], file: &str, limits: &Limits) -> Result<Descriptor, Vec<Diagnostic>> {
    let root = xml::parse(bytes, limits).map_err(|e| {
        vec![Diagnostic::error(
            codes::DD_XML,
            file,
            Pos {
                line: e.line,
                col: e.col,
            },
            format!("deploy.xml is not well-formed XML: {}", e.message),
        )]
    })?;
    let mut p = Parser {
        file,
        scope: NsScope::new(),
        errors: Vec::new(),
    };
    let descriptor = p.deploy(&root);
    if p.errors.is_empty() {
        Ok(descriptor)
    } else {
        Err(p.errors)
    }
}

struct Parser<'a> {
    file: &'a str,
    scope: NsScope,
    errors: Vec<Diagnostic>,
}

impl Parser<'_> {
    fn err(&mut self, pos: Pos, msg: impl Into<String>) {
        self.errors
            .push(Diagnostic::error(codes::DD_VALUE, self.file, pos, msg));
    }

    fn deploy(&mut self, root: &Element) -> Descriptor {
        let mut out = Descriptor {
            file: self.file.to_string(),
            processes: Vec::new(),
        };
        if !root.is(DD_NS, "deploy") {
            self.errors.push(Diagnostic::error(
                codes::DD_XML,
                self.file,
                root.pos,
                format!(
                    "the root element is {}; expected <deploy xmlns=\"{DD_NS}\">",
                    root.name
                ),
            ));
            return out;
        }
        self.scope.push(&root.ns_decls);
        for el in root.children_named(DD_NS, "process") {
            if let Some(p) = self.process(el) {
                out.processes.push(p);
            }
        }
        self.scope.pop();
        let mut seen: Vec<&QName> = Vec::new();
        let mut dups = Vec::new();
        for p in &out.processes {
            if seen.contains(&&p.name) {
                dups.push((p.pos, p.name.clone()));
            }
            seen.push(&p.name);
        }
        for (pos, name) in dups {
            self.err(pos, format!("process {name} is listed twice"));
        }
        out
    }

    fn qname_attr(&mut self, el: &Element, attr: &str) -> Option<QName> {
        let Some(v) = el.attr(attr) else {
            self.err(
                el.pos,
                format!("<{}> needs the attribute '{attr}'", el.name.local),
            );
            return None;
        };
        self.qname_value(el.pos, v, &format!("{}/@{attr}", el.name.local))
    }

    fn qname_value(&mut self, pos: Pos, v: &str, what: &str) -> Option<QName> {
        match self.scope.resolve(v, true) {
            Ok(q) => Some(q),
            Err(e) => {
                self.err(pos, format!("{what}: {e}"));
                None
            }
        }
    }

    fn required_attr(&mut self, el: &Element, attr: &str) -> Option<String> {
        match el.attr(attr).map(str::trim) {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                self.err(
                    el.pos,
                    format!("<{}> needs the attribute '{attr}'", el.name.local),
                );
                None
            }
        }
    }

    fn boolean(&mut self, pos: Pos, v: &str, what: &str) -> Option<bool> {
        match v.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            other => {
                self.err(
                    pos,
                    format!("{what}: '{other}' is not a boolean (true or false)"),
                );
                None
            }
        }
    }

    fn number<T: std::str::FromStr>(&mut self, pos: Pos, v: &str, what: &str) -> Option<T> {
        match v.trim().parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.err(
                    pos,
                    format!("{what}: '{}' is not a non-negative integer", v.trim()),
                );
                None
            }
        }
    }

    fn process(&mut self, el: &Element) -> Option<ProcessDd> {
        self.scope.push(&el.ns_decls);
        let name = self.qname_attr(el, "name");
        let mut p = ProcessDd {
            name: name.clone().unwrap_or_default(),
            file_name: el.attr("fileName").map(str::to_string),
            active: true,
            retired: false,
            in_memory: false,
            process_type: None,
            properties: Vec::new(),
            events: None,
            provides: Vec::new(),
            invokes: Vec::new(),
            mex_interceptors: Vec::new(),
            cleanups: Vec::new(),
            schedules: Vec::new(),
            pos: el.pos,
        };
        for c in el.elements() {
            self.scope.push(&c.ns_decls);
            if c.name.ns == DD_NS {
                match c.name.local.as_str() {
                    "active" => {
                        if let Some(b) = self.boolean(c.pos, &c.text(), "<active>") {
                            p.active = b;
                        }
                    }
                    "retired" => {
                        if let Some(b) = self.boolean(c.pos, &c.text(), "<retired>") {
                            p.retired = b;
                        }
                    }
                    "in-memory" => {
                        if let Some(b) = self.boolean(c.pos, &c.text(), "<in-memory>") {
                            p.in_memory = b;
                        }
                    }
                    "type" => p.process_type = self.qname_value(c.pos, &c.text(), "<type>"),
                    "property" => {
                        if let Some(prop) = self.property(c) {
                            p.properties.push(prop);
                        }
                    }
                    "process-events" => p.events = Some(self.events(c)),
                    "provide" => {
                        if let Some(x) = self.provide(c) {
                            p.provides.push(x);
                        }
                    }
                    "invoke" => {
                        if let Some(x) = self.invoke(c) {
                            p.invokes.push(x);
                        }
                    }
                    "mex-interceptors" => {
                        for i in c.children_named(DD_NS, "mex-interceptor") {
                            match i.child(DD_NS, "class-name").map(|n| n.text()) {
                                Some(name) if !name.trim().is_empty() => {
                                    p.mex_interceptors.push(name.trim().to_string())
                                }
                                _ => self.err(i.pos, "<mex-interceptor> needs a <class-name>"),
                            }
                        }
                    }
                    "cleanup" => {
                        if let Some(x) = self.cleanup(c) {
                            p.cleanups.push(x);
                        }
                    }
                    "schedule" => {
                        if let Some(x) = self.schedule(c) {
                            p.schedules.push(x);
                        }
                    }
                    // Unknown children (WSO2's analyticsServerProfiles, newer ODE elements) are
                    // ignored, as XMLBeans without validation does.
                    _ => {}
                }
            }
            self.scope.pop();
        }
        self.check_cleanups(&p.cleanups);
        self.scope.pop();
        name.map(|_| p)
    }

    fn property(&mut self, el: &Element) -> Option<Property> {
        let name = self.qname_attr(el, "name")?;
        let elements: Vec<Element> = el.elements().cloned().collect();
        let value = if elements.is_empty() {
            PropertyValue::Text(el.text())
        } else {
            PropertyValue::Xml(elements)
        };
        Some(Property { name, value })
    }

    fn categories(&mut self, el: &Element) -> BTreeSet<EventCategory> {
        let mut out = BTreeSet::new();
        for e in el.children_named(DD_NS, "enable-event") {
            let t = e.text();
            match EventCategory::parse(t.trim()) {
                Some(c) => {
                    out.insert(c);
                }
                None => self.err(
                    e.pos,
                    format!(
                        "<enable-event>: '{}' is not one of instanceLifecycle, activityLifecycle, dataHandling, scopeHandling, correlation",
                        t.trim()
                    ),
                ),
            }
        }
        out
    }

    fn events(&mut self, el: &Element) -> ProcessEvents {
        let generate = match el.attr("generate").map(str::trim) {
            None => None,
            Some("all") => Some(Generate::All),
            Some("none") => Some(Generate::None),
            Some(other) => {
                self.err(
                    el.pos,
                    format!("<process-events generate>: '{other}' is neither 'all' nor 'none'"),
                );
                None
            }
        };
        let enabled = self.categories(el);
        let mut scopes = Vec::new();
        for s in el.children_named(DD_NS, "scope-events") {
            let Some(name) = self.required_attr(s, "name") else {
                continue;
            };
            let enabled = self.categories(s);
            scopes.push(ScopeEvents { name, enabled });
        }
        ProcessEvents {
            generate,
            enabled,
            scopes,
        }
    }

    fn service(&mut self, el: &Element) -> Option<ServiceRef> {
        self.scope.push(&el.ns_decls);
        let name = self.qname_attr(el, "name");
        let port = self.required_attr(el, "port");
        let mut endpoint = None;
        for e in el.children_named(UEP_NS, "endpoint") {
            endpoint = Some(self.endpoint(e));
        }
        self.scope.pop();
        Some(ServiceRef {
            name: name?,
            port: port?,
            endpoint,
            pos: el.pos,
        })
    }

    fn endpoint(&mut self, el: &Element) -> EndpointConfig {
        let mut mex_timeout_ms = None;
        if let Some(m) = el.child(UEP_NS, "mex-timeout") {
            match m.attr("value") {
                Some(v) => mex_timeout_ms = self.number(m.pos, v, "<mex-timeout value>"),
                None => self.err(m.pos, "<mex-timeout> needs the attribute 'value'"),
            }
        }
        let inline_epr = el
            .elements()
            .find(|e| super::epr::is_epr_element(e))
            .cloned();
        EndpointConfig {
            endpoint_reference: el.attr("endpointReference").map(str::to_string),
            service_description_reference: el
                .attr("serviceDescriptionReference")
                .map(str::to_string),
            mex_timeout_ms,
            inline_epr,
            pos: el.pos,
        }
    }

    fn provide(&mut self, el: &Element) -> Option<Provide> {
        let partner_link = self.required_attr(el, "partnerLink");
        let correlation_filter = match el.attr("correlationFilter") {
            Some(v) => self.qname_value(el.pos, v, "provide/@correlationFilter"),
            None => None,
        };
        let service = match el.child(DD_NS, "service") {
            Some(s) => self.service(s),
            None => {
                self.err(el.pos, "<provide> needs a <service name=... port=...>");
                None
            }
        };
        Some(Provide {
            partner_link: partner_link?,
            service: service?,
            enable_sharing: el.child(DD_NS, "enableSharing").is_some(),
            correlation_filter,
            pos: el.pos,
        })
    }

    fn invoke(&mut self, el: &Element) -> Option<Invoke> {
        let partner_link = self.required_attr(el, "partnerLink");
        let use_peer2peer = match el.attr("usePeer2Peer") {
            Some(v) => self
                .boolean(el.pos, v, "invoke/@usePeer2Peer")
                .unwrap_or(true),
            None => true,
        };
        let service = match el.child(DD_NS, "service") {
            Some(s) => Some(self.service(s)?),
            None => None,
        };
        let binding = match el.child(DD_NS, "binding") {
            Some(b) => self.qname_attr(b, "name"),
            None => None,
        };
        let failure_handling = el
            .child(RECOVERY_NS, "failureHandling")
            .map(|f| self.failure_handling(f));
        Some(Invoke {
            partner_link: partner_link?,
            use_peer2peer,
            service,
            binding,
            failure_handling,
            pos: el.pos,
        })
    }

    fn failure_handling(&mut self, el: &Element) -> FailureHandling {
        let mut f = FailureHandling::default();
        for c in el.elements().filter(|c| c.name.ns == RECOVERY_NS) {
            let t = c.text();
            match c.name.local.as_str() {
                "retryFor" => {
                    f.retry_for = self.number(c.pos, &t, "<retryFor>").unwrap_or_default()
                }
                "retryDelay" => {
                    f.retry_delay_s = self.number(c.pos, &t, "<retryDelay>").unwrap_or_default()
                }
                "faultOnFailure" => {
                    f.fault_on_failure = self
                        .boolean(c.pos, &t, "<faultOnFailure>")
                        .unwrap_or_default()
                }
                _ => {}
            }
        }
        f
    }

    fn cleanup_categories(&mut self, el: &Element) -> BTreeSet<CleanupCategory> {
        let mut out = BTreeSet::new();
        let mut any = false;
        for c in el.children_named(DD_NS, "category") {
            any = true;
            let t = c.text();
            match CleanupCategory::named(t.trim()) {
                Some(cats) => out.extend(cats.iter().copied()),
                None => self.err(
                    c.pos,
                    format!(
                        "<category>: '{}' is not one of instance, variables, messages, correlations, events, all",
                        t.trim()
                    ),
                ),
            }
        }
        if !any {
            out.extend(ALL_CATEGORIES);
        }
        out
    }

    fn cleanup(&mut self, el: &Element) -> Option<Cleanup> {
        let on = match el.attr("on").map(str::trim) {
            None => None,
            Some("success") => Some(CleanupOn::Success),
            Some("failure") => Some(CleanupOn::Failure),
            Some("always") => Some(CleanupOn::Always),
            Some(other) => {
                self.err(
                    el.pos,
                    format!("<cleanup on>: '{other}' is not one of success, failure, always"),
                );
                return None;
            }
        };
        let categories = self.cleanup_categories(el);
        Some(Cleanup {
            on,
            categories,
            pos: el.pos,
        })
    }

    /// ODE's `ProcessCleanupConfImpl` rule: deleting the instance row without its variables
    /// and correlations would leave orphans, so such a set is refused. `always` contributes to
    /// both the success and the failure set.
    fn check_cleanups(&mut self, cleanups: &[Cleanup]) {
        for (on, label) in [
            (CleanupOn::Success, "success"),
            (CleanupOn::Failure, "failure"),
        ] {
            let mut set = BTreeSet::new();
            let mut pos = None;
            for c in cleanups {
                if c.on == Some(on) || c.on == Some(CleanupOn::Always) {
                    set.extend(c.categories.iter().copied());
                    pos.get_or_insert(c.pos);
                }
            }
            if set.contains(&CleanupCategory::Instance)
                && !(set.contains(&CleanupCategory::Variables)
                    && set.contains(&CleanupCategory::Correlations))
            {
                self.err(
                    pos.unwrap_or_default(),
                    format!(
                        "<cleanup> on {label}: category 'instance' needs 'variables' and 'correlations' in the same set"
                    ),
                );
            }
        }
    }

    fn schedule(&mut self, el: &Element) -> Option<Schedule> {
        let when = self.required_attr(el, "when");
        let mut cleanups = Vec::new();
        for c in el.children_named(DD_NS, "cleanup") {
            let filters: Vec<String> = c
                .children_named(DD_NS, "filter")
                .map(|f| f.text().trim().to_string())
                .collect();
            if filters.is_empty() {
                self.err(c.pos, "<schedule><cleanup> needs at least one <filter>");
            }
            for f in &filters {
                if let Err(e) = crate::store::filter::parse(f, 0) {
                    self.err(c.pos, format!("<filter>{f}</filter>: {e}"));
                }
            }
            let categories = self.cleanup_categories(c);
            cleanups.push(ScheduledCleanup {
                filters,
                categories,
            });
        }
        let when = when?;
        if let Err(e) = crate::scheduler::cron::Cron::parse(&when) {
            self.err(el.pos, format!("<schedule when>: {e}"));
        }
        Some(Schedule {
            when,
            cleanups,
            pos: el.pos,
        })
    }
}

#[cfg(test)]
mod tests;
