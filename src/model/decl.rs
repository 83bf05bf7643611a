//! Declarations: scopes, variables, links, correlation sets, message exchanges.

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::QName;

use super::{
    ActivityId, CorrelationSetId, ExprId, FromSpec, Inbound, LinkId, MessageExchangeId,
    PartnerLinkId, Pos, ScopeId, VariableId,
};

/// What introduced a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    /// The process itself (scope 0).
    Process,
    /// A `<scope>` activity.
    Scope,
    /// The implicit scope of an `<invoke>` with inline catch/catchAll/compensationHandler
    /// (WS-BPEL 2.0 §10.3): its `activity` is the invoke and it has no `body`.
    Invoke,
    /// The implicit scope of a `<catch faultVariable>` that declares the fault variable
    /// (visible to the catch's activity only); it has no handlers and no `body`.
    Catch,
}

/// A scope: the process, a `<scope>`, or an implicit one (see [`ScopeKind`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScopeDecl {
    /// Its id.
    pub id: ScopeId,
    /// What introduced it.
    pub kind: ScopeKind,
    /// The scope activity's name (the process name for scope 0).
    pub name: Option<String>,
    /// The `<scope>` or `<invoke>` activity (None for the process and catch scopes).
    pub activity: Option<ActivityId>,
    /// The enclosing scope (None for the process).
    pub parent: Option<ScopeId>,
    /// `isolated="yes"`.
    pub isolated: bool,
    /// Effective `exitOnStandardFault` (inherited from the enclosing scope when not written).
    pub exit_on_standard_fault: bool,
    /// Variables declared here, implicit ones first.
    pub variables: Vec<VariableId>,
    /// Partner links declared here.
    pub partner_links: Vec<PartnerLinkId>,
    /// Correlation sets declared here.
    pub correlation_sets: Vec<CorrelationSetId>,
    /// Message exchanges declared here.
    pub message_exchanges: Vec<MessageExchangeId>,
    /// `<faultHandlers>` (None when absent: the default fault handler applies).
    pub fault_handlers: Option<FaultHandlers>,
    /// `<compensationHandler>` activity (None: the default compensation handler applies).
    pub compensation_handler: Option<ActivityId>,
    /// `<terminationHandler>` activity (None: the default termination handler applies).
    pub termination_handler: Option<ActivityId>,
    /// `<eventHandlers>/<onEvent>`.
    pub on_events: Vec<OnEvent>,
    /// `<eventHandlers>/<onAlarm>`.
    pub on_alarms: Vec<OnAlarm>,
    /// The primary activity (None for invoke and catch scopes).
    pub body: Option<ActivityId>,
    /// Where it is written.
    pub pos: Pos,
}

/// `<faultHandlers>` of a scope (or the inline handlers of an invoke).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultHandlers {
    /// `<catch>`es in document order.
    pub catches: Vec<Catch>,
    /// `<catchAll>` activity.
    pub catch_all: Option<ActivityId>,
}

/// `<catch>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    /// `faultName` (None: any fault whose data matches the type).
    pub fault_name: Option<QName>,
    /// The fault variable: implicitly declared in `scope` (WS-BPEL 2.0), or for BPEL4WS 1.1 an
    /// existing variable the fault data is copied into.
    pub fault_variable: Option<VariableId>,
    /// `faultMessageType` / `faultElement` the fault data must match.
    pub fault_type: Option<VarType>,
    /// The implicit [`ScopeKind::Catch`] scope declaring the fault variable (if declared here).
    pub scope: Option<ScopeId>,
    /// The handler activity.
    pub activity: ActivityId,
    /// Where it is written.
    pub pos: Pos,
}

/// `<onEvent>`: a message event handler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnEvent {
    /// What is received; names resolved from the associated scope outwards.
    pub inbound: Inbound,
    /// The `<scope>` activity run for each event.
    pub activity: ActivityId,
    /// Its associated scope, where `inbound.variable` and fromPart variables are declared.
    pub scope: ScopeId,
    /// Where it is written.
    pub pos: Pos,
}

/// `for` / `until` of a wait or an alarm: at most one is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// `<for>` duration expression.
    pub for_expr: Option<ExprId>,
    /// `<until>` deadline expression.
    pub until_expr: Option<ExprId>,
}

/// `<onAlarm>` of an event handler or a pick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnAlarm {
    /// for/until.
    pub timing: Timing,
    /// `<repeatEvery>` duration (event handlers only).
    pub repeat_every: Option<ExprId>,
    /// The activity (a `<scope>` in event handlers).
    pub activity: ActivityId,
    /// Where it is written.
    pub pos: Pos,
}

/// The declared type of a variable.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VarType {
    /// WSDL message type.
    MessageType(QName),
    /// XML Schema type.
    Type(QName),
    /// XML Schema global element.
    Element(QName),
}

/// Why a variable exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VariableOrigin {
    /// A `<variable>` declaration.
    Declared,
    /// `<onEvent variable>` or an onEvent `<fromPart toVariable>`.
    OnEvent,
    /// `<forEach counterName>` (xsd:unsignedInt).
    ForEachCounter,
    /// `<catch faultVariable>`.
    FaultVariable,
}

/// A variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableDecl {
    /// Its id.
    pub id: VariableId,
    /// Name.
    pub name: String,
    /// The declaring scope.
    pub scope: ScopeId,
    /// Type.
    pub ty: VarType,
    /// Inline initialisation (declared variables only).
    pub init: Option<FromSpec>,
    /// Why it exists.
    pub origin: VariableOrigin,
    /// Where it is declared.
    pub pos: Pos,
}

/// A link of a flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDecl {
    /// Its id.
    pub id: LinkId,
    /// Name (unique within its flow).
    pub name: String,
    /// The declaring `<flow>`.
    pub flow: ActivityId,
    /// The activity with `<source linkName>`.
    pub source: ActivityId,
    /// The activity with `<target linkName>`.
    pub target: ActivityId,
    /// Where it is declared.
    pub pos: Pos,
}

/// A correlation set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationSet {
    /// Its id.
    pub id: CorrelationSetId,
    /// Name.
    pub name: String,
    /// The declaring scope.
    pub scope: ScopeId,
    /// Its properties, in declaration order (the order of a correlation key).
    pub properties: Vec<QName>,
    /// Where it is declared.
    pub pos: Pos,
}

/// A message exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageExchangeDecl {
    /// Its id.
    pub id: MessageExchangeId,
    /// Name.
    pub name: String,
    /// The declaring scope.
    pub scope: ScopeId,
    /// True when no scope declares it and it was added to the process scope (as Apache ODE
    /// does for messaging activities naming an undeclared message exchange).
    pub implicit: bool,
    /// Where it is declared.
    pub pos: Pos,
}
