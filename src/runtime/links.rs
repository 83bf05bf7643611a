//! Links: join conditions and the structural walk dead-path elimination needs.

use bpelgate_wsdl::QName;

use super::fault::Fault;
use crate::model::{ActivityId, ActivityKind, ExprId, Process};
use crate::xpath::{self, Context, Resolver, Value, XPathError};

/// The activities directly nested in `activity` (its body; not its handlers, which links never
/// cross into).
pub fn children(process: &Process, activity: ActivityId) -> Vec<ActivityId> {
    match &process.activity(activity).kind {
        ActivityKind::Sequence(c) => c.clone(),
        ActivityKind::Flow { activities, .. } => activities.clone(),
        ActivityKind::If(branches) => branches.iter().map(|(_, a)| *a).collect(),
        ActivityKind::While { body, .. } | ActivityKind::RepeatUntil { body, .. } => vec![*body],
        ActivityKind::ForEach(fe) => vec![fe.activity],
        ActivityKind::Pick(p) => p
            .on_messages
            .iter()
            .map(|m| m.activity)
            .chain(p.on_alarms.iter().map(|a| a.activity))
            .collect(),
        ActivityKind::Scope(s) => process.scope(*s).body.into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Link values bound as XPath variables (`$linkName`) and through BPEL4WS 1.1's
/// `bpws:getLinkStatus('linkName')`.
struct LinkValues<'v>(&'v [(String, bool)]);

impl LinkValues<'_> {
    fn get(&self, name: &str) -> Result<bool, XPathError> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                XPathError::dynamic(
                    0,
                    format!("${name} is not an incoming link of this activity"),
                )
            })
    }
}

impl<'a> Resolver<'a> for LinkValues<'_> {
    fn variable(&self, name: &QName, _part: Option<&str>) -> Result<Value<'a>, XPathError> {
        self.get(&name.local).map(Value::Boolean)
    }

    fn function(
        &self,
        name: &QName,
        args: Vec<Value<'a>>,
    ) -> Option<Result<Value<'a>, XPathError>> {
        if name.local != "getLinkStatus" {
            return None;
        }
        let link = args
            .first()
            .map(|a| a.to_xpath_string())
            .unwrap_or_default();
        Some(self.get(&link).map(Value::Boolean))
    }
}

/// Evaluates a join condition over the incoming link values.
pub fn eval_join(
    process: &Process,
    expr: ExprId,
    values: &[(String, bool)],
) -> Result<bool, Fault> {
    let decl = process.expr(expr);
    let Some(compiled) = &decl.compiled else {
        return Err(Fault::standard(
            "subLanguageExecutionFault",
            format!(
                "join condition `{}` (line {}) cannot be evaluated",
                decl.text, decl.pos.line
            ),
        ));
    };
    xpath::eval_boolean(compiled, &Context::none(), &LinkValues(values)).map_err(|e| {
        Fault::standard(
            "subLanguageExecutionFault",
            format!(
                "join condition `{}` (line {}): {e}",
                decl.text, decl.pos.line
            ),
        )
    })
}
