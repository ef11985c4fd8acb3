//! Durability: the example server on sled takes concurrent writes, is killed with SIGKILL
//! at a random moment, and on restart every write it acknowledged is there, intact.
#![cfg(feature = "sled")]

use std::collections::HashSet;
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

fn server_binary() -> PathBuf {
    // target/<profile>/deps/crash-<hash> → target/<profile>/examples/server
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
        .join("server")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts the server and returns it with its SCIM base URL.
fn start(path: &std::path::Path, port: u16) -> (Child, String) {
    let mut child = Command::new(server_binary())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--bearer-token",
            TOKEN,
        ])
        .arg("--store")
        .arg(format!("sled:{}", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the example server is built with the test's features");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("banner").expect("read");
        if let Some(url) = line.strip_prefix("SCIM base URL: ") {
            break url.to_owned();
        }
    };
    // Keep the pipe drained for as long as the server runs.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn call(
    client: &HttpClient,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {TOKEN}"))
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
            assert_eq!(
                user["name"]["givenName"], "Crash",
                "stored documents are intact: {user}"
            );
            names.insert(user["userName"].as_str().expect("userName").to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return names,
        }
    }
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
    for cycle in 0..5 {
        let port = free_port();
        let (mut child, base) = start(dir.path(), port);
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                let (client, base) = (client.clone(), base.clone());
                tokio::spawn(async move {
                    let mut done = Vec::new();
                    for n in 0.. {
                        let user_name = format!("c{cycle}w{writer}n{n}@acme.com");
                        let body = json!({"userName": user_name, "name": {"givenName": "Crash"}});
                        match call(&client, "POST", &format!("{base}/Users"), Some(body)).await {
                            Some((201, _)) => done.push(user_name),
                            _ => return done,
                        }
                    }
                    done
                })
            })
            .collect();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(100 + (seed >> 33) % 400)).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        for writer in writers {
            acknowledged.extend(writer.await.expect("writer"));
        }
        let (mut restarted, base) = start(dir.path(), free_port());
        let stored = all_user_names(&client, &base).await;
        let lost: Vec<&String> = acknowledged
            .iter()
            .filter(|n| !stored.contains(*n))
            .collect();
        restarted.kill().expect("kill");
        restarted.wait().expect("reap");
        assert!(
            lost.is_empty(),
            "cycle {cycle}: acknowledged but lost: {lost:?}"
        );
    }
    assert!(
        acknowledged.len() > 10,
        "the test made writes ({})",
        acknowledged.len()
    );
}
