//! Activities: one [`ActivityNode`] per activity of the source, children by id.

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::QName;

use super::{
    ActivityId, CorrelationSetId, Element, ExprId, LinkId, MessageExchangeId, OnAlarm,
    PartnerLinkId, Pos, ScopeId, Timing, VariableId,
};

/// One activity with its standard attributes and elements resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityNode {
    /// Its id.
    pub id: ActivityId,
    /// `name`.
    pub name: Option<String>,
    /// Where it is written.
    pub pos: Pos,
    /// The activity lexically containing it (for handler activities: the owning scope or invoke;
    /// None for the process's primary activity and process-level handlers).
    pub parent: Option<ActivityId>,
    /// The innermost scope enclosing it; for a `<scope>` activity, the scope around it (its own
    /// scope is in [`ActivityKind::Scope`]), since its links and join condition live outside.
    pub scope: ScopeId,
    /// Effective `suppressJoinFailure` (inherited from the closest enclosing construct).
    pub suppress_join_failure: bool,
    /// `<joinCondition>` (None: the default, OR of the incoming link states).
    pub join_condition: Option<ExprId>,
    /// Incoming links (`<targets>`).
    pub targets: Vec<LinkId>,
    /// Outgoing links with their transition conditions (`<sources>`).
    pub sources: Vec<(LinkId, Option<ExprId>)>,
    /// The activity proper.
    pub kind: ActivityKind,
    /// Foreign elements and attributes kept for extensions (e.g. ODE's `ext:failureHandling`).
    pub extension_elements: Vec<Element>,
}

/// An operation as an activity uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRef {
    /// Its portType (written on the activity, or the partner link role's).
    pub port_type: QName,
    /// Operation name.
    pub name: String,
    /// True for request-response, false for one-way.
    pub request_response: bool,
    /// Input message type.
    pub input: Option<QName>,
    /// Output message type (request-response only).
    pub output: Option<QName>,
}

/// `initiate` of a correlation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Initiate {
    /// `yes`: the activity initiates the set.
    Yes,
    /// `join`: initiate if not yet initiated, else match.
    Join,
    /// `no` (default): the set must be initiated and match.
    No,
}

/// `pattern` of an invoke's correlation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pattern {
    /// Applies to the outgoing request.
    Request,
    /// Applies to the response.
    Response,
    /// Applies to both.
    RequestResponse,
}

/// `<correlation>` of a messaging activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationRef {
    /// The set.
    pub set: CorrelationSetId,
    /// Effective `initiate`.
    pub initiate: Initiate,
    /// `pattern` (invoke only).
    pub pattern: Option<Pattern>,
}

/// A `<fromPart>`/`<toPart>`: a message part bound to a variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartBinding {
    /// Part name.
    pub part: String,
    /// The variable.
    pub variable: VariableId,
}

/// What a receive, an onMessage or an onEvent receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    /// The partner link (its myRole is the endpoint).
    pub partner_link: PartnerLinkId,
    /// The operation.
    pub operation: OperationRef,
    /// `variable`.
    pub variable: Option<VariableId>,
    /// `messageExchange`.
    pub message_exchange: Option<MessageExchangeId>,
    /// `<correlations>`.
    pub correlations: Vec<CorrelationRef>,
    /// `<fromParts>`.
    pub from_parts: Vec<PartBinding>,
}

/// `<receive>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receive {
    /// What is received.
    pub inbound: Inbound,
    /// `createInstance="yes"`.
    pub create_instance: bool,
}

/// `<reply>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The partner link.
    pub partner_link: PartnerLinkId,
    /// The operation being answered.
    pub operation: OperationRef,
    /// `variable`.
    pub variable: Option<VariableId>,
    /// `faultName` (a fault reply).
    pub fault_name: Option<QName>,
    /// `messageExchange`.
    pub message_exchange: Option<MessageExchangeId>,
    /// `<correlations>`.
    pub correlations: Vec<CorrelationRef>,
    /// `<toParts>`.
    pub to_parts: Vec<PartBinding>,
}

/// `<invoke>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoke {
    /// The partner link (its partnerRole is the endpoint).
    pub partner_link: PartnerLinkId,
    /// The operation.
    pub operation: OperationRef,
    /// `inputVariable`.
    pub input_variable: Option<VariableId>,
    /// `outputVariable`.
    pub output_variable: Option<VariableId>,
    /// `<correlations>`.
    pub correlations: Vec<CorrelationRef>,
    /// `<toParts>`.
    pub to_parts: Vec<PartBinding>,
    /// `<fromParts>`.
    pub from_parts: Vec<PartBinding>,
    /// The implicit scope holding the inline catch/catchAll/compensationHandler, if any.
    pub handler_scope: Option<ScopeId>,
}

/// `endpointReference` of a partner-link from-spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointRole {
    /// `myRole`.
    MyRole,
    /// `partnerRole`.
    PartnerRole,
}

/// A resolved from-spec (copy source or variable initialisation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromSpec {
    /// `variable` [+ `part`] [+ `<query>`].
    Variable {
        /// The variable.
        variable: VariableId,
        /// `part`.
        part: Option<String>,
        /// `<query>`.
        query: Option<ExprId>,
    },
    /// `partnerLink` + `endpointReference`.
    PartnerLink {
        /// The partner link.
        partner_link: PartnerLinkId,
        /// Which role's endpoint.
        endpoint: EndpointRole,
    },
    /// `variable` + `property`.
    Property {
        /// The variable.
        variable: VariableId,
        /// The property.
        property: QName,
    },
    /// An expression.
    Expression(ExprId),
    /// `<literal>`: the literal element itself; its children are the value.
    Literal(Element),
}

/// A resolved to-spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToSpec {
    /// `variable` [+ `part`] [+ `<query>`].
    Variable {
        /// The variable.
        variable: VariableId,
        /// `part`.
        part: Option<String>,
        /// `<query>`.
        query: Option<ExprId>,
    },
    /// `partnerLink` (its partnerRole endpoint).
    PartnerLink {
        /// The partner link.
        partner_link: PartnerLinkId,
    },
    /// `variable` + `property`.
    Property {
        /// The variable.
        variable: VariableId,
        /// The property.
        property: QName,
    },
    /// An expression selecting one node.
    Expression(ExprId),
}

/// `<copy>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Copy {
    /// `keepSrcElementName="yes"`.
    pub keep_src_element_name: bool,
    /// `ignoreMissingFromData="yes"`.
    pub ignore_missing_from_data: bool,
    /// Apache ODE's `insertMissingToData="yes"`: a to-spec path that selects nothing is
    /// created (its missing steps inserted) instead of failing.
    #[serde(default)]
    pub insert_missing_to_data: bool,
    /// Apache ODE's `ignoreUninitializedFromVariable="yes"`: a from-spec reading an
    /// uninitialised variable skips the copy instead of faulting.
    #[serde(default)]
    pub ignore_uninitialized_from_variable: bool,
    /// Source.
    pub from: FromSpec,
    /// Destination.
    pub to: ToSpec,
    /// Where it is written.
    pub pos: Pos,
}

/// One operation of an assign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AssignOperation {
    /// `<copy>`.
    Copy(Copy),
    /// `<extensionAssignOperation>`: its child element.
    Extension(Element),
}

/// `<assign>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assign {
    /// `validate="yes"`.
    pub validate: bool,
    /// Operations in order.
    pub operations: Vec<AssignOperation>,
}

/// `<completionCondition>` of a forEach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionCondition {
    /// `<branches>` expression.
    pub branches: Option<ExprId>,
    /// `successfulBranchesOnly="yes"`.
    pub successful_branches_only: bool,
}

/// `<forEach>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForEach {
    /// The counter, implicitly declared in the child scope.
    pub counter: VariableId,
    /// `parallel="yes"`.
    pub parallel: bool,
    /// `<startCounterValue>`.
    pub start: ExprId,
    /// `<finalCounterValue>`.
    pub end: ExprId,
    /// `<completionCondition>`.
    pub completion: Option<CompletionCondition>,
    /// The child `<scope>` activity.
    pub activity: ActivityId,
}

/// `<onMessage>` of a pick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnMessage {
    /// What is received.
    pub inbound: Inbound,
    /// The activity.
    pub activity: ActivityId,
    /// Where it is written.
    pub pos: Pos,
}

/// `<pick>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pick {
    /// `createInstance="yes"`.
    pub create_instance: bool,
    /// `<onMessage>`s.
    pub on_messages: Vec<OnMessage>,
    /// `<onAlarm>`s (never with `repeat_every`).
    pub on_alarms: Vec<OnAlarm>,
}

/// What an activity does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ActivityKind {
    /// `<receive>`.
    Receive(Box<Receive>),
    /// `<reply>`.
    Reply(Box<Reply>),
    /// `<invoke>`.
    Invoke(Box<Invoke>),
    /// `<assign>`.
    Assign(Assign),
    /// `<throw>`.
    Throw {
        /// `faultName`.
        fault_name: QName,
        /// `faultVariable`.
        fault_variable: Option<VariableId>,
    },
    /// `<rethrow>`.
    Rethrow,
    /// `<exit>`.
    Exit,
    /// `<wait>`.
    Wait(Timing),
    /// `<empty>`.
    Empty,
    /// `<sequence>`.
    Sequence(Vec<ActivityId>),
    /// `<if>`: branches tried in order; a branch without condition (the `<else>`) is last.
    If(Vec<(Option<ExprId>, ActivityId)>),
    /// `<while>`.
    While {
        /// `<condition>`.
        condition: ExprId,
        /// Body.
        body: ActivityId,
    },
    /// `<repeatUntil>`.
    RepeatUntil {
        /// Body.
        body: ActivityId,
        /// `<condition>`.
        condition: ExprId,
    },
    /// `<forEach>`.
    ForEach(Box<ForEach>),
    /// `<pick>`.
    Pick(Box<Pick>),
    /// `<flow>`.
    Flow {
        /// Links declared by this flow.
        links: Vec<LinkId>,
        /// Concurrent activities.
        activities: Vec<ActivityId>,
    },
    /// `<scope>`: its declarations, handlers and body.
    Scope(ScopeId),
    /// `<compensate/>`.
    Compensate,
    /// `<compensateScope target>`: the target scope or invoke activity.
    CompensateScope {
        /// A `<scope>` or `<invoke>` activity immediately enclosed by the handler's scope.
        target: ActivityId,
    },
    /// `<validate variables>`.
    Validate {
        /// The variables.
        variables: Vec<VariableId>,
    },
    /// `<extensionActivity>`: its child element.
    Extension(Element),
}
