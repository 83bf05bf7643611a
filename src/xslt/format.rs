//! Number formatting: `format-number()` (JDK `DecimalFormat` patterns, as XSLT 1.0 specifies)
//! and the format tokens of `xsl:number`.

use super::compile::DecimalFormat;

/// One sub-pattern of a decimal format pattern.
struct SubPattern {
    prefix: String,
    suffix: String,
    min_int: usize,
    min_frac: usize,
    max_frac: usize,
    grouping: usize,
    scale: f64,
}

fn sub_pattern(p: &str, f: &DecimalFormat) -> Result<SubPattern, String> {
    let is_num = |c: char| {
        c == f.digit || c == f.zero_digit || c == f.grouping_separator || c == f.decimal_separator
    };
    let start = p
        .find(is_num)
        .ok_or_else(|| format!("pattern '{p}' has no digits"))?;
    let end = p[start..]
        .find(|c: char| !is_num(c))
        .map_or(p.len(), |e| start + e);
    let prefix = &p[..start];
    let body = &p[start..end];
    let suffix = &p[end..];
    let (int, frac) = match body.split_once(f.decimal_separator) {
        Some((i, fr)) => (i, fr),
        None => (body, ""),
    };
    let min_int = int.chars().filter(|c| *c == f.zero_digit).count();
    let grouping = match int.rfind(f.grouping_separator) {
        Some(g) => int[g..].chars().skip(1).count(),
        None => 0,
    };
    let min_frac = frac.chars().filter(|c| *c == f.zero_digit).count();
    let max_frac = frac
        .chars()
        .filter(|c| *c == f.zero_digit || *c == f.digit)
        .count();
    let has = |c: char| prefix.contains(c) || suffix.contains(c);
    let scale = if has(f.percent) {
        100.0
    } else if has(f.per_mille) {
        1000.0
    } else {
        1.0
    };
    Ok(SubPattern {
        prefix: prefix.to_owned(),
        suffix: suffix.to_owned(),
        min_int,
        min_frac,
        max_frac,
        grouping,
        scale,
    })
}

/// `format-number(n, pattern)` with decimal format `f`.
pub(crate) fn format_number(n: f64, pattern: &str, f: &DecimalFormat) -> Result<String, String> {
    let (pos, neg) = match pattern.split_once(f.pattern_separator) {
        Some((p, n)) => (p, Some(n)),
        None => (pattern, None),
    };
    let pos = sub_pattern(pos, f)?;
    if n.is_nan() {
        return Ok(f.nan.clone());
    }
    let negative = n < 0.0;
    let (prefix, suffix, sp) = if negative {
        match neg {
            Some(np) => {
                let np = sub_pattern(np, f)?;
                (np.prefix, np.suffix, &pos)
            }
            None => (
                format!("{}{}", f.minus_sign, pos.prefix),
                pos.suffix.clone(),
                &pos,
            ),
        }
    } else {
        (pos.prefix.clone(), pos.suffix.clone(), &pos)
    };
    let v = n.abs() * sp.scale;
    if v.is_infinite() {
        return Ok(format!("{prefix}{}{suffix}", f.infinity));
    }
    let fixed = format!("{v:.*}", sp.max_frac);
    let (int, frac) = match fixed.split_once('.') {
        Some((i, fr)) => (i.to_owned(), fr.trim_end_matches('0').to_owned()),
        None => (fixed.clone(), String::new()),
    };
    let mut frac = frac;
    while frac.chars().count() < sp.min_frac {
        frac.push('0');
    }
    let mut int = int.trim_start_matches('0').to_owned();
    while int.chars().count() < sp.min_int {
        int.insert(0, '0');
    }
    let zero = f.zero_digit as u32;
    let digit = |c: char| {
        c.to_digit(10)
            .and_then(|d| char::from_u32(zero + d))
            .unwrap_or(c)
    };
    let int_digits: Vec<char> = int.chars().map(digit).collect();
    let mut out = prefix;
    for (i, c) in int_digits.iter().enumerate() {
        let left = int_digits.len() - i;
        if sp.grouping > 0 && i > 0 && left.is_multiple_of(sp.grouping) {
            out.push(f.grouping_separator);
        }
        out.push(*c);
    }
    if !frac.is_empty() {
        out.push(f.decimal_separator);
        out.extend(frac.chars().map(digit));
    }
    if int_digits.is_empty() && frac.is_empty() {
        out.push(f.zero_digit);
    }
    out.push_str(&suffix);
    Ok(out)
}

/// Formats the numbers of `xsl:number` with a format string (`1`, `01`, `a`, `A`, `i`, `I`
/// tokens; other alphanumeric tokens count as `1`).
pub(crate) fn format_numbers(
    nums: &[u64],
    format: &str,
    group_sep: Option<&str>,
    group_size: usize,
) -> String {
    // Split into alternating separator / token runs.
    let mut tokens: Vec<String> = Vec::new();
    let mut seps: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    for c in format.chars() {
        let alnum = c.is_alphanumeric();
        if alnum != in_token {
            if in_token {
                tokens.push(std::mem::take(&mut cur));
            } else {
                seps.push(std::mem::take(&mut cur));
            }
            in_token = alnum;
        }
        cur.push(c);
    }
    if in_token {
        tokens.push(cur);
        seps.push(String::new());
    } else {
        seps.push(cur);
    }
    // seps[0] is the prefix, seps[i] (1..) the separator after token i-1; the last is the suffix.
    if tokens.is_empty() {
        tokens.push("1".to_owned());
        seps.insert(0, String::new());
    }
    let prefix = seps.first().cloned().unwrap_or_default();
    let suffix = if seps.len() > tokens.len() {
        seps.last().cloned().unwrap_or_default()
    } else {
        String::new()
    };
    let mut out = prefix;
    for (i, n) in nums.iter().enumerate() {
        let ti = i.min(tokens.len() - 1);
        if i > 0 {
            let sep = if i < tokens.len() {
                seps.get(i).cloned().unwrap_or_else(|| ".".to_owned())
            } else if tokens.len() > 1 {
                seps.get(tokens.len() - 1)
                    .cloned()
                    .unwrap_or_else(|| ".".to_owned())
            } else {
                ".".to_owned()
            };
            out.push_str(&sep);
        }
        out.push_str(&format_one(*n, &tokens[ti], group_sep, group_size));
    }
    out.push_str(&suffix);
    out
}

fn format_one(n: u64, token: &str, group_sep: Option<&str>, group_size: usize) -> String {
    match token {
        "a" => alpha(n, b'a'),
        "A" => alpha(n, b'A'),
        "i" => roman(n).to_lowercase(),
        "I" => roman(n),
        t => {
            let width = if t.chars().all(|c| c.is_ascii_digit()) {
                t.len()
            } else {
                1
            };
            let digits = format!("{n:0width$}");
            match group_sep {
                Some(sep) if group_size > 0 => {
                    let d: Vec<char> = digits.chars().collect();
                    let mut out = String::new();
                    for (i, c) in d.iter().enumerate() {
                        let left = d.len() - i;
                        if i > 0 && left.is_multiple_of(group_size) {
                            out.push_str(sep);
                        }
                        out.push(*c);
                    }
                    out
                }
                _ => digits,
            }
        }
    }
}

fn alpha(mut n: u64, base: u8) -> String {
    if n == 0 {
        return "0".to_owned();
    }
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(base + (n % 26) as u8);
        n /= 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn roman(n: u64) -> String {
    if n == 0 || n >= 4000 {
        return n.to_string();
    }
    const TABLE: &[(u64, &str)] = &[
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut n = n;
    let mut out = String::new();
    for (v, s) in TABLE {
        while n >= *v {
            out.push_str(s);
            n -= v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_patterns() {
        let f = DecimalFormat::default();
        let cases = [
            (1234.5, "#,##0.00", "1,234.50"),
            (0.5, "#.00", ".50"),
            (0.5, "0.###", "0.5"),
            (-3.0, "0", "-3"),
            (-3.0, "0;(0)", "(3)"),
            (0.256, "0%", "26%"),
            (1234567.0, "#,###", "1,234,567"),
            (7.0, "000", "007"),
            (f64::NAN, "0", "NaN"),
            (f64::INFINITY, "0", "Infinity"),
            (0.0, "#", "0"),
        ];
        for (n, p, want) in cases {
            assert_eq!(format_number(n, p, &f).unwrap(), want, "{n} {p}");
        }
        assert!(format_number(1.0, "abc", &f).is_err());
    }

    #[test]
    fn number_tokens() {
        assert_eq!(format_numbers(&[3], "1", None, 0), "3");
        assert_eq!(format_numbers(&[3], "01. ", None, 0), "03. ");
        assert_eq!(format_numbers(&[1, 2, 3], "1.1", None, 0), "1.2.3");
        assert_eq!(format_numbers(&[28], "a", None, 0), "ab");
        assert_eq!(format_numbers(&[1994], "I", None, 0), "MCMXCIV");
        assert_eq!(format_numbers(&[4], "(i)", None, 0), "(iv)");
        assert_eq!(format_numbers(&[12345], "1", Some(","), 3), "12,345");
        assert_eq!(format_numbers(&[2, 1], "A-1", None, 0), "B-1");
    }
}
