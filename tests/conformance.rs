//! Every backend scimkit ships keeps the promises of its store traits.
#![cfg(feature = "conformance")]

use std::sync::Arc;

use scimkit::store::conformance::{self, Stores};
use scimkit::store::{DirectoryStore, MemoryStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_as_arc_dyn() {
    conformance::run_all(|| async {
        let store = Arc::new(MemoryStore::new());
        (
            store.clone() as Arc<dyn DirectoryStore>,
            store as Arc<dyn scimkit::store::TokenStore>,
        )
    })
    .await;
}

#[tokio::test]
async fn memory_store_keeps_webhook_state() {
    conformance::webhook_store(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sled")]
#[tokio::test(flavor = "multi_thread")]
async fn sled_store_keeps_webhook_state_across_a_reopen() {
    use scimkit::store::{SledStore, WebhookStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open"));
    conformance::webhook_store(store.clone()).await;
    drop(store);
    let reopened = SledStore::open(dir.path()).expect("reopen");
    let a = scimkit::model::DirectoryId::from_uuid(uuid::Uuid::from_u128((1u128 << 100) | 1));
    assert_eq!(
        reopened
            .webhook_cursor("billing", &a)
            .await
            .expect("cursor"),
        9
    );
    assert_eq!(
        reopened
            .list_dead_letters("billing", 10)
            .await
            .expect("list")
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_as_concrete_and_boxed() {
    // A concrete store, and one that arrived as a Box<dyn>, both fit the suite.
    let concrete: MemoryStore = MemoryStore::new();
    let arc = Arc::new(concrete);
    let stores: Stores = (arc.clone(), arc);
    conformance::organizations(stores).await;
    let boxed: Box<dyn DirectoryStore> = Box::new(MemoryStore::new());
    let from_box: Arc<dyn DirectoryStore> = Arc::from(boxed);
    conformance::user_versions((from_box, Arc::new(MemoryStore::new()))).await;
}

#[cfg(feature = "sled")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_store() {
    let dirs = std::sync::Mutex::new(Vec::new());
    // SledStore refuses member groups on this branch; its nesting lands with branch
    // `nested`, which runs `run_all` here.
    conformance::run_all_with(conformance::Nesting::Refused, || {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(scimkit::store::SledStore::open(dir.path()).expect("open"));
        dirs.lock().expect("lock").push(dir);
        async move {
            (
                store.clone() as Arc<dyn DirectoryStore>,
                store as Arc<dyn scimkit::store::TokenStore>,
            )
        }
    })
    .await;
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn sled_refuses_a_locked_path_and_a_foreign_format() {
    use scimkit::store::{SledOpenError, SledStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let first = SledStore::open(dir.path()).expect("open");
    assert!(
        matches!(SledStore::open(dir.path()), Err(SledOpenError::Open { .. })),
        "a path another handle holds is refused, not a panic"
    );
    drop(first);
    let db = sled::open(dir.path()).expect("raw open");
    assert_eq!(
        db.get("format_version").expect("read").as_deref(),
        Some(scimkit::store::FORMAT_VERSION.to_string().as_bytes()),
        "the first open writes the format version"
    );
    drop(db);
    let reopened = SledStore::open(dir.path()).expect("reopen after close");
    drop(reopened);
    let db = sled::open(dir.path()).expect("raw open");
    db.insert("format_version", "99").expect("write");
    db.flush().expect("flush");
    drop(db);
    match SledStore::open(dir.path()) {
        Err(SledOpenError::FormatMismatch { found, .. }) => assert_eq!(found, "99"),
        other => panic!("expected a format mismatch, got {other:?}"),
    }
    let file = tempfile::NamedTempFile::new().expect("file");
    assert!(
        matches!(
            SledStore::open(file.path()),
            Err(SledOpenError::Open { .. })
        ),
        "a file is not a database"
    );
}
