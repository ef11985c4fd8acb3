//! What only the sled backend promises: counters and state indexes kept by every write,
//! trimming and purging that survive a restart (and a crash part-way), format migration,
//! and records that cannot be decoded.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::codec::{decode, encode};
use super::keys::*;
use super::*;
use crate::model::{ChangeKind, Meta, ResourceId, UserState};
use crate::store::{GroupKey, UniqueAttribute, UserKey};

fn at() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

fn uid(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(n))
}

fn gid(n: u128) -> GroupId {
    GroupId::from_uuid(uuid::Uuid::from_u128(n))
}

fn did(n: u128) -> DirectoryId {
    DirectoryId::from_uuid(uuid::Uuid::from_u128(n))
}

fn user(dir: &DirectoryId, n: u128, state: UserState) -> User {
    User {
        id: uid(n),
        directory_id: dir.clone(),
        email: Some(format!("u{n}@example.com")),
        state,
        attributes: json!({"userName": format!("u{n}@example.com"), "externalId": format!("x{}", n % 2)}),
        meta: Meta::new(at()),
        unique_keys: Vec::new(),
    }
}

fn group(dir: &DirectoryId, n: u128, deleted: bool) -> Group {
    Group {
        id: gid(n),
        directory_id: dir.clone(),
        display_name: format!("G{n}"),
        deleted,
        attributes: json!({"displayName": format!("G{n}")}),
        meta: Meta::new(at()),
        unique_keys: Vec::new(),
    }
}

/// A store with one organization and directories 1 and 2.
async fn store(path: &std::path::Path) -> SledStore {
    let store = SledStore::open(path).expect("open");
    let org = Organization {
        id: OrganizationId::from_uuid(uuid::Uuid::from_u128(1)),
        external_id: None,
        domains: vec![],
        created: at(),
    };
    store.insert_organization(org.clone()).await.expect("org");
    for n in [1, 2] {
        store
            .insert_directory(Directory::new(did(n), org.id.clone(), n == 1))
            .await
            .expect("dir");
    }
    store
}

fn ids(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id.clone()).collect()
}

fn states(states: States) -> UserFilter {
    UserFilter {
        states,
        ..UserFilter::default()
    }
}

/// Users 1..=9 in directory 1: 1-3 active, 4-6 deactivated, 7-9 deleted; users 1-4 and 7
/// in group 100; group 101 deleted.
async fn populated(path: &std::path::Path) -> SledStore {
    let store = store(path).await;
    let dir = did(1);
    for n in 1..=9 {
        let state = match n {
            1..=3 => UserState::Active,
            4..=6 => UserState::Deactivated,
            _ => UserState::Deleted,
        };
        store.insert_user(user(&dir, n, state)).await.expect("user");
    }
    store
        .insert_group(
            group(&dir, 100, false),
            &[uid(1), uid(2), uid(3), uid(4), uid(7)],
            &[],
        )
        .await
        .expect("group");
    store
        .insert_group(group(&dir, 101, true), &[], &[])
        .await
        .expect("group");
    store
}

#[tokio::test(flavor = "multi_thread")]
async fn counts_follow_every_state_change_without_reading_documents() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = populated(tmp.path()).await;
    let dir = did(1);
    let count = |s| {
        let store = store.clone();
        let dir = dir.clone();
        async move { store.count_users(&dir, &states(s)).await.expect("count") }
    };
    assert_eq!(
        (
            count(States::All).await,
            count(States::Visible).await,
            count(States::Active).await
        ),
        (9, 6, 3)
    );
    // Deactivate 1, delete 4, restore 7: counters move with each.
    for (n, state) in [
        (1, UserState::Deactivated),
        (4, UserState::Deleted),
        (7, UserState::Active),
    ] {
        let mut next = store
            .get_user(&dir, &uid(n))
            .await
            .expect("get")
            .expect("present");
        next.state = state;
        store.update_user(next, 1).await.expect("update");
    }
    assert_eq!(
        (
            count(States::All).await,
            count(States::Visible).await,
            count(States::Active).await
        ),
        (9, 6, 3)
    );
    // Every count agrees with the listing it counts.
    for s in [States::All, States::Visible, States::Active] {
        let listed = store
            .list_users(&dir, &states(s), Keyset::all())
            .await
            .expect("list");
        assert_eq!(listed.len() as u64, count(s).await, "{s:?}");
        assert!(listed.iter().all(|u| s.includes_user(u.state)));
    }
    // Filtered counts count the index they use.
    let in_group = UserFilter {
        states: States::Active,
        group: Some(gid(100)),
        key: None,
    };
    assert_eq!(
        store.count_users(&dir, &in_group).await.expect("count"),
        3,
        "2, 3 and 7"
    );
    let by_key = UserFilter {
        states: States::Visible,
        key: Some(UserKey::ExternalId("x1".into())),
        group: None,
    };
    assert_eq!(
        ids(&store
            .list_users(&dir, &by_key, Keyset::all())
            .await
            .expect("list")),
        [uid(1), uid(3), uid(5), uid(7)]
    );
    assert_eq!(store.count_users(&dir, &by_key).await.expect("count"), 4);
    // Groups: live and deleted, and per member.
    let groups = |s| GroupFilter {
        states: s,
        ..GroupFilter::default()
    };
    assert_eq!(
        store
            .count_groups(&dir, &groups(States::All))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .count_groups(&dir, &groups(States::Visible))
            .await
            .expect("count"),
        1
    );
    let of_user = GroupFilter {
        member: Some(uid(2)),
        ..GroupFilter::default()
    };
    assert_eq!(store.count_groups(&dir, &of_user).await.expect("count"), 1);
    let by_name = GroupFilter {
        key: Some(GroupKey::DisplayName("g101".into())),
        states: States::Visible,
        ..GroupFilter::default()
    };
    assert_eq!(
        store.count_groups(&dir, &by_name).await.expect("count"),
        0,
        "deleted"
    );
    // The other directory counts nothing; counts survive a restart.
    assert_eq!(
        store
            .count_users(&did(2), &states(States::All))
            .await
            .expect("count"),
        0
    );
    drop(store);
    let store = SledStore::open(tmp.path()).expect("reopen");
    assert_eq!(
        store
            .count_users(&dir, &states(States::Visible))
            .await
            .expect("count"),
        6
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_passes_over_entries_of_the_chosen_index() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = populated(tmp.path()).await;
    let dir = did(1);
    let page = |after: Option<u128>, skip, limit| Keyset {
        after: after.map(uid),
        skip,
        limit,
    };
    let all = store
        .list_users(&dir, &states(States::All), page(None, 2, 3))
        .await
        .expect("list");
    assert_eq!(ids(&all), [uid(3), uid(4), uid(5)]);
    let visible = store
        .list_users(&dir, &states(States::Visible), page(Some(1), 2, 10))
        .await
        .expect("list");
    assert_eq!(ids(&visible), [uid(4), uid(5), uid(6)]);
    let active = store
        .list_users(&dir, &states(States::Active), page(None, 1, 1))
        .await
        .expect("list");
    assert_eq!(ids(&active), [uid(2)]);
    let members = UserFilter {
        states: States::Visible,
        group: Some(gid(100)),
        key: None,
    };
    let listed = store
        .list_users(&dir, &members, page(None, 1, 10))
        .await
        .expect("list");
    assert_eq!(ids(&listed), [uid(2), uid(3), uid(4)], "7 is deleted");
    let member_ids = store
        .list_members(&dir, &gid(100), States::Active, page(Some(1), 1, 10))
        .await
        .expect("members");
    assert_eq!(member_ids, [uid(3)]);
    let past_the_end = store
        .list_users(&dir, &states(States::All), page(None, 50, 10))
        .await
        .expect("list");
    assert!(past_the_end.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn trimming_keeps_the_latest_seq_and_says_what_is_gone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = populated(tmp.path()).await;
    let dir = did(1);
    let latest = store.latest_change_seq(&dir).await.expect("seq");
    assert_eq!(
        latest,
        9 + 1 + 5 + 1,
        "9 users, a group, 5 members, another group"
    );
    assert_eq!(store.trim_changes(&dir, 4).await.expect("trim"), 4);
    assert!(matches!(
        store.list_changes(&dir, 0, 10).await,
        Err(StoreError::ChangesTrimmed { through: 4 })
    ));
    assert!(matches!(
        store.list_changes(&dir, 3, 10).await,
        Err(StoreError::ChangesTrimmed { through: 4 })
    ));
    let rest = store
        .list_changes(&dir, 4, 100)
        .await
        .expect("after the trim point");
    assert_eq!(rest.first().map(|c| c.seq), Some(5));
    assert_eq!(rest.len() as u64, latest - 4);
    assert_eq!(
        store.trim_changes(&dir, 2).await.expect("trim"),
        0,
        "already gone"
    );
    // Past the end: trims everything, but the point stops at the latest seq, so the next
    // change is readable from there.
    assert_eq!(
        store.trim_changes(&dir, 1_000).await.expect("trim"),
        latest - 4
    );
    assert_eq!(store.latest_change_seq(&dir).await.expect("seq"), latest);
    store
        .insert_user(user(&dir, 50, UserState::Active))
        .await
        .expect("user");
    let next = store
        .list_changes(&dir, latest, 10)
        .await
        .expect("new changes");
    assert_eq!(next.iter().map(|c| c.seq).collect::<Vec<_>>(), [latest + 1]);
    drop(store);
    let store = SledStore::open(tmp.path()).expect("reopen");
    assert!(
        matches!(store.list_changes(&dir, 0, 10).await, Err(StoreError::ChangesTrimmed { through }) if through == latest)
    );
    assert_eq!(
        store
            .list_changes(&did(2), 0, 10)
            .await
            .expect("untouched")
            .len(),
        0
    );
}

async fn assert_purged(store: &SledStore) {
    let dir = did(1);
    assert_eq!(store.get_directory(&dir).await.expect("get"), None);
    assert!(
        store
            .list_users(&dir, &UserFilter::default(), Keyset::all())
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_groups(&dir, &GroupFilter::default(), Keyset::all())
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .count_users(&dir, &UserFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        store
            .count_groups(&dir, &GroupFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(store.latest_change_seq(&dir).await.expect("seq"), 0);
    assert!(
        store
            .list_changes(&dir, 0, 10)
            .await
            .expect("changes")
            .is_empty()
    );
    assert!(
        store
            .list_members(&dir, &gid(100), States::All, Keyset::all())
            .await
            .expect("members")
            .is_empty()
    );
    for tree in DIRECTORY_TREES {
        let prefix = prefix(&[dir.as_str().as_bytes()]);
        let left = store
            .inner
            .tree(tree)
            .expect("tree")
            .scan_prefix(prefix)
            .count();
        assert_eq!(left, 0, "{} still holds keys of the directory", TREES[tree]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_erases_one_directory_and_leaves_the_other() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = populated(tmp.path()).await;
    store
        .insert_user(user(&did(2), 1, UserState::Active))
        .await
        .expect("other directory");
    store.purge_directory(&did(1)).await.expect("purge");
    assert_purged(&store).await;
    assert!(matches!(
        store.purge_directory(&did(1)).await,
        Err(StoreError::NotFound {
            kind: EntityKind::Directory,
            ..
        })
    ));
    assert!(matches!(
        store
            .insert_user(user(&did(1), 20, UserState::Active))
            .await,
        Err(StoreError::NotFound {
            kind: EntityKind::Directory,
            ..
        })
    ));
    let other = store
        .list_users(&did(2), &UserFilter::default(), Keyset::all())
        .await
        .expect("list");
    assert_eq!(ids(&other), [uid(1)]);
    assert_eq!(store.latest_change_seq(&did(2)).await.expect("seq"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_unique_keys_survive_a_reopen_and_go_with_a_purge() {
    let tmp = tempfile::tempdir().expect("tmp");
    let badge = crate::model::UniqueKey::new("urn:example:2.0:User:badge", "b-1");
    let claiming = |n| user(&did(1), n, UserState::Active).with_unique_keys(vec![badge.clone()]);
    let code = crate::model::UniqueKey::new("urn:example:2.0:Group:code", "c-1");
    let group_claiming = |n| group(&did(1), n, false).with_unique_keys(vec![code.clone()]);
    {
        let store = store(tmp.path()).await;
        store.insert_user(claiming(1)).await.expect("insert");
        store
            .insert_group(group_claiming(1), &[], &[])
            .await
            .expect("insert group");
    }
    let store = SledStore::open(tmp.path()).expect("reopen");
    assert!(
        matches!(
            store.insert_user(claiming(2)).await,
            Err(StoreError::AttributeTaken { attribute }) if attribute == badge.attribute
        ),
        "a held value is held after a restart"
    );
    assert!(
        matches!(
            store.insert_group(group_claiming(2), &[], &[]).await,
            Err(StoreError::AttributeTaken { attribute }) if attribute == code.attribute
        ),
        "a group's held value is held after a restart"
    );
    store.purge_directory(&did(1)).await.expect("purge");
    assert_purged(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purge_cut_short_by_a_crash_is_finished_on_open() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = populated(tmp.path()).await;
    // What a crash right after the purge began leaves: the mark, and everything else.
    store
        .inner
        .tree(PURGING)
        .expect("tree")
        .insert(did(1).as_str(), Vec::new())
        .expect("mark");
    store.inner.db.flush().expect("flush");
    drop(store);
    let store = SledStore::open(tmp.path()).expect("reopen");
    assert_purged(&store).await;
    assert_eq!(store.inner.tree(PURGING).expect("tree").len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_format_1_database_is_migrated_on_open() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = populated(tmp.path()).await;
    // Format 1 is format 2 without the derived trees.
    for tree in [USER_ACTIVE, USER_VISIBLE, GROUP_LIVE, DIR_META] {
        store
            .inner
            .tree(tree)
            .expect("tree")
            .clear()
            .expect("clear");
    }
    store.inner.db.insert(FORMAT_KEY, "1").expect("downgrade");
    store.inner.db.flush().expect("flush");
    drop(store);
    let store = SledStore::open(tmp.path()).expect("migrating open");
    let dir = did(1);
    assert_eq!(
        store
            .count_users(&dir, &states(States::Visible))
            .await
            .expect("count"),
        6
    );
    assert_eq!(
        store
            .count_groups(
                &dir,
                &GroupFilter {
                    states: States::Visible,
                    ..GroupFilter::default()
                }
            )
            .await
            .expect("count"),
        1
    );
    let active = store
        .list_users(&dir, &states(States::Active), Keyset::all())
        .await
        .expect("list");
    assert_eq!(ids(&active), [uid(1), uid(2), uid(3)]);
    assert_eq!(
        store.inner.db.get(FORMAT_KEY).expect("read").as_deref(),
        Some(b"2".as_slice())
    );
    // Uniqueness works off the rebuilt active index.
    assert!(matches!(
        store
            .insert_user(User {
                id: uid(60),
                ..user(&dir, 1, UserState::Active)
            })
            .await,
        Err(StoreError::Conflict(
            crate::store::UniqueAttribute::UserName
        ))
    ));
}

/// Captures `tracing` events on the current thread.
#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        let mut fields = Fields(format!("{} ", event.metadata().level()));
        event.record(&mut fields);
        self.0.lock().expect("lock").push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undecodable_record_is_skipped_in_listings_and_reported_without_its_contents() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = populated(tmp.path()).await;
    let dir = did(1);
    // Damage user 2: a document that is not JSON any more, holding a secret-looking text.
    store
        .inner
        .tree(USERS)
        .expect("tree")
        .insert(
            entity(&dir, uid(2).as_str()),
            b"{\"userName\": \"hunter2-secret\"".to_vec(),
        )
        .expect("damage");
    let captured = Captured::default();
    let inner = store.inner.clone();
    let (page, active, batch) = tracing::subscriber::with_default(captured.clone(), || {
        let page = inner
            .list_users(&dir, &states(States::All), &Keyset::first(3))
            .expect("list");
        let active = inner
            .list_users(&dir, &states(States::Active), &Keyset::all())
            .expect("list");
        let batch: Vec<User> = inner
            .get_many(USERS, &dir, vec![uid(1).as_str(), uid(2).as_str()])
            .expect("batch");
        (page, active, batch)
    });
    assert_eq!(
        ids(&page),
        [uid(1), uid(3), uid(4)],
        "the page is still full"
    );
    assert_eq!(ids(&active), [uid(1), uid(3)]);
    assert_eq!(ids(&batch), [uid(1)]);
    let events = captured.0.lock().expect("lock").clone();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.starts_with("WARN") && e.contains(uid(2).as_str())),
        "{events:?}"
    );
    assert!(
        events.iter().all(|e| !e.contains("hunter2")),
        "no document contents: {events:?}"
    );
    // Asked for by id, it is an error, not a panic and not "absent".
    assert!(matches!(
        store.get_user(&dir, &uid(2)).await,
        Err(StoreError::Backend(_))
    ));
}

fn nested(depth: usize) -> Value {
    let mut value = json!("leaf");
    for _ in 1..depth {
        value = json!({ "n": value });
    }
    value
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_stored_can_be_read_back_and_what_could_not_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    let mut deep = user(&dir, 1, UserState::Active);
    // The attributes object itself is level 1: `nested(n)` under one key is n levels.
    deep.attributes["deep"] = nested(super::codec::MAX_ATTRIBUTE_DEPTH);
    assert_eq!(
        super::codec::depth(&deep.attributes),
        super::codec::MAX_ATTRIBUTE_DEPTH
    );
    store.insert_user(deep.clone()).await.expect("at the limit");
    let read = store
        .get_user(&dir, &uid(1))
        .await
        .expect("decodes")
        .expect("present");
    assert_eq!(read.attributes, deep.attributes);
    let mut deeper = user(&dir, 2, UserState::Active);
    deeper.attributes["deep"] = nested(super::codec::MAX_ATTRIBUTE_DEPTH + 1);
    assert!(matches!(
        store.insert_user(deeper).await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(
        store.get_user(&dir, &uid(2)).await.expect("get"),
        None,
        "nothing stored"
    );
    assert_eq!(store.latest_change_seq(&dir).await.expect("seq"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_are_all_acknowledged_and_all_durable() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    let tasks: Vec<_> = (0..16u128)
        .map(|w| {
            let (store, dir) = (store.clone(), dir.clone());
            tokio::spawn(async move {
                for i in 0..10 {
                    store
                        .insert_user(user(&dir, 1_000 + w * 10 + i, UserState::Active))
                        .await
                        .expect("insert");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let (committed, durable) = super::commit::durable(&store.inner);
    assert_eq!(committed, durable, "every batch acknowledged is durable");
    assert!(
        committed <= 163,
        "an organization, 2 directories and 160 users in at most 163 batches, not {committed}"
    );
    drop(store);
    let store = SledStore::open(tmp.path()).expect("reopen");
    assert_eq!(
        store
            .count_users(&dir, &UserFilter::default())
            .await
            .expect("count"),
        160
    );
    assert_eq!(store.latest_change_seq(&dir).await.expect("seq"), 160);
}

/// A user as Microsoft Entra ID provisions it (the gallery app's default attribute
/// mappings: core, enterprise extension with manager, work email, address and phones).
fn entra_user(dir: &DirectoryId, n: u128) -> User {
    User {
        id: uid(n),
        directory_id: dir.clone(),
        email: Some("adele.vance@contoso.com".into()),
        state: UserState::Active,
        attributes: json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "4d1b5a64-6c9b-4b59-a2d7-0c8a3d7cf2a1",
            "userName": "adele.vance@contoso.com",
            "active": true,
            "displayName": "Adele Vance",
            "title": "Retail Manager",
            "preferredLanguage": "en-US",
            "name": {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"},
            "emails": [{"primary": true, "type": "work", "value": "adele.vance@contoso.com"}],
            "addresses": [{"type": "work", "formatted": "18 Cherry Lane, Redmond, WA 98052",
                           "streetAddress": "18 Cherry Lane", "locality": "Redmond",
                           "region": "WA", "postalCode": "98052", "country": "US"}],
            "phoneNumbers": [{"type": "work", "value": "+1 425 555 0109"},
                             {"type": "mobile", "value": "+1 425 555 0110"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "100421",
                "department": "Retail",
                "costCenter": "CC-2210",
                "organization": "Contoso",
                "manager": {"value": "scim_user_01jfz8y6q3m4n5p6r7s8t9v0wx"}
            }
        }),
        meta: Meta::new(at()),
        unique_keys: Vec::new(),
    }
}

/// The stored bytes of the directory's change `seq`.
fn stored_change(store: &SledStore, dir: &DirectoryId, seq: u64) -> Vec<u8> {
    store
        .inner
        .tree(CHANGES)
        .expect("tree")
        .get(change(dir, seq))
        .expect("read")
        .expect("present")
        .to_vec()
}

/// The change log's cost per change for a typical Entra user (PERFORMANCE.md, "Changes
/// that carry the object"): a user change stores one copy of the user record, a
/// membership change one copy of the member and of the group, and nothing else grows.
/// `cargo test --features sled --lib change_log_size -- --nocapture` prints the sizes.
#[tokio::test(flavor = "multi_thread")]
async fn change_log_size_per_change_for_an_entra_user() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    let ann = store.insert_user(entra_user(&dir, 10)).await.expect("user");
    let sales = store
        .insert_group(
            Group {
                attributes: json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "externalId": "8f0c3a52-1d2e-4b7a-9c61-5e4d3b2a1f09",
                    "displayName": "Retail"}),
                ..group(&dir, 20, false)
            },
            &[],
            &[],
        )
        .await
        .expect("group");
    store
        .edit_members(
            &dir,
            &sales.id,
            &[MembershipEdit::Add(ann.id.clone())],
            at(),
        )
        .await
        .expect("join");
    let user_record = store
        .inner
        .tree(USERS)
        .expect("tree")
        .get(entity(&dir, ann.id.as_str()))
        .expect("read")
        .expect("present")
        .len();
    let bare = |seq: u64| {
        let change: Change = decode("changes", &stored_change(&store, &dir, seq)).expect("decode");
        encode(&Change::new(
            change.seq,
            change.directory_id,
            change.kind,
            change.resource_id,
            change.member_id,
            change.at,
        ))
        .expect("encode")
        .len()
    };
    let (created, joined) = (
        stored_change(&store, &dir, 1).len(),
        stored_change(&store, &dir, 3).len(),
    );
    eprintln!(
        "sled, Entra user: user record {user_record} B; user.created entry {created} B \
         (without snapshot {}); group.member_added entry {joined} B (without {})",
        bare(1),
        bare(3)
    );
    assert!(
        created <= bare(1) + user_record + 16,
        "a user change costs at most one copy of the user record"
    );
    assert!(
        joined <= bare(3) + user_record + 400,
        "a membership change costs one copy of the member and of the (small) group"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn change_entries_written_before_snapshots_read_without_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    store
        .insert_user(user(&dir, 10, UserState::Active))
        .await
        .expect("user");
    // The record as scimkit wrote it before changes carried the object.
    let old = json!({"seq": 1, "directory_id": dir, "kind": "user.created",
        "resource_id": uid(10).to_string(), "member_id": null, "at": "1970-01-01T00:00:00Z"});
    store
        .inner
        .tree(CHANGES)
        .expect("tree")
        .insert(change(&dir, 1), serde_json::to_vec(&old).expect("json"))
        .expect("write");
    let changes = store.list_changes(&dir, 0, 10).await.expect("changes");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::UserCreated);
    assert_eq!(changes[0].resource_id, ResourceId::User(uid(10)));
    assert!(changes[0].user().is_none() && changes[0].group().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn change_records_keep_the_resource_as_the_plain_id() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    store
        .insert_user(user(&dir, 10, UserState::Active))
        .await
        .expect("user");
    let record: Value = serde_json::from_slice(&stored_change(&store, &dir, 1)).expect("json");
    assert_eq!(
        record.get("resource_id"),
        Some(&json!(uid(10).as_str())),
        "the record holds the id's text, as before ResourceId"
    );
    // A record whose id is no user, group or directory id does not decode: the feed
    // reports it rather than skip it.
    let mut damaged = record;
    damaged["resource_id"] = json!("scim_token_0");
    store
        .inner
        .tree(CHANGES)
        .expect("tree")
        .insert(change(&dir, 1), serde_json::to_vec(&damaged).expect("json"))
        .expect("write");
    assert!(matches!(
        store.list_changes(&dir, 0, 10).await,
        Err(StoreError::Backend(_))
    ));
}

fn planned(
    plan: impl FnOnce(&view::View) -> Result<(writes::WriteSet, ()), StoreError> + Send + 'static,
) -> commit::Plan {
    Box::new(move |view: &view::View| plan(view).map(|(set, ())| set))
}

/// The seqs and kinds of directory `dir`'s change log, in order.
async fn change_log(store: &SledStore, dir: &DirectoryId) -> Vec<(u64, ChangeKind)> {
    store
        .list_changes(dir, 0, 1_000)
        .await
        .expect("changes")
        .iter()
        .map(|c| (c.seq, c.kind))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_plans_each_write_against_the_ones_before_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    let (before, _) = commit::durable(&store.inner);
    let taken = {
        let mut u = user(&dir, 2, UserState::Active);
        u.attributes = json!({"userName": "u1@example.com"});
        u
    };
    let mut renamed = user(&dir, 1, UserState::Active);
    renamed.attributes = json!({"userName": "renamed@example.com"});
    let (d1, d2, d3) = (dir.clone(), dir.clone(), dir.clone());
    let outcomes = commit::commit_together(
        &store.inner,
        vec![
            planned(move |v| {
                v.insert_user(user(&d1, 1, UserState::Active))
                    .map(|(s, _)| (s, ()))
            }),
            // The first write holds this userName now, though nothing has committed yet.
            planned(move |v| v.insert_user(taken).map(|(s, _)| (s, ()))),
            // Version 1 is the one the first write staged.
            planned(move |v| v.update_user(renamed, 1).map(|(s, _)| (s, ()))),
            planned(move |v| {
                v.insert_group(group(&d2, 100, false), &[uid(1)], &[])
                    .map(|(s, _)| (s, ()))
            }),
            // The renamed user no longer holds the old name, so this one may take it.
            planned(move |v| {
                let mut u = user(&d3, 3, UserState::Active);
                u.attributes = json!({"userName": "u1@example.com"});
                v.insert_user(u).map(|(s, _)| (s, ()))
            }),
        ],
    );
    let [first, second, third, fourth, fifth] = outcomes.as_slice() else {
        panic!("five outcomes");
    };
    assert!(
        matches!(second, Err(StoreError::Conflict(UniqueAttribute::UserName))),
        "the batch's second write fails alone: {second:?}"
    );
    let ticket = before + 1;
    for ok in [first, third, fourth, fifth] {
        assert_eq!(
            ok.as_ref().ok(),
            Some(&Some(ticket)),
            "one transaction: {ok:?}"
        );
    }
    store.inner.db.flush().expect("flush");
    drop(store);
    let store = SledStore::open(tmp.path()).expect("reopen");
    let renamed = store
        .get_user(&dir, &uid(1))
        .await
        .expect("get")
        .expect("user 1");
    assert_eq!(renamed.user_name(), "renamed@example.com");
    assert_eq!(renamed.meta.version, 2);
    assert!(store.get_user(&dir, &uid(2)).await.expect("get").is_none());
    let third_user = store
        .get_user(&dir, &uid(3))
        .await
        .expect("get")
        .expect("user 3");
    assert_eq!(third_user.user_name(), "u1@example.com");
    assert_eq!(
        store
            .list_members(&dir, &gid(100), States::All, Keyset::first(10))
            .await
            .expect("members"),
        vec![uid(1)],
        "the group's member was created earlier in the same batch"
    );
    assert_eq!(
        store
            .count_users(&dir, &UserFilter::default())
            .await
            .expect("count"),
        2,
        "counters move once per write, across the batch"
    );
    let log = change_log(&store, &dir).await;
    let seqs: Vec<u64> = log.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gapless: {log:?}"
    );
    assert_eq!(
        log.first().map(|(_, kind)| *kind),
        Some(ChangeKind::UserCreated),
        "in plan order: {log:?}"
    );
    assert_eq!(
        store.latest_change_seq(&dir).await.expect("seq"),
        seqs.len() as u64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_whose_writes_all_fail_commits_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    store
        .insert_user(user(&dir, 1, UserState::Active))
        .await
        .expect("user");
    let (before, _) = commit::durable(&store.inner);
    let (d1, d2) = (dir.clone(), dir.clone());
    let outcomes = commit::commit_together(
        &store.inner,
        vec![
            planned(move |v| {
                v.insert_user(user(&d1, 1, UserState::Active))
                    .map(|(s, _)| (s, ()))
            }),
            planned(move |v| {
                v.update_user(user(&d2, 1, UserState::Active), 7)
                    .map(|(s, _)| (s, ()))
            }),
        ],
    );
    assert!(matches!(
        outcomes.first(),
        Some(Err(StoreError::Conflict(UniqueAttribute::Id)))
    ));
    assert!(matches!(
        outcomes.get(1),
        Some(Err(StoreError::Precondition {
            expected: 7,
            actual: 1
        }))
    ));
    assert_eq!(commit::durable(&store.inner).0, before, "no transaction");
    assert_eq!(change_log(&store, &dir).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_racing_for_one_user_name_get_one_winner_and_a_gapless_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let dir = did(1);
    let tasks: Vec<_> = (0..16u128)
        .map(|w| {
            let (store, dir) = (store.clone(), dir.clone());
            tokio::spawn(async move {
                let mut won = 0;
                for i in 0..20u128 {
                    let mut u = user(&dir, 1_000 + w * 20 + i, UserState::Active);
                    u.attributes = json!({"userName": format!("shared{i}@example.com")});
                    match store.insert_user(u).await {
                        Ok(_) => won += 1,
                        Err(StoreError::Conflict(UniqueAttribute::UserName)) => {}
                        Err(e) => panic!("unexpected: {e}"),
                    }
                }
                won
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += task.await.expect("task");
    }
    assert_eq!(won, 20, "one winner per userName");
    let log = change_log(&store, &dir).await;
    let seqs: Vec<u64> = log.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(
        store
            .count_users(&dir, &UserFilter::default())
            .await
            .expect("count"),
        20
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_sees_the_directory_as_its_earlier_writes_left_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let (dir, new_dir) = (did(1), did(3));
    let org = OrganizationId::from_uuid(uuid::Uuid::from_u128(1));
    let mapping =
        crate::model::RoleMapping::new().map(crate::model::GroupMatch::Id(gid(100)), "admin");
    store
        .insert_user(user(&dir, 1, UserState::Active))
        .await
        .expect("user");
    let (d1, d2, d3, d4) = (dir.clone(), dir.clone(), new_dir.clone(), new_dir.clone());
    let outcomes = commit::commit_together(
        &store.inner,
        vec![
            // Reads directory 1 (no role mapping yet) and directory 3 (absent).
            planned(move |v| {
                v.insert_group(group(&d1, 99, false), &[uid(1)], &[])
                    .map(|(s, _)| (s, ()))
            }),
            planned(move |v| {
                v.insert_user(user(&d3, 5, UserState::Active))
                    .map(|(s, _)| (s, ()))
            }),
            planned(move |v| {
                v.edit_directory(&d2, &[DirectoryEdit::Roles(mapping)], at())
                    .map(|(s, _)| (s, ()))
            }),
            planned(move |v| {
                v.insert_directory(Directory::new(d4, org, false))
                    .map(|(s, _)| (s, ()))
            }),
            // Both directories as the two writes above left them.
            planned({
                let dir = dir.clone();
                move |v| {
                    v.insert_group(group(&dir, 100, false), &[uid(1)], &[])
                        .map(|(s, _)| (s, ()))
                }
            }),
            planned({
                let new_dir = new_dir.clone();
                move |v| {
                    v.insert_user(user(&new_dir, 6, UserState::Active))
                        .map(|(s, _)| (s, ()))
                }
            }),
        ],
    );
    assert!(
        matches!(
            outcomes.get(1),
            Some(Err(StoreError::NotFound {
                kind: EntityKind::Directory,
                ..
            }))
        ),
        "directory 3 did not exist yet: {outcomes:?}"
    );
    for (i, outcome) in outcomes.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert!(matches!(outcome, Ok(Some(_))), "write {i}: {outcome:?}");
    }
    let kinds: Vec<ChangeKind> = change_log(&store, &dir)
        .await
        .into_iter()
        .map(|(_, kind)| kind)
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ChangeKind::RolesChanged)
            .count(),
        1,
        "only the group written after the mapping gives user 1 a role: {kinds:?}"
    );
    assert!(
        store
            .get_user(&new_dir, &uid(6))
            .await
            .expect("get")
            .is_some()
    );
}
