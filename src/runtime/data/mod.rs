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
//! In expressions (WS-BPEL 2.0 §8.2.2), `$elementVar` and `$complexTypeVar` are one-node
//! node-sets (the element, the wrapper); `$simpleTypeVar` is an atomic value (number for the
//! decimal/float/double families, boolean for `xsd:boolean`, string otherwise); `$msg.part` is
//! the part's element, the accessor of a complex-typed part, or the atomic value of a
//! simple-typed part. Names resolve from `Env::scope` outwards; in join conditions the
//! executor's [`Variables::link_status`] answers `$link` first. `$ode:pid`,
//! `$ode:processQName` and `$ode:currentEventDateTime` are bound as in Apache ODE.
//!
//! Every function reports BPEL faults (`selectionFailure`, `uninitializedVariable`,
//! `invalidExpressionValue`, `subLanguageExecutionFault`, `mismatchedAssignmentFailure`, ...) as
//! [`Fault`]; nothing here panics on input.

// `Fault` (with its fault data) is large, and the executor's interface returns it by value;
// faults are the cold path, so the size of `Err` does not matter here.
#![allow(clippy::result_large_err)]

mod assign;
mod eval;
mod message;
mod ode;
mod property;
mod store;
mod time;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::{Element, QName};

use self::eval::{Trees, evaluate};
use self::store::Store;
use super::fault::Fault;
use crate::model::{
    Assign, AssignOperation, CorrelationSetId, EndpointRole, ExprId, Inbound, PartBinding,
    PartnerLinkId, Process, ScopeId, Timing, ToSpec, VarType, VariableId,
};
use crate::xpath::{Context, Value};

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
    /// Sets the partnerRole endpoint reference of a partner link (copy to a partnerLink): a
    /// `wsa:EndpointReference` (built around the address when a string was copied), or the
    /// element copied when it is some other endpoint form.
    fn set_endpoint(&mut self, partner_link: PartnerLinkId, epr: Element);
    /// The status of the incoming link `name` of the activity whose join condition is being
    /// evaluated (`$name` in a WS-BPEL 2.0 join condition, `bpws:getLinkStatus('name')` in
    /// BPEL4WS 1.1); `None` elsewhere. A link status shadows a variable of the same name.
    fn link_status(&self, name: &str) -> Option<bool> {
        let _ = name;
        None
    }
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
    let store = Store::new(vars);
    let trees = Trees::default();
    evaluate(env, &store, &trees, expr, &Context::none()).map(|v| v.to_boolean())
}

/// Evaluates an expression to an `xsd:unsignedInt` (forEach counters, completion branches):
/// `bpel:invalidExpressionValue` when the value is not one.
pub fn eval_unsigned(env: &Env<'_>, vars: &dyn Variables, expr: ExprId) -> Result<u32, Fault> {
    let store = Store::new(vars);
    let trees = Trees::default();
    let v = evaluate(env, &store, &trees, expr, &Context::none())?;
    let n = v.to_number();
    if n.is_finite() && n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        // Exact: an integral double within u32 range.
        Ok(n as u32)
    } else {
        Err(Fault::standard(
            "invalidExpressionValue",
            format!("{} is not an xsd:unsignedInt", v.into_xpath_string()),
        ))
    }
}

/// The deadline of a wait or an onAlarm: `for` (an `xsd:duration` added to `env.now`, years
/// and months calendar-wise) or `until` (an `xsd:dateTime` or `xsd:date`, UTC when it has no
/// timezone); `bpel:invalidExpressionValue` for anything else.
pub fn eval_deadline(
    env: &Env<'_>,
    vars: &dyn Variables,
    timing: &Timing,
) -> Result<Millis, Fault> {
    let invalid = |why: String| Fault::standard("invalidExpressionValue", why);
    match (timing.for_expr, timing.until_expr) {
        (Some(e), _) => {
            let text = eval_string(env, vars, e)?;
            let d = time::parse_duration(&text).map_err(invalid)?;
            time::add_duration(env.now, d).map_err(invalid)
        }
        (None, Some(e)) => {
            let text = eval_string(env, vars, e)?;
            time::parse_date_time(&text).map_err(invalid)
        }
        (None, None) => Err(invalid("the timer has neither for nor until".to_owned())),
    }
}

/// A duration in milliseconds (`repeatEvery`): `bpel:invalidExpressionValue` unless it is an
/// `xsd:duration` longer than zero. Years and months count calendar-wise from `env.now`.
pub fn eval_duration(env: &Env<'_>, vars: &dyn Variables, expr: ExprId) -> Result<Millis, Fault> {
    let text = eval_string(env, vars, expr)?;
    let invalid = |why: String| Fault::standard("invalidExpressionValue", why);
    let d = time::parse_duration(&text).map_err(invalid)?;
    // Months have no fixed length: measure the duration from now.
    let ms = time::add_duration(env.now, d)
        .map(|end| end - env.now)
        .map_err(invalid)?;
    if ms <= 0 {
        // A repetition that does not move forward would never end.
        return Err(invalid(format!(
            "repeatEvery '{}' is not a positive duration",
            text.trim()
        )));
    }
    Ok(ms)
}

/// Runs an `<assign>` atomically: on a fault no variable or partner link is changed. Returns
/// the variables written (for VariableModification events), in first-write order. A copy to
/// an uninitialised variable first gives it a skeleton (`<message/>`, the declared element, or
/// the type wrapper), as Apache ODE does; `validate="yes"` validates the written variables.
pub fn assign(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    assign: &Assign,
) -> Result<Vec<VariableId>, Fault> {
    let pending = {
        let mut store = Store::new(&*vars);
        for op in &assign.operations {
            match op {
                AssignOperation::Copy(c) => self::assign::copy(env, &mut store, c)?,
                // Unknown extension operations that are not mustUnderstand are skipped
                // (WS-BPEL 2.0 §8.4.3); mustUnderstand ones never deploy.
                AssignOperation::Extension(_) => {}
            }
        }
        let pending = store.finish();
        if assign.validate {
            for (var, value) in &pending.variables {
                validate_one(env, *var, value)?;
            }
        }
        pending
    };
    let written = pending.variables.iter().map(|(v, _)| *v).collect();
    for (v, e) in pending.variables {
        vars.set(v, e);
    }
    for (pl, epr) in pending.endpoints {
        vars.set_endpoint(pl, epr);
    }
    Ok(written)
}

/// Initialises a declared variable from its inline from-spec, if it has one (called when its
/// scope starts; a fault here is the scope's `bpel:scopeInitializationFailure` cause).
pub fn init_variable(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    var: VariableId,
) -> Result<(), Fault> {
    let Some(from) = env
        .process
        .variables
        .get(var.index())
        .and_then(|d| d.init.as_ref())
    else {
        return Ok(());
    };
    let copy = crate::model::Copy {
        keep_src_element_name: false,
        ignore_missing_from_data: false,
        insert_missing_to_data: false,
        ignore_uninitialized_from_variable: false,
        from: from.clone(),
        to: ToSpec::Variable {
            variable: var,
            part: None,
            query: None,
        },
        pos: Default::default(),
    };
    let pending = {
        let mut store = Store::new(&*vars);
        self::assign::copy(env, &mut store, &copy)?;
        store.finish()
    };
    for (v, e) in pending.variables {
        vars.set(v, e);
    }
    Ok(())
}

/// Stores an inbound message (receive, onMessage, onEvent, invoke output) into the activity's
/// variable or through its fromParts. `message` is in message form; it is taken so that a
/// message variable stores it without a copy.
pub fn bind_inbound(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    variable: Option<VariableId>,
    from_parts: &[PartBinding],
    message: Element,
) -> Result<(), Fault> {
    message::bind_inbound(env, vars, variable, from_parts, message)
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
    message::build_outbound(env, vars, variable, to_parts, message_type)
}

/// The values of a correlation set's properties in a message of type `message_type` (through
/// the package's propertyAliases), in the set's property order. A missing alias or a query
/// selecting other than one node is `bpel:selectionFailure`. Values are string values with
/// whitespace normalized (trimmed, inner runs collapsed to one space).
pub fn correlation_values(
    env: &Env<'_>,
    set: CorrelationSetId,
    message_type: &QName,
    message: &Element,
) -> Result<Vec<String>, Fault> {
    let Some(cs) = env.process.correlation_sets.get(set.index()) else {
        return Err(Fault::standard(
            "selectionFailure",
            format!("correlation set #{} is not declared", set.0),
        ));
    };
    let ty = VarType::MessageType(message_type.clone());
    let mut out = Vec::with_capacity(cs.properties.len());
    for prop in &cs.properties {
        let nodes = property::locate(env, &ty, message, prop, &|_| 0)?;
        let [node] = nodes.as_slice() else {
            return Err(Fault::standard(
                "selectionFailure",
                format!(
                    "property {prop} of correlation set {} selects {} nodes in a {message_type} message",
                    cs.name,
                    nodes.len()
                ),
            ));
        };
        // Correlation values compare as normalized strings (surrounding and repeated
        // whitespace is layout, not value).
        out.push(
            node.string_value()
                .split_ascii_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    Ok(out)
}

/// `<throw faultVariable>`: the fault data of a variable.
pub fn fault_data(
    env: &Env<'_>,
    vars: &dyn Variables,
    var: VariableId,
) -> Result<super::fault::FaultData, Fault> {
    message::fault_data(env, vars, var)
}

/// Whether a catch's declared fault type (`faultMessageType` / `faultElement`) matches fault
/// data, per WS-BPEL 2.0 §12.5 catch selection.
pub fn fault_type_matches(
    env: &Env<'_>,
    ty: &crate::model::VarType,
    data: &super::fault::FaultData,
) -> bool {
    message::fault_type_matches(env, ty, data)
}

/// Initialises a catch's fault variable from fault data.
pub fn bind_fault(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    var: VariableId,
    data: &super::fault::FaultData,
) -> Result<(), Fault> {
    message::bind_fault(env, vars, var, data)
}

/// `<validate variables>` and `assign validate="yes"`: `bpel:invalidVariables` when a value
/// does not conform to its declared type.
pub fn validate(
    env: &Env<'_>,
    vars: &dyn Variables,
    variables: &[VariableId],
) -> Result<(), Fault> {
    for var in variables {
        let name = env
            .process
            .variables
            .get(var.index())
            .map_or("?", |d| d.name.as_str());
        let value = vars.get(*var).ok_or_else(|| {
            Fault::standard(
                "uninitializedVariable",
                format!("variable {name} is not initialised"),
            )
        })?;
        validate_one(env, *var, value)?;
    }
    Ok(())
}

/// The message-form value of an inbound operation's message, checked against its WSDL message
/// (used to reject wrong parts before an instance sees them): exactly the WSDL parts, each
/// element part holding an element. A wrong shape is reported as `bpel:invalidVariables` (the
/// value does not conform to its message type); the router turns it into a SOAP Client fault.
pub fn check_message_shape(
    env: &Env<'_>,
    inbound: &Inbound,
    message: &Element,
) -> Result<(), Fault> {
    message::check_message_shape(env, inbound, message)
}

/// Evaluates an expression to its string value.
fn eval_string(env: &Env<'_>, vars: &dyn Variables, expr: ExprId) -> Result<String, Fault> {
    let store = Store::new(vars);
    let trees = Trees::default();
    evaluate(env, &store, &trees, expr, &Context::none()).map(Value::into_xpath_string)
}

/// Validates one variable's value against its declaration (`bpel:invalidVariables`).
fn validate_one(env: &Env<'_>, var: VariableId, value: &Element) -> Result<(), Fault> {
    let Some(decl) = env.process.variables.get(var.index()) else {
        return Ok(());
    };
    message::validate_value(env, &decl.ty, value).map_err(|why| {
        Fault::standard(
            "invalidVariables",
            format!("variable {} is not valid: {why}", decl.name),
        )
    })
}
