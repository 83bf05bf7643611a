//! The XPath lexer and recursive-descent parser.
//!
//! The lexer only splits the text; whether a name is an operator (`and`, `div`, `eq` …) or a
//! name test, and whether `*` multiplies or matches, is decided by the parser from its
//! position, which is exactly the XPath 1.0 disambiguation rule (section 3.7): after an
//! operand these are operators, anywhere else they are names.

use super::ast::{
    Axis, BinOp, Binding, Expr, ItemType, KindTest, Language, Name, NodeTest, Occurrence,
    PathStart, SequenceType, Step, VarRef,
};
use super::error::XPathError;
use super::xquery::{self, Clause, Content, CtorName, OrderSpec, TypeCase, XqExpr};

/// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// Parses `text` as an expression of `lang`. Prefixes stay unresolved; see [`Expr::resolve`].
pub fn parse(text: &str, lang: Language) -> Result<Expr, XPathError> {
    parse_with(text, lang, false)
}

/// Parses `text` as an XQuery 1.0 expression (no prolog): XPath 2.0 plus the constructs of
/// [`super::xquery`].
pub fn parse_xquery(text: &str) -> Result<Expr, XPathError> {
    parse_with(text, Language::XPath2, true)
}

/// Parses the XQuery enclosed expression whose text starts at byte `start` (just after `{`)
/// up to its matching `}`: the expression and the byte offset after the `}`.
pub(super) fn parse_enclosed(text: &str, start: usize) -> Result<(Expr, usize), XPathError> {
    let mut lx = Lexer {
        text,
        pos: start,
        lang: Language::XPath2,
        xquery: true,
        after_operand: false,
    };
    let mut toks = Vec::new();
    let mut depth = 0usize;
    let end = loop {
        let t = lx.next()?;
        match &t.tok {
            Tok::Eof => return Err(XPathError::syntax(start, "'{' is not closed")),
            Tok::Sym("{") => depth += 1,
            Tok::Sym("}") if depth == 0 => break t.offset,
            Tok::Sym("}") => depth -= 1,
            _ => {}
        }
        toks.push(t);
    };
    toks.push(Token {
        tok: Tok::Eof,
        offset: end,
    });
    let mut p = Parser {
        toks,
        pos: 0,
        lang: Language::XPath2,
        depth: 0,
        bound: Vec::new(),
        xquery: true,
    };
    let e = if p.peek().tok == Tok::Eof {
        Expr::Sequence(Vec::new())
    } else {
        p.expr()?
    };
    let t = p.peek();
    if t.tok != Tok::Eof {
        return Err(XPathError::syntax(
            t.offset,
            format!("unexpected {} in an enclosed expression", t.tok.describe()),
        ));
    }
    Ok((e, end + 1))
}

fn parse_with(text: &str, lang: Language, xquery: bool) -> Result<Expr, XPathError> {
    let tokens = lex(text, lang, xquery)?;
    let mut p = Parser {
        toks: tokens,
        pos: 0,
        lang,
        depth: 0,
        bound: Vec::new(),
        xquery,
    };
    let e = p.expr()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        return Err(XPathError::syntax(
            t.offset,
            format!(
                "unexpected {} after the end of the expression",
                t.tok.describe()
            ),
        ));
    }
    Ok(e)
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A QName or NCName.
    Name(String, String),
    /// `prefix:*`
    NsWild(String),
    /// `*:local` (XPath 2.0)
    LocalWild(String),
    Star,
    Var(String, String),
    Literal(String),
    Number(f64),
    Sym(&'static str),
    /// An XQuery direct element constructor, scanned whole.
    Ctor(Box<XqExpr>),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Name(p, l) if p.is_empty() => format!("'{l}'"),
            Tok::Name(p, l) => format!("'{p}:{l}'"),
            Tok::NsWild(p) => format!("'{p}:*'"),
            Tok::LocalWild(l) => format!("'*:{l}'"),
            Tok::Star => "'*'".to_owned(),
            Tok::Var(p, l) if p.is_empty() => format!("'${l}'"),
            Tok::Var(p, l) => format!("'${p}:{l}'"),
            Tok::Literal(s) => format!("string literal \"{s}\""),
            Tok::Number(n) => format!("number {n}"),
            Tok::Sym(s) => format!("'{s}'"),
            Tok::Ctor(_) => "an element constructor".to_owned(),
            Tok::Eof => "end of expression".to_owned(),
        }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self, Tok::Sym(x) if *x == s)
    }

    /// The unprefixed name, for keyword checks.
    fn keyword(&self) -> Option<&str> {
        match self {
            Tok::Name(p, l) if p.is_empty() => Some(l),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    offset: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.')
        || c == '\u{B7}'
        || (!c.is_ascii() && (c.is_alphanumeric() || ('\u{300}'..='\u{36F}').contains(&c)))
        || ('\u{203F}'..='\u{2040}').contains(&c)
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    lang: Language,
    /// XQuery: `{`, `}`, `:=`, `;` are symbols and `<name` in operand position starts a
    /// direct element constructor.
    xquery: bool,
    /// Whether the previous token ended an operand (then `<` is an operator).
    after_operand: bool,
}

/// XQuery/XPath words after which an operand is expected.
const OPERAND_EXPECTED_AFTER: &[&str] = &[
    "return",
    "then",
    "else",
    "satisfies",
    "in",
    "and",
    "or",
    "div",
    "idiv",
    "mod",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "to",
    "union",
    "intersect",
    "except",
    "is",
    "where",
    "by",
    "at",
    "case",
    "default",
];

fn ends_operand(t: &Tok) -> bool {
    match t {
        Tok::Name(p, l) => !(p.is_empty() && OPERAND_EXPECTED_AFTER.contains(&l.as_str())),
        Tok::Var(..)
        | Tok::Literal(_)
        | Tok::Number(_)
        | Tok::Star
        | Tok::NsWild(_)
        | Tok::LocalWild(_)
        | Tok::Ctor(_) => true,
        Tok::Sym(s) => matches!(*s, ")" | "]" | "." | ".." | "}"),
        Tok::Eof => false,
    }
}

impl Lexer<'_> {
    fn peek_char(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.text[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn ncname(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek_char() {
            if is_name_char(c) {
                self.bump();
            } else {
                break;
            }
        }
        self.text[start..self.pos].to_owned()
    }

    /// Skips whitespace and, in XPath 2.0, nested `(: comments :)`.
    fn skip_ws(&mut self) -> Result<(), XPathError> {
        loop {
            match self.peek_char() {
                Some(c) if c.is_ascii_whitespace() => {
                    self.bump();
                }
                Some('(') if self.lang == Language::XPath2 && self.peek_at(1) == Some(':') => {
                    let start = self.pos;
                    self.pos += 2;
                    let mut depth = 1usize;
                    while depth > 0 {
                        match self.bump() {
                            None => {
                                return Err(XPathError::syntax(start, "unterminated comment"));
                            }
                            Some('(') if self.peek_char() == Some(':') => {
                                self.pos += 1;
                                depth += 1;
                            }
                            Some(':') if self.peek_char() == Some(')') => {
                                self.pos += 1;
                                depth -= 1;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// After an NCName: `:local`, `:*`, or nothing (`::` belongs to an axis).
    fn qname_rest(&mut self, first: String) -> Tok {
        if self.peek_char() == Some(':') {
            match self.peek_at(1) {
                Some(c) if is_name_start(c) => {
                    self.bump();
                    let local = self.ncname();
                    return Tok::Name(first, local);
                }
                Some('*') => {
                    self.pos += 2;
                    return Tok::NsWild(first);
                }
                _ => {}
            }
        }
        Tok::Name(String::new(), first)
    }

    fn number(&mut self) -> Result<Tok, XPathError> {
        let start = self.pos;
        while matches!(self.peek_char(), Some(c) if c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek_char() == Some('.') && self.peek_at(1) != Some('.') {
            self.bump();
            while matches!(self.peek_char(), Some(c) if c.is_ascii_digit()) {
                self.bump();
            }
        }
        if self.lang == Language::XPath2 && matches!(self.peek_char(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            if matches!(self.peek_char(), Some('+' | '-')) {
                self.bump();
            }
            if matches!(self.peek_char(), Some(c) if c.is_ascii_digit()) {
                while matches!(self.peek_char(), Some(c) if c.is_ascii_digit()) {
                    self.bump();
                }
            } else {
                self.pos = save;
            }
        }
        let s = &self.text[start..self.pos];
        if matches!(self.peek_char(), Some(c) if is_name_start(c)) {
            return Err(XPathError::syntax(
                self.pos,
                format!("a name cannot follow the number '{s}' without a space"),
            ));
        }
        s.parse::<f64>()
            .map(Tok::Number)
            .map_err(|_| XPathError::syntax(start, format!("malformed number '{s}'")))
    }

    fn literal(&mut self, quote: char) -> Result<Tok, XPathError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(XPathError::syntax(start, "unterminated string literal"));
                }
                Some(c) if c == quote => {
                    if self.lang == Language::XPath2 && self.peek_char() == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return Ok(Tok::Literal(out));
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn next(&mut self) -> Result<Token, XPathError> {
        let t = self.next_inner()?;
        self.after_operand = ends_operand(&t.tok);
        Ok(t)
    }

    fn next_inner(&mut self) -> Result<Token, XPathError> {
        self.skip_ws()?;
        let offset = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(Token {
                tok: Tok::Eof,
                offset,
            });
        };
        let two = |l: &Self, s: char| l.peek_at(1) == Some(s);
        let tok = match c {
            '"' | '\'' => self.literal(c)?,
            '0'..='9' => self.number()?,
            '.' if matches!(self.peek_at(1), Some(d) if d.is_ascii_digit()) => self.number()?,
            '.' if two(self, '.') => {
                self.pos += 2;
                Tok::Sym("..")
            }
            '$' => {
                self.bump();
                if self.lang == Language::XPath2 {
                    self.skip_ws()?;
                }
                match self.peek_char() {
                    Some(c) if is_name_start(c) => {
                        let first = self.ncname();
                        match self.qname_rest(first) {
                            Tok::Name(p, l) => Tok::Var(p, l),
                            _ => {
                                return Err(XPathError::syntax(
                                    offset,
                                    "a variable name cannot contain '*'",
                                ));
                            }
                        }
                    }
                    _ => {
                        return Err(XPathError::syntax(
                            offset,
                            "expected a variable name after '$'",
                        ));
                    }
                }
            }
            '*' => {
                self.bump();
                if self.lang == Language::XPath2
                    && self.peek_char() == Some(':')
                    && matches!(self.peek_at(1), Some(c) if is_name_start(c))
                {
                    self.bump();
                    Tok::LocalWild(self.ncname())
                } else {
                    Tok::Star
                }
            }
            c if is_name_start(c) => {
                let first = self.ncname();
                self.qname_rest(first)
            }
            '<' if self.xquery
                && !self.after_operand
                && matches!(self.peek_at(1), Some(n) if is_name_start(n)) =>
            {
                let (ctor, end) = xquery::scan_element(self.text, self.pos)?;
                self.pos = end;
                Tok::Ctor(Box::new(ctor))
            }
            '{' | '}' | ';' if self.xquery => {
                self.bump();
                Tok::Sym(match c {
                    '{' => "{",
                    '}' => "}",
                    _ => ";",
                })
            }
            ':' if self.xquery && two(self, '=') => {
                self.pos += 2;
                Tok::Sym(":=")
            }
            _ => {
                let syms: &[&'static str] = &[
                    "//", "::", "!=", "<=", ">=", "<<", ">>", "/", "|", "+", "-", "=", "<", ">",
                    "(", ")", "[", "]", ".", "@", ",", "?",
                ];
                let rest = &self.text[self.pos..];
                let Some(s) = syms.iter().find(|s| rest.starts_with(**s)) else {
                    return Err(XPathError::syntax(
                        offset,
                        format!("unexpected character '{c}'"),
                    ));
                };
                if (*s == "<<" || *s == ">>" || *s == "?") && self.lang == Language::XPath1 {
                    if *s == "?" {
                        return Err(XPathError::syntax(offset, "unexpected character '?'"));
                    }
                    // In XPath 1.0 `a<<b` is not an operator; split it so the parser reports it.
                    self.pos += 1;
                    return Ok(Token {
                        tok: Tok::Sym(if *s == "<<" { "<" } else { ">" }),
                        offset,
                    });
                }
                self.pos += s.len();
                Tok::Sym(s)
            }
        };
        Ok(Token { tok, offset })
    }
}

fn lex(text: &str, lang: Language, xquery: bool) -> Result<Vec<Token>, XPathError> {
    let mut lx = Lexer {
        text,
        pos: 0,
        lang,
        xquery,
        after_operand: false,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next()?;
        let end = t.tok == Tok::Eof;
        out.push(t);
        if end {
            return Ok(out);
        }
    }
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    lang: Language,
    depth: usize,
    /// Variables bound by enclosing `for`/`some`/`every`: `$a.b` is not split for them.
    bound: Vec<String>,
    /// XQuery: FLWOR, typeswitch and constructors are recognised.
    xquery: bool,
}

const KIND_TESTS_1: &[&str] = &["node", "text", "comment", "processing-instruction"];
const KIND_TESTS_2: &[&str] = &[
    "node",
    "text",
    "comment",
    "processing-instruction",
    "document-node",
    "element",
    "attribute",
    "schema-element",
    "schema-attribute",
];

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_n(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at_sym(&self, s: &str) -> bool {
        self.peek().tok.is_sym(s)
    }

    fn at_keyword(&self, k: &str) -> bool {
        self.peek().tok.keyword() == Some(k)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.at_sym(s) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn error_here(&self, expected: &str) -> XPathError {
        let t = self.peek();
        let message = if t.tok == Tok::Eof {
            format!("expected {expected}")
        } else {
            format!("expected {expected} but found {}", t.tok.describe())
        };
        XPathError::syntax(t.offset, message)
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), XPathError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.error_here(&format!("'{s}'")))
        }
    }

    fn expect_keyword(&mut self, k: &str) -> Result<(), XPathError> {
        if self.at_keyword(k) {
            self.advance();
            Ok(())
        } else {
            Err(self.error_here(&format!("'{k}'")))
        }
    }

    fn enter(&mut self) -> Result<(), XPathError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(XPathError::syntax(
                self.peek().offset,
                format!("expression nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn xp2(&self) -> bool {
        self.lang == Language::XPath2
    }

    /// `Expr`: in XPath 2.0 a comma-separated sequence.
    fn expr(&mut self) -> Result<Expr, XPathError> {
        let first = self.expr_single()?;
        let r = if self.xp2() && self.at_sym(",") {
            let mut items = vec![first];
            while self.eat_sym(",") {
                items.push(self.expr_single()?);
            }
            Expr::Sequence(items)
        } else {
            first
        };
        Ok(r)
    }

    fn expr_single(&mut self) -> Result<Expr, XPathError> {
        self.enter()?;
        let r = self.expr_single_inner();
        self.depth -= 1;
        r
    }

    fn expr_single_inner(&mut self) -> Result<Expr, XPathError> {
        if self.xquery {
            let next = self.peek_n(1).clone();
            match self.peek().tok.keyword() {
                Some("for" | "let") if matches!(next, Tok::Var(..)) => return self.flwor(),
                Some("typeswitch") if next.is_sym("(") => return self.typeswitch(),
                _ => {}
            }
        }
        if self.xp2() {
            let next = self.peek_n(1).clone();
            match self.peek().tok.keyword() {
                Some("if") if next.is_sym("(") => return self.if_expr(),
                Some("for") if matches!(next, Tok::Var(..)) => return self.for_expr(),
                Some(k @ ("some" | "every")) if matches!(next, Tok::Var(..)) => {
                    let every = k == "every";
                    return self.quantified(every);
                }
                _ => {}
            }
        }
        self.or_expr()
    }

    fn var_name(&mut self) -> Result<Name, XPathError> {
        let t = self.advance();
        match t.tok {
            Tok::Var(prefix, local) => Ok(Name::new(prefix, local, t.offset + 1)),
            _ => {
                self.pos -= 1;
                Err(self.error_here("a variable such as '$x'"))
            }
        }
    }

    /// XQuery `for`/`let` … `where` … `order by` … `return`.
    fn flwor(&mut self) -> Result<Expr, XPathError> {
        let mark = self.bound.len();
        let mut clauses = Vec::new();
        loop {
            match self.peek().tok.keyword() {
                Some("for") if matches!(self.peek_n(1), Tok::Var(..)) => {
                    self.advance();
                    loop {
                        let var = self.var_name()?;
                        let at = if self.at_keyword("at") {
                            self.advance();
                            Some(self.var_name()?)
                        } else {
                            None
                        };
                        self.expect_keyword("in")?;
                        let seq = self.expr_single()?;
                        self.bound.push(var.local.clone());
                        if let Some(a) = &at {
                            self.bound.push(a.local.clone());
                        }
                        clauses.push(Clause::For { var, at, seq });
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                }
                Some("let") if matches!(self.peek_n(1), Tok::Var(..)) => {
                    self.advance();
                    loop {
                        let var = self.var_name()?;
                        self.expect_sym(":=")?;
                        let value = self.expr_single()?;
                        self.bound.push(var.local.clone());
                        clauses.push(Clause::Let { var, value });
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        if self.at_keyword("where") {
            self.advance();
            clauses.push(Clause::Where(self.expr_single()?));
        }
        let mut order = Vec::new();
        if self.at_keyword("stable") {
            self.advance();
        }
        if self.at_keyword("order") && self.peek_n(1).keyword() == Some("by") {
            self.advance();
            self.advance();
            loop {
                let key = self.expr_single()?;
                let mut spec = OrderSpec {
                    key,
                    descending: false,
                    empty_greatest: false,
                };
                if self.at_keyword("ascending") {
                    self.advance();
                } else if self.at_keyword("descending") {
                    self.advance();
                    spec.descending = true;
                }
                if self.at_keyword("empty") {
                    self.advance();
                    match self.peek().tok.keyword() {
                        Some("greatest") => spec.empty_greatest = true,
                        Some("least") => {}
                        _ => return Err(self.error_here("'greatest' or 'least'")),
                    }
                    self.advance();
                }
                order.push(spec);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_keyword("return")?;
        let ret = self.expr_single()?;
        self.bound.truncate(mark);
        Ok(Expr::XQuery(Box::new(XqExpr::Flwor {
            clauses,
            order,
            ret,
        })))
    }

    /// XQuery `typeswitch (e) case $v as T return e … default $v return e`.
    fn typeswitch(&mut self) -> Result<Expr, XPathError> {
        self.advance();
        self.expect_sym("(")?;
        let operand = self.expr()?;
        self.expect_sym(")")?;
        let mut cases = Vec::new();
        let mark = self.bound.len();
        while self.at_keyword("case") {
            self.advance();
            let var = if matches!(self.peek().tok, Tok::Var(..)) {
                let v = self.var_name()?;
                self.expect_keyword("as")?;
                Some(v)
            } else {
                None
            };
            let ty = self.sequence_type()?;
            self.expect_keyword("return")?;
            if let Some(v) = &var {
                self.bound.push(v.local.clone());
            }
            let ret = self.expr_single()?;
            self.bound.truncate(mark);
            cases.push(TypeCase { var, ty, ret });
        }
        if cases.is_empty() {
            return Err(self.error_here("'case'"));
        }
        self.expect_keyword("default")?;
        let default_var = if matches!(self.peek().tok, Tok::Var(..)) {
            Some(self.var_name()?)
        } else {
            None
        };
        self.expect_keyword("return")?;
        if let Some(v) = &default_var {
            self.bound.push(v.local.clone());
        }
        let default = self.expr_single()?;
        self.bound.truncate(mark);
        Ok(Expr::XQuery(Box::new(XqExpr::Typeswitch {
            operand,
            cases,
            default_var,
            default,
        })))
    }

    /// XQuery computed constructor keywords followed by `{` or (elements, attributes) a name
    /// and `{`.
    fn at_computed_ctor(&self) -> bool {
        if !self.xquery {
            return false;
        }
        match self.peek().tok.keyword() {
            Some("element" | "attribute") => {
                self.peek_n(1).is_sym("{")
                    || (matches!(self.peek_n(1), Tok::Name(..)) && self.peek_n(2).is_sym("{"))
            }
            Some("text" | "comment" | "document") => self.peek_n(1).is_sym("{"),
            _ => false,
        }
    }

    /// `{ Expr? }` as constructor content.
    fn enclosed(&mut self) -> Result<Vec<Content>, XPathError> {
        self.expect_sym("{")?;
        if self.eat_sym("}") {
            return Ok(Vec::new());
        }
        let e = self.expr()?;
        self.expect_sym("}")?;
        Ok(vec![Content::Expr(e)])
    }

    fn computed_ctor(&mut self) -> Result<Expr, XPathError> {
        let kw = self.advance();
        let kw = kw.tok.keyword().unwrap_or_default().to_owned();
        let name = |p: &mut Self| -> Result<CtorName, XPathError> {
            let t = p.advance();
            match t.tok {
                Tok::Name(prefix, local) => {
                    Ok(CtorName::Static(Name::new(prefix, local, t.offset)))
                }
                Tok::Sym("{") => {
                    let e = p.expr()?;
                    p.expect_sym("}")?;
                    Ok(CtorName::Computed(Box::new(e), Vec::new()))
                }
                _ => {
                    p.pos -= 1;
                    Err(p.error_here("a name or '{'"))
                }
            }
        };
        let x = match kw.as_str() {
            "element" => {
                let name = name(self)?;
                let content = self.enclosed()?;
                XqExpr::Element {
                    name,
                    ns_decls: Vec::new(),
                    attrs: Vec::new(),
                    content,
                }
            }
            "attribute" => {
                let name = name(self)?;
                let value = self.enclosed()?;
                XqExpr::Attribute { name, value }
            }
            "text" => XqExpr::Text(self.enclosed()?),
            "comment" => XqExpr::Comment(self.enclosed()?),
            _ => XqExpr::Document(self.enclosed()?),
        };
        Ok(Expr::XQuery(Box::new(x)))
    }

    fn if_expr(&mut self) -> Result<Expr, XPathError> {
        self.advance();
        self.expect_sym("(")?;
        let cond = self.expr()?;
        self.expect_sym(")")?;
        self.expect_keyword("then")?;
        let then = self.expr_single()?;
        self.expect_keyword("else")?;
        let els = self.expr_single()?;
        Ok(Expr::If {
            cond: Box::new(cond),
            then: Box::new(then),
            els: Box::new(els),
        })
    }

    fn bindings(&mut self) -> Result<Vec<Binding>, XPathError> {
        let mut out = Vec::new();
        loop {
            let t = self.advance();
            let Tok::Var(prefix, local) = t.tok else {
                self.pos -= 1;
                return Err(self.error_here("a variable such as '$x'"));
            };
            self.expect_keyword("in")?;
            let seq = self.expr_single()?;
            self.bound.push(local.clone());
            out.push(Binding {
                var: Name::new(prefix, local, t.offset + 1),
                seq,
            });
            if !self.eat_sym(",") {
                return Ok(out);
            }
        }
    }

    fn for_expr(&mut self) -> Result<Expr, XPathError> {
        self.advance();
        let mark = self.bound.len();
        let bindings = self.bindings()?;
        self.expect_keyword("return")?;
        let ret = self.expr_single()?;
        self.bound.truncate(mark);
        Ok(Expr::For {
            bindings,
            ret: Box::new(ret),
        })
    }

    fn quantified(&mut self, every: bool) -> Result<Expr, XPathError> {
        self.advance();
        let mark = self.bound.len();
        let bindings = self.bindings()?;
        self.expect_keyword("satisfies")?;
        let satisfies = self.expr_single()?;
        self.bound.truncate(mark);
        Ok(Expr::Quantified {
            every,
            bindings,
            satisfies: Box::new(satisfies),
        })
    }

    fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, XPathError> {
        let mut lhs = self.and_expr()?;
        while self.at_keyword("or") {
            self.advance();
            let rhs = self.and_expr()?;
            lhs = Self::binary(BinOp::Or, lhs, rhs);
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> Result<Expr, XPathError> {
        let mut lhs = self.comparison()?;
        while self.at_keyword("and") {
            self.advance();
            let rhs = self.comparison()?;
            lhs = Self::binary(BinOp::And, lhs, rhs);
        }
        Ok(lhs)
    }

    fn comparison_op(&self) -> Option<BinOp> {
        let t = &self.peek().tok;
        let op = match t {
            Tok::Sym("=") => BinOp::Eq,
            Tok::Sym("!=") => BinOp::Ne,
            Tok::Sym("<") => BinOp::Lt,
            Tok::Sym("<=") => BinOp::Le,
            Tok::Sym(">") => BinOp::Gt,
            Tok::Sym(">=") => BinOp::Ge,
            Tok::Sym("<<") => BinOp::Precedes,
            Tok::Sym(">>") => BinOp::Follows,
            _ if self.xp2() => match t.keyword()? {
                "eq" => BinOp::ValueEq,
                "ne" => BinOp::ValueNe,
                "lt" => BinOp::ValueLt,
                "le" => BinOp::ValueLe,
                "gt" => BinOp::ValueGt,
                "ge" => BinOp::ValueGe,
                "is" => BinOp::Is,
                _ => return None,
            },
            _ => return None,
        };
        Some(op)
    }

    fn comparison(&mut self) -> Result<Expr, XPathError> {
        if self.xp2() {
            // XPath 2.0 comparisons do not associate: `a = b = c` is an error.
            let lhs = self.range()?;
            let Some(op) = self.comparison_op() else {
                return Ok(lhs);
            };
            self.advance();
            let rhs = self.range()?;
            if self.comparison_op().is_some() {
                return Err(XPathError::syntax(
                    self.peek().offset,
                    "comparisons do not chain in XPath 2.0; use parentheses",
                ));
            }
            return Ok(Self::binary(op, lhs, rhs));
        }
        // XPath 1.0: equality binds looser than relational, both left-associative.
        let mut lhs = self.relational()?;
        while let Some(op @ (BinOp::Eq | BinOp::Ne)) = self.comparison_op() {
            self.advance();
            let rhs = self.relational()?;
            lhs = Self::binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    fn relational(&mut self) -> Result<Expr, XPathError> {
        let mut lhs = self.additive()?;
        while let Some(op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)) = self.comparison_op()
        {
            self.advance();
            let rhs = self.additive()?;
            lhs = Self::binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    fn range(&mut self) -> Result<Expr, XPathError> {
        let lhs = self.additive()?;
        if self.at_keyword("to") {
            self.advance();
            let rhs = self.additive()?;
            return Ok(Self::binary(BinOp::To, lhs, rhs));
        }
        Ok(lhs)
    }

    fn additive(&mut self) -> Result<Expr, XPathError> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = if self.at_sym("+") {
                BinOp::Add
            } else if self.at_sym("-") {
                BinOp::Sub
            } else {
                return Ok(lhs);
            };
            self.advance();
            let rhs = self.multiplicative()?;
            lhs = Self::binary(op, lhs, rhs);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, XPathError> {
        let mut lhs = self.mult_operand()?;
        loop {
            let op = match (&self.peek().tok, self.peek().tok.keyword()) {
                (Tok::Star, _) => BinOp::Mul,
                (_, Some("div")) => BinOp::Div,
                (_, Some("mod")) => BinOp::Mod,
                (_, Some("idiv")) if self.xp2() => BinOp::IDiv,
                _ => return Ok(lhs),
            };
            self.advance();
            let rhs = self.mult_operand()?;
            lhs = Self::binary(op, lhs, rhs);
        }
    }

    fn mult_operand(&mut self) -> Result<Expr, XPathError> {
        if self.xp2() {
            self.union()
        } else {
            self.unary()
        }
    }

    /// XPath 1.0 `UnaryExpr`: minus binds looser than `|`. XPath 2.0: tighter than `cast`.
    fn unary(&mut self) -> Result<Expr, XPathError> {
        if self.at_sym("-") {
            self.enter()?;
            self.advance();
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        if self.xp2() && self.at_sym("+") {
            self.enter()?;
            self.advance();
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Plus(Box::new(e)));
        }
        if self.xp2() {
            self.path()
        } else {
            self.union()
        }
    }

    fn union(&mut self) -> Result<Expr, XPathError> {
        let mut lhs = self.intersect_except()?;
        loop {
            let is_union = self.at_sym("|") || (self.xp2() && self.at_keyword("union"));
            if !is_union {
                return Ok(lhs);
            }
            self.advance();
            let rhs = self.intersect_except()?;
            lhs = Self::binary(BinOp::Union, lhs, rhs);
        }
    }

    fn intersect_except(&mut self) -> Result<Expr, XPathError> {
        if !self.xp2() {
            return self.path();
        }
        let mut lhs = self.instance_of()?;
        loop {
            let op = match self.peek().tok.keyword() {
                Some("intersect") => BinOp::Intersect,
                Some("except") => BinOp::Except,
                _ => return Ok(lhs),
            };
            self.advance();
            let rhs = self.instance_of()?;
            lhs = Self::binary(op, lhs, rhs);
        }
    }

    fn keyword_pair(&self, a: &str, b: &str) -> bool {
        self.at_keyword(a) && self.peek_n(1).keyword() == Some(b)
    }

    fn instance_of(&mut self) -> Result<Expr, XPathError> {
        let e = self.treat()?;
        if self.keyword_pair("instance", "of") {
            self.pos += 2;
            let t = self.sequence_type()?;
            return Ok(Expr::InstanceOf(Box::new(e), Box::new(t)));
        }
        Ok(e)
    }

    fn treat(&mut self) -> Result<Expr, XPathError> {
        let e = self.castable()?;
        if self.keyword_pair("treat", "as") {
            self.pos += 2;
            let t = self.sequence_type()?;
            return Ok(Expr::TreatAs(Box::new(e), Box::new(t)));
        }
        Ok(e)
    }

    fn castable(&mut self) -> Result<Expr, XPathError> {
        let e = self.cast()?;
        if self.keyword_pair("castable", "as") {
            self.pos += 2;
            let (name, optional) = self.single_type()?;
            return Ok(Expr::CastableAs(Box::new(e), Box::new(name), optional));
        }
        Ok(e)
    }

    fn cast(&mut self) -> Result<Expr, XPathError> {
        let e = self.unary()?;
        if self.keyword_pair("cast", "as") {
            self.pos += 2;
            let (name, optional) = self.single_type()?;
            return Ok(Expr::CastAs(Box::new(e), Box::new(name), optional));
        }
        Ok(e)
    }

    fn qname(&mut self, what: &str) -> Result<Name, XPathError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Name(p, l) => {
                self.advance();
                Ok(Name::new(p, l, t.offset))
            }
            _ => Err(self.error_here(what)),
        }
    }

    fn single_type(&mut self) -> Result<(Name, bool), XPathError> {
        let name = self.qname("an atomic type name")?;
        Ok((name, self.eat_sym("?")))
    }

    fn sequence_type(&mut self) -> Result<SequenceType, XPathError> {
        if self.at_keyword("empty-sequence") && self.peek_n(1).is_sym("(") {
            self.pos += 2;
            self.expect_sym(")")?;
            return Ok(SequenceType::Empty);
        }
        let item = if self.at_keyword("item") && self.peek_n(1).is_sym("(") {
            self.pos += 2;
            self.expect_sym(")")?;
            ItemType::Item
        } else if let Some(k) = self.peek().tok.keyword()
            && KIND_TESTS_2.contains(&k)
            && self.peek_n(1).is_sym("(")
        {
            ItemType::Kind(self.kind_test()?)
        } else {
            ItemType::Atomic(self.qname("a sequence type")?)
        };
        let occ = match &self.peek().tok {
            Tok::Sym("?") => Occurrence::ZeroOrOne,
            Tok::Star => Occurrence::ZeroOrMore,
            Tok::Sym("+") => Occurrence::OneOrMore,
            _ => return Ok(SequenceType::Items(item, Occurrence::One)),
        };
        self.advance();
        Ok(SequenceType::Items(item, occ))
    }

    /// An element/attribute name or `*` inside an XPath 2.0 kind test.
    fn kind_name(&mut self) -> Result<Option<Name>, XPathError> {
        if self.peek().tok == Tok::Star {
            self.advance();
            return Ok(None);
        }
        self.qname("a name or '*'").map(Some)
    }

    /// A kind test; the current token is its (unprefixed) name, followed by `(`.
    fn kind_test(&mut self) -> Result<KindTest, XPathError> {
        let t = self.advance();
        let kw = t.tok.keyword().unwrap_or_default().to_owned();
        self.expect_sym("(")?;
        let k = match kw.as_str() {
            "node" => KindTest::AnyNode,
            "text" => KindTest::Text,
            "comment" => KindTest::Comment,
            "processing-instruction" => {
                let target = match self.peek().tok.clone() {
                    Tok::Literal(s) => {
                        self.advance();
                        Some(s)
                    }
                    Tok::Name(p, l) if self.xp2() && p.is_empty() => {
                        self.advance();
                        Some(l)
                    }
                    _ => None,
                };
                KindTest::Pi(target)
            }
            "document-node" => {
                if self.at_keyword("element") || self.at_keyword("schema-element") {
                    KindTest::Document(Some(Box::new(self.kind_test()?)))
                } else {
                    KindTest::Document(None)
                }
            }
            "element" | "attribute" => {
                let (mut name, mut ty) = (None, None);
                if !self.at_sym(")") {
                    name = self.kind_name()?;
                    if self.eat_sym(",") {
                        ty = Some(self.qname("a type name")?);
                        // `element(n, t?)`: nillable marker.
                        self.eat_sym("?");
                    }
                }
                if kw == "element" {
                    KindTest::Element(name, ty)
                } else {
                    KindTest::Attribute(name, ty)
                }
            }
            "schema-element" => KindTest::SchemaElement(self.qname("an element name")?),
            "schema-attribute" => KindTest::SchemaAttribute(self.qname("an attribute name")?),
            _ => {
                return Err(XPathError::syntax(
                    t.offset,
                    format!("unknown kind test '{kw}'"),
                ));
            }
        };
        self.expect_sym(")")?;
        Ok(k)
    }

    /// Can the current token begin a relative location path (a step)?
    fn at_step_start(&self) -> bool {
        match &self.peek().tok {
            Tok::Name(..) | Tok::Star | Tok::NsWild(_) | Tok::LocalWild(_) => true,
            Tok::Sym("@" | "." | "..") => true,
            Tok::Var(..) | Tok::Literal(_) | Tok::Number(_) | Tok::Sym("(") => self.xp2(),
            _ => false,
        }
    }

    fn is_kind_test_name(&self) -> bool {
        let list = if self.xp2() {
            KIND_TESTS_2
        } else {
            KIND_TESTS_1
        };
        matches!(self.peek().tok.keyword(), Some(k) if list.contains(&k))
            && self.peek_n(1).is_sym("(")
    }

    /// `PathExpr` (XPath 1.0) / `PathExpr` (XPath 2.0).
    fn path(&mut self) -> Result<Expr, XPathError> {
        if self.eat_sym("/") {
            let mut steps = Vec::new();
            if self.at_step_start() {
                steps.push(self.step()?);
                self.rest_of_path(&mut steps)?;
            }
            return Ok(Expr::Path {
                start: PathStart::Root,
                steps,
            });
        }
        if self.eat_sym("//") {
            let mut steps = vec![Step::descendant_or_self(), self.step()?];
            self.rest_of_path(&mut steps)?;
            return Ok(Expr::Path {
                start: PathStart::Root,
                steps,
            });
        }
        if self.starts_primary() {
            let e = self.filter_expr()?;
            if self.at_sym("/") || self.at_sym("//") {
                let mut steps = Vec::new();
                self.rest_of_path(&mut steps)?;
                return Ok(Expr::Path {
                    start: PathStart::Expr(Box::new(e)),
                    steps,
                });
            }
            return Ok(e);
        }
        if !self.at_step_start() {
            return Err(self.error_here("an expression"));
        }
        let mut steps = vec![self.step()?];
        self.rest_of_path(&mut steps)?;
        Ok(Expr::Path {
            start: PathStart::Context,
            steps,
        })
    }

    /// True when the current token starts a primary expression rather than a step.
    fn starts_primary(&self) -> bool {
        match &self.peek().tok {
            Tok::Var(..) | Tok::Literal(_) | Tok::Number(_) | Tok::Sym("(") => true,
            Tok::Ctor(_) => true,
            Tok::Name(..) if self.at_computed_ctor() => true,
            // XPath 2.0: a lone `.` is the context item (it may be an atomic value).
            Tok::Sym(".") => {
                self.xp2() && !(self.peek_n(1).is_sym("/") || self.peek_n(1).is_sym("//"))
            }
            Tok::Name(..) => {
                self.peek_n(1).is_sym("(") && !self.is_kind_test_name() && !self.reserved_call()
            }
            _ => false,
        }
    }

    /// XPath 2.0 names that cannot be function names, so `item()` etc. are never calls.
    fn reserved_call(&self) -> bool {
        self.xp2()
            && matches!(
                self.peek().tok.keyword(),
                Some(
                    "if" | "typeswitch"
                        | "item"
                        | "empty-sequence"
                        | "document-node"
                        | "element"
                        | "attribute"
                        | "schema-element"
                        | "schema-attribute"
                )
            )
    }

    fn rest_of_path(&mut self, steps: &mut Vec<Step>) -> Result<(), XPathError> {
        loop {
            if self.eat_sym("/") {
                steps.push(self.step()?);
            } else if self.eat_sym("//") {
                steps.push(Step::descendant_or_self());
                steps.push(self.step()?);
            } else {
                return Ok(());
            }
        }
    }

    fn predicates(&mut self) -> Result<Vec<Expr>, XPathError> {
        let mut preds = Vec::new();
        while self.eat_sym("[") {
            preds.push(self.expr()?);
            self.expect_sym("]")?;
        }
        Ok(preds)
    }

    fn step(&mut self) -> Result<Step, XPathError> {
        if self.at_sym(".") || self.at_sym("..") {
            let axis = if self.at_sym(".") {
                Axis::SelfAxis
            } else {
                Axis::Parent
            };
            self.advance();
            let predicates = if self.xp2() {
                self.predicates()?
            } else {
                Vec::new()
            };
            return Ok(Step::Axis {
                axis,
                test: NodeTest::Kind(KindTest::AnyNode),
                predicates,
            });
        }
        if self.xp2() && self.starts_primary() {
            return Ok(Step::Filter(Box::new(self.filter_expr()?)));
        }
        let axis = if self.eat_sym("@") {
            Axis::Attribute
        } else if self.peek_n(1).is_sym("::") {
            let t = self.peek().clone();
            let axis = match t.tok.keyword() {
                Some(name) => Axis::from_name(name).ok_or_else(|| {
                    XPathError::syntax(t.offset, format!("unknown axis '{name}'"))
                })?,
                None => return Err(self.error_here("an axis name")),
            };
            self.pos += 2;
            axis
        } else {
            Axis::Child
        };
        let test = self.node_test()?;
        let predicates = self.predicates()?;
        Ok(Step::Axis {
            axis,
            test,
            predicates,
        })
    }

    fn node_test(&mut self) -> Result<NodeTest, XPathError> {
        if self.is_kind_test_name() {
            return Ok(NodeTest::Kind(self.kind_test()?));
        }
        let t = self.peek().clone();
        let test = match &t.tok {
            Tok::Star => NodeTest::Any,
            Tok::NsWild(p) => NodeTest::Namespace(Name::new(p.clone(), "", t.offset)),
            Tok::LocalWild(l) => NodeTest::LocalName(l.clone()),
            Tok::Name(p, l) => {
                if self.peek_n(1).is_sym("(") {
                    // A function call where a step is required (XPath 1.0 `a/f()`).
                    return Err(XPathError::syntax(
                        t.offset,
                        format!(
                            "a function call cannot be a step of a location path: {}",
                            t.tok.describe()
                        ),
                    ));
                }
                NodeTest::Name(Name::new(p.clone(), l.clone(), t.offset))
            }
            _ => return Err(self.error_here("a node test")),
        };
        self.advance();
        Ok(test)
    }

    fn filter_expr(&mut self) -> Result<Expr, XPathError> {
        let primary = self.primary()?;
        let predicates = self.predicates()?;
        if predicates.is_empty() {
            Ok(primary)
        } else {
            Ok(Expr::Filter {
                primary: Box::new(primary),
                predicates,
            })
        }
    }

    fn var_ref(&self, prefix: String, local: String, offset: usize) -> VarRef {
        // BPEL variable names cannot contain '.', so `$msg.part` names part `part` of `msg`
        // (WS-BPEL 2.0 section 8.2.2) — unless an XPath 2.0 binding declared the full name.
        if !self.bound.contains(&local)
            && let Some((var, part)) = local.split_once('.')
        {
            let part = (!part.is_empty()).then(|| part.to_owned());
            return VarRef {
                name: Name::new(prefix, var, offset + 1),
                part,
            };
        }
        VarRef {
            name: Name::new(prefix, local, offset + 1),
            part: None,
        }
    }

    fn primary(&mut self) -> Result<Expr, XPathError> {
        let t = self.advance();
        if self.xquery && matches!(t.tok, Tok::Name(..)) {
            self.pos -= 1;
            if self.at_computed_ctor() {
                return self.computed_ctor();
            }
            self.advance();
        }
        match t.tok {
            Tok::Ctor(x) => Ok(Expr::XQuery(x)),
            Tok::Var(p, l) => Ok(Expr::Var(self.var_ref(p, l, t.offset))),
            Tok::Literal(s) => Ok(Expr::Literal(s)),
            Tok::Number(n) => Ok(Expr::Number(n)),
            Tok::Sym(".") => Ok(Expr::ContextItem),
            Tok::Sym("(") => {
                if self.xp2() && self.eat_sym(")") {
                    return Ok(Expr::Sequence(Vec::new()));
                }
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Name(p, l) => {
                let name = Name::new(p, l, t.offset);
                self.expect_sym("(")?;
                let mut args = Vec::new();
                if !self.eat_sym(")") {
                    loop {
                        args.push(self.expr_single()?);
                        if self.eat_sym(")") {
                            break;
                        }
                        if !self.at_sym(",") {
                            return Err(self.error_here("',' or ')'"));
                        }
                        self.advance();
                    }
                }
                Ok(Expr::Call { name, args })
            }
            _ => {
                self.pos -= 1;
                Err(self.error_here("an expression"))
            }
        }
    }
}

/// Where an XPath 1.0 expression has a string literal that never closes, the byte offset of its
/// opening quote. Apache ODE's XPath 1.0 engine (Jaxen) silently drops such a literal (its
/// lexer runs out of input and ends the token stream), so ODE processes with a stray quote at
/// the end of an expression run; `ode-compat` reproduces that
/// (docs/decisions/002-static-analysis-spec-first.md).
pub fn unterminated_literal(text: &str) -> Option<usize> {
    let mut open: Option<(usize, char)> = None;
    for (i, c) in text.char_indices() {
        match open {
            Some((_, q)) if c == q => open = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => open = Some((i, c)),
            None => {}
        }
    }
    open.map(|(i, _)| i)
}

#[cfg(test)]
mod unterminated_tests {
    use super::unterminated_literal;

    #[test]
    fn finds_only_a_literal_that_never_closes() {
        assert_eq!(unterminated_literal("concat($a,' World')\""), Some(19));
        assert_eq!(unterminated_literal("concat($a, \"it's\")"), None);
        assert_eq!(unterminated_literal("'a' = \"b\""), None);
        assert_eq!(unterminated_literal("'abc"), Some(0));
        assert_eq!(unterminated_literal("$x + 1"), None);
    }
}
