//! Durability: the example server on sled takes concurrent writes, is killed with SIGKILL
//! at a random moment, and on restart every write it acknowledged is there, intact.
//!
//! The server is the `server` example, which `cargo test` builds next to the test
//! binaries (with `--test crash` alone cargo skips examples: build it first with
//! `cargo build --example server --features sled`).
#![cfg(feature = "sled")]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const TOKEN: &str = "crash-test-token-0123456789";
const API_KEY: &str = "crash-test-api-key-0123456789";

fn server_binary() -> PathBuf {
    // target/<profile>/deps/crash-<hash> → target/<profile>/examples/server
    let exe = std::env::current_exe().expect("test binary path");
    let server = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
        .join("server");
    assert!(
        server.exists(),
        "{} is missing: run `cargo test --features sled` (it builds examples) or \
         `cargo build --example server --features sled` first",
        server.display()
    );
    server
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts the server and returns it with its banner (`SCIM base URL`, `API key`, ...).
fn start_with_banner(path: &std::path::Path, port: u16) -> (Child, HashMap<String, String>) {
    let mut child = Command::new(server_binary())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--bearer-token",
            TOKEN,
            "--api-key",
            API_KEY,
        ])
        .arg("--store")
        .arg(format!("sled:{}", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the example server is built with the test's features");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = HashMap::new();
    while !banner.contains_key("API key") {
        let line = lines.next().expect("banner").expect("read");
        if let Some((name, value)) = line.split_once(": ") {
            banner.insert(name.to_owned(), value.to_owned());
        }
    }
    // Keep the pipe drained for as long as the server runs.
    std::thread::spawn(move || lines.for_each(drop));
    (child, banner)
}

/// Starts the server and returns it with its SCIM base URL.
fn start(path: &std::path::Path, port: u16) -> (Child, String) {
    let (child, mut banner) = start_with_banner(path, port);
    (
        child,
        banner.remove("SCIM base URL").expect("SCIM base URL"),
    )
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn call(
    client: &HttpClient,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    call_as(client, TOKEN, method, url, body).await
}

async fn call_as(
    client: &HttpClient,
    secret: &str,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "application/scim+json")
        .body(Full::new(
            body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
        ))
        .ok()?;
    let response = client.request(request).await.ok()?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.ok()?.to_bytes();
    Some((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

async fn all_user_names(client: &HttpClient, base: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = call(
            client,
            "GET",
            &format!("{base}/Users?count=1000&cursor={cursor}"),
            None,
        )
        .await
        .expect("list");
        assert_eq!(status, 200, "{page}");
        for user in page["Resources"].as_array().expect("resources") {
            let user_name = user["userName"].as_str().expect("userName");
            assert_eq!(
                (
                    &user["name"]["givenName"],
                    user["name"]["familyName"].as_str()
                ),
                (&json!("Crash"), Some(user_name)),
                "stored documents are intact: {user}"
            );
            names.insert(user_name.to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return names,
        }
    }
}

/// Tokens are stored hashed: no file of the database contains the secret.
fn assert_no_file_holds(dir: &std::path::Path, secret: &[u8]) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            assert_no_file_holds(&path, secret);
        } else {
            let bytes = std::fs::read(&path).expect("read file");
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds a token in plain text",
                path.display()
            );
        }
    }
}

/// The ids of a group's members.
async fn member_ids(client: &HttpClient, base: &str, group: &str) -> HashSet<String> {
    let (status, body) = call(client, "GET", &format!("{base}/Groups/{group}"), None)
        .await
        .expect("get group");
    assert_eq!(status, 200, "the group survives: {body}");
    body["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect()
}

/// Creates users and adds each to `group`; returns the acknowledged users (by userName)
/// and memberships (by user id).
async fn write_until_refused(
    client: HttpClient,
    base: String,
    group: String,
    prefix: String,
) -> (Vec<String>, Vec<String>) {
    let (mut users, mut members) = (Vec::new(), Vec::new());
    for n in 0.. {
        let user_name = format!("{prefix}n{n}@acme.com");
        let body = json!({"userName": user_name,
            "name": {"givenName": "Crash", "familyName": user_name}});
        let id = match call(&client, "POST", &format!("{base}/Users"), Some(body)).await {
            Some((201, created)) => created["id"].as_str().unwrap_or_default().to_owned(),
            _ => break,
        };
        users.push(user_name.clone());
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
        match call(
            &client,
            "PATCH",
            &format!("{base}/Groups/{group}"),
            Some(patch),
        )
        .await
        {
            Some((200 | 204, _)) => members.push(id),
            _ => break,
        }
    }
    (users, members)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut acknowledged_members: HashSet<String> = HashSet::new();
    let (mut first, first_base) = start(dir.path(), free_port());
    let (status, group) = call(
        &client,
        "POST",
        &format!("{first_base}/Groups"),
        Some(json!({"displayName": "Crash"})),
    )
    .await
    .expect("create group");
    assert_eq!(status, 201, "{group}");
    let group = group["id"].as_str().expect("group id").to_owned();
    first.kill().expect("kill");
    first.wait().expect("reap");
    for cycle in 0..5 {
        let (mut child, base) = start(dir.path(), free_port());
        assert_eq!(
            base.rsplit('/').next(),
            first_base.rsplit('/').next(),
            "a restart reuses the organization's primary directory"
        );
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                tokio::spawn(write_until_refused(
                    client.clone(),
                    base.clone(),
                    group.clone(),
                    format!("c{cycle}w{writer}"),
                ))
            })
            .collect();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(100 + (seed >> 33) % 400)).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        for writer in writers {
            let (users, members) = writer.await.expect("writer");
            acknowledged.extend(users);
            acknowledged_members.extend(members);
        }
        let (mut restarted, base) = start(dir.path(), free_port());
        let stored = all_user_names(&client, &base).await;
        let stored_members = member_ids(&client, &base, &group).await;
        restarted.kill().expect("kill");
        restarted.wait().expect("reap");
        let lost: Vec<&String> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle}: users acknowledged but lost: {lost:?}"
        );
        let lost: Vec<&String> = acknowledged_members.difference(&stored_members).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle}: memberships acknowledged but lost: {lost:?}"
        );
    }
    assert_no_file_holds(dir.path(), TOKEN.as_bytes());
    assert!(
        acknowledged.len() > 10 && acknowledged_members.len() > 10,
        "the test made writes ({} users, {} memberships)",
        acknowledged.len(),
        acknowledged_members.len()
    );
}

/// DESIGN §6: restarting on the same path keeps the organization, its directory and the
/// credentials given on the command line, and prints the same banner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_organization_and_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let (mut first, banner) = start_with_banner(dir.path(), free_port());
    let scim = banner["SCIM base URL"].clone();
    let (status, created) = call(
        &client,
        "POST",
        &format!("{scim}/Users"),
        Some(json!({"userName": "kept@acme.com"})),
    )
    .await
    .expect("create");
    assert_eq!(status, 201, "{created}");
    first.kill().expect("kill");
    first.wait().expect("reap");

    let (mut second, again) = start_with_banner(dir.path(), free_port());
    let origin_free = |b: &HashMap<String, String>, name: &str| {
        b[name].split_once("/scim").map(|(_, path)| path.to_owned())
    };
    assert_eq!(
        origin_free(&again, "SCIM base URL"),
        origin_free(&banner, "SCIM base URL"),
        "the same directory"
    );
    assert_eq!(
        (
            again["SCIM bearer token"].as_str(),
            again["API key"].as_str()
        ),
        (TOKEN, API_KEY),
        "the given credentials are printed as given"
    );
    let scim = again["SCIM base URL"].clone();
    let id = created["id"].as_str().expect("id");
    let (status, user) = call(&client, "GET", &format!("{scim}/Users/{id}"), None)
        .await
        .expect("get");
    assert_eq!(status, 200, "the bearer token still works: {user}");
    let (status, users) = call_as(
        &client,
        API_KEY,
        "GET",
        &format!(
            "{}/scim/users?organizationExternalId=example-org",
            again["Management base URL"]
        ),
        None,
    )
    .await
    .expect("management");
    second.kill().expect("kill");
    second.wait().expect("reap");
    assert_eq!(status, 200, "the API key still works: {users}");
    assert_eq!(
        users["scimUsers"].as_array().map(Vec::len),
        Some(1),
        "one organization, one directory, one user: {users}"
    );
}
