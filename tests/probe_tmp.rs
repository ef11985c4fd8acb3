#![cfg(all(feature = "conformance", feature = "sled"))]
use scimkit::store::SledStore;
use scimkit::store::conformance::{self};
use std::sync::Arc;
macro_rules! probe { ($($name:ident),*) => { $(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn $name() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(SledStore::open(dir.path()).unwrap());
        let t = std::time::Instant::now();
        tokio::time::timeout(std::time::Duration::from_secs(20), conformance::$name((s.clone(), s))).await.expect("timed out");
        eprintln!("{} took {:?}", stringify!($name), t.elapsed());
    }
)* } }
probe!(
    organizations,
    directories,
    user_versions,
    user_indexes,
    keyset_listing,
    user_name_uniqueness,
    concurrent_creates,
    memberships,
    concurrent_member_edits,
    group_updates,
    change_log,
    tokens,
    isolation
);
