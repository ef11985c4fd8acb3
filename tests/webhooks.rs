//! Webhooks against a local receiver that fails, times out and answers slowly on purpose:
//! every change arrives, in feed order, signed; a change the receiver never accepts is
//! dead-lettered and replayed through the management API; and a dispatcher process
//! killed with SIGKILL mid-stream loses nothing and re-sends at most the change in flight.
//!
//! The crash test runs the `webhook_dispatcher` example, which `cargo test` builds next
//! to the test binaries (with `--test webhooks` alone, build it first:
//! `cargo build --example webhook_dispatcher --features webhooks,sled`).

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::Fixture;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use scimkit::webhooks::{RetryPolicy, WebhookDispatcher, WebhookEndpoint, WebhookSecret, verify};
use scimkit::{DirectorySync, ManagementService};
use serde_json::{Value, json};

/// What the receiver does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    /// 200 after a pause shorter than the dispatcher's timeout.
    Slow,
    Fail,
    /// 200 only after the dispatcher's timeout.
    Hang,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    seq: u64,
    id: String,
    answer: Answer,
}

#[derive(Default)]
struct Log {
    seen: Vec<Seen>,
    bad_signatures: usize,
    attempts_per_seq: std::collections::HashMap<u64, u32>,
}

type Script = dyn Fn(u64, u32) -> Answer + Send + Sync;

/// A local webhook receiver: verifies each request's signature, answers as `script` says
/// for (seq, attempt number), and logs what it saw.
struct Receiver {
    url: String,
    log: Arc<Mutex<Log>>,
}

impl Receiver {
    async fn start(secret: WebhookSecret, script: Arc<Script>, pause: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = log.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (log, secret, script) = (shared.clone(), secret.clone(), script.clone());
                let service = service_fn(move |request: Request<Incoming>| {
                    let (log, secret, script) = (log.clone(), secret.clone(), script.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.expect("body").to_bytes();
                        let verified = verify(
                            &secret,
                            &parts.headers,
                            &body,
                            time::OffsetDateTime::now_utc(),
                        );
                        let event: Value = serde_json::from_slice(&body).expect("JSON body");
                        let seq = event["data"]["seq"].as_u64().expect("seq");
                        let id = parts.headers["webhook-id"].to_str().expect("id").to_owned();
                        let answer = {
                            let mut log = log.lock().unwrap();
                            if verified.is_err() {
                                log.bad_signatures += 1;
                            }
                            let attempt = log.attempts_per_seq.entry(seq).or_insert(0);
                            *attempt += 1;
                            let answer = script(seq, *attempt);
                            log.seen.push(Seen { seq, id, answer });
                            answer
                        };
                        let status = match answer {
                            Answer::Ok => StatusCode::OK,
                            Answer::Slow => {
                                tokio::time::sleep(pause).await;
                                StatusCode::OK
                            }
                            Answer::Hang => {
                                tokio::time::sleep(pause * 20).await;
                                StatusCode::OK
                            }
                            Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
                        };
                        let mut response = Response::new(Full::new(Bytes::new()));
                        *response.status_mut() = status;
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self { url, log }
    }

    /// The seqs whose delivery the receiver accepted (a 200 before the timeout), in
    /// arrival order.
    fn accepted(&self) -> Vec<u64> {
        let log = self.log.lock().unwrap();
        log.seen
            .iter()
            .filter(|s| matches!(s.answer, Answer::Ok | Answer::Slow))
            .map(|s| s.seq)
            .collect()
    }

    /// Waits until every seq in `1..=n` was accepted. A liveness bound, not a speed
    /// assertion: the deliveries must happen at all.
    async fn wait_for(&self, n: u64) {
        let all: HashSet<u64> = (1..=n).collect();
        for _ in 0..1200 {
            if self
                .accepted()
                .into_iter()
                .collect::<HashSet<_>>()
                .is_superset(&all)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not every change arrived: accepted {:?}", self.accepted());
    }

    /// Asserts feed order: no request for a seq arrived before every lower seq had been
    /// accepted, and every request verified.
    fn assert_in_order_and_signed(&self) {
        let log = self.log.lock().unwrap();
        assert_eq!(log.bad_signatures, 0, "every request's signature verifies");
        let mut done = 0;
        for seen in &log.seen {
            assert!(
                seen.seq <= done + 1,
                "seq {} was sent before {} was accepted",
                seen.seq,
                done + 1
            );
            if matches!(seen.answer, Answer::Ok | Answer::Slow) {
                done = done.max(seen.seq);
            }
        }
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(40))
        .with_timeout(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_arrives_in_order_signed_through_failures_timeouts_and_slow_answers() {
    let fx = Fixture::new(&[]).await;
    let secret = WebhookSecret::generate().unwrap();
    // First attempts fail (every 5th), hang past the timeout (every 7th) or answer slowly
    // (every 3rd); every retry is answered at once.
    let script: Arc<Script> = Arc::new(|seq, attempt| match (seq % 5, seq % 7, seq % 3) {
        _ if attempt > 1 => Answer::Ok,
        (0, _, _) => Answer::Fail,
        (_, 0, _) => Answer::Hang,
        (_, _, 0) => Answer::Slow,
        _ => Answer::Ok,
    });
    let receiver = Receiver::start(secret.clone(), script, Duration::from_millis(20)).await;
    let endpoint = WebhookEndpoint::new("billing", &receiver.url, secret).unwrap();
    let dispatcher = WebhookDispatcher::new(fx.store.clone(), endpoint)
        .directory(fx.directory.clone())
        .with_retry(fast_retries());
    let running = tokio::spawn(dispatcher.run());

    let mut users = Vec::new();
    for i in 0..12 {
        users.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    fx.request(
        "POST",
        "/Groups",
        Some(
            json!({"displayName": "Sales", "members": [{"value": users[0]}, {"value": users[1]}]}),
        ),
    )
    .await;
    fx.request(
        "PATCH",
        &format!("/Users/{}", users[0]),
        Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
    )
    .await;
    // 12 users, the group, 2 members, 1 deactivation.
    receiver.wait_for(16).await;
    running.abort();
    receiver.assert_in_order_and_signed();

    let log = receiver.log.lock().unwrap();
    let first = |seq: u64| log.seen.iter().find(|s| s.seq == seq).cloned().unwrap();
    assert_eq!(first(5).answer, Answer::Fail, "the script was followed");
    assert_eq!(first(7).answer, Answer::Hang);
    assert!(
        log.seen.iter().filter(|s| s.seq == 7).count() >= 2,
        "a change whose answer timed out is sent again"
    );
    assert_eq!(
        first(1).id,
        format!("{}:1", fx.directory),
        "webhook-id names the directory and seq"
    );
    assert!(
        log.seen
            .iter()
            .filter(|s| s.seq == 5)
            .all(|s| s.id == first(5).id),
        "retries keep the message id, so receivers can deduplicate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_the_change_with_its_snapshots() {
    let fx = Fixture::new(&[]).await;
    let secret = WebhookSecret::generate().unwrap();
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let sink = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let sink = sink.clone();
            let service = service_fn(move |request: Request<Incoming>| {
                let sink = sink.clone();
                async move {
                    let body = request.into_body().collect().await.unwrap().to_bytes();
                    sink.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let endpoint = WebhookEndpoint::new("crm", &url, secret).unwrap();
    let running = tokio::spawn(
        WebhookDispatcher::new(fx.store.clone(), endpoint)
            .directory(fx.directory.clone())
            .with_retry(fast_retries())
            .run(),
    );
    let ann = fx.create_user("ann@acme.com").await;
    fx.request(
        "POST",
        "/Groups",
        Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
    )
    .await;
    for _ in 0..1200 {
        if bodies.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.abort();
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies[0]["type"], "user.created");
    assert_eq!(bodies[0]["data"]["user"]["email"], "ann@acme.com");
    assert_eq!(bodies[0]["data"]["scimDirectoryId"], json!(fx.directory));
    assert_eq!(
        bodies[0]["data"]["resourceId"],
        json!(ann),
        "the event names its resource by the plain id"
    );
    assert_eq!(bodies[2]["type"], "group.member_added");
    assert_eq!(
        bodies[2]["data"]["resourceId"], bodies[2]["data"]["group"]["id"],
        "a membership event names the group"
    );
    assert!(
        bodies[2]["data"]["resourceId"]
            .as_str()
            .is_some_and(|id| id.starts_with("scim_group_"))
    );
    assert_eq!(
        (
            &bodies[2]["data"]["memberId"],
            &bodies[2]["data"]["user"]["id"],
            &bodies[2]["data"]["group"]["displayName"]
        ),
        (&json!(ann), &json!(ann), &json!("Sales")),
        "a membership event carries the member and the group"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_never_accepted_is_dead_lettered_then_replayed_from_the_management_api() {
    let fx = Fixture::new(&[]).await;
    let secret = WebhookSecret::generate().unwrap();
    let healed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healed.clone();
    // Change 2 is refused until the receiver is "fixed".
    let script: Arc<Script> = Arc::new(move |seq, _| {
        if seq == 2 && !flag.load(std::sync::atomic::Ordering::SeqCst) {
            Answer::Fail
        } else {
            Answer::Ok
        }
    });
    let receiver = Receiver::start(secret.clone(), script, Duration::from_millis(1)).await;
    let endpoint = WebhookEndpoint::new("billing", &receiver.url, secret).unwrap();
    let dispatcher = WebhookDispatcher::new(fx.store.clone(), endpoint)
        .directory(fx.directory.clone())
        .with_retry(fast_retries().with_horizon(Duration::from_millis(100)));
    let dead_letters = dispatcher.dead_letters();
    let running = tokio::spawn(dispatcher.run());
    for i in 0..3 {
        fx.create_user(&format!("u{i}@acme.com")).await;
    }
    for _ in 0..1200 {
        if receiver.accepted().contains(&3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.abort();
    assert_eq!(
        receiver.accepted(),
        vec![1, 3],
        "the feed moved on past the dead-lettered change"
    );

    let key = fx.admin.issue_api_key(None).await.unwrap().secret;
    let api = ManagementService::new(DirectorySync::new(fx.store.clone()), fx.store.clone())
        .with_webhooks(dead_letters);
    let call = |method: &str, path: &str, key: &str| {
        Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header("authorization", format!("Bearer {key}"))
            .body(Bytes::new())
            .unwrap()
    };
    let response = api
        .handle(call("GET", "/webhooks/billing/dead-letters", &key))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let listed: Value = serde_json::from_slice(response.body()).unwrap();
    let letter = &listed["deadLetters"][0];
    assert_eq!(
        (
            &letter["scimDirectoryId"],
            &letter["seq"],
            &letter["lastError"]
        ),
        (&json!(fx.directory), &json!(2), &json!("HTTP 500"))
    );
    assert!(letter["attempts"].as_u64().unwrap() >= 2, "it was retried");
    assert_eq!(letter["event"]["type"], "user.created");

    let replay = format!("/webhooks/billing/dead-letters/{}/2/replay", fx.directory);
    let refused = api.handle(call("POST", &replay, &key)).await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_GATEWAY,
        "a replay the endpoint refuses says so and keeps the letter"
    );
    use scimkit::store::DirectoryStore;
    let org = fx
        .store
        .get_directory(&fx.directory)
        .await
        .unwrap()
        .unwrap()
        .organization_id;
    let org_key = fx.admin.issue_api_key(Some(&org)).await.unwrap().secret;
    assert_eq!(
        api.handle(call("GET", "/webhooks/billing/dead-letters", &org_key))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "dead letters are for global keys only"
    );
    healed.store(true, std::sync::atomic::Ordering::SeqCst);
    let replayed = api.handle(call("POST", &replay, &key)).await;
    assert_eq!(replayed.status(), StatusCode::OK);
    assert_eq!(receiver.accepted(), vec![1, 3, 2]);
    let response = api
        .handle(call("GET", "/webhooks/billing/dead-letters", &key))
        .await;
    let listed: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        listed["deadLetters"],
        json!([]),
        "a delivered replay is removed"
    );
    receiver.assert_signed();
}

impl Receiver {
    fn assert_signed(&self) {
        assert_eq!(self.log.lock().unwrap().bad_signatures, 0);
    }
}

/// The dispatcher as a process of its own, killed with SIGKILL twice mid-stream.
#[cfg(feature = "sled")]
mod crash {
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};

    use scimkit::model::{
        Directory, DirectoryId, Meta, Organization, OrganizationId, User, UserId, UserState,
    };
    use scimkit::store::{DirectoryStore, SledStore};

    use super::*;

    fn dispatcher_binary() -> PathBuf {
        let exe = std::env::current_exe().expect("test binary path");
        let binary = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target dir")
            .join("examples")
            .join("webhook_dispatcher");
        assert!(
            binary.exists(),
            "{} is missing: run `cargo test --features webhooks,sled` (it builds examples) \
             or `cargo build --example webhook_dispatcher --features webhooks,sled` first",
            binary.display()
        );
        binary
    }

    fn start(
        path: &std::path::Path,
        dir: &DirectoryId,
        url: &str,
        secret: &WebhookSecret,
    ) -> Child {
        let mut child = Command::new(dispatcher_binary())
            .args(["--store", path.to_str().expect("utf-8 path")])
            .args(["--directory", dir.as_str(), "--url", url])
            .args(["--secret", &secret.expose()])
            .args([
                "--initial-delay-ms",
                "5",
                "--max-delay-ms",
                "40",
                "--timeout-ms",
                "2000",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the dispatcher");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("banner");
        assert_eq!(line.trim(), "dispatching");
        child
    }

    async fn wait_until(receiver: &Receiver, count: usize) {
        for _ in 0..2400 {
            if receiver.accepted().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("only {:?} arrived", receiver.accepted());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_dispatcher_resumes_from_its_cursor_losing_nothing() {
        const CHANGES: u64 = 40;
        let tmp = tempfile::tempdir().expect("tmp");
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let dir = DirectoryId::from_uuid(uuid::Uuid::now_v7());
        {
            let store = SledStore::open(tmp.path()).expect("open");
            let org = Organization::new(
                OrganizationId::from_uuid(uuid::Uuid::now_v7()),
                None,
                vec![],
                at,
            );
            store.insert_organization(org.clone()).await.expect("org");
            store
                .insert_directory(Directory::new(dir.clone(), org.id, true))
                .await
                .expect("directory");
            for n in 0..CHANGES {
                let user = User::new(
                    UserId::from_uuid(uuid::Uuid::now_v7()),
                    dir.clone(),
                    json!({"userName": format!("u{n}@example.com")}),
                    Meta::new(at),
                )
                .with_email(Some(format!("u{n}@example.com")))
                .with_state(UserState::Active);
                store.insert_user(user).await.expect("user");
            }
        }
        let secret = WebhookSecret::generate().unwrap();
        // Every answer is slow, so the kills land mid-stream; every 4th change fails
        // once first.
        let script: Arc<Script> = Arc::new(|seq, attempt| {
            if seq % 4 == 0 && attempt == 1 {
                Answer::Fail
            } else {
                Answer::Slow
            }
        });
        let receiver = Receiver::start(secret.clone(), script, Duration::from_millis(15)).await;
        let url = format!("{}?crash", receiver.url);
        let mut kills = 0;
        for stop_after in [12, 25] {
            let mut child = start(tmp.path(), &dir, &url, &secret);
            wait_until(&receiver, stop_after).await;
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
            kills += 1;
        }
        let mut child = start(tmp.path(), &dir, &url, &secret);
        receiver.wait_for(CHANGES).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");

        receiver.assert_in_order_and_signed();
        let accepted = receiver.accepted();
        let mut distinct = accepted.clone();
        distinct.dedup();
        assert_eq!(
            distinct,
            (1..=CHANGES).collect::<Vec<_>>(),
            "every change was delivered, in order, across the kills"
        );
        assert!(
            accepted.len() as u64 <= CHANGES + kills,
            "a restart re-sends at most the change in flight: {accepted:?}"
        );
    }
}
