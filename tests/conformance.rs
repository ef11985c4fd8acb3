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
