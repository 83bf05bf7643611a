//! `xsd:duration`, `xsd:dateTime` and `xsd:date` as wait/onAlarm need them, on [`Millis`].
//!
//! Written by hand rather than pulling a date crate: the runtime needs a few hundred lines of
//! proleptic-Gregorian arithmetic in UTC and nothing of time zones databases or clocks.

use super::Millis;

const MS_PER_DAY: i64 = 86_400_000;

/// A parsed `xsd:duration`: months and milliseconds kept apart because a month has no fixed
/// length (XML Schema Appendix E adds them calendar-wise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Duration {
    /// Years × 12 + months, signed.
    pub months: i64,
    /// Days, hours, minutes and seconds in milliseconds, signed.
    pub millis: i64,
}

/// Parses `-?PnYnMnDTnHnMn.nS` (at least one component; `T` only before a time component).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = || format!("'{s}' is not an xsd:duration");
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return Err(bad());
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut months: i64 = 0;
    let mut millis: i64 = 0;
    let mut any = false;
    let mut order = 0;
    for (value, unit) in components(date_part).map_err(|()| bad())? {
        let rank = match unit {
            'Y' => 1,
            'M' => 2,
            'D' => 3,
            _ => return Err(bad()),
        };
        if rank <= order || value.contains('.') {
            return Err(bad());
        }
        order = rank;
        let n: i64 = value.parse().map_err(|_| bad())?;
        match unit {
            'Y' => months = checked(n.checked_mul(12).and_then(|m| m.checked_add(months)))?,
            'M' => months = checked(months.checked_add(n))?,
            _ => millis = checked(n.checked_mul(MS_PER_DAY))?,
        }
        any = true;
    }
    if let Some(t) = time_part {
        let mut order = 0;
        let mut any_time = false;
        for (value, unit) in components(t).map_err(|()| bad())? {
            let (rank, factor) = match unit {
                'H' => (1, 3_600_000),
                'M' => (2, 60_000),
                'S' => (3, 1_000),
                _ => return Err(bad()),
            };
            if rank <= order || (unit != 'S' && value.contains('.')) {
                return Err(bad());
            }
            order = rank;
            let ms = if unit == 'S' {
                seconds_to_millis(value).ok_or_else(bad)?
            } else {
                let n: i64 = value.parse().map_err(|_| bad())?;
                checked(n.checked_mul(factor))?
            };
            millis = checked(millis.checked_add(ms))?;
            any_time = true;
        }
        if !any_time {
            return Err(bad());
        }
        any = true;
    }
    if !any {
        return Err(bad());
    }
    if negative {
        months = -months;
        millis = -millis;
    }
    Ok(Duration { months, millis })
}

fn checked(v: Option<i64>) -> Result<i64, String> {
    v.ok_or_else(|| "duration out of range".to_owned())
}

/// Splits `1Y2M` into `[("1", 'Y'), ("2", 'M')]`.
fn components(s: &str) -> Result<Vec<(&str, char)>, ()> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() || c == '.' {
            continue;
        }
        if i == start {
            return Err(());
        }
        out.push((&s[start..i], c));
        start = i + c.len_utf8();
    }
    if start != s.len() {
        return Err(());
    }
    Ok(out)
}

/// `12.345` → 12345 (fractions beyond milliseconds are truncated).
fn seconds_to_millis(value: &str) -> Option<i64> {
    let (int, frac) = match value.split_once('.') {
        Some((i, f)) => (i, f),
        None => (value, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut ms = 0i64;
    for (k, b) in frac.bytes().take(3).enumerate() {
        ms += i64::from(b - b'0') * [100, 10, 1][k];
    }
    whole.checked_mul(1000)?.checked_add(ms)
}

/// Adds a duration to an instant, months first with the day pinned to the month's end (XML
/// Schema Appendix E), then the fixed part.
pub(crate) fn add_duration(at: Millis, d: Duration) -> Result<Millis, String> {
    let overflow = || "the resulting date is out of range".to_owned();
    let days = at.div_euclid(MS_PER_DAY);
    let in_day = at.rem_euclid(MS_PER_DAY);
    let (y, m, day) = civil_from_days(days);
    let total = (y.checked_mul(12).ok_or_else(overflow)?)
        .checked_add(i64::from(m) - 1)
        .and_then(|t| t.checked_add(d.months))
        .ok_or_else(overflow)?;
    let ny = total.div_euclid(12);
    let nm = (total.rem_euclid(12) + 1) as u32;
    let nd = day.min(days_in_month(ny, nm));
    let base = days_from_civil(ny, nm, nd)
        .checked_mul(MS_PER_DAY)
        .and_then(|b| b.checked_add(in_day))
        .ok_or_else(overflow)?;
    base.checked_add(d.millis).ok_or_else(overflow)
}

/// Parses an `xsd:dateTime` or an `xsd:date` (midnight); without a timezone the value is
/// taken as UTC.
pub(crate) fn parse_date_time(text: &str) -> Result<Millis, String> {
    let s = text.trim();
    let bad = || format!("'{s}' is not an xsd:dateTime or xsd:date");
    let (negative, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    // Year: four or more digits.
    let ydigits = body.bytes().take_while(u8::is_ascii_digit).count();
    if ydigits < 4 || (ydigits > 4 && body.starts_with('0')) {
        return Err(bad());
    }
    let mut year: i64 = body[..ydigits].parse().map_err(|_| bad())?;
    if negative {
        year = -year;
    }
    let rest = &body[ydigits..];
    let rest = rest.strip_prefix('-').ok_or_else(bad)?;
    let month = two_digits(rest).ok_or_else(bad)?;
    let rest = rest[2..].strip_prefix('-').ok_or_else(bad)?;
    let day = two_digits(rest).ok_or_else(bad)?;
    let mut rest = &rest[2..];
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let mut ms_in_day: i64 = 0;
    if let Some(t) = rest.strip_prefix('T') {
        let h = two_digits(t).ok_or_else(bad)?;
        let t = t[2..].strip_prefix(':').ok_or_else(bad)?;
        let mi = two_digits(t).ok_or_else(bad)?;
        let t = t[2..].strip_prefix(':').ok_or_else(bad)?;
        let sec_len = t
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let sec_text = &t[..sec_len];
        if sec_text.len() < 2 || !sec_text.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        if sec_text.len() > 2 && (sec_text.as_bytes()[2] != b'.' || sec_text.len() == 3) {
            return Err(bad());
        }
        let sec_ms = seconds_to_millis(sec_text).ok_or_else(bad)?;
        let end_of_day = h == 24 && mi == 0 && sec_ms == 0;
        if (h > 23 && !end_of_day) || mi > 59 || sec_ms >= 60_000 {
            return Err(bad());
        }
        ms_in_day = i64::from(h) * 3_600_000 + i64::from(mi) * 60_000 + sec_ms;
        rest = &t[sec_len..];
    }
    let offset_ms = parse_timezone(rest).ok_or_else(bad)?;
    days_from_civil(year, month, day)
        .checked_mul(MS_PER_DAY)
        .and_then(|v| v.checked_add(ms_in_day))
        .and_then(|v| v.checked_sub(offset_ms))
        .ok_or_else(bad)
}

fn two_digits(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() < 2 || !b[0].is_ascii_digit() || !b[1].is_ascii_digit() {
        return None;
    }
    Some(u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
}

/// `""` (UTC), `Z`, `+hh:mm` or `-hh:mm` → offset in milliseconds.
fn parse_timezone(s: &str) -> Option<i64> {
    match s {
        "" | "Z" => Some(0),
        _ => {
            let sign = match s.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let t = &s[1..];
            if t.len() != 5 || t.as_bytes()[2] != b':' {
                return None;
            }
            let h = two_digits(t)?;
            let m = two_digits(&t[3..])?;
            if h > 14 || m > 59 || (h == 14 && m != 0) {
                return None;
            }
            Some(sign * (i64::from(h) * 3_600_000 + i64::from(m) * 60_000))
        }
    }
}

/// `2024-01-31T12:00:00.000Z`: an instant as `xsd:dateTime` in UTC.
pub(crate) fn format_date_time(at: Millis) -> String {
    let days = at.div_euclid(MS_PER_DAY);
    let ms = at.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (mi, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    let year = if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    };
    format!("{year}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era-based, exact for all years).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Millis {
        parse_date_time(s).unwrap()
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 60, 365, 11_016, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("PT1S").unwrap(),
            Duration {
                months: 0,
                millis: 1000
            }
        );
        assert_eq!(
            parse_duration(" P1Y2M3DT4H5M6.789S ").unwrap(),
            Duration {
                months: 14,
                millis: 3 * MS_PER_DAY + 4 * 3_600_000 + 5 * 60_000 + 6_789
            }
        );
        assert_eq!(parse_duration("-P1D").unwrap().millis, -MS_PER_DAY);
        assert_eq!(parse_duration("PT0.5S").unwrap().millis, 500);
        assert_eq!(parse_duration("P0D").unwrap().millis, 0);
        for bad in [
            "", "P", "PT", "1D", "P1H", "PT1D", "P1M1Y", "P1.5D", "PT1.5M", "P-1D", "P1DT", "PTS",
            "P1D2",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn date_times() {
        assert_eq!(at("1970-01-01T00:00:00Z"), 0);
        assert_eq!(at("1970-01-01T00:00:00"), 0, "no timezone is UTC");
        assert_eq!(at("1970-01-01T01:00:00+01:00"), 0);
        assert_eq!(at("1969-12-31T23:00:00-01:00"), 0);
        assert_eq!(at("1970-01-02"), MS_PER_DAY);
        assert_eq!(at("1970-01-02Z"), MS_PER_DAY);
        assert_eq!(at("1970-01-01T00:00:01.5Z"), 1500);
        assert_eq!(at("1970-01-01T24:00:00Z"), MS_PER_DAY);
        assert_eq!(at("2024-02-29T12:00:00Z"), 1_709_208_000_000);
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-01-01T25:00:00",
            "2024-01-01T10:00",
            "2024-01-01T10:00:00+15:00",
            "2024-01-01T10:00:00.",
            "2024-01-01 10:00:00",
            "tomorrow",
        ] {
            assert!(parse_date_time(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn calendar_addition_pins_the_day() {
        let jan31 = at("2023-01-31T10:00:00Z");
        let one_month = parse_duration("P1M").unwrap();
        assert_eq!(
            add_duration(jan31, one_month).unwrap(),
            at("2023-02-28T10:00:00Z")
        );
        let leap = at("2024-02-29T00:00:00Z");
        assert_eq!(
            add_duration(leap, parse_duration("P1Y").unwrap()).unwrap(),
            at("2025-02-28T00:00:00Z")
        );
        assert_eq!(
            add_duration(leap, parse_duration("-P1DT1H").unwrap()).unwrap(),
            at("2024-02-27T23:00:00Z")
        );
        assert_eq!(
            add_duration(0, parse_duration("PT90M").unwrap()).unwrap(),
            5_400_000
        );
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_date_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_date_time(at("2024-02-29T12:34:56.789Z")),
            "2024-02-29T12:34:56.789Z"
        );
        assert_eq!(format_date_time(-1), "1969-12-31T23:59:59.999Z");
    }
}
