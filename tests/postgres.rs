//! PostgresStore: the conformance suite, migrations, races between pools standing in for
//! processes, and the cross-process change feed.
//!
//! Needs a database: `SCIMKIT_POSTGRES_URL` (`scripts/with-postgres.sh` starts a throwaway
//! cluster and sets it). Without it each test prints why it skipped and passes, except
//! under CI (`CI=true`), where a skipped Postgres test would hide a broken setup, so it
//! fails instead. Every test works in schemas of its own and drops them at the end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scimkit::model::{ChangeKind, ResourceId, UserState};
use scimkit::model::{Directory, DirectoryId, Meta, Organization, OrganizationId, User, UserId};
use scimkit::store::{
    ChangeNotifier, DirectoryStore, POSTGRES_SCHEMA_VERSION, PostgresNotifier, PostgresOpenError,
    PostgresOptions, PostgresStore, StoreError, UniqueAttribute,
};
use serde_json::json;
use time::OffsetDateTime;

/// The database URL, or `None` (after saying so) when the tests should skip.
fn database_url(test: &str) -> Option<String> {
    match std::env::var("SCIMKIT_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: SCIMKIT_POSTGRES_URL is unset under CI; run the tests through \
                 scripts/with-postgres.sh so the PostgreSQL tests really run"
            );
            eprintln!(
                "SKIPPED {test}: SCIMKIT_POSTGRES_URL is unset (run through \
                 scripts/with-postgres.sh to test PostgresStore)"
            );
            None
        }
    }
}

/// A schema name no other test (or run) uses.
fn fresh_schema(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000;
    format!("t_{test}_{}_{nanos}_{n}", std::process::id())
}

fn options(schema: &str) -> PostgresOptions {
    PostgresOptions::default()
        .with_schema(schema)
        .with_max_connections(4)
}

async fn store(url: &str, schema: &str) -> PostgresStore {
    PostgresStore::connect(url, options(schema))
        .await
        .expect("connect and migrate")
}

async fn drop_schemas(url: &str, schemas: &[String]) {
    let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
        return;
    };
    tokio::spawn(connection);
    for schema in schemas {
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await;
    }
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128((1u128 << 100) | n)
}

const AT: OffsetDateTime = time::macros::datetime!(2026-01-01 0:00 UTC);

async fn directory(store: &PostgresStore, n: u128) -> DirectoryId {
    let org = Organization::new(
        OrganizationId::from_uuid(uuid(n)),
        Some(format!("org-{n}")),
        Vec::new(),
        AT,
    );
    store
        .insert_organization(org.clone())
        .await
        .expect("organization");
    let dir = Directory::new(DirectoryId::from_uuid(uuid(n + 1)), org.id, true);
    store
        .insert_directory(dir.clone())
        .await
        .expect("directory");
    dir.id
}

fn user(dir: &DirectoryId, n: u128, user_name: &str) -> User {
    User::new(
        UserId::from_uuid(uuid(n)),
        dir.clone(),
        json!({"userName": user_name}),
        Meta::new(AT),
    )
    .with_email(Some(format!("{n}@example.com")))
    .with_state(UserState::Active)
}

#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_keeps_the_store_contract() {
    let Some(url) = database_url("postgres_store_keeps_the_store_contract") else {
        return;
    };
    let schemas = std::sync::Mutex::new(Vec::new());
    scimkit::store::conformance::run_all(|| {
        let schema = fresh_schema("conf");
        schemas
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(schema.clone());
        let url = url.clone();
        async move {
            let store = std::sync::Arc::new(store(&url, &schema).await);
            let stores: scimkit::store::conformance::Stores = (store.clone(), store);
            stores
        }
    })
    .await;
    let schemas = schemas
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    drop_schemas(&url, &schemas).await;
}

#[tokio::test]
async fn the_resource_id_column_keeps_the_plain_id_and_a_malformed_one_is_corrupt() {
    let Some(url) = database_url("resource_id_column") else {
        return;
    };
    let schema = fresh_schema("rid");
    let store = store(&url, &schema).await;
    let dir = directory(&store, 1).await;
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("user");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("raw connection");
    tokio::spawn(connection);
    let rows = client
        .query(
            &format!(
                "SELECT resource_id FROM \"{schema}\".changes WHERE directory_id = $1 ORDER BY seq"
            ),
            &[&dir.as_str()],
        )
        .await
        .expect("select");
    let stored: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        stored,
        [ann.id.to_string()],
        "the column holds the id's text, as before ResourceId"
    );
    let changes = store.list_changes(&dir, 0, 10).await.expect("changes");
    assert_eq!(changes[0].resource_id, ResourceId::User(ann.id.clone()));
    client
        .execute(
            &format!(
                "UPDATE \"{schema}\".changes SET resource_id = 'scim_token_0' \
                 WHERE directory_id = $1 AND seq = 1"
            ),
            &[&dir.as_str()],
        )
        .await
        .expect("damage");
    match store.list_changes(&dir, 0, 10).await {
        Err(StoreError::Backend(e)) => assert!(
            e.to_string()
                .contains("undecodable stored id `scim_token_0`"),
            "{e}"
        ),
        other => panic!("a malformed resource_id is a corrupt-store error, got {other:?}"),
    }
    drop_schemas(&url, &[schema]).await;
}

#[tokio::test]
async fn postgres_store_keeps_webhook_state() {
    let Some(url) = database_url("postgres_store_keeps_webhook_state") else {
        return;
    };
    let schema = fresh_schema("hook");
    let store = std::sync::Arc::new(store(&url, &schema).await);
    scimkit::store::conformance::webhook_store(store).await;
    drop_schemas(&url, &[schema]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_even_when_replicas_start_together() {
    let Some(url) = database_url("migrations_run_once") else {
        return;
    };
    let schema = fresh_schema("mig");
    let replicas = (0..4).map(|_| {
        let (url, schema) = (url.clone(), schema.clone());
        tokio::spawn(async move { PostgresStore::connect(&url, options(&schema)).await })
    });
    for replica in replicas {
        let store = replica
            .await
            .expect("join")
            .expect("every replica connects");
        assert_eq!(
            store.schema_version().await.expect("version"),
            POSTGRES_SCHEMA_VERSION
        );
    }
    let again = store(&url, &schema).await;
    again
        .migrate()
        .await
        .expect("migrating a migrated schema is a no-op");

    let absent = fresh_schema("absent");
    match PostgresStore::connect(&url, options(&absent).with_migrate(false)).await {
        Err(PostgresOpenError::NotMigrated { found: 0, .. }) => {}
        other => panic!("an unmigrated schema is refused when migrate is off, got {other:?}"),
    }

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("raw connection");
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "INSERT INTO \"{schema}\".scimkit_migrations (version, name) VALUES (99, 'future')"
        ))
        .await
        .expect("pretend a newer scimkit migrated");
    assert!(
        matches!(
            PostgresStore::connect(&url, options(&schema)).await,
            Err(PostgresOpenError::TooNew { found: 99, .. })
        ),
        "a schema from a newer scimkit is refused"
    );
    for bad in ["", "Upper", "semi;colon", "quo\"te", "9lives"] {
        assert!(
            matches!(
                PostgresStore::connect(&url, options(bad)).await,
                Err(PostgresOpenError::SchemaName(_))
            ),
            "schema name {bad:?} is refused before any SQL is sent"
        );
    }
    drop_schemas(&url, &[schema]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_racing_for_one_user_name_get_one_winner_and_a_gapless_log() {
    let Some(url) = database_url("user_name_race") else {
        return;
    };
    let schema = fresh_schema("race");
    // Two pools stand in for two replicas: nothing but the database is shared.
    let a = store(&url, &schema).await;
    let b = store(&url, &schema).await;
    let dir = directory(&a, 1).await;
    let attempts = (0..16u128).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let dir = dir.clone();
        tokio::spawn(async move {
            store
                .insert_user(user(&dir, 100 + i, if i % 4 == 0 { "Ann" } else { "ann" }))
                .await
        })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.expect("join") {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(UniqueAttribute::UserName)) => {}
            Err(other) => panic!("a lost race is Conflict(UserName), got {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one create of the userName wins");

    // Concurrent creates of distinct users through both pools: seq is 1..=n, no gaps.
    let creates = (0..20u128).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let dir = dir.clone();
        tokio::spawn(async move {
            store
                .insert_user(user(&dir, 1000 + i, &format!("user{i}")))
                .await
        })
    });
    for create in creates {
        create
            .await
            .expect("join")
            .expect("distinct users all commit");
    }
    let changes = b.list_changes(&dir, 0, usize::MAX).await.expect("changes");
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=21).collect::<Vec<u64>>(), "seq has no gaps");
    assert!(changes.iter().all(|c| c.kind == ChangeKind::UserCreated));
    assert_eq!(a.latest_change_seq(&dir).await.expect("latest"), 21);
    drop(a);
    drop(b);
    drop_schemas(&url, &[schema]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_pool_wakes_a_listener_of_another_within_a_second() {
    let Some(url) = database_url("notifier") else {
        return;
    };
    let schema = fresh_schema("notify");
    let writer = store(&url, &schema).await;
    let reader = store(&url, &schema).await;
    let dir = directory(&writer, 1).await;
    let notifier = PostgresNotifier::connect(&url, &reader)
        .await
        .expect("notifier");
    let mut listener = notifier.listen(&dir);
    let other = notifier.listen(&DirectoryId::from_uuid(uuid(77)));
    writer
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("write through the other pool");
    let woke = tokio::time::timeout(Duration::from_secs(1), listener.changed()).await;
    assert_eq!(woke.ok(), Some(true), "the listener wakes within a second");
    drop(other);
    drop(notifier);
    assert!(
        !listener.changed().await,
        "once the notifier is gone, a listener says no wake-up can come"
    );
    drop_schemas(&url, &[schema]).await;
}

/// Groups `first..first + count`, each with `members`, named `g{n}`.
async fn groups(
    store: &PostgresStore,
    dir: &DirectoryId,
    first: u128,
    count: u128,
    members: &[UserId],
) -> Vec<scimkit::model::GroupId> {
    use scimkit::model::{Group, GroupId};
    let mut ids = Vec::new();
    for n in first..first + count {
        let name = format!("g{n}");
        let group = Group::new(
            GroupId::from_uuid(uuid(n)),
            dir.clone(),
            name.clone(),
            json!({ "displayName": name }),
            Meta::new(AT),
        );
        ids.push(
            store
                .insert_group(group, members, &[])
                .await
                .expect("group")
                .id,
        );
    }
    ids
}

/// Two pools (standing in for two processes) race, pair after pair, to nest two groups
/// in each other: each pair ends with exactly one edge, the other write refused as a
/// cycle and recorded nowhere, so the stored graph stays acyclic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opposite_member_groups_from_two_pools_never_both_commit() {
    use scimkit::model::{GroupMatch, RoleMapping};
    use scimkit::store::plan::NestingRefusal;
    use scimkit::store::{DirectoryEdit, GroupFilter, MembershipEdit};
    let Some(url) = database_url("opposite_member_groups") else {
        return;
    };
    let schema = fresh_schema("nesting");
    let a = store(&url, &schema).await;
    let b = store(&url, &schema).await;
    let dir = directory(&a, 1).await;
    // A rule, so both writes also plan roles through the graph they race on.
    let mapping = RoleMapping::new().map(GroupMatch::DisplayName("g100".into()), "admin");
    a.edit_directory(&dir, &[DirectoryEdit::Roles(mapping)], AT)
        .await
        .expect("mapping");
    let ann = a.insert_user(user(&dir, 10, "ann")).await.expect("ann");
    const PAIRS: u128 = 16;
    let ids = groups(&a, &dir, 100, 2 * PAIRS, std::slice::from_ref(&ann.id)).await;
    let seq = a.latest_change_seq(&dir).await.expect("seq");
    let nest = |store: &PostgresStore, parent: &scimkit::model::GroupId, child| {
        let (store, dir, parent) = (store.clone(), dir.clone(), parent.clone());
        tokio::spawn(async move {
            store
                .edit_members(&dir, &parent, &[MembershipEdit::AddGroup(child)], AT)
                .await
        })
    };
    let races: Vec<_> = ids
        .chunks(2)
        .map(|pair| {
            (
                nest(&a, &pair[0], pair[1].clone()),
                nest(&b, &pair[1], pair[0].clone()),
            )
        })
        .collect();
    let children = |parent: &scimkit::model::GroupId| {
        let filter = GroupFilter {
            parent: Some(parent.clone()),
            ..GroupFilter::default()
        };
        let (b, dir) = (b.clone(), dir.clone());
        async move { b.count_groups(&dir, &filter).await.expect("count") }
    };
    for (pair, (one, two)) in ids.chunks(2).zip(races) {
        let results = [one.await.expect("join"), two.await.expect("join")];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "exactly one of the opposite edges commits: {results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(StoreError::Nesting(NestingRefusal::Cycle(_))))),
            "the other is refused as a cycle: {results:?}"
        );
        assert_eq!(
            children(&pair[0]).await + children(&pair[1]).await,
            1,
            "one edge stored between the pair"
        );
    }
    let changes = b.list_changes(&dir, seq, 1000).await.expect("changes");
    let added = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::GroupMemberAdded)
        .count();
    assert_eq!(added as u128, PAIRS, "a refused write records nothing");
    drop_schemas(&url, &[schema]).await;
}

/// A user joining a group from one pool while another pool nests that group under a
/// group a rule names: whichever commits first, the user gains the rule's role exactly
/// once in the feed (neither write plans on a graph the other is changing).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_edit_racing_an_edge_edit_records_the_role_once() {
    use scimkit::model::{GroupMatch, RoleMapping};
    use scimkit::store::{DirectoryEdit, MembershipEdit};
    let Some(url) = database_url("member_edit_racing_an_edge") else {
        return;
    };
    let schema = fresh_schema("nestroles");
    let a = store(&url, &schema).await;
    let b = store(&url, &schema).await;
    let dir = directory(&a, 1).await;
    let mapping = RoleMapping::new().map(GroupMatch::DisplayName("g100".into()), "developer");
    a.edit_directory(&dir, &[DirectoryEdit::Roles(mapping)], AT)
        .await
        .expect("mapping");
    let top = groups(&a, &dir, 100, 1, &[]).await;
    const RACES: u128 = 12;
    let teams = groups(&a, &dir, 200, RACES, &[]).await;
    let mut users = Vec::new();
    for n in 0..RACES {
        let u = a
            .insert_user(user(&dir, 300 + n, &format!("u{n}")))
            .await
            .expect("user");
        users.push(u.id);
    }
    let seq = a.latest_change_seq(&dir).await.expect("seq");
    let edit = |store: &PostgresStore, group: &scimkit::model::GroupId, edit| {
        let (store, dir, group) = (store.clone(), dir.clone(), group.clone());
        tokio::spawn(async move { store.edit_members(&dir, &group, &[edit], AT).await })
    };
    let mut tasks = Vec::new();
    for (team, u) in teams.iter().zip(&users) {
        tasks.push(edit(&a, &top[0], MembershipEdit::AddGroup(team.clone())));
        tasks.push(edit(&b, team, MembershipEdit::Add(u.clone())));
    }
    for task in tasks {
        task.await.expect("join").expect("both writes commit");
    }
    let changes = b.list_changes(&dir, seq, 1000).await.expect("changes");
    for u in &users {
        let gained: Vec<_> = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::RolesChanged && c.resource_id == *u)
            .filter_map(|c| c.roles.as_ref())
            .map(|r| r.after.iter().cloned().collect::<Vec<_>>())
            .collect();
        assert_eq!(
            gained,
            [vec!["developer".to_owned()]],
            "{u} gains developer once, whichever write came first"
        );
    }
    drop_schemas(&url, &[schema]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_member_edits_from_two_pools_lose_no_member() {
    use scimkit::model::{Group, GroupId};
    use scimkit::store::{GroupFilter, Keyset, MembershipEdit, States, UserFilter, UserKey};
    let Some(url) = database_url("member_edits") else {
        return;
    };
    let schema = fresh_schema("members");
    let a = store(&url, &schema).await;
    let b = store(&url, &schema).await;
    let dir = directory(&a, 1).await;
    let mut users = Vec::new();
    for i in 0..30u128 {
        let mut u = user(&dir, 100 + i, &format!("User{i}"));
        u.attributes = json!({"userName": format!("User{i}"), "externalId": format!("x{i}"),
            "emails": [{"value": format!("U{i}@Example.com")}]});
        users.push(a.insert_user(u).await.expect("user").id);
    }
    let group = Group::new(
        GroupId::from_uuid(uuid(50)),
        dir.clone(),
        "Staff",
        json!({"displayName": "Staff"}),
        Meta::new(AT),
    );
    let group = a
        .insert_group(group, &users[..2], &[])
        .await
        .expect("group with two members");
    let edits = users[2..].iter().enumerate().map(|(i, u)| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (dir, gid, u) = (dir.clone(), group.id.clone(), u.clone());
        tokio::spawn(async move {
            store
                .edit_members(&dir, &gid, &[MembershipEdit::Add(u)], AT)
                .await
        })
    });
    for edit in edits {
        edit.await
            .expect("join")
            .expect("member add never conflicts");
    }
    let members = b
        .list_members(&dir, &group.id, States::All, Keyset::all())
        .await
        .expect("members");
    assert_eq!(members, users, "every parallel add landed, in id order");
    let stored = b
        .get_group(&dir, &group.id)
        .await
        .expect("get")
        .expect("group");
    assert_eq!(
        stored.meta.version,
        1 + 28,
        "each add bumped the version once"
    );

    // Listing and counting by index, membership and state.
    let by_group = UserFilter {
        group: Some(group.id.clone()),
        ..UserFilter::default()
    };
    assert_eq!(a.count_users(&dir, &by_group).await.expect("count"), 30);
    let page = a
        .list_users(&dir, &by_group, Keyset::after(Some(users[9].clone()), 5))
        .await
        .expect("page");
    let ids: Vec<_> = page.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids, users[10..15].to_vec(), "a keyset page after an id");
    let skipped = a
        .list_users(
            &dir,
            &UserFilter::default(),
            Keyset {
                after: None,
                skip: 28,
                limit: 10,
            },
        )
        .await
        .expect("skip");
    assert_eq!(skipped.len(), 2, "skip passes over rows");
    let deep = a
        .list_users(
            &dir,
            &by_group,
            Keyset {
                after: Some(users[4].clone()),
                skip: 20,
                limit: 3,
            },
        )
        .await
        .expect("skip within a group");
    let ids: Vec<_> = deep.iter().map(|u| u.id.clone()).collect();
    assert_eq!(
        ids,
        users[25..28].to_vec(),
        "skip counts from after, within the filter"
    );
    let groups = a
        .list_groups(
            &dir,
            &GroupFilter::default(),
            Keyset {
                after: None,
                skip: 1,
                limit: 5,
            },
        )
        .await
        .expect("skip groups");
    assert!(groups.is_empty(), "skipping the only group leaves nothing");
    for key in [
        UserKey::UserName("user7".into()),
        UserKey::ExternalId("x7".into()),
        UserKey::Email("u7@example.COM".into()),
    ] {
        let filter = UserFilter {
            key: Some(key.clone()),
            ..UserFilter::default()
        };
        let found = a
            .list_users(&dir, &filter, Keyset::default())
            .await
            .expect("lookup");
        assert_eq!(found.len(), 1, "{key:?} finds one user");
        assert_eq!(found.first().map(|u| &u.id), users.get(7));
    }
    let mut gone = a
        .get_user(&dir, &users[3])
        .await
        .expect("get")
        .expect("user");
    gone.state = UserState::Deleted;
    let version = gone.meta.version;
    a.update_user(gone, version).await.expect("delete");
    let visible = UserFilter {
        group: Some(group.id.clone()),
        states: States::Visible,
        ..UserFilter::default()
    };
    assert_eq!(a.count_users(&dir, &visible).await.expect("count"), 29);
    assert_eq!(
        a.list_members(&dir, &group.id, States::Visible, Keyset::all())
            .await
            .expect("members")
            .len(),
        29,
        "a deleted member is left out of the visible members"
    );
    let of_user = GroupFilter {
        member: Some(users[0].clone()),
        ..GroupFilter::default()
    };
    assert_eq!(a.count_groups(&dir, &of_user).await.expect("count"), 1);
    let rows = a
        .groups_of_users(&dir, &[users[1].clone(), users[0].clone()])
        .await
        .expect("groups of users");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.first().map(|r| &r.user_id), users.first());

    // Replace everything with one member: one removal per old member, one version bump.
    let stored = a
        .get_group(&dir, &group.id)
        .await
        .expect("get")
        .expect("group");
    let version = stored.meta.version;
    let replaced = a
        .update_group(
            stored,
            version,
            &[
                MembershipEdit::RemoveAll,
                MembershipEdit::Add(users[0].clone()),
            ],
        )
        .await
        .expect("replace members");
    assert_eq!(replaced.meta.version, version + 1);
    assert_eq!(
        a.list_members(&dir, &group.id, States::All, Keyset::all())
            .await
            .expect("members"),
        vec![users[0].clone()]
    );
    let latest = a.latest_change_seq(&dir).await.expect("latest");
    // 30 creates, group created + 2 adds, 28 adds, 1 delete, 29 removals.
    assert_eq!(latest, 30 + 3 + 28 + 1 + 29);

    // Retention: trim, then a cursor before the trim is refused, one at it reads.
    assert_eq!(a.trim_changes(&dir, 40).await.expect("trim"), 40);
    assert!(matches!(
        a.list_changes(&dir, 10, 5).await,
        Err(StoreError::ChangesTrimmed { through: 40 })
    ));
    let after = a.list_changes(&dir, 40, 3).await.expect("read after trim");
    assert_eq!(
        after.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [41, 42, 43]
    );
    assert_eq!(a.latest_change_seq(&dir).await.expect("latest"), latest);

    a.purge_directory(&dir).await.expect("purge");
    assert_eq!(a.get_directory(&dir).await.expect("get"), None);
    assert_eq!(
        a.count_users(&dir, &UserFilter::default())
            .await
            .expect("count"),
        0
    );
    assert!(matches!(
        a.purge_directory(&dir).await,
        Err(StoreError::NotFound { .. })
    ));
    drop_schemas(&url, &[schema]).await;
}

/// Two example servers on one database, as two replicas behind a load balancer.
mod replicas {
    use std::collections::{HashMap, HashSet};
    use std::io::{BufRead, BufReader};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use scimkit::DirectorySync;
    use scimkit::model::{ChangeKind, DirectoryId};
    use scimkit::store::{
        DirectoryStore, Keyset, PostgresNotifier, PostgresOptions, PostgresStore, States,
    };
    use scimkit::sync::DirectorySelector;
    use serde_json::{Value, json};

    const TOKEN: &str = "replica-test-token-0123456789";
    type Http = Client<HttpConnector, Full<Bytes>>;

    fn server_binary() -> PathBuf {
        // target/<profile>/deps/postgres-<hash> → target/<profile>/examples/server
        let exe = std::env::current_exe().expect("test binary path");
        let server = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target dir")
            .join("examples")
            .join("server");
        assert!(
            server.exists(),
            "{} is missing: `cargo test --all-features` builds it, or run \
             `cargo build --example server --features postgres` first",
            server.display()
        );
        server
    }

    /// `url` with its database replaced by `database` (URL or key=value form).
    fn with_database(url: &str, database: &str) -> String {
        if let Some((base, rest)) = url.split_once("://").and_then(|(scheme, rest)| {
            rest.split_once('/')
                .map(|(host, tail)| ((scheme, host), tail))
        }) {
            let query = rest
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{}://{}/{database}{query}", base.0, base.1)
        } else {
            format!("{url} dbname={database}")
        }
    }

    struct Server {
        child: Child,
        scim: String,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn start(url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(server_binary())
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--bearer-token",
                TOKEN,
                "--org-external-id",
                "replicated-org",
                "--store",
                &format!("postgres:{url}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut banner = HashMap::new();
        while banner.len() < 4 {
            let line = lines
                .next()
                .expect("the server prints its banner")
                .expect("read");
            if let Some((key, value)) = line.split_once(": ") {
                banner.insert(key.to_owned(), value.to_owned());
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            scim: banner["SCIM base URL"].clone(),
        }
    }

    async fn call(http: &Http, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        let request = hyper::Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/scim+json")
            .body(Full::new(
                body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
            ))
            .expect("request");
        let Ok(response) = http.request(request).await else {
            return (0, Value::Null);
        };
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn path_of(url: &str) -> &str {
        url.splitn(4, '/').nth(3).unwrap_or("")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_servers_on_one_database_serve_one_idp_without_losing_anything() {
        let Some(admin_url) = super::database_url("two_servers_on_one_database") else {
            return;
        };
        // A database of its own: the example servers use the default schema.
        let database = format!("t_replicas_{}", std::process::id());
        let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        for statement in [
            format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            format!("CREATE DATABASE {database}"),
        ] {
            client
                .batch_execute(&statement)
                .await
                .expect("create the database");
        }
        let url = with_database(&admin_url, &database);

        let a = start(&url);
        let b = start(&url);
        assert_eq!(
            path_of(&a.scim),
            path_of(&b.scim),
            "both replicas serve the organization at the same SCIM base URL path"
        );
        let bases = [a.scim.clone(), b.scim.clone()];
        let http: Http = Client::builder(TokioExecutor::new()).build_http();

        // A third process's view: the vendor's sync on the same database, woken only by
        // NOTIFY (its fallback poll is far longer than the deadline below).
        let store = Arc::new(
            PostgresStore::connect(&url, PostgresOptions::default().with_migrate(false))
                .await
                .expect("store"),
        );
        let notifier = PostgresNotifier::connect(&url, &store)
            .await
            .expect("notifier");
        let sync = DirectorySync::new(store.clone())
            .with_notifier(Arc::new(notifier))
            .with_poll_interval(Duration::from_secs(60));
        let selector = DirectorySelector::OrganizationExternalId("replicated-org".into());
        let dir: DirectoryId = sync.directory(&selector).await.expect("directory").id;

        // The same userName to both replicas at once: exactly one create wins.
        let racers = (0..8).map(|i| {
            let (http, base) = (http.clone(), bases[i % 2].clone());
            tokio::spawn(async move {
                call(
                    &http,
                    "POST",
                    &format!("{base}/Users"),
                    Some(json!({"userName": "same@acme.com"})),
                )
                .await
                .0
            })
        });
        let mut statuses = Vec::new();
        for racer in racers {
            statuses.push(racer.await.expect("join"));
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 409),
            "{statuses:?}"
        );

        // Users, a group, and parallel member PATCHes through alternating replicas.
        let mut members = Vec::new();
        let mut doomed = Vec::new();
        for i in 0..25 {
            let base = &bases[i % 2];
            let (status, body) = call(
                &http,
                "POST",
                &format!("{base}/Users"),
                Some(json!({"userName": format!("u{i}@acme.com")})),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            let id = body["id"].as_str().expect("id").to_owned();
            if i < 20 {
                members.push(id)
            } else {
                doomed.push(id)
            }
        }
        let (status, group) = call(
            &http,
            "POST",
            &format!("{}/Groups", bases[0]),
            Some(json!({"displayName": "Engineering"})),
        )
        .await;
        assert_eq!(status, 201, "{group}");
        let group_id = group["id"].as_str().expect("id").to_owned();
        let patches = members.iter().enumerate().map(|(i, id)| {
            let (http, base, gid) = (http.clone(), bases[i % 2].clone(), group_id.clone());
            let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
            tokio::spawn(async move {
                call(&http, "PATCH", &format!("{base}/Groups/{gid}"), Some(patch))
                    .await
                    .0
            })
        });
        for patch in patches {
            let status = patch.await.expect("join");
            assert!(
                status == 200 || status == 204,
                "member PATCH answered {status}"
            );
        }
        let deletes = doomed.iter().enumerate().map(|(i, id)| {
            let (http, base, id) = (http.clone(), bases[i % 2].clone(), id.clone());
            tokio::spawn(async move {
                call(&http, "DELETE", &format!("{base}/Users/{id}"), None)
                    .await
                    .0
            })
        });
        for delete in deletes {
            assert_eq!(delete.await.expect("join"), 204);
        }

        // Invariants, read through the other replica and the store.
        for (i, id) in doomed.iter().enumerate() {
            let other = &bases[(i + 1) % 2];
            assert_eq!(
                call(&http, "GET", &format!("{other}/Users/{id}"), None)
                    .await
                    .0,
                404
            );
        }
        let (_, found) = call(
            &http,
            "GET",
            &format!(
                "{}/Users?filter=userName%20eq%20%22SAME@acme.com%22",
                bases[1]
            ),
            None,
        )
        .await;
        assert_eq!(
            found["totalResults"], 1,
            "one user holds the raced userName: {found}"
        );
        let stored: HashSet<String> = store
            .list_members(
                &dir,
                &group_id.parse().expect("group id"),
                States::All,
                Keyset::all(),
            )
            .await
            .expect("members")
            .into_iter()
            .map(|u| u.to_string())
            .collect();
        assert_eq!(stored, members.iter().cloned().collect(), "no member lost");
        let changes = store
            .list_changes(&dir, 0, usize::MAX)
            .await
            .expect("changes");
        let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
        assert_eq!(
            seqs,
            (1..=changes.len() as u64).collect::<Vec<_>>(),
            "gapless seq"
        );
        let count = |kind| changes.iter().filter(|c| c.kind == kind).count();
        assert_eq!(
            count(ChangeKind::UserCreated),
            26,
            "one create per acknowledged user"
        );
        assert_eq!(
            count(ChangeKind::GroupMemberAdded),
            20,
            "one entry per member added"
        );
        assert_eq!(count(ChangeKind::UserDeleted), 5);

        // A change received by replica A reaches the third process's subscriber at once.
        let cursor = sync.latest_cursor(&selector).await.expect("cursor");
        let mut subscription = sync.subscribe(&selector, cursor).await.expect("subscribe");
        let started = Instant::now();
        let (status, _) = call(
            &http,
            "POST",
            &format!("{}/Users", bases[0]),
            Some(json!({"userName": "late@acme.com"})),
        )
        .await;
        assert_eq!(status, 201);
        let change = tokio::time::timeout(Duration::from_secs(1), subscription.next())
            .await
            .expect("the subscriber hears replica A's write within a second")
            .expect("change");
        assert_eq!(change.kind, ChangeKind::UserCreated);
        eprintln!("cross-process change feed latency: {:?}", started.elapsed());

        // kill -9 of replica B mid-traffic: every write it acknowledged is there.
        let writer = {
            let (http, base) = (http.clone(), bases[1].clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0..10_000 {
                    let name = format!("k{n}@acme.com");
                    match call(
                        &http,
                        "POST",
                        &format!("{base}/Users"),
                        Some(json!({"userName": name})),
                    )
                    .await
                    .0
                    {
                        201 => acknowledged.push(name),
                        _ => break,
                    }
                }
                acknowledged
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut b = b;
        b.child.kill().expect("SIGKILL replica B");
        let acknowledged = writer.await.expect("join");
        assert!(
            !acknowledged.is_empty(),
            "replica B took writes before it was killed"
        );
        for name in &acknowledged {
            let (_, found) = call(
                &http,
                "GET",
                &format!("{}/Users?filter=userName%20eq%20%22{name}%22", bases[0]),
                None,
            )
            .await;
            assert_eq!(
                found["totalResults"], 1,
                "{name} was acknowledged, so it is stored"
            );
        }
        drop(a);
        drop(b);
        drop(sync);
        drop(store);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .await;
    }
}
