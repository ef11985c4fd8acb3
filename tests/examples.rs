//! Each example server boots, prints the DESIGN §6 banner, and serves a create, get, list
//! and delete round trip over real HTTP, next to the vendor's own route.
#![cfg(feature = "tower")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

struct Running {
    child: Child,
    scim: String,
    management: String,
    api_key: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn boot(example: &str) -> Running {
    let exe = std::env::current_exe().expect("test binary");
    let binary = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("examples")
        .join(example);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(binary)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--bearer-token",
            "example-test-token-123",
            "--domain",
            "acme.com",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{example} runs: {e}"));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = std::collections::HashMap::new();
    while banner.len() < 4 {
        let line = lines.next().expect("banner line").expect("read");
        if let Some((key, value)) = line.split_once(": ") {
            banner.insert(key.to_owned(), value.to_owned());
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    assert_eq!(banner["SCIM bearer token"], "example-test-token-123");
    Running {
        child,
        scim: banner["SCIM base URL"].clone(),
        management: banner["Management base URL"].clone(),
        api_key: banner["API key"].clone(),
    }
}

async fn call(url: &str, method: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Full::new(
            body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
        ))
        .expect("request");
    let response = client.request(request).await.expect("response");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned())),
    )
}

async fn round_trip(example: &str) {
    let server = boot(example);
    let token = "example-test-token-123";
    let (status, created) = call(
        &format!("{}/Users", server.scim),
        "POST",
        token,
        Some(json!({"userName": "ann@acme.com"})),
    )
    .await;
    assert_eq!(status, 201, "{example}: {created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let oversized = json!({"userName": "big@acme.com", "displayName": "x".repeat(2 << 20)});
    let (status, refusal) = call(
        &format!("{}/Users", server.scim),
        "POST",
        token,
        Some(oversized),
    )
    .await;
    assert_eq!(
        (status, refusal["status"].as_str()),
        (413, Some("413")),
        "{example}: a body over the limit is a SCIM 413"
    );
    assert_eq!(
        created["meta"]["location"],
        format!("{}/Users/{id}", server.scim),
        "{example}: locations keep the mount prefix"
    );
    let (status, got) = call(&format!("{}/Users/{id}", server.scim), "GET", token, None).await;
    assert_eq!(
        (status, got["userName"].as_str()),
        (200, Some("ann@acme.com")),
        "{example}"
    );
    let (_, list) = call(&format!("{}/Users", server.scim), "GET", token, None).await;
    assert_eq!(list["totalResults"], 1, "{example}");
    let (status, _) = call(
        &format!("{}/Users/{id}", server.scim),
        "DELETE",
        token,
        None,
    )
    .await;
    assert_eq!(status, 204, "{example}");
    let (status, _) = call(&format!("{}/Users/{id}", server.scim), "GET", token, None).await;
    assert_eq!(status, 404, "{example}");
    let (status, users) = call(
        &format!(
            "{}/scim/users?organizationExternalId=example-org",
            server.management
        ),
        "GET",
        &server.api_key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{example}: {users}");
    assert_eq!(
        users["scimUsers"][0]["deleted"], true,
        "{example}: deletion is soft for the vendor"
    );
    let origin = server
        .scim
        .split("/scim/v2")
        .next()
        .expect("origin")
        .to_owned();
    let (status, health) = call(&format!("{origin}/healthz"), "GET", "", None).await;
    assert_eq!(
        (status, health),
        (200, Value::String("ok".into())),
        "{example}: the app's own route still works"
    );
}

#[tokio::test]
async fn hyper_example() {
    round_trip("hyper").await;
}

#[tokio::test]
async fn axum_example() {
    round_trip("axum").await;
}

#[tokio::test]
async fn warp_example() {
    round_trip("warp").await;
}

#[test]
fn sync_job_syncs_then_ends_the_deprovisioned_users_sessions() {
    let exe = std::env::current_exe().expect("test binary");
    let binary = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("examples")
        .join("sync_job");
    let output = Command::new(binary).output().expect("sync_job runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(r#"full sync: 3 accounts, teams [("Engineering", 3)]"#),
        "{stdout}"
    );
    // Mapped fields: a default (`display_name`) and the vendor's own `cost_center`.
    assert!(
        stdout.contains("bob@acme.com: Bob Ng, cost center Sales"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bob@acme.com deprovisioned: sessions ended"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"signed in now: {"ann@acme.com", "cat@acme.com"}"#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"roles: {"ann@acme.com": {"developer"}, "bob@acme.com": {"developer"}, "cat@acme.com": {"developer"}}"#),
        "the full sync reads each user's roles: {stdout}"
    );
    assert!(
        stdout.contains(r#"cat@acme.com roles: {"viewer"}"#),
        "leaving the mapped group is one roles change: {stdout}"
    );
}
