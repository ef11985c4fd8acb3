//! The filter syntax tree and its printed form.

use std::fmt;

use crate::protocol::path::AttrPath;

/// A parsed SCIM filter (RFC 7644 §3.4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// `attrPath op value`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared with.
        value: CompValue,
    },
    /// `attrPath pr`.
    Present(AttrPath),
    /// Both hold.
    And(Box<Filter>, Box<Filter>),
    /// Either holds.
    Or(Box<Filter>, Box<Filter>),
    /// `not ( filter )`.
    Not(Box<Filter>),
    /// `attrPath[filter]`: some element of a multi-valued attribute matches `filter`,
    /// whose paths name the element's sub-attributes.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The condition on one element.
        filter: Box<Filter>,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains (strings).
    Co,
    /// Starts with (strings).
    Sw,
    /// Ends with (strings).
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl CompareOp {
    /// Reads an operator name, case-insensitively.
    pub(crate) fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// The operator's name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Whether the operator orders values (and so refuses booleans and null).
    pub(crate) fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }
}

/// A literal in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string.
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

impl Filter {
    /// Prints an operand of `and`/`or`, with parentheses only where the parser would
    /// otherwise build a different tree: `and` binds tighter than `or`, and both group
    /// from the left. Keeping them minimal keeps a long chain within [`MAX_DEPTH`] when
    /// printed, so that it parses back.
    ///
    /// [`MAX_DEPTH`]: super::MAX_DEPTH
    fn fmt_operand(
        &self,
        f: &mut fmt::Formatter<'_>,
        parent_is_and: bool,
        is_right: bool,
    ) -> fmt::Result {
        let needs_parentheses = match self {
            Self::Or(..) => parent_is_and || is_right,
            Self::And(..) => parent_is_and && is_right,
            _ => false,
        };
        if needs_parentheses {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

/// Prints a filter that parses back to an equal tree.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Self::Present(path) => write!(f, "{path} pr"),
            Self::And(a, b) | Self::Or(a, b) => {
                let is_and = matches!(self, Self::And(..));
                a.fmt_operand(f, is_and, false)?;
                f.write_str(if is_and { " and " } else { " or " })?;
                b.fmt_operand(f, is_and, true)
            }
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}
