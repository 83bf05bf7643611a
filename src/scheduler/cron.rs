//! Quartz cron expressions, the syntax of Apache ODE's deploy.xml `<schedule when="...">`:
//! `seconds minutes hours day-of-month month day-of-week [year]`, each field `*`, `?` (days
//! only), a number or name (`JAN`, `MON`; day-of-week 1 = Sunday), a range `a-b`, a step
//! `x/n` (`*/n`, `a/n`, `a-b/n`) or a comma list of these. Quartz's `L`, `W` and `#` are
//! rejected with a message. Times are UTC.

use crate::xpath::datetime::{civil_from_days, days_from_civil};

/// A parsed expression: for each field, the values it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    seconds: Vec<bool>,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// None: any year.
    years: Option<Vec<u32>>,
    /// Whether day-of-month / day-of-week restrict anything (`*` and `?` do not).
    days_restricted: bool,
    weekdays_restricted: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    /// Parses `expr`; the error says which field is wrong and why.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() != 6 && fields.len() != 7 {
            return Err(format!(
                "'{expr}' has {} fields; a Quartz cron expression has 6 or 7 (seconds minutes \
                 hours day-of-month month day-of-week [year])",
                fields.len()
            ));
        }
        let field = |i: usize, name: &str, min: u32, max: u32, names: &[&str]| {
            values(fields[i], min, max, names)
                .map_err(|e| format!("'{expr}': {name} field '{}': {e}", fields[i]))
        };
        let restricted = |f: &str| f != "*" && f != "?";
        let years = match fields.get(6) {
            None => None,
            Some(f) if !restricted(f) => None,
            Some(f) => {
                let allowed = values(f, 1970, 2199, &[])
                    .map_err(|e| format!("'{expr}': year field '{f}': {e}"))?;
                Some(
                    (1970..=2199)
                        .filter(|y| allowed[*y as usize - 1970])
                        .collect(),
                )
            }
        };
        Ok(Cron {
            seconds: field(0, "seconds", 0, 59, &[])?,
            minutes: field(1, "minutes", 0, 59, &[])?,
            hours: field(2, "hours", 0, 23, &[])?,
            days: field(3, "day-of-month", 1, 31, &[])?,
            months: field(4, "month", 1, 12, &MONTHS)?,
            weekdays: field(5, "day-of-week", 1, 7, &WEEKDAYS)?,
            years,
            days_restricted: restricted(fields[3]),
            weekdays_restricted: restricted(fields[5]),
        })
    }

    /// The first time strictly after `after_ms` (epoch ms) that the expression allows, in
    /// whole seconds; None when there is none within the next 400 years.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let mut t = after_ms.div_euclid(1000) + 1;
        let limit = t + 400 * 366 * 86_400;
        while t < limit {
            let days = t.div_euclid(86_400);
            let secs = t.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            let year_ok = self
                .years
                .as_ref()
                .is_none_or(|ys| ys.contains(&(y as u32)));
            if !year_ok || !self.months[usize::from(m) - 1] {
                // To the first second of the next month.
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                t = days_from_civil(ny, nm, 1) * 86_400;
                continue;
            }
            if !self.day_ok(i64::from(d), (days + 4).rem_euclid(7) + 1) {
                t = (days + 1) * 86_400;
                continue;
            }
            let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
            if !self.hours[h as usize] {
                t = days * 86_400 + (h + 1) * 3600;
                continue;
            }
            if !self.minutes[mi as usize] {
                t = days * 86_400 + h * 3600 + (mi + 1) * 60;
                continue;
            }
            if !self.seconds[s as usize] {
                t += 1;
                continue;
            }
            return Some(t * 1000);
        }
        None
    }

    /// Whether day `d` of the month, a weekday `wd` (1 = Sunday), is allowed.
    fn day_ok(&self, d: i64, wd: i64) -> bool {
        let dom = self.days[d as usize - 1];
        let dow = self.weekdays[wd as usize - 1];
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }
}

/// The values `field` allows, as flags indexed from `min`.
fn values(field: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut out = vec![false; (max - min + 1) as usize];
    let number = |s: &str| -> Result<u32, String> {
        let v = match names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            Some(i) => i as u32 + min,
            None => s
                .parse()
                .map_err(|_| format!("'{s}' is not a number{}", name_hint(names)))?,
        };
        if v < min || v > max {
            return Err(format!("{v} is outside {min}-{max}"));
        }
        Ok(v)
    };
    for part in field.split(',') {
        if part.contains(['L', 'W', '#']) && !names.iter().any(|n| part.contains(n)) {
            return Err(format!(
                "'{part}': Quartz's L, W and # are not supported; list the days instead"
            ));
        }
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("step '{s}' is not a number"))?;
                if step == 0 {
                    return Err("a step of 0".into());
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" | "?" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                // `a/n` runs from a to the end of the field.
                None if part.contains('/') => (number(r)?, max),
                None => {
                    let v = number(r)?;
                    (v, v)
                }
            },
        };
        if from > to {
            return Err(format!("range {from}-{to} runs backwards"));
        }
        let mut v = from;
        while v <= to {
            out[(v - min) as usize] = true;
            v += step;
        }
    }
    Ok(out)
}

fn name_hint(names: &[&str]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" or one of {}", names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epoch ms of a UTC date and time.
    fn at(y: i64, mo: u8, d: u8, h: i64, mi: i64, s: i64) -> i64 {
        (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000
    }

    #[test]
    fn next_fire_times() {
        let c = Cron::parse("0 0 1 * * ?").expect("parse");
        assert_eq!(
            c.next_after(at(2026, 12, 5, 23, 10, 0)),
            Some(at(2026, 12, 6, 1, 0, 0))
        );
        let c = Cron::parse("*/15 * * * * ?").expect("parse");
        assert_eq!(
            c.next_after(at(2026, 1, 1, 0, 0, 14)),
            Some(at(2026, 1, 1, 0, 0, 15))
        );
        assert_eq!(
            c.next_after(at(2026, 1, 1, 0, 0, 45)),
            Some(at(2026, 1, 1, 0, 1, 0))
        );
        // Every Monday at 02:30 (2026-12-07 is a Monday).
        let c = Cron::parse("0 30 2 ? * MON").expect("parse");
        assert_eq!(
            c.next_after(at(2026, 12, 5, 0, 0, 0)),
            Some(at(2026, 12, 7, 2, 30, 0))
        );
        // 29 February only.
        let c = Cron::parse("0 0 0 29 FEB ?").expect("parse");
        assert_eq!(
            c.next_after(at(2026, 3, 1, 0, 0, 0)),
            Some(at(2028, 2, 29, 0, 0, 0))
        );
        // A year that has passed never fires.
        let c = Cron::parse("0 0 0 1 1 ? 2001").expect("parse");
        assert_eq!(c.next_after(at(2026, 1, 1, 0, 0, 0)), None);
        let c = Cron::parse("0 0/20 8-9 1,15 JAN-MAR ?").expect("parse");
        assert_eq!(
            c.next_after(at(2026, 1, 1, 9, 40, 0)),
            Some(at(2026, 1, 15, 8, 0, 0))
        );
    }

    #[test]
    fn bad_expressions_say_why() {
        for (expr, says) in [
            ("0 0 1 * *", "has 5 fields"),
            ("0 0 25 * * ?", "hours field '25': 25 is outside 0-23"),
            ("0 0 1 L * ?", "L, W and # are not supported"),
            ("0 0 1 ? * 6#3", "L, W and # are not supported"),
            ("0 0 1 * FOO ?", "'FOO' is not a number or one of JAN"),
            ("0 0 1 * * ?/0", "a step of 0"),
            ("0 0 5-1 * * ?", "runs backwards"),
        ] {
            let err = Cron::parse(expr).expect_err(expr);
            assert!(err.contains(says), "{expr}: {err}");
        }
    }
}
