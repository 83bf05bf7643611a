//! XML Schema regular expressions (with the XPath 2.0 additions: anchors, reluctant
//! quantifiers, flags) translated to the `regex` crate's syntax, and compiled once per
//! pattern and thread.
//!
//! What the `regex` crate cannot do is refused with `[FORX0002]`: back-references and
//! `\p{IsBlock}` block escapes.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use super::error::XPathError;

/// Compiled patterns kept per thread; cleared when it grows past this.
const CACHE_SIZE: usize = 128;

thread_local! {
    static CACHE: RefCell<HashMap<(String, String), Regex>> = RefCell::new(HashMap::new());
}

fn bad_pattern(message: impl Into<String>) -> XPathError {
    XPathError::dynamic(
        0,
        format!("[FORX0002] invalid regular expression: {}", message.into()),
    )
}

const NAME_START: &str = r"\p{L}\p{Nl}_:";
const NAME_CHAR: &str = r"\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}_:.\-\x{B7}";
const WORD_NOT: &str = r"\p{P}\p{Z}\p{C}";

struct Translator<'p> {
    chars: std::iter::Peekable<std::str::Chars<'p>>,
    dot_all: bool,
    out: String,
}

impl Translator<'_> {
    /// An escape after `\`; `in_class` when inside `[...]`, where the expansion must be a
    /// class item rather than a class.
    fn escape(&mut self, in_class: bool) -> Result<String, XPathError> {
        let c = self
            .chars
            .next()
            .ok_or_else(|| bad_pattern("'\\' at the end"))?;
        let class = |body: &str, neg: bool| {
            if in_class && !neg {
                body.to_owned()
            } else {
                format!("[{}{body}]", if neg { "^" } else { "" })
            }
        };
        Ok(match c {
            'n' => r"\n".to_owned(),
            'r' => r"\r".to_owned(),
            't' => r"\t".to_owned(),
            '\\' | '|' | '.' | '-' | '^' | '?' | '*' | '+' | '{' | '}' | '(' | ')' | '[' | ']'
            | '$' => format!("\\{c}"),
            'd' => r"\d".to_owned(),
            'D' => r"\D".to_owned(),
            's' => class(r" \t\n\r", false),
            'S' => class(r" \t\n\r", true),
            'w' => class(WORD_NOT, true),
            'W' => class(WORD_NOT, false),
            'i' => class(NAME_START, false),
            'I' => class(NAME_START, true),
            'c' => class(NAME_CHAR, false),
            'C' => class(NAME_CHAR, true),
            'p' | 'P' => {
                if self.chars.next() != Some('{') {
                    return Err(bad_pattern("'\\p' without '{'"));
                }
                let mut name = String::new();
                loop {
                    match self.chars.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => return Err(bad_pattern("unterminated '\\p{'")),
                    }
                }
                if name.starts_with("Is") {
                    return Err(bad_pattern(format!(
                        "the Unicode block escape \\p{{{name}}} is not supported"
                    )));
                }
                format!("\\{c}{{{name}}}")
            }
            '1'..='9' => return Err(bad_pattern("back-references are not supported")),
            other => return Err(bad_pattern(format!("unknown escape '\\{other}'"))),
        })
    }

    /// One class item character (after `[`), escaped for the `regex` crate.
    fn class_char(c: char) -> String {
        match c {
            '[' | ']' | '\\' | '&' | '~' | '-' | '^' => format!("\\{c}"),
            c => c.to_string(),
        }
    }

    /// A character class; the `[` has been read.
    fn class(&mut self) -> Result<String, XPathError> {
        let mut out = String::from("[");
        if self.chars.peek() == Some(&'^') {
            self.chars.next();
            out.push('^');
        }
        let mut first = true;
        loop {
            let c = self
                .chars
                .next()
                .ok_or_else(|| bad_pattern("unterminated character class"))?;
            match c {
                ']' if !first => break,
                '-' if self.chars.peek() == Some(&'[') => {
                    // Subtraction `[a-z-[aeiou]]`: the regex crate spells it `--`.
                    self.chars.next();
                    let sub = self.class()?;
                    out.push_str("--");
                    out.push_str(&sub);
                    if self.chars.next() != Some(']') {
                        return Err(bad_pattern("a class subtraction must end the class"));
                    }
                    break;
                }
                '[' => return Err(bad_pattern("'[' inside a character class")),
                _ => {
                    let item = if c == '\\' {
                        self.escape(true)?
                    } else {
                        Self::class_char(c)
                    };
                    out.push_str(&item);
                    // A range `a-z`: '-' followed by something other than ']' or '['.
                    if self.chars.peek() == Some(&'-') {
                        let mut look = self.chars.clone();
                        look.next();
                        match look.peek() {
                            Some(']') | Some('[') | None => {}
                            Some(_) => {
                                self.chars.next();
                                let end = match self.chars.next() {
                                    Some('\\') => self.escape(true)?,
                                    Some(e) => Self::class_char(e),
                                    None => return Err(bad_pattern("unterminated range")),
                                };
                                out.push('-');
                                out.push_str(&end);
                            }
                        }
                    }
                }
            }
            first = false;
        }
        out.push(']');
        Ok(out)
    }

    fn run(&mut self) -> Result<(), XPathError> {
        while let Some(c) = self.chars.next() {
            let piece = match c {
                '\\' => self.escape(false)?,
                '[' => self.class()?,
                '.' if !self.dot_all => r"[^\n\r]".to_owned(),
                c => c.to_string(),
            };
            self.out.push_str(&piece);
        }
        Ok(())
    }
}

/// Translates an XPath 2.0 pattern with its flags to `regex` syntax.
pub(super) fn translate(pattern: &str, flags: &str) -> Result<String, XPathError> {
    let mut prefix = String::new();
    let mut dot_all = false;
    let mut extended = false;
    for f in flags.chars() {
        match f {
            's' => dot_all = true,
            'm' => prefix.push('m'),
            'i' => prefix.push('i'),
            'x' => extended = true,
            other => {
                return Err(XPathError::dynamic(
                    0,
                    format!("[FORX0001] invalid regular expression flag '{other}'"),
                ));
            }
        }
    }
    if dot_all {
        prefix.push('s');
    }
    let stripped: String;
    let pattern = if extended {
        stripped = pattern
            .chars()
            .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
            .collect();
        stripped.as_str()
    } else {
        pattern
    };
    let mut t = Translator {
        chars: pattern.chars().peekable(),
        dot_all,
        out: String::new(),
    };
    t.run()?;
    Ok(if prefix.is_empty() {
        t.out
    } else {
        format!("(?{prefix}){}", t.out)
    })
}

/// The compiled pattern, from the per-thread cache when it was seen before.
pub(super) fn compile(pattern: &str, flags: &str) -> Result<Regex, XPathError> {
    let key = (pattern.to_owned(), flags.to_owned());
    if let Some(re) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(re);
    }
    let translated = translate(pattern, flags)?;
    let re = Regex::new(&translated).map_err(|e| bad_pattern(e.to_string()))?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_SIZE {
            c.clear();
        }
        c.insert(key, re.clone());
    });
    Ok(re)
}

/// Converts an XPath replacement string (`$1`, `\$`, `\\`) to the `regex` crate's form.
pub(super) fn replacement(rep: &str, groups: usize) -> Result<String, XPathError> {
    let bad = |m: &str| XPathError::dynamic(0, format!("[FORX0004] invalid replacement: {m}"));
    let mut out = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('$') => out.push_str("$$"),
                _ => return Err(bad("'\\' must be followed by '\\' or '$'")),
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    // The longest group number that exists; further digits are literal.
                    let mut longer = digits.clone();
                    longer.push(d);
                    if !digits.is_empty() && longer.parse::<usize>().map_or(true, |n| n >= groups) {
                        break;
                    }
                    digits = longer;
                    chars.next();
                }
                if digits.is_empty() {
                    return Err(bad("'$' must be followed by a digit"));
                }
                let n: usize = digits.parse().unwrap_or(usize::MAX);
                if n < groups {
                    out.push_str(&format!("${{{n}}}"));
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translations() {
        assert_eq!(translate("a.b", "").unwrap(), r"a[^\n\r]b");
        assert_eq!(translate("a.b", "s").unwrap(), "(?s)a.b");
        assert_eq!(translate("[a-z-[aeiou]]", "").unwrap(), "[a-z--[aeiou]]");
        assert_eq!(translate(r"\s+", "").unwrap(), r"[ \t\n\r]+");
        assert_eq!(translate(r"[\s,]", "").unwrap(), r"[ \t\n\r,]");
        assert_eq!(translate("a b", "x").unwrap(), "ab");
        assert_eq!(translate("[&~]", "i").unwrap(), r"(?i)[\&\~]");
        assert!(translate(r"(a)\1", "").is_err());
        assert!(translate(r"\p{IsBasicLatin}", "").is_err());
        assert!(translate("a", "q").is_err());
    }

    #[test]
    fn compiled_patterns_match() {
        let re = compile(r"^\d{3}-[A-Z]+$", "").unwrap();
        assert!(re.is_match("123-ABC"));
        assert!(!re.is_match("12-ABC"));
        let word = compile(r"\w+", "").unwrap();
        assert_eq!(
            word.find("  hello, world").map(|m| m.as_str()),
            Some("hello")
        );
        let sub = compile("[a-z-[aeiou]]+", "").unwrap();
        assert_eq!(sub.find("aabcde").map(|m| m.as_str()), Some("bcd"));
    }

    #[test]
    fn replacements() {
        assert_eq!(replacement("$1-$2", 3).unwrap(), "${1}-${2}");
        assert_eq!(replacement(r"\$\\", 1).unwrap(), "$$\\");
        assert_eq!(replacement("$12", 2).unwrap(), "${1}2");
        assert_eq!(replacement("$5", 2).unwrap(), "");
        assert!(replacement("$x", 2).is_err());
        assert!(replacement(r"\n", 2).is_err());
    }
}
