//! The XPath 1.0 core function library (section 4).

use bpelgate_wsdl::xml::{Node, XML_NS};

use super::error::{ErrorKind, XPathError};
use super::eval::Context;
use super::functions::XPATH1_CORE;
use super::value::{
    NodeData, NodeKind, NodeRef, Value, element_at, is_xml_space, pi_parts, string_to_number,
};

/// True when `name` (in no namespace) is a core function.
pub(super) fn is_core(name: &str) -> bool {
    XPATH1_CORE.iter().any(|f| f.name == name)
}

/// Calls core function `name`; `offset` locates errors.
pub(super) fn call<'a>(
    name: &str,
    args: Vec<Value<'a>>,
    ctx: &Context<'a>,
    offset: usize,
) -> Result<Value<'a>, XPathError> {
    let sig = XPATH1_CORE.iter().find(|f| f.name == name).ok_or_else(|| {
        XPathError::new(
            ErrorKind::UnknownFunction,
            offset,
            format!("{name}() is not an XPath 1.0 core function"),
        )
    })?;
    if !sig.arity.accepts(args.len()) {
        return Err(XPathError::new(
            ErrorKind::Arity,
            offset,
            format!(
                "{name}() takes {}, not {}",
                sig.arity.describe(),
                args.len()
            ),
        ));
    }
    let f = Call {
        name,
        args,
        ctx,
        offset,
    };
    f.run()
}

struct Call<'c, 'a> {
    name: &'c str,
    args: Vec<Value<'a>>,
    ctx: &'c Context<'a>,
    offset: usize,
}

fn string(s: impl Into<String>) -> Result<Value<'static>, XPathError> {
    Ok(Value::String(s.into()))
}

impl<'a> Call<'_, 'a> {
    fn arg_string(&self, i: usize) -> String {
        self.args
            .get(i)
            .map(Value::to_xpath_string)
            .unwrap_or_default()
    }

    fn arg_number(&self, i: usize) -> f64 {
        self.args.get(i).map_or(f64::NAN, Value::to_number)
    }

    /// The string argument, or the context node's string-value when it is omitted.
    fn string_or_context(&self) -> Result<String, XPathError> {
        match self.args.first() {
            Some(v) => Ok(v.to_xpath_string()),
            None => Ok(self.context_node()?.string_value()),
        }
    }

    fn context_node(&self) -> Result<&NodeRef<'a>, XPathError> {
        self.ctx
            .require_node(&format!("{}() without an argument", self.name), self.offset)
    }

    fn node_set(&self, i: usize) -> Result<&[NodeRef<'a>], XPathError> {
        match self.args.get(i) {
            Some(Value::Nodes(n)) => Ok(n),
            Some(v) => Err(XPathError::type_error(
                self.offset,
                format!(
                    "argument {} of {}() must be a node-set, not a {}",
                    i + 1,
                    self.name,
                    v.type_name()
                ),
            )),
            None => Ok(&[]),
        }
    }

    /// The node a naming function looks at: the first of its argument, or the context node.
    fn named_node(&self) -> Result<Option<&NodeRef<'a>>, XPathError> {
        if self.args.is_empty() {
            self.context_node().map(Some)
        } else {
            Ok(self.node_set(0)?.first())
        }
    }

    fn run(self) -> Result<Value<'a>, XPathError> {
        let num = |n: f64| Ok(Value::Number(n));
        let boolean = |b: bool| Ok(Value::Boolean(b));
        match self.name {
            "last" => num(self.ctx.size as f64),
            "position" => num(self.ctx.position as f64),
            "count" => num(self.node_set(0)?.len() as f64),
            "id" => self.id(),
            "local-name" => string(match self.named_node()?.and_then(NodeRef::data) {
                Some(NodeData::Element(e)) => e.name.local.clone(),
                Some(NodeData::Attribute(a)) => a.name.local.clone(),
                Some(NodeData::Namespace { prefix, .. }) => prefix.to_owned(),
                Some(NodeData::ProcessingInstruction(p)) => pi_parts(p).0.to_owned(),
                _ => String::new(),
            }),
            "namespace-uri" => string(match self.named_node()?.and_then(NodeRef::data) {
                Some(NodeData::Element(e)) => e.name.ns.clone(),
                Some(NodeData::Attribute(a)) => a.name.ns.clone(),
                _ => String::new(),
            }),
            "name" => string(match self.named_node()?.and_then(NodeRef::data) {
                Some(NodeData::Element(e)) => qualified(&e.prefix, &e.name.local),
                Some(NodeData::Attribute(a)) => qualified(&a.prefix, &a.name.local),
                Some(NodeData::Namespace { prefix, .. }) => prefix.to_owned(),
                Some(NodeData::ProcessingInstruction(p)) => pi_parts(p).0.to_owned(),
                _ => String::new(),
            }),
            "string" => string(self.string_or_context()?),
            "concat" => string(
                self.args
                    .iter()
                    .map(Value::to_xpath_string)
                    .collect::<String>(),
            ),
            "starts-with" => boolean(self.arg_string(0).starts_with(&self.arg_string(1))),
            "contains" => boolean(self.arg_string(0).contains(&self.arg_string(1))),
            "substring-before" => {
                let (s, t) = (self.arg_string(0), self.arg_string(1));
                string(s.find(&t).map(|i| &s[..i]).unwrap_or_default())
            }
            "substring-after" => {
                let (s, t) = (self.arg_string(0), self.arg_string(1));
                string(s.find(&t).map(|i| &s[i + t.len()..]).unwrap_or_default())
            }
            "substring" => {
                let len = (self.args.len() > 2).then(|| self.arg_number(2));
                string(substring(&self.arg_string(0), self.arg_number(1), len))
            }
            "string-length" => num(self.string_or_context()?.chars().count() as f64),
            "normalize-space" => string(normalize_space(&self.string_or_context()?)),
            "translate" => string(translate(
                &self.arg_string(0),
                &self.arg_string(1),
                &self.arg_string(2),
            )),
            "boolean" => boolean(self.args.first().is_some_and(Value::to_boolean)),
            "not" => boolean(!self.args.first().is_some_and(Value::to_boolean)),
            "true" => boolean(true),
            "false" => boolean(false),
            "lang" => boolean(self.lang()?),
            "number" => num(match self.args.first() {
                Some(v) => v.to_number(),
                None => string_to_number(&self.context_node()?.string_value()),
            }),
            "sum" => num(self
                .node_set(0)?
                .iter()
                .map(|n| string_to_number(&n.string_value()))
                .sum()),
            "floor" => num(self.arg_number(0).floor()),
            "ceiling" => num(self.arg_number(0).ceil()),
            "round" => num(round(self.arg_number(0))),
            other => Err(XPathError::new(
                ErrorKind::UnknownFunction,
                self.offset,
                format!("{other}() is not an XPath 1.0 core function"),
            )),
        }
    }

    /// `id()`: elements whose `xml:id` is one of the tokens. Without a DTD, `xml:id` is the
    /// only attribute known to be of type ID.
    fn id(&self) -> Result<Value<'a>, XPathError> {
        let text = match self.args.first() {
            Some(Value::Nodes(n)) => n
                .iter()
                .map(NodeRef::string_value)
                .collect::<Vec<_>>()
                .join(" "),
            Some(v) => v.to_xpath_string(),
            None => String::new(),
        };
        let tokens: Vec<&str> = text.split(is_xml_space).filter(|t| !t.is_empty()).collect();
        let tree = match (&self.ctx.node, self.args.first()) {
            (Some(n), _) => n.tree().clone(),
            (None, Some(Value::Nodes(n))) if !n.is_empty() => n[0].tree().clone(),
            _ => return Ok(Value::Nodes(Vec::new())),
        };
        let mut out = Vec::new();
        let mut stack = vec![(tree.root(), Vec::new())];
        while let Some((el, path)) = stack.pop() {
            if el
                .attr_ns(XML_NS, "id")
                .is_some_and(|v| tokens.contains(&v.trim_matches(is_xml_space)))
            {
                out.push(NodeRef::new(tree.clone(), path.clone(), NodeKind::Element));
            }
            for (i, c) in el.children.iter().enumerate() {
                if let Node::Element(e) = c {
                    let mut p = path.clone();
                    p.push(i);
                    stack.push((e, p));
                }
            }
        }
        Ok(Value::nodes(out))
    }

    /// `lang()`: the nearest `xml:lang` on the context node or an ancestor equals the
    /// argument or starts with it followed by `-`, ignoring case.
    fn lang(&self) -> Result<bool, XPathError> {
        let want = self.arg_string(0).to_ascii_lowercase();
        let node = self.ctx.require_node("lang()", self.offset)?;
        let root = node.tree().root();
        let path = node.path();
        let mut len = match node.kind() {
            NodeKind::Root => return Ok(false),
            NodeKind::Element | NodeKind::Attribute(_) | NodeKind::Namespace(_) => path.len(),
            _ => path.len().saturating_sub(1),
        };
        loop {
            if let Some(lang) =
                element_at(root, &path[..len]).and_then(|e| e.attr_ns(XML_NS, "lang"))
            {
                let lang = lang.to_ascii_lowercase();
                return Ok(lang == want
                    || lang
                        .strip_prefix(want.as_str())
                        .is_some_and(|rest| rest.starts_with('-')));
            }
            if len == 0 {
                return Ok(false);
            }
            len -= 1;
        }
    }
}

fn qualified(prefix: &str, local: &str) -> String {
    if prefix.is_empty() {
        local.to_owned()
    } else {
        format!("{prefix}:{local}")
    }
}

/// XPath `round()`: the nearest integer, halves toward positive infinity; NaN, infinities
/// and zeros unchanged; negative values from -0.5 up round to -0.
pub fn round(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let f = x.floor();
    // `x - floor(x)` is exact, unlike `x + 0.5`, which rounds 0.49999999999999994 up.
    let r = if x - f >= 0.5 { f + 1.0 } else { f };
    if r == 0.0 && x < 0.0 { -0.0 } else { r }
}

/// XPath `substring(s, start, len)`: the characters at positions `p` (from 1) with
/// `round(start) <= p < round(start) + round(len)`; NaN bounds select nothing.
pub fn substring(s: &str, start: f64, len: Option<f64>) -> String {
    let first = round(start);
    let end = len.map_or(f64::INFINITY, |l| first + round(l));
    s.chars()
        .enumerate()
        .filter(|(i, _)| {
            let p = (*i + 1) as f64;
            p >= first && p < end
        })
        .map(|(_, c)| c)
        .collect()
}

/// XPath `normalize-space()`: trims and collapses runs of XML whitespace to one space.
pub fn normalize_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(is_xml_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// XPath `translate()`: each character found in `from` is replaced by the character at the
/// same position in `to`, or removed when `to` is shorter; the first occurrence in `from` wins.
pub fn translate(s: &str, from: &str, to: &str) -> String {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}
