//! The thirteen axes and node tests over [`NodeRef`] paths.
//!
//! Each axis yields its nodes in axis order (reverse document order for the reverse axes),
//! testing each candidate on borrowed data before a handle is built for it.

use bpelgate_wsdl::xml::{Element, Node};

use super::ast::{Axis, KindTest, NodeTest};
use super::value::{NodeData, NodeKind, NodeRef, element_at, in_scope_namespaces, pi_parts};

/// The principal node type of an axis (XPath 1.0 section 2.3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Principal {
    Element,
    Attribute,
    Namespace,
}

struct Test<'t> {
    test: &'t NodeTest,
    principal: Principal,
}

fn ns_of(name: &super::ast::Name) -> &str {
    name.ns.as_deref().unwrap_or("")
}

impl Test<'_> {
    fn is_principal(&self, d: &NodeData<'_>) -> bool {
        matches!(
            (self.principal, d),
            (Principal::Element, NodeData::Element(_))
                | (Principal::Attribute, NodeData::Attribute(_))
                | (Principal::Namespace, NodeData::Namespace { .. })
        )
    }

    fn matches(&self, d: &NodeData<'_>) -> bool {
        match self.test {
            NodeTest::Any => self.is_principal(d),
            NodeTest::Namespace(n) => {
                self.is_principal(d)
                    && match d {
                        NodeData::Element(e) => e.name.ns == ns_of(n),
                        NodeData::Attribute(a) => a.name.ns == ns_of(n),
                        _ => false,
                    }
            }
            NodeTest::LocalName(l) => {
                self.is_principal(d)
                    && match d {
                        NodeData::Element(e) => e.name.local == *l,
                        NodeData::Attribute(a) => a.name.local == *l,
                        NodeData::Namespace { prefix, .. } => prefix == l,
                        _ => false,
                    }
            }
            NodeTest::Name(n) => {
                self.is_principal(d)
                    && match d {
                        NodeData::Element(e) => e.name.is(ns_of(n), &n.local),
                        NodeData::Attribute(a) => a.name.is(ns_of(n), &n.local),
                        NodeData::Namespace { prefix, .. } => {
                            ns_of(n).is_empty() && *prefix == n.local
                        }
                        _ => false,
                    }
            }
            NodeTest::Kind(k) => kind_matches(k, d),
        }
    }
}

pub(super) fn kind_matches(k: &KindTest, d: &NodeData<'_>) -> bool {
    match k {
        KindTest::AnyNode => true,
        KindTest::Text => matches!(d, NodeData::Text(_)),
        KindTest::Comment => matches!(d, NodeData::Comment(_)),
        KindTest::Pi(target) => match d {
            NodeData::ProcessingInstruction(p) => {
                target.as_deref().is_none_or(|t| pi_parts(p).0 == t)
            }
            _ => false,
        },
        KindTest::Document(inner) => match d {
            NodeData::Root(e) => inner
                .as_deref()
                .is_none_or(|k| kind_matches(k, &NodeData::Element(e))),
            _ => false,
        },
        KindTest::Element(name, _) => match d {
            NodeData::Element(e) => name.as_ref().is_none_or(|n| e.name.is(ns_of(n), &n.local)),
            _ => false,
        },
        KindTest::Attribute(name, _) => match d {
            NodeData::Attribute(a) => name.as_ref().is_none_or(|n| a.name.is(ns_of(n), &n.local)),
            _ => false,
        },
        // Without schema types nothing can be shown to match a schema declaration.
        KindTest::SchemaElement(_) | KindTest::SchemaAttribute(_) => false,
    }
}

fn child_data(n: &Node) -> (NodeKind, NodeData<'_>) {
    match n {
        Node::Element(e) => (NodeKind::Element, NodeData::Element(e)),
        Node::Text(t) => (NodeKind::Text, NodeData::Text(t)),
        Node::Comment(t) => (NodeKind::Comment, NodeData::Comment(t)),
        Node::Pi(t) => (
            NodeKind::ProcessingInstruction,
            NodeData::ProcessingInstruction(t),
        ),
    }
}

struct Walk<'t, 'n, 'a> {
    test: Test<'t>,
    from: &'n NodeRef<'a>,
    out: Vec<NodeRef<'a>>,
}

impl<'a> Walk<'_, '_, 'a> {
    fn offer(&mut self, d: &NodeData<'_>, path: &[usize], kind: NodeKind) {
        if self.test.matches(d) {
            self.out.push(self.from.sibling_node(path.to_vec(), kind));
        }
    }

    fn offer_node(&mut self, n: &NodeRef<'a>) {
        if let Some(d) = n.data()
            && self.test.matches(&d)
        {
            self.out.push(n.clone());
        }
    }

    /// The children of `el` (at `path`) and everything below them, in document order.
    fn descendants(&mut self, el: &Element, path: &mut Vec<usize>) {
        for (i, c) in el.children.iter().enumerate() {
            path.push(i);
            let (kind, d) = child_data(c);
            self.offer(&d, path, kind);
            if let Node::Element(e) = c {
                self.descendants(e, path);
            }
            path.pop();
        }
    }

    /// The node at `path` under `parent` (child `i`) and its descendants.
    fn subtree(&mut self, c: &Node, path: &mut Vec<usize>) {
        let (kind, d) = child_data(c);
        self.offer(&d, path, kind);
        if let Node::Element(e) = c {
            self.descendants(e, path);
        }
    }
}

/// The nodes of `axis` from `from` that pass `test`, in axis order.
pub(super) fn select<'a>(from: &NodeRef<'a>, axis: Axis, test: &NodeTest) -> Vec<NodeRef<'a>> {
    let principal = match axis {
        Axis::Attribute => Principal::Attribute,
        Axis::Namespace => Principal::Namespace,
        _ => Principal::Element,
    };
    let mut w = Walk {
        test: Test { test, principal },
        from,
        out: Vec::new(),
    };
    let tree = from.tree().clone();
    let root = tree.root();
    let kind = from.kind();
    let path = from.path();
    // Text, comments and PIs are leaves: only the sibling and tree-order axes see past them.
    let is_child_node = matches!(
        kind,
        NodeKind::Element | NodeKind::Text | NodeKind::Comment | NodeKind::ProcessingInstruction
    );
    match axis {
        Axis::SelfAxis => w.offer_node(from),
        Axis::Child | Axis::Descendant | Axis::DescendantOrSelf => {
            if axis == Axis::DescendantOrSelf {
                w.offer_node(from);
            }
            let deep = axis != Axis::Child;
            match kind {
                NodeKind::Root => {
                    w.offer(&NodeData::Element(root), &[], NodeKind::Element);
                    if deep {
                        w.descendants(root, &mut Vec::new());
                    }
                }
                NodeKind::Element => {
                    if let Some(el) = element_at(root, path) {
                        let mut p = path.to_vec();
                        if deep {
                            w.descendants(el, &mut p);
                        } else {
                            for (i, c) in el.children.iter().enumerate() {
                                p.push(i);
                                let (k, d) = child_data(c);
                                w.offer(&d, &p, k);
                                p.pop();
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Axis::Attribute => {
            if kind == NodeKind::Element
                && let Some(el) = element_at(root, path)
            {
                for (i, a) in el.attrs.iter().enumerate() {
                    w.offer(&NodeData::Attribute(a), path, NodeKind::Attribute(i));
                }
            }
        }
        Axis::Namespace => {
            if kind == NodeKind::Element
                && let Some(list) = in_scope_namespaces(root, path)
            {
                for (i, (prefix, uri)) in list.into_iter().enumerate() {
                    w.offer(
                        &NodeData::Namespace { prefix, uri },
                        path,
                        NodeKind::Namespace(i),
                    );
                }
            }
        }
        Axis::Parent => {
            if let Some(p) = from.parent() {
                w.offer_node(&p);
            }
        }
        Axis::Ancestor | Axis::AncestorOrSelf => {
            if axis == Axis::AncestorOrSelf {
                w.offer_node(from);
            }
            let mut cur = from.parent();
            while let Some(p) = cur {
                w.offer_node(&p);
                cur = p.parent();
            }
        }
        Axis::FollowingSibling | Axis::PrecedingSibling => {
            if is_child_node
                && let Some((&idx, parent_path)) = path.split_last()
                && let Some(parent) = element_at(root, parent_path)
            {
                let mut p = parent_path.to_vec();
                let mut visit = |i: usize, w: &mut Walk<'_, '_, 'a>| {
                    if let Some(c) = parent.children.get(i) {
                        p.push(i);
                        let (k, d) = child_data(c);
                        w.offer(&d, &p, k);
                        p.pop();
                    }
                };
                if axis == Axis::FollowingSibling {
                    for i in idx + 1..parent.children.len() {
                        visit(i, &mut w);
                    }
                } else {
                    for i in (0..idx).rev() {
                        visit(i, &mut w);
                    }
                }
            }
        }
        Axis::Following => {
            if kind == NodeKind::Root {
                return w.out;
            }
            if !is_child_node && let Some(el) = element_at(root, path) {
                // An attribute or namespace node precedes its element's content.
                w.descendants(el, &mut path.to_vec());
            }
            for k in (0..path.len()).rev() {
                if let Some(parent) = element_at(root, &path[..k]) {
                    let mut p = path[..k].to_vec();
                    for (j, c) in parent.children.iter().enumerate().skip(path[k] + 1) {
                        p.push(j);
                        w.subtree(c, &mut p);
                        p.pop();
                    }
                }
            }
        }
        Axis::Preceding => {
            if kind == NodeKind::Root {
                return w.out;
            }
            // Collected in document order, then reversed into axis order. Ancestors are
            // skipped because only siblings before each ancestor (and their subtrees) count.
            for k in 0..path.len() {
                if let Some(parent) = element_at(root, &path[..k]) {
                    let mut p = path[..k].to_vec();
                    for (j, c) in parent.children.iter().enumerate().take(path[k]) {
                        p.push(j);
                        w.subtree(c, &mut p);
                        p.pop();
                    }
                }
            }
            w.out.reverse();
        }
    }
    w.out
}
