//! The vendor-side Sync API: paging, page tokens, the change feed and subscriptions.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Fixture;
use proptest::prelude::*;
use scimkit::model::{ChangeKind, Clock, GroupId, IdGenerator, ResourceId, UserId};
use scimkit::store::{DirectoryEdit, DirectoryStore};
use scimkit::sync::{
    DirectorySelector, DirectorySync, ListGroups, ListUsers, LocalNotifier, PageToken, SyncError,
};
use serde_json::json;

fn sync_for(fx: &Fixture) -> DirectorySync {
    DirectorySync::new(fx.store.clone())
}

async fn walk_users(
    sync: &DirectorySync,
    selector: DirectorySelector,
    group: Option<GroupId>,
    page_size: usize,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = sync
            .list_users({
                let request = ListUsers::new(selector.clone());
                let mut request = request.with_page_size(page_size).with_page_token(token);
                request.group = group.clone();
                request
            })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|u| u.id.to_string()));
        match page.next_page_token {
            None => return seen,
            next => token = next,
        }
    }
}

#[tokio::test]
async fn pages_through_every_user_including_deprovisioned_ones() {
    let fx = Fixture::new(&[]).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    fx.request("DELETE", &format!("/Users/{}", ids[1]), None)
        .await;
    fx.request(
        "PUT",
        &format!("/Users/{}", ids[2]),
        Some(json!({"userName": "u2@acme.com", "active": false})),
    )
    .await;
    let sync = sync_for(&fx);
    for selector in [
        DirectorySelector::Directory(fx.directory.clone()),
        DirectorySelector::OrganizationExternalId("acme".into()),
    ] {
        assert_eq!(walk_users(&sync, selector.clone(), None, 3).await, ids);
    }
    let page = sync
        .list_users(
            ListUsers::new(DirectorySelector::Directory(fx.directory.clone())).with_page_size(1000),
        )
        .await
        .unwrap();
    let deleted: Vec<bool> = page.items.iter().map(|u| u.deleted).collect();
    assert_eq!(deleted, [false, true, true, false, false, false, false]);
    assert_eq!(page.items[0].email.as_deref(), Some("u0@acme.com"));
    assert_eq!(page.items[0].attributes["userName"], "u0@acme.com");
    assert!(page.next_page_token.is_none());
}

#[tokio::test]
async fn lists_members_of_one_group_and_groups_of_a_user() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let _bob = fx.create_user("bob@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    let sync = sync_for(&fx);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let members = walk_users(&sync, selector.clone(), Some(group.parse().unwrap()), 10).await;
    assert_eq!(members, vec![ann.clone()]);
    let groups = sync
        .groups_of_user(&selector, &ann.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].display_name, "Sales");
    let listed = sync
        .list_groups(ListGroups::new(selector.clone()))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    fx.request("DELETE", &format!("/Groups/{group}"), None)
        .await;
    let got = sync
        .get_group(&selector, &group.parse().unwrap())
        .await
        .unwrap();
    assert!(got.deleted);
}

#[tokio::test]
async fn bad_page_tokens_sizes_and_selectors_are_refused() {
    let fx = Fixture::new(&[]).await;
    for i in 0..3 {
        fx.create_user(&format!("u{i}@acme.com")).await;
    }
    let sync = sync_for(&fx);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let page = sync
        .list_users(ListUsers::new(selector.clone()).with_page_size(1))
        .await
        .unwrap();
    let token = page.next_page_token.expect("two more pages");
    let mut tampered = token.to_string();
    tampered.replace_range(
        0..2,
        if tampered.starts_with("00") {
            "01"
        } else {
            "00"
        },
    );
    let (tampered, token) = (Some(PageToken::new(tampered)), Some(token));
    let refused = sync
        .list_users(ListUsers::new(selector.clone()).with_page_token(tampered))
        .await;
    assert!(matches!(refused, Err(SyncError::InvalidPageToken)));
    // A users token is no groups token, and no token of another server.
    let refused = sync
        .list_groups(ListGroups::new(selector.clone()).with_page_token(token.clone()))
        .await;
    assert!(matches!(refused, Err(SyncError::InvalidPageToken)));
    let other_server = DirectorySync::new(fx.store.clone());
    let refused = other_server
        .list_users(ListUsers::new(selector.clone()).with_page_token(token.clone()))
        .await;
    assert!(matches!(refused, Err(SyncError::InvalidPageToken)));
    // A token of another directory.
    let org = fx
        .admin
        .create_organization(Some("globex".into()), vec![])
        .await
        .unwrap();
    let other = fx.admin.create_directory(&org.id, true).await.unwrap();
    let refused = sync
        .list_users(ListUsers::new(DirectorySelector::Directory(other.id)).with_page_token(token))
        .await;
    assert!(matches!(refused, Err(SyncError::InvalidPageToken)));
    for size in [0, 1001] {
        let refused = sync
            .list_users(ListUsers::new(selector.clone()).with_page_size(size))
            .await;
        assert!(matches!(refused, Err(SyncError::InvalidPageSize(_))));
    }
    let unknown = sync
        .list_users(ListUsers::new(DirectorySelector::OrganizationExternalId(
            "nope".into(),
        )))
        .await;
    assert!(matches!(unknown, Err(SyncError::UnknownOrganization)));
    let no_primary_org = fx
        .admin
        .create_organization(Some("empty".into()), vec![])
        .await
        .unwrap();
    let none = sync
        .list_users(ListUsers::new(DirectorySelector::Organization(
            no_primary_org.id,
        )))
        .await;
    assert!(matches!(none, Err(SyncError::NoPrimaryDirectory)));
}

#[tokio::test]
async fn the_change_feed_records_every_operation_in_order() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": ann}]})),
        )
        .await
        .id();
    fx.request(
        "PATCH",
        &format!("/Users/{ann}"),
        Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
    )
    .await;
    fx.request(
        "PATCH",
        &format!("/Groups/{group}"),
        Some(json!({"Operations": [{"op": "remove", "path": "members"}]})),
    )
    .await;
    fx.request("DELETE", &format!("/Groups/{group}"), None)
        .await;
    let sync = sync_for(&fx);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let first = sync.changes(&selector, 0, 3).await.unwrap();
    let rest = sync
        .changes(&selector, first.next_cursor, 100)
        .await
        .unwrap();
    let all: Vec<(ChangeKind, String)> = first
        .changes
        .iter()
        .chain(&rest.changes)
        .map(|c| (c.kind, c.resource_id.to_string()))
        .collect();
    assert_eq!(
        all,
        vec![
            (ChangeKind::UserCreated, ann.clone()),
            (ChangeKind::GroupCreated, group.clone()),
            (ChangeKind::GroupMemberAdded, group.clone()),
            (ChangeKind::UserDeactivated, ann.clone()),
            (ChangeKind::GroupMemberRemoved, group.clone()),
            (ChangeKind::GroupDeleted, group.clone()),
        ]
    );
    assert_eq!(rest.next_cursor, 6);
    let empty = sync.changes(&selector, 6, 10).await.unwrap();
    assert!(empty.changes.is_empty());
    assert_eq!(empty.next_cursor, 6);
}

/// A vendor reads what a change is about by matching on its kind of id (`ResourceId` is
/// `#[non_exhaustive]`, so the match has a catch-all arm); the ids are the ones SCIM
/// handed out, typed.
#[tokio::test]
async fn a_vendor_matches_on_the_kind_of_resource_a_change_names() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": ann}]})),
        )
        .await
        .id();
    fx.store
        .edit_directory(&fx.directory, &[DirectoryEdit::Disable], fx.clock.now())
        .await
        .unwrap();
    let sync = sync_for(&fx);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let page = sync.changes(&selector, 0, 100).await.unwrap();
    let mut seen = Vec::new();
    for change in &page.changes {
        let about = match &change.resource_id {
            ResourceId::User(user) => format!("user {user}"),
            ResourceId::Group(group) => format!("group {group}"),
            ResourceId::Directory(directory) => format!("directory {directory}"),
            other => panic!("no other kind of resource is recorded: {other}"),
        };
        seen.push((
            change.kind,
            about,
            change.user_id().map(UserId::to_string),
            change.group_id().map(GroupId::to_string),
        ));
    }
    assert_eq!(
        seen,
        vec![
            (
                ChangeKind::UserCreated,
                format!("user {ann}"),
                Some(ann.clone()),
                None
            ),
            (
                ChangeKind::GroupCreated,
                format!("group {group}"),
                None,
                Some(group.clone())
            ),
            (
                ChangeKind::GroupMemberAdded,
                format!("group {group}"),
                Some(ann.clone()),
                Some(group.clone())
            ),
            (
                ChangeKind::DirectoryDisabled,
                format!("directory {}", fx.directory),
                None,
                None
            ),
        ]
    );
    let ann_id: UserId = ann.parse().unwrap();
    assert_eq!(
        page.changes[0].resource_id, ann_id,
        "compares with the typed id"
    );
    assert_eq!(
        page.changes[0]
            .resource_id
            .to_string()
            .parse::<ResourceId>()
            .unwrap(),
        page.changes[0].resource_id,
        "and parses back from its text"
    );
}

#[tokio::test]
async fn subscribers_read_each_change_with_the_object_as_of_that_change() {
    let fx = Fixture::new(&[]).await;
    let sync = sync_for(&fx);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let mut feed = sync.subscribe(&selector, 0).await.unwrap();
    let ann = fx.create_user("ann@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    // Later writes, made before the subscriber reads: a read-back would see these.
    fx.request(
        "PATCH",
        &format!("/Users/{ann}"),
        Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
    )
    .await;
    fx.request(
        "PATCH",
        &format!("/Groups/{group}"),
        Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Gone"}]})),
    )
    .await;
    let created = feed.next().await.unwrap();
    let user = created.sync_user().expect("a user change carries the user");
    assert_eq!(
        (created.kind, user.id.to_string(), user.deleted),
        (ChangeKind::UserCreated, ann.clone(), false)
    );
    assert!(created.sync_group().is_none());
    let group_created = feed.next().await.unwrap();
    assert_eq!(
        group_created.sync_group().map(|g| g.display_name),
        Some("Sales".into())
    );
    let joined = feed.next().await.unwrap();
    assert_eq!(joined.kind, ChangeKind::GroupMemberAdded);
    assert_eq!(
        (
            joined.sync_user().map(|u| (u.id.to_string(), u.deleted)),
            joined.sync_group().map(|g| g.display_name)
        ),
        (Some((ann.clone(), false)), Some("Sales".into())),
        "the member as it was when it joined, the group as it was then"
    );
    let deactivated = feed.next().await.unwrap();
    assert_eq!(deactivated.kind, ChangeKind::UserDeactivated);
    assert_eq!(deactivated.sync_user().map(|u| u.deleted), Some(true));
    let renamed = feed.next().await.unwrap();
    assert_eq!(
        renamed.sync_group().map(|g| g.display_name),
        Some("Gone".into())
    );
}

#[tokio::test]
async fn subscribers_see_a_deprovisioning_as_it_happens() {
    let notifier = Arc::new(LocalNotifier::new());
    let fx = Fixture::with(&[], |b| b.change_notifier(notifier.clone())).await;
    let ann = fx.create_user("ann@acme.com").await;
    let sync = sync_for(&fx).with_notifier(notifier);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let mut subscription = sync.subscribe(&selector, 1).await.unwrap();
    let waiter = tokio::spawn(async move {
        subscription
            .next()
            .await
            .map(|c| (c.kind, c.resource_id.to_string()))
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    fx.request("DELETE", &format!("/Users/{ann}"), None).await;
    // A liveness bound, not a speed assertion: the change must arrive at all.
    let change = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(change, (ChangeKind::UserDeleted, ann));
}

#[tokio::test]
async fn subscribers_without_a_notifier_still_receive_every_change_in_order() {
    // No notifier: writes from another process look like this, and only the poll finds
    // them.
    let fx = Fixture::new(&[]).await;
    let sync = sync_for(&fx);
    let selector = DirectorySelector::OrganizationExternalId("acme".into());
    let mut subscription = sync.subscribe(&selector, 0).await.unwrap();
    let ann = fx.create_user("ann@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": ann}]})),
        )
        .await
        .id();
    fx.request("DELETE", &format!("/Users/{ann}"), None).await;
    let mut received = Vec::new();
    for _ in 0..4 {
        // A liveness bound, not a speed assertion.
        let change = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("the change arrives")
            .unwrap();
        received.push((change.seq, change.kind, change.resource_id.to_string()));
    }
    assert_eq!(
        received,
        vec![
            (1, ChangeKind::UserCreated, ann.clone()),
            (2, ChangeKind::GroupCreated, group.clone()),
            (3, ChangeKind::GroupMemberAdded, group),
            (4, ChangeKind::UserDeleted, ann),
        ]
    );
    assert_eq!(subscription.cursor(), 4);
    assert_eq!(sync.latest_cursor(&selector).await.unwrap(), 4);
    // Resuming from the cursor yields nothing old.
    let mut resumed = sync
        .subscribe(&selector, subscription.cursor())
        .await
        .unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(400), resumed.next()).await;
    assert!(nothing.is_err(), "no change after the cursor: {nothing:?}");
}

#[tokio::test]
async fn latest_cursor_walks_past_a_full_page_of_changes() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let group = fx
        .request("POST", "/Groups", Some(json!({"displayName": "G"})))
        .await
        .id();
    // Join and leave until the log holds more than one page of 1000 changes.
    let path = format!("/Groups/{group}");
    for _ in 0..501 {
        for op in [
            json!({"op": "add", "path": "members", "value": [{"value": ann}]}),
            json!({"op": "remove", "path": "members"}),
        ] {
            fx.request("PATCH", &path, Some(json!({"Operations": [op]})))
                .await;
        }
    }
    let sync = sync_for(&fx);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    assert_eq!(sync.latest_cursor(&selector).await.unwrap(), 2 + 2 * 501);
}

/// Ids at random positions in key order (time-ordered ids would always land after the
/// walk's position, where no paging scheme can go wrong).
struct ScatteredIds(Mutex<u64>);

impl IdGenerator for ScatteredIds {
    fn next_uuid(&self) -> uuid::Uuid {
        let mut state = self.0.lock().unwrap();
        // xorshift64*: reproducible from the proptest seed.
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let high = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        *state ^= high;
        uuid::Uuid::from_u128((u128::from(high) << 64) | u128::from(*state))
    }
}

#[derive(Debug, Clone)]
enum Step {
    Create,
    Delete(usize),
    Join(usize),
    Leave(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Create),
        (0usize..30).prop_map(Step::Delete),
        (0usize..30).prop_map(Step::Join),
        (0usize..30).prop_map(Step::Leave),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Every user that exists (or is a member) for the whole walk appears exactly once,
    /// and nothing appears twice, whatever the IdP does between pages: creates at any
    /// position in key order, deletes, members joining and leaving.
    #[test]
    fn paging_is_exact_under_concurrent_change(
        seed in 1u64..u64::MAX,
        initial in 1usize..15,
        members_mask in any::<u16>(),
        by_group in any::<bool>(),
        page_size in 1usize..5,
        steps in prop::collection::vec(step(), 0..20),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let ids_source = Arc::new(ScatteredIds(Mutex::new(seed)));
            let fx = Fixture::with(&[], |b| b.ids(ids_source)).await;
            let mut ids = Vec::new();
            for i in 0..initial {
                ids.push(fx.create_user(&format!("init{i}@acme.com")).await);
            }
            let initial_members: Vec<String> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| members_mask & (1 << i) != 0)
                .map(|(_, id)| id.clone())
                .collect();
            let members: Vec<_> = initial_members.iter().map(|id| json!({"value": id})).collect();
            let group = fx
                .request("POST", "/Groups", Some(json!({"displayName": "G", "members": members})))
                .await
                .id();
            let sync = sync_for(&fx);
            let selector = DirectorySelector::Directory(fx.directory.clone());
            let mut seen: HashMap<String, usize> = HashMap::new();
            let mut left: Vec<String> = Vec::new();
            let mut joined: Vec<String> = Vec::new();
            let mut deleted: Vec<String> = Vec::new();
            let mut token = None;
            let mut steps = steps.into_iter();
            let mut created = 0;
            loop {
                let page = sync
                    .list_users({
                        let request = ListUsers::new(selector.clone());
                        let mut request = request.with_page_size(page_size).with_page_token(token);
                        request.group = by_group.then(|| group.parse().unwrap());
                        request
                    })
                    .await
                    .unwrap();
                for user in &page.items {
                    *seen.entry(user.id.to_string()).or_default() += 1;
                }
                // The IdP acts between pages.
                if let Some(step) = steps.next() {
                    let patch = |op: &str, id: &str| {
                        let op = match op {
                            "add" => json!({"op": "add", "path": "members", "value": [{"value": id}]}),
                            _ => json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}),
                        };
                        Some(json!({"Operations": [op]}))
                    };
                    let group_path = format!("/Groups/{group}");
                    match step {
                        Step::Create => {
                            created += 1;
                            fx.create_user(&format!("new{created}@acme.com")).await;
                        }
                        Step::Delete(i) => {
                            let id = &ids[i % ids.len()];
                            fx.request("DELETE", &format!("/Users/{id}"), None).await;
                            deleted.push(id.clone());
                        }
                        // A deleted user cannot join (the service refuses it).
                        Step::Join(i) if !deleted.contains(&ids[i % ids.len()]) => {
                            let id = &ids[i % ids.len()];
                            let reply = fx.request("PATCH", &group_path, patch("add", id)).await;
                            assert!(reply.status.is_success(), "{:?}", reply.body);
                            joined.push(id.clone());
                        }
                        Step::Leave(i) => {
                            let id = &ids[i % ids.len()];
                            let reply = fx.request("PATCH", &group_path, patch("remove", id)).await;
                            assert!(reply.status.is_success(), "{:?}", reply.body);
                            left.push(id.clone());
                        }
                        Step::Join(_) => {}
                    }
                }
                match page.next_page_token {
                    None => break,
                    next => token = next,
                }
            }
            assert!(seen.values().all(|&n| n == 1), "no user twice: {seen:?}");
            if by_group {
                for id in initial_members.iter().filter(|id| !left.contains(id)) {
                    assert_eq!(seen.get(id), Some(&1), "{id} was a member throughout");
                }
                for id in seen.keys() {
                    assert!(
                        initial_members.contains(id) || joined.contains(id),
                        "{id} was never a member"
                    );
                }
            } else {
                // Deletion is soft, so every initial user stays listed.
                for id in &ids {
                    assert_eq!(seen.get(id), Some(&1), "{id} existed throughout");
                }
            }
        });
    }
}

// Streams: the same keyset walk as the page methods, paged under the hood.

#[tokio::test]
async fn the_users_stream_pages_through_every_user_once() {
    use futures_util::TryStreamExt;
    let fx = Fixture::new(&[]).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    fx.request("DELETE", &format!("/Users/{}", ids[1]), None)
        .await;
    let sync = sync_for(&fx);
    let users: Vec<_> = sync
        // Three pages, the last one short.
        .users(
            ListUsers::new(DirectorySelector::OrganizationExternalId("acme".into()))
                .with_page_size(3),
        )
        .try_collect()
        .await
        .unwrap();
    let seen: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    assert_eq!(seen, ids, "every user once, deprovisioned ones included");
    assert!(users[1].deleted);
    // An error ends the stream after one item.
    let mut bad = sync.users(ListUsers::new(DirectorySelector::OrganizationExternalId(
        "nobody".into(),
    )));
    use futures_util::StreamExt;
    assert!(matches!(
        bad.next().await,
        Some(Err(SyncError::UnknownOrganization))
    ));
    assert!(bad.next().await.is_none());
}

#[tokio::test]
async fn the_members_stream_walks_a_group_larger_than_a_page() {
    use futures_util::TryStreamExt;
    let fx = Fixture::new(&[]).await;
    let mut ids = Vec::new();
    // One more than the default page size, so the stream reads two pages.
    for i in 0..=scimkit::sync::DEFAULT_PAGE_SIZE {
        ids.push(fx.create_user(&format!("m{i:03}@acme.com")).await);
    }
    let _outsider = fx.create_user("outsider@acme.com").await;
    let members: Vec<_> = ids.iter().map(|id| json!({"value": id})).collect();
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "All", "members": members})),
        )
        .await
        .id();
    let sync = sync_for(&fx);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let streamed: Vec<String> = sync
        .members(&selector, &group.parse().unwrap())
        .map_ok(|u| u.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, ids);
    let unknown: Result<Vec<_>, _> = sync
        .members(&selector, &GroupId::from_uuid(uuid::Uuid::from_u128(7)))
        .try_collect()
        .await;
    assert!(matches!(unknown, Err(SyncError::NotFound)));
}

#[tokio::test]
async fn the_groups_stream_pages_through_every_group_once() {
    use futures_util::TryStreamExt;
    let fx = Fixture::new(&[]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let group = json!({"displayName": format!("G{i}")});
        ids.push(fx.request("POST", "/Groups", Some(group)).await.id());
    }
    fx.request("DELETE", &format!("/Groups/{}", ids[3]), None)
        .await;
    let sync = sync_for(&fx);
    let groups: Vec<_> = sync
        .groups(
            ListGroups::new(DirectorySelector::Directory(fx.directory.clone())).with_page_size(2),
        )
        .try_collect()
        .await
        .unwrap();
    let seen: Vec<String> = groups.iter().map(|g| g.id.to_string()).collect();
    assert_eq!(seen, ids);
    assert!(groups[3].deleted);
}

#[tokio::test]
async fn the_subscription_stream_yields_a_change_made_after_subscribing() {
    use futures_util::StreamExt;
    let notifier = Arc::new(LocalNotifier::new());
    let fx = Fixture::with(&[], |b| b.change_notifier(notifier.clone())).await;
    let sync = sync_for(&fx).with_notifier(notifier);
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let mut feed = sync.subscribe(&selector, 0).await.unwrap();
    // A poll dropped while it waits (as `tokio::select!` drops the losing branch) must not
    // lose the change that arrives next.
    let early = tokio::time::timeout(Duration::from_millis(20), StreamExt::next(&mut feed)).await;
    assert!(early.is_err(), "nothing happened yet");
    let ann = fx.create_user("ann@acme.com").await;
    // A liveness bound, not a speed assertion.
    let change = tokio::time::timeout(Duration::from_secs(5), StreamExt::next(&mut feed))
        .await
        .expect("the change arrives")
        .expect("the feed never ends")
        .unwrap();
    assert_eq!(
        (change.seq, change.kind, change.resource_id.to_string()),
        (1, ChangeKind::UserCreated, ann)
    );
    assert_eq!(feed.cursor(), 1);
}
