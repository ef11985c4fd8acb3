//! [`PostgresNotifier`]: change-feed wake-ups across processes with `LISTEN`/`NOTIFY`.
//!
//! Every [`super::PostgresStore`] write that records a change runs `pg_notify(channel,
//! directory_id)` in its own transaction, so the notification is delivered exactly when
//! the change becomes visible, to every process listening. One background connection per
//! notifier `LISTEN`s and fans each notification out to the local listeners of that
//! directory. The change log stays the source of truth: if the connection drops, the
//! notifier reconnects and wakes every listener once (it may have missed something), and a
//! subscriber's fallback poll covers the gap meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::{PostgresOpenError, PostgresStore};
use crate::model::DirectoryId;
use crate::store::{ChangeListener, ChangeNotifier, watch_listener};

/// How long the notifier waits before reconnecting after its connection dropped.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// A [`ChangeNotifier`] that hears the writes of every process sharing the database.
/// Cheap to clone; clones share one connection. Give the same one to the `ScimService`
/// builder and to `DirectorySync`; the background connection closes when the last clone
/// is dropped (and listeners then report that no notification can arrive).
#[derive(Clone)]
pub struct PostgresNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    fanout: Arc<Fanout>,
    task: JoinHandle<()>,
    channel: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One generation counter per directory someone listens to.
#[derive(Default)]
struct Fanout {
    directories: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl Fanout {
    fn wake(&self, directory: &str) {
        let map = self
            .directories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = map.get(directory) {
            sender.send_modify(|g| *g = g.wrapping_add(1));
        }
    }

    fn wake_all(&self) {
        let map = self
            .directories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for sender in map.values() {
            sender.send_modify(|g| *g = g.wrapping_add(1));
        }
    }

    fn subscribe(&self, directory: &str) -> watch::Receiver<u64> {
        let mut map = self
            .directories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(directory.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }
}

impl std::fmt::Debug for PostgresNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresNotifier")
            .field("channel", &self.inner.channel)
            .finish_non_exhaustive()
    }
}

impl PostgresNotifier {
    /// Connects to `url` (without TLS) and listens for the writes of `store`'s schema,
    /// from this process and every other. Returns once `LISTEN` is in place, so a write
    /// committed after this returns wakes this notifier's listeners.
    pub async fn connect(url: &str, store: &PostgresStore) -> Result<Self, PostgresOpenError> {
        let config: tokio_postgres::Config = url.parse().map_err(PostgresOpenError::Config)?;
        let channel = store.notify_channel().to_owned();
        let fanout = Arc::new(Fanout::default());
        let (client, driver) = establish(&config, &channel, &fanout)
            .await
            .map_err(|e| PostgresOpenError::Connect(Box::new(e)))?;
        let task = tokio::spawn(supervise(
            config,
            channel.clone(),
            fanout.clone(),
            client,
            driver,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                fanout,
                task,
                channel,
            }),
        })
    }
}

impl ChangeNotifier for PostgresNotifier {
    fn notify(&self, directory: &DirectoryId) {
        // The write already signalled every process through pg_notify; this wakes local
        // listeners without waiting for the round trip.
        self.inner.fanout.wake(directory.as_str());
    }

    fn listen(&self, directory: &DirectoryId) -> Box<dyn ChangeListener> {
        watch_listener(self.inner.fanout.subscribe(directory.as_str()))
    }
}

/// Connects, starts the task that reads the connection's messages, and `LISTEN`s.
async fn establish(
    config: &tokio_postgres::Config,
    channel: &str,
    fanout: &Arc<Fanout>,
) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let sink = fanout.clone();
    // Polling the connection drives the client's queries and yields the notifications.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => sink.wake(n.payload()),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "PostgresNotifier connection failed");
                    break;
                }
            }
        }
    });
    // The channel is built from a validated schema name: no quote can occur in it.
    client
        .batch_execute(&format!("LISTEN \"{channel}\""))
        .await?;
    Ok((client, driver))
}

/// Keeps a listening connection up for as long as the notifier lives.
async fn supervise(
    config: tokio_postgres::Config,
    channel: String,
    fanout: Arc<Fanout>,
    client: Client,
    driver: JoinHandle<()>,
) {
    let mut current = Some((client, driver));
    loop {
        if let Some((client, driver)) = current.take() {
            let _ = driver.await;
            drop(client);
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
        match establish(&config, &channel, &fanout).await {
            Ok(connection) => {
                // Notifications sent while we were away are lost: wake everyone to look.
                fanout.wake_all();
                current = Some(connection);
            }
            Err(e) => tracing::warn!(error = %e, "PostgresNotifier could not reconnect"),
        }
    }
}
