//! The store contract's cost promise, pinned: each request kind makes a fixed number of
//! store calls, whatever the size of the directory or the group (issue: every request
//! costs what it touches). A counting store sits between the service and the memory store.

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::store::{DirectoryStore, StoreCall};
use serde_json::json;

/// A directory with `users` users, each a member of the first `groups_per_user` of
/// `groups` groups. Returns the user ids and group ids.
async fn populated(fx: &Fixture, users: usize, groups: usize) -> (Vec<String>, Vec<String>) {
    let mut user_ids = Vec::new();
    for n in 0..users {
        user_ids.push(fx.create_user(&format!("u{n}@acme.com")).await);
    }
    let members: Vec<_> = user_ids.iter().map(|id| json!({"value": id})).collect();
    let mut group_ids = Vec::new();
    for n in 0..groups {
        let reply = fx
            .request(
                "POST",
                "/Groups",
                Some(json!({"displayName": format!("g{n}"), "members": members})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        group_ids.push(reply.id());
    }
    (user_ids, group_ids)
}

/// The store calls one request makes.
async fn calls_of(fx: &Fixture, method: &str, path: &str, body: Option<serde_json::Value>) -> u64 {
    fx.calls.reset();
    let reply = fx.request(method, path, body).await;
    assert!(reply.status.is_success(), "{method} {path}: {}", reply.body);
    fx.calls.total()
}

#[tokio::test]
async fn a_page_of_users_with_their_groups_costs_the_same_at_any_directory_size() {
    let small = Fixture::new(&[]).await;
    populated(&small, 3, 5).await;
    let large = Fixture::new(&[]).await;
    populated(&large, 250, 5).await;
    for path in [
        "/Users?count=100",
        "/Users?startIndex=2&count=100",
        "/Users?cursor=&count=100",
        "/Users?filter=userName%20eq%20%22u1@acme.com%22",
    ] {
        let at_small = calls_of(&small, "GET", path, None).await;
        let at_large = calls_of(&large, "GET", path, None).await;
        assert_eq!(
            at_small, at_large,
            "GET {path}: store calls independent of size"
        );
    }
    assert_eq!(
        calls_of(&large, "GET", "/Users?startIndex=151&count=100", None).await,
        calls_of(&large, "GET", "/Users?count=100", None).await,
        "a middle page costs what the first does"
    );
    large.calls.reset();
    let page = large.request("GET", "/Users?count=100", None).await;
    assert_eq!(page.body["Resources"].as_array().map(Vec::len), Some(100));
    assert_eq!(
        page.body["Resources"][0]["groups"].as_array().map(Vec::len),
        Some(5),
        "each user renders its groups"
    );
    assert_eq!(
        large.calls.count(StoreCall::GroupsOfUsers),
        1,
        "one batch read for every user's groups"
    );
    assert_eq!(large.calls.count(StoreCall::CountUsers), 1);
    assert_eq!(large.calls.count(StoreCall::ListUsers), 1);
    assert_eq!(
        large.calls.count(StoreCall::GetGroup),
        0,
        "no read per group"
    );
}

#[tokio::test]
async fn a_create_answers_what_a_get_then_shows_without_reading_groups() {
    let fx = Fixture::new(&[]).await;
    fx.calls.reset();
    let created = fx
        .request("POST", "/Users", Some(json!({"userName": "new@acme.com"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        fx.calls.count(StoreCall::GroupsOfUsers),
        0,
        "a user created just now is in no group"
    );
    let fetched = fx
        .request("GET", &format!("/Users/{}", created.id()), None)
        .await;
    assert_eq!(created.body, fetched.body);
}

#[tokio::test]
async fn member_edits_on_a_large_group_read_no_member_list() {
    let fx = Fixture::new(&[]).await;
    let (users, groups) = populated(&fx, 300, 1).await;
    let group = &groups[0];
    let newcomer = fx.create_user("new@acme.com").await;
    let path = format!("/Groups/{group}?excludedAttributes=members");
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": newcomer}]}]});
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", users[7])}]});
    let adding = calls_of(&fx, "PATCH", &path, Some(add)).await;
    assert_eq!(
        fx.calls.count(StoreCall::ListMembers),
        0,
        "an add reads no member list"
    );
    assert_eq!(
        fx.calls.count(StoreCall::GetUsers),
        1,
        "the added member is checked once"
    );
    let removing = calls_of(&fx, "PATCH", &path, Some(remove)).await;
    assert_eq!(
        fx.calls.count(StoreCall::ListMembers),
        0,
        "removing members[value eq] reads no member list"
    );
    assert!(
        adding <= 6 && removing <= 6,
        "add {adding}, remove {removing} calls"
    );
    let members = fx
        .store
        .list_members(
            &fx.directory,
            &group.parse().unwrap(),
            scimkit::store::States::All,
            scimkit::store::Keyset::all(),
        )
        .await
        .unwrap();
    assert_eq!(members.len(), 300, "one added, one removed");
}

#[tokio::test]
async fn group_writes_check_their_members_in_one_call() {
    let fx = Fixture::new(&[]).await;
    let (users, _) = populated(&fx, 40, 0).await;
    let members: Vec<_> = users.iter().map(|id| json!({"value": id})).collect();
    calls_of(
        &fx,
        "POST",
        "/Groups",
        Some(json!({"displayName": "All", "members": members})),
    )
    .await;
    assert_eq!(fx.calls.count(StoreCall::GetUsers), 1);
    assert_eq!(fx.calls.count(StoreCall::GetUser), 0, "no read per member");
}

#[tokio::test]
async fn getting_a_group_lists_its_members_once() {
    let fx = Fixture::new(&[]).await;
    let (_, groups) = populated(&fx, 120, 1).await;
    let path = format!("/Groups/{}", groups[0]);
    calls_of(&fx, "GET", &path, None).await;
    assert_eq!(fx.calls.count(StoreCall::MembersOfGroups), 1);
    assert_eq!(
        fx.calls.count(StoreCall::ListMembers),
        0,
        "no read per member"
    );
    calls_of(
        &fx,
        "GET",
        &format!("{path}?excludedAttributes=members"),
        None,
    )
    .await;
    assert_eq!(
        fx.calls.count(StoreCall::MembersOfGroups) + fx.calls.count(StoreCall::ListMembers),
        0,
        "excludedAttributes=members reads no members"
    );
}

#[tokio::test]
async fn a_page_of_groups_with_their_members_costs_the_same_at_any_page_size() {
    let small = Fixture::new(&[]).await;
    let (_, small_groups) = populated(&small, 3, 5).await;
    let large = Fixture::new(&[]).await;
    let (_, large_groups) = populated(&large, 3, 50).await;
    for (fx, groups) in [(&small, small_groups), (&large, large_groups)] {
        // A group nested in the first one, so pages carry member groups too.
        let child = fx
            .request("POST", "/Groups", Some(json!({"displayName": "child"})))
            .await;
        assert_eq!(child.status, StatusCode::CREATED, "{}", child.body);
        let nest = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": child.id()}]}]});
        let nested = fx
            .request("PATCH", &format!("/Groups/{}", groups[0]), Some(nest))
            .await;
        assert!(nested.status.is_success(), "{}", nested.body);
    }
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "count": 50});
    for (method, path, body) in [
        ("GET", "/Groups?count=50", None),
        ("GET", "/Groups?startIndex=2&count=50", None),
        ("GET", "/Groups?cursor=&count=50", None),
        ("POST", "/Groups/.search", Some(search.clone())),
        ("POST", "/.search", Some(search.clone())),
    ] {
        let at_small = calls_of(&small, method, path, body.clone()).await;
        let at_large = calls_of(&large, method, path, body).await;
        assert_eq!(
            at_small, at_large,
            "{method} {path}: store calls independent of the page size"
        );
    }
    large.calls.reset();
    let page = large.request("GET", "/Groups?count=50", None).await;
    let resources = page.body["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(resources.len(), 50);
    assert!(
        resources
            .iter()
            .all(|g| g["members"].as_array().is_some_and(|m| !m.is_empty())),
        "each group renders its members"
    );
    assert!(
        resources.iter().any(|g| g["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["type"] == "Group"))),
        "member groups render too"
    );
    assert_eq!(
        large.calls.count(StoreCall::MembersOfGroups),
        1,
        "one batch read for every group's members"
    );
    assert_eq!(
        large.calls.count(StoreCall::ListMembers),
        0,
        "no read per group"
    );
    assert_eq!(
        large.calls.count(StoreCall::ListGroups),
        1,
        "the page itself, no member-group read per group"
    );
    assert_eq!(
        calls_of(
            &large,
            "GET",
            "/Groups?count=50&excludedAttributes=members",
            None
        )
        .await,
        calls_of(&large, "GET", "/Groups?count=50", None).await - 1,
        "excludedAttributes=members skips the one member read"
    );
    assert_eq!(large.calls.count(StoreCall::MembersOfGroups), 1);
}

#[tokio::test]
async fn an_unindexed_filter_past_the_ceiling_is_too_many_not_a_scan() {
    let fx = Fixture::with(&[], |b| b.max_filter_candidates(20)).await;
    populated(&fx, 25, 0).await;
    let reply = fx
        .request("GET", "/Users?filter=name.givenName%20eq%20%22Ann%22", None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("tooMany"));
    let indexed = fx
        .request(
            "GET",
            "/Users?filter=userName%20eq%20%22u3@acme.com%22",
            None,
        )
        .await;
    assert_eq!(
        indexed.status,
        StatusCode::OK,
        "indexed lookups never hit it"
    );
    assert_eq!(indexed.body["totalResults"], 1);
    let plain = fx
        .request("GET", "/Users?startIndex=21&count=10", None)
        .await;
    assert_eq!(plain.body["totalResults"], 25, "plain paging never hits it");
    assert_eq!(plain.body["Resources"].as_array().map(Vec::len), Some(5));
}
