//! The SCIM-like `filter`/`search` expression subset Okta accepts (API.md §2.2): parsing,
//! per-endpoint validation and evaluation against a record.
//!
//! Grammar: `expr := term ("or" term)*`, `term := factor ("and" factor)*`,
//! `factor := "not" factor | "(" expr ")" | attr op value | attr "pr"`; values are double-quoted
//! strings, numbers, `true`, `false` or `null`. Operators are case-insensitive, attribute names
//! are not. Dates must be quoted; an unquoted timestamp is a syntax error, as in Okta.

use std::fmt;

use crate::clock;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `sw` (starts with)
    Sw,
    /// `co` (contains)
    Co,
    /// `ew` (ends with)
    Ew,
    /// `pr` (present)
    Pr,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "sw" => Op::Sw,
            "co" => Op::Co,
            "ew" => Op::Ew,
            "pr" => Op::Pr,
            _ => return None,
        })
    }

    /// Whether this is one of the ordering operators (`gt ge lt le`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

/// A literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A double-quoted string.
    Str(String),
    /// A number.
    Num(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null`, or no value (`pr`).
    Null,
}

/// One `attr op value` comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Cmp {
    /// Attribute path, e.g. `profile.login`.
    pub attr: String,
    /// Operator.
    pub op: Op,
    /// Value (`Null` for `pr`).
    pub value: Literal,
    /// The value as epoch milliseconds, set by [`Expr::validate`] for date attributes.
    pub time: Option<i64>,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A comparison.
    Cmp(Cmp),
    /// Both sides.
    And(Box<Expr>, Box<Expr>),
    /// Either side.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// Syntax error or an attribute/operator the endpoint doesn't support (Okta `E0000031`).
    Invalid(String),
    /// A quoted value of a date attribute that isn't a date (Okta `E0000030`).
    BadDate(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Invalid(m) | FilterError::BadDate(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for FilterError {}

/// The type of an attribute, as the endpoint declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    /// A string compared case-insensitively for `eq`/`sw`/`co`/`ew`, lexicographically for ordering.
    Str,
    /// A date-time; values must be quoted ISO 8601 strings.
    Time,
    /// A number.
    Num,
    /// A boolean.
    Bool,
    /// A list of strings: a comparison holds if it holds for any element.
    StrList,
}

/// The value of an attribute of a record, for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// The record has no such attribute (or it is null).
    Missing,
    /// A string.
    Str(&'a str),
    /// A date-time in epoch milliseconds.
    Time(i64),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// Several strings (array attributes, every `target.id` of an event).
    Strs(Vec<&'a str>),
}

/// A record an expression can be evaluated against.
pub trait Subject {
    /// The value of attribute `attr` (a dotted path such as `profile.email`).
    fn value(&self, attr: &str) -> Val<'_>;
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Str(String),
    Word(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                out.push(Tok::RParen);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, e)) => v.push(e),
                            None => break,
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                if !closed {
                    return Err(FilterError::Invalid(format!(
                        "Unterminated string starting at position {i}"
                    )));
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let start = i;
                let mut end = s.len();
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Tok::Word(s[start..end].to_string()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.factor()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.factor()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, FilterError> {
        let tok = self.toks.get(self.pos).cloned();
        match tok {
            None => Err(FilterError::Invalid("Unexpected end of expression".into())),
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                match self.toks.get(self.pos) {
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err(FilterError::Invalid("Missing closing parenthesis".into())),
                }
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.factor()?)))
            }
            Some(Tok::Word(attr)) => {
                if !attr
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$' | ':'))
                    || !attr.starts_with(|c: char| c.is_ascii_alphabetic())
                {
                    return Err(FilterError::Invalid(format!(
                        "Invalid attribute name '{attr}'"
                    )));
                }
                self.pos += 1;
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(w)) => Op::parse(w)
                        .ok_or_else(|| FilterError::Invalid(format!("Invalid operator '{w}'")))?,
                    _ => {
                        return Err(FilterError::Invalid(format!(
                            "Missing operator after '{attr}'"
                        )))
                    }
                };
                self.pos += 1;
                if op == Op::Pr {
                    return Ok(Expr::Cmp(Cmp {
                        attr,
                        op,
                        value: Literal::Null,
                        time: None,
                    }));
                }
                let value = match self.toks.get(self.pos) {
                    Some(Tok::Str(s)) => Literal::Str(s.clone()),
                    Some(Tok::Word(w)) => {
                        if w == "true" {
                            Literal::Bool(true)
                        } else if w == "false" {
                            Literal::Bool(false)
                        } else if w == "null" {
                            Literal::Null
                        } else if let Ok(n) = w.parse::<f64>() {
                            Literal::Num(n)
                        } else {
                            return Err(FilterError::Invalid(format!(
                                "Invalid value '{w}' for '{attr}': strings and dates must be quoted"
                            )));
                        }
                    }
                    _ => {
                        return Err(FilterError::Invalid(format!(
                            "Missing value after '{attr}'"
                        )))
                    }
                };
                self.pos += 1;
                Ok(Expr::Cmp(Cmp {
                    attr,
                    op,
                    value,
                    time: None,
                }))
            }
            Some(t) => Err(FilterError::Invalid(format!("Unexpected token {t:?}"))),
        }
    }
}

/// Parse an expression (syntax only; see [`Expr::validate`]).
pub fn parse(s: &str) -> Result<Expr, FilterError> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(FilterError::Invalid("Empty expression".into()));
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(FilterError::Invalid(format!(
            "Unexpected token {:?}",
            p.toks[p.pos]
        )));
    }
    Ok(e)
}

impl Expr {
    /// Check every comparison against the endpoint's rules and pre-parse date values.
    ///
    /// `rules(attr, op)` returns the attribute's kind when the endpoint accepts that attribute
    /// with that operator, or a message for the `E0000031` error.
    pub fn validate(
        &mut self,
        rules: &dyn Fn(&str, Op) -> Result<AttrKind, String>,
    ) -> Result<(), FilterError> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.validate(rules)?;
                b.validate(rules)
            }
            Expr::Not(a) => a.validate(rules),
            Expr::Cmp(c) => {
                let kind = rules(&c.attr, c.op).map_err(FilterError::Invalid)?;
                match (kind, &c.value) {
                    (_, Literal::Null) => Ok(()),
                    (AttrKind::Time, Literal::Str(s)) => match clock::parse_iso(s) {
                        Some(t) => {
                            c.time = Some(t);
                            Ok(())
                        }
                        None => Err(FilterError::BadDate(format!(
                            "Invalid date '{s}' for '{}'",
                            c.attr
                        ))),
                    },
                    (AttrKind::Time, _) => Err(FilterError::Invalid(format!(
                        "The value of '{}' must be a quoted date",
                        c.attr
                    ))),
                    (AttrKind::Str | AttrKind::StrList, Literal::Str(_))
                    | (AttrKind::Num, Literal::Num(_))
                    | (AttrKind::Bool, Literal::Bool(_)) => Ok(()),
                    (_, _) => Err(FilterError::Invalid(format!(
                        "Invalid value type for '{}'",
                        c.attr
                    ))),
                }
            }
        }
    }

    /// Evaluate against a record.
    pub fn matches(&self, s: &dyn Subject) -> bool {
        match self {
            Expr::And(a, b) => a.matches(s) && b.matches(s),
            Expr::Or(a, b) => a.matches(s) || b.matches(s),
            Expr::Not(a) => !a.matches(s),
            Expr::Cmp(c) => c.matches(&s.value(&c.attr)),
        }
    }

    /// Inclusive bounds on date attribute `attr` implied by the top-level `and` chain, used to
    /// start an index scan late or stop it early. `None` means unbounded on that side.
    pub fn time_bounds(&self, attr: &str) -> (Option<i64>, Option<i64>) {
        match self {
            Expr::And(a, b) => {
                let (al, ah) = a.time_bounds(attr);
                let (bl, bh) = b.time_bounds(attr);
                (max_opt(al, bl), min_opt(ah, bh))
            }
            Expr::Cmp(c) if c.attr == attr => match (c.op, c.time) {
                (Op::Gt, Some(t)) => (Some(t.saturating_add(1)), None),
                (Op::Ge, Some(t)) => (Some(t), None),
                (Op::Lt, Some(t)) => (None, Some(t.saturating_sub(1))),
                (Op::Le, Some(t)) => (None, Some(t)),
                (Op::Eq, Some(t)) => (Some(t), Some(t)),
                _ => (None, None),
            },
            _ => (None, None),
        }
    }

    /// Whether attribute `attr` appears anywhere in the expression.
    pub fn mentions(&self, attr: &str) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.mentions(attr) || b.mentions(attr),
            Expr::Not(a) => a.mentions(attr),
            Expr::Cmp(c) => c.attr == attr,
        }
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

fn ci_starts_with(h: &str, n: &str) -> bool {
    h.len() >= n.len() && h.as_bytes()[..n.len()].eq_ignore_ascii_case(n.as_bytes())
}

fn ci_ends_with(h: &str, n: &str) -> bool {
    h.len() >= n.len() && h.as_bytes()[h.len() - n.len()..].eq_ignore_ascii_case(n.as_bytes())
}

fn ci_contains(h: &str, n: &str) -> bool {
    h.to_ascii_lowercase().contains(&n.to_ascii_lowercase())
}

impl Cmp {
    fn matches(&self, v: &Val<'_>) -> bool {
        if self.op == Op::Pr {
            return !matches!(v, Val::Missing);
        }
        if self.value == Literal::Null {
            let is_null = matches!(v, Val::Missing);
            return match self.op {
                Op::Eq => is_null,
                Op::Ne => !is_null,
                _ => false,
            };
        }
        match v {
            Val::Missing => self.op == Op::Ne,
            Val::Str(s) => self.str_matches(s),
            Val::Strs(list) => {
                if self.op == Op::Ne {
                    list.iter().all(|s| self.str_matches(s))
                } else {
                    list.iter().any(|s| self.str_matches(s))
                }
            }
            Val::Time(t) => match self.time {
                Some(x) => ord_matches(self.op, t.cmp(&x)),
                None => false,
            },
            Val::Num(n) => match self.value {
                Literal::Num(x) => match n.partial_cmp(&x) {
                    Some(o) => ord_matches(self.op, o),
                    None => false,
                },
                _ => false,
            },
            Val::Bool(b) => match self.value {
                Literal::Bool(x) => match self.op {
                    Op::Eq => *b == x,
                    Op::Ne => *b != x,
                    _ => false,
                },
                _ => false,
            },
        }
    }

    fn str_matches(&self, s: &str) -> bool {
        let Literal::Str(x) = &self.value else {
            return false;
        };
        match self.op {
            Op::Eq => s.eq_ignore_ascii_case(x),
            Op::Ne => !s.eq_ignore_ascii_case(x),
            Op::Sw => ci_starts_with(s, x),
            Op::Ew => ci_ends_with(s, x),
            Op::Co => ci_contains(s, x),
            Op::Gt | Op::Ge | Op::Lt | Op::Le => ord_matches(self.op, s.cmp(x.as_str())),
            Op::Pr => true,
        }
    }
}

fn ord_matches(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Sw | Op::Co | Op::Ew | Op::Pr => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rec {
        status: &'static str,
        updated: i64,
        tags: Vec<&'static str>,
        level: f64,
        admin: bool,
    }

    impl Subject for Rec {
        fn value(&self, attr: &str) -> Val<'_> {
            match attr {
                "status" => Val::Str(self.status),
                "lastUpdated" => Val::Time(self.updated),
                "profile.tags" => Val::Strs(self.tags.clone()),
                "profile.level" => Val::Num(self.level),
                "profile.admin" => Val::Bool(self.admin),
                _ => Val::Missing,
            }
        }
    }

    fn rules(attr: &str, op: Op) -> Result<AttrKind, String> {
        let kind = match attr {
            "status" => AttrKind::Str,
            "lastUpdated" => AttrKind::Time,
            "profile.tags" => AttrKind::StrList,
            "profile.level" => AttrKind::Num,
            "profile.admin" => AttrKind::Bool,
            "profile.missing" => AttrKind::Str,
            _ => return Err(format!("unsupported attribute {attr}")),
        };
        if op == Op::Ne {
            return Err("ne is not supported".into());
        }
        Ok(kind)
    }

    fn check(s: &str) -> Result<Expr, FilterError> {
        let mut e = parse(s)?;
        e.validate(&rules)?;
        Ok(e)
    }

    fn rec() -> Rec {
        Rec {
            status: "ACTIVE",
            updated: clock::parse_iso("2024-03-01T10:00:00.000Z").unwrap_or_default(),
            tags: vec!["rust", "go"],
            level: 3.0,
            admin: true,
        }
    }

    #[test]
    fn parses_and_evaluates() {
        let r = rec();
        let t = |s: &str| check(s).map(|e| e.matches(&r));
        assert_eq!(t(r#"status eq "ACTIVE""#), Ok(true));
        assert_eq!(t(r#"status EQ "active""#), Ok(true));
        assert_eq!(t(r#"lastUpdated gt "2024-03-01T09:59:59.999Z""#), Ok(true));
        assert_eq!(t(r#"lastUpdated gt "2024-03-01T10:00:00.000Z""#), Ok(false));
        assert_eq!(t(r#"lastUpdated ge "2024-03-01T10:00:00Z""#), Ok(true));
        assert_eq!(t(r#"lastUpdated lt "2025-01-01T00:00:00.000Z""#), Ok(true));
        assert_eq!(
            t(r#"lastUpdated gt "2020-01-01T00:00:00.000Z" and status eq "STAGED""#),
            Ok(false)
        );
        assert_eq!(
            t(r#"status eq "STAGED" or (lastUpdated gt "2020-01-01T00:00:00.000Z")"#),
            Ok(true)
        );
        assert_eq!(t(r#"not (status eq "ACTIVE")"#), Ok(false));
        assert_eq!(t(r#"(status lt "STAGED" or status gt "STAGED")"#), Ok(true));
        assert_eq!(t(r#"profile.tags eq "go""#), Ok(true));
        assert_eq!(t(r#"profile.level ge 3"#), Ok(true));
        assert_eq!(t(r#"profile.admin eq true"#), Ok(true));
        assert_eq!(t(r#"status sw "AC""#), Ok(true));
        assert_eq!(t(r#"profile.missing pr"#), Ok(false));
        assert_eq!(t(r#"status pr"#), Ok(true));
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let r = rec();
        // true or (false and false) = true
        let e = check(r#"status eq "ACTIVE" or status eq "X" and status eq "Y""#);
        assert_eq!(e.map(|e| e.matches(&r)), Ok(true));
    }

    #[test]
    fn rejects_bad_expressions() {
        let invalid = |s: &str| matches!(check(s), Err(FilterError::Invalid(_)));
        assert!(invalid(r#"lastUpdated gt 2024-01-01T00:00:00.000Z"#));
        assert!(invalid(r#"lastUpdated gt"#));
        assert!(invalid(r#"status eq "ACTIVE" and"#));
        assert!(invalid(r#"(status eq "ACTIVE""#));
        assert!(invalid(r#"status equals "ACTIVE""#));
        assert!(invalid(r#"status ne "ACTIVE""#));
        assert!(invalid(r#"nickName eq "x""#));
        assert!(invalid(r#"status eq "ACTIVE"#));
        assert!(invalid(""));
        assert!(invalid(r#"status eq "a" status eq "b""#));
        assert!(matches!(
            check(r#"lastUpdated gt "yesterday""#),
            Err(FilterError::BadDate(_))
        ));
    }

    #[test]
    fn bounds_from_and_chain() {
        let e = check(
            r#"lastUpdated gt "2024-01-01T00:00:00.000Z" and lastUpdated le "2024-02-01T00:00:00.000Z""#,
        )
        .ok();
        let lo = clock::parse_iso("2024-01-01T00:00:00.000Z");
        let hi = clock::parse_iso("2024-02-01T00:00:00.000Z");
        assert_eq!(
            e.map(|e| e.time_bounds("lastUpdated")),
            Some((lo.map(|x| x + 1), hi))
        );
        let e = check(r#"lastUpdated gt "2024-01-01T00:00:00.000Z" or status eq "X""#).ok();
        assert_eq!(e.map(|e| e.time_bounds("lastUpdated")), Some((None, None)));
    }
}
