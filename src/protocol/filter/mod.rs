//! The SCIM filter language (RFC 7644 §3.4.2.2): parsing, evaluation against a resource's
//! JSON, sorting, and the pushdown of indexed equality to the store.
//!
//! Semantics worth knowing:
//! - attribute names, operators and keywords are case-insensitive; string comparison is
//!   case-insensitive unless the attribute is `caseExact` ([`CaseExactness`]);
//! - strings that are both RFC 3339 dates compare chronologically
//!   (`meta.lastModified gt "2011-05-13T04:42:34Z"`);
//! - a filter on an attribute a resource lacks does not match it (so an unknown attribute
//!   selects nothing instead of failing), except `ne`, which holds when no value equals,
//!   and `eq null`, which holds when there is no value;
//! - `attr[filter].sub op value` (Entra's uniqueness lookups, not in RFC 7644's ABNF)
//!   reads as `attr[filter and sub op value]`;
//! - input over [`MAX_FILTER_LEN`] bytes or nesting deeper than [`MAX_DEPTH`] is refused.

mod ast;
mod eval;
mod lexer;
mod parser;
mod pushdown;
mod sort;

pub(crate) use ast::{CompValue, CompareOp, Filter};
#[cfg(test)]
pub(crate) use eval::DefaultCaseRules;
pub(crate) use parser::parse_filter;
#[cfg(test)]
pub(crate) use parser::{MAX_DEPTH, MAX_FILTER_LEN};
pub(crate) use pushdown::{
    IndexedAttribute, IndexedEq, IndexedResource, indexed_equality, is_whole_filter,
};
#[cfg(test)]
pub(crate) use sort::sort_resources;
pub(crate) use sort::{SortOrder, compare_resources};

use crate::error::ScimType;
use crate::protocol::ProtocolError;
use crate::protocol::path::CaseExactness;

/// Why a filter was refused: what is wrong, and where (a byte offset into the filter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at position {position}: {message}")]
pub struct FilterError {
    /// Byte offset of the problem.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl FilterError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}

impl From<FilterError> for ProtocolError {
    fn from(error: FilterError) -> Self {
        ProtocolError::new(ScimType::InvalidFilter, error.to_string())
    }
}

impl Filter {
    /// Whether `resource` (a SCIM resource as JSON) satisfies the filter.
    ///
    /// ```text
    /// use scimkit::protocol::filter::{parse_filter, DefaultCaseRules};
    /// let user = serde_json::json!({"userName": "Bjensen", "emails": [{"type": "work", "value": "bjensen@example.com"}]});
    /// let filter = parse_filter(r#"userName eq "bjensen" and emails[type eq "work"]"#).unwrap();
    /// assert!(filter.matches(&user, &DefaultCaseRules));
    /// ```
    pub(crate) fn matches(&self, resource: &serde_json::Value, rules: &dyn CaseExactness) -> bool {
        eval::matches(self, resource, rules, None)
    }
}

impl Filter {
    /// Whether any comparison in the filter is on `attribute` (a top-level name, matched
    /// case-insensitively): lets a caller skip loading attributes no filter reads.
    pub(crate) fn mentions(&self, attribute: &str) -> bool {
        match self {
            Filter::Compare { path, .. }
            | Filter::Present(path)
            | Filter::ValuePath { path, .. } => path.attribute.eq_ignore_ascii_case(attribute),
            Filter::And(a, b) | Filter::Or(a, b) => a.mentions(attribute) || b.mentions(attribute),
            Filter::Not(inner) => inner.mentions(attribute),
        }
    }
}

#[cfg(test)]
mod tests;
