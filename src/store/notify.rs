//! Wake-ups for change-feed subscribers.
//!
//! The change log in the store is the source of truth; a [`ChangeNotifier`] only tells
//! subscribers when to look again, so a lost wake-up delays a change and never loses it.
//! [`LocalNotifier`] wakes subscribers in this process; a backend shared by several
//! processes ships its own (PostgreSQL's wakes them with `LISTEN`/`NOTIFY`).

use std::fmt::Debug;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::model::DirectoryId;

/// Tells subscribers that a directory's change log may have grown.
///
/// [`crate::ScimService`] calls [`ChangeNotifier::notify`] after every successful write;
/// [`crate::DirectorySync`] subscriptions [`listen`](ChangeNotifier::listen) and read the
/// store when woken.
pub trait ChangeNotifier: Send + Sync + Debug {
    /// The directory's log may have grown: wake its listeners.
    fn notify(&self, directory: &DirectoryId);
    /// A listener for the directory (it may also wake for others' changes).
    fn listen(&self, directory: &DirectoryId) -> Box<dyn ChangeListener>;
}

/// One subscriber's end of a [`ChangeNotifier`].
#[async_trait]
pub trait ChangeListener: Send + Sync {
    /// Waits until a notification arrived after this listener was made or after the last
    /// return of `changed` (one that arrived before this call returns at once). `false`
    /// if no notification can ever arrive (the notifier is gone). Cancel-safe.
    async fn changed(&mut self) -> bool;
}

/// A [`ChangeNotifier`] for subscribers in this process. Cheap to clone; clones share one
/// signal. Give the same one to the `ScimService` builder and to `DirectorySync`.
#[derive(Debug, Clone)]
pub struct LocalNotifier {
    sender: std::sync::Arc<watch::Sender<u64>>,
}

impl Default for LocalNotifier {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalNotifier {
    /// A new signal.
    pub fn new() -> Self {
        let (sender, _) = watch::channel(0);
        Self {
            sender: std::sync::Arc::new(sender),
        }
    }

    /// Wakes every listener, whatever directory it listens to.
    pub fn notify_all(&self) {
        self.sender
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}

impl ChangeNotifier for LocalNotifier {
    fn notify(&self, _directory: &DirectoryId) {
        self.notify_all();
    }

    fn listen(&self, _directory: &DirectoryId) -> Box<dyn ChangeListener> {
        Box::new(WatchListener(self.sender.subscribe()))
    }
}

/// A listener over a `tokio::sync::watch` generation counter; backends that fan their own
/// wake-ups into a `watch` channel can reuse it through [`watch_listener`].
struct WatchListener(watch::Receiver<u64>);

#[async_trait]
impl ChangeListener for WatchListener {
    async fn changed(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }
}

/// A [`ChangeListener`] that wakes whenever `receiver`'s value changes.
pub fn watch_listener(receiver: watch::Receiver<u64>) -> Box<dyn ChangeListener> {
    Box::new(WatchListener(receiver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notification_before_the_wait_is_not_lost() {
        let notifier = LocalNotifier::new();
        let dir = DirectoryId::from_uuid(uuid::Uuid::from_u128(1));
        let mut listener = notifier.listen(&dir);
        notifier.notify(&dir);
        assert!(listener.changed().await);
    }

    #[tokio::test]
    async fn a_listener_whose_notifier_is_gone_says_so() {
        let notifier = LocalNotifier::new();
        let dir = DirectoryId::from_uuid(uuid::Uuid::from_u128(1));
        let mut listener = notifier.listen(&dir);
        drop(notifier);
        assert!(!listener.changed().await);
    }
}
