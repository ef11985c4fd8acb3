//! PostgresStore throughput at the store API: durable creates (1 and 16 writers), GET by
//! id, `userName eq` at 100k users, and member adds/removes on a 19k-member group with no
//! role mapping and under two kinds of role rule.
//!
//! ```text
//! scripts/with-postgres.sh cargo bench --bench postgres --features postgres
//! ```
//!
//! Needs `SCIMKIT_POSTGRES_URL`; prints a skip message without it. Runs in a fresh schema
//! and drops it at the end. `SCIMKIT_BENCH_USERS` changes the 100k.

use std::sync::Arc;
use std::time::Instant;

use scimkit::model::{
    Directory, DirectoryId, Group, GroupId, GroupMatch, Meta, Organization, OrganizationId,
    RoleMapping, User, UserId, UserState,
};
use scimkit::store::{
    DirectoryStore, Keyset, MembershipEdit, PostgresOptions, PostgresStore, UserFilter, UserKey,
};
use serde_json::json;
use time::OffsetDateTime;

fn user(dir: &DirectoryId, n: u64) -> User {
    let name = format!("user{n}@bench.example");
    User::new(
        UserId::from_uuid(uuid::Uuid::now_v7()),
        dir.clone(),
        json!({"userName": name, "name": {"givenName": "Bench", "familyName": n},
            "emails": [{"value": name, "primary": true}], "externalId": format!("ext-{n}")}),
        Meta::new(OffsetDateTime::now_utc()),
    )
    .with_email(Some(name.clone()))
    .with_state(UserState::Active)
}

/// Runs `total` operations over `workers` tasks; returns operations per second.
async fn throughput<F, Fut>(workers: u64, total: u64, op: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let per = total / workers;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    op(w * per + i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("worker");
    }
    (per * workers) as f64 / started.elapsed().as_secs_f64()
}

fn report(name: &str, ops: f64) {
    println!(
        "{name:<48} {ops:>10.0} ops/s  ({:.2} ms/op per worker)",
        1000.0 / ops
    );
}

/// Adds each of `spare` to `group` one edit at a time, then removes them; reports both.
async fn member_edits(
    store: &Arc<PostgresStore>,
    dir: &DirectoryId,
    group: &GroupId,
    spare: &Arc<Vec<UserId>>,
    label: &str,
) {
    for (verb, edit) in [
        ("add", MembershipEdit::Add as fn(UserId) -> MembershipEdit),
        ("remove", MembershipEdit::Remove),
    ] {
        let (store, dir, gid, spare) = (store.clone(), dir.clone(), group.clone(), spare.clone());
        let ops = throughput(1, spare.len() as u64, move |n| {
            let (store, dir, gid, spare) = (store.clone(), dir.clone(), gid.clone(), spare.clone());
            async move {
                store
                    .edit_members(
                        &dir,
                        &gid,
                        &[edit(spare[n as usize].clone())],
                        OffsetDateTime::now_utc(),
                    )
                    .await
                    .expect("member edit");
            }
        })
        .await;
        report(&format!("member {verb}, {label}"), ops);
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let Ok(url) = std::env::var("SCIMKIT_POSTGRES_URL") else {
        println!("SKIPPED: SCIMKIT_POSTGRES_URL is unset (run under scripts/with-postgres.sh)");
        return;
    };
    let users: u64 = std::env::var("SCIMKIT_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let schema = format!("bench_{}", std::process::id());
    let store = Arc::new(
        PostgresStore::connect(
            &url,
            PostgresOptions::default()
                .with_schema(&schema)
                .with_max_connections(32),
        )
        .await
        .expect("connect"),
    );
    let org = Organization::new(
        OrganizationId::from_uuid(uuid::Uuid::now_v7()),
        None,
        Vec::new(),
        OffsetDateTime::now_utc(),
    );
    store.insert_organization(org.clone()).await.expect("org");
    let dir = DirectoryId::from_uuid(uuid::Uuid::now_v7());
    store
        .insert_directory(Directory::new(dir.clone(), org.id, true))
        .await
        .expect("directory");

    for workers in [1, 16] {
        let (store, dir) = (store.clone(), dir.clone());
        let base = workers * 1_000_000;
        let ops = throughput(workers, 2000, move |n| {
            let (store, dir) = (store.clone(), dir.clone());
            async move {
                store
                    .insert_user(user(&dir, base + n))
                    .await
                    .expect("create");
            }
        })
        .await;
        report(&format!("durable create, {workers} writer(s)"), ops);
    }

    let started = Instant::now();
    let have = store
        .count_users(&dir, &UserFilter::default())
        .await
        .expect("count");
    // Users 0..loaded, named `user{n}@bench.example`, are what the lookups below find.
    // A multiple of the 16 loaders, so every name the lookups pick was loaded.
    let loaded = (users.saturating_sub(have) / 16 * 16).max(16);
    {
        let (store, dir) = (store.clone(), dir.clone());
        throughput(16, loaded, move |n| {
            let (store, dir) = (store.clone(), dir.clone());
            async move {
                store.insert_user(user(&dir, n)).await.expect("load");
            }
        })
        .await;
    }
    let total = store
        .count_users(&dir, &UserFilter::default())
        .await
        .expect("count");
    println!("loaded to {total} users in {:.1?}", started.elapsed());
    let ids: Arc<Vec<UserId>> = Arc::new(
        store
            .list_users(&dir, &UserFilter::default(), Keyset::first(10_000))
            .await
            .expect("ids")
            .into_iter()
            .map(|u| u.id)
            .collect(),
    );

    for workers in [1, 16] {
        let (store, dir, ids) = (store.clone(), dir.clone(), ids.clone());
        let ops = throughput(workers, 10_000, move |n| {
            let (store, dir, ids) = (store.clone(), dir.clone(), ids.clone());
            async move {
                let id = &ids[(n as usize * 7919) % ids.len()];
                assert!(store.get_user(&dir, id).await.expect("get").is_some());
            }
        })
        .await;
        report(
            &format!("GET by id at {total} users, {workers} reader(s)"),
            ops,
        );
    }
    for workers in [1, 16] {
        let (store, dir) = (store.clone(), dir.clone());
        let ops = throughput(workers, 10_000, move |n| {
            let (store, dir) = (store.clone(), dir.clone());
            async move {
                let filter = UserFilter {
                    key: Some(UserKey::UserName(format!(
                        "USER{}@bench.example",
                        (n * 7919) % loaded
                    ))),
                    ..UserFilter::default()
                };
                let found = store
                    .list_users(&dir, &filter, Keyset::first(2))
                    .await
                    .expect("lookup");
                assert_eq!(found.len(), 1);
            }
        })
        .await;
        report(
            &format!("userName eq at {total} users, {workers} reader(s)"),
            ops,
        );
    }

    let members: Vec<UserId> = store
        .list_users(&dir, &UserFilter::default(), Keyset::first(20_000))
        .await
        .expect("members")
        .into_iter()
        .map(|u| u.id)
        .collect();
    let group = Group::new(
        GroupId::from_uuid(uuid::Uuid::now_v7()),
        dir.clone(),
        "Everyone",
        json!({"displayName": "Everyone"}),
        Meta::new(OffsetDateTime::now_utc()),
    );
    let group = store
        .insert_group(group, &members[..members.len().saturating_sub(1000)], &[])
        .await
        .expect("group");
    let spare: Arc<Vec<UserId>> = Arc::new(members[members.len().saturating_sub(1000)..].to_vec());
    let size = members.len() - 1000;
    // The same adds and removes with no role mapping, with a rule naming another group
    // (PostgreSQL then takes the nesting lock shared and plans roles, and no role
    // changes), and with a rule naming this group (every edit also records
    // `user.roles_changed`).
    let mut directory = store
        .get_directory(&dir)
        .await
        .expect("read directory")
        .expect("directory");
    let mappings = [
        ("no role mapping", RoleMapping::new()),
        (
            "a role rule naming another group",
            RoleMapping::new().map(GroupMatch::DisplayName("Admins".into()), "admin"),
        ),
        (
            "a role rule naming this group",
            RoleMapping::new().map(GroupMatch::DisplayName("Everyone".into()), "member"),
        ),
    ];
    let empty = store
        .insert_group(
            Group::new(
                GroupId::from_uuid(uuid::Uuid::now_v7()),
                dir.clone(),
                "Empty",
                json!({"displayName": "Empty"}),
                Meta::new(OffsetDateTime::now_utc()),
            ),
            &[],
            &[],
        )
        .await
        .expect("empty group");
    member_edits(
        &store,
        &dir,
        &empty.id,
        &spare,
        "an empty group, no role mapping",
    )
    .await;
    for (label, mapping) in mappings {
        directory = directory.with_roles(mapping);
        store
            .update_directory(directory.clone())
            .await
            .expect("set role mapping");
        member_edits(
            &store,
            &dir,
            &group.id,
            &spare,
            &format!("a {size}-member group, {label}"),
        )
        .await;
    }

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let _ = client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await;
}
