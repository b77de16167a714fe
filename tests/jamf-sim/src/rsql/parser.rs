//! The RSQL grammar: a recursive-descent parser.

use super::{Comparison, Expr, Op, Part, Pattern, RsqlError};

/// Parses a non-empty filter.
pub(super) fn parse_expr(input: &str) -> Result<Expr, RsqlError> {
    let mut p = Parser {
        s: input.chars().collect(),
        pos: 0,
    };
    let expr = p.or()?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.err("unexpected character"));
    }
    Ok(expr)
}

struct Parser {
    s: Vec<char>,
    pos: usize,
}

const RESERVED: &[char] = &['"', '\'', '(', ')', ';', ',', '|', '=', '!', '<', '>', '~'];

impl Parser {
    fn err(&self, message: &str) -> RsqlError {
        RsqlError {
            pos: self.pos,
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.pos + n <= self.s.len()
            && self.s[self.pos..self.pos + n].iter().copied().eq(s.chars())
        {
            self.pos += n;
            true
        } else {
            false
        }
    }

    /// Eats a keyword (`and`/`or`) followed by whitespace.
    fn eat_word(&mut self, w: &str) -> bool {
        let n = w.len();
        let end = self.pos + n;
        if end < self.s.len()
            && self.s[self.pos..end]
                .iter()
                .map(|c| c.to_ascii_lowercase())
                .eq(w.chars())
            && self.s[end].is_whitespace()
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, RsqlError> {
        let mut items = vec![self.and()?];
        loop {
            self.ws();
            if self.eat(',') || self.eat_word("or") {
                items.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, RsqlError> {
        let mut items = vec![self.constraint()?];
        loop {
            self.ws();
            if self.eat(';') || self.eat_word("and") {
                items.push(self.constraint()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn constraint(&mut self) -> Result<Expr, RsqlError> {
        self.ws();
        if self.eat('(') {
            let e = self.or()?;
            self.ws();
            if !self.eat(')') {
                return Err(self.err("expected ')'"));
            }
            return Ok(e);
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("expected a field name"));
        }
        let field: String = self.s[start..self.pos].iter().collect();
        self.ws();
        let op = self.op()?;
        self.ws();
        let values = self.arguments()?;
        Ok(Expr::Cmp(Comparison { field, op, values }))
    }

    fn op(&mut self) -> Result<Op, RsqlError> {
        let simple = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        for (s, op) in simple {
            if self.eat_str(s) {
                return Ok(op);
            }
        }
        let named = [
            ("=lt=", Op::Lt),
            ("=le=", Op::Le),
            ("=gt=", Op::Gt),
            ("=ge=", Op::Ge),
            ("=in=", Op::In),
            ("=out=", Op::Out),
        ];
        for (s, op) in named {
            if self.eat_str(s) {
                return Ok(op);
            }
        }
        Err(self.err("expected a comparison operator"))
    }

    fn arguments(&mut self) -> Result<Vec<Pattern>, RsqlError> {
        if !self.eat('(') {
            return Ok(vec![self.value()?]);
        }
        let mut values = Vec::new();
        loop {
            self.ws();
            values.push(self.value()?);
            self.ws();
            if self.eat(',') || self.eat('|') {
                continue;
            }
            if self.eat(')') {
                return Ok(values);
            }
            return Err(self.err("expected ',', '|' or ')'"));
        }
    }

    fn value(&mut self) -> Result<Pattern, RsqlError> {
        let mut pat = Pattern { parts: Vec::new() };
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => return Err(self.err("unterminated quoted value")),
                        Some('\\') => {
                            self.pos += 1;
                            let c = self.peek().ok_or_else(|| self.err("dangling escape"))?;
                            pat.push_lit(c);
                            self.pos += 1;
                        }
                        Some(c) if c == q => {
                            self.pos += 1;
                            break;
                        }
                        Some('*') => {
                            pat.parts.push(Part::Star);
                            self.pos += 1;
                        }
                        Some(c) => {
                            pat.push_lit(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            _ => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_whitespace() || RESERVED.contains(&c) {
                        break;
                    }
                    if c == '*' {
                        pat.parts.push(Part::Star);
                    } else {
                        pat.push_lit(c);
                    }
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(self.err("expected a value"));
                }
            }
        }
        Ok(pat)
    }
}
