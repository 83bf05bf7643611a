//! ODE's instance and event filters (FEATURES.md §3b), the subset the store answers: `iid`, `pid`,
//! `status`, `started` (absolute `yyyyMMdd[hhmmss]` / ISO dates or relative `-Nd` etc.).
//! Terms are separated by spaces and ANDed; `|` separates alternatives.

use super::{InstanceQuery, InstanceStatus};

/// A parsed filter.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub query: InstanceQuery,
    /// `status=error`: ODE maps it to no state, so nothing matches.
    pub nothing: bool,
}

/// Parses `filter`; `now_ms` anchors relative dates.
pub fn parse(filter: &str, now_ms: i64) -> Result<Filter, String> {
    let mut f = Filter::default();
    for term in filter.split_whitespace() {
        let (key, op, value) = split_term(term)?;
        match key.to_ascii_lowercase().replace('-', "_").as_str() {
            "iid" => {
                expect_eq(term, op)?;
                for v in value.split('|') {
                    f.query.ids.push(
                        v.parse()
                            .map_err(|_| format!("{term}: '{v}' is not an instance id"))?,
                    );
                }
            }
            "pid" => {
                expect_eq(term, op)?;
                let (process, version) = value
                    .rsplit_once('-')
                    .and_then(|(p, v)| Some((p, v.parse::<i64>().ok()?)))
                    .ok_or_else(|| format!("{term}: expected a pid {{ns}}name-version"))?;
                f.query.process = Some(process.to_string());
                f.query.version = Some(version);
            }
            "status" => {
                expect_eq(term, op)?;
                for v in value.split('|') {
                    match v.to_ascii_lowercase().as_str() {
                        "active" => f.query.status.push(InstanceStatus::Active),
                        "suspended" => f.query.status.push(InstanceStatus::Suspended),
                        "completed" => f.query.status.push(InstanceStatus::Completed),
                        "terminated" => f.query.status.push(InstanceStatus::Terminated),
                        "failed" | "faulted" => f.query.status.push(InstanceStatus::Faulted),
                        // ODE maps `error` to no state at all.
                        "error" => f.nothing = true,
                        other => return Err(format!("{term}: unknown status '{other}'")),
                    }
                }
            }
            "started" => {
                let t = date(value, now_ms).ok_or_else(|| {
                    format!("{term}: expected yyyyMMdd[hhmmss], an ISO date or -N[yMwdhms]")
                })?;
                match op {
                    ">=" => f.query.created_from = Some(t),
                    ">" => f.query.created_from = Some(t + 1),
                    "<" => f.query.created_before = Some(t),
                    "<=" => f.query.created_before = Some(t + 1),
                    _ => {
                        f.query.created_from = Some(t);
                        f.query.created_before = Some(t + 86_400_000);
                    }
                }
            }
            other => return Err(format!("{term}: unsupported filter key '{other}'")),
        }
    }
    Ok(f)
}

/// Parses ODE's event filter (`BpelEventFilter`): `type=ActivityExecStartEvent|ScopeFault...`
/// (the `Event` suffix may be left out) and `timestamp` with `=`, `<`, `>`, `<=`, `>=` and the
/// date forms of `started`; terms are ANDed. `now_ms` anchors relative dates.
pub fn parse_events(filter: &str, now_ms: i64) -> Result<crate::events::EventQuery, String> {
    let mut q = crate::events::EventQuery::default();
    for term in filter.split_whitespace() {
        let (key, op, value) = split_term(term)?;
        match key.to_ascii_lowercase().as_str() {
            "type" => {
                expect_eq(term, op)?;
                for v in value.split('|') {
                    q.types.push(
                        crate::events::EventType::from_ode_type(v)
                            .ok_or_else(|| format!("{term}: '{v}' is not an event type"))?,
                    );
                }
            }
            "timestamp" | "tstamp" => {
                let t = date(value, now_ms).ok_or_else(|| {
                    format!("{term}: expected yyyyMMdd[hhmmss], an ISO date or -N[yMwdhms]")
                })?;
                let (from, to) = match op {
                    ">=" => (Some(t), None),
                    ">" => (Some(t + 1), None),
                    "<" => (None, Some(t)),
                    "<=" => (None, Some(t + 1)),
                    _ => (Some(t), Some(t + 86_400_000)),
                };
                q.from_ms = from.or(q.from_ms);
                q.to_ms = to.or(q.to_ms);
            }
            other => return Err(format!("{term}: unsupported event filter key '{other}'")),
        }
    }
    Ok(q)
}

fn split_term(term: &str) -> Result<(&str, &str, &str), String> {
    for op in ["<>", "<=", ">=", "=", "<", ">"] {
        if let Some(i) = term.find(op) {
            return Ok((&term[..i], op, &term[i + op.len()..]));
        }
    }
    Err(format!("'{term}' is not a key, an operator and a value"))
}

fn expect_eq(term: &str, op: &str) -> Result<(), String> {
    if op == "=" {
        Ok(())
    } else {
        Err(format!("{term}: only '=' is supported for this key"))
    }
}

/// Epoch ms of `yyyyMMdd[hhmmss]`, `yyyy-MM-dd[Thh:mm:ss]` (UTC) or `-N<unit>` before now.
fn date(v: &str, now_ms: i64) -> Option<i64> {
    if let Some(rel) = v.strip_prefix('-') {
        let unit = rel.chars().last()?;
        let n: i64 = rel[..rel.len() - unit.len_utf8()].parse().ok()?;
        let ms = match unit {
            'y' => 365 * 86_400_000,
            'M' => 30 * 86_400_000,
            'w' => 7 * 86_400_000,
            'd' => 86_400_000,
            'h' => 3_600_000,
            'm' => 60_000,
            's' => 1_000,
            _ => return None,
        };
        return Some(now_ms - n * ms);
    }
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 && digits.len() != 14 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = if digits.len() == 14 {
        (num(8..10)?, num(10..12)?, num(12..14)?)
    } else {
        (0, 0, 0)
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Month and day were checked above, so they fit a u8.
    let days = crate::xpath::datetime::days_from_civil(y, mo as u8, d as u8);
    Some((days * 86_400 + h * 3600 + mi * 60 + s) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_terms() {
        let q = parse_events(
            "type=ScopeStart|ActivityExecEndEvent timestamp>=20050901",
            0,
        )
        .expect("parse");
        assert_eq!(
            q.types,
            vec![
                crate::events::EventType::ScopeStart,
                crate::events::EventType::ActivityExecEnd
            ]
        );
        assert!(q.from_ms.is_some() && q.to_ms.is_none());
        assert!(parse_events("type=Nope", 0).is_err());
        assert!(parse_events("iid=3", 0).is_err());
    }

    #[test]
    fn terms() {
        let f = parse("status=active|failed pid={urn:x}P-3 iid=4|5", 0).expect("parse");
        assert_eq!(
            f.query.status,
            vec![InstanceStatus::Active, InstanceStatus::Faulted]
        );
        assert_eq!(f.query.process.as_deref(), Some("{urn:x}P"));
        assert_eq!(f.query.version, Some(3));
        assert_eq!(f.query.ids, vec![4, 5]);
        let f = parse("started>=20050901 started<20051001", 0).expect("parse");
        assert_eq!(f.query.created_from, Some(1_125_532_800_000));
        assert_eq!(f.query.created_before, Some(1_128_124_800_000));
        let f = parse("started>=-2d", 10 * 86_400_000).expect("parse");
        assert_eq!(f.query.created_from, Some(8 * 86_400_000));
        assert!(parse("colour=red", 0).is_err());
        assert!(parse("status=sleepy", 0).is_err());
        assert!(parse("iid>3", 0).is_err());
        assert!(parse("status=error", 0).expect("parse").nothing);
    }
}
