//! The last SCIM requests of each directory, kept in memory for the setup page.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;

use super::super::observe::{RequestLog, RequestRecord};
use crate::model::{Clock, DirectoryId, SystemClock};

/// How many requests are kept per directory, by default.
const DEFAULT_PER_DIRECTORY: usize = 20;
/// How many directories are tracked at most; the one seen least recently is dropped first.
/// Request paths come from the network, so without a cap anyone could grow the map.
const MAX_DIRECTORIES: usize = 10_000;

/// One request, as the setup page shows it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecentRequest {
    /// When it was answered.
    pub at: OffsetDateTime,
    /// What was asked, and the answer.
    pub record: RequestRecord,
}

/// A [`RequestLog`] that keeps the last requests of each directory (20 by default) in
/// memory, for [`SetupPage`](super::SetupPage) to show the customer's IT admin what their
/// IdP sent and why anything was refused. Give the same `Arc` to
/// [`ScimServiceBuilder::request_log`](crate::service::ScimServiceBuilder::request_log)
/// and [`SetupPage::with_recent_requests`](super::SetupPage::with_recent_requests).
///
/// Each process keeps its own: behind several replicas, the page shows the requests the
/// replica serving it answered. Requests refused before their directory is known (a
/// malformed path) are not kept; a wrong token for a directory is, so the admin sees it.
pub struct RecentRequests {
    per_directory: usize,
    clock: Arc<dyn Clock>,
    inner: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    /// Each directory's requests, oldest first, with the tick of its last write.
    by_directory: HashMap<DirectoryId, (u64, VecDeque<RecentRequest>)>,
    tick: u64,
}

impl std::fmt::Debug for RecentRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentRequests")
            .field("per_directory", &self.per_directory)
            .finish_non_exhaustive()
    }
}

impl Default for RecentRequests {
    fn default() -> Self {
        Self::new()
    }
}

impl RecentRequests {
    /// Keeps the last 20 requests of each directory.
    pub fn new() -> Self {
        Self {
            per_directory: DEFAULT_PER_DIRECTORY,
            clock: Arc::new(SystemClock),
            inner: Mutex::default(),
        }
    }

    /// Keeps the last `n` (at least 1).
    pub fn with_capacity(mut self, n: usize) -> Self {
        self.per_directory = n.max(1);
        self
    }

    /// Stamps requests with `clock` (default: the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The directory's recent requests, newest first.
    pub fn of(&self, directory: &DirectoryId) -> Vec<RecentRequest> {
        let recent = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        recent
            .by_directory
            .get(directory)
            .map(|(_, requests)| requests.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

/// The directory a SCIM request path names: its first segment that is a directory id.
fn directory_of(path: &str) -> Option<DirectoryId> {
    // The prefix test first: a failed parse builds its error, and this runs per request.
    path.split('/')
        .filter(|segment| segment.starts_with(DirectoryId::PREFIX))
        .find_map(|segment| segment.parse().ok())
}

impl RequestLog for RecentRequests {
    fn record(&self, record: RequestRecord) {
        let Some(directory) = directory_of(&record.path) else {
            return;
        };
        let entry = RecentRequest {
            at: self.clock.now(),
            record,
        };
        let mut recent = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        recent.tick += 1;
        let tick = recent.tick;
        let by_directory = &mut recent.by_directory;
        // One hash for the usual case, a directory already tracked.
        if let Some((last, requests)) = by_directory.get_mut(&directory) {
            *last = tick;
            if requests.len() >= self.per_directory {
                requests.pop_front();
            }
            requests.push_back(entry);
            return;
        }
        if by_directory.len() >= MAX_DIRECTORIES {
            // Only a flood of distinct directory ids gets here, so the scan is rare.
            let oldest = by_directory
                .iter()
                .min_by_key(|(_, (last, _))| *last)
                .map(|(d, _)| d.clone());
            if let Some(oldest) = oldest {
                by_directory.remove(&oldest);
            }
        }
        by_directory.insert(directory, (tick, VecDeque::from([entry])));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::{Method, StatusCode};

    use super::*;

    fn record(path: &str, status: StatusCode) -> RequestRecord {
        RequestRecord {
            method: Method::GET,
            path: path.to_owned(),
            status,
            user_agent: None,
            scim_type: None,
            detail: None,
            duration: Duration::ZERO,
            body: None,
        }
    }

    #[test]
    fn keeps_the_last_requests_of_each_directory_newest_first() {
        let log = RecentRequests::new().with_capacity(2);
        let a = DirectoryId::from_uuid(uuid::Uuid::from_u128(1));
        let b = DirectoryId::from_uuid(uuid::Uuid::from_u128(2));
        for (n, status) in [
            StatusCode::OK,
            StatusCode::CREATED,
            StatusCode::UNAUTHORIZED,
        ]
        .into_iter()
        .enumerate()
        {
            log.record(record(&format!("/scim/v2/{a}/Users/{n}"), status));
        }
        log.record(record(&format!("/scim/v2/{b}/Groups"), StatusCode::OK));
        log.record(record(
            "/scim/v2/not-a-directory/Users",
            StatusCode::UNAUTHORIZED,
        ));
        let statuses: Vec<_> = log.of(&a).iter().map(|r| r.record.status).collect();
        assert_eq!(statuses, [StatusCode::UNAUTHORIZED, StatusCode::CREATED]);
        assert_eq!(log.of(&b).len(), 1);
    }

    #[test]
    fn the_number_of_directories_is_bounded() {
        let log = RecentRequests::new();
        for n in 0..(MAX_DIRECTORIES as u128 + 5) {
            let d = DirectoryId::from_uuid(uuid::Uuid::from_u128(n));
            log.record(record(&format!("/scim/v2/{d}/Users"), StatusCode::OK));
        }
        let recent = log.inner.lock().unwrap();
        assert_eq!(recent.by_directory.len(), MAX_DIRECTORIES);
        assert!(
            !recent
                .by_directory
                .contains_key(&DirectoryId::from_uuid(uuid::Uuid::from_u128(0))),
            "the least recently seen directory went first"
        );
    }
}
