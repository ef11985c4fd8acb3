//! `GET /Users?filter=userName eq "..."` through the whole service on the memory store at
//! 1k, 100k and 1M users: the index keeps it flat.

use std::sync::Arc;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scimkit::model::{Meta, UserId, UserState};
use scimkit::store::{DirectoryStore, MemoryStore};
use scimkit::{Admin, ScimService, User};
use serde_json::json;
use time::macros::datetime;

fn lookups(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("GET /Users?filter=userName eq");
    group.sample_size(50);
    for size in [1_000u128, 100_000, 1_000_000] {
        let (scim, path, token) = runtime.block_on(async {
            let store = Arc::new(MemoryStore::new());
            let admin = Admin::new(store.clone());
            let org = admin.create_organization(None, vec![]).await.expect("org");
            let dir = admin.create_directory(&org.id, true).await.expect("dir");
            let token = admin.issue_scim_token(&dir.id).await.expect("token").secret;
            for n in 0..size {
                let name = format!("user{n}@example.com");
                store
                    .insert_user(
                        User::new(
                            UserId::from_uuid(uuid::Uuid::from_u128(n + 1)),
                            dir.id.clone(),
                            json!({"userName": name, "emails": [{"value": name}]}),
                            Meta::new(datetime!(2026-01-01 0:00 UTC)),
                        )
                        .with_email(Some(name.clone()))
                        .with_state(UserState::Active),
                    )
                    .await
                    .expect("insert");
            }
            let target = format!("user{}@example.com", size / 2);
            let filter: String =
                form_urlencoded::byte_serialize(format!(r#"userName eq "{target}""#).as_bytes())
                    .collect();
            let scim = ScimService::builder(store).build();
            (
                scim,
                format!("/scim/v2/{}/Users?filter={filter}", dir.id),
                token,
            )
        });
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.to_async(&runtime).iter(|| async {
                let request = http::Request::get(&path)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Bytes::new())
                    .expect("request");
                let response = scim.handle(request).await;
                assert_eq!(response.status(), 200);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
