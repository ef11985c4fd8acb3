//! RFC 7644 §3.3–3.6 for Users, with scimkit's provisioning semantics (DESIGN §4).

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::model::{ChangeKind, UserId, UserState};
use scimkit::store::{DirectoryStore, DirectoryStoreExt, UserKey};
use serde_json::json;

fn entra_user(user_name: &str) -> serde_json::Value {
    // Shape of Microsoft Entra ID's create-user request (its SCIM provisioning tutorial).
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    })
}

#[tokio::test]
async fn create_returns_201_with_location_etag_and_meta() {
    let fx = Fixture::new(&[]).await;
    let reply = fx
        .request("POST", "/Users", Some(entra_user("ann@acme.com")))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.id();
    assert!(id.starts_with("scim_user_"), "{id}");
    let location = format!("https://scim.example.com{}/Users/{id}", fx.base);
    assert_eq!(reply.headers["location"], location.as_str());
    assert_eq!(reply.headers["etag"], "W/\"1\"");
    assert_eq!(reply.headers["content-type"], "application/scim+json");
    assert_eq!(reply.body["meta"]["resourceType"], "User");
    assert_eq!(reply.body["meta"]["location"], location.as_str());
    assert_eq!(reply.body["meta"]["version"], "W/\"1\"");
    assert_eq!(reply.body["meta"]["created"], "2026-11-24T12:00:00Z");
    assert_eq!(reply.body["name"]["givenName"], "Ann");
    assert_eq!(
        reply.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Sales"
    );
}

#[tokio::test]
async fn attributes_the_idp_sent_are_kept_for_the_vendor() {
    let fx = Fixture::new(&[]).await;
    let id = fx
        .request("POST", "/Users", Some(entra_user("ann@acme.com")))
        .await
        .id();
    let user = fx
        .store
        .get_user(&fx.directory, &id.parse::<UserId>().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("ann@acme.com"));
    assert_eq!(
        user.attributes["externalId"],
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    );
    assert_eq!(user.attributes["name"]["familyName"], "Lee");
    assert!(
        user.attributes.get("meta").is_none(),
        "server-owned meta is not stored"
    );
}

#[tokio::test]
async fn get_by_id_and_unknown_ids_are_404() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    let reply = fx.request("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["userName"], "ann@acme.com");
    assert_eq!(reply.body["active"], true);

    for missing in [
        "scim_user_00000000000000000000000000",
        "not-an-id",
        "scim_group_00000000000000000000000001",
    ] {
        let reply = fx.request("GET", &format!("/Users/{missing}"), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(
            reply.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(reply.body["status"], "404");
    }
}

#[tokio::test]
async fn list_pages_with_start_index_and_count() {
    let fx = Fixture::new(&[]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    let reply = fx.request("GET", "/Users?startIndex=2&count=2", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(reply.body["totalResults"], 5);
    assert_eq!(reply.body["itemsPerPage"], 2);
    assert_eq!(reply.body["startIndex"], 2);
    let page: Vec<&str> = reply.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec![ids[1].as_str(), ids[2].as_str()]);

    // RFC 7644 §3.4.2.4: startIndex below 1 reads as 1; a negative count as 0.
    let reply = fx
        .request("GET", "/Users?startIndex=0&count=-1", None)
        .await;
    assert_eq!(reply.body["startIndex"], 1);
    assert_eq!(reply.body["itemsPerPage"], 0);
    assert_eq!(reply.body["totalResults"], 5);

    let reply = fx.request("GET", "/Users?count=abc", None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("invalidValue"));
}

#[tokio::test]
async fn put_replaces_the_document_and_bumps_the_version() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    fx.clock.advance(time::Duration::minutes(5));
    let mut replacement = entra_user("ann@acme.com");
    replacement["name"]["givenName"] = json!("Annie");
    let reply = fx
        .request("PUT", &format!("/Users/{id}"), Some(replacement))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["name"]["givenName"], "Annie");
    assert_eq!(reply.body["meta"]["version"], "W/\"2\"");
    assert_eq!(reply.body["meta"]["created"], "2026-11-24T12:00:00Z");
    assert_eq!(reply.body["meta"]["lastModified"], "2026-11-24T12:05:00Z");
    assert_eq!(reply.headers["etag"], "W/\"2\"");
}

#[tokio::test]
async fn stale_if_match_is_412_and_changes_nothing() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    fx.request(
        "PUT",
        &format!("/Users/{id}"),
        Some(entra_user("ann@acme.com")),
    )
    .await;
    let reply = fx
        .request_with(
            "PUT",
            &format!("/Users/{id}"),
            Some(json!({"userName": "x@acme.com"})),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    let reply = fx
        .request_with(
            "DELETE",
            &format!("/Users/{id}"),
            None,
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    let reply = fx.request("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(reply.body["userName"], "ann@acme.com");

    let current = fx
        .request_with(
            "GET",
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", "W/\"2\"")],
        )
        .await;
    assert_eq!(current.status, StatusCode::NOT_MODIFIED);
    // On a write, a matching If-None-Match refuses it (RFC 7232 §3.2).
    let guarded = fx
        .request_with(
            "DELETE",
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", "*")],
        )
        .await;
    assert_eq!(guarded.status, StatusCode::PRECONDITION_FAILED);
    let ok = fx
        .request_with(
            "PUT",
            &format!("/Users/{id}"),
            Some(entra_user("ann@acme.com")),
            &[("if-match", "W/\"2\"")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn deactivation_keeps_the_user_visible_and_marks_it_deleted_for_the_vendor() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    let mut body = entra_user("ann@acme.com");
    body["active"] = json!(false);
    let reply = fx.request("PUT", &format!("/Users/{id}"), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["active"], false);

    let reply = fx.request("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["active"], false);
    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, UserState::Deactivated);
    assert!(stored.deleted());

    // active=true restores.
    let reply = fx
        .request(
            "PUT",
            &format!("/Users/{id}"),
            Some(entra_user("ann@acme.com")),
        )
        .await;
    assert_eq!(reply.body["active"], true);
    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.deleted());
}

#[tokio::test]
async fn delete_hides_the_user_frees_the_user_name_and_keeps_the_record() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    let reply = fx.request("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        fx.request("GET", &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fx.request("DELETE", &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = fx.request("GET", "/Users", None).await;
    assert_eq!(list.body["totalResults"], 0);

    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, UserState::Deleted);
    assert!(stored.deleted());
}

#[tokio::test]
async fn re_posting_a_deleted_user_name_restores_the_same_user() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    fx.request("DELETE", &format!("/Users/{id}"), None).await;
    let again = fx
        .request("POST", "/Users", Some(entra_user("ANN@acme.com")))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.id(), id);
    assert_eq!(again.body["userName"], "ANN@acme.com");
    assert_eq!(
        fx.request("GET", &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::OK
    );
    let changes = fx.store.list_changes(&fx.directory, 0, 10).await.unwrap();
    let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::UserCreated,
            ChangeKind::UserDeleted,
            ChangeKind::UserRestored
        ]
    );
}

#[tokio::test]
async fn the_builder_can_make_re_posts_fresh_users_instead() {
    let fx = Fixture::with(&[], |b| b.restore_deleted_on_create(false)).await;
    let id = fx.create_user("ann@acme.com").await;
    fx.request("DELETE", &format!("/Users/{id}"), None).await;
    let fresh = fx.create_user("ann@acme.com").await;
    assert_ne!(fresh, id);
    let both = fx
        .store
        .find_users(&fx.directory, UserKey::UserName("ann@acme.com".into()))
        .await
        .unwrap();
    assert_eq!(both.len(), 2, "the deleted user is kept");
}

#[tokio::test]
async fn a_duplicate_active_user_name_is_409_uniqueness() {
    let fx = Fixture::new(&[]).await;
    let first = fx.create_user("ann@acme.com").await;
    let reply = fx
        .request("POST", "/Users", Some(json!({"userName": "Ann@Acme.com"})))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.scim_type(), Some("uniqueness"));

    let second = fx.create_user("bob@acme.com").await;
    let reply = fx
        .request(
            "PUT",
            &format!("/Users/{second}"),
            Some(json!({"userName": "ann@acme.com"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.scim_type(), Some("uniqueness"));
    let unchanged = fx.request("GET", &format!("/Users/{second}"), None).await;
    assert_eq!(unchanged.body["userName"], "bob@acme.com");
    assert_ne!(first, second);
}

#[tokio::test]
async fn concurrent_creates_of_one_user_name_yield_exactly_one_user() {
    let fx = std::sync::Arc::new(Fixture::new(&[]).await);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let fx = fx.clone();
        tasks.push(tokio::spawn(async move {
            fx.request("POST", "/Users", Some(json!({"userName": "race@acme.com"})))
                .await
                .status
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn email_comes_from_user_name_or_emails_and_must_exist() {
    let fx = Fixture::new(&[]).await;
    let reply = fx
        .request(
            "POST",
            "/Users",
            Some(json!({"userName": "ann", "emails": [
            {"value": "ann.other@acme.com"}, {"value": "ann@acme.com", "primary": true}]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let user = fx
        .store
        .get_user(&fx.directory, &reply.id().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("ann@acme.com"));

    let reply = fx
        .request("POST", "/Users", Some(json!({"userName": "bob"})))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("invalidValue"));
    assert!(reply.body["detail"].as_str().unwrap().contains("no email"));
}

#[tokio::test]
async fn emails_outside_the_organization_domains_are_refused_naming_the_domain() {
    let fx = Fixture::new(&["acme.com"]).await;
    assert_eq!(
        fx.request("POST", "/Users", Some(json!({"userName": "a@acme.com"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let reply = fx
        .request(
            "POST",
            "/Users",
            Some(json!({"userName": "b@sub.acme.com"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("invalidValue"));
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("sub.acme.com"),
        "{}",
        reply.body
    );
    assert_eq!(
        fx.request("GET", "/Users", None).await.body["totalResults"],
        1,
        "nothing stored"
    );
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_400_and_store_nothing() {
    let fx = Fixture::new(&[]).await;
    let cases: Vec<(&str, &str)> = vec![
        ("{\"userName\":", "invalidSyntax"),
        ("[1,2]", "invalidSyntax"),
        ("{\"userName\": 7}", "invalidValue"),
        ("{\"userName\": \"\"}", "invalidValue"),
        (
            "{\"userName\": \"a@acme.com\", \"active\": \"maybe\"}",
            "invalidValue",
        ),
    ];
    for (body, scim_type) in cases {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{}/Users", fx.base))
            .header("authorization", format!("Bearer {}", fx.token))
            .header("content-type", "application/json")
            .body(bytes::Bytes::from(body))
            .unwrap();
        let reply = fx.send_raw(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.scim_type(), Some(scim_type), "{body}: {}", reply.body);
    }
    assert_eq!(
        fx.request("GET", "/Users", None).await.body["totalResults"],
        0
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let fx = Fixture::with(&[], |b| b.max_body_bytes(64)).await;
    let reply = fx
        .request(
            "POST",
            "/Users",
            Some(json!({"userName": "a@acme.com", "displayName": "x".repeat(100)})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        fx.request("GET", "/Users", None).await.body["totalResults"],
        0
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let fx = Fixture::new(&[]).await;
    assert_eq!(
        fx.request("GET", "/Widgets", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fx.request("GET", "/Users/a/b", None).await.status,
        StatusCode::NOT_FOUND
    );
    let reply = fx.request("DELETE", "/Users", None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.body["status"], "405");
    let reply = fx
        .request(
            "POST",
            "/Users/scim_user_00000000000000000000000001",
            Some(json!({})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn other_media_types_are_415() {
    let fx = Fixture::new(&[]).await;
    let reply = fx
        .request_with(
            "POST",
            "/Users",
            Some(json!({"userName": "a@acme.com"})),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn every_change_is_logged_in_order() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    fx.request(
        "PUT",
        &format!("/Users/{id}"),
        Some(entra_user("ann@acme.com")),
    )
    .await;
    let mut off = entra_user("ann@acme.com");
    off["active"] = json!(false);
    fx.request("PUT", &format!("/Users/{id}"), Some(off)).await;
    fx.request(
        "PUT",
        &format!("/Users/{id}"),
        Some(entra_user("ann@acme.com")),
    )
    .await;
    fx.request("DELETE", &format!("/Users/{id}"), None).await;
    let changes = fx.store.list_changes(&fx.directory, 0, 100).await.unwrap();
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::UserCreated,
            ChangeKind::UserUpdated,
            ChangeKind::UserDeactivated,
            ChangeKind::UserRestored,
            ChangeKind::UserDeleted
        ]
    );
    assert!(
        changes
            .iter()
            .all(|c| c.resource_id.as_str() == id && c.user_id().map(|u| u.as_str()) == Some(&*id)),
        "every entry names the user, by its SCIM id"
    );
}
