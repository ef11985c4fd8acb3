//! Splits filter text into tokens, each with its byte position.

use super::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    /// An attribute path, operator or keyword; told apart by the parser.
    Word(String),
    Str(String),
    Number(serde_json::Number),
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$' | '.' | ':')
}

pub(super) fn tokenize(input: &str) -> Result<Vec<(usize, Token)>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push((
                    pos,
                    match c {
                        '(' => Token::Open,
                        ')' => Token::Close,
                        '[' => Token::OpenBracket,
                        _ => Token::CloseBracket,
                    },
                ));
            }
            '"' => {
                let start = pos;
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| {
                    FilterError::new(start, "this string is never closed with `\"`")
                })?;
                let literal = input.get(start..=end).unwrap_or("\"\"");
                let text: String = serde_json::from_str(literal).map_err(|_| {
                    FilterError::new(start, "this string is not valid JSON: an unknown escape (`\\q`) or a raw control character (escape it, e.g. `\\t`)")
                })?;
                tokens.push((start, Token::Str(text)));
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let start = pos;
                let mut end = pos;
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+') {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let text = input.get(start..end).unwrap_or("");
                let number: serde_json::Number = text
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| FilterError::new(start, format!("`{text}` is not a number")))?;
                tokens.push((start, Token::Number(number)));
            }
            c if is_word_char(c) => {
                let start = pos;
                let mut end = pos;
                while let Some(&(i, c)) = chars.peek() {
                    if is_word_char(c) {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push((
                    start,
                    Token::Word(input.get(start..end).unwrap_or("").to_owned()),
                ));
            }
            other => {
                return Err(FilterError::new(
                    pos,
                    format!("unexpected character `{other}`"),
                ));
            }
        }
    }
    Ok(tokens)
}
