//! Microseconds per request through `ScimService::handle` in a tight loop (no HTTP, one
//! thread, memory store with 1,000 users), for profiling: run it under
//! `perf record --call-graph dwarf` and nothing else is in the profile.
//!
//! `cargo bench --bench handle_loop -- [get|filter|post] [requests]`

use std::sync::Arc;

use bytes::Bytes;
use scimkit::store::MemoryStore;
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; the first other arguments choose the request kind
    // and the number of requests.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let kinds: Vec<String> = match args.next() {
        Some(kind) => vec![kind],
        None => ["get", "filter", "post"].map(String::from).to_vec(),
    };
    let requests: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone());
    let org = admin.create_organization(None, vec![]).await.expect("org");
    let dir = admin.create_directory(&org.id, true).await.expect("dir");
    let token = admin.issue_scim_token(&dir.id).await.expect("token").secret;
    let scim = ScimService::builder(store).build();
    let base = format!("http://127.0.0.1:8080/scim/v2/{}", dir.id);
    let request = |method: &str, path: &str, body: Bytes| {
        http::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(body)
            .expect("request")
    };
    let mut probe = String::new();
    for n in 0..1000 {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{n}@example.com"),
            "name": {"givenName": "Load"},
            "active": true,
        });
        let response = scim
            .handle(request("POST", "/Users", Bytes::from(body.to_string())))
            .await;
        let doc: Value = serde_json::from_slice(response.body()).expect("json");
        if n == 500 {
            probe = doc["id"].as_str().expect("id").to_owned();
        }
    }
    for kind in kinds {
        let started = std::time::Instant::now();
        for n in 0..requests {
            let next = match kind.as_str() {
                "get" => request("GET", &format!("/Users/{probe}"), Bytes::new()),
                "filter" => request(
                    "GET",
                    "/Users?filter=userName%20eq%20%22user500@example.com%22",
                    Bytes::new(),
                ),
                "post" => request(
                    "POST",
                    "/Users",
                    Bytes::from(format!(
                        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{kind}-{n}@example.com"}}"#
                    )),
                ),
                other => {
                    eprintln!("unknown request kind `{other}`: get, filter or post");
                    std::process::exit(2);
                }
            };
            let response = scim.handle(next).await;
            assert!(response.status().is_success(), "{}", response.status());
        }
        let per_request = started.elapsed().as_secs_f64() * 1e6 / requests as f64;
        println!("{kind}: {per_request:.2} us/request ({requests} requests)");
    }
}
