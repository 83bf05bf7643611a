//! The BPEL abstract syntax tree: what the author wrote, with positions, before any checking.
//!
//! All three dialects the parser accepts (WS-BPEL 2.0 OASIS, the 2004/03 draft ODE accepts, and
//! BPEL4WS 1.1) are mapped onto this one tree; [`Dialect`] records which one was read. QName-valued
//! attributes are resolved against the namespaces in scope where they were written; a prefix that
//! is not declared is reported by the parser and the attribute is left out (`None`).

use std::sync::Arc;

use bpelgate_wsdl::xml::{Element, Pos, QName};

/// Namespace bindings (prefix, uri) in force at an element; shared between expressions.
pub type Namespaces = Arc<Vec<(String, String)>>;

/// Which BPEL namespace the process was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `http://docs.oasis-open.org/wsbpel/2.0/process/executable`.
    Bpel20,
    /// `http://schemas.xmlsoap.org/ws/2004/03/business-process/` (pre-OASIS draft).
    Bpel20Draft,
    /// `http://schemas.xmlsoap.org/ws/2003/03/business-process/` (BPEL4WS 1.1).
    Bpel11,
}

/// An expression or query text with its language and namespace context.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// `expressionLanguage`/`queryLanguage` written on this element (None = inherited).
    pub language: Option<String>,
    /// The text as written (trimmed).
    pub text: String,
    /// Where the text (or the attribute holding it) is.
    pub pos: Pos,
    /// Namespaces in scope there.
    pub ns: Namespaces,
}

/// `<extension namespace mustUnderstand>`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtensionDecl {
    /// The extension namespace.
    pub namespace: String,
    /// `mustUnderstand="yes"`.
    pub must_understand: bool,
    /// Position.
    pub pos: Pos,
}

/// `<import namespace location importType>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// `namespace` (None when absent).
    pub namespace: Option<String>,
    /// `location` (None when absent).
    pub location: Option<String>,
    /// `importType` URI.
    pub import_type: String,
    /// Position.
    pub pos: Pos,
}

/// The process root.
#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    /// Dialect.
    pub dialect: Dialect,
    /// `name`.
    pub name: String,
    /// `targetNamespace`.
    pub target_namespace: String,
    /// `queryLanguage`.
    pub query_language: Option<String>,
    /// `expressionLanguage`.
    pub expression_language: Option<String>,
    /// `suppressJoinFailure` (None = default "no").
    pub suppress_join_failure: Option<bool>,
    /// `exitOnStandardFault` (None = default "no").
    pub exit_on_standard_fault: Option<bool>,
    /// `<extensions>`.
    pub extensions: Vec<ExtensionDecl>,
    /// `<import>`s.
    pub imports: Vec<Import>,
    /// Declarations, handlers and the main activity (process has no compensation/termination handler).
    pub body: ScopeBody,
    /// Namespaces declared on the root.
    pub ns: Namespaces,
    /// Foreign attributes on the root element (extension attributes, e.g. ODE's `atomic`).
    pub foreign_attrs: Vec<(QName, String)>,
    /// Position of `<process>`.
    pub pos: Pos,
}

/// What a process and a scope have in common.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScopeBody {
    /// `<partnerLinks>`.
    pub partner_links: Vec<PartnerLinkDecl>,
    /// `<messageExchanges>`.
    pub message_exchanges: Vec<MessageExchangeDecl>,
    /// `<variables>`.
    pub variables: Vec<VariableDecl>,
    /// `<correlationSets>`.
    pub correlation_sets: Vec<CorrelationSetDecl>,
    /// `<faultHandlers>`.
    pub fault_handlers: Option<FaultHandlers>,
    /// `<eventHandlers>`.
    pub event_handlers: Option<EventHandlers>,
    /// `<compensationHandler>` (scopes only).
    pub compensation_handler: Option<Handler>,
    /// `<terminationHandler>` (scopes only).
    pub termination_handler: Option<Handler>,
    /// The primary activity; None when missing (a static error the checker reports).
    pub activity: Option<Box<Activity>>,
}

/// A handler holding one activity (compensation, termination, catchAll).
#[derive(Clone, Debug, PartialEq)]
pub struct Handler {
    /// The activity (None when the author left it empty).
    pub activity: Option<Box<Activity>>,
    /// Position of the handler element.
    pub pos: Pos,
}

/// `<partnerLink>`.
#[derive(Clone, Debug, PartialEq)]
pub struct PartnerLinkDecl {
    /// `name`.
    pub name: String,
    /// `partnerLinkType`.
    pub partner_link_type: Option<QName>,
    /// `myRole`.
    pub my_role: Option<String>,
    /// `partnerRole`.
    pub partner_role: Option<String>,
    /// `initializePartnerRole`.
    pub initialize_partner_role: Option<bool>,
    /// Position.
    pub pos: Pos,
}

/// `<messageExchange name>`.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageExchangeDecl {
    /// `name`.
    pub name: String,
    /// Position.
    pub pos: Pos,
}

/// The declared type of a variable.
#[derive(Clone, Debug, PartialEq)]
pub enum VariableType {
    /// `messageType`.
    MessageType(QName),
    /// `type`.
    Type(QName),
    /// `element`.
    Element(QName),
}

/// `<variable>` (also used for onEvent's implicit variable and catch's faultVariable).
#[derive(Clone, Debug, PartialEq)]
pub struct VariableDecl {
    /// `name`.
    pub name: String,
    /// Every type attribute written (more or fewer than one is a static error, SA00025).
    pub types: Vec<VariableType>,
    /// Inline from-spec initialisation.
    pub from: Option<From>,
    /// Position.
    pub pos: Pos,
}

/// `<correlationSet name properties>`.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationSetDecl {
    /// `name`.
    pub name: String,
    /// `properties` (QName list).
    pub properties: Vec<QName>,
    /// Position.
    pub pos: Pos,
}

/// `<faultHandlers>`.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultHandlers {
    /// `<catch>` in document order.
    pub catches: Vec<Catch>,
    /// `<catchAll>`.
    pub catch_all: Option<Handler>,
    /// Position.
    pub pos: Pos,
}

/// `<catch>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Catch {
    /// `faultName`.
    pub fault_name: Option<QName>,
    /// `faultVariable`.
    pub fault_variable: Option<String>,
    /// `faultMessageType`.
    pub fault_message_type: Option<QName>,
    /// `faultElement`.
    pub fault_element: Option<QName>,
    /// The handler activity.
    pub activity: Option<Box<Activity>>,
    /// Position.
    pub pos: Pos,
}

/// `<eventHandlers>`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventHandlers {
    /// `<onEvent>`s.
    pub on_events: Vec<OnEvent>,
    /// `<onAlarm>`s.
    pub on_alarms: Vec<OnAlarm>,
    /// Position.
    pub pos: Pos,
}

/// The message-receiving attributes shared by receive, pick/onMessage and onEvent.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageTarget {
    /// `partnerLink`.
    pub partner_link: String,
    /// `portType` (optional in 2.0).
    pub port_type: Option<QName>,
    /// `operation`.
    pub operation: String,
    /// `variable`.
    pub variable: Option<String>,
    /// `messageExchange`.
    pub message_exchange: Option<String>,
    /// `<correlations>`.
    pub correlations: Vec<Correlation>,
    /// `<fromParts>`.
    pub from_parts: Vec<FromPart>,
}

/// `<onEvent>`: declares its variable (typed by `messageType` or `element`) in its scope.
#[derive(Clone, Debug, PartialEq)]
pub struct OnEvent {
    /// What is received.
    pub target: MessageTarget,
    /// `messageType`.
    pub message_type: Option<QName>,
    /// `element`.
    pub element: Option<QName>,
    /// The associated scope (must be a `<scope>`).
    pub activity: Option<Box<Activity>>,
    /// Position.
    pub pos: Pos,
}

/// `for` / `until` of wait and onAlarm.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// `<for>` (duration expression).
    pub for_expr: Option<Expr>,
    /// `<until>` (deadline expression).
    pub until_expr: Option<Expr>,
}

/// `<onAlarm>` (in pick or eventHandlers).
#[derive(Clone, Debug, PartialEq)]
pub struct OnAlarm {
    /// for/until.
    pub timing: Timing,
    /// `<repeatEvery>` (eventHandlers only).
    pub repeat_every: Option<Expr>,
    /// The activity (a scope in eventHandlers).
    pub activity: Option<Box<Activity>>,
    /// Position.
    pub pos: Pos,
}

/// `<onMessage>` of a pick.
#[derive(Clone, Debug, PartialEq)]
pub struct OnMessage {
    /// What is received.
    pub target: MessageTarget,
    /// The activity.
    pub activity: Option<Box<Activity>>,
    /// Position.
    pub pos: Pos,
}

/// `<correlation set initiate pattern>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Correlation {
    /// `set`.
    pub set: String,
    /// `initiate`: "yes", "join" or "no" (None = "no").
    pub initiate: Option<Initiate>,
    /// `pattern` (invoke only): "request", "response", "request-response".
    pub pattern: Option<Pattern>,
    /// Position.
    pub pos: Pos,
}

/// `initiate` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiate {
    /// yes.
    Yes,
    /// join.
    Join,
    /// no.
    No,
}

/// `pattern` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// request.
    Request,
    /// response.
    Response,
    /// request-response.
    RequestResponse,
}

/// `<fromPart part toVariable>`.
#[derive(Clone, Debug, PartialEq)]
pub struct FromPart {
    /// `part`.
    pub part: String,
    /// `toVariable`.
    pub to_variable: String,
    /// Position.
    pub pos: Pos,
}

/// `<toPart part fromVariable>`.
#[derive(Clone, Debug, PartialEq)]
pub struct ToPart {
    /// `part`.
    pub part: String,
    /// `fromVariable`.
    pub from_variable: String,
    /// Position.
    pub pos: Pos,
}

/// `<targets>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    /// `<joinCondition>`.
    pub join_condition: Option<Expr>,
    /// `<target linkName>` (name, position).
    pub links: Vec<(String, Pos)>,
}

/// `<source linkName>` with its optional transition condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// `linkName`.
    pub link: String,
    /// `<transitionCondition>`.
    pub transition_condition: Option<Expr>,
    /// Position.
    pub pos: Pos,
}

/// An activity with its standard attributes and elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    /// `name`.
    pub name: Option<String>,
    /// `suppressJoinFailure`.
    pub suppress_join_failure: Option<bool>,
    /// `<targets>` (None when absent).
    pub targets: Option<Targets>,
    /// `<sources>`.
    pub sources: Vec<Source>,
    /// The activity proper.
    pub kind: ActivityKind,
    /// Foreign attributes and elements kept for extensions (e.g. `ext:failureHandling`).
    pub extension_elements: Vec<Element>,
    /// Attributes in non-BPEL namespaces written on the activity element.
    pub foreign_attrs: Vec<(QName, String)>,
    /// Position of the activity element.
    pub pos: Pos,
}

/// The activities of WS-BPEL 2.0 (BPEL4WS 1.1 `switch`/`terminate` map onto `If`/`Exit`).
#[derive(Clone, Debug, PartialEq)]
pub enum ActivityKind {
    /// `<receive>`.
    Receive(Receive),
    /// `<reply>`.
    Reply(Reply),
    /// `<invoke>`.
    Invoke(Box<Invoke>),
    /// `<assign>`.
    Assign(Assign),
    /// `<throw>`.
    Throw {
        /// `faultName`.
        fault_name: Option<QName>,
        /// `faultVariable`.
        fault_variable: Option<String>,
    },
    /// `<rethrow>`.
    Rethrow,
    /// `<exit>` (BPEL4WS 1.1 `terminate`).
    Exit,
    /// `<wait>`.
    Wait(Timing),
    /// `<empty>`.
    Empty,
    /// `<sequence>`.
    Sequence(Vec<Activity>),
    /// `<if>` (BPEL4WS 1.1 `switch`: first case is the condition, further cases elseif).
    If(Box<If>),
    /// `<while>`.
    While {
        /// `<condition>`.
        condition: Option<Expr>,
        /// Body.
        body: Option<Box<Activity>>,
    },
    /// `<repeatUntil>`.
    RepeatUntil {
        /// Body.
        body: Option<Box<Activity>>,
        /// `<condition>`.
        condition: Option<Expr>,
    },
    /// `<forEach>`.
    ForEach(Box<ForEach>),
    /// `<pick>`.
    Pick(Pick),
    /// `<flow>`.
    Flow(Flow),
    /// `<scope>`.
    Scope(Box<Scope>),
    /// `<compensate/>`.
    Compensate,
    /// `<compensateScope target>` (BPEL4WS 1.1 `compensate scope=`).
    CompensateScope {
        /// `target`.
        target: String,
    },
    /// `<validate variables>`.
    Validate {
        /// `variables` (space-separated list).
        variables: Vec<String>,
    },
    /// `<extensionActivity>`: the single child element, kept as XML.
    Extension(Element),
}

/// `<receive>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Receive {
    /// What is received.
    pub target: MessageTarget,
    /// `createInstance="yes"`.
    pub create_instance: bool,
}

/// `<reply>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// `partnerLink`.
    pub partner_link: String,
    /// `portType`.
    pub port_type: Option<QName>,
    /// `operation`.
    pub operation: String,
    /// `variable`.
    pub variable: Option<String>,
    /// `faultName`.
    pub fault_name: Option<QName>,
    /// `messageExchange`.
    pub message_exchange: Option<String>,
    /// `<correlations>`.
    pub correlations: Vec<Correlation>,
    /// `<toParts>`.
    pub to_parts: Vec<ToPart>,
}

/// `<invoke>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Invoke {
    /// `partnerLink`.
    pub partner_link: String,
    /// `portType`.
    pub port_type: Option<QName>,
    /// `operation`.
    pub operation: String,
    /// `inputVariable`.
    pub input_variable: Option<String>,
    /// `outputVariable`.
    pub output_variable: Option<String>,
    /// `<correlations>` (with `pattern`).
    pub correlations: Vec<Correlation>,
    /// `<toParts>`.
    pub to_parts: Vec<ToPart>,
    /// `<fromParts>`.
    pub from_parts: Vec<FromPart>,
    /// Inline `<catch>`.
    pub catches: Vec<Catch>,
    /// Inline `<catchAll>`.
    pub catch_all: Option<Handler>,
    /// Inline `<compensationHandler>`.
    pub compensation_handler: Option<Handler>,
}

/// `<assign validate>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Assign {
    /// `validate="yes"`.
    pub validate: bool,
    /// Operations in order.
    pub operations: Vec<AssignOperation>,
}

/// One operation of an assign.
#[derive(Clone, Debug, PartialEq)]
pub enum AssignOperation {
    /// `<copy>`.
    Copy(Copy),
    /// `<extensionAssignOperation>`: its child element kept as XML.
    Extension(Element),
}

/// `<copy keepSrcElementName ignoreMissingFromData>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Copy {
    /// `keepSrcElementName="yes"`.
    pub keep_src_element_name: bool,
    /// `ignoreMissingFromData="yes"`.
    pub ignore_missing_from_data: bool,
    /// `<from>`.
    pub from: From,
    /// `<to>`.
    pub to: To,
    /// Position.
    pub pos: Pos,
}

/// A from-spec.
#[derive(Clone, Debug, PartialEq)]
pub enum FromSpec {
    /// `variable` [+ `part`] [+ `<query>`].
    Variable {
        /// `variable`.
        variable: String,
        /// `part`.
        part: Option<String>,
        /// `<query>`.
        query: Option<Expr>,
    },
    /// `partnerLink` + `endpointReference` ("myRole" | "partnerRole").
    PartnerLink {
        /// `partnerLink`.
        partner_link: String,
        /// `endpointReference`.
        endpoint_reference: String,
    },
    /// `variable` + `property`.
    Property {
        /// `variable`.
        variable: String,
        /// `property`.
        property: QName,
    },
    /// An expression (element text, or BPEL4WS 1.1 `expression=`).
    Expression(Expr),
    /// `<literal>`: the literal element itself; its children are the value.
    Literal(Element),
    /// A from-spec with none of the forms above (a static error).
    Empty,
}

/// `<from>`.
#[derive(Clone, Debug, PartialEq)]
pub struct From {
    /// The form.
    pub spec: FromSpec,
    /// Position.
    pub pos: Pos,
}

/// A to-spec.
#[derive(Clone, Debug, PartialEq)]
pub enum ToSpec {
    /// `variable` [+ `part`] [+ `<query>`].
    Variable {
        /// `variable`.
        variable: String,
        /// `part`.
        part: Option<String>,
        /// `<query>`.
        query: Option<Expr>,
    },
    /// `partnerLink`.
    PartnerLink {
        /// `partnerLink`.
        partner_link: String,
    },
    /// `variable` + `property`.
    Property {
        /// `variable`.
        variable: String,
        /// `property`.
        property: QName,
    },
    /// An expression that must select one node (an lvalue).
    Expression(Expr),
    /// A to-spec with none of the forms above (a static error).
    Empty,
}

/// `<to>`.
#[derive(Clone, Debug, PartialEq)]
pub struct To {
    /// The form.
    pub spec: ToSpec,
    /// Position.
    pub pos: Pos,
}

/// `<if>` with its branches.
#[derive(Clone, Debug, PartialEq)]
pub struct If {
    /// `<condition>`.
    pub condition: Option<Expr>,
    /// The then-activity.
    pub then: Option<Box<Activity>>,
    /// `<elseif>` branches (condition, activity, position).
    pub else_ifs: Vec<ElseIf>,
    /// `<else>`.
    pub otherwise: Option<Handler>,
}

/// `<elseif>`.
#[derive(Clone, Debug, PartialEq)]
pub struct ElseIf {
    /// `<condition>`.
    pub condition: Option<Expr>,
    /// The activity.
    pub activity: Option<Box<Activity>>,
    /// Position.
    pub pos: Pos,
}

/// `<forEach>`.
#[derive(Clone, Debug, PartialEq)]
pub struct ForEach {
    /// `counterName` (an xsd:unsignedInt variable implicitly declared in the child scope).
    pub counter_name: String,
    /// `parallel="yes"`.
    pub parallel: bool,
    /// `<startCounterValue>`.
    pub start: Option<Expr>,
    /// `<finalCounterValue>`.
    pub end: Option<Expr>,
    /// `<completionCondition>`.
    pub completion: Option<CompletionCondition>,
    /// The child (must be a `<scope>`).
    pub activity: Option<Box<Activity>>,
}

/// `<completionCondition><branches successfulBranchesOnly>`.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionCondition {
    /// `<branches>` expression.
    pub branches: Option<Expr>,
    /// `successfulBranchesOnly="yes"`.
    pub successful_branches_only: bool,
    /// Position.
    pub pos: Pos,
}

/// `<pick createInstance>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    /// `createInstance="yes"`.
    pub create_instance: bool,
    /// `<onMessage>`s.
    pub on_messages: Vec<OnMessage>,
    /// `<onAlarm>`s.
    pub on_alarms: Vec<OnAlarm>,
}

/// `<flow>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// `<links>` (name, position).
    pub links: Vec<(String, Pos)>,
    /// Concurrent activities.
    pub activities: Vec<Activity>,
}

/// `<scope isolated exitOnStandardFault>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    /// `isolated="yes"`.
    pub isolated: bool,
    /// `exitOnStandardFault`.
    pub exit_on_standard_fault: Option<bool>,
    /// Declarations, handlers and the activity.
    pub body: ScopeBody,
}
