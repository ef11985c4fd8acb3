//! Bounds on what one request may ask for (issue #11 items 9 and 11): each refusal is a
//! 4xx SCIM error naming the limit, and nothing of a refused request is stored.

mod common;

use bytes::Bytes;
use common::{Fixture, Reply};
use http::{Request, StatusCode};
use serde_json::{Value, json};

async fn raw(fx: &Fixture, method: &str, path: &str, body: String) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(format!("{}{path}", fx.base))
        .header("authorization", format!("Bearer {}", fx.token))
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body))
        .unwrap();
    fx.send_raw(request).await
}

/// A user whose `x` attribute holds `depth` nested arrays (the document itself is one
/// more level).
fn nested_user(user_name: &str, depth: usize) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{user_name}","x":{}1{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

async fn total(fx: &Fixture, collection: &str) -> u64 {
    let reply = fx.request("GET", collection, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["totalResults"].as_u64().unwrap_or(u64::MAX)
}

fn assert_refused(reply: &Reply, scim_type: &str, names: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.scim_type(), Some(scim_type), "{}", reply.body);
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(names), "`{names}` not in: {detail}");
}

#[tokio::test]
async fn documents_nested_past_the_limit_are_refused_before_anything_is_stored() {
    let fx = Fixture::new(&[]).await;
    // 127 levels is what serde_json accepts but a stored record cannot be read back.
    let reply = raw(&fx, "POST", "/Users", nested_user("deep@acme.com", 126)).await;
    assert_refused(&reply, "invalidValue", "64 levels");
    let group = format!(
        r#"{{"displayName":"g","x":{}{}}}"#,
        "{\"a\":".repeat(100),
        "1}".repeat(100)
    );
    assert_refused(
        &raw(&fx, "POST", "/Groups", group).await,
        "invalidValue",
        "64 levels",
    );
    assert_eq!(total(&fx, "/Users").await, 0);
    assert_eq!(total(&fx, "/Groups").await, 0);

    // Within the limit: stored and read back.
    let ok = raw(&fx, "POST", "/Users", nested_user("ok@acme.com", 60)).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let id = ok.id();
    let deeper = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "x", "value": nested_value(80)}],
    });
    assert_refused(
        &raw(&fx, "PATCH", &format!("/Users/{id}"), deeper.to_string()).await,
        "invalidValue",
        "64 levels",
    );
    assert_eq!(
        fx.request("GET", &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::OK
    );
}

fn nested_value(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn a_sled_store_never_receives_a_record_it_cannot_read_back() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
    let admin = scimkit::Admin::new(store.clone());
    let org = admin.create_organization(None, vec![]).await.unwrap();
    let directory = admin.create_directory(&org.id, true).await.unwrap();
    let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
    let scim = scimkit::ScimService::builder(store).build();
    let send = |method: &str, path: &str, body: String| {
        Request::builder()
            .method(method)
            .uri(format!("/scim/v2/{}{path}", directory.id))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(Bytes::from(body))
            .unwrap()
    };
    let deep = scim
        .handle(send("POST", "/Users", nested_user("deep@acme.com", 126)))
        .await;
    assert_eq!(deep.status(), StatusCode::BAD_REQUEST);
    let deepest_allowed = scim
        .handle(send("POST", "/Users", nested_user("ok@acme.com", 62)))
        .await;
    assert_eq!(deepest_allowed.status(), StatusCode::CREATED);
    let list = scim.handle(send("GET", "/Users", String::new())).await;
    assert_eq!(list.status(), StatusCode::OK);
    let body: Value = serde_json::from_slice(list.body()).unwrap();
    assert_eq!(body["totalResults"], 1);
}

fn patch(operations: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    })
}

#[tokio::test]
async fn patch_operations_are_bounded() {
    let fx = Fixture::with(&[], |b| b.max_patch_operations(10)).await;
    let id = fx.create_user("ann@acme.com").await;
    let ops = |n: usize| {
        (0..n)
            .map(|i| json!({"op": "replace", "path": "displayName", "value": format!("n{i}")}))
            .collect::<Vec<_>>()
    };
    let refused = fx
        .request("PATCH", &format!("/Users/{id}"), Some(patch(ops(11))))
        .await;
    assert_refused(&refused, "invalidValue", "more than 10 operations");
    let user = fx.request("GET", &format!("/Users/{id}"), None).await;
    assert!(user.body.get("displayName").is_none(), "{}", user.body);
    let ok = fx
        .request("PATCH", &format!("/Users/{id}"), Some(patch(ops(10))))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["displayName"], "n9");

    // RFC 7643 §5 has no field for it: the document stays strictly conformant.
    let config = fx.request("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(config.body["patch"], json!({"supported": true}));
}

fn emails(from: usize, n: usize) -> Vec<Value> {
    (from..from + n)
        .map(|i| json!({"value": format!("u{i}@acme.com"), "type": format!("t{i}")}))
        .collect()
}

#[tokio::test]
async fn multi_valued_attributes_are_bounded_on_every_write() {
    let fx = Fixture::with(&[], |b| b.max_multi_valued(50)).await;
    let too_many = json!({"userName": "ann@acme.com", "emails": emails(0, 51)});
    assert_refused(
        &fx.request("POST", "/Users", Some(too_many)).await,
        "invalidValue",
        "more than 50 elements",
    );
    assert_eq!(total(&fx, "/Users").await, 0);
    let user = json!({"userName": "ann@acme.com", "emails": emails(0, 50)});
    let created = fx.request("POST", "/Users", Some(user)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    // A PATCH whose `value` is within the body limits but would grow the stored list
    // past the limit.
    let grow = patch(vec![
        json!({"op": "add", "path": "emails", "value": emails(50, 1)}),
    ]);
    assert_refused(
        &fx.request("PATCH", &format!("/Users/{id}"), Some(grow))
            .await,
        "invalidValue",
        "over the limit of 50",
    );
    let stored = fx.request("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(stored.body["emails"].as_array().map(Vec::len), Some(50));

    // Filtered-path operations against every element: all applied, each to its own.
    let ops = (0..50)
        .map(|i| {
            json!({"op": "replace", "path": format!("emails[type eq \"t{i}\"].display"), "value": format!("d{i}")})
        })
        .collect();
    let replaced = fx
        .request("PATCH", &format!("/Users/{id}"), Some(patch(ops)))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    let emails = replaced.body["emails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(emails.len(), 50);
    assert!(
        emails
            .iter()
            .enumerate()
            .all(|(i, e)| e["display"] == format!("d{i}"))
    );
}

#[tokio::test]
async fn group_members_are_not_counted_as_a_multi_valued_attribute() {
    let fx = Fixture::with(&[], |b| b.max_multi_valued(2)).await;
    let mut members = Vec::new();
    for i in 0..3 {
        members.push(json!({"value": fx.create_user(&format!("u{i}@acme.com")).await}));
    }
    let created = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "g", "members": members})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let add = patch(vec![
        json!({"op": "add", "path": "members", "value": members}),
    ]);
    let reply = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(add))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn attribute_lists_are_bounded_in_queries_and_search_bodies() {
    let fx = Fixture::with(&[], |b| b.max_attribute_names(5)).await;
    fx.create_user("ann@acme.com").await;
    let names = |n: usize| (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>();
    let query = format!("/Users?excludedAttributes={}", names(6).join(","));
    assert_refused(
        &fx.request("GET", &query, None).await,
        "invalidValue",
        "over the limit of 5",
    );
    let query = format!("/Users?attributes={}", names(5).join(","));
    assert_eq!(fx.request("GET", &query, None).await.status, StatusCode::OK);
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "excludedAttributes": names(6),
    });
    for path in ["/.search", "/Users/.search", "/Groups/.search"] {
        assert_refused(
            &fx.request("POST", path, Some(search.clone())).await,
            "invalidValue",
            "`excludedAttributes` lists 6 names",
        );
    }
}

#[tokio::test]
async fn projection_with_many_names_still_selects_the_right_attributes() {
    let fx = Fixture::new(&[]).await;
    fx.create_user("ann@acme.com").await;
    let mut names: Vec<String> = (0..190).map(|i| format!("unknown{i}")).collect();
    names.push("emails.value".into());
    names.push("userName".into());
    let query = format!("/Users?attributes={}", names.join(","));
    let reply = fx.request("GET", &query, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let user = &reply.body["Resources"][0];
    assert_eq!(user["userName"], "ann@acme.com");
    assert!(user.get("active").is_none(), "{user}");
}

#[tokio::test]
async fn over_long_uris_and_header_blocks_get_scim_errors() {
    let fx = Fixture::new(&[]).await;
    let long = format!("/Users?filter={}", "a".repeat(20 * 1024));
    let reply = fx.request("GET", &long, None).await;
    assert_eq!(reply.status, StatusCode::URI_TOO_LONG);
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("16384 bytes")),
        "{}",
        reply.body
    );
    let big = "x".repeat(40 * 1024);
    let reply = fx
        .request_with("GET", "/Users", None, &[("x-big", &big)])
        .await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(
        reply.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let names: Vec<String> = (0..80).map(|i| format!("x-h{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let reply = fx.request_with("GET", "/Users", None, &headers).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[tokio::test]
async fn a_path_less_add_of_only_server_owned_keys_is_refused_like_one_with_a_path() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    let with_path = patch(vec![json!({"op": "add", "path": "id", "value": "other"})]);
    let without = patch(vec![json!({"op": "add", "value": {"id": "other"}})]);
    let a = fx
        .request("PATCH", &format!("/Users/{id}"), Some(with_path))
        .await;
    let b = fx
        .request("PATCH", &format!("/Users/{id}"), Some(without))
        .await;
    assert_eq!((a.status, a.scim_type()), (b.status, b.scim_type()));
    assert_refused(&b, "mutability", "`id`");
    // Beside an attribute that can change, the server-owned key is ignored (Okta).
    let mixed = patch(vec![
        json!({"op": "replace", "value": {"id": id, "displayName": "Ann"}}),
    ]);
    let c = fx
        .request("PATCH", &format!("/Users/{id}"), Some(mixed))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["id"], id);
}
