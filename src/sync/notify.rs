//! Wake-ups for change-feed subscribers: the SCIM service pings a [`ChangeNotifier`] after
//! every successful write, and subscriptions wait on it instead of polling hard.

use std::sync::Arc;

use tokio::sync::watch;

/// A cheap, cloneable signal that the directory changed. Share one between the
/// [`crate::ScimService`] (via `ScimServiceBuilder::change_notifier`) and the
/// [`super::DirectorySync`] that subscribers come from.
#[derive(Debug, Clone)]
pub struct ChangeNotifier {
    sender: Arc<watch::Sender<u64>>,
}

impl Default for ChangeNotifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeNotifier {
    /// A new signal.
    pub fn new() -> Self {
        let (sender, _) = watch::channel(0);
        Self {
            sender: Arc::new(sender),
        }
    }

    /// Tells every waiting subscriber that something changed.
    pub fn notify(&self) {
        self.sender
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }
}
