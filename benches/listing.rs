//! The store contract's scaling promise through the whole service, memory store: a page of
//! users costs the page, not the directory; a member edit costs the member, not the group.
//!
//! `cargo bench --bench listing`

use std::sync::Arc;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scimkit::model::{DirectoryId, Group, GroupId, Meta, UserId, UserState};
use scimkit::store::{DirectoryStore, MemoryStore};
use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
use scimkit::{Admin, ScimService, User};
use serde_json::{Value, json};
use time::macros::datetime;

struct Setup {
    scim: ScimService,
    sync: DirectorySync,
    base: String,
    token: String,
    directory: DirectoryId,
}

fn user_id(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128((1u128 << 100) | n))
}

fn group_id(n: u128) -> GroupId {
    GroupId::from_uuid(uuid::Uuid::from_u128((2u128 << 100) | n))
}

/// `users` users; the first `grouped` of them in each of `groups` groups.
async fn setup(users: u128, groups: u128, grouped: u128) -> Setup {
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone());
    let org = admin.create_organization(None, vec![]).await.expect("org");
    let dir = admin.create_directory(&org.id, true).await.expect("dir");
    let token = admin.issue_scim_token(&dir.id).await.expect("token").secret;
    let at = datetime!(2026-01-01 0:00 UTC);
    for n in 0..users {
        let name = format!("user{n}@example.com");
        store
            .insert_user(
                User::new(
                    user_id(n),
                    dir.id.clone(),
                    json!({"userName": name, "emails": [{"value": name, "primary": true}],
                    "name": {"givenName": "Given", "familyName": format!("Family{n}")}}),
                    Meta::new(at),
                )
                .with_email(Some(name.clone()))
                .with_state(UserState::Active),
            )
            .await
            .expect("insert");
    }
    let members: Vec<UserId> = (0..grouped).map(user_id).collect();
    for g in 0..groups {
        store
            .insert_group(
                Group::new(
                    group_id(g),
                    dir.id.clone(),
                    format!("group {g}"),
                    json!({"displayName": format!("group {g}")}),
                    Meta::new(at),
                ),
                &members,
                &[],
            )
            .await
            .expect("group");
    }
    let scim = ScimService::builder(store.clone()).build();
    Setup {
        scim,
        sync: DirectorySync::new(store),
        base: format!("/scim/v2/{}", dir.id),
        token,
        directory: dir.id,
    }
}

/// Sends one request and returns the response body unparsed (parsing it would be the
/// bench's cost, not the service's).
async fn send(setup: &Setup, method: &str, path: &str, body: Option<&Value>) -> Bytes {
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", setup.base))
        .header("authorization", format!("Bearer {}", setup.token))
        .header("content-type", "application/scim+json")
        .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
        .expect("request");
    let response = setup.scim.handle(request).await;
    assert!(
        response.status().is_success(),
        "{method} {path}: {}",
        response.status()
    );
    response.into_body()
}

fn pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("page of 100 users");
    group.sample_size(30);
    for size in [1_000u128, 100_000] {
        let setup = runtime.block_on(setup(size, 0, 0));
        let middle = format!("/Users?startIndex={}&count=100", size / 2);
        let cursor = runtime.block_on(async {
            let first = send(&setup, "GET", "/Users?cursor=&count=100", None).await;
            let first: Value = serde_json::from_slice(&first).unwrap_or(Value::Null);
            first["nextCursor"].as_str().unwrap_or_default().to_owned()
        });
        let cursor_page = format!("/Users?count=100&cursor={cursor}");
        let page_token = runtime.block_on(async {
            setup
                .sync
                .list_users(ListUsers::new(DirectorySelector::Directory(
                    setup.directory.clone(),
                )))
                .await
                .expect("sync page")
                .next_page_token
        });
        for (name, path) in [
            ("first", "/Users?count=100".to_owned()),
            ("middle", middle),
            ("cursor", cursor_page),
        ] {
            group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.to_async(&runtime)
                    .iter(|| send(&setup, "GET", &path, None))
            });
        }
        group.bench_with_input(BenchmarkId::new("sync", size), &size, |b, _| {
            b.to_async(&runtime).iter(|| async {
                setup
                    .sync
                    .list_users(
                        ListUsers::new(DirectorySelector::Directory(setup.directory.clone()))
                            .with_page_token(page_token.clone()),
                    )
                    .await
                    .expect("sync page")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("page of 100 users with groups");
    group.sample_size(30);
    for groups in [0u128, 5] {
        let setup = runtime.block_on(setup(1_000, groups, 1_000));
        group.bench_with_input(BenchmarkId::from_parameter(groups), &groups, |b, _| {
            b.to_async(&runtime)
                .iter(|| send(&setup, "GET", "/Users?count=100", None))
        });
    }
    group.finish();
}

fn member_edits(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("add then remove one member");
    group.sample_size(30);
    for members in [0u128, 20_000] {
        let setup = runtime.block_on(setup(20_001, 1, members));
        let newcomer = user_id(20_000);
        let path = format!("/Groups/{}?excludedAttributes=members", group_id(0));
        let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": newcomer}]}]});
        let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{newcomer}\"]")}]});
        group.bench_with_input(BenchmarkId::from_parameter(members), &members, |b, _| {
            b.to_async(&runtime).iter(|| async {
                send(&setup, "PATCH", &path, Some(&add)).await;
                send(&setup, "PATCH", &path, Some(&remove)).await;
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pages, member_edits);
criterion_main!(benches);
