//! PostgresStore: the conformance suite, migrations, races between pools standing in for
//! processes, and the cross-process change feed.
//!
//! Needs a database: `SCIMKIT_POSTGRES_URL` (`scripts/with-postgres.sh` starts a throwaway
//! cluster and sets it). Without it each test prints why it skipped and passes, except
//! under CI (`CI=true`), where a skipped Postgres test would hide a broken setup, so it
//! fails instead. Every test works in schemas of its own and drops them at the end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scimkit::model::{ChangeKind, UserState};
use scimkit::model::{Directory, DirectoryId, Meta, Organization, OrganizationId, User, UserId};
use scimkit::store::{
    ChangeNotifier, DirectoryStore, PostgresNotifier, PostgresOpenError, PostgresOptions,
    PostgresStore, SCHEMA_VERSION, StoreError, UniqueAttribute,
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
    let org = Organization {
        id: OrganizationId::from_uuid(uuid(n)),
        external_id: Some(format!("org-{n}")),
        domains: Vec::new(),
        created: AT,
    };
    store
        .insert_organization(org.clone())
        .await
        .expect("organization");
    let dir = Directory {
        id: DirectoryId::from_uuid(uuid(n + 1)),
        organization_id: org.id,
        primary: true,
    };
    store
        .insert_directory(dir.clone())
        .await
        .expect("directory");
    dir.id
}

fn user(dir: &DirectoryId, n: u128, user_name: &str) -> User {
    User {
        id: UserId::from_uuid(uuid(n)),
        directory_id: dir.clone(),
        email: format!("{n}@example.com"),
        state: UserState::Active,
        attributes: json!({"userName": user_name}),
        meta: Meta::new(AT),
    }
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
            SCHEMA_VERSION
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
