//! Deprovisioning as SCIM and the vendor each see it (DESIGN §4), root `.search` paging
//! across Users and Groups (RFC 7644 §3.4.3), and the change log's retention.

mod common;

use std::collections::HashSet;

use common::Fixture;
use http::StatusCode;
use scimkit::model::{ChangeKind, UserState};
use scimkit::store::States;
use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers, SyncError};
use serde_json::json;

async fn group_with(fx: &Fixture, name: &str, members: &[&str]) -> String {
    let members: Vec<_> = members.iter().map(|m| json!({"value": m})).collect();
    let reply = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": name, "members": members})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.id()
}

fn member_ids(group: &serde_json::Value) -> Vec<String> {
    group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_deleted_user_leaves_scim_members_but_a_deactivated_one_stays() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let group = group_with(&fx, "Sales", &[&ann, &bob]).await;
    fx.request("DELETE", &format!("/Users/{ann}"), None).await;
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let reply = fx
        .request("PATCH", &format!("/Users/{bob}"), Some(off))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let shown = fx.request("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(
        member_ids(&shown.body),
        vec![bob.clone()],
        "a DELETEd user is 404 over SCIM, so it is not listed as a member either"
    );

    // The vendor still sees both, told apart.
    let sync = DirectorySync::new(fx.store.clone());
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let page = sync
        .list_users(ListUsers::new(selector.clone()).with_group(group.parse().unwrap()))
        .await
        .unwrap();
    let states: Vec<(bool, UserState)> = page.items.iter().map(|u| (u.deleted, u.state)).collect();
    assert_eq!(
        states,
        vec![(true, UserState::Deleted), (true, UserState::Deactivated)],
        "members include deprovisioned users by default, with why"
    );
    let active_only = sync
        .list_users(
            ListUsers::new(selector.clone())
                .with_group(group.parse().unwrap())
                .with_states(States::Active),
        )
        .await
        .unwrap();
    assert!(
        active_only.items.is_empty(),
        "States::Active leaves them out"
    );

    let kinds: Vec<ChangeKind> = sync
        .changes(&selector, 0, 100)
        .await
        .unwrap()
        .changes
        .iter()
        .map(|c| c.kind)
        .filter(|k| k.deprovisions())
        .collect();
    assert_eq!(
        kinds,
        vec![ChangeKind::UserDeleted, ChangeKind::UserDeactivated],
        "the feed tells deletion from deactivation; both deprovision"
    );
}

#[tokio::test]
async fn root_search_pages_users_then_groups_with_cursors_that_advance() {
    let fx = Fixture::new(&[]).await;
    let mut expected = Vec::new();
    for n in 0..5 {
        expected.push(fx.create_user(&format!("u{n}@acme.com")).await);
    }
    for n in 0..4 {
        expected.push(group_with(&fx, &format!("g{n}"), &[]).await);
    }
    for count in [1, 2, 3, 4, 5, 6, 9, 10] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        for _ in 0..20 {
            let reply = fx
                .request(
                    "POST",
                    "/.search",
                    Some(
                        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "cursor": cursor, "count": count}),
                    ),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["totalResults"], 9);
            seen.extend(
                reply.body["Resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned()),
            );
            match reply.body["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(
            seen, expected,
            "count {count}: users, then groups, each once"
        );
    }
    for (start, first) in [(1, 0), (5, 4), (6, 5), (9, 8)] {
        let reply = fx
            .request(
                "POST",
                "/.search",
                Some(json!({"startIndex": start, "count": 2})),
            )
            .await;
        assert_eq!(
            reply.body["Resources"][0]["id"].as_str(),
            Some(expected[first].as_str()),
            "startIndex {start}"
        );
    }
}

#[tokio::test]
async fn root_search_filters_each_type_by_its_own_schema() {
    let fx = Fixture::new(&[]).await;
    fx.create_user("ann@acme.com").await;
    let sales = group_with(&fx, "Sales", &[]).await;
    let reply = fx
        .request(
            "POST",
            "/.search",
            Some(json!({"filter": "displayName eq \"sales\""})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let ids: HashSet<&str> = reply.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, HashSet::from([sales.as_str()]));
}

#[tokio::test]
async fn a_trimmed_feed_tells_the_reader_to_resync_and_a_purge_erases_the_directory() {
    let fx = Fixture::new(&[]).await;
    for n in 0..4 {
        fx.create_user(&format!("u{n}@acme.com")).await;
    }
    let sync = DirectorySync::new(fx.store.clone());
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let latest = sync.latest_cursor(&selector).await.unwrap();
    assert_eq!(latest, 4);
    assert_eq!(fx.admin.trim_changes(&fx.directory, 2).await.unwrap(), 2);
    assert!(matches!(
        sync.changes(&selector, 0, 10).await,
        Err(SyncError::CursorTrimmed { through: 2 })
    ));
    assert_eq!(
        sync.changes(&selector, 2, 10).await.unwrap().changes.len(),
        2
    );
    assert_eq!(sync.latest_cursor(&selector).await.unwrap(), 4);

    fx.admin.purge_directory(&fx.directory).await.unwrap();
    let reply = fx.request("GET", "/Users", None).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "the purged directory's token no longer opens anything"
    );
    assert!(matches!(
        sync.latest_cursor(&selector).await,
        Err(SyncError::UnknownDirectory)
    ));
}
