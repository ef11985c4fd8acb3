//! Okta's provisioning sequence, as its "SCIM 2.0 protocol reference" shows the requests.

mod common;

use common::Fixture;
use http::StatusCode;
use serde_json::json;

fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

#[tokio::test]
async fn okta_user_lifecycle() {
    let fx = Fixture::new(&["example.com"]).await;
    let lookup = fx
        .request(
            "GET",
            &format!(
                "/Users?filter={}&startIndex=1&count=100",
                encoded("userName eq \"test.user@example.com\"")
            ),
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
                "userName": "test.user@example.com",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": true, "value": "test.user@example.com", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [],
                "password": "1mz050nq",
                "active": true
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    assert!(created.body.get("password").is_none());
    // Okta updates with PUT of the whole user.
    let replaced = fx
        .request("PUT", &format!("/Users/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": id,
            "userName": "test.user@example.com",
            "name": {"givenName": "Another", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@example.com", "type": "work"}],
            "displayName": "Another User",
            "active": true,
            "groups": [],
            "meta": {"resourceType": "User", "created": "not-a-date", "lastModified": "2019-04-11 18:31"}
        })))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body["name"]["givenName"], "Another");
    assert_eq!(
        replaced.body["meta"]["created"], created.body["meta"]["created"],
        "read-only meta is ignored"
    );
    // Deactivate with a path-less replace.
    let deactivated = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]
            })),
        )
        .await;
    assert_eq!(deactivated.status, StatusCode::OK);
    assert_eq!(deactivated.body["active"], false);
    // Still visible, and findable by Okta's lookup.
    let lookup = fx
        .request(
            "GET",
            &format!(
                "/Users?filter={}",
                encoded("userName eq \"test.user@example.com\"")
            ),
            None,
        )
        .await;
    assert_eq!(lookup.body["Resources"][0]["active"], false);
    let reactivated = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": true}}]
            })),
        )
        .await;
    assert_eq!(reactivated.body["active"], true);
}

#[tokio::test]
async fn okta_group_push() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let cat = fx.create_user("cat@acme.com").await;
    let created = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Test SCIMv2",
                "members": [{"value": ann, "display": "ann@acme.com"}]
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    // Rename: Okta puts the group's `id` in the value.
    let renamed = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"id": id, "displayName": "Test SCIMv2 renamed"}}]
        })))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["displayName"], "Test SCIMv2 renamed");
    assert_eq!(renamed.body["id"], id.as_str());
    // Remove one member by filter and add another, in one request.
    let reply = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{ann}\"]")},
                {"op": "add", "path": "members", "value": [{"value": bob, "display": "bob@acme.com"}]}
            ]
        })))
        .await;
    let values = |body: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(values(&reply.body), vec![bob.clone()]);
    // Replace all members.
    let reply = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "members", "value": [{"value": ann}, {"value": cat}]}]
        })))
        .await;
    let mut expected = vec![ann.clone(), cat.clone()];
    expected.sort();
    assert_eq!(values(&reply.body), expected);
    // Adding an existing member and removing a non-member change nothing.
    let reply = fx
        .request(
            "PATCH",
            &format!("/Groups/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": ann}]},
                    {"op": "remove", "path": format!("members[value eq \"{bob}\"]")}
                ]
            })),
        )
        .await;
    assert_eq!(values(&reply.body), expected);
    assert_eq!(
        fx.request("DELETE", &format!("/Groups/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn no_patch_body_produces_a_server_error() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    let group = fx
        .request("POST", "/Groups", Some(json!({"displayName": "G"})))
        .await
        .id();
    let bodies = [
        json!(null),
        json!([]),
        json!({}),
        json!({"Operations": "x"}),
        json!({"Operations": [null]}),
        json!({"Operations": [{"op": "add", "path": "members", "value": "scim_user_x"}]}),
        json!({"Operations": [{"op": "replace", "path": "userName", "value": 5}]}),
        json!({"Operations": [{"op": "replace", "path": "emails", "value": []}]}),
        json!({"Operations": [{"op": "add", "path": "members[value eq \"x\"]", "value": [{"value": "y"}]}]}),
        json!({"Operations": [{"op": "replace", "value": {"members": [{"value": 1}]}}]}),
        json!({"Operations": [{"op": "remove", "path": "displayName"}]}),
    ];
    for body in bodies {
        for path in [format!("/Users/{id}"), format!("/Groups/{group}")] {
            let reply = fx.request("PATCH", &path, Some(body.clone())).await;
            assert!(
                reply.status.is_client_error() || reply.status.is_success(),
                "{path} {body}: {}",
                reply.status
            );
        }
    }
}

/// Okta's custom profile attributes: each has an "external namespace" and Okta sends it
/// nested under that URN (Okta's help article on custom SCIM attributes not being sent
/// shows `urn:ietf:params:scim:schemas:custom:Space`; integrators document
/// `urn:ietf:params:scim:schemas:extension:custom:2.0:User`). Stored, updated by PUT,
/// filterable.
#[tokio::test]
async fn okta_custom_attributes_under_an_extension_namespace() {
    let fx = Fixture::new(&[]).await;
    let extension = "urn:ietf:params:scim:schemas:extension:custom:2.0:User";
    let space = "urn:ietf:params:scim:schemas:custom:Space";
    let body = |cost_center: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", extension, space],
            "userName": "test.user@example.com",
            "emails": [{"primary": true, "value": "test.user@example.com", "type": "work"}],
            "active": true,
            extension: {"custom_attr_1": cost_center},
            space: {"custom1": "orbit"}
        })
    };
    let created = fx.request("POST", "/Users", Some(body("1001"))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body[extension]["custom_attr_1"], "1001");
    assert_eq!(created.body[space]["custom1"], "orbit");
    let id = created.id();
    let replaced = fx
        .request("PUT", &format!("/Users/{id}"), Some(body("2002")))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body[extension]["custom_attr_1"], "2002");
    for filter in [
        format!("{extension}:custom_attr_1 eq \"2002\""),
        format!("{space}:custom1 eq \"orbit\""),
    ] {
        let found = fx
            .request("GET", &format!("/Users?filter={}", encoded(&filter)), None)
            .await;
        assert_eq!(found.body["totalResults"], 1, "{filter}: {}", found.body);
    }
    // Okta's path-less PATCH naming the namespace object.
    let patched = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {space: {"custom1": "moon"}}}]
            })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body[space], json!({"custom1": "moon"}));
}

/// Okta Group Push re-pushes a whole group with a member replace; a pushed group of 1,000
/// members lands whole, and `excludedAttributes=members` answers without them.
#[tokio::test]
async fn okta_group_push_replaces_a_thousand_members() {
    let fx = Fixture::new(&[]).await;
    let mut users = Vec::new();
    for i in 0..1000 {
        users.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "All Staff", "members": []})),
        )
        .await
        .id();
    let members: Vec<serde_json::Value> = users
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"value": id, "display": format!("u{i}@acme.com")}))
        .collect();
    let reply = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "members", "value": members}]
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut got: Vec<String> = reply.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    users.sort();
    assert_eq!(got, users);
    // A second push with half of them leaves exactly that half.
    let half: Vec<serde_json::Value> = users
        .iter()
        .take(500)
        .map(|id| json!({"value": id}))
        .collect();
    let reply = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "members", "value": half}]
            })),
        )
        .await;
    assert_eq!(reply.body["members"].as_array().unwrap().len(), 500);
    let lookup = fx
        .request(
            "GET",
            &format!(
                "/Groups?excludedAttributes=members&filter={}",
                encoded("displayName eq \"All Staff\"")
            ),
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 1);
    assert!(lookup.body["Resources"][0].get("members").is_none());
}
