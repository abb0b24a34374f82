//! A SOQL subset: tokenizer, recursive-descent parser, planner (names resolved against the
//! org's schema, literal types checked), evaluator and renderer (records exactly as the REST
//! API returns them).
//!
//! Supported: `SELECT` field lists with parent paths (`Account.Name`,
//! `Assignee.Profile.Name`), child subqueries `(SELECT … FROM OpportunityLineItems …)`,
//! `COUNT()`, `FROM`, `WHERE` with `AND`/`OR`/`NOT`/parentheses (mixing AND and OR without
//! parentheses is refused, as Salesforce does), `= != <> < <= > >= LIKE IN NOT IN`, semi- and
//! anti-joins (`Id IN (SELECT OpportunityId FROM OpportunityLineItem WHERE …)`), string /
//! number / `true` / `false` / `null` / date / date-time literals, `ORDER BY` (ASC/DESC,
//! NULLS FIRST/LAST, several keys), `LIMIT`, `OFFSET`. Anything else is `MALFORMED_QUERY`.

use crate::org::{parse_date, parse_datetime, Org, Record};
use crate::out::J;
use crate::schema::{ChildRel, FType, FieldDef, ObjectDef};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

fn malformed(msg: impl Into<String>) -> SoqlError {
    SoqlError {
        code: "MALFORMED_QUERY",
        message: msg.into(),
    }
}

fn invalid_field(msg: impl Into<String>) -> SoqlError {
    SoqlError {
        code: "INVALID_FIELD",
        message: msg.into(),
    }
}

// ------------------------------------------------------------------ tokens

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Sym(&'static str),
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(n) => n.to_string(),
            Tok::Date(d) => d.to_string(),
            Tok::DateTime(t) => t.to_rfc3339(),
            Tok::Sym(s) => (*s).to_owned(),
        }
    }
}

pub fn tokenize(src: &str) -> Result<Vec<Tok>, SoqlError> {
    let c: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        if ch.is_ascii_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_' || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
            continue;
        }
        if ch == '\'' {
            i += 1;
            let mut s = String::new();
            loop {
                match c.get(i) {
                    None => return Err(malformed("unterminated string literal")),
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let e = c
                            .get(i + 1)
                            .copied()
                            .ok_or_else(|| malformed("bad escape"))?;
                        match e {
                            'n' => s.push('\n'),
                            'r' => s.push('\r'),
                            't' => s.push('\t'),
                            'b' => s.push('\u{8}'),
                            'f' => s.push('\u{c}'),
                            '\'' | '"' => s.push(e),
                            '\\' => s.push_str("\\\\"),
                            // kept escaped: LIKE treats them as literal characters
                            '%' | '_' => {
                                s.push('\\');
                                s.push(e);
                            }
                            other => {
                                return Err(malformed(format!(
                                    "Invalid string literal: illegal escape sequence \\{other}"
                                )))
                            }
                        }
                        i += 2;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
            continue;
        }
        let is_date_start = |j: usize| {
            j + 4 < c.len() && c[j..j + 4].iter().all(char::is_ascii_digit) && c[j + 4] == '-'
        };
        if ch.is_ascii_digit() && is_date_start(i) {
            let start = i;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '-') {
                i += 1;
            }
            if c.get(i) == Some(&'T') {
                i += 1;
                while i < c.len()
                    && (c[i].is_ascii_digit() || matches!(c[i], ':' | '.' | 'Z' | '+' | '-'))
                {
                    i += 1;
                }
                let s: String = c[start..i].iter().collect();
                // SOQL date-times end in `Z` or `±hh:mm` (the colon is required)
                let zone_ok = s.ends_with('Z') || {
                    let b = s.as_bytes();
                    b.len() > 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':'
                };
                let t = parse_datetime(&s).filter(|_| zone_ok).ok_or_else(|| {
                    malformed(format!(
                        "line 1:{start} no viable alternative at character: invalid date-time literal {s} (use YYYY-MM-DDThh:mm:ssZ or ±hh:mm)"
                    ))
                })?;
                out.push(Tok::DateTime(t));
            } else {
                let s: String = c[start..i].iter().collect();
                let d =
                    parse_date(&s).ok_or_else(|| malformed(format!("invalid date literal {s}")))?;
                out.push(Tok::Date(d));
            }
            continue;
        }
        if ch.is_ascii_digit()
            || (matches!(ch, '-' | '+') && c.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            let s: String = c[start..i].iter().collect();
            let n = s
                .parse::<f64>()
                .map_err(|_| malformed(format!("invalid number {s}")))?;
            out.push(Tok::Num(n));
            continue;
        }
        let two: String = c[i..(i + 2).min(c.len())].iter().collect();
        let sym: &'static str = match two.as_str() {
            "!=" => "!=",
            "<>" => "!=",
            "<=" => "<=",
            ">=" => ">=",
            _ => match ch {
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '=' => "=",
                '<' => "<",
                '>' => ">",
                _ => {
                    return Err(malformed(format!(
                        "line 1:{i} no viable alternative at character '{ch}'"
                    )))
                }
            },
        };
        i += if matches!(two.as_str(), "!=" | "<>" | "<=" | ">=") {
            2
        } else {
            1
        };
        out.push(Tok::Sym(sym));
    }
    Ok(out)
}

// ------------------------------------------------------------------ syntax tree

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        path: String,
        op: Op,
        lit: Lit,
    },
    In {
        path: String,
        negated: bool,
        lits: Vec<Lit>,
    },
    /// Semi-join / anti-join: `Id IN (SELECT AccountId FROM Opportunity WHERE …)`.
    InQuery {
        path: String,
        negated: bool,
        query: Box<Query>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub path: String,
    pub desc: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Field(String),
    Sub(Box<Query>),
    Count,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<Item>,
    pub from: String,
    pub filter: Option<Cond>,
    pub order: Vec<OrderBy>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "ASC", "DESC", "NULLS", "FIRST", "LAST", "GROUP", "HAVING", "WITH", "FOR", "USING", "TYPEOF",
    "INCLUDES", "EXCLUDES", "TRUE", "FALSE", "NULL",
];

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn unexpected(&self) -> SoqlError {
        match self.peek() {
            Some(t) => malformed(format!("unexpected token: '{}'", t.show())),
            None => malformed("unexpected token: <EOF>"),
        }
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn is_kw_at(&self, off: usize, kw: &str) -> bool {
        matches!(self.toks.get(self.pos + off), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str) -> Result<(), SoqlError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn name(&mut self) -> Result<String, SoqlError> {
        match self.peek() {
            Some(Tok::Ident(s))
                if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
                    && !s.ends_with('.')
                    && !s.starts_with('.')
                    && !s.contains("..") =>
            {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("SELECT")?;
        let mut select = Vec::new();
        loop {
            if self.eat_sym("(") {
                let sub = self.query()?;
                self.expect_sym(")")?;
                select.push(Item::Sub(Box::new(sub)));
            } else if self.is_kw("COUNT")
                && matches!(self.toks.get(self.pos + 1), Some(Tok::Sym("(")))
            {
                self.pos += 2;
                if !self.eat_sym(")") {
                    return Err(malformed(
                        "sim-salesforce supports only COUNT() (no aggregate functions)",
                    ));
                }
                select.push(Item::Count);
            } else {
                let n = self.name()?;
                if self.is_sym("(") {
                    return Err(malformed(format!(
                        "sim-salesforce does not support the function {n}()"
                    )));
                }
                select.push(Item::Field(n));
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_kw("FROM")?;
        let from = self.name()?;
        let filter = if self.eat_kw("WHERE") {
            Some(self.cond()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let path = self.name()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                let mut nulls_last = desc;
                if self.eat_kw("NULLS") {
                    if self.eat_kw("LAST") {
                        nulls_last = true;
                    } else {
                        self.expect_kw("FIRST")?;
                        nulls_last = false;
                    }
                }
                order.push(OrderBy {
                    path,
                    desc,
                    nulls_last,
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let mut limit = None;
        if self.eat_kw("LIMIT") {
            limit = Some(self.count_lit("LIMIT")?);
        }
        let mut offset = None;
        if self.eat_kw("OFFSET") {
            offset = Some(self.count_lit("OFFSET")?);
        }
        Ok(Query {
            select,
            from,
            filter,
            order,
            limit,
            offset,
        })
    }

    fn count_lit(&mut self, what: &str) -> Result<usize, SoqlError> {
        match self.peek() {
            Some(Tok::Num(n)) if *n >= 0.0 && n.fract() == 0.0 => {
                let n = *n as usize;
                self.pos += 1;
                Ok(n)
            }
            _ => Err(malformed(format!(
                "{what} must be a non-negative integer; {}",
                self.unexpected().message
            ))),
        }
    }

    fn cond(&mut self) -> Result<Cond, SoqlError> {
        let first = self.unary()?;
        let mut parts = vec![first];
        let mut joiner: Option<&'static str> = None;
        loop {
            let j = if self.is_kw("AND") {
                "AND"
            } else if self.is_kw("OR") {
                "OR"
            } else {
                break;
            };
            if joiner.is_some_and(|x| x != j) {
                return Err(malformed(
                    "unexpected token: mixing AND and OR needs parentheses",
                ));
            }
            joiner = Some(j);
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(match joiner {
            None => parts.remove(0),
            Some("AND") => Cond::And(parts),
            Some(_) => Cond::Or(parts),
        })
    }

    fn unary(&mut self) -> Result<Cond, SoqlError> {
        if self.eat_kw("NOT") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.eat_sym("(") {
            let c = self.cond()?;
            self.expect_sym(")")?;
            return Ok(c);
        }
        let path = self.name()?;
        if self.is_kw("NOT") && self.is_kw_at(1, "IN") {
            self.pos += 2;
            return self.in_rhs(path, true);
        }
        if self.eat_kw("IN") {
            return self.in_rhs(path, false);
        }
        let op = if self.eat_kw("LIKE") {
            Op::Like
        } else {
            let op = match self.peek() {
                Some(Tok::Sym("=")) => Op::Eq,
                Some(Tok::Sym("!=")) => Op::Ne,
                Some(Tok::Sym("<")) => Op::Lt,
                Some(Tok::Sym("<=")) => Op::Le,
                Some(Tok::Sym(">")) => Op::Gt,
                Some(Tok::Sym(">=")) => Op::Ge,
                _ => return Err(self.unexpected()),
            };
            self.pos += 1;
            op
        };
        let lit = self.lit()?;
        Ok(Cond::Cmp { path, op, lit })
    }

    /// `( literal, … )` or a semi-join `( SELECT field FROM … )`.
    fn in_rhs(&mut self, path: String, negated: bool) -> Result<Cond, SoqlError> {
        if self.is_sym("(") && self.is_kw_at(1, "SELECT") {
            self.pos += 1;
            let query = self.query()?;
            self.expect_sym(")")?;
            return Ok(Cond::InQuery {
                path,
                negated,
                query: Box::new(query),
            });
        }
        Ok(Cond::In {
            path,
            negated,
            lits: self.lit_list()?,
        })
    }

    fn lit_list(&mut self) -> Result<Vec<Lit>, SoqlError> {
        self.expect_sym("(")?;
        let mut out = vec![self.lit()?];
        while self.eat_sym(",") {
            out.push(self.lit()?);
        }
        self.expect_sym(")")?;
        Ok(out)
    }

    fn lit(&mut self) -> Result<Lit, SoqlError> {
        let l = match self.peek() {
            Some(Tok::Str(s)) => Lit::Str(s.clone()),
            Some(Tok::Num(n)) => Lit::Num(*n),
            Some(Tok::Date(d)) => Lit::Date(*d),
            Some(Tok::DateTime(t)) => Lit::DateTime(*t),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("null") => Lit::Null,
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        Ok(l)
    }
}

pub fn parse(src: &str) -> Result<Query, SoqlError> {
    let mut p = Parser {
        toks: tokenize(src)?,
        pos: 0,
    };
    let q = p.query()?;
    if p.peek().is_some() {
        return Err(p.unexpected());
    }
    Ok(q)
}

// ------------------------------------------------------------------ planning

/// A field path resolved against the schema.
#[derive(Debug, Clone)]
pub struct Path {
    /// (relationship name, lookup field on the record, target object)
    pub rels: Vec<(String, String, String)>,
    pub field: FieldDef,
}

#[derive(Debug, Clone)]
enum PCond {
    And(Vec<PCond>),
    Or(Vec<PCond>),
    Not(Box<PCond>),
    Cmp {
        path: Path,
        op: Op,
        lit: Lit,
    },
    In {
        path: Path,
        negated: bool,
        lits: Vec<Lit>,
    },
}

#[derive(Debug, Clone)]
enum PItem {
    Field(Path),
    Sub(ChildRel, Box<Plan>),
}

#[derive(Debug, Clone)]
pub struct Plan {
    object: String,
    items: Vec<PItem>,
    count: bool,
    filter: Option<PCond>,
    order: Vec<(Path, bool, bool)>,
    limit: Option<usize>,
    offset: Option<usize>,
}

fn no_column(field: &str, obj: &str) -> SoqlError {
    invalid_field(format!(
        "No such column '{field}' on entity '{obj}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    ))
}

fn resolve(org: &Org, obj: &ObjectDef, dotted: &str) -> Result<Path, SoqlError> {
    let segs: Vec<&str> = dotted.split('.').collect();
    let mut cur = obj.clone();
    let mut rels = Vec::new();
    // a leading segment naming the object itself is allowed (`Account.Name FROM Account`)
    let start = usize::from(
        segs.len() > 1
            && segs[0].eq_ignore_ascii_case(&obj.name)
            && cur.parent_rel(segs[0]).is_none(),
    );
    for seg in &segs[start..segs.len() - 1] {
        let f = cur.parent_rel(seg).ok_or_else(|| {
            invalid_field(format!(
                "Didn't understand relationship '{seg}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
            ))
        })?;
        let target = f
            .reference_to
            .as_deref()
            .and_then(|t| org.object(t))
            .ok_or_else(|| {
                invalid_field(format!(
                    "Didn't understand relationship '{seg}' in field path: sim-salesforce has no schema for its target object"
                ))
            })?;
        rels.push((
            f.relationship_name.clone().unwrap_or_default(),
            f.name.clone(),
            target.name.clone(),
        ));
        cur = target.clone();
    }
    let last = segs[segs.len() - 1];
    let field = cur
        .field(last)
        .cloned()
        .ok_or_else(|| no_column(last, &cur.name))?;
    Ok(Path { rels, field })
}

fn type_word(t: FType) -> &'static str {
    match t {
        FType::Boolean => "boolean",
        FType::Date => "date",
        FType::DateTime => "dateTime",
        t if t.is_number() => "number",
        _ => "string",
    }
}

fn check_lit(path: &Path, op: Op, lit: &Lit) -> Result<(), SoqlError> {
    let t = path.field.ftype;
    let name = &path.field.name;
    let wrong = |quoted: bool| {
        invalid_field(format!(
            "value of filter criterion for field '{name}' must be of type {} and should {}be enclosed in quotes",
            type_word(t),
            if quoted { "" } else { "not " }
        ))
    };
    if op == Op::Like {
        return match lit {
            Lit::Str(_) if t.is_text() => Ok(()),
            Lit::Str(_) | Lit::Null => Err(invalid_field(format!(
                "invalid operator on {} field: {name}: LIKE works on text fields only",
                type_word(t)
            ))),
            _ => Err(wrong(true)),
        };
    }
    match (lit, t) {
        (Lit::Null, _) => Ok(()),
        (Lit::Str(_), t) if t.is_text() => Ok(()),
        (_, t) if t.is_text() => Err(wrong(true)),
        (Lit::Bool(_), FType::Boolean) => Ok(()),
        (Lit::Num(_), t) if t.is_number() => Ok(()),
        (Lit::Date(_), FType::Date) => Ok(()),
        (Lit::DateTime(_), FType::DateTime) => Ok(()),
        // the reference: a date-time literal against a Date field is MALFORMED_QUERY
        (Lit::DateTime(_), FType::Date) => Err(malformed(format!(
            "value of filter criterion for field '{name}' must be of type date and should not be enclosed in quotes"
        ))),
        _ => Err(wrong(false)),
    }
}

fn plan_cond(org: &Org, obj: &ObjectDef, c: &Cond) -> Result<PCond, SoqlError> {
    Ok(match c {
        Cond::And(v) => PCond::And(
            v.iter()
                .map(|c| plan_cond(org, obj, c))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(v) => PCond::Or(
            v.iter()
                .map(|c| plan_cond(org, obj, c))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(c) => PCond::Not(Box::new(plan_cond(org, obj, c)?)),
        Cond::Cmp { path, op, lit } => {
            let p = resolve(org, obj, path)?;
            check_lit(&p, *op, lit)?;
            PCond::Cmp {
                path: p,
                op: *op,
                lit: lit.clone(),
            }
        }
        Cond::In {
            path,
            negated,
            lits,
        } => {
            let p = resolve(org, obj, path)?;
            for l in lits {
                check_lit(&p, Op::Eq, l)?;
            }
            PCond::In {
                path: p,
                negated: *negated,
                lits: lits.clone(),
            }
        }
        Cond::InQuery {
            path,
            negated,
            query,
        } => {
            let p = resolve(org, obj, path)?;
            if !p.field.ftype.is_id() {
                return Err(malformed(format!(
                    "semi-join: the field on the left of IN (SELECT …) must be an Id or a lookup, not {}",
                    p.field.name
                )));
            }
            let inner_obj = org.object(&query.from).cloned().ok_or_else(|| SoqlError {
                code: "INVALID_TYPE",
                message: format!("sObject type '{}' is not supported.", query.from),
            })?;
            let inner = plan_query(org, &inner_obj, query, 1)?;
            let field = match inner.items.as_slice() {
                [PItem::Field(f)] if !inner.count && f.field.ftype.is_id() => f.clone(),
                _ => {
                    return Err(malformed(
                        "semi-join: the subquery must select exactly one Id or lookup field",
                    ))
                }
            };
            let rows = select(
                org,
                &inner,
                org.records(&inner.object).iter().collect(),
                false,
            );
            let lits = rows
                .into_iter()
                .filter_map(|r| match path_value(org, r, &field) {
                    TV::S(s) => Some(Lit::Str(s)),
                    _ => None,
                })
                .collect();
            PCond::In {
                path: p,
                negated: *negated,
                lits,
            }
        }
    })
}

fn plan_query(org: &Org, obj: &ObjectDef, q: &Query, depth: usize) -> Result<Plan, SoqlError> {
    if depth > 5 {
        return Err(malformed("too many levels of nested subqueries (max 5)"));
    }
    let mut items = Vec::new();
    let mut count = false;
    let mut seen: Vec<String> = Vec::new();
    for it in &q.select {
        match it {
            Item::Count => {
                if q.select.len() > 1 {
                    return Err(malformed(
                        "COUNT() must be the only element in the SELECT list",
                    ));
                }
                count = true;
            }
            Item::Field(f) => {
                let p = resolve(org, obj, f)?;
                let key = p
                    .rels
                    .iter()
                    .map(|r| r.0.to_ascii_lowercase())
                    .chain(std::iter::once(p.field.name.to_ascii_lowercase()))
                    .collect::<Vec<_>>()
                    .join(".");
                if seen.contains(&key) {
                    return Err(malformed(format!("duplicate field selected: {f}")));
                }
                seen.push(key);
                items.push(PItem::Field(p));
            }
            Item::Sub(sub) => {
                let rel = obj.child_rel(&sub.from).cloned().ok_or_else(|| SoqlError {
                    code: "INVALID_TYPE",
                    message: format!(
                        "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                        sub.from
                    ),
                })?;
                let child = org.object(&rel.child).cloned().ok_or_else(|| SoqlError {
                    code: "INVALID_TYPE",
                    message: format!("sObject type '{}' is not supported.", rel.child),
                })?;
                let plan = plan_query(org, &child, sub, depth + 1)?;
                if plan.count {
                    return Err(malformed("COUNT() is not allowed in a subquery"));
                }
                items.push(PItem::Sub(rel, Box::new(plan)));
            }
        }
    }
    let filter = q
        .filter
        .as_ref()
        .map(|c| plan_cond(org, obj, c))
        .transpose()?;
    let order = q
        .order
        .iter()
        .map(|o| resolve(org, obj, &o.path).map(|p| (p, o.desc, o.nulls_last)))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        object: obj.name.clone(),
        items,
        count,
        filter,
        order,
        limit: q.limit,
        offset: q.offset,
    })
}

/// Parses and resolves a top-level query.
pub fn plan(org: &Org, src: &str) -> Result<Plan, SoqlError> {
    let q = parse(src)?;
    let obj = org.object(&q.from).cloned().ok_or_else(|| SoqlError {
        code: "INVALID_TYPE",
        message: format!(
            "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
            q.from
        ),
    })?;
    plan_query(org, &obj, &q, 0)
}

// ------------------------------------------------------------------ evaluation

#[derive(Debug, Clone, PartialEq)]
enum TV {
    Null,
    S(String),
    N(f64),
    B(bool),
    D(NaiveDate),
    T(DateTime<Utc>),
}

fn typed(v: Option<&Value>, t: FType) -> TV {
    match v {
        None | Some(Value::Null) => TV::Null,
        Some(Value::Bool(b)) => TV::B(*b),
        Some(Value::Number(n)) => TV::N(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) => match t {
            FType::Date => parse_date(s).map_or(TV::Null, TV::D),
            FType::DateTime => parse_datetime(s).map_or(TV::Null, TV::T),
            t if t.is_number() => s.parse().map_or(TV::Null, TV::N),
            _ => TV::S(s.clone()),
        },
        Some(other) => TV::S(other.to_string()),
    }
}

fn lit_tv(l: &Lit) -> TV {
    match l {
        Lit::Str(s) => TV::S(s.clone()),
        Lit::Num(n) => TV::N(*n),
        Lit::Bool(b) => TV::B(*b),
        Lit::Null => TV::Null,
        Lit::Date(d) => TV::D(*d),
        Lit::DateTime(t) => TV::T(*t),
    }
}

fn unescape_eq(s: &str) -> String {
    s.replace("\\%", "%")
        .replace("\\_", "_")
        .replace("\\\\", "\\")
}

/// Orders two non-null values; ids compare exactly (a 15-char id matches its 18-char form),
/// other text case-insensitively.
fn cmp_tv(a: &TV, b: &TV, t: FType) -> Option<Ordering> {
    match (a, b) {
        (TV::S(x), TV::S(y)) => {
            let y = unescape_eq(y);
            if t.is_id() {
                if x.len() != y.len() && (x.len() == 15 || y.len() == 15) {
                    let n = 15.min(x.len()).min(y.len());
                    return Some(x[..n].cmp(&y[..n]));
                }
                Some(x.as_str().cmp(y.as_str()))
            } else {
                Some(x.to_lowercase().cmp(&y.to_lowercase()))
            }
        }
        (TV::N(x), TV::N(y)) => x.partial_cmp(y),
        (TV::B(x), TV::B(y)) => Some(x.cmp(y)),
        (TV::D(x), TV::D(y)) => Some(x.cmp(y)),
        (TV::T(x), TV::T(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// SQL LIKE, case-insensitive: `%` any run, `_` one character, `\%` `\_` literal.
pub fn like(value: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Ch(char),
    }
    let mut pat = Vec::new();
    let mut it = pattern.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some('\\') => pat.push(P::Ch('\\')),
                Some(x) => pat.push(P::Ch(x)),
                None => pat.push(P::Ch('\\')),
            },
            '%' => pat.push(P::Any),
            '_' => pat.push(P::One),
            c => pat.push(P::Ch(c)),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let pat: Vec<P> = pat
        .into_iter()
        .map(|p| match p {
            P::Ch(c) => P::Ch(c.to_lowercase().next().unwrap_or(c)),
            o => o,
        })
        .collect();
    // dp[j] = pattern[..i] matches value[..j]
    let mut dp = vec![false; v.len() + 1];
    dp[0] = true;
    for p in &pat {
        let mut next = vec![false; v.len() + 1];
        match p {
            P::Any => {
                let mut any = false;
                for j in 0..=v.len() {
                    any |= dp[j];
                    next[j] = any;
                }
            }
            P::One => {
                next[1..=v.len()].copy_from_slice(&dp[..v.len()]);
            }
            P::Ch(c) => {
                for j in 1..=v.len() {
                    next[j] = dp[j - 1] && v[j - 1] == *c;
                }
            }
        }
        dp = next;
    }
    dp[v.len()]
}

/// The record a path's relationships lead to (None when a lookup is empty or dangling).
fn follow<'a>(
    org: &'a Org,
    rec: &'a Record,
    rels: &[(String, String, String)],
) -> Option<&'a Record> {
    let mut cur = rec;
    for (_, lookup, _) in rels {
        let id = cur.get(lookup)?.as_str()?;
        cur = org.by_id(id)?.1;
    }
    Some(cur)
}

fn path_value(org: &Org, rec: &Record, p: &Path) -> TV {
    match follow(org, rec, &p.rels) {
        Some(r) => typed(r.get(&p.field.name), p.field.ftype),
        None => TV::Null,
    }
}

fn eval(org: &Org, rec: &Record, c: &PCond) -> bool {
    match c {
        PCond::And(v) => v.iter().all(|c| eval(org, rec, c)),
        PCond::Or(v) => v.iter().any(|c| eval(org, rec, c)),
        PCond::Not(c) => !eval(org, rec, c),
        PCond::Cmp { path, op, lit } => {
            let v = path_value(org, rec, path);
            let l = lit_tv(lit);
            let t = path.field.ftype;
            match (op, &v, &l) {
                (Op::Eq, TV::Null, TV::Null) => true,
                (Op::Ne, TV::Null, TV::Null) => false,
                (Op::Eq, TV::Null, _) | (Op::Eq, _, TV::Null) => false,
                (Op::Ne, TV::Null, _) | (Op::Ne, _, TV::Null) => true,
                (_, TV::Null, _) | (_, _, TV::Null) => false,
                (Op::Like, TV::S(s), TV::S(p)) => like(s, p),
                (Op::Like, _, _) => false,
                _ => {
                    let Some(o) = cmp_tv(&v, &l, t) else {
                        return false;
                    };
                    match op {
                        Op::Eq => o == Ordering::Equal,
                        Op::Ne => o != Ordering::Equal,
                        Op::Lt => o == Ordering::Less,
                        Op::Le => o != Ordering::Greater,
                        Op::Gt => o == Ordering::Greater,
                        Op::Ge => o != Ordering::Less,
                        Op::Like => false,
                    }
                }
            }
        }
        PCond::In {
            path,
            negated,
            lits,
        } => {
            let v = path_value(org, rec, path);
            let hit = lits.iter().any(|l| {
                let l = lit_tv(l);
                match (&v, &l) {
                    (TV::Null, TV::Null) => true,
                    (TV::Null, _) | (_, TV::Null) => false,
                    _ => cmp_tv(&v, &l, path.field.ftype) == Some(Ordering::Equal),
                }
            });
            if *negated {
                // NOT IN never matches a null value
                !hit && v != TV::Null
            } else {
                hit
            }
        }
    }
}

fn select<'a>(org: &'a Org, plan: &Plan, rows: Vec<&'a Record>, all_rows: bool) -> Vec<&'a Record> {
    let mut out: Vec<&Record> = rows
        .into_iter()
        .filter(|r| all_rows || r.get("IsDeleted") != Some(&Value::Bool(true)))
        .filter(|r| plan.filter.as_ref().is_none_or(|c| eval(org, r, c)))
        .collect();
    if !plan.order.is_empty() {
        out.sort_by(|a, b| {
            for (p, desc, nulls_last) in &plan.order {
                let (x, y) = (path_value(org, a, p), path_value(org, b, p));
                let o = match (&x, &y) {
                    (TV::Null, TV::Null) => Ordering::Equal,
                    (TV::Null, _) => {
                        if *nulls_last {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (_, TV::Null) => {
                        if *nulls_last {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    _ => {
                        let o = cmp_tv(&x, &y, p.field.ftype).unwrap_or(Ordering::Equal);
                        if *desc {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let skip = plan.offset.unwrap_or(0);
    out.into_iter()
        .skip(skip)
        .take(plan.limit.unwrap_or(usize::MAX))
        .collect()
}

fn attributes(obj: &str, id: &str, version: &str) -> J {
    J::O(vec![
        ("type".into(), J::str(obj)),
        (
            "url".into(),
            J::str(format!("/services/data/{version}/sobjects/{obj}/{id}")),
        ),
    ])
}

fn record_head(obj: &str, rec: &Record, version: &str) -> Vec<(String, J)> {
    let id = rec.get("Id").and_then(Value::as_str).unwrap_or_default();
    vec![("attributes".into(), attributes(obj, id, version))]
}

fn put_path(
    org: &Org,
    fields: &mut Vec<(String, J)>,
    rec: &Record,
    rels: &[(String, String, String)],
    field: &FieldDef,
    version: &str,
) {
    let Some(((rel, lookup, target), rest)) = rels.split_first() else {
        if !fields.iter().any(|(k, _)| *k == field.name) {
            let v = rec.get(&field.name).cloned().unwrap_or(Value::Null);
            fields.push((field.name.clone(), J::V(v)));
        }
        return;
    };
    let parent = rec
        .get(lookup)
        .and_then(Value::as_str)
        .and_then(|id| org.by_id(id))
        .map(|(_, r)| r);
    let pos = match fields.iter().position(|(k, _)| k == rel) {
        Some(p) => p,
        None => {
            let v = match parent {
                Some(p) => J::O(record_head(target, p, version)),
                None => J::null(),
            };
            fields.push((rel.clone(), v));
            fields.len() - 1
        }
    };
    if let (J::O(inner), Some(p)) = (&mut fields[pos].1, parent) {
        put_path(org, inner, p, rest, field, version);
    }
}

/// One record rendered with the plan's items; returns it and its cost (1 + child rows).
fn render(org: &Org, plan: &Plan, rec: &Record, version: &str, all_rows: bool) -> (J, usize) {
    let mut fields = record_head(&plan.object, rec, version);
    let mut cost = 1;
    for it in &plan.items {
        match it {
            PItem::Field(p) => put_path(org, &mut fields, rec, &p.rels, &p.field, version),
            PItem::Sub(rel, sub) => {
                let id = rec.get("Id").and_then(Value::as_str).unwrap_or_default();
                let rows: Vec<&Record> = org
                    .records(&rel.child)
                    .iter()
                    .filter(|c| c.get(&rel.field).and_then(Value::as_str) == Some(id))
                    .collect();
                let rows = select(org, sub, rows, all_rows);
                let v = if rows.is_empty() {
                    J::null()
                } else {
                    let n = rows.len();
                    cost += n;
                    let recs = rows
                        .into_iter()
                        .map(|r| render(org, sub, r, version, all_rows).0)
                        .collect();
                    J::O(vec![
                        ("totalSize".into(), J::V(n.into())),
                        ("done".into(), J::V(true.into())),
                        ("records".into(), J::A(recs)),
                    ])
                };
                fields.push((rel.name.clone(), v));
            }
        }
    }
    (J::O(fields), cost)
}

/// The whole result of a query: `totalSize` and every record with its batch cost.
pub struct Executed {
    pub total: usize,
    pub records: Vec<(J, usize)>,
}

/// Runs `src` (`all_rows` = queryAll: soft-deleted rows included).
pub fn execute(org: &Org, src: &str, all_rows: bool, version: &str) -> Result<Executed, SoqlError> {
    let plan = plan(org, src)?;
    let rows = org.records(&plan.object).iter().collect();
    let rows = select(org, &plan, rows, all_rows);
    if plan.count {
        return Ok(Executed {
            total: rows.len(),
            records: Vec::new(),
        });
    }
    Ok(Executed {
        total: rows.len(),
        records: rows
            .into_iter()
            .map(|r| render(org, &plan, r, version, all_rows))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn org() -> Org {
        let fx = json!({
            "Account": [
                {"Id": "001Dm0000000001IAA", "Name": "Acme", "FNO_Account_Type__c": "End User"},
                {"Id": "001Dm0000000002IAA", "Name": "Globex", "FNO_Account_Type__c": null},
                {"Id": "001Dm0000000003IAA", "Name": "Gone", "IsDeleted": true}
            ],
            "Product2": [
                {"Id": "01tDm0000000001IAA", "Name": "P1", "ProductCode": "P-1", "IsActive": true},
                {"Id": "01tDm0000000002IAA", "Name": "P2", "ProductCode": "P-2", "IsActive": false}
            ],
            "Opportunity": [
                {"Id": "006Dm0000000001IAA", "AccountId": "001Dm0000000001IAA", "Name": "O1",
                 "StageName": "Closed Won", "CloseDate": "2026-09-19",
                 "SystemModstamp": "2026-09-21T09:00:00.000+0000", "Amount": 100.0},
                {"Id": "006Dm0000000002IAA", "AccountId": null, "Name": "O2",
                 "StageName": "Prospecting", "CloseDate": "2026-10-01",
                 "SystemModstamp": "2026-09-22T09:00:00.000+0000", "Amount": 50.5}
            ],
            "OpportunityLineItem": [
                {"Id": "00kDm0000000001IAA", "OpportunityId": "006Dm0000000001IAA",
                 "Product2Id": "01tDm0000000001IAA", "Quantity": 5.0},
                {"Id": "00kDm0000000002IAA", "OpportunityId": "006Dm0000000001IAA",
                 "Product2Id": "01tDm0000000002IAA", "Quantity": 2.0}
            ]
        });
        Org::load(Some(&fx), None).expect("fixture")
    }

    fn run(q: &str) -> Value {
        let org = org();
        let e = execute(&org, q, false, "v62.0").expect("query");
        Value::Array(e.records.iter().map(|(j, _)| j.to_value()).collect())
    }

    fn names(q: &str) -> Vec<String> {
        run(q)
            .as_array()
            .expect("arr")
            .iter()
            .map(|r| r["Name"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    fn err(q: &str) -> SoqlError {
        match execute(&org(), q, false, "v62.0") {
            Err(e) => e,
            Ok(_) => panic!("expected an error for {q}"),
        }
    }

    #[test]
    fn tokenizer_handles_literals() {
        let t =
            tokenize("x >= 2025-06-04T11:02:25Z AND d = 2026-01-02 AND n = -1.5 AND s = 'a\\'b'")
                .expect("tokens");
        assert!(t.contains(&Tok::DateTime("2025-06-04T11:02:25Z".parse().expect("dt"))));
        assert!(t.contains(&Tok::Date(NaiveDate::from_ymd_opt(2026, 1, 2).expect("d"))));
        assert!(t.contains(&Tok::Num(-1.5)));
        assert!(t.contains(&Tok::Str("a'b".into())));
        assert!(tokenize("x = 'open").is_err());
        assert!(tokenize("x > 2025-06-04T11:02:25.000Z").is_ok());
        assert!(tokenize("x > 2025-06-04T11:02:25-05:00").is_ok());
        // the response format is not a SOQL literal
        assert!(tokenize("x > 2025-06-04T11:02:25.000+0000").is_err());
        assert!(tokenize("x > 2025-06-04T11:02:25").is_err());
        // '+' decoded to a space by a careless client
        assert!(tokenize("x > 2025-06-04T11:02:25 00:00").is_err());
    }

    #[test]
    fn renders_attributes_first_in_select_order_with_parents() {
        let org = org();
        let e = execute(
            &org,
            "SELECT Name, Id, Account.Name FROM Opportunity ORDER BY Name",
            false,
            "v62.0",
        )
        .expect("q");
        assert_eq!(e.total, 2);
        assert_eq!(
            e.records[0].0.render(),
            r#"{"attributes":{"type":"Opportunity","url":"/services/data/v62.0/sobjects/Opportunity/006Dm0000000001IAA"},"Name":"O1","Id":"006Dm0000000001IAA","Account":{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001Dm0000000001IAA"},"Name":"Acme"}}"#
        );
        assert_eq!(e.records[1].0.to_value()["Account"], Value::Null);
    }

    #[test]
    fn child_subquery_and_null_when_empty() {
        let r = run("SELECT Id, (SELECT Quantity, Product2.IsActive FROM OpportunityLineItems ORDER BY Quantity) FROM Opportunity ORDER BY Name");
        let first = &r[0]["OpportunityLineItems"];
        assert_eq!(first["totalSize"], 2);
        assert_eq!(first["done"], true);
        assert_eq!(first["records"][0]["Quantity"], 2.0);
        assert_eq!(first["records"][0]["Product2"]["IsActive"], false);
        assert_eq!(r[1]["OpportunityLineItems"], Value::Null);
    }

    #[test]
    fn where_operators() {
        assert_eq!(
            names("SELECT Name FROM Account WHERE Name = 'acme'"),
            ["Acme"]
        );
        assert_eq!(
            names("SELECT Name FROM Account WHERE Name != 'Acme'"),
            ["Globex"]
        );
        assert_eq!(
            names("SELECT Name FROM Account WHERE Name LIKE 'G%'"),
            ["Globex"]
        );
        assert_eq!(
            names("SELECT Name FROM Account WHERE Name LIKE '_cm_'"),
            ["Acme"]
        );
        assert_eq!(
            names("SELECT Name FROM Account WHERE FNO_Account_Type__c = null"),
            ["Globex"]
        );
        assert_eq!(
            names("SELECT Name FROM Account WHERE FNO_Account_Type__c NOT IN ('Channel Partner')"),
            ["Acme"]
        );
        assert_eq!(
            names("SELECT Name FROM Account WHERE Name IN ('Acme', 'Globex') ORDER BY Name DESC"),
            ["Globex", "Acme"]
        );
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE SystemModstamp > 2026-09-21T09:00:00Z"),
            ["O2"]
        );
        // instants, not strings: 10:00+01:00 is 09:00Z
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE SystemModstamp <= 2026-09-21T10:00:00+01:00"),
            ["O1"]
        );
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE CloseDate >= 2026-10-01"),
            ["O2"]
        );
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE Amount < 60 OR (IsWon = true AND NOT Name = 'x')"),
            ["O1", "O2"]
        );
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE Account.Name = 'Acme'"),
            ["O1"]
        );
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE AccountId = '001Dm0000000001'"),
            ["O1"]
        );
    }

    #[test]
    fn order_nulls_limit_offset_count() {
        assert_eq!(
            names("SELECT Name FROM Account ORDER BY FNO_Account_Type__c NULLS LAST, Name"),
            ["Acme", "Globex"]
        );
        assert_eq!(
            names("SELECT Name FROM Account ORDER BY FNO_Account_Type__c DESC NULLS FIRST"),
            ["Globex", "Acme"]
        );
        assert_eq!(
            names("SELECT Name FROM Account ORDER BY Name LIMIT 1"),
            ["Acme"]
        );
        assert_eq!(
            names("SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1"),
            ["Globex"]
        );
        let e = execute(&org(), "SELECT COUNT() FROM Account", false, "v62.0").expect("q");
        assert_eq!((e.total, e.records.len()), (2, 0));
        let e = execute(&org(), "SELECT COUNT() FROM Account", true, "v62.0").expect("q");
        assert_eq!(e.total, 3, "queryAll includes deleted rows");
    }

    #[test]
    fn errors_have_salesforce_codes() {
        assert_eq!(err("SELECT Nope FROM Account").code, "INVALID_FIELD");
        assert_eq!(err("SELECT Id FROM Nope").code, "INVALID_TYPE");
        assert_eq!(err("SELECT Id FROM Account WHERE").code, "MALFORMED_QUERY");
        assert_eq!(err("SELECT Id, FROM Account").code, "MALFORMED_QUERY");
        assert_eq!(
            err("SELECT Id FROM Account LIMIT x").code,
            "MALFORMED_QUERY"
        );
        assert_eq!(err("SELECT Id, Id FROM Account").code, "MALFORMED_QUERY");
        assert_eq!(
            err("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'").code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            err("SELECT Foo.Name FROM Opportunity").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id, (SELECT Id FROM Nopes) FROM Opportunity").code,
            "INVALID_TYPE"
        );
        assert_eq!(
            err("SELECT Id FROM Account WHERE Name = 5").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM Opportunity WHERE SystemModstamp > '2026-01-01T00:00:00Z'").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM Opportunity WHERE CloseDate > 2026-01-01T00:00:00Z").code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            err("SELECT Id FROM Account GROUP BY Name").code,
            "MALFORMED_QUERY"
        );
    }

    #[test]
    fn semi_and_anti_joins() {
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE Id IN (SELECT OpportunityId FROM OpportunityLineItem WHERE Product2.IsActive = false)"),
            ["O1"]
        );
        assert_eq!(
            names("SELECT Name FROM Opportunity WHERE Id NOT IN (SELECT OpportunityId FROM OpportunityLineItem) ORDER BY Name"),
            ["O2"]
        );
        assert_eq!(
            names("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE IsWon = true)"),
            ["Acme"]
        );
        assert_eq!(
            err("SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Opportunity)").code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            err("SELECT Id FROM Account WHERE Id IN (SELECT Name FROM Opportunity)").code,
            "MALFORMED_QUERY"
        );
    }

    #[test]
    fn like_matcher() {
        assert!(like("Hello", "h%O"));
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
        assert!(like("", "%"));
        assert!(!like("ab", "_"));
    }

    #[test]
    fn keywords_are_case_insensitive_and_fields_canonical() {
        let r = run("select name, account.name from opportunity where stagename = 'closed won' order by name asc limit 5");
        assert_eq!(r[0]["Name"], "O1");
        assert_eq!(r[0]["Account"]["Name"], "Acme");
    }
}
