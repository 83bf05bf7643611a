//! The event model: one [`Event`] per ODE `BpelEvent`, with its [`Category`] and ODE class name.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bpelgate_wsdl::QName;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::deploy::descriptor::EventCategory;

use super::state::InstanceState;

/// An event category: the unit of `<enable-event>` filtering (ODE `BpelEvent.TYPE`).
///
/// Serialized as ODE's spelling (`"instanceLifecycle"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Category {
    /// Instance creation, start, state changes, completion, termination, message exchanges.
    InstanceLifecycle,
    /// Activity enabled/started/ended/failed/recovered.
    ActivityLifecycle,
    /// Variable reads and writes, correlation set and partner link writes.
    DataHandling,
    /// Scope start/completion/fault, compensation handler registration.
    ScopeHandling,
    /// Inbound message correlation matched or not.
    Correlation,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 5] = [
        Category::InstanceLifecycle,
        Category::ActivityLifecycle,
        Category::DataHandling,
        Category::ScopeHandling,
        Category::Correlation,
    ];

    /// ODE's name, as written in `<enable-event>`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::InstanceLifecycle => "instanceLifecycle",
            Category::ActivityLifecycle => "activityLifecycle",
            Category::DataHandling => "dataHandling",
            Category::ScopeHandling => "scopeHandling",
            Category::Correlation => "correlation",
        }
    }

    /// The category named `s` (ODE spelling, case-sensitive as in deploy.xml).
    pub fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// This category's bit in a [`CategorySet`].
    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<EventCategory> for Category {
    fn from(c: EventCategory) -> Self {
        match c {
            EventCategory::InstanceLifecycle => Category::InstanceLifecycle,
            EventCategory::ActivityLifecycle => Category::ActivityLifecycle,
            EventCategory::DataHandling => Category::DataHandling,
            EventCategory::ScopeHandling => Category::ScopeHandling,
            EventCategory::Correlation => Category::Correlation,
        }
    }
}

/// A set of [`Category`] values as a bitmask: testing membership is one AND.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CategorySet(u8);

impl CategorySet {
    /// No category.
    pub const EMPTY: CategorySet = CategorySet(0);
    /// Every category (`generate="all"`).
    pub const ALL: CategorySet = CategorySet(0b1_1111);
    /// Apache ODE's default without `<process-events>`: everything except `scopeHandling`.
    pub const ODE_DEFAULT: CategorySet = CategorySet(0b1_1111 & !Category::ScopeHandling.bit());

    /// True when `cat` is in the set.
    #[inline]
    pub const fn contains(self, cat: Category) -> bool {
        self.0 & cat.bit() != 0
    }

    /// The set with `cat` added.
    #[must_use]
    pub const fn with(self, cat: Category) -> Self {
        CategorySet(self.0 | cat.bit())
    }

    /// The union of both sets.
    #[must_use]
    pub const fn union(self, other: CategorySet) -> Self {
        CategorySet(self.0 | other.0)
    }

    /// True when no category is in the set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The categories in the set, in [`Category::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Category> for CategorySet {
    fn from_iter<I: IntoIterator<Item = Category>>(iter: I) -> Self {
        iter.into_iter()
            .fold(CategorySet::EMPTY, |set, c| set.with(c))
    }
}

/// The scope an event happened in (ODE `ScopeEvent` fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeInfo {
    /// The scope instance (ODE `scopeId`): unique within the process instance.
    pub scope_instance_id: u64,
    /// The enclosing scope instance (None for the process scope).
    pub parent_scope_instance_id: Option<u64>,
    /// The `<scope name>` (None for unnamed and implicit scopes and the process scope).
    pub name: Option<Arc<str>>,
    /// The scope declaration: `ScopeId.0` in the compiled process (ODE `scopeDeclarationId`).
    pub declaration_id: u32,
    /// Names of this scope and its enclosing named scopes, innermost first (ODE
    /// `parentScopesNames`; unnamed scopes and the process scope are left out). Shared per
    /// declaration: see [`EventFilter::scope_info`](super::EventFilter::scope_info).
    pub parent_scope_names: Arc<[Arc<str>]>,
}

/// The activity an event is about (ODE `ActivityEvent` fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityInfo {
    /// The activity's `name` attribute, if any.
    pub name: Option<Arc<str>>,
    /// The activity element's local name: `"receive"`, `"assign"`, `"scope"`, ...
    pub kind: Cow<'static, str>,
    /// The activity declaration: `ActivityId.0` in the compiled process (ODE `declarationId`).
    pub declaration_id: u32,
    /// This execution of the activity (ODE `activityId`): unique within the process instance,
    /// and the id `recoverActivity` takes.
    pub activity_instance_id: u64,
}

/// Which step of a message exchange a [`EventKind::ProcessMessageExchange`] reports
/// (ODE `ProcessMessageExchangeEvent` aspect codes 0..6). Serialized as the constant name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MexAspect {
    /// 0: a request to the process arrived.
    ProcessInput,
    /// 1: the process replied.
    ProcessOutput,
    /// 2: the process replied with a fault.
    ProcessFault,
    /// 3: the process sent a request to a partner.
    PartnerInput,
    /// 4: a partner replied.
    PartnerOutput,
    /// 5: a partner replied with a fault.
    PartnerFault,
    /// 6: a partner call failed (transport error, timeout).
    PartnerFailure,
}

impl MexAspect {
    /// ODE's numeric code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The aspect with ODE code `code`.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => MexAspect::ProcessInput,
            1 => MexAspect::ProcessOutput,
            2 => MexAspect::ProcessFault,
            3 => MexAspect::PartnerInput,
            4 => MexAspect::PartnerOutput,
            5 => MexAspect::PartnerFault,
            6 => MexAspect::PartnerFailure,
            _ => return None,
        })
    }
}

/// A message exchange an event refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MexRef {
    /// The WSDL port type.
    #[serde(with = "clark")]
    pub port_type: QName,
    /// The WSDL operation.
    pub operation: String,
    /// The engine's message exchange id.
    pub mex_id: String,
}

/// A correlation key: a correlation set and its property values in declaration order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationKey {
    /// The correlation set's name.
    pub correlation_set: String,
    /// Property values, in the set's `properties` order.
    pub values: Vec<String>,
}

/// `recoverActivity` actions (ODE `ActivityRecoveryEvent.recoveryAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecoveryAction {
    /// Run the failed activity again.
    Retry,
    /// Complete the activity as if it had succeeded without doing anything.
    Cancel,
    /// Throw `activityFailure` from the activity.
    Fault,
}

/// What happened: one variant per ODE event class, with that class's own fields.
///
/// Serialized internally tagged: `"type"` holds ODE's class name ([`EventKind::ode_type`]) and
/// the variant's fields sit next to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    // --- activityLifecycle (scoped) ---
    /// An activity was enabled (its incoming links and parent allow it to start).
    #[serde(rename = "ActivityEnabledEvent")]
    ActivityEnabled,
    /// An activity was skipped by dead-path elimination. ODE documents it but never emits it.
    #[serde(rename = "ActivityDisabledEvent")]
    ActivityDisabled,
    /// An activity started executing.
    #[serde(rename = "ActivityExecStartEvent")]
    ActivityExecStart,
    /// An activity finished executing.
    #[serde(rename = "ActivityExecEndEvent")]
    ActivityExecEnd,
    /// An activity failed and waits for recovery (ODE's ACTIVITYGUARD entering recovery).
    #[serde(rename = "ActivityFailureEvent")]
    ActivityFailure {
        /// Why it failed.
        reason: String,
    },
    /// An operator chose a recovery action for a failed activity.
    #[serde(rename = "ActivityRecoveryEvent")]
    ActivityRecovery {
        /// The chosen action.
        action: RecoveryAction,
    },

    // --- scopeHandling (scoped) ---
    /// A scope started.
    #[serde(rename = "ScopeStartEvent")]
    ScopeStart,
    /// A scope completed.
    #[serde(rename = "ScopeCompletionEvent")]
    ScopeCompletion,
    /// A fault was thrown in a scope.
    #[serde(rename = "ScopeFaultEvent")]
    ScopeFault {
        /// The fault's QName.
        #[serde(with = "clark")]
        fault: QName,
        /// The line of the activity that raised it.
        fault_line: Option<u32>,
        /// A human explanation.
        explanation: Option<String>,
    },
    /// A completed scope installed its compensation handler.
    #[serde(rename = "CompensationHandlerRegistered")]
    CompensationHandlerRegistered,

    // --- dataHandling (scoped) ---
    /// A variable was written.
    #[serde(rename = "VariableModificationEvent")]
    VariableModification {
        /// The variable's name.
        variable: String,
        /// The new value serialized as XML, only when that was cheap (ODE keeps the DOM node
        /// transient and never persists it); None otherwise.
        value: Option<String>,
    },
    /// A variable was read.
    #[serde(rename = "VariableReadEvent")]
    VariableRead {
        /// The variable's name.
        variable: String,
    },
    /// A correlation set was initiated.
    #[serde(rename = "CorrelationSetWriteEvent")]
    CorrelationSetWrite {
        /// The set and its new values.
        key: CorrelationKey,
    },
    /// A partner link was assigned.
    #[serde(rename = "PartnerLinkModificationEvent")]
    PartnerLinkModification {
        /// The partner link's name.
        partner_link: String,
    },

    // --- instanceLifecycle (process level) ---
    /// A message created a new instance.
    #[serde(rename = "NewProcessInstanceEvent")]
    NewProcessInstance {
        /// The root scope instance.
        root_scope_id: u64,
        /// The root scope declaration (always 0).
        scope_declaration_id: u32,
        /// The creating message exchange, when known.
        mex: Option<MexRef>,
    },
    /// An instance started running.
    #[serde(rename = "ProcessInstanceStartedEvent")]
    ProcessInstanceStarted {
        /// The root scope instance.
        root_scope_id: u64,
        /// The root scope declaration (always 0).
        scope_declaration_id: u32,
    },
    /// An instance changed state.
    #[serde(rename = "ProcessInstanceStateChangeEvent")]
    ProcessInstanceStateChange {
        /// The previous state.
        old_state: InstanceState,
        /// The new state.
        new_state: InstanceState,
    },
    /// An instance completed, normally or with an uncaught fault.
    #[serde(rename = "ProcessCompletionEvent")]
    ProcessCompletion {
        /// The uncaught fault (None = completed normally).
        #[serde(with = "clark_opt", default)]
        fault: Option<QName>,
    },
    /// An instance was terminated (`<exit>` or an operator).
    #[serde(rename = "ProcessTerminationEvent")]
    ProcessTermination,
    /// A message went in or out of the instance.
    #[serde(rename = "ProcessMessageExchangeEvent")]
    ProcessMessageExchange {
        /// The exchange.
        #[serde(flatten)]
        mex: MexRef,
        /// Which step of it.
        aspect: MexAspect,
    },

    // --- correlation (process level) ---
    /// An inbound message matched an instance.
    #[serde(rename = "CorrelationMatchEvent")]
    CorrelationMatch {
        /// The exchange.
        #[serde(flatten)]
        mex: MexRef,
        /// The keys it matched on.
        keys: Vec<CorrelationKey>,
    },
    /// An inbound message matched no instance (it is kept for a later receive, or rejected).
    #[serde(rename = "CorrelationNoMatchEvent")]
    CorrelationNoMatch {
        /// The exchange.
        #[serde(flatten)]
        mex: MexRef,
        /// The keys that were looked up.
        keys: Vec<CorrelationKey>,
    },
}

/// The type of an event without its data: what the executor names before building the event,
/// and what management filters (`type=...`) select. Its text form is [`EventType::ode_type`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// [`EventKind::ActivityEnabled`].
    ActivityEnabled,
    /// [`EventKind::ActivityDisabled`].
    ActivityDisabled,
    /// [`EventKind::ActivityExecStart`].
    ActivityExecStart,
    /// [`EventKind::ActivityExecEnd`].
    ActivityExecEnd,
    /// [`EventKind::ActivityFailure`].
    ActivityFailure,
    /// [`EventKind::ActivityRecovery`].
    ActivityRecovery,
    /// [`EventKind::ScopeStart`].
    ScopeStart,
    /// [`EventKind::ScopeCompletion`].
    ScopeCompletion,
    /// [`EventKind::ScopeFault`].
    ScopeFault,
    /// [`EventKind::CompensationHandlerRegistered`].
    CompensationHandlerRegistered,
    /// [`EventKind::VariableModification`].
    VariableModification,
    /// [`EventKind::VariableRead`].
    VariableRead,
    /// [`EventKind::CorrelationSetWrite`].
    CorrelationSetWrite,
    /// [`EventKind::PartnerLinkModification`].
    PartnerLinkModification,
    /// [`EventKind::NewProcessInstance`].
    NewProcessInstance,
    /// [`EventKind::ProcessInstanceStarted`].
    ProcessInstanceStarted,
    /// [`EventKind::ProcessInstanceStateChange`].
    ProcessInstanceStateChange,
    /// [`EventKind::ProcessCompletion`].
    ProcessCompletion,
    /// [`EventKind::ProcessTermination`].
    ProcessTermination,
    /// [`EventKind::ProcessMessageExchange`].
    ProcessMessageExchange,
    /// [`EventKind::CorrelationMatch`].
    CorrelationMatch,
    /// [`EventKind::CorrelationNoMatch`].
    CorrelationNoMatch,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 22] = [
        EventType::ActivityEnabled,
        EventType::ActivityDisabled,
        EventType::ActivityExecStart,
        EventType::ActivityExecEnd,
        EventType::ActivityFailure,
        EventType::ActivityRecovery,
        EventType::ScopeStart,
        EventType::ScopeCompletion,
        EventType::ScopeFault,
        EventType::CompensationHandlerRegistered,
        EventType::VariableModification,
        EventType::VariableRead,
        EventType::CorrelationSetWrite,
        EventType::PartnerLinkModification,
        EventType::NewProcessInstance,
        EventType::ProcessInstanceStarted,
        EventType::ProcessInstanceStateChange,
        EventType::ProcessCompletion,
        EventType::ProcessTermination,
        EventType::ProcessMessageExchange,
        EventType::CorrelationMatch,
        EventType::CorrelationNoMatch,
    ];

    /// The ODE category (`BpelEvent.getType()` of the class).
    pub const fn category(self) -> Category {
        use EventType::*;
        match self {
            ActivityEnabled | ActivityDisabled | ActivityExecStart | ActivityExecEnd
            | ActivityFailure | ActivityRecovery => Category::ActivityLifecycle,
            ScopeStart | ScopeCompletion | ScopeFault | CompensationHandlerRegistered => {
                Category::ScopeHandling
            }
            VariableModification | VariableRead | CorrelationSetWrite | PartnerLinkModification => {
                Category::DataHandling
            }
            NewProcessInstance
            | ProcessInstanceStarted
            | ProcessInstanceStateChange
            | ProcessCompletion
            | ProcessTermination
            | ProcessMessageExchange => Category::InstanceLifecycle,
            CorrelationMatch | CorrelationNoMatch => Category::Correlation,
        }
    }

    /// True for ODE `ScopeEvent` subclasses (activity, scope and data events): their filtering
    /// looks at enclosing `<scope-events>`. Instance and correlation events are filtered at
    /// process level only, as in ODE (`BpelProcess.saveEvent` gets no scope names for them).
    pub const fn is_scoped(self) -> bool {
        matches!(
            self.category(),
            Category::ActivityLifecycle | Category::ScopeHandling | Category::DataHandling
        )
    }

    /// ODE's class simple name (`"ActivityEnabledEvent"`): the `"type"` in JSON and in
    /// management filters. `CompensationHandlerRegistered` has no `Event` suffix upstream.
    pub const fn ode_type(self) -> &'static str {
        use EventType::*;
        match self {
            ActivityEnabled => "ActivityEnabledEvent",
            ActivityDisabled => "ActivityDisabledEvent",
            ActivityExecStart => "ActivityExecStartEvent",
            ActivityExecEnd => "ActivityExecEndEvent",
            ActivityFailure => "ActivityFailureEvent",
            ActivityRecovery => "ActivityRecoveryEvent",
            ScopeStart => "ScopeStartEvent",
            ScopeCompletion => "ScopeCompletionEvent",
            ScopeFault => "ScopeFaultEvent",
            CompensationHandlerRegistered => "CompensationHandlerRegistered",
            VariableModification => "VariableModificationEvent",
            VariableRead => "VariableReadEvent",
            CorrelationSetWrite => "CorrelationSetWriteEvent",
            PartnerLinkModification => "PartnerLinkModificationEvent",
            NewProcessInstance => "NewProcessInstanceEvent",
            ProcessInstanceStarted => "ProcessInstanceStartedEvent",
            ProcessInstanceStateChange => "ProcessInstanceStateChangeEvent",
            ProcessCompletion => "ProcessCompletionEvent",
            ProcessTermination => "ProcessTerminationEvent",
            ProcessMessageExchange => "ProcessMessageExchangeEvent",
            CorrelationMatch => "CorrelationMatchEvent",
            CorrelationNoMatch => "CorrelationNoMatchEvent",
        }
    }

    /// The type whose [`ode_type`](Self::ode_type) is `name`; the `Event` suffix may be left
    /// out (`"ActivityEnabled"`), as management filters written by hand often do.
    pub fn from_ode_type(name: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|t| {
            let full = t.ode_type();
            full == name || full.strip_suffix("Event") == Some(name)
        })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ode_type())
    }
}

impl EventKind {
    /// The data-less type of this kind.
    pub const fn event_type(&self) -> EventType {
        match self {
            EventKind::ActivityEnabled => EventType::ActivityEnabled,
            EventKind::ActivityDisabled => EventType::ActivityDisabled,
            EventKind::ActivityExecStart => EventType::ActivityExecStart,
            EventKind::ActivityExecEnd => EventType::ActivityExecEnd,
            EventKind::ActivityFailure { .. } => EventType::ActivityFailure,
            EventKind::ActivityRecovery { .. } => EventType::ActivityRecovery,
            EventKind::ScopeStart => EventType::ScopeStart,
            EventKind::ScopeCompletion => EventType::ScopeCompletion,
            EventKind::ScopeFault { .. } => EventType::ScopeFault,
            EventKind::CompensationHandlerRegistered => EventType::CompensationHandlerRegistered,
            EventKind::VariableModification { .. } => EventType::VariableModification,
            EventKind::VariableRead { .. } => EventType::VariableRead,
            EventKind::CorrelationSetWrite { .. } => EventType::CorrelationSetWrite,
            EventKind::PartnerLinkModification { .. } => EventType::PartnerLinkModification,
            EventKind::NewProcessInstance { .. } => EventType::NewProcessInstance,
            EventKind::ProcessInstanceStarted { .. } => EventType::ProcessInstanceStarted,
            EventKind::ProcessInstanceStateChange { .. } => EventType::ProcessInstanceStateChange,
            EventKind::ProcessCompletion { .. } => EventType::ProcessCompletion,
            EventKind::ProcessTermination => EventType::ProcessTermination,
            EventKind::ProcessMessageExchange { .. } => EventType::ProcessMessageExchange,
            EventKind::CorrelationMatch { .. } => EventType::CorrelationMatch,
            EventKind::CorrelationNoMatch { .. } => EventType::CorrelationNoMatch,
        }
    }

    /// The ODE category of this kind.
    pub const fn category(&self) -> Category {
        self.event_type().category()
    }

    /// ODE's class name (`"ActivityEnabledEvent"`).
    pub const fn ode_type(&self) -> &'static str {
        self.event_type().ode_type()
    }
}

/// One execution event (ODE `BpelEvent` and its subclasses, flattened).
///
/// Shared context (process, instance, scope, activity) sits in the struct; what is specific to
/// the event type is in [`kind`](Self::kind). Names taken from the compiled process are
/// `Arc<str>` so building an event for an enabled category costs reference-count bumps, not
/// string copies.
///
/// JSON: `{"timestamp_ms", "line", "process_id", "process_name": "{ns}local", "instance_id",
/// "scope": {..}|null, "activity": {..}|null, "category": "activityLifecycle",
/// "type": "ActivityEnabledEvent", ..kind fields}`. `category` is derived from `type` and
/// ignored when reading back.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Event {
    /// When it happened, in ms since the Unix epoch (the step's injected clock).
    pub timestamp_ms: i64,
    /// The BPEL source line it relates to, when known.
    pub line: Option<u32>,
    /// The process version id, `{ns}local-version` (ODE pid).
    pub process_id: Arc<str>,
    /// The process QName (`{targetNamespace}name`).
    #[serde(deserialize_with = "clark_arc::deserialize")]
    pub process_name: Arc<QName>,
    /// The instance (None for events before an instance exists, e.g. a correlation no-match).
    pub instance_id: Option<i64>,
    /// The scope, for scoped events (activity, scope and data events).
    pub scope: Option<ScopeInfo>,
    /// The activity, for activity events (and data events raised by an activity, optionally).
    pub activity: Option<ActivityInfo>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// An event with no line, scope or activity; add those with the `with_*` methods.
    pub fn new(
        timestamp_ms: i64,
        process_id: Arc<str>,
        process_name: Arc<QName>,
        instance_id: Option<i64>,
        kind: EventKind,
    ) -> Self {
        Event {
            timestamp_ms,
            line: None,
            process_id,
            process_name,
            instance_id,
            scope: None,
            activity: None,
            kind,
        }
    }

    /// Sets the source line.
    #[must_use]
    pub fn with_line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the scope.
    #[must_use]
    pub fn with_scope(mut self, scope: ScopeInfo) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Sets the activity.
    #[must_use]
    pub fn with_activity(mut self, activity: ActivityInfo) -> Self {
        self.activity = Some(activity);
        self
    }

    /// The event's type.
    pub const fn event_type(&self) -> EventType {
        self.kind.event_type()
    }

    /// The event's ODE category.
    pub const fn category(&self) -> Category {
        self.kind.category()
    }

    /// ODE's class name (`"ActivityEnabledEvent"`).
    pub const fn ode_type(&self) -> &'static str {
        self.kind.ode_type()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A borrowed mirror so the derived `category` is written next to the stored fields.
        #[derive(Serialize)]
        struct Wire<'a> {
            timestamp_ms: i64,
            line: Option<u32>,
            process_id: &'a str,
            #[serde(serialize_with = "clark_arc::serialize")]
            process_name: &'a Arc<QName>,
            instance_id: Option<i64>,
            scope: &'a Option<ScopeInfo>,
            activity: &'a Option<ActivityInfo>,
            category: Category,
            #[serde(flatten)]
            kind: &'a EventKind,
        }
        Wire {
            timestamp_ms: self.timestamp_ms,
            line: self.line,
            process_id: &self.process_id,
            process_name: &self.process_name,
            instance_id: self.instance_id,
            scope: &self.scope,
            activity: &self.activity,
            category: self.category(),
            kind: &self.kind,
        }
        .serialize(serializer)
    }
}

/// QNames as Clark strings (`{ns}local`) in JSON: what people read and type in filters.
mod clark {
    use super::*;

    pub(super) fn serialize<S: Serializer>(q: &QName, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(q)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<QName, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Ok(QName::from_clark(&s))
    }
}

mod clark_opt {
    use super::*;

    pub(super) fn serialize<S: Serializer>(q: &Option<QName>, s: S) -> Result<S::Ok, S::Error> {
        match q {
            Some(q) => s.collect_str(q),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<QName>, D::Error> {
        let s = Option::<Cow<str>>::deserialize(d)?;
        Ok(s.map(|s| QName::from_clark(&s)))
    }
}

mod clark_arc {
    use super::*;

    pub(super) fn serialize<S: Serializer>(q: &&Arc<QName>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&***q)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<QName>, D::Error> {
        super::clark::deserialize(d).map(Arc::new)
    }
}
