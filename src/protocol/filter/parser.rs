//! Recursive descent over the RFC 7644 §3.4.2.2 grammar, with limits on input size and
//! nesting so that no input can exhaust the stack.

use super::FilterError;
use super::ast::{CompValue, CompareOp, Filter};
use super::lexer::{Token, tokenize};
use crate::protocol::path::AttrPath;

/// Longest filter accepted, in bytes.
pub(crate) const MAX_FILTER_LEN: usize = 8 * 1024;
/// Deepest nesting of parentheses, `not` and value paths accepted.
pub(crate) const MAX_DEPTH: usize = 32;

/// Parses a SCIM filter.
///
/// ```text
/// use scimkit::protocol::filter::{parse_filter, Filter};
/// let f = parse_filter(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap();
/// assert!(matches!(f, Filter::ValuePath { .. }));
/// assert!(parse_filter("userName eq").is_err());
/// ```
pub(crate) fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(FilterError::new(
            MAX_FILTER_LEN,
            format!("the filter is longer than {MAX_FILTER_LEN} bytes"),
        ));
    }
    if input.trim().is_empty() {
        return Err(FilterError::new(0, "the filter is empty"));
    }
    let tokens = tokenize(input)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: input.len(),
    };
    let filter = parser.or_expr(0, false)?;
    match parser.peek() {
        None => Ok(filter),
        Some((pos, token)) => Err(FilterError::new(
            pos,
            format!(
                "expected `and`, `or` or the end of the filter, found {}",
                describe(token)
            ),
        )),
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    end: usize,
}

fn describe(token: &Token) -> String {
    match token {
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::OpenBracket => "`[`".into(),
        Token::CloseBracket => "`]`".into(),
        Token::Word(w) => format!("`{w}`"),
        Token::Str(s) => format!("the string {}", serde_json::Value::String(s.clone())),
        Token::Number(n) => format!("the number {n}"),
    }
}

fn is_keyword(token: Option<(usize, &Token)>, keyword: &str) -> bool {
    matches!(token, Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(keyword))
}

impl Parser {
    fn peek(&self) -> Option<(usize, &Token)> {
        self.tokens.get(self.next).map(|(pos, t)| (*pos, t))
    }

    fn bump(&mut self) -> Option<(usize, Token)> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn position(&self) -> usize {
        self.peek().map(|(pos, _)| pos).unwrap_or(self.end)
    }

    fn expect(&mut self, wanted: Token, what: &str) -> Result<(), FilterError> {
        let pos = self.position();
        match self.bump() {
            Some((_, token)) if token == wanted => Ok(()),
            Some((_, token)) => Err(FilterError::new(
                pos,
                format!("expected {what}, found {}", describe(&token)),
            )),
            None => Err(FilterError::new(
                pos,
                format!("expected {what}, found the end of the filter"),
            )),
        }
    }

    /// One level deeper, refused past [`MAX_DEPTH`] at `position` (the token that opens it).
    fn deeper(depth: usize, position: usize) -> Result<usize, FilterError> {
        if depth >= MAX_DEPTH {
            Err(FilterError::new(
                position,
                format!("the filter nests deeper than {MAX_DEPTH} levels"),
            ))
        } else {
            Ok(depth + 1)
        }
    }

    fn or_expr(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(depth, in_value_path)?;
        while is_keyword(self.peek(), "or") {
            self.bump();
            let right = self.and_expr(depth, in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(depth, in_value_path)?;
        while is_keyword(self.peek(), "and") {
            self.bump();
            let right = self.unary(depth, in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        let pos = self.position();
        if is_keyword(self.peek(), "not") {
            self.bump();
            let depth = Self::deeper(depth, pos)?;
            self.expect(Token::Open, "`(` after `not`")?;
            let inner = self.or_expr(depth, in_value_path)?;
            self.expect(Token::Close, "`)` to close `not (`")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.bump() {
            Some((open, Token::Open)) => {
                let depth = Self::deeper(depth, open)?;
                let inner = self.or_expr(depth, in_value_path)?;
                self.expect(Token::Close, "`)`")?;
                Ok(inner)
            }
            Some((pos, Token::Word(word))) => self.attribute_expr(pos, &word, depth, in_value_path),
            Some((_, token)) => Err(FilterError::new(
                pos,
                format!(
                    "expected an attribute name, `not` or `(`, found {}",
                    describe(&token)
                ),
            )),
            None => Err(FilterError::new(
                pos,
                "expected an attribute name, `not` or `(`, found the end of the filter",
            )),
        }
    }

    fn attribute_expr(
        &mut self,
        pos: usize,
        word: &str,
        depth: usize,
        in_value_path: bool,
    ) -> Result<Filter, FilterError> {
        let path = AttrPath::parse(word).map_err(|e| FilterError::new(pos, e.to_string()))?;
        if matches!(self.peek(), Some((_, Token::OpenBracket))) {
            if in_value_path {
                return Err(FilterError::new(
                    self.position(),
                    "value filters `[...]` cannot nest",
                ));
            }
            if path.sub_attribute.is_some() {
                return Err(FilterError::new(
                    pos,
                    format!(
                        "`{word}[...]`: a value filter applies to a multi-valued attribute, not to a sub-attribute"
                    ),
                ));
            }
            let bracket = self.position();
            self.bump();
            let depth = Self::deeper(depth, bracket)?;
            let inner = self.or_expr(depth, true)?;
            self.expect(Token::CloseBracket, "`]` to close the value filter")?;
            let inner = match self.peek() {
                // Entra's uniqueness lookups: `emails[type eq "work"].value eq "x"`, a
                // comparison on a sub-attribute of the selected elements. Not in
                // RFC 7644's ABNF; it reads as `emails[type eq "work" and value eq "x"]`,
                // which means the same under the any-element rule.
                Some((sub_pos, Token::Word(sub))) if sub.starts_with('.') => {
                    let sub = sub.clone();
                    self.bump();
                    let name = sub.get(1..).unwrap_or("");
                    let sub_path = AttrPath::parse(name)
                        .ok()
                        .filter(|p| p.urn.is_none() && p.sub_attribute.is_none())
                        .ok_or_else(|| {
                            FilterError::new(
                                sub_pos,
                                format!(
                                    "`{sub}` after a value filter must be `.` and one sub-attribute name"
                                ),
                            )
                        })?;
                    let on_sub = self.comparison(sub_path, &format!("{word}[...]{sub}"))?;
                    Filter::And(Box::new(inner), Box::new(on_sub))
                }
                _ => inner,
            };
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        self.comparison(path, word)
    }

    /// The operator and value after an attribute path (`word` names it in errors).
    fn comparison(&mut self, path: AttrPath, word: &str) -> Result<Filter, FilterError> {
        let op_pos = self.position();
        let op_word = match self.bump() {
            Some((_, Token::Word(w))) => w,
            _ => {
                return Err(FilterError::new(
                    op_pos,
                    format!(
                        "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after `{word}`"
                    ),
                ));
            }
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&op_word).ok_or_else(|| {
            FilterError::new(
                op_pos,
                format!("`{op_word}` is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"),
            )
        })?;
        let value_pos = self.position();
        let value = match self.bump() {
            Some((_, Token::Str(s))) => CompValue::String(s),
            Some((_, Token::Number(n))) => CompValue::Number(n),
            Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Some((_, token)) => {
                return Err(FilterError::new(
                    value_pos,
                    format!(
                        "expected a value (a \"string\", number, true, false or null) after `{word} {op_word}`, found {}",
                        describe(&token)
                    ),
                ));
            }
            None => {
                return Err(FilterError::new(
                    value_pos,
                    format!(
                        "expected a value after `{word} {op_word}`, found the end of the filter"
                    ),
                ));
            }
        };
        if op.is_ordering() && matches!(value, CompValue::Bool(_) | CompValue::Null) {
            return Err(FilterError::new(
                value_pos,
                format!(
                    "`{}` compares strings, numbers and dates, not {value}",
                    op.as_str()
                ),
            ));
        }
        if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
            && !matches!(value, CompValue::String(_))
        {
            return Err(FilterError::new(
                value_pos,
                format!("`{}` needs a string value, not {value}", op.as_str()),
            ));
        }
        Ok(Filter::Compare { path, op, value })
    }
}
