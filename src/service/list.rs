//! List requests (RFC 7644 §3.4.2): paging parameters.

use super::Config;
use super::http::Query;
use crate::error::ScimError;

/// `startIndex` (1-based) and `count` of a list request, clamped to the service's limits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paging {
    pub start_index: usize,
    pub count: usize,
}

impl Paging {
    pub fn from_query(query: &Query, config: &Config) -> Result<Self, ScimError> {
        Ok(Self {
            start_index: query.integer("startIndex")?.unwrap_or(1).max(1),
            count: query
                .integer("count")?
                .unwrap_or(config.default_page_size)
                .min(config.max_page_size),
        })
    }

    /// The items of `matches` on this page.
    pub fn window<T>(self, matches: &[T]) -> impl Iterator<Item = &T> {
        matches.iter().skip(self.start_index - 1).take(self.count)
    }
}
