//! Google Workspace's automated user provisioning to a custom SAML app (SCIM 2.0, users
//! only): on setup Google probes `GET /Users?count=1`; it matches users by `userName`,
//! creates them, updates them, and on removal from scope either suspends (`active: false`)
//! or deletes them, as the administrator chose in the "Deprovisioning" step.

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::store::DirectoryStore;
use serde_json::json;

fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

#[tokio::test]
async fn google_workspace_probe_provision_suspend_and_delete() {
    let fx = Fixture::new(&["acme.com"]).await;
    // The setup probe: an empty directory answers a valid, empty ListResponse.
    let probe = fx.request("GET", "/Users?count=1", None).await;
    assert_eq!(probe.status, StatusCode::OK, "{}", probe.body);
    assert_eq!(probe.body["totalResults"], 0);
    assert_eq!(probe.body["Resources"], json!([]));
    let lookup = fx
        .request(
            "GET",
            &format!("/Users?filter={}", encoded("userName eq \"ann@acme.com\"")),
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
    let created = fx
        .request(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ann@acme.com",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@acme.com", "type": "work", "primary": true}],
                "active": true
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let probe = fx.request("GET", "/Users?count=1", None).await;
    assert_eq!(probe.body["totalResults"], 1);
    assert_eq!(probe.body["itemsPerPage"], 1);
    let updated = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"name": {"givenName": "Anne"}, "displayName": "Anne Lee"}}]
            })),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        updated.body["name"],
        json!({"givenName": "Anne", "familyName": "Lee"})
    );
    // Suspended in Workspace.
    let suspended = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]
            })),
        )
        .await;
    assert_eq!(suspended.body["active"], false);
    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted());
    // Deleted in Workspace.
    assert_eq!(
        fx.request("DELETE", &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let lookup = fx
        .request(
            "GET",
            &format!("/Users?filter={}", encoded("userName eq \"ann@acme.com\"")),
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
}
