//! JumpCloud's "Identity Management using a Custom SCIM Integration" (SCIM 2.0): the
//! connection test creates and deletes a test user and group, users are matched by
//! `userName` and updated with PUT, groups are created with their members (JumpCloud never
//! creates empty groups), renamed, and their members added and removed with
//! `path: "members"` and a value list (no filter).

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::store::DirectoryStore;
use serde_json::{Value, json};

fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

fn patch_op(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

fn jumpcloud_user(user_name: &str, given: &str, active: bool) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": user_name,
        "externalId": format!("jc-{user_name}"),
        "name": {"givenName": given, "familyName": "Tester"},
        "displayName": format!("{given} Tester"),
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": active,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "IT"}
    })
}

#[tokio::test]
async fn jumpcloud_connection_test_creates_and_deletes_a_test_user_and_group() {
    let fx = Fixture::new(&["acme.com"]).await;
    let user = fx
        .request(
            "POST",
            "/Users",
            Some(jumpcloud_user("jc-test-user@acme.com", "Test", true)),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "JumpCloud Test Group",
                "members": [{"value": user.id()}]
            })),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
    for path in [
        format!("/Groups/{}", group.id()),
        format!("/Users/{}", user.id()),
    ] {
        assert_eq!(
            fx.request("DELETE", &path, None).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            fx.request("GET", &path, None).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn jumpcloud_user_and_group_sync() {
    let fx = Fixture::new(&["acme.com"]).await;
    let lookup = fx
        .request(
            "GET",
            &format!("/Users?filter={}", encoded("userName eq \"ann@acme.com\"")),
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
    let ann = fx
        .request(
            "POST",
            "/Users",
            Some(jumpcloud_user("ann@acme.com", "Ann", true)),
        )
        .await;
    assert_eq!(ann.status, StatusCode::CREATED, "{}", ann.body);
    let ann = ann.id();
    let bob = fx
        .request(
            "POST",
            "/Users",
            Some(jumpcloud_user("bob@acme.com", "Bob", true)),
        )
        .await
        .id();
    // Attribute change: the whole user by PUT.
    let updated = fx
        .request(
            "PUT",
            &format!("/Users/{ann}"),
            Some(jumpcloud_user("ann@acme.com", "Annie", true)),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["name"]["givenName"], "Annie");
    // A user group bound to the application, created with its members.
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": ann}]
            })),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
    let group = group.id();
    let add = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch_op(
                json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
            )),
        )
        .await;
    assert_eq!(add.status, StatusCode::OK, "{}", add.body);
    assert_eq!(add.body["members"].as_array().unwrap().len(), 2);
    let remove = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch_op(
                json!([{"op": "remove", "path": "members", "value": [{"value": ann}]}]),
            )),
        )
        .await;
    assert_eq!(remove.status, StatusCode::OK, "{}", remove.body);
    assert_eq!(
        remove.body["members"],
        json!([{"value": bob, "$ref": format!("https://scim.example.com{}/Users/{bob}", fx.base), "type": "User"}])
    );
    let renamed = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch_op(
                json!([{"op": "replace", "value": {"displayName": "Platform"}}]),
            )),
        )
        .await;
    assert_eq!(renamed.body["displayName"], "Platform");
    assert_eq!(renamed.body["members"].as_array().unwrap().len(), 1);
    // Deactivation: PUT with `active: false`; the user stays visible as inactive.
    let deactivated = fx
        .request(
            "PUT",
            &format!("/Users/{bob}"),
            Some(jumpcloud_user("bob@acme.com", "Bob", false)),
        )
        .await;
    assert_eq!(deactivated.status, StatusCode::OK);
    assert_eq!(deactivated.body["active"], false);
    let stored = fx
        .store
        .get_user(&fx.directory, &bob.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted(), "deactivation deprovisions");
}
