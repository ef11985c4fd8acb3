//! Signed webhooks over the change feed (feature `webhooks`): a [`WebhookDispatcher`]
//! POSTs every change of the directories it follows, with the snapshot the change
//! carries, to one endpoint of the vendor's, and a receiver checks it with [`verify`].
//!
//! Three lines forward every change of a directory:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use scimkit::webhooks::{WebhookDispatcher, WebhookEndpoint, WebhookSecret};
//! # async fn run(store: Arc<scimkit::store::MemoryStore>, directory: scimkit::model::DirectoryId,
//! #     secret: WebhookSecret) -> Result<(), scimkit::webhooks::WebhookError> {
//! let endpoint = WebhookEndpoint::new("billing", "http://billing.internal/scim-events", secret)?;
//! let dispatcher = WebhookDispatcher::new(store, endpoint).directory(directory);
//! tokio::spawn(dispatcher.run());
//! # Ok(()) }
//! ```
//!
//! **Delivery.** Per directory, changes go out one at a time in feed order: the next is
//! sent only once the endpoint answered 2xx to the previous one, or it was dead-lettered.
//! A failure (a non-2xx status, a transport error, no answer within
//! [`RetryPolicy::timeout`]) is retried after an exponential backoff with jitter, until
//! the [`RetryPolicy::horizon`]; then the change becomes a [`DeadLetter`] and the feed
//! moves on. The cursor (the last change the endpoint is done with) is stored durably
//! per endpoint and directory in the same store ([`WebhookStore`]), after each change: a
//! dispatcher killed at any point re-sends at most the change it was delivering, so
//! delivery is at least once and receivers deduplicate on `webhook-id`. Run one
//! dispatcher per endpoint (two would both deliver).
//!
//! **The request.** `POST` with `Content-Type: application/json` and the Standard
//! Webhooks headers: `webhook-id` (`{directory}:{seq}`, the same on every retry),
//! `webhook-timestamp` (the attempt's Unix time) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the endpoint's
//! [`WebhookSecret`]). The body is
//! `{"type": "<kind>", "timestamp": "<the change's time>", "data": {...}}`, where `data` is
//! the change as the management API's `/scim/changes` shows it (`seq`, `kind`,
//! `resourceId`, `memberId`, the `user` and `group` snapshots) plus `scimDirectoryId`.
//!
//! **Dead letters** are listed and replayed through [`DeadLetters`] (from
//! [`WebhookDispatcher::dead_letters`]), in process or over the management API
//! ([`ManagementService::with_webhooks`](crate::ManagementService::with_webhooks)).
//! See also [`docs::webhooks`](crate::docs::webhooks).

mod client;
mod dispatch;
mod signature;

use std::sync::Arc;
use std::time::Duration;

pub use client::{HyperClient, TransportError, WebhookClient};
pub(crate) use dispatch::dead_letter_json;
pub use dispatch::{DeadLetters, WebhookDispatcher};
pub use signature::{
    DEFAULT_TOLERANCE, InvalidSecret, VerifyError, WEBHOOK_ID, WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP, WebhookSecret, verify, verify_with_tolerance,
};

use crate::store::StoreError;
pub use crate::store::{DeadLetter, WebhookStore};

/// What webhook configuration and replays refuse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// An endpoint name outside `[A-Za-z0-9_.-]{1,64}`.
    #[error("a webhook endpoint name is 1 to 64 of A-Z, a-z, 0-9, `_`, `.`, `-`")]
    InvalidName,
    /// The URL is not an absolute `http://` or `https://` URL.
    #[error("a webhook endpoint URL is an absolute http:// or https:// URL")]
    InvalidUrl,
    /// No such dead letter.
    #[error("no such dead letter")]
    NotFound,
    /// A replay reached the endpoint but was not accepted (or did not reach it).
    #[error("the endpoint did not accept the replay: {0}")]
    Delivery(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One receiving endpoint: a name (the key its cursors and dead letters are stored
/// under: keep it stable), its URL and its signing secret.
#[derive(Clone)]
pub struct WebhookEndpoint {
    name: String,
    url: http::Uri,
    secret: WebhookSecret,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebhookEndpoint {
    /// An endpoint named `name` (`[A-Za-z0-9_.-]`, 1 to 64) at `url` (absolute, `http` or
    /// `https`; for `https` give the dispatcher a TLS client, see [`HyperClient`]).
    pub fn new(
        name: impl Into<String>,
        url: &str,
        secret: WebhookSecret,
    ) -> Result<Self, WebhookError> {
        let name = name.into();
        let valid_name = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid_name {
            return Err(WebhookError::InvalidName);
        }
        let url: http::Uri = url.parse().map_err(|_| WebhookError::InvalidUrl)?;
        let scheme_ok = matches!(url.scheme_str(), Some("http" | "https"));
        if !scheme_ok || url.authority().is_none() {
            return Err(WebhookError::InvalidUrl);
        }
        Ok(Self { name, url, secret })
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where changes are POSTed.
    pub fn url(&self) -> &http::Uri {
        &self.url
    }
}

/// How deliveries are retried. `#[non_exhaustive]`: start from `default()` and use the
/// `with_` methods.
///
/// Attempt `n`'s failure waits `min(initial_delay × 2ⁿ⁻¹, max_delay)`, jittered down to
/// between half and all of it (so endpoints recovering from an outage are not hit in
/// lockstep), before attempt `n + 1`. A change whose next attempt would start later than
/// `horizon` after its first is dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The wait after the first failure (default 1 s).
    pub initial_delay: Duration,
    /// The longest wait between attempts (default 1 h).
    pub max_delay: Duration,
    /// How long one change is retried before it is dead-lettered (default 24 h).
    pub horizon: Duration,
    /// How long one attempt may take, connection included (default 15 s).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3600),
            horizon: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// With another wait after the first failure.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// With another longest wait.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// With another retry horizon.
    pub fn with_horizon(mut self, horizon: Duration) -> Self {
        self.horizon = horizon;
        self
    }

    /// With another per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter.
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The jittered wait after failed attempt `attempt`: between half and all of
    /// [`RetryPolicy::ceiling`].
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let mut random = [0u8; 8];
        let fraction = match getrandom::fill(&mut random) {
            Ok(()) => (u64::from_le_bytes(random) >> 11) as f64 / (1u64 << 53) as f64,
            Err(_) => 0.5,
        };
        ceiling.mul_f64(0.5 + fraction / 2.0)
    }
}

/// The endpoint's state shared by the dispatcher and its [`DeadLetters`] handle.
#[derive(Clone)]
struct Shared {
    endpoint: Arc<WebhookEndpoint>,
    webhooks: Arc<dyn WebhookStore>,
    client: Arc<dyn WebhookClient>,
    retry: RetryPolicy,
    clock: Arc<dyn crate::model::Clock>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_jitter_stays_within_half_to_all() {
        let retry = RetryPolicy::default()
            .with_initial_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1));
        let ceilings: Vec<u128> = (1..=6).map(|n| retry.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(retry.ceiling(200), Duration::from_secs(1), "no overflow");
        for attempt in 1..=6 {
            let delay = retry.delay(attempt);
            let ceiling = retry.ceiling(attempt);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} of {ceiling:?}"
            );
        }
    }

    #[test]
    fn endpoint_names_and_urls_are_checked() {
        let secret = || WebhookSecret::generate().unwrap();
        assert!(WebhookEndpoint::new("billing-1.eu", "https://example.com/hook", secret()).is_ok());
        assert!(matches!(
            WebhookEndpoint::new("", "https://example.com", secret()),
            Err(WebhookError::InvalidName)
        ));
        assert!(matches!(
            WebhookEndpoint::new("a/b", "https://example.com", secret()),
            Err(WebhookError::InvalidName)
        ));
        assert!(matches!(
            WebhookEndpoint::new("a", "/relative", secret()),
            Err(WebhookError::InvalidUrl)
        ));
        assert!(matches!(
            WebhookEndpoint::new("a", "ftp://example.com/x", secret()),
            Err(WebhookError::InvalidUrl)
        ));
    }
}
