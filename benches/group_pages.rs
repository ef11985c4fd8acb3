//! `GET /Groups?count=100` through `ScimService::handle` on PostgreSQL: a page of 100
//! groups with 10 user members each, every fifth with a member group, against the same
//! page with `excludedAttributes=members` (the page without member reads).
//!
//! ```text
//! scripts/with-postgres.sh cargo bench --bench group_pages --features postgres
//! ```
//!
//! Needs `SCIMKIT_POSTGRES_URL`; prints a skip message without it. Runs in a fresh schema
//! and drops it at the end. `SCIMKIT_BENCH_REQUESTS` sets the timed requests per case
//! (default 200). Prints the median and mean time per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use scimkit::store::{PostgresOptions, PostgresStore};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

const USERS: usize = 200;
const GROUPS: usize = 100;
const MEMBERS_PER_GROUP: usize = 10;

struct Client {
    scim: ScimService,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(body)
            .expect("request");
        let response = self.scim.handle(request).await;
        assert!(
            response.status().is_success(),
            "{method} {path}: {}",
            response.status()
        );
        serde_json::from_slice(response.body()).unwrap_or(Value::Null)
    }
}

/// Median and mean of `requests` calls of `path`, after a short warm-up.
async fn time(client: &Client, path: &str, requests: usize) -> (Duration, Duration) {
    for _ in 0..10 {
        client.call("GET", path, None).await;
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let page = client.call("GET", path, None).await;
        times.push(started.elapsed());
        assert_eq!(
            page["Resources"].as_array().map(Vec::len),
            Some(GROUPS),
            "a full page"
        );
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / u32::try_from(times.len().max(1)).unwrap_or(1);
    (times[times.len() / 2], mean)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let Ok(url) = std::env::var("SCIMKIT_POSTGRES_URL") else {
        println!("SKIPPED: SCIMKIT_POSTGRES_URL is unset (run under scripts/with-postgres.sh)");
        return;
    };
    let requests: usize = std::env::var("SCIMKIT_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .max(1);
    let schema = format!("bench_groups_{}", std::process::id());
    let store = Arc::new(
        PostgresStore::connect(&url, PostgresOptions::default().with_schema(&schema))
            .await
            .expect("connect"),
    );
    let admin = Admin::new(store.clone());
    let org = admin.create_organization(None, vec![]).await.expect("org");
    let dir = admin.create_directory(&org.id, true).await.expect("dir");
    let token = admin.issue_scim_token(&dir.id).await.expect("token").secret;
    let client = Client {
        scim: ScimService::builder(store).build(),
        base: format!("/scim/v2/{}", dir.id),
        token,
    };

    let mut users = Vec::with_capacity(USERS);
    for n in 0..USERS {
        let user = client
            .call(
                "POST",
                "/Users",
                Some(json!({"userName": format!("user{n}@example.com"), "active": true})),
            )
            .await;
        users.push(user["id"].clone());
    }
    let mut groups: Vec<Value> = Vec::with_capacity(GROUPS);
    for n in 0..GROUPS {
        let mut members: Vec<Value> = (0..MEMBERS_PER_GROUP)
            .map(|m| json!({"value": users[(n * MEMBERS_PER_GROUP + m) % USERS]}))
            .collect();
        if n % 5 == 4
            && let Some(previous) = groups.last()
        {
            members.push(json!({"value": previous, "type": "Group"}));
        }
        let group = client
            .call(
                "POST",
                "/Groups",
                Some(json!({"displayName": format!("group {n}"), "members": members})),
            )
            .await;
        groups.push(group["id"].clone());
    }

    for (name, path) in [
        ("GET /Groups?count=100", "/Groups?count=100"),
        (
            "GET /Groups?count=100&excludedAttributes=members",
            "/Groups?count=100&excludedAttributes=members",
        ),
    ] {
        let (median, mean) = time(&client, path, requests).await;
        println!(
            "{name:<52} median {:>7.2} ms  mean {:>7.2} ms  ({requests} requests)",
            median.as_secs_f64() * 1000.0,
            mean.as_secs_f64() * 1000.0
        );
    }

    let (pg, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let _ = pg
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await;
}
