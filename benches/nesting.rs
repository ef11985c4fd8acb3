//! Nested groups on `MemoryStore`: move a mid group out from under a mapped parent and
//! back (two `edit_members` calls), with N users below it (half in the mid group, half
//! in a group nested in it). Each move records one `user.roles_changed` per user, so a
//! round trip plans and records 2N entries: the cost of exact role changes through
//! nesting. `SCIMKIT_BENCH_USERS="100 1000 10000" cargo bench --bench nesting`.

use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use scimkit::model::{DirectoryId, GroupId, GroupMatch, Meta, RoleMapping, UserId, UserState};
use scimkit::store::{DirectoryStore, MembershipEdit, MemoryStore};
use scimkit::{Admin, Group, User};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

fn user(dir: &DirectoryId, n: u128) -> User {
    let name = format!("user{n}@example.com");
    User::new(
        UserId::from_uuid(uuid::Uuid::from_u128(n + 1)),
        dir.clone(),
        json!({"userName": name}),
        Meta::new(AT),
    )
    .with_email(Some(name))
    .with_state(UserState::Active)
}

fn group(dir: &DirectoryId, n: u128, name: &str) -> Group {
    Group::new(
        GroupId::from_uuid(uuid::Uuid::from_u128((1 << 100) | n)),
        dir.clone(),
        name,
        json!({"displayName": name}),
        Meta::new(AT),
    )
}

struct Tree {
    store: Arc<MemoryStore>,
    dir: DirectoryId,
    top: GroupId,
    mid: GroupId,
}

/// Engineering ∋ Mid ∋ Leaf, `users` users split between Mid and Leaf, Engineering
/// mapped to a role.
async fn tree(users: u128) -> Tree {
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone());
    let org = admin.create_organization(None, vec![]).await.expect("org");
    let dir = admin.create_directory(&org.id, true).await.expect("dir").id;
    let mapping = RoleMapping::new()
        .map(GroupMatch::DisplayName("Engineering".into()), "developer")
        .with_default("viewer");
    admin
        .set_role_mapping(&dir, mapping)
        .await
        .expect("mapping");
    let mut ids = Vec::new();
    for n in 0..users {
        ids.push(store.insert_user(user(&dir, n)).await.expect("user").id);
    }
    let (in_mid, in_leaf) = ids.split_at(ids.len() / 2);
    let leaf = store
        .insert_group(group(&dir, 3, "Leaf"), in_leaf, &[])
        .await
        .expect("leaf");
    let mid = store
        .insert_group(
            group(&dir, 2, "Mid"),
            in_mid,
            std::slice::from_ref(&leaf.id),
        )
        .await
        .expect("mid");
    let top = store
        .insert_group(
            group(&dir, 1, "Engineering"),
            &[],
            std::slice::from_ref(&mid.id),
        )
        .await
        .expect("top");
    Tree {
        store,
        dir,
        top: top.id,
        mid: mid.id,
    }
}

fn sizes() -> Vec<u128> {
    std::env::var("SCIMKIT_BENCH_USERS")
        .unwrap_or_else(|_| "100 1000 10000".into())
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn move_mid_group(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut bench = c.benchmark_group("nesting: move a mid group out and back");
    bench.sample_size(20);
    for users in sizes() {
        let t = runtime.block_on(tree(users));
        bench.bench_with_input(BenchmarkId::from_parameter(users), &users, |b, _| {
            b.iter_batched(
                // The log grows by 2N entries per round trip: trimmed outside the timing.
                || {
                    runtime.block_on(async {
                        let latest = t.store.latest_change_seq(&t.dir).await.expect("seq");
                        t.store.trim_changes(&t.dir, latest).await.expect("trim");
                    })
                },
                |()| {
                    runtime.block_on(async {
                        t.store
                            .edit_members(
                                &t.dir,
                                &t.top,
                                &[MembershipEdit::RemoveGroup(t.mid.clone())],
                                AT,
                            )
                            .await
                            .expect("out");
                        t.store
                            .edit_members(
                                &t.dir,
                                &t.top,
                                &[MembershipEdit::AddGroup(t.mid.clone())],
                                AT,
                            )
                            .await
                            .expect("back");
                    })
                },
                BatchSize::PerIteration,
            );
        });
        // The last round trip (the log was trimmed just before it) changed every user's
        // roles twice, once per move.
        let latest = runtime
            .block_on(t.store.latest_change_seq(&t.dir))
            .expect("seq");
        let round_trip = runtime
            .block_on(
                t.store
                    .list_changes(&t.dir, latest - (2 * users as u64 + 2), usize::MAX),
            )
            .expect("the last round trip's entries");
        let roles = round_trip
            .iter()
            .filter(|c| c.kind == scimkit::model::ChangeKind::RolesChanged)
            .count();
        assert_eq!(
            roles as u128,
            2 * users,
            "one roles change per user per move"
        );
    }
    bench.finish();
}

criterion_group!(benches, move_mid_group);
criterion_main!(benches);
