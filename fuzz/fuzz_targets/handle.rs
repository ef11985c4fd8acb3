//! `ScimService::handle` on structured arbitrary requests against a directory with one
//! user: never a 5xx, and every 4xx a SCIM error document.
#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use scimkit::store::MemoryStore;
use scimkit::{Admin, ScimService};

#[derive(Debug, Arbitrary)]
enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Segment {
    Users,
    Groups,
    Search,
    Discovery(u8),
    TheUser,
    Text(String),
}

#[derive(Debug, Arbitrary)]
struct Request {
    method: Method,
    segments: Vec<Segment>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    authenticated: bool,
}

struct World {
    runtime: tokio::runtime::Runtime,
    scim: ScimService,
    base: String,
    token: String,
    user: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let store = Arc::new(MemoryStore::new());
        let admin = Admin::new(store.clone());
        let scim = ScimService::builder(store).build();
        let (base, token, user) = runtime.block_on(async {
            let org = admin.create_organization(None, vec![]).await.expect("org");
            let dir = admin.create_directory(&org.id, true).await.expect("dir");
            let token = admin.issue_scim_token(&dir.id).await.expect("token").secret;
            let base = format!("/scim/v2/{}", dir.id);
            let created = scim
                .handle(
                    http::Request::post(format!("{base}/Users"))
                        .header("authorization", format!("Bearer {token}"))
                        .body(Bytes::from_static(br#"{"userName":"ann@acme.com"}"#))
                        .expect("request"),
                )
                .await;
            let doc: serde_json::Value = serde_json::from_slice(created.body()).expect("json");
            (
                base,
                token,
                doc["id"].as_str().unwrap_or_default().to_owned(),
            )
        });
        World {
            runtime,
            scim,
            base,
            token,
            user,
        }
    })
}

fuzz_target!(|input: Request| {
    let world = world();
    let mut uri = world.base.clone();
    for segment in &input.segments {
        uri.push('/');
        match segment {
            Segment::Users => uri.push_str("Users"),
            Segment::Groups => uri.push_str("Groups"),
            Segment::Search => uri.push_str(".search"),
            Segment::Discovery(n) => uri.push_str(
                ["Schemas", "ResourceTypes", "ServiceProviderConfig"][usize::from(*n) % 3],
            ),
            Segment::TheUser => uri.push_str(&world.user),
            Segment::Text(text) => uri.push_str(text),
        }
    }
    if !input.query.is_empty() {
        uri.push('?');
        for (k, v) in &input.query {
            uri.push_str(k);
            uri.push('=');
            uri.push_str(v);
            uri.push('&');
        }
    }
    let method = match &input.method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Other(m) => m.as_str(),
    };
    let mut builder = http::Request::builder().method(method).uri(uri);
    if input.authenticated {
        builder = builder.header("authorization", format!("Bearer {}", world.token));
    }
    for (name, value) in &input.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let Ok(request) = builder.body(Bytes::from(input.body)) else {
        return;
    };
    let response = world.runtime.block_on(world.scim.handle(request));
    assert!(!response.status().is_server_error(), "{response:?}");
    if response.status().is_client_error() {
        let error: serde_json::Value =
            serde_json::from_slice(response.body()).expect("a SCIM error is JSON");
        assert_eq!(
            error["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
});
