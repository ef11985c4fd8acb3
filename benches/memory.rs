//! Memory per stored user in `MemoryStore`: N Entra-shaped users POSTed through
//! `ScimService::handle`, the process's resident memory before and after, against the
//! users' own JSON size. Each N runs in a fresh child process, so one run's freed memory
//! does not flatter the next.
//!
//! `SCIMKIT_BENCH_USERS="1000 100000 1000000" cargo bench --bench memory`
//!
//! Per N it prints the resident growth per user with the change log kept (as a store
//! holds it by default) and, in a second child, with the log trimmed as it grows (so
//! what is left is the users, their indexes and the allocator's share).

use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use scimkit::store::{DirectoryStore, MemoryStore};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

/// Users per batch between resident-memory samples (and log trims, when trimming).
const BATCH: usize = 10_000;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    if let (Some(users), Some(mode)) = (args.next(), args.next()) {
        let users: usize = users.parse().expect("a user count");
        let trim = mode == "trim";
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(measure(users, trim));
        return;
    }
    let sizes = std::env::var("SCIMKIT_BENCH_USERS").unwrap_or_else(|_| "1000 100000".into());
    println!(
        "| users | JSON per user | resident per user (log kept) | ratio | resident per user (log trimmed) | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for size in sizes.split_whitespace() {
        let kept = child(size, "keep");
        let trimmed = child(size, "trim");
        let json = kept.json_bytes;
        println!(
            "| {size} | {json:.0} B | {:.0} B | {:.2}× | {:.0} B | {:.2}× |",
            kept.per_user,
            kept.per_user / json,
            trimmed.per_user,
            trimmed.per_user / json,
        );
    }
}

struct Reading {
    json_bytes: f64,
    per_user: f64,
}

fn child(users: &str, mode: &str) -> Reading {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .args([users, mode])
        .output()
        .expect("child run");
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<f64> = text
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [json_bytes, per_user] => Reading {
            json_bytes,
            per_user,
        },
        _ => panic!("unexpected child output: {text}"),
    }
}

/// Prints the mean JSON size of a stored user and the resident growth per user.
async fn measure(users: usize, trim: bool) {
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone());
    let org = admin
        .create_organization(None, vec!["example.com".into()])
        .await
        .expect("org");
    let dir = admin.create_directory(&org.id, true).await.expect("dir");
    let token = admin.issue_scim_token(&dir.id).await.expect("token").secret;
    let scim = ScimService::builder(store.clone()).build();
    let uri = format!("http://127.0.0.1:8080/scim/v2/{}/Users", dir.id);
    // Warm the service's one-time allocations (schemas, caches) before the baseline.
    post(&scim, &uri, &token, entra_user(usize::MAX)).await;
    let before = resident_bytes();
    let mut sample = Vec::new();
    for n in 0..users {
        let doc = post(&scim, &uri, &token, entra_user(n)).await;
        if n % (users / 100).max(1) == 0 {
            sample.push(doc);
        }
        if trim && n % BATCH == BATCH - 1 {
            let last = store.latest_change_seq(&dir.id).await.expect("seq");
            store.trim_changes(&dir.id, last).await.expect("trim");
        }
    }
    if trim {
        let last = store.latest_change_seq(&dir.id).await.expect("seq");
        store.trim_changes(&dir.id, last).await.expect("trim");
    }
    let after = resident_bytes();
    let mut json_total = 0usize;
    for id in &sample {
        let user = store
            .get_user(&dir.id, &id.parse().expect("id"))
            .await
            .expect("read")
            .expect("stored");
        json_total += serde_json::to_vec(&user).expect("json").len();
    }
    let json = json_total as f64 / sample.len() as f64;
    let per_user = (after.saturating_sub(before)) as f64 / users as f64;
    println!("{json} {per_user}");
    drop(scim);
}

async fn post(scim: &ScimService, uri: &str, token: &str, body: Value) -> String {
    let request = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body.to_string()))
        .expect("request");
    let response = scim.handle(request).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    let doc: Value = serde_json::from_slice(response.body()).expect("json");
    doc["id"].as_str().expect("id").to_owned()
}

/// A user as Microsoft Entra ID's provisioning service creates it (its SCIM tutorial's
/// request, with the enterprise extension and the attributes its default mapping sends).
fn entra_user(n: usize) -> Value {
    let name = format!("user{n}@example.com");
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": format!("{n:08x}-5e6f-4a1b-9c2d-{n:012x}"),
        "userName": name,
        "active": true,
        "displayName": format!("Given{n} Family{n}"),
        "title": "Software Engineer",
        "preferredLanguage": "en-US",
        "emails": [{"primary": true, "type": "work", "value": name}],
        "name": {
            "formatted": format!("Given{n} Family{n}"),
            "familyName": format!("Family{n}"),
            "givenName": format!("Given{n}")
        },
        "addresses": [{
            "type": "work",
            "streetAddress": "1 Microsoft Way",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US",
            "primary": true
        }],
        "phoneNumbers": [
            {"type": "work", "value": "+1 425 555 0100"},
            {"type": "mobile", "value": "+1 425 555 0101"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{n}"),
            "department": "Engineering",
            "costCenter": "CC-1234",
            "manager": {"value": "scim_user_01jmanager"}
        }
    })
}

/// The process's resident set, from `/proc/self/status` (Linux).
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .expect("VmRSS")
}
