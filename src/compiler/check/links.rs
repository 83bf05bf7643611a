//! Links of flows (WS-BPEL 2.0 §11.6, SA00064–SA00072).
//!
//! One pass resolves every `<source>`/`<target>` to its `<link>` through the enclosing flows,
//! noting the boundaries crossed on the way (repeatable constructs and compensation handlers may
//! not be crossed, SA00070; fault and termination handlers only outbound, SA00071). The same pass
//! builds a start/end graph of activities (containment, sequence order, links) whose cycles
//! through a link are control cycles (SA00072).

use std::collections::{HashMap, HashSet};

use bpelgate_wsdl::xml::Pos;

use super::Ctx;
use super::ast::{Activity, ActivityKind, ScopeBody};

#[derive(Clone, Copy, PartialEq)]
enum Barrier {
    /// while, repeatUntil, forEach, event handlers.
    Repeatable,
    /// compensationHandler.
    Compensation,
    /// catch, catchAll, terminationHandler.
    FaultOrTermination,
}

enum Entry<'a> {
    Flow(HashMap<&'a str, usize>),
    Barrier(Barrier),
}

struct Link<'a> {
    name: &'a str,
    pos: Pos,
    sources: Vec<(usize, Pos)>,
    targets: Vec<(usize, Pos)>,
}

#[derive(Default)]
struct Walk<'a> {
    links: Vec<Link<'a>>,
    stack: Vec<Entry<'a>>,
    activities: usize,
    edges: Vec<(usize, usize)>,
}

fn start(id: usize) -> usize {
    2 * id
}

fn end(id: usize) -> usize {
    2 * id + 1
}

/// Checks every link of the process.
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let mut w = Walk::default();
    let process = ctx.process;
    w.body(ctx, &process.body);
    w.finish(ctx);
}

impl<'a> Walk<'a> {
    fn body(&mut self, ctx: &mut Ctx<'_>, body: &'a ScopeBody) -> Option<usize> {
        let main = body.activity.as_deref().map(|a| self.activity(ctx, a));
        if let Some(fh) = &body.fault_handlers {
            for a in fh
                .catches
                .iter()
                .filter_map(|c| c.activity.as_deref())
                .chain(fh.catch_all.iter().filter_map(|h| h.activity.as_deref()))
            {
                self.behind(ctx, Barrier::FaultOrTermination, a);
            }
        }
        if let Some(a) = body
            .termination_handler
            .as_ref()
            .and_then(|h| h.activity.as_deref())
        {
            self.behind(ctx, Barrier::FaultOrTermination, a);
        }
        if let Some(a) = body
            .compensation_handler
            .as_ref()
            .and_then(|h| h.activity.as_deref())
        {
            self.behind(ctx, Barrier::Compensation, a);
        }
        if let Some(eh) = &body.event_handlers {
            for a in eh
                .on_events
                .iter()
                .filter_map(|e| e.activity.as_deref())
                .chain(eh.on_alarms.iter().filter_map(|e| e.activity.as_deref()))
            {
                self.behind(ctx, Barrier::Repeatable, a);
            }
        }
        main
    }

    fn behind(&mut self, ctx: &mut Ctx<'_>, b: Barrier, a: &'a Activity) -> usize {
        self.stack.push(Entry::Barrier(b));
        let id = self.activity(ctx, a);
        self.stack.pop();
        id
    }

    fn child(&mut self, ctx: &mut Ctx<'_>, parent: usize, a: &'a Activity) -> usize {
        let id = self.activity(ctx, a);
        self.edges.push((start(parent), start(id)));
        self.edges.push((end(id), end(parent)));
        id
    }

    fn resolve(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &'a str,
        is_target: bool,
        pos: Pos,
    ) -> Option<usize> {
        let mut crossed: Vec<Barrier> = Vec::new();
        for e in self.stack.iter().rev() {
            match e {
                Entry::Barrier(b) => crossed.push(*b),
                Entry::Flow(m) => {
                    if let Some(&idx) = m.get(name) {
                        if crossed.iter().any(|b| *b != Barrier::FaultOrTermination) {
                            ctx.error(
                                "SA00070",
                                pos,
                                format!("link \"{name}\" crosses into a loop, event handler or compensation handler; declare the link in a <flow> inside that construct"),
                            );
                        } else if is_target && crossed.contains(&Barrier::FaultOrTermination) {
                            ctx.error(
                                "SA00071",
                                pos,
                                format!("link \"{name}\" enters a fault or termination handler; links may only leave such handlers, so move the source inside or the target outside"),
                            );
                        }
                        return Some(idx);
                    }
                }
            }
        }
        let side = if is_target { "target" } else { "source" };
        ctx.error(
            "SA00065",
            pos,
            format!("<{side} linkName=\"{name}\"> names a link that no enclosing <flow> declares; declare it in <links> or fix the name"),
        );
        None
    }

    fn activity(&mut self, ctx: &mut Ctx<'_>, a: &'a Activity) -> usize {
        let id = self.activities;
        self.activities += 1;
        self.edges.push((start(id), end(id)));
        if let Some(t) = &a.targets {
            let mut seen = HashSet::new();
            for (name, pos) in &t.links {
                if !seen.insert(name.as_str()) {
                    ctx.error(
                        "SA00069",
                        *pos,
                        format!("this activity is the target of link \"{name}\" twice; remove the duplicate <target>"),
                    );
                    continue;
                }
                if let Some(l) = self.resolve(ctx, name, true, *pos) {
                    self.links[l].targets.push((id, *pos));
                }
            }
        }
        let mut seen = HashSet::new();
        for s in &a.sources {
            let name = s.link.as_str();
            if !seen.insert(name) {
                ctx.error(
                    "SA00068",
                    s.pos,
                    format!("this activity is the source of link \"{name}\" twice; remove the duplicate <source>"),
                );
                continue;
            }
            if let Some(l) = self.resolve(ctx, name, false, s.pos) {
                self.links[l].sources.push((id, s.pos));
            }
        }
        match &a.kind {
            ActivityKind::Sequence(children) => {
                let mut prev: Option<usize> = None;
                for c in children {
                    let cid = self.child(ctx, id, c);
                    if let Some(p) = prev {
                        self.edges.push((end(p), start(cid)));
                    }
                    prev = Some(cid);
                }
            }
            ActivityKind::Flow(f) => {
                let mut map = HashMap::new();
                for (name, pos) in &f.links {
                    if map.contains_key(name.as_str()) {
                        ctx.error(
                            "SA00064",
                            *pos,
                            format!("link \"{name}\" is declared twice in this <flow>; rename or remove one"),
                        );
                        continue;
                    }
                    map.insert(name.as_str(), self.links.len());
                    self.links.push(Link {
                        name,
                        pos: *pos,
                        sources: Vec::new(),
                        targets: Vec::new(),
                    });
                }
                self.stack.push(Entry::Flow(map));
                for c in &f.activities {
                    self.child(ctx, id, c);
                }
                self.stack.pop();
            }
            ActivityKind::While { body, .. } | ActivityKind::RepeatUntil { body, .. } => {
                if let Some(b) = body {
                    self.stack.push(Entry::Barrier(Barrier::Repeatable));
                    self.child(ctx, id, b);
                    self.stack.pop();
                }
            }
            ActivityKind::ForEach(fe) => {
                if let Some(b) = &fe.activity {
                    self.stack.push(Entry::Barrier(Barrier::Repeatable));
                    self.child(ctx, id, b);
                    self.stack.pop();
                }
            }
            ActivityKind::If(i) => {
                for b in i
                    .then
                    .iter()
                    .chain(i.else_ifs.iter().filter_map(|e| e.activity.as_ref()))
                    .chain(i.otherwise.iter().filter_map(|h| h.activity.as_ref()))
                {
                    self.child(ctx, id, b);
                }
            }
            ActivityKind::Pick(p) => {
                for b in p
                    .on_messages
                    .iter()
                    .filter_map(|m| m.activity.as_ref())
                    .chain(p.on_alarms.iter().filter_map(|m| m.activity.as_ref()))
                {
                    self.child(ctx, id, b);
                }
            }
            ActivityKind::Scope(s) => {
                if let Some(main) = self.body(ctx, &s.body) {
                    self.edges.push((start(id), start(main)));
                    self.edges.push((end(main), end(id)));
                }
            }
            ActivityKind::Invoke(inv) => {
                for h in inv
                    .catches
                    .iter()
                    .filter_map(|c| c.activity.as_deref())
                    .chain(inv.catch_all.iter().filter_map(|h| h.activity.as_deref()))
                {
                    self.behind(ctx, Barrier::FaultOrTermination, h);
                }
                if let Some(h) = inv
                    .compensation_handler
                    .as_ref()
                    .and_then(|h| h.activity.as_deref())
                {
                    self.behind(ctx, Barrier::Compensation, h);
                }
            }
            _ => {}
        }
        id
    }

    fn finish(mut self, ctx: &mut Ctx<'_>) {
        let mut pairs: HashMap<(usize, usize), &str> = HashMap::new();
        let mut link_edges = Vec::new();
        for l in &self.links {
            let name = l.name;
            match l.sources.len() {
                0 => ctx.error(
                    "SA00066",
                    l.pos,
                    format!("link \"{name}\" has no source activity; add <source linkName=\"{name}\"/> to the activity it leaves from, or remove the link"),
                ),
                1 => {}
                _ => ctx.error(
                    "SA00066",
                    l.sources[1].1,
                    format!("link \"{name}\" has more than one source activity; each link has exactly one source, so declare another link"),
                ),
            }
            match l.targets.len() {
                0 => ctx.error(
                    "SA00066",
                    l.pos,
                    format!("link \"{name}\" has no target activity; add <target linkName=\"{name}\"/> to the activity it leads to, or remove the link"),
                ),
                1 => {}
                _ => ctx.error(
                    "SA00066",
                    l.targets[1].1,
                    format!("link \"{name}\" has more than one target activity; each link has exactly one target, so declare another link"),
                ),
            }
            if let ([(s, _)], [(t, tpos)]) = (l.sources.as_slice(), l.targets.as_slice()) {
                if let Some(other) = pairs.insert((*s, *t), name) {
                    ctx.error(
                        "SA00067",
                        *tpos,
                        format!("links \"{other}\" and \"{name}\" connect the same two activities; keep only one"),
                    );
                }
                link_edges.push((*s, *t, name, *tpos));
            }
        }
        for (s, t, _, _) in &link_edges {
            self.edges.push((end(*s), start(*t)));
        }
        let n = 2 * self.activities;
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (a, b) in &self.edges {
            adj[*a].push(*b);
        }
        for (s, t, name, tpos) in link_edges {
            if reaches(&adj, start(t), end(s)) {
                ctx.error(
                    "SA00072",
                    tpos,
                    format!("link \"{name}\" creates a control cycle: its target runs before its source completes; remove the link or reorder the activities"),
                );
            }
        }
    }
}

fn reaches(adj: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; adj.len()];
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if std::mem::replace(&mut seen[n], true) {
            continue;
        }
        stack.extend(adj[n].iter().copied());
    }
    false
}
