//! Single requests through `ScimService::handle` on the memory store with 1,000 users:
//! GET by id, POST, PUT, PATCH of a user attribute, PATCH of one group member, and the
//! most expensive PATCH the default limits let through (1,000 filtered operations on a
//! user with 1,000 emails), which bounds what one request can cost.
//!
//! `cargo bench --bench service`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use scimkit::store::MemoryStore;
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

struct World {
    scim: ScimService,
    base: String,
    token: String,
    user: String,
    group: String,
    member: String,
    many_emails: String,
}

impl World {
    fn request(&self, method: &str, path: &str, body: &Value) -> http::Request<Bytes> {
        let body = if body.is_null() {
            Bytes::new()
        } else {
            Bytes::from(body.to_string())
        };
        http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(body)
            .expect("request")
    }
}

async fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone());
    let org = admin.create_organization(None, vec![]).await.expect("org");
    let dir = admin.create_directory(&org.id, true).await.expect("dir");
    let token = admin.issue_scim_token(&dir.id).await.expect("token").secret;
    let scim = ScimService::builder(store).build();
    let mut world = World {
        scim,
        base: format!("/scim/v2/{}", dir.id),
        token,
        user: String::new(),
        group: String::new(),
        member: String::new(),
        many_emails: String::new(),
    };
    let mut ids = Vec::new();
    for n in 0..1000 {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{n}@example.com"),
            "name": {"givenName": "Bench", "familyName": format!("{n}")},
            "emails": [{"value": format!("user{n}@example.com"), "type": "work", "primary": true}],
            "active": true,
        });
        let response = world
            .scim
            .handle(world.request("POST", "/Users", &body))
            .await;
        let doc: Value = serde_json::from_slice(response.body()).expect("json");
        ids.push(doc["id"].as_str().unwrap_or_default().to_owned());
    }
    world.user = ids[500].clone();
    world.member = ids[1].clone();
    let members: Vec<Value> = ids[10..20].iter().map(|id| json!({"value": id})).collect();
    let response = world
        .scim
        .handle(world.request(
            "POST",
            "/Groups",
            &json!({"displayName": "Bench group", "members": members}),
        ))
        .await;
    let doc: Value = serde_json::from_slice(response.body()).expect("json");
    world.group = doc["id"].as_str().unwrap_or_default().to_owned();
    let emails: Vec<Value> = (0..1000)
        .map(|i| json!({"value": format!("e{i}@example.com"), "type": format!("t{i}")}))
        .collect();
    let response = world
        .scim
        .handle(world.request(
            "POST",
            "/Users",
            &json!({"userName": "many@example.com", "emails": emails}),
        ))
        .await;
    let doc: Value = serde_json::from_slice(response.body()).expect("json");
    world.many_emails = doc["id"].as_str().unwrap_or_default().to_owned();
    world
}

fn patch(operations: Vec<Value>) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

fn service(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let world = runtime.block_on(world());
    let mut group = c.benchmark_group("ScimService::handle, 1k users");
    group.sample_size(50);
    let counter = AtomicU64::new(0);

    group.bench_function("GET /Users/{id}", |b| {
        b.to_async(&runtime).iter(|| async {
            let path = format!("/Users/{}", world.user);
            let response = world
                .scim
                .handle(world.request("GET", &path, &Value::Null))
                .await;
            assert_eq!(response.status(), 200);
        })
    });
    group.bench_function("POST /Users", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("new{n}@example.com"),
                "name": {"givenName": "New"},
                "active": true,
            });
            let response = world
                .scim
                .handle(world.request("POST", "/Users", &body))
                .await;
            assert_eq!(response.status(), 201);
        })
    });
    group.bench_function("PUT /Users/{id}", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "user500@example.com",
                "title": format!("t{n}"),
                "emails": [{"value": "user500@example.com", "type": "work", "primary": true}],
                "active": true,
            });
            let path = format!("/Users/{}", world.user);
            let response = world.scim.handle(world.request("PUT", &path, &body)).await;
            assert_eq!(response.status(), 200);
        })
    });
    group.bench_function("PATCH /Users/{id} (replace title)", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let body = patch(vec![
                json!({"op": "replace", "path": "title", "value": format!("t{n}")}),
            ]);
            let path = format!("/Users/{}", world.user);
            let response = world
                .scim
                .handle(world.request("PATCH", &path, &body))
                .await;
            assert_eq!(response.status(), 200);
        })
    });
    group.bench_function("PATCH /Groups/{id} (add or remove one member)", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let op = if n.is_multiple_of(2) {
                json!({"op": "add", "path": "members", "value": [{"value": world.member}]})
            } else {
                json!({"op": "remove", "path": format!("members[value eq \"{}\"]", world.member)})
            };
            let path = format!("/Groups/{}?excludedAttributes=members", world.group);
            let response = world
                .scim
                .handle(world.request("PATCH", &path, &patch(vec![op])))
                .await;
            assert_eq!(response.status(), 200);
        })
    });
    group.finish();

    // A fresh directory: the POST benchmark above grew the first one.
    let world = runtime.block_on(self::world());
    let mut worst = c.benchmark_group("worst case within the default limits");
    worst.sample_size(10);
    let operations: Vec<Value> = (0..1000)
        .map(|i| json!({"op": "replace", "path": format!("emails[type eq \"t{i}\"].display"), "value": "d"}))
        .collect();
    let body = patch(operations);
    worst.bench_function(
        "PATCH 1,000 filtered operations, user with 1,000 emails",
        |b| {
            b.to_async(&runtime).iter(|| async {
                let path = format!("/Users/{}", world.many_emails);
                let response = world
                    .scim
                    .handle(world.request("PATCH", &path, &body))
                    .await;
                assert_eq!(response.status(), 200);
            })
        },
    );
    let names: Vec<String> = (0..200).map(|i| format!("urn:x:a{i}")).collect();
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "excludedAttributes": names,
        "count": 1000,
    });
    worst.bench_function(".search, 200 excludedAttributes over 1,000 users", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = world
                .scim
                .handle(world.request("POST", "/.search", &search))
                .await;
            assert_eq!(response.status(), 200);
        })
    });
    let plain = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "count": 1000,
    });
    worst.bench_function(
        ".search over 1,000 users, no attribute lists (baseline)",
        |b| {
            b.to_async(&runtime).iter(|| async {
                let response = world
                    .scim
                    .handle(world.request("POST", "/.search", &plain))
                    .await;
                assert_eq!(response.status(), 200);
            })
        },
    );
    worst.finish();
}

criterion_group!(benches, service);
criterion_main!(benches);
