//! A request path under the service's prefix, split once: routing, the tracing span and
//! the change notifier all read this one parse.

use ::http::Method;

use super::SEARCH;

/// The segments of a path after the service's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Route<'p> {
    /// Whether the path is under the prefix at all.
    pub(super) under_prefix: bool,
    /// The first segments (routing reads no further), without allocating per request.
    segments: [&'p str; 3],
    /// How many segments there are in all.
    depth: usize,
}

impl<'p> Route<'p> {
    /// Splits `path` after `prefix` (which must end at a segment boundary).
    pub(super) fn parse(prefix: &str, path: &'p str) -> Self {
        match path
            .strip_prefix(prefix)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        {
            Some(rest) => {
                let mut segments = [""; 3];
                let mut depth = 0;
                for segment in rest.split('/').filter(|s| !s.is_empty()) {
                    if let Some(slot) = segments.get_mut(depth) {
                        *slot = segment;
                    }
                    depth += 1;
                }
                Self {
                    under_prefix: true,
                    segments,
                    depth,
                }
            }
            None => Self {
                under_prefix: false,
                segments: [""; 3],
                depth: 0,
            },
        }
    }

    /// The directory segment (empty when there is none).
    pub(super) fn directory(&self) -> &'p str {
        self.segment(0).unwrap_or("")
    }

    /// The endpoint: `Users`, `Groups`, `.search`, a discovery endpoint (empty when none).
    pub(super) fn endpoint(&self) -> &'p str {
        self.segment(1).unwrap_or("")
    }

    /// The item under the endpoint: a resource id, `.search`, a schema URN.
    pub(super) fn item(&self) -> Option<&'p str> {
        self.segment(2)
    }

    /// How many segments the path has after the prefix.
    pub(super) fn depth(&self) -> usize {
        self.depth
    }

    fn segment(&self, n: usize) -> Option<&'p str> {
        self.segments.get(n).copied().filter(|_| n < self.depth)
    }

    /// The operation a method on this route is, for the tracing span.
    pub(super) fn operation(&self, method: &Method) -> &'static str {
        let item = self.item();
        match (method, item) {
            (&Method::GET, None) => "list",
            (&Method::GET, Some(_)) => "get",
            (&Method::POST, _) if self.endpoint() == SEARCH || item == Some(SEARCH) => "search",
            (&Method::POST, _) => "create",
            (&Method::PUT, _) => "replace",
            (&Method::PATCH, _) => "patch",
            (&Method::DELETE, _) => "delete",
            _ => "other",
        }
    }
}
