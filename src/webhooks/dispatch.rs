//! The delivery loop: per directory, follow the feed from the stored cursor, deliver each
//! change with retries, then store the cursor (or the dead letter) before the next.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::{HyperClient, WebhookClient};
use super::signature::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use super::{RetryPolicy, Shared, WebhookEndpoint, WebhookError};
use crate::model::{Change, Clock, DirectoryId, SystemClock};
use crate::store::{ChangeNotifier, DeadLetter, DirectoryStore, StoreError, WebhookStore};
use crate::sync::{DirectorySelector, DirectorySync, SyncError};

/// Forwards the change feed of chosen directories to one [`WebhookEndpoint`]. Build it,
/// name the directories, and spawn [`WebhookDispatcher::run`]; see the
/// [module docs](super) for the delivery guarantees.
pub struct WebhookDispatcher {
    shared: Shared,
    sync: DirectorySync,
    directories: Vec<DirectoryId>,
}

impl std::fmt::Debug for WebhookDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookDispatcher")
            .field("endpoint", &self.shared.endpoint)
            .field("directories", &self.directories)
            .finish_non_exhaustive()
    }
}

impl WebhookDispatcher {
    /// A dispatcher over one store that keeps the directory and the delivery state, with
    /// a plain-HTTP [`HyperClient`] and the default [`RetryPolicy`]. It follows no
    /// directory until given some with [`WebhookDispatcher::directory`].
    pub fn new<S>(store: Arc<S>, endpoint: WebhookEndpoint) -> Self
    where
        S: DirectoryStore + WebhookStore + 'static,
    {
        Self::with_stores(store.clone(), store, endpoint)
    }

    /// A dispatcher over split stores: the directory in `directories`, cursors and dead
    /// letters in `webhooks`.
    pub fn with_stores(
        directories: Arc<dyn DirectoryStore>,
        webhooks: Arc<dyn WebhookStore>,
        endpoint: WebhookEndpoint,
    ) -> Self {
        Self {
            shared: Shared {
                endpoint: Arc::new(endpoint),
                webhooks,
                client: Arc::new(HyperClient::http()),
                retry: RetryPolicy::default(),
                clock: Arc::new(SystemClock),
            },
            sync: DirectorySync::new(directories),
            directories: Vec::new(),
        }
    }

    /// Also forwards the changes of `directory`.
    pub fn directory(mut self, directory: DirectoryId) -> Self {
        if !self.directories.contains(&directory) {
            self.directories.push(directory);
        }
        self
    }

    /// Sends through `client` (a TLS-capable [`HyperClient`], or your own HTTP stack).
    pub fn with_client(mut self, client: impl WebhookClient + 'static) -> Self {
        self.shared.client = Arc::new(client);
        self
    }

    /// Retries as `retry` says.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.shared.retry = retry;
        self
    }

    /// Wakes the feed with `notifier` (the one the `ScimService` builder was given, or the
    /// backend's cross-process one) instead of polling every 250 ms.
    pub fn with_notifier(mut self, notifier: Arc<dyn ChangeNotifier>) -> Self {
        self.sync = self.sync.with_notifier(notifier);
        self
    }

    /// Stamps `webhook-timestamp` (and dead letters) from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.shared.clock = clock;
        self
    }

    /// The handle that lists and replays this endpoint's dead letters (also for
    /// [`ManagementService::with_webhooks`](crate::ManagementService::with_webhooks)).
    pub fn dead_letters(&self) -> DeadLetters {
        DeadLetters {
            shared: self.shared.clone(),
        }
    }

    /// Delivers every change of the directories, from each one's stored cursor, forever
    /// (store and endpoint failures are retried, never returned). Spawn it; abort the task
    /// to stop: at most the change in flight is sent again after a restart.
    pub async fn run(self) {
        let loops = self
            .directories
            .iter()
            .map(|dir| follow(&self.shared, &self.sync, dir));
        futures_util::future::join_all(loops).await;
    }
}

/// How long to wait before retrying a store call that failed for the `n`th time.
fn store_backoff(retry: &RetryPolicy, failures: u32) -> Duration {
    retry.delay(failures.min(16))
}

/// Calls `op` until it succeeds, waiting longer after each failure.
async fn persist<F, Fut, T>(shared: &Shared, what: &'static str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut failures = 0;
    loop {
        match op().await {
            Ok(value) => return value,
            Err(error) => {
                failures += 1;
                tracing::warn!(endpoint = shared.endpoint.name(), what, %error, "webhook store call failed; retrying");
                tokio::time::sleep(store_backoff(&shared.retry, failures)).await;
            }
        }
    }
}

async fn follow(shared: &Shared, sync: &DirectorySync, dir: &DirectoryId) {
    let name = shared.endpoint.name();
    let mut cursor = persist(shared, "read cursor", || {
        shared.webhooks.webhook_cursor(name, dir)
    })
    .await;
    let selector = DirectorySelector::Directory(dir.clone());
    let mut failures = 0;
    loop {
        let mut feed = match sync.subscribe(&selector, cursor).await {
            Ok(feed) => feed,
            Err(error) => {
                failures += 1;
                tracing::warn!(endpoint = name, directory = %dir, %error, "cannot follow the change feed; retrying");
                tokio::time::sleep(store_backoff(&shared.retry, failures)).await;
                continue;
            }
        };
        loop {
            let change = match feed.next().await {
                Ok(change) => change,
                Err(SyncError::CursorTrimmed { through }) => {
                    // The log no longer holds these changes: nothing can deliver them.
                    tracing::error!(
                        endpoint = name,
                        directory = %dir,
                        from = cursor,
                        through,
                        "changes were trimmed before delivery; skipping to the trim point"
                    );
                    persist(shared, "write cursor", || {
                        shared.webhooks.set_webhook_cursor(name, dir, through)
                    })
                    .await;
                    cursor = through;
                    break;
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(endpoint = name, directory = %dir, %error, "reading the change feed failed; retrying");
                    tokio::time::sleep(store_backoff(&shared.retry, failures)).await;
                    continue;
                }
            };
            failures = 0;
            match deliver(shared, &change).await {
                Ok(()) => {
                    persist(shared, "write cursor", || {
                        shared.webhooks.set_webhook_cursor(name, dir, change.seq)
                    })
                    .await;
                }
                Err(letter) => {
                    tracing::error!(
                        endpoint = name,
                        directory = %dir,
                        seq = change.seq,
                        attempts = letter.attempts,
                        error = %letter.last_error,
                        "webhook delivery gave up; dead-lettered"
                    );
                    persist(shared, "write dead letter", || {
                        shared.webhooks.insert_dead_letter(letter.clone())
                    })
                    .await;
                }
            }
            cursor = change.seq;
        }
    }
}

/// The event a change is sent as.
fn event_body(change: &Change) -> Vec<u8> {
    let mut data = crate::service::change_json(change);
    if let Some(o) = data.as_object_mut() {
        o.insert("scimDirectoryId".into(), json!(change.directory_id));
    }
    let event = json!({
        "type": change.kind,
        "timestamp": change.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "data": data,
    });
    serde_json::to_vec(&event).unwrap_or_default()
}

fn message_id(dir: &DirectoryId, seq: u64) -> String {
    format!("{dir}:{seq}")
}

/// One attempt: `Ok` on a 2xx answer, else why not.
async fn attempt(shared: &Shared, id: &str, body: &Bytes) -> Result<(), String> {
    let timestamp = shared.clock.now().unix_timestamp();
    let signature = shared.endpoint.secret.sign(id, timestamp, body);
    let request = http::Request::post(shared.endpoint.url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("scimkit/", env!("CARGO_PKG_VERSION")),
        )
        .header(WEBHOOK_ID, id)
        .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
        .header(WEBHOOK_SIGNATURE, signature)
        .body(body.clone())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    match tokio::time::timeout(shared.retry.timeout, shared.client.send(request)).await {
        Ok(Ok(status)) if status.is_success() => Ok(()),
        Ok(Ok(status)) => Err(format!("HTTP {}", status.as_u16())),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "no answer within {} ms",
            shared.retry.timeout.as_millis()
        )),
    }
}

/// Delivers one change, retrying until the horizon; the dead letter if it gave up.
async fn deliver(shared: &Shared, change: &Change) -> Result<(), DeadLetter> {
    let id = message_id(&change.directory_id, change.seq);
    let body = Bytes::from(event_body(change));
    let started = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts = attempts.saturating_add(1);
        let error = match attempt(shared, &id, &body).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let wait = shared.retry.delay(attempts);
        tracing::warn!(
            endpoint = shared.endpoint.name(),
            directory = %change.directory_id,
            seq = change.seq,
            attempt = attempts,
            %error,
            retry_in_ms = wait.as_millis() as u64,
            "webhook delivery failed"
        );
        if started.elapsed() + wait > shared.retry.horizon {
            return Err(DeadLetter::new(
                shared.endpoint.name(),
                change.directory_id.clone(),
                change.seq,
                String::from_utf8_lossy(&body).into_owned(),
                attempts,
                error,
                shared.clock.now(),
            ));
        }
        tokio::time::sleep(wait).await;
    }
}

/// An endpoint's dead letters: list them, replay one. Cheap to clone.
#[derive(Clone)]
pub struct DeadLetters {
    shared: Shared,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("endpoint", &self.shared.endpoint.name())
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    /// The endpoint's name.
    pub fn endpoint(&self) -> &str {
        self.shared.endpoint.name()
    }

    /// The dead letters, by directory then seq, at most `limit`.
    pub async fn list(&self, limit: usize) -> Result<Vec<DeadLetter>, WebhookError> {
        Ok(self
            .shared
            .webhooks
            .list_dead_letters(self.endpoint(), limit)
            .await?)
    }

    /// Sends a dead letter again, once (same `webhook-id` and body, a fresh timestamp and
    /// signature). Accepted: it is removed. Refused: it stays, with one more attempt and
    /// the new error, and the error is returned. The feed's order is not involved: the
    /// endpoint receives it after later changes.
    pub async fn replay(&self, directory: &DirectoryId, seq: u64) -> Result<(), WebhookError> {
        let webhooks = &self.shared.webhooks;
        let Some(mut letter) = webhooks
            .get_dead_letter(self.endpoint(), directory, seq)
            .await?
        else {
            return Err(WebhookError::NotFound);
        };
        let id = message_id(directory, seq);
        match attempt(&self.shared, &id, &Bytes::from(letter.body.clone())).await {
            Ok(()) => {
                webhooks
                    .remove_dead_letter(self.endpoint(), directory, seq)
                    .await?;
                Ok(())
            }
            Err(error) => {
                letter.attempts = letter.attempts.saturating_add(1);
                letter.last_error = error.clone();
                letter.failed_at = self.shared.clock.now();
                webhooks.insert_dead_letter(letter).await?;
                Err(WebhookError::Delivery(error))
            }
        }
    }
}

/// A dead letter as the management API shows it.
pub(crate) fn dead_letter_json(letter: &DeadLetter) -> Value {
    json!({
        "endpoint": letter.endpoint,
        "scimDirectoryId": letter.directory_id,
        "seq": letter.seq,
        "attempts": letter.attempts,
        "lastError": letter.last_error,
        "failedAt": letter.failed_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "event": serde_json::from_str::<Value>(&letter.body).unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>(_: &T) {}

    #[test]
    fn the_run_future_can_be_spawned() {
        let store = Arc::new(crate::store::MemoryStore::new());
        let secret = super::super::WebhookSecret::generate().unwrap();
        let endpoint = WebhookEndpoint::new("e", "http://127.0.0.1:9/", secret).unwrap();
        let run = WebhookDispatcher::new(store, endpoint).run();
        is_send(&run);
    }
}
