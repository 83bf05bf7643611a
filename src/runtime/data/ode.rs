//! Apache ODE's XPath extension functions (namespace `http://www.apache.org/ode/type/extension`).
//!
//! The node-editing ones (insert-*, delete, rename) are non-updating, as in ODE: they return a
//! modified copy (of the context element, or of the parent of the nodes they act on) for an
//! assign to copy back.

use bpelgate_wsdl::xml::to_string;
use bpelgate_wsdl::{Element, Node, QName};

use super::eval::{Res, resolve_qname, string_arg, xstd};
use crate::xpath::functions::ODE_EXT_NS;
use crate::xpath::value::in_scope_namespaces;
use crate::xpath::{NodeKind, NodeRef, Tree, Value, XPathError};

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

fn ode_fault(local: &str, msg: impl Into<String>) -> XPathError {
    XPathError::fault(QName::new(ODE_EXT_NS, local), msg)
}

/// Calls ODE function `local`; `None` when ODE has no such function.
pub(super) fn call<'a>(
    res: &Res<'_, 'a>,
    local: &str,
    args: Vec<Value<'a>>,
) -> Option<Result<Value<'a>, XPathError>> {
    Some(match local {
        "split-to-elements" | "splitToElements" => split_to_elements(&args),
        "combine-url" | "combineUrl" => combine_url(&args),
        "compose-url" | "composeUrl" => compose_url(&args, false, "composeUrlInvalidSource"),
        "expand-template" | "expandTemplate" => {
            compose_url(&args, true, "expandTemplateInvalidSource")
        }
        "dom-to-string" | "domToString" => dom_to_string(&args),
        "insert-after" => insert_sibling(&args, true),
        "insert-before" => insert_sibling(&args, false),
        "insert-as-first-into" => insert_into(&args, true),
        "insert-as-last-into" => insert_into(&args, false),
        "delete" => delete(&args),
        "rename" => rename(res, &args),
        "process-property" => process_property(res, &args),
        _ => return None,
    })
}

/// A result element as a one-node node-set.
fn element_value<'a>(el: Element) -> Value<'a> {
    Value::Nodes(vec![NodeRef::element(Tree::owned(el))])
}

fn nodes<'v, 'a>(v: Option<&'v Value<'a>>) -> &'v [NodeRef<'a>] {
    match v {
        Some(Value::Nodes(n)) => n,
        _ => &[],
    }
}

/// A copy of an element node with the namespaces its ancestors declared, so that it stands
/// on its own (QName-valued content keeps its prefixes).
pub(super) fn detached_element(n: &NodeRef<'_>) -> Option<Element> {
    let mut el = match n.kind() {
        NodeKind::Element => n.as_element()?.clone(),
        NodeKind::Root => n.tree().root().clone(),
        _ => return None,
    };
    if !n.path().is_empty()
        && let Some(ns) = in_scope_namespaces(n.tree().root(), n.path())
    {
        for (p, u) in ns {
            if p != "xml" && !el.ns_decls.iter().any(|(q, _)| q == p) {
                el.ns_decls.push((p.to_owned(), u.to_owned()));
            }
        }
    }
    Some(el)
}

/// A node as a child to insert (attributes and namespace nodes cannot be children).
fn owned_child(n: &NodeRef<'_>) -> Option<Node> {
    match n.kind() {
        NodeKind::Element | NodeKind::Root => detached_element(n).map(Node::Element),
        NodeKind::Text => Some(Node::Text(n.string_value())),
        NodeKind::Comment => Some(Node::Comment(n.string_value())),
        NodeKind::ProcessingInstruction => match n.data() {
            Some(crate::xpath::NodeData::ProcessingInstruction(p)) => Some(Node::Pi(p.to_owned())),
            _ => None,
        },
        NodeKind::Attribute(_) | NodeKind::Namespace(_) => None,
    }
}

fn owned_children(ns: &[NodeRef<'_>]) -> Vec<Node> {
    ns.iter().filter_map(owned_child).collect()
}

/// The single element of a node-set argument.
fn single_element(v: Option<&Value<'_>>, what: &str) -> Result<Element, XPathError> {
    match nodes(v) {
        [n] => detached_element(n),
        _ => None,
    }
    .ok_or_else(|| {
        xstd(
            "selectionFailure",
            format!("{what} must be a single element"),
        )
    })
}

/// A copy of the parent element of `n` and the index of `n` among its children.
fn parent_copy(n: &NodeRef<'_>) -> Result<(Element, usize), XPathError> {
    let no_parent = || xstd("selectionFailure", "the node has no parent element");
    let idx = *n.path().last().ok_or_else(no_parent)?;
    let parent_node = n.parent().ok_or_else(no_parent)?;
    if !matches!(
        n.kind(),
        NodeKind::Element | NodeKind::Text | NodeKind::Comment | NodeKind::ProcessingInstruction
    ) {
        return Err(no_parent());
    }
    let el = detached_element(&parent_node).ok_or_else(no_parent)?;
    Ok((el, idx))
}

fn split_to_elements<'a>(args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
    let text = string_arg(args, 0);
    let sep = string_arg(args, 1);
    let local = string_arg(args, 2);
    let ns = string_arg(args, 3);
    if local.is_empty() {
        return Err(ode_fault(
            "splitInvalidSource",
            "no element name to split into",
        ));
    }
    let text = text.trim();
    let mut pieces: Vec<&str> = if sep.is_empty() {
        vec![text]
    } else {
        text.split(sep.as_str()).collect()
    };
    // As Java's String.split, which ODE uses: trailing empty pieces are dropped.
    while pieces.len() > 1 && pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    let mut wrapper = Element::new(QName::local("wrapper"));
    for p in pieces {
        let mut e = Element::new(QName::new(ns.as_str(), local.as_str()));
        let t = p.trim();
        if !t.is_empty() {
            e.children.push(Node::Text(t.to_owned()));
        }
        wrapper.children.push(Node::Element(e));
    }
    Ok(element_value(wrapper))
}

fn combine_url<'a>(args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
    let base = string_arg(args, 0);
    let rel = string_arg(args, 1);
    resolve_url(base.trim(), rel.trim())
        .map(Value::String)
        .ok_or_else(|| {
            ode_fault(
                "combineUrlInvalidSource",
                format!("cannot combine '{base}' with '{rel}': the base must be an absolute URL"),
            )
        })
}

fn compose_url<'a>(
    args: &[Value<'a>],
    keep_unbound: bool,
    fault: &str,
) -> Result<Value<'a>, XPathError> {
    let template = string_arg(args, 0);
    let mut pairs: Vec<(String, String)> = Vec::new();
    if args.len() == 2 {
        let el = single_element(args.get(1), "the second argument").map_err(|_| {
            ode_fault(
                fault,
                "expected an element like <foo><name1>value1</name1>...</foo>",
            )
        })?;
        for c in el.elements() {
            pairs.push((c.name.local.clone(), c.text()));
        }
    } else if args.len() >= 3 && args.len() % 2 == 1 {
        for pair in args[1..].chunks(2) {
            pairs.push((pair[0].to_xpath_string(), pair[1].to_xpath_string()));
        }
    } else {
        return Err(ode_fault(fault, "illegal arguments"));
    }
    expand_template(&template, &pairs, keep_unbound)
        .map(Value::String)
        .ok_or_else(|| ode_fault(fault, format!("'{template}' is not a valid URI template")))
}

fn dom_to_string<'a>(args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
    let el = single_element(args.first(), "the argument of dom-to-string").map_err(|_| {
        xstd(
            "xsltInvalidSource",
            "dom-to-string must be passed a single element",
        )
    })?;
    Ok(Value::String(to_string(&el)))
}

/// insert-after / insert-before `(children, siblings)` or `(context, children, siblings)`.
fn insert_sibling<'a>(args: &[Value<'a>], after: bool) -> Result<Value<'a>, XPathError> {
    let (children, siblings) = match args.len() {
        2 => (nodes(args.first()), nodes(args.get(1))),
        _ => (nodes(args.get(1)), nodes(args.get(2))),
    };
    let target = if after {
        children.last()
    } else {
        children.first()
    }
    .ok_or_else(|| xstd("selectionFailure", "no node to insert next to"))?;
    let (mut parent, idx) = parent_copy(target)?;
    let at = if after { idx + 1 } else { idx };
    let new = owned_children(siblings);
    parent.children.splice(at..at, new);
    Ok(element_value(parent))
}

/// insert-as-first-into / insert-as-last-into `(context, children)`.
fn insert_into<'a>(args: &[Value<'a>], first: bool) -> Result<Value<'a>, XPathError> {
    let mut ctx = single_element(args.first(), "the context of the insertion")?;
    let new = owned_children(nodes(args.get(1)));
    if first {
        ctx.children.splice(0..0, new);
    } else {
        ctx.children.extend(new);
    }
    Ok(element_value(ctx))
}

/// delete `(children)` or `(context, children)`: a copy of the children's parent without them.
fn delete<'a>(args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
    let targets = nodes(if args.len() == 2 {
        args.get(1)
    } else {
        args.first()
    });
    let first = targets
        .first()
        .ok_or_else(|| xstd("selectionFailure", "no node to delete"))?;
    let parent = first.parent();
    if targets.iter().any(|t| t.parent() != parent) {
        return Err(xstd(
            "selectionFailure",
            "delete must be passed nodes that have the same parent",
        ));
    }
    let (mut copy, _) = parent_copy(first)?;
    let mut idxs: Vec<usize> = Vec::new();
    for t in targets {
        idxs.push(parent_copy(t)?.1);
    }
    idxs.sort_unstable();
    idxs.dedup();
    for i in idxs.into_iter().rev() {
        if i < copy.children.len() {
            copy.children.remove(i);
        }
    }
    Ok(element_value(copy))
}

/// rename `(element, name [, type])`: as ODE, a copy of the element's parent with the element
/// renamed (and `xsi:type` set when a type is given); an element without a parent is returned
/// renamed itself.
fn rename<'a>(res: &Res<'_, 'a>, args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
    let target = match nodes(args.first()) {
        [n] if n.kind() == NodeKind::Element => n.clone(),
        _ => {
            return Err(xstd(
                "selectionFailure",
                "rename must be passed a single element",
            ));
        }
    };
    let scope: Vec<(String, String)> = {
        let mut s: Vec<(String, String)> = res.ns.to_vec();
        if let Some(ns) = in_scope_namespaces(target.tree().root(), target.path()) {
            s.extend(ns.into_iter().map(|(p, u)| (p.to_owned(), u.to_owned())));
        }
        s
    };
    let name_of = |v: Option<&Value<'a>>| -> Result<(QName, String), XPathError> {
        match v {
            Some(Value::Nodes(n)) => match n.as_slice() {
                [e] => e
                    .as_element()
                    .map(|e| (e.name.clone(), e.prefix.clone()))
                    .ok_or_else(|| {
                        ode_fault(
                            "renameInvalidSource",
                            "the name must be an element or a QName",
                        )
                    }),
                _ => Err(ode_fault(
                    "renameInvalidSource",
                    "the name must be a single node",
                )),
            },
            Some(v) => {
                let text = v.to_xpath_string();
                let prefix = text
                    .split_once(':')
                    .map(|(p, _)| p.trim().to_owned())
                    .unwrap_or_default();
                resolve_qname(&scope, &text)
                    .map(|q| (q, prefix))
                    .ok_or_else(|| {
                        ode_fault(
                            "renameInvalidSource",
                            format!("'{text}' is not a QName in scope"),
                        )
                    })
            }
            None => Err(ode_fault("renameInvalidSource", "no name given")),
        }
    };
    let (name, prefix) = name_of(args.get(1))?;
    let ty = match args.get(2) {
        Some(v) => Some(name_of(Some(v))?),
        None => None,
    };
    let apply = |el: &mut Element| {
        el.name = name.clone();
        el.prefix = prefix.clone();
        if let Some((tq, tp)) = &ty {
            let tp = if tp.is_empty() {
                "t".to_owned()
            } else {
                tp.clone()
            };
            if !tq.ns.is_empty() && !el.ns_decls.iter().any(|(p, _)| *p == tp) {
                el.ns_decls.push((tp.clone(), tq.ns.clone()));
            }
            el.attrs.retain(|a| !a.name.is(XSI_NS, "type"));
            el.attrs.push(bpelgate_wsdl::xml::Attr {
                name: QName::new(XSI_NS, "type"),
                prefix: "xsi".to_owned(),
                value: if tq.ns.is_empty() {
                    tq.local.clone()
                } else {
                    format!("{tp}:{}", tq.local)
                },
            });
        }
    };
    if target.path().is_empty() {
        let mut el = detached_element(&target)
            .ok_or_else(|| xstd("selectionFailure", "rename needs an element"))?;
        apply(&mut el);
        return Ok(element_value(el));
    }
    let (mut parent, idx) = parent_copy(&target)?;
    if let Some(Node::Element(el)) = parent.children.get_mut(idx) {
        apply(el);
    }
    Ok(element_value(parent))
}

/// process-property `('prefix:name')`: a deploy.xml property of the process. A property whose
/// value is text gives a string; one holding elements gives those elements.
fn process_property<'a>(res: &Res<'_, 'a>, args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
    let text = string_arg(args, 0);
    let name = resolve_qname(res.ns, &text).ok_or_else(|| {
        ode_fault(
            "processPropertyInvalidSource",
            format!("'{text}' is not a property name in scope"),
        )
    })?;
    let Some((_, value)) = res.env.properties.iter().find(|(q, _)| *q == name) else {
        return Ok(Value::Nodes(Vec::new()));
    };
    if !value.has_element_children() {
        return Ok(Value::String(value.text()));
    }
    let tree = Tree::owned(value.clone());
    let children = value
        .children
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n, Node::Element(_)))
        .map(|(i, _)| NodeRef::new(tree.clone(), vec![i], NodeKind::Element))
        .collect();
    Ok(Value::Nodes(children))
}

/// Expands a URI template as Apache ODE does (the URI Template draft ODE implements,
/// draft-gregorio-uritemplate-03): `{name}` and `{name=default}`, and the operator forms
/// `{-opt|text|vars}`, `{-neg|text|vars}`, `{-prefix|text|var}`, `{-suffix|text|var}`,
/// `{-join|sep|vars}` and `{-list|sep|var}`, with percent-encoded values (a value is never a
/// list here, so `-list` expands its single value). An unbound variable without default expands to nothing, or, when `keep_unbound`
/// (expand-template), the whole expression stays as written if none of its variables is
/// bound. `None` on an unclosed brace or an unknown operator.
pub(super) fn expand_template(
    template: &str,
    pairs: &[(String, String)],
    keep_unbound: bool,
) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let expr = &rest[open + 1..close];
        match expand_expression(expr, pairs)? {
            Some(v) => out.push_str(&v),
            None if keep_unbound => out.push_str(&rest[open..=close]),
            None => {}
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// One template variable: its name and default.
struct TemplateVar<'t> {
    name: &'t str,
    default: Option<&'t str>,
}

impl TemplateVar<'_> {
    fn parse(spec: &str) -> TemplateVar<'_> {
        match spec.split_once('=') {
            Some((n, d)) => TemplateVar {
                name: n.trim(),
                default: Some(d),
            },
            None => TemplateVar {
                name: spec.trim(),
                default: None,
            },
        }
    }

    /// The value (bound or default), `None` when neither.
    fn value<'p>(&'p self, pairs: &'p [(String, String)]) -> Option<&'p str> {
        pairs
            .iter()
            .find(|(n, _)| n == self.name)
            .map(|(_, v)| v.as_str())
            .or(self.default)
    }
}

/// Expands the content of one `{…}`: `Some(None)` when no variable of it has a value (the
/// caller decides between "" and keeping it), `None` for a malformed expression.
fn expand_expression(expr: &str, pairs: &[(String, String)]) -> Option<Option<String>> {
    let Some(op_form) = expr.strip_prefix('-') else {
        let var = TemplateVar::parse(expr);
        return Some(var.value(pairs).map(|v| {
            let mut s = String::new();
            percent_encode(v, &mut s);
            s
        }));
    };
    let mut fields = op_form.splitn(3, '|');
    let (op, arg, vars) = (fields.next()?, fields.next()?, fields.next()?);
    let vars: Vec<TemplateVar<'_>> = vars.split(',').map(TemplateVar::parse).collect();
    let values: Vec<(&str, Option<&str>)> = vars
        .iter()
        .map(|v| (v.name, v.value(pairs).filter(|s| !s.is_empty())))
        .collect();
    let any = values.iter().any(|(_, v)| v.is_some());
    let enc = |v: &str| {
        let mut s = String::new();
        percent_encode(v, &mut s);
        s
    };
    let expanded = match op {
        "opt" => any.then(|| arg.to_owned()),
        "neg" => (!any).then(|| arg.to_owned()),
        "prefix" => values.first()?.1.map(|v| format!("{arg}{}", enc(v))),
        "suffix" => values.first()?.1.map(|v| format!("{}{arg}", enc(v))),
        "join" => any.then(|| {
            values
                .iter()
                .filter_map(|(n, v)| v.map(|v| format!("{n}={}", enc(v))))
                .collect::<Vec<_>>()
                .join(arg)
        }),
        "list" => values.first()?.1.map(enc),
        _ => return None,
    };
    // `-neg` expands exactly when nothing is bound: it is never "unbound" itself.
    Some(match (op, expanded) {
        ("neg", e) => Some(e.unwrap_or_default()),
        (_, None) if any => Some(String::new()),
        (_, e) => e,
    })
}

fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A URI split into its RFC 3986 components.
struct Uri<'s> {
    scheme: Option<&'s str>,
    authority: Option<&'s str>,
    path: &'s str,
    query: Option<&'s str>,
    fragment: Option<&'s str>,
}

fn split_uri(s: &str) -> Uri<'_> {
    let (s, fragment) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let (s, query) = match s.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (s, None),
    };
    let (scheme, s) = match s.find(':') {
        Some(i)
            if i > 0
                && s[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            (Some(&s[..i]), &s[i + 1..])
        }
        _ => (None, s),
    };
    let (authority, path) = match s.strip_prefix("//") {
        Some(r) => {
            let end = r.find('/').unwrap_or(r.len());
            (Some(&r[..end]), &r[end..])
        }
        None => (None, s),
    };
    Uri {
        scheme,
        authority,
        path,
        query,
        fragment,
    }
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let segs: Vec<&str> = path.split('/').collect();
    let n = segs.len();
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == n;
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 || (out.len() == 1 && !absolute) {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut joined = out.join("/");
    if absolute && !joined.starts_with('/') {
        joined.insert(0, '/');
    }
    joined
}

/// Resolves `rel` against the absolute `base` (RFC 3986 §5.2.2).
pub(super) fn resolve_url(base: &str, rel: &str) -> Option<String> {
    let b = split_uri(base);
    let scheme = b.scheme?;
    let r = split_uri(rel);
    let (s, a, p, q);
    if let Some(rs) = r.scheme {
        s = rs;
        a = r.authority;
        p = remove_dot_segments(r.path);
        q = r.query;
    } else {
        s = scheme;
        if r.authority.is_some() {
            a = r.authority;
            p = remove_dot_segments(r.path);
            q = r.query;
        } else {
            a = b.authority;
            if r.path.is_empty() {
                p = b.path.to_owned();
                q = r.query.or(b.query);
            } else {
                p = if r.path.starts_with('/') {
                    remove_dot_segments(r.path)
                } else {
                    let merged = if b.authority.is_some() && b.path.is_empty() {
                        format!("/{}", r.path)
                    } else {
                        match b.path.rfind('/') {
                            Some(i) => format!("{}{}", &b.path[..=i], r.path),
                            None => r.path.to_owned(),
                        }
                    };
                    remove_dot_segments(&merged)
                };
                q = r.query;
            }
        }
    }
    let mut out = format!("{s}:");
    if let Some(a) = a {
        out.push_str("//");
        out.push_str(a);
    }
    out.push_str(&p);
    if let Some(q) = q {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = r.fragment {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_resolution_follows_rfc3986_examples() {
        let base = "http://a/b/c/d;p?q";
        for (rel, want) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../../g", "http://a/g"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("https://x/y", "https://x/y"),
        ] {
            assert_eq!(resolve_url(base, rel).as_deref(), Some(want), "{rel}");
        }
        assert_eq!(resolve_url("relative/path", "x"), None);
    }

    #[test]
    fn templates() {
        let pairs = vec![
            ("id".to_owned(), "a b/c".to_owned()),
            ("n".to_owned(), "7".to_owned()),
        ];
        assert_eq!(
            expand_template("http://h/{id}?n={n}&m={missing}", &pairs, false).as_deref(),
            Some("http://h/a%20b%2Fc?n=7&m=")
        );
        assert_eq!(
            expand_template("http://h/{ id }/{missing}", &pairs, true).as_deref(),
            Some("http://h/a%20b%2Fc/{missing}")
        );
        assert_eq!(expand_template("http://h/{id", &pairs, false), None);
    }

    #[test]
    fn template_defaults_and_operators() {
        let pairs = vec![
            ("user".to_owned(), "bill".to_owned()),
            ("tag".to_owned(), "ruby".to_owned()),
        ];
        let t = "http://example.com/{user}/{tag}/{a_missing_var}/{another_missing_var=but_with_a_default}";
        assert_eq!(
            expand_template(t, &pairs, true).as_deref(),
            Some("http://example.com/bill/ruby/{a_missing_var}/but_with_a_default")
        );
        assert_eq!(
            expand_template(t, &pairs, false).as_deref(),
            Some("http://example.com/bill/ruby//but_with_a_default")
        );
        assert_eq!(
            expand_template(
                "/x{-opt|?|user,q}{-join|&|user,q,tag}{-neg|!|q}{-prefix|/|tag}{-suffix|.|user}",
                &pairs,
                false
            )
            .as_deref(),
            Some("/x?user=bill&tag=ruby!/rubybill.")
        );
        assert_eq!(
            expand_template("/{-opt|?|q}", &pairs, true).as_deref(),
            Some("/{-opt|?|q}")
        );
        assert_eq!(expand_template("/{-bogus|x|user}", &pairs, false), None);
    }
}
