//! A small RSQL (FIQL) filter parser and evaluator, as Jamf Pro's `filter` parameter uses.
//!
//! Supported: comparisons `==`, `!=`, `=lt=`/`<`, `=le=`/`<=`, `=gt=`/`>`, `=ge=`/`>=`,
//! `=in=(a,b)`, `=out=(a,b)` (inside parentheses both `,` and `|` separate values);
//! values bare, or quoted with `"` or `'` (a backslash escapes the next character);
//! `*` is a glob (an escaped `\*` is a literal star); `;` / `and` combine with AND, `,` / `or`
//! with OR (AND binds tighter); parentheses group. String comparisons are case-insensitive.

mod parser;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

/// A filter that could not be parsed or names a field the endpoint does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at position {pos}: {message}")]
pub struct RsqlError {
    pub pos: usize,
    pub message: String,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp(Comparison),
}

/// One `field op value(s)` constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub field: String,
    pub op: Op,
    pub values: Vec<Pattern>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Out,
}

/// A value, possibly holding `*` globs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Star,
}

/// The kind of a filterable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Int,
    Str,
}

/// The value of a field on a record.
#[derive(Debug, Clone, Copy)]
pub enum FieldValue<'a> {
    Int(u64),
    Str(&'a str),
}

/// A record a filter can be evaluated on.
pub trait Record {
    fn field(&self, name: &str) -> Option<FieldValue<'_>>;
}

/// Parses a filter; an empty (or blank) filter gives `None`.
pub fn parse(input: &str) -> Result<Option<Expr>, RsqlError> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    parser::parse_expr(input).map(Some)
}

impl Pattern {
    fn push_lit(&mut self, c: char) {
        if let Some(Part::Lit(s)) = self.parts.last_mut() {
            s.push(c);
        } else {
            self.parts.push(Part::Lit(c.to_string()));
        }
    }

    fn has_glob(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Star))
    }

    /// The value as plain text (globs shown as `*`).
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.as_str(),
                Part::Star => "*",
            })
            .collect()
    }

    fn as_int(&self) -> Option<u64> {
        if self.has_glob() {
            return None;
        }
        let t = self.text();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    }

    /// Case-insensitive glob match of the whole `text`.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        let mut segs: Vec<String> = vec![String::new()];
        for p in &self.parts {
            match p {
                Part::Lit(s) => {
                    if let Some(last) = segs.last_mut() {
                        last.push_str(&s.to_lowercase());
                    }
                }
                Part::Star => segs.push(String::new()),
            }
        }
        let (first, last) = match (segs.first(), segs.last()) {
            (Some(only), _) if segs.len() == 1 => return *only == text,
            (Some(first), Some(last)) => (first, last),
            _ => return text.is_empty(),
        };
        if text.len() < first.len() + last.len()
            || !text.starts_with(first.as_str())
            || !text.ends_with(last.as_str())
        {
            return false;
        }
        let mut rest = &text[first.len()..text.len() - last.len()];
        for mid in &segs[1..segs.len() - 1] {
            match rest.find(mid.as_str()) {
                Some(i) => rest = &rest[i + mid.len()..],
                None => return false,
            }
        }
        true
    }
}

impl Expr {
    /// Checks every field against `allowed` and every value against its field's kind.
    pub fn check_fields(&self, allowed: &[(&str, FieldKind)]) -> Result<(), RsqlError> {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().try_for_each(|e| e.check_fields(allowed)),
            Expr::Cmp(c) => {
                let kind = allowed
                    .iter()
                    .find(|(n, _)| *n == c.field)
                    .map(|(_, k)| *k)
                    .ok_or_else(|| RsqlError {
                        pos: 0,
                        message: format!("field '{}' is not allowed in the filter", c.field),
                    })?;
                let ordered = matches!(c.op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
                if !matches!(c.op, Op::In | Op::Out) && c.values.len() != 1 {
                    return Err(RsqlError {
                        pos: 0,
                        message: format!("operator on '{}' takes exactly one value", c.field),
                    });
                }
                if ordered
                    && kind == FieldKind::Int
                    && c.values.first().and_then(Pattern::as_int).is_none()
                {
                    return Err(RsqlError {
                        pos: 0,
                        message: format!("'{}' must be compared with an integer", c.field),
                    });
                }
                Ok(())
            }
        }
    }

    /// Evaluates the filter on a record.
    pub fn matches(&self, rec: &dyn Record) -> bool {
        match self {
            Expr::And(v) => v.iter().all(|e| e.matches(rec)),
            Expr::Or(v) => v.iter().any(|e| e.matches(rec)),
            Expr::Cmp(c) => c.matches(rec),
        }
    }
}

impl Comparison {
    fn matches(&self, rec: &dyn Record) -> bool {
        let Some(value) = rec.field(&self.field) else {
            return false;
        };
        let equal = |p: &Pattern| match value {
            FieldValue::Int(n) => match p.as_int() {
                Some(v) => v == n,
                None => p.matches(&n.to_string()),
            },
            FieldValue::Str(s) => p.matches(s),
        };
        let order = |p: &Pattern| -> Option<Ordering> {
            match value {
                FieldValue::Int(n) => p.as_int().map(|v| n.cmp(&v)),
                FieldValue::Str(s) => Some(s.to_lowercase().cmp(&p.text().to_lowercase())),
            }
        };
        let first = self.values.first().and_then(order);
        match self.op {
            Op::Eq | Op::In => self.values.iter().any(equal),
            Op::Ne | Op::Out => !self.values.iter().any(equal),
            Op::Lt => first == Some(Ordering::Less),
            Op::Le => matches!(first, Some(Ordering::Less | Ordering::Equal)),
            Op::Gt => first == Some(Ordering::Greater),
            Op::Ge => matches!(first, Some(Ordering::Greater | Ordering::Equal)),
        }
    }
}
