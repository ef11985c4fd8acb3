//! Rippling's custom app with "User Management via SCIM" (SCIM 2.0): "Test connection"
//! reads `/ServiceProviderConfig`; users carry `externalId`, the primary email, names and
//! `employeeNumber`; profile changes (manager, title) arrive as PATCH replaces; termination
//! deprovisions with `active: false`; groups are edited with PATCH ("Use PATCH to edit
//! Groups") and can be deleted. Rippling retries requests it believes failed, so a repeated
//! POST must not create a second user.

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::store::DirectoryStore;
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch_op(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

#[tokio::test]
async fn rippling_hire_change_and_termination() {
    let fx = Fixture::new(&["acme.com"]).await;
    let config = fx.request("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["filter"]["supported"], true);
    let hire = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "ann@acme.com",
        "externalId": "rippling-5f1c",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@acme.com", "primary": true}],
        "title": "Account Executive",
        ENTERPRISE: {"employeeNumber": "1042"}
    });
    let created = fx.request("POST", "/Users", Some(hire.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    // The retried hire: refused as a duplicate, and still one user.
    let retried = fx.request("POST", "/Users", Some(hire)).await;
    assert_eq!(retried.status, StatusCode::CONFLICT);
    assert_eq!(retried.scim_type(), Some("uniqueness"));
    let all = fx.request("GET", "/Users", None).await;
    assert_eq!(all.body["totalResults"], 1);
    let manager = fx.create_user("boss@acme.com").await;
    let changed = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch_op(json!([
                {"op": "replace", "path": "title", "value": "Sales Manager"},
                {"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": manager}}
            ]))),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["title"], "Sales Manager");
    assert_eq!(
        changed.body[ENTERPRISE]["manager"]["value"],
        manager.as_str()
    );
    assert_eq!(changed.body[ENTERPRISE]["employeeNumber"], "1042");
    let terminated = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        )
        .await;
    assert_eq!(terminated.body["active"], false);
    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted());
}

#[tokio::test]
async fn rippling_groups_by_patch_and_delete() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Department: Sales", "members": []})),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
    let group = group.id();
    let reply = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch_op(json!([
                {"op": "add", "path": "members", "value": [{"value": ann}, {"value": bob}]},
                {"op": "replace", "path": "displayName", "value": "Department: Revenue"}
            ]))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "Department: Revenue");
    assert_eq!(reply.body["members"].as_array().unwrap().len(), 2);
    let reply = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]),
            )),
        )
        .await;
    assert_eq!(reply.body["members"][0]["value"], bob.as_str());
    assert_eq!(
        fx.request("DELETE", &format!("/Groups/{group}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fx.request("GET", &format!("/Users/{ann}"), None)
            .await
            .status,
        StatusCode::OK
    );
}
