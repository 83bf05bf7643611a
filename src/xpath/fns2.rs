//! The XPath 2.0 function library (F&O) as the 2.0 evaluator calls it.
//!
//! Argument conversion is a little more forgiving than the function signatures: any atomic
//! value is accepted where a string is expected (by its string value), as BPEL data mostly
//! arrives untyped anyway.

use std::cmp::Ordering;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use bpelgate_wsdl::xml::{Element, Node, QName, XML_NS};

use super::datetime::{DateTime, Duration};
use super::error::{ErrorKind, XPathError};
use super::eval2::{Eval2, Focus};
use super::fns_core;
use super::value::{
    NodeData, NodeKind, NodeRef, element_at, in_scope_namespaces, is_xml_space, pi_parts,
};
use super::xdm::{
    ArithOp, Atomic, CmpOp, Item, Sequence, arithmetic, atomize, compare_atomic, effective_boolean,
    is_ncname, parse_double, type_mismatch,
};
use super::xsregex;

const CODEPOINT_COLLATION: &str = "http://www.w3.org/2005/xpath-functions/collation/codepoint";

/// The arguments of one call.
struct Args<'a> {
    name: &'static str,
    v: Vec<Sequence<'a>>,
}

fn s<'a>(x: impl Into<String>) -> Result<Sequence<'a>, XPathError> {
    Ok(vec![Item::Atomic(Atomic::String(x.into()))])
}

fn atom<'a>(a: Atomic) -> Result<Sequence<'a>, XPathError> {
    Ok(vec![Item::Atomic(a)])
}

fn opt<'a>(a: Option<Atomic>) -> Result<Sequence<'a>, XPathError> {
    Ok(a.map(Item::Atomic).into_iter().collect())
}

fn int<'a>(i: i64) -> Result<Sequence<'a>, XPathError> {
    atom(Atomic::Integer(i))
}

fn boolean<'a>(b: bool) -> Result<Sequence<'a>, XPathError> {
    atom(Atomic::Boolean(b))
}

fn usize_int(n: usize) -> Atomic {
    Atomic::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

impl<'a> Args<'a> {
    fn seq(&self, i: usize) -> &[Item<'a>] {
        self.v.get(i).map_or(&[], Vec::as_slice)
    }

    fn take(&mut self, i: usize) -> Sequence<'a> {
        self.v.get_mut(i).map(std::mem::take).unwrap_or_default()
    }

    fn too_many(&self, i: usize) -> XPathError {
        type_mismatch(format!(
            "argument {} of {}() must be at most one item, not {}",
            i + 1,
            self.name,
            self.seq(i).len()
        ))
    }

    /// The argument atomized: empty or one value.
    fn atomic(&self, i: usize) -> Result<Option<Atomic>, XPathError> {
        match self.seq(i) {
            [] => Ok(None),
            [x] => Ok(Some(x.atomize())),
            _ => Err(self.too_many(i)),
        }
    }

    /// A string argument; the empty sequence is "".
    fn string(&self, i: usize) -> Result<String, XPathError> {
        Ok(self
            .atomic(i)?
            .map(|a| a.to_string_value())
            .unwrap_or_default())
    }

    /// A numeric argument, untyped values as doubles.
    fn number(&self, i: usize) -> Result<Option<Atomic>, XPathError> {
        match self.atomic(i)? {
            None => Ok(None),
            Some(Atomic::Untyped(s)) => {
                Ok(Some(Atomic::Double(parse_double(&s).ok_or_else(|| {
                    super::xdm::invalid_value(&format!("\"{s}\""), "double")
                })?)))
            }
            Some(a) if a.is_numeric() => Ok(Some(a)),
            Some(a) => Err(type_mismatch(format!(
                "argument {} of {}() must be numeric, not {}",
                i + 1,
                self.name,
                a.type_name()
            ))),
        }
    }

    fn double(&self, i: usize) -> Result<f64, XPathError> {
        Ok(self.number(i)?.map_or(f64::NAN, |a| a.to_double()))
    }

    fn integer(&self, i: usize) -> Result<i64, XPathError> {
        match self.number(i)? {
            Some(Atomic::Integer(n)) => Ok(n),
            Some(a) => Ok(a.to_double() as i64),
            None => Err(type_mismatch(format!(
                "argument {} of {}() must be an integer",
                i + 1,
                self.name
            ))),
        }
    }

    fn node(&self, i: usize) -> Result<Option<NodeRef<'a>>, XPathError> {
        match self.seq(i) {
            [] => Ok(None),
            [Item::Node(n)] => Ok(Some(n.clone())),
            [Item::Atomic(a)] => Err(type_mismatch(format!(
                "argument {} of {}() must be a node, not {}",
                i + 1,
                self.name,
                a.type_name()
            ))),
            _ => Err(self.too_many(i)),
        }
    }

    fn date_time(&self, i: usize) -> Result<Option<Atomic>, XPathError> {
        match self.atomic(i)? {
            Some(Atomic::Untyped(s)) => {
                // Untyped input is cast to the function's expected type.
                let t = match self.name {
                    n if n.ends_with("from-dateTime") || n.starts_with("adjust-dateTime") => {
                        "dateTime"
                    }
                    n if n.ends_with("from-date") || n.starts_with("adjust-date") => "date",
                    n if n.ends_with("from-time") || n.starts_with("adjust-time") => "time",
                    _ => "duration",
                };
                let t = super::xdm::type_by_name(t)
                    .ok_or_else(|| type_mismatch("unknown date type"))?;
                Atomic::Untyped(s).cast(&t).map(Some)
            }
            other => Ok(other),
        }
    }
}

fn name_of_node(n: &NodeRef<'_>) -> Option<(String, QName)> {
    match n.data()? {
        NodeData::Element(e) => Some((e.prefix.clone(), e.name.clone())),
        NodeData::Attribute(a) => Some((a.prefix.clone(), a.name.clone())),
        NodeData::ProcessingInstruction(p) => Some((String::new(), QName::local(pi_parts(p).0))),
        NodeData::Namespace { prefix, .. } if !prefix.is_empty() => {
            Some((String::new(), QName::local(prefix)))
        }
        _ => None,
    }
}

fn tz_duration(tz: Option<i16>) -> Option<Atomic> {
    tz.map(|m| {
        Atomic::DayTimeDuration(Duration {
            months: 0,
            seconds: Decimal::from(i64::from(m) * 60),
        })
    })
}

fn percent_encode(s: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if keep(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn round_half_even(a: &Atomic, precision: i64) -> Result<Atomic, XPathError> {
    let p = precision.clamp(-28, 28);
    Ok(match a {
        Atomic::Integer(i) if p >= 0 => Atomic::Integer(*i),
        Atomic::Integer(_) | Atomic::Decimal(_) => {
            let d = match a {
                Atomic::Integer(i) => Decimal::from(*i),
                Atomic::Decimal(d) => *d,
                _ => Decimal::ZERO,
            };
            let r = if p >= 0 {
                d.round_dp_with_strategy(p as u32, RoundingStrategy::MidpointNearestEven)
            } else {
                let scale = Decimal::from(10i64.pow((-p) as u32));
                (d / scale).round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven) * scale
            };
            match a {
                Atomic::Integer(_) => Atomic::Integer(r.to_i64().unwrap_or(0)),
                _ => Atomic::Decimal(r),
            }
        }
        other => {
            let x = other.to_double();
            if !x.is_finite() || x == 0.0 {
                return Ok(other.clone());
            }
            // Through the decimal form, so 0.125 rounds as written, not as its binary value.
            let r = match Decimal::from_f64_retain(x)
                .or_else(|| super::xdm::parse_decimal(&x.to_string()))
            {
                Some(d) if p >= 0 => d
                    .round_dp_with_strategy(p as u32, RoundingStrategy::MidpointNearestEven)
                    .to_f64()
                    .unwrap_or(x),
                _ => {
                    let scale = 10f64.powi(p as i32);
                    (x * scale).round_ties_even() / scale
                }
            };
            match other {
                Atomic::Float(_) => Atomic::Float(r as f32),
                _ => Atomic::Double(r),
            }
        }
    })
}

/// Deep equality of two elements: names, attributes as sets, and children in order with
/// comments and processing instructions ignored.
fn elements_equal(a: &Element, b: &Element) -> bool {
    if a.name != b.name || a.attrs.len() != b.attrs.len() {
        return false;
    }
    let attrs_ok = a.attrs.iter().all(|x| {
        b.attrs
            .iter()
            .any(|y| y.name == x.name && y.value == x.value)
    });
    fn kids(e: &Element) -> Vec<&Node> {
        e.children
            .iter()
            .filter(|n| matches!(n, Node::Element(_) | Node::Text(_)))
            .collect()
    }
    let (ka, kb) = (kids(a), kids(b));
    attrs_ok
        && ka.len() == kb.len()
        && ka.iter().zip(kb.iter()).all(|(x, y)| match (x, y) {
            (Node::Element(x), Node::Element(y)) => elements_equal(x, y),
            (Node::Text(x), Node::Text(y)) => x == y,
            _ => false,
        })
}

fn nodes_deep_equal(a: &NodeRef<'_>, b: &NodeRef<'_>) -> bool {
    match (a.data(), b.data()) {
        (Some(NodeData::Element(x)), Some(NodeData::Element(y)))
        | (Some(NodeData::Root(x)), Some(NodeData::Root(y))) => elements_equal(x, y),
        (Some(x), Some(y)) => {
            std::mem::discriminant(&x) == std::mem::discriminant(&y)
                && a.expanded_name() == b.expanded_name()
                && a.string_value() == b.string_value()
        }
        _ => false,
    }
}

impl<'a> Eval2<'_, 'a> {
    fn eq_atomic(&self, x: &Atomic, y: &Atomic) -> bool {
        let norm = |a: &Atomic| match a {
            Atomic::Untyped(s) => Atomic::String(s.clone()),
            a => a.clone(),
        };
        let (x, y) = (norm(x), norm(y));
        match compare_atomic(&x, &y, CmpOp::Eq, self.tz) {
            Ok(Some(o)) => o == Ordering::Equal,
            // NaN is equal to itself for distinct-values and index-of purposes only there.
            Ok(None) => x.to_double().is_nan() && y.to_double().is_nan(),
            Err(_) => false,
        }
    }

    fn context_node(&self, f: &Focus<'a>, what: &str) -> Result<NodeRef<'a>, XPathError> {
        match self.context_item(f, what)? {
            Item::Node(n) => Ok(n),
            Item::Atomic(a) => Err(XPathError::type_error(
                0,
                format!(
                    "[XPTY0004] {what} needs a node as context item, not {}",
                    a.type_name()
                ),
            )),
        }
    }

    /// The node argument `i`, or the context node when the call has fewer arguments.
    fn node_or_context(
        &self,
        a: &Args<'a>,
        i: usize,
        f: &Focus<'a>,
    ) -> Result<Option<NodeRef<'a>>, XPathError> {
        if a.v.len() > i {
            a.node(i)
        } else {
            self.context_node(f, &format!("{}()", a.name)).map(Some)
        }
    }

    fn string_or_context(&self, a: &Args<'a>, f: &Focus<'a>) -> Result<String, XPathError> {
        if a.v.is_empty() {
            Ok(self
                .context_item(f, &format!("{}()", a.name))?
                .string_value())
        } else {
            a.string(0)
        }
    }

    fn sum(&self, items: Vec<Atomic>) -> Result<Option<Atomic>, XPathError> {
        let mut acc: Option<Atomic> = None;
        for x in items {
            let x = match x {
                Atomic::Untyped(s) => Atomic::Double(
                    parse_double(&s)
                        .ok_or_else(|| super::xdm::invalid_value(&format!("\"{s}\""), "double"))?,
                ),
                x => x,
            };
            acc = Some(match acc {
                None => {
                    if !(x.is_numeric()
                        || matches!(x, Atomic::DayTimeDuration(_) | Atomic::YearMonthDuration(_)))
                    {
                        return Err(type_mismatch(format!("cannot sum {}", x.type_name())));
                    }
                    x
                }
                Some(a) => arithmetic(ArithOp::Add, &a, &x, self.tz)?,
            });
        }
        Ok(acc)
    }

    fn min_max(&self, items: Vec<Atomic>, want: Ordering) -> Result<Option<Atomic>, XPathError> {
        let mut best: Option<Atomic> = None;
        for x in items {
            let x = match x {
                Atomic::Untyped(s) => Atomic::Double(
                    parse_double(&s)
                        .ok_or_else(|| super::xdm::invalid_value(&format!("\"{s}\""), "double"))?,
                ),
                x => x,
            };
            if x.to_double().is_nan() && x.is_numeric() {
                return Ok(Some(Atomic::Double(f64::NAN)));
            }
            best = Some(match best {
                None => x,
                Some(b) => {
                    let o = compare_atomic(&x, &b, CmpOp::Lt, self.tz)?;
                    if o == Some(want) { x } else { b }
                }
            });
        }
        Ok(best)
    }

    /// Calls `fn:local`; the caller checked it is in the library.
    pub(super) fn builtin(
        &self,
        local: &str,
        args: Vec<Sequence<'a>>,
        f: &Focus<'a>,
    ) -> Result<Sequence<'a>, XPathError> {
        let name = super::functions::FN_FUNCTIONS
            .iter()
            .find(|s| s.name == local)
            .map_or("function", |s| s.name);
        let mut a = Args { name, v: args };
        match local {
            // Accessors.
            "node-name" => opt(a
                .node(0)?
                .and_then(|n| name_of_node(&n))
                .map(|(p, q)| Atomic::QName(p, q))),
            "nilled" => opt(a
                .node(0)?
                .and_then(|n| (n.kind() == NodeKind::Element).then_some(Atomic::Boolean(false)))),
            "string" => s(self.string_or_context(&a, f)?),
            "data" => Ok(atomize(a.seq(0)).into_iter().map(Item::Atomic).collect()),
            "base-uri" | "document-uri" | "static-base-uri" => Ok(Vec::new()),
            "error" => {
                let code = a
                    .atomic(0)?
                    .map_or("FOER0000".to_owned(), |c| c.to_string_value());
                let desc = a.string(1)?;
                Err(XPathError::dynamic(
                    0,
                    if desc.is_empty() {
                        format!("[{code}] error() was called")
                    } else {
                        format!("[{code}] {desc}")
                    },
                ))
            }
            "trace" => Ok(a.take(0)),
            // Numbers.
            "abs" | "ceiling" | "floor" | "round" => {
                let Some(x) = a.number(0)? else {
                    return Ok(Vec::new());
                };
                atom(match x {
                    Atomic::Integer(i) => Atomic::Integer(if local == "abs" {
                        i.checked_abs()
                            .ok_or_else(|| type_mismatch("integer overflow"))?
                    } else {
                        i
                    }),
                    Atomic::Decimal(d) => Atomic::Decimal(match local {
                        "abs" => d.abs(),
                        "ceiling" => d.ceil(),
                        "floor" => d.floor(),
                        _ => (d + Decimal::new(5, 1)).floor(),
                    }),
                    other => {
                        let x = other.to_double();
                        let r = match local {
                            "abs" => x.abs(),
                            "ceiling" => x.ceil(),
                            "floor" => x.floor(),
                            _ => fns_core::round(x),
                        };
                        match other {
                            Atomic::Float(_) => Atomic::Float(r as f32),
                            _ => Atomic::Double(r),
                        }
                    }
                })
            }
            "round-half-to-even" => {
                let Some(x) = a.number(0)? else {
                    return Ok(Vec::new());
                };
                let p = if a.v.len() > 1 { a.integer(1)? } else { 0 };
                atom(round_half_even(&x, p)?)
            }
            "number" => {
                let v = if a.v.is_empty() {
                    Some(self.context_item(f, "number()")?.atomize())
                } else {
                    a.atomic(0)?
                };
                atom(Atomic::Double(v.map_or(f64::NAN, |x| x.to_double())))
            }
            // Strings.
            "codepoints-to-string" => {
                let mut out = String::new();
                for x in atomize(a.seq(0)) {
                    let cp = match x {
                        Atomic::Integer(i) => i,
                        other => other.to_double() as i64,
                    };
                    let c = u32::try_from(cp)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| {
                            XPathError::dynamic(
                                0,
                                format!("[FOCH0001] {cp} is not a valid XML character"),
                            )
                        })?;
                    out.push(c);
                }
                s(out)
            }
            "string-to-codepoints" => Ok(a
                .string(0)?
                .chars()
                .map(|c| Item::Atomic(Atomic::Integer(i64::from(u32::from(c)))))
                .collect()),
            "compare" => match (a.atomic(0)?, a.atomic(1)?) {
                (Some(x), Some(y)) => int(match x.to_string_value().cmp(&y.to_string_value()) {
                    Ordering::Less => -1,
                    Ordering::Equal => 0,
                    Ordering::Greater => 1,
                }),
                _ => Ok(Vec::new()),
            },
            "codepoint-equal" => match (a.atomic(0)?, a.atomic(1)?) {
                (Some(x), Some(y)) => boolean(x.to_string_value() == y.to_string_value()),
                _ => Ok(Vec::new()),
            },
            "concat" => {
                let mut out = String::new();
                for i in 0..a.v.len() {
                    out.push_str(&a.string(i)?);
                }
                s(out)
            }
            "string-join" => {
                let sep = a.string(1)?;
                s(a.seq(0)
                    .iter()
                    .map(Item::string_value)
                    .collect::<Vec<_>>()
                    .join(&sep))
            }
            "substring" => {
                let text = a.string(0)?;
                let start = a.double(1)?;
                let len = if a.v.len() > 2 {
                    Some(a.double(2)?)
                } else {
                    None
                };
                s(fns_core::substring(&text, start, len))
            }
            "string-length" => {
                int(i64::try_from(self.string_or_context(&a, f)?.chars().count()).unwrap_or(0))
            }
            "normalize-space" => s(fns_core::normalize_space(&self.string_or_context(&a, f)?)),
            // Without Unicode tables here, text is returned as it is (already NFC for
            // nearly all XML in practice).
            "normalize-unicode" => s(a.string(0)?),
            "upper-case" => s(a.string(0)?.to_uppercase()),
            "lower-case" => s(a.string(0)?.to_lowercase()),
            "translate" => s(fns_core::translate(
                &a.string(0)?,
                &a.string(1)?,
                &a.string(2)?,
            )),
            "encode-for-uri" => s(percent_encode(&a.string(0)?, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
            })),
            "iri-to-uri" => s(percent_encode(&a.string(0)?, |c| {
                c.is_ascii()
                    && !c.is_ascii_control()
                    && !matches!(
                        c,
                        ' ' | '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`'
                    )
            })),
            "escape-html-uri" => s(percent_encode(&a.string(0)?, |c| (' '..='~').contains(&c))),
            "contains" => boolean(a.string(0)?.contains(&a.string(1)?)),
            "starts-with" => boolean(a.string(0)?.starts_with(&a.string(1)?)),
            "ends-with" => boolean(a.string(0)?.ends_with(&a.string(1)?)),
            "substring-before" => {
                let (x, y) = (a.string(0)?, a.string(1)?);
                s(x.find(&y).map(|i| &x[..i]).unwrap_or_default())
            }
            "substring-after" => {
                let (x, y) = (a.string(0)?, a.string(1)?);
                s(x.find(&y).map(|i| &x[i + y.len()..]).unwrap_or_default())
            }
            "matches" => {
                let re = xsregex::compile(&a.string(1)?, &a.string(2)?)?;
                boolean(re.is_match(&a.string(0)?))
            }
            "replace" => {
                let re = xsregex::compile(&a.string(1)?, &a.string(3)?)?;
                if re.is_match("") {
                    return Err(XPathError::dynamic(
                        0,
                        "[FORX0003] the pattern of replace() matches the empty string",
                    ));
                }
                let rep = xsregex::replacement(&a.string(2)?, re.captures_len())?;
                s(re.replace_all(&a.string(0)?, rep.as_str()).into_owned())
            }
            "tokenize" => {
                let text = a.string(0)?;
                let re = xsregex::compile(&a.string(1)?, &a.string(2)?)?;
                if re.is_match("") {
                    return Err(XPathError::dynamic(
                        0,
                        "[FORX0003] the pattern of tokenize() matches the empty string",
                    ));
                }
                if text.is_empty() {
                    return Ok(Vec::new());
                }
                Ok(re
                    .split(&text)
                    .map(|t| Item::Atomic(Atomic::String(t.to_owned())))
                    .collect())
            }
            "resolve-uri" => {
                let Some(rel) = a.atomic(0)? else {
                    return Ok(Vec::new());
                };
                let rel = rel.to_string_value();
                let base = a.string(1)?;
                let absolute = rel
                    .split_once(':')
                    .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains('/'));
                atom(Atomic::AnyUri(if absolute || base.is_empty() {
                    rel
                } else if rel.starts_with('/') {
                    match base
                        .find("://")
                        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
                    {
                        Some(end) => format!("{}{rel}", &base[..end]),
                        None => format!("{base}{rel}"),
                    }
                } else {
                    match base.rfind('/') {
                        Some(i) => format!("{}{rel}", &base[..=i]),
                        None => rel,
                    }
                }))
            }
            // Booleans.
            "true" => boolean(true),
            "false" => boolean(false),
            "not" => boolean(!effective_boolean(a.seq(0))?),
            "boolean" => boolean(effective_boolean(a.seq(0))?),
            // Durations, dates and times.
            "years-from-duration"
            | "months-from-duration"
            | "days-from-duration"
            | "hours-from-duration"
            | "minutes-from-duration"
            | "seconds-from-duration" => {
                let d = match a.date_time(0)? {
                    None => return Ok(Vec::new()),
                    Some(
                        Atomic::Duration(d)
                        | Atomic::YearMonthDuration(d)
                        | Atomic::DayTimeDuration(d),
                    ) => d,
                    Some(other) => {
                        return Err(type_mismatch(format!(
                            "{local}() needs a duration, not {}",
                            other.type_name()
                        )));
                    }
                };
                let secs = d.seconds;
                let whole = secs.trunc().to_i64().unwrap_or(0);
                match local {
                    "years-from-duration" => int(d.months / 12),
                    "months-from-duration" => int(d.months % 12),
                    "days-from-duration" => int(whole / 86_400),
                    "hours-from-duration" => int(whole % 86_400 / 3600),
                    "minutes-from-duration" => int(whole % 3600 / 60),
                    _ => atom(Atomic::Decimal(secs % Decimal::from(60))),
                }
            }
            "dateTime" => match (a.date_time(0)?, a.date_time(1)?) {
                (Some(d), Some(t)) => {
                    let d = match d {
                        Atomic::Date(d) => d,
                        Atomic::Untyped(s) => DateTime::parse_date(&s)
                            .ok_or_else(|| super::xdm::invalid_value(&s, "date"))?,
                        other => {
                            return Err(type_mismatch(format!(
                                "dateTime() needs a date, not {}",
                                other.type_name()
                            )));
                        }
                    };
                    let t = match t {
                        Atomic::Time(t) => t,
                        Atomic::Untyped(s) => DateTime::parse_time(&s)
                            .ok_or_else(|| super::xdm::invalid_value(&s, "time"))?,
                        other => {
                            return Err(type_mismatch(format!(
                                "dateTime() needs a time, not {}",
                                other.type_name()
                            )));
                        }
                    };
                    let tz = match (d.tz, t.tz) {
                        (Some(x), Some(y)) if x != y => {
                            return Err(XPathError::dynamic(
                                0,
                                "[FORG0008] the date and time have different timezones",
                            ));
                        }
                        (x, y) => x.or(y),
                    };
                    atom(Atomic::DateTime(DateTime {
                        hour: t.hour,
                        minute: t.minute,
                        second: t.second,
                        tz,
                        ..d
                    }))
                }
                _ => Ok(Vec::new()),
            },
            "year-from-dateTime"
            | "month-from-dateTime"
            | "day-from-dateTime"
            | "hours-from-dateTime"
            | "minutes-from-dateTime"
            | "seconds-from-dateTime"
            | "timezone-from-dateTime"
            | "year-from-date"
            | "month-from-date"
            | "day-from-date"
            | "timezone-from-date"
            | "hours-from-time"
            | "minutes-from-time"
            | "seconds-from-time"
            | "timezone-from-time" => {
                let dt = match a.date_time(0)? {
                    None => return Ok(Vec::new()),
                    Some(Atomic::DateTime(d) | Atomic::Date(d) | Atomic::Time(d)) => d,
                    Some(other) => {
                        return Err(type_mismatch(format!(
                            "{local}() needs a date or time, not {}",
                            other.type_name()
                        )));
                    }
                };
                match local.split('-').next().unwrap_or("") {
                    "year" => int(dt.year),
                    "month" => int(i64::from(dt.month)),
                    "day" => int(i64::from(dt.day)),
                    "hours" => int(i64::from(dt.hour)),
                    "minutes" => int(i64::from(dt.minute)),
                    "seconds" => atom(Atomic::Decimal(dt.second)),
                    _ => opt(tz_duration(dt.tz)),
                }
            }
            "adjust-dateTime-to-timezone"
            | "adjust-date-to-timezone"
            | "adjust-time-to-timezone" => {
                let Some(v) = a.date_time(0)? else {
                    return Ok(Vec::new());
                };
                let tz = if a.v.len() < 2 {
                    Some(self.tz)
                } else {
                    match a.atomic(1)? {
                        None => None,
                        Some(Atomic::DayTimeDuration(d)) => {
                            let minutes = d.seconds / Decimal::from(60);
                            if !minutes.fract().is_zero() || minutes.abs() > Decimal::from(14 * 60)
                            {
                                return Err(XPathError::dynamic(
                                    0,
                                    "[FODT0003] invalid timezone value",
                                ));
                            }
                            minutes.to_i16()
                        }
                        Some(other) => {
                            return Err(type_mismatch(format!(
                                "the timezone must be an xs:dayTimeDuration, not {}",
                                other.type_name()
                            )));
                        }
                    }
                };
                atom(match v {
                    Atomic::DateTime(d) => Atomic::DateTime(d.adjust(tz)),
                    Atomic::Date(d) => Atomic::Date(d.adjust(tz).date_only()),
                    Atomic::Time(d) => Atomic::Time(d.adjust(tz).time_only()),
                    other => {
                        return Err(type_mismatch(format!(
                            "{local}() needs a date or time, not {}",
                            other.type_name()
                        )));
                    }
                })
            }
            // QNames.
            "QName" => {
                let uri = a.string(0)?;
                let lexical = a.string(1)?;
                let (prefix, local_part) = lexical.split_once(':').unwrap_or(("", &lexical));
                if !is_ncname(local_part) || (!prefix.is_empty() && !is_ncname(prefix)) {
                    return Err(XPathError::dynamic(
                        0,
                        format!("[FOCA0002] '{lexical}' is not a lexical QName"),
                    ));
                }
                if !prefix.is_empty() && uri.is_empty() {
                    return Err(XPathError::dynamic(
                        0,
                        "[FOCA0002] a prefixed QName needs a namespace URI",
                    ));
                }
                atom(Atomic::QName(
                    prefix.to_owned(),
                    QName::new(uri, local_part),
                ))
            }
            "prefix-from-QName" | "local-name-from-QName" | "namespace-uri-from-QName" => {
                match a.atomic(0)? {
                    None => Ok(Vec::new()),
                    Some(Atomic::QName(p, q)) => match local {
                        "prefix-from-QName" if p.is_empty() => Ok(Vec::new()),
                        "prefix-from-QName" => s(p),
                        "local-name-from-QName" => s(q.local),
                        _ => atom(Atomic::AnyUri(q.ns)),
                    },
                    Some(other) => Err(type_mismatch(format!(
                        "{local}() needs an xs:QName, not {}",
                        other.type_name()
                    ))),
                }
            }
            "resolve-QName" | "namespace-uri-for-prefix" | "in-scope-prefixes" => {
                let el_index = if local == "in-scope-prefixes" { 0 } else { 1 };
                let Some(el) = a.node(el_index)? else {
                    return Ok(Vec::new());
                };
                if el.kind() != NodeKind::Element {
                    return Err(type_mismatch(format!("{local}() needs an element")));
                }
                let scope = in_scope_namespaces(el.tree().root(), el.path()).unwrap_or_default();
                let lookup = |p: &str| -> Option<String> {
                    scope
                        .iter()
                        .find(|(x, _)| *x == p)
                        .map(|(_, u)| (*u).to_owned())
                };
                match local {
                    "in-scope-prefixes" => Ok(scope
                        .iter()
                        .map(|(p, _)| Item::Atomic(Atomic::String((*p).to_owned())))
                        .collect()),
                    "namespace-uri-for-prefix" => {
                        let p = a.string(0)?;
                        opt(lookup(&p).map(Atomic::AnyUri))
                    }
                    _ => {
                        let Some(q) = a.atomic(0)? else {
                            return Ok(Vec::new());
                        };
                        let q = q.to_string_value();
                        let (p, l) = q.split_once(':').unwrap_or(("", &q));
                        if !is_ncname(l) {
                            return Err(XPathError::dynamic(
                                0,
                                format!("[FOCA0002] '{q}' is not a lexical QName"),
                            ));
                        }
                        let uri = match lookup(p) {
                            Some(u) => u,
                            None if p.is_empty() => String::new(),
                            None => {
                                return Err(XPathError::dynamic(
                                    0,
                                    format!("[FONS0004] no namespace is declared for prefix '{p}'"),
                                ));
                            }
                        };
                        atom(Atomic::QName(p.to_owned(), QName::new(uri, l)))
                    }
                }
            }
            // Nodes.
            "name" | "local-name" | "namespace-uri" => {
                let n = self.node_or_context(&a, 0, f)?;
                let named = n.as_ref().and_then(name_of_node);
                match local {
                    "name" => s(named.map_or(String::new(), |(p, q)| {
                        if p.is_empty() {
                            q.local
                        } else {
                            format!("{p}:{}", q.local)
                        }
                    })),
                    "local-name" => s(named.map_or(String::new(), |(_, q)| q.local)),
                    _ => atom(Atomic::AnyUri(named.map_or(String::new(), |(_, q)| q.ns))),
                }
            }
            "lang" => {
                let want = a.string(0)?.to_ascii_lowercase();
                let Some(node) = self.node_or_context(&a, 1, f)? else {
                    return boolean(false);
                };
                let root = node.tree().root();
                let path = node.path();
                let mut len = match node.kind() {
                    NodeKind::Root => return boolean(false),
                    NodeKind::Element | NodeKind::Attribute(_) | NodeKind::Namespace(_) => {
                        path.len()
                    }
                    _ => path.len().saturating_sub(1),
                };
                loop {
                    if let Some(l) =
                        element_at(root, &path[..len]).and_then(|e| e.attr_ns(XML_NS, "lang"))
                    {
                        let l = l.to_ascii_lowercase();
                        return boolean(
                            l == want
                                || l.strip_prefix(want.as_str())
                                    .is_some_and(|r| r.starts_with('-')),
                        );
                    }
                    if len == 0 {
                        return boolean(false);
                    }
                    len -= 1;
                }
            }
            "root" => Ok(self
                .node_or_context(&a, 0, f)?
                .map(|n| Item::Node(NodeRef::document(n.tree().clone())))
                .into_iter()
                .collect()),
            // Sequences.
            "index-of" => {
                let Some(target) = a.atomic(1)? else {
                    return Ok(Vec::new());
                };
                Ok(atomize(a.seq(0))
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| self.eq_atomic(x, &target))
                    .map(|(i, _)| Item::Atomic(usize_int(i + 1)))
                    .collect())
            }
            "empty" => boolean(a.seq(0).is_empty()),
            "exists" => boolean(!a.seq(0).is_empty()),
            "distinct-values" => {
                let mut out: Vec<Atomic> = Vec::new();
                for x in atomize(a.seq(0)) {
                    if !out.iter().any(|y| self.eq_atomic(&x, y)) {
                        out.push(x);
                    }
                }
                Ok(out.into_iter().map(Item::Atomic).collect())
            }
            "insert-before" => {
                let pos = a.integer(1)?;
                let ins = a.take(2);
                let mut seq = a.take(0);
                let at = usize::try_from(pos.max(1) - 1).unwrap_or(0).min(seq.len());
                seq.splice(at..at, ins);
                Ok(seq)
            }
            "remove" => {
                let pos = a.integer(1)?;
                let mut seq = a.take(0);
                if pos >= 1 && (pos as usize) <= seq.len() {
                    seq.remove(pos as usize - 1);
                }
                Ok(seq)
            }
            "reverse" => {
                let mut seq = a.take(0);
                seq.reverse();
                Ok(seq)
            }
            "subsequence" => {
                let start = fns_core::round(a.double(1)?);
                let len = if a.v.len() > 2 {
                    Some(fns_core::round(a.double(2)?))
                } else {
                    None
                };
                let end = len.map_or(f64::INFINITY, |l| start + l);
                Ok(a.take(0)
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        let p = (*i + 1) as f64;
                        p >= start && p < end
                    })
                    .map(|(_, x)| x)
                    .collect())
            }
            "unordered" => Ok(a.take(0)),
            "zero-or-one" | "one-or-more" | "exactly-one" => {
                let n = a.seq(0).len();
                let (ok, code) = match local {
                    "zero-or-one" => (n <= 1, "FORG0003"),
                    "one-or-more" => (n >= 1, "FORG0004"),
                    _ => (n == 1, "FORG0005"),
                };
                if ok {
                    Ok(a.take(0))
                } else {
                    Err(XPathError::dynamic(
                        0,
                        format!("[{code}] {local}() got a sequence of {n} items"),
                    ))
                }
            }
            "deep-equal" => {
                let (x, y) = (a.seq(0), a.seq(1));
                boolean(
                    x.len() == y.len()
                        && x.iter().zip(y.iter()).all(|(p, q)| match (p, q) {
                            (Item::Atomic(p), Item::Atomic(q)) => self.eq_atomic(p, q),
                            (Item::Node(p), Item::Node(q)) => nodes_deep_equal(p, q),
                            _ => false,
                        }),
                )
            }
            "count" => atom(usize_int(a.seq(0).len())),
            "sum" => {
                let zero = if a.v.len() > 1 {
                    a.atomic(1)?
                } else {
                    Some(Atomic::Integer(0))
                };
                match self.sum(atomize(a.seq(0)))? {
                    Some(x) => atom(x),
                    None => opt(zero),
                }
            }
            "avg" => {
                let items = atomize(a.seq(0));
                let n = items.len();
                match self.sum(items)? {
                    None => Ok(Vec::new()),
                    Some(total) => atom(arithmetic(ArithOp::Div, &total, &usize_int(n), self.tz)?),
                }
            }
            "max" => opt(self.min_max(atomize(a.seq(0)), Ordering::Greater)?),
            "min" => opt(self.min_max(atomize(a.seq(0)), Ordering::Less)?),
            "id" => {
                let tokens: Vec<String> = atomize(a.seq(0))
                    .iter()
                    .flat_map(|x| {
                        x.to_string_value()
                            .split(is_xml_space)
                            .filter(|t| !t.is_empty())
                            .map(str::to_owned)
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let Some(node) = self.node_or_context(&a, 1, f)? else {
                    return Ok(Vec::new());
                };
                let tree = node.tree().clone();
                let mut out = Vec::new();
                let mut stack = vec![(tree.root(), Vec::new())];
                while let Some((el, path)) = stack.pop() {
                    if el
                        .attr_ns(XML_NS, "id")
                        .is_some_and(|v| tokens.iter().any(|t| t == v.trim_matches(is_xml_space)))
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
                super::value::sort_nodes(&mut out);
                Ok(out.into_iter().map(Item::Node).collect())
            }
            "idref" => Ok(Vec::new()),
            "doc-available" => boolean(false),
            "doc" | "collection" => Err(XPathError::dynamic(
                0,
                format!("[FODC0002] {local}(): documents cannot be loaded from a process"),
            )),
            // Context.
            "position" => atom(usize_int(f.position)),
            "last" => atom(usize_int(f.size)),
            "current-dateTime" => atom(Atomic::DateTime(self.now())),
            "current-date" => atom(Atomic::Date(self.now().date_only())),
            "current-time" => atom(Atomic::Time(self.now().time_only())),
            "implicit-timezone" => opt(tz_duration(Some(self.tz))),
            "default-collation" => s(CODEPOINT_COLLATION),
            other => Err(XPathError::new(
                ErrorKind::Unsupported,
                0,
                format!("fn:{other}() is not supported"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_even() {
        let r = |x: Atomic, p| round_half_even(&x, p).unwrap().to_string_value();
        assert_eq!(r(Atomic::Double(0.5), 0), "0");
        assert_eq!(r(Atomic::Double(1.5), 0), "2");
        assert_eq!(r(Atomic::Double(2.5), 0), "2");
        assert_eq!(r(Atomic::Decimal(Decimal::new(3_567_812, 6)), 2), "3.57");
        assert_eq!(r(Atomic::Integer(35_612), -2), "35600");
        assert_eq!(r(Atomic::Integer(35_650), -2), "35600");
        assert_eq!(r(Atomic::Double(0.125), 2), "0.12");
    }

    #[test]
    fn encoding() {
        assert_eq!(
            percent_encode("a b/é", |c| c.is_ascii_alphanumeric()),
            "a%20b%2F%C3%A9"
        );
    }
}
