//! SCIM 1.1 clients (older OneLogin connectors and custom ones). scimkit's choice: SCIM 1.1
//! URNs inside documents are read as their 2.0 schemas (OneLogin's SCIM 1.1 connector
//! sends them), while SCIM 1.1 paths and SCIM 1.1 PATCH bodies are refused with a 400
//! that names the version, so the administrator knows to switch the connector to 2.0.

mod common;

use bytes::Bytes;
use common::Fixture;
use http::{Request, StatusCode};
use serde_json::json;

#[tokio::test]
async fn onelogin_scim_1_urns_in_a_document_are_accepted() {
    let fx = Fixture::new(&[]).await;
    let created = fx
        .request(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0"],
                "userName": "ann@acme.com",
                "emails": {"value": "ann@acme.com", "primary": true},
                "urn:scim:schemas:extension:enterprise:1.0": {"department": "R&D"}
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "R&D"
    );
}

#[tokio::test]
async fn scim_1_paths_get_a_400_naming_the_version() {
    let fx = Fixture::new(&[]).await;
    for path in [
        format!("/scim/v1/{}/Users", fx.directory),
        "/scim/v1/Users".to_owned(),
        format!("/scim/v2/v1/{}/Users", fx.directory),
    ] {
        let request = Request::builder()
            .method("GET")
            .uri(&path)
            .header("authorization", format!("Bearer {}", fx.token))
            .body(Bytes::new())
            .unwrap();
        let reply = fx.send_raw(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("SCIM 1.1") && detail.contains("SCIM 2.0"),
            "{detail}"
        );
    }
    // Another unknown path is still a 404.
    let request = Request::builder()
        .method("GET")
        .uri("/scim/v3/Users")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(fx.send_raw(request).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_scim_1_patch_gets_a_400_naming_the_version_and_changes_nothing() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": ann}]})),
        )
        .await
        .id();
    // SCIM 1.1 (draft-scim-api-01 §3.3.2): a partial resource with `operation: delete`.
    let reply = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(json!({
                "schemas": ["urn:scim:schemas:core:1.0"],
                "members": [{"value": ann, "operation": "delete"}]
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("invalidSyntax"));
    assert!(
        reply.body["detail"].as_str().unwrap().contains("SCIM 1.1"),
        "{}",
        reply.body
    );
    let got = fx.request("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(got.body["members"][0]["value"], ann.as_str());
}
