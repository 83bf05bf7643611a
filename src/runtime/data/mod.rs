//! The data side of execution: variables, expressions, assignment, message binding and
//! correlation values. The executor (`runtime::exec`) decides *when*; this module decides *what*.
//!
//! Value forms (one DOM type everywhere, DESIGN decision 5):
//! - a messageType variable holds `<message>` (no namespace) with one child per WSDL part, named
//!   after the part (no namespace); an element part's accessor contains the element, a type
//!   part's accessor holds the value's content (text and/or children). This is Apache ODE's
//!   abstract message form and the form messages travel in between transports and the engine.
//! - an element variable holds the element itself.
//! - a type variable holds a wrapper element (named after the variable, no namespace) whose
//!   content is the value; `$var` of a simple type evaluates to its text.
//!
//! Every function reports BPEL faults (`selectionFailure`, `uninitializedVariable`,
//! `invalidExpressionValue`, `subLanguageExecutionFault`, `mismatchedAssignmentFailure`, ...) as
//! [`Fault`]; nothing here panics on input.

use std::sync::Arc;

use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::{Element, QName};

use super::fault::Fault;
use crate::model::{
    Assign, CorrelationSetId, EndpointRole, ExprId, Inbound, PartBinding, PartnerLinkId, Process,
    ScopeId, Timing, VariableId,
};

/// Milliseconds since the UNIX epoch, UTC: the runtime's only notion of time (steps are
/// deterministic, so "now" is an input of each step).
pub type Millis = i64;

/// Variable and partner-link storage as seen from one point of execution (the executor resolves
/// a [`VariableId`] to the right scope instance: parallel forEach branches and event handler
/// instances each have their own copies).
pub trait Variables {
    /// The current value, `None` while uninitialised.
    fn get(&self, var: VariableId) -> Option<&Element>;
    /// Replaces the value.
    fn set(&mut self, var: VariableId, value: Element);
    /// The endpoint reference of a partner link role (a `sref:service-ref` element or a
    /// `wsa:EndpointReference`), `None` when it has none.
    fn endpoint(&self, partner_link: PartnerLinkId, role: EndpointRole) -> Option<Element>;
    /// Sets the partnerRole endpoint reference of a partner link (copy to a partnerLink).
    fn set_endpoint(&mut self, partner_link: PartnerLinkId, epr: Element);
}

/// Where compiled stylesheets for `bpel:doXslTransform` come from (the deployed package; the
/// executor caches them per process).
pub trait Stylesheets {
    /// The stylesheet at `uri` (relative to the package), compiled.
    fn stylesheet(&self, uri: &str) -> Result<Arc<crate::xslt::Stylesheet>, Fault>;
}

/// Everything an expression may see besides variables.
pub struct Env<'a> {
    /// The process.
    pub process: &'a Process,
    /// Its WSDL and schemas.
    pub wsdl: &'a WsdlSet,
    /// The scope where the expression or activity is written (resolves variable names).
    pub scope: ScopeId,
    /// The instance id (`$ode:pid`).
    pub instance_id: i64,
    /// The time of the current step (`$ode:currentEventDateTime`, wait/onAlarm `for`).
    pub now: Millis,
    /// deploy.xml `<property>` values (`ode:process-property`).
    pub properties: &'a [(QName, Element)],
    /// Stylesheets of the package.
    pub stylesheets: &'a dyn Stylesheets,
}

/// Evaluates a boolean condition (if, while, repeatUntil, transition and join conditions;
/// forEach completion uses [`eval_unsigned`]). Non-boolean results are converted as XPath
/// `boolean()` does.
pub fn eval_bool(env: &Env<'_>, vars: &dyn Variables, expr: ExprId) -> Result<bool, Fault> {
    let _ = (env, vars, expr);
    todo!("data helper")
}

/// Evaluates an expression to an `xsd:unsignedInt` (forEach counters, completion branches):
/// `bpel:invalidExpressionValue` when the value is not one.
pub fn eval_unsigned(env: &Env<'_>, vars: &dyn Variables, expr: ExprId) -> Result<u32, Fault> {
    let _ = (env, vars, expr);
    todo!("data helper")
}

/// The deadline of a wait or an onAlarm: `for` (a duration added to `env.now`) or `until`
/// (a dateTime or date).
pub fn eval_deadline(
    env: &Env<'_>,
    vars: &dyn Variables,
    timing: &Timing,
) -> Result<Millis, Fault> {
    let _ = (env, vars, timing);
    todo!("data helper")
}

/// A duration in milliseconds (`repeatEvery`).
pub fn eval_duration(env: &Env<'_>, vars: &dyn Variables, expr: ExprId) -> Result<Millis, Fault> {
    let _ = (env, vars, expr);
    todo!("data helper")
}

/// Runs an `<assign>` atomically: on a fault no variable or partner link is changed. Returns
/// the variables written (for VariableModification events).
pub fn assign(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    assign: &Assign,
) -> Result<Vec<VariableId>, Fault> {
    let _ = (env, vars, assign);
    todo!("data helper")
}

/// Initialises a declared variable from its inline from-spec, if it has one (called when its
/// scope starts; a fault here is the scope's `bpel:scopeInitializationFailure` cause).
pub fn init_variable(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    var: VariableId,
) -> Result<(), Fault> {
    let _ = (env, vars, var);
    todo!("data helper")
}

/// Stores an inbound message (receive, onMessage, onEvent, invoke output) into the activity's
/// variable or through its fromParts. `message` is in message form.
pub fn bind_inbound(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    variable: Option<VariableId>,
    from_parts: &[PartBinding],
    message: &Element,
) -> Result<(), Fault> {
    let _ = (env, vars, variable, from_parts, message);
    todo!("data helper")
}

/// Builds an outbound message (invoke input, reply) of type `message_type` from a variable or
/// toParts (`bpel:uninitializedVariable` when the source is not initialised).
pub fn build_outbound(
    env: &Env<'_>,
    vars: &dyn Variables,
    variable: Option<VariableId>,
    to_parts: &[PartBinding],
    message_type: &QName,
) -> Result<Element, Fault> {
    let _ = (env, vars, variable, to_parts, message_type);
    todo!("data helper")
}

/// The values of a correlation set's properties in a message of type `message_type` (through
/// the package's propertyAliases), in the set's property order. A missing alias or a query
/// selecting nothing is `bpel:selectionFailure`.
pub fn correlation_values(
    env: &Env<'_>,
    set: CorrelationSetId,
    message_type: &QName,
    message: &Element,
) -> Result<Vec<String>, Fault> {
    let _ = (env, set, message_type, message);
    todo!("data helper")
}

/// `<throw faultVariable>`: the fault data of a variable.
pub fn fault_data(
    env: &Env<'_>,
    vars: &dyn Variables,
    var: VariableId,
) -> Result<super::fault::FaultData, Fault> {
    let _ = (env, vars, var);
    todo!("data helper")
}

/// Whether a catch's declared fault type (`faultMessageType` / `faultElement`) matches fault
/// data, per WS-BPEL 2.0 §12.5 catch selection.
pub fn fault_type_matches(
    env: &Env<'_>,
    ty: &crate::model::VarType,
    data: &super::fault::FaultData,
) -> bool {
    let _ = (env, ty, data);
    todo!("data helper")
}

/// Initialises a catch's fault variable from fault data.
pub fn bind_fault(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    var: VariableId,
    data: &super::fault::FaultData,
) -> Result<(), Fault> {
    let _ = (env, vars, var, data);
    todo!("data helper")
}

/// `<validate variables>` and `assign validate="yes"`: `bpel:invalidVariables` when a value
/// does not conform to its declared type.
pub fn validate(
    env: &Env<'_>,
    vars: &dyn Variables,
    variables: &[VariableId],
) -> Result<(), Fault> {
    let _ = (env, vars, variables);
    todo!("data helper")
}

/// The message-form value of an inbound operation's message, checked against its WSDL message
/// (used to reject wrong parts before an instance sees them).
pub fn check_message_shape(
    env: &Env<'_>,
    inbound: &Inbound,
    message: &Element,
) -> Result<(), Fault> {
    let _ = (env, inbound, message);
    todo!("data helper")
}
