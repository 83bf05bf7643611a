//! XML Schema dates, times and durations for the XPath 2.0 evaluator: lexical forms, the
//! timeline, and the arithmetic F&O section 10 defines.
//!
//! Seconds are decimals so fractional seconds survive arithmetic exactly; the proleptic
//! Gregorian calendar and timezone offsets in minutes are used throughout.

use std::cmp::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// A `xs:dateTime`, `xs:date` (time fields zero) or `xs:time` (date 1972-12-31).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year; negative for BCE years as XML Schema writes them.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, from 1.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Seconds with fraction, from 0 up to but excluding 60.
    pub second: Decimal,
    /// Timezone offset in minutes east of UTC, when the value has one.
    pub tz: Option<i16>,
}

/// A duration: months and seconds, both of the same sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Duration {
    /// The year-month part, in months.
    pub months: i64,
    /// The day-time part, in seconds.
    pub seconds: Decimal,
}

const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` of year `y`.
pub fn days_in_month(y: i64, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over a lexical form.
struct Lex<'s> {
    s: &'s [u8],
    pos: usize,
}

impl Lex<'_> {
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn done(&self) -> bool {
        self.pos == self.s.len()
    }

    /// Exactly `n` digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let end = self.pos.checked_add(n)?;
        let part = self.s.get(self.pos..end)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos = end;
        part.iter().try_fold(0i64, |acc, d| {
            acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    }

    /// One or more digits, as text.
    fn digit_run(&mut self) -> Option<&str> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.pos]).ok()
    }

    /// `-?YYYY` with more digits allowed when the first is not 0.
    fn year(&mut self) -> Option<i64> {
        let neg = self.eat(b'-');
        let run = self.digit_run()?;
        if run.len() < 4 || (run.len() > 4 && run.starts_with('0')) {
            return None;
        }
        let y: i64 = run.parse().ok()?;
        Some(if neg { -y } else { y })
    }

    /// `hh:mm:ss(.s+)?`, returning (hour, minute, seconds).
    fn time(&mut self) -> Option<(u8, u8, Decimal)> {
        let h = self.digits(2)?;
        if !self.eat(b':') {
            return None;
        }
        let m = self.digits(2)?;
        if !self.eat(b':') {
            return None;
        }
        let start = self.pos;
        self.digits(2)?;
        if self.eat(b'.') {
            self.digit_run()?;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).ok()?;
        let sec: Decimal = text.parse().ok()?;
        if h > 24 || m > 59 || sec >= Decimal::from(60) {
            return None;
        }
        if h == 24 && (m != 0 || !sec.is_zero()) {
            return None;
        }
        Some((h as u8, m as u8, sec))
    }

    /// An optional `Z` or `±hh:mm`.
    fn tz(&mut self) -> Option<Option<i16>> {
        if self.eat(b'Z') {
            return Some(Some(0));
        }
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Some(None),
        };
        self.pos += 1;
        let h = self.digits(2)?;
        if !self.eat(b':') {
            return None;
        }
        let m = self.digits(2)?;
        if m > 59 || h * 60 + m > 14 * 60 {
            return None;
        }
        Some(Some((sign * (h * 60 + m)) as i16))
    }

    fn date(&mut self) -> Option<(i64, u8, u8)> {
        let y = self.year()?;
        if !self.eat(b'-') {
            return None;
        }
        let m = self.digits(2)?;
        if !self.eat(b'-') {
            return None;
        }
        let d = self.digits(2)?;
        if !(1..=12).contains(&m) || d < 1 || d > i64::from(days_in_month(y, m as u8)) {
            return None;
        }
        Some((y, m as u8, d as u8))
    }
}

fn lex(s: &str) -> Lex<'_> {
    Lex {
        s: s.trim_matches(super::value::is_xml_space).as_bytes(),
        pos: 0,
    }
}

impl DateTime {
    /// The reference date of `xs:time` values (F&O 10.4).
    const TIME_DATE: (i64, u8, u8) = (1972, 12, 31);

    /// Parses the `xs:dateTime` lexical form.
    pub fn parse_date_time(s: &str) -> Option<DateTime> {
        let mut l = lex(s);
        let (year, month, day) = l.date()?;
        if !l.eat(b'T') {
            return None;
        }
        let (hour, minute, second) = l.time()?;
        let tz = l.tz()?;
        if !l.done() {
            return None;
        }
        let dt = DateTime {
            year,
            month,
            day,
            hour: 0,
            minute,
            second,
            tz,
        };
        // 24:00:00 is midnight at the end of the day: the next day's 00:00:00.
        Some(if hour == 24 {
            dt.plus_local_seconds(Decimal::from(DAY))
        } else {
            DateTime { hour, ..dt }
        })
    }

    /// Parses the `xs:date` lexical form.
    pub fn parse_date(s: &str) -> Option<DateTime> {
        let mut l = lex(s);
        let (year, month, day) = l.date()?;
        let tz = l.tz()?;
        l.done().then_some(DateTime {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: Decimal::ZERO,
            tz,
        })
    }

    /// Parses the `xs:time` lexical form.
    pub fn parse_time(s: &str) -> Option<DateTime> {
        let mut l = lex(s);
        let (hour, minute, second) = l.time()?;
        let tz = l.tz()?;
        if !l.done() {
            return None;
        }
        let (year, month, day) = Self::TIME_DATE;
        Some(DateTime {
            year,
            month,
            day,
            hour: hour % 24,
            minute,
            second,
            tz,
        })
    }

    /// The UTC instant of `now` with timezone offset `tz` minutes, to the millisecond.
    pub fn from_system_time(now: SystemTime, tz: i16) -> DateTime {
        let millis = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_millis()).unwrap_or(i128::MAX),
            Err(e) => -i128::try_from(e.duration().as_millis()).unwrap_or(i128::MAX),
        };
        let secs = Decimal::from_i128_with_scale(millis, 3);
        DateTime::from_utc_seconds(secs, Some(tz))
    }

    /// Seconds since 1970-01-01T00:00:00 of the local (wall clock) time, ignoring the zone.
    fn local_seconds(&self) -> Decimal {
        let days = days_from_civil(self.year, self.month, self.day);
        Decimal::from(days * DAY + i64::from(self.hour) * 3600 + i64::from(self.minute) * 60)
            + self.second
    }

    /// The wall clock time `local` seconds after the epoch, in timezone `tz`.
    fn from_local_seconds(local: Decimal, tz: Option<i16>) -> DateTime {
        let day = Decimal::from(DAY);
        let days = (local / day).floor();
        let rem = local - days * day;
        let (year, month, d) = civil_from_days(days.to_i64().unwrap_or(0));
        let whole = rem.trunc().to_i64().unwrap_or(0);
        let frac = rem - rem.trunc();
        DateTime {
            year,
            month,
            day: d,
            hour: (whole / 3600) as u8,
            minute: (whole % 3600 / 60) as u8,
            second: Decimal::from(whole % 60) + frac,
            tz,
        }
    }

    /// The value in timezone `tz` at the UTC instant `utc` seconds after the epoch.
    pub fn from_utc_seconds(utc: Decimal, tz: Option<i16>) -> DateTime {
        let offset = Decimal::from(i64::from(tz.unwrap_or(0)) * 60);
        DateTime::from_local_seconds(utc + offset, tz)
    }

    /// Seconds since the epoch on the UTC timeline; a value without a timezone is taken to
    /// be in `implicit_tz`.
    pub fn utc_seconds(&self, implicit_tz: i16) -> Decimal {
        let tz = i64::from(self.tz.unwrap_or(implicit_tz));
        self.local_seconds() - Decimal::from(tz * 60)
    }

    fn plus_local_seconds(&self, secs: Decimal) -> DateTime {
        DateTime::from_local_seconds(self.local_seconds() + secs, self.tz)
    }

    /// Compares two values on the timeline.
    pub fn cmp_timeline(&self, other: &DateTime, implicit_tz: i16) -> Ordering {
        self.utc_seconds(implicit_tz)
            .cmp(&other.utc_seconds(implicit_tz))
    }

    /// Adds a duration (F&O 10.8.6: months first, the day clamped to the month's length,
    /// then the seconds).
    pub fn add_duration(&self, d: &Duration) -> Option<DateTime> {
        let total = self
            .year
            .checked_mul(12)?
            .checked_add(i64::from(self.month) - 1)?
            .checked_add(d.months)?;
        let year = total.div_euclid(12);
        let month = (total.rem_euclid(12) + 1) as u8;
        let day = self.day.min(days_in_month(year, month));
        let moved = DateTime {
            year,
            month,
            day,
            ..self.clone()
        };
        Some(moved.plus_local_seconds(d.seconds))
    }

    /// Adds a day-time duration to a time, wrapping around midnight.
    pub fn add_to_time(&self, d: &Duration) -> DateTime {
        let day = Decimal::from(DAY);
        let t = Decimal::from(i64::from(self.hour) * 3600 + i64::from(self.minute) * 60)
            + self.second
            + d.seconds;
        let mut t = t % day;
        if t.is_sign_negative() && !t.is_zero() {
            t += day;
        }
        let (year, month, dd) = Self::TIME_DATE;
        let base = DateTime {
            year,
            month,
            day: dd,
            hour: 0,
            minute: 0,
            second: Decimal::ZERO,
            tz: self.tz,
        };
        base.plus_local_seconds(t)
    }

    /// The same instant in timezone `tz`, or the same wall clock without a timezone when
    /// `tz` is `None`; a value without a timezone just gets `tz`.
    pub fn adjust(&self, tz: Option<i16>) -> DateTime {
        match (self.tz, tz) {
            (_, None) => DateTime {
                tz: None,
                ..self.clone()
            },
            (None, Some(_)) => DateTime { tz, ..self.clone() },
            (Some(_), Some(_)) => DateTime::from_utc_seconds(self.utc_seconds(0), tz),
        }
    }

    /// The `xs:dateTime` canonical form.
    pub fn format_date_time(&self) -> String {
        format!(
            "{}T{}{}",
            self.date_part(),
            self.time_part(),
            format_tz(self.tz)
        )
    }

    /// The `xs:date` canonical form.
    pub fn format_date(&self) -> String {
        format!("{}{}", self.date_part(), format_tz(self.tz))
    }

    /// The `xs:time` canonical form.
    pub fn format_time(&self) -> String {
        format!("{}{}", self.time_part(), format_tz(self.tz))
    }

    fn date_part(&self) -> String {
        let sign = if self.year < 0 { "-" } else { "" };
        format!(
            "{sign}{:04}-{:02}-{:02}",
            self.year.unsigned_abs(),
            self.month,
            self.day
        )
    }

    fn time_part(&self) -> String {
        let s = self.second.normalize();
        let whole = s.trunc();
        let frac = (s - whole).normalize().to_string();
        let frac = frac.strip_prefix('0').unwrap_or("");
        format!(
            "{:02}:{:02}:{:02}{frac}",
            self.hour,
            self.minute,
            whole.to_u8().unwrap_or(0)
        )
    }

    /// The date with time fields cleared.
    pub fn date_only(&self) -> DateTime {
        DateTime {
            hour: 0,
            minute: 0,
            second: Decimal::ZERO,
            ..self.clone()
        }
    }

    /// The time on the reference date.
    pub fn time_only(&self) -> DateTime {
        let (year, month, day) = Self::TIME_DATE;
        DateTime {
            year,
            month,
            day,
            ..self.clone()
        }
    }
}

/// `Z`, `+hh:mm` or `-hh:mm`; empty without a timezone.
pub fn format_tz(tz: Option<i16>) -> String {
    match tz {
        None => String::new(),
        Some(0) => "Z".to_owned(),
        Some(m) => {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            format!("{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

impl Duration {
    /// Parses the `xs:duration` lexical form.
    pub fn parse(s: &str) -> Option<Duration> {
        let mut l = lex(s);
        let neg = l.eat(b'-');
        if !l.eat(b'P') {
            return None;
        }
        let mut months = 0i64;
        let mut secs = Decimal::ZERO;
        let mut any = false;
        let mut in_time = false;
        // Designators must appear in this order, each at most once.
        let order = [b'Y', b'M', b'D', b'T', b'H', b'm', b'S'];
        let mut next = 0usize;
        while !l.done() {
            if l.eat(b'T') {
                if in_time || next > 3 {
                    return None;
                }
                in_time = true;
                next = 4;
                if l.done() {
                    return None;
                }
                continue;
            }
            let start = l.pos;
            l.digit_run()?;
            let mut is_frac = false;
            if l.eat(b'.') {
                l.digit_run()?;
                is_frac = true;
            }
            let text = std::str::from_utf8(&l.s[start..l.pos]).ok()?;
            let des = l.peek()?;
            l.pos += 1;
            let key = match (des, in_time) {
                (b'M', true) => b'm',
                (b'Y' | b'M' | b'D', false) | (b'H' | b'S', true) => des,
                _ => return None,
            };
            let idx = order.iter().position(|k| *k == key)?;
            if idx < next || (is_frac && key != b'S') {
                return None;
            }
            next = idx + 1;
            any = true;
            let n: Decimal = text.parse().ok()?;
            match key {
                b'Y' => months = months.checked_add(n.to_i64()?.checked_mul(12)?)?,
                b'M' => months = months.checked_add(n.to_i64()?)?,
                b'D' => secs += n.checked_mul(Decimal::from(DAY))?,
                b'H' => secs += n.checked_mul(Decimal::from(3600))?,
                b'm' => secs += n.checked_mul(Decimal::from(60))?,
                _ => secs += n,
            }
        }
        if !any {
            return None;
        }
        Some(if neg {
            Duration {
                months: -months,
                seconds: -secs,
            }
        } else {
            Duration {
                months,
                seconds: secs,
            }
        })
    }

    /// True when the duration is negative.
    pub fn is_negative(&self) -> bool {
        self.months < 0 || (self.seconds.is_sign_negative() && !self.seconds.is_zero())
    }

    /// The canonical lexical form; `zero` is what a zero duration prints as (`PT0S`, `P0M`).
    pub fn format(&self, zero: &str) -> String {
        if self.months == 0 && self.seconds.is_zero() {
            return zero.to_owned();
        }
        let mut out = String::new();
        if self.is_negative() {
            out.push('-');
        }
        out.push('P');
        let m = self.months.unsigned_abs();
        if m / 12 > 0 {
            out.push_str(&format!("{}Y", m / 12));
        }
        if !m.is_multiple_of(12) {
            out.push_str(&format!("{}M", m % 12));
        }
        let s = self.seconds.abs().normalize();
        if !s.is_zero() {
            let whole = s.trunc().to_i128().unwrap_or(0);
            let frac = s - s.trunc();
            let (days, rest) = (whole / 86_400, whole % 86_400);
            let (h, mi, sec) = (rest / 3600, rest % 3600 / 60, rest % 60);
            if days > 0 {
                out.push_str(&format!("{days}D"));
            }
            if h > 0 || mi > 0 || sec > 0 || !frac.is_zero() {
                out.push('T');
                if h > 0 {
                    out.push_str(&format!("{h}H"));
                }
                if mi > 0 {
                    out.push_str(&format!("{mi}M"));
                }
                if sec > 0 || !frac.is_zero() {
                    let v = (Decimal::from(sec) + frac).normalize();
                    out.push_str(&format!("{v}S"));
                }
            }
        }
        out
    }

    /// The sum of two durations, `None` on overflow or mixed signs.
    pub fn checked_add(&self, o: &Duration) -> Option<Duration> {
        Some(Duration {
            months: self.months.checked_add(o.months)?,
            seconds: self.seconds.checked_add(o.seconds)?,
        })
    }

    /// The negated duration.
    pub fn negate(&self) -> Duration {
        Duration {
            months: -self.months,
            seconds: -self.seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 59, 60, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn lexical_forms() {
        let dt = DateTime::parse_date_time("2024-02-29T23:59:59.500+05:30").unwrap();
        assert_eq!(dt.format_date_time(), "2024-02-29T23:59:59.5+05:30");
        assert!(DateTime::parse_date_time("2023-02-29T00:00:00").is_none());
        assert!(DateTime::parse_date_time("2023-01-01").is_none());
        assert_eq!(
            DateTime::parse_date_time("1999-12-31T24:00:00Z")
                .unwrap()
                .format_date_time(),
            "2000-01-01T00:00:00Z"
        );
        assert_eq!(
            DateTime::parse_date("-0044-03-15").unwrap().format_date(),
            "-0044-03-15"
        );
        assert_eq!(
            DateTime::parse_time("13:20:00-05:00")
                .unwrap()
                .format_time(),
            "13:20:00-05:00"
        );
        assert!(DateTime::parse_time("13:60:00").is_none());
        assert!(DateTime::parse_date("2024-01-01+15:00").is_none());
    }

    #[test]
    fn durations() {
        let d = Duration::parse("P1Y2M3DT4H5M6.5S").unwrap();
        assert_eq!(d.months, 14);
        assert_eq!(d.format("PT0S"), "P1Y2M3DT4H5M6.5S");
        assert_eq!(
            Duration::parse("-PT90M").unwrap().format("PT0S"),
            "-PT1H30M"
        );
        assert_eq!(Duration::parse("PT0S").unwrap().format("PT0S"), "PT0S");
        for bad in ["P", "PT", "P1S", "1Y", "P1M1Y", "PT1.5M", "P-1Y", "P1YT"] {
            assert!(Duration::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn arithmetic() {
        let jan31 = DateTime::parse_date_time("2023-01-31T10:00:00Z").unwrap();
        let month = Duration::parse("P1M").unwrap();
        assert_eq!(
            jan31.add_duration(&month).unwrap().format_date_time(),
            "2023-02-28T10:00:00Z"
        );
        let back = Duration::parse("-PT11H").unwrap();
        assert_eq!(
            jan31.add_duration(&back).unwrap().format_date_time(),
            "2023-01-30T23:00:00Z"
        );
        let a = DateTime::parse_date_time("2023-01-01T12:00:00+02:00").unwrap();
        let b = DateTime::parse_date_time("2023-01-01T10:00:00Z").unwrap();
        assert_eq!(a.cmp_timeline(&b, 0), Ordering::Equal);
        assert_eq!(a.adjust(Some(0)).format_date_time(), "2023-01-01T10:00:00Z");
        let t = DateTime::parse_time("23:30:00").unwrap();
        let h = Duration::parse("PT1H").unwrap();
        assert_eq!(t.add_to_time(&h).format_time(), "00:30:00");
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(86_400_250);
        assert_eq!(
            DateTime::from_system_time(now, 60).format_date_time(),
            "1970-01-02T01:00:00.25+01:00"
        );
    }
}
