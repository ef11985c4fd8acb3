//! Microsoft Entra ID's provisioning sequence, as its "Tutorial: Develop and plan
//! provisioning for a SCIM endpoint in Microsoft Entra ID" shows the requests.

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::store::DirectoryStore;
use serde_json::json;

fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

#[tokio::test]
async fn entra_user_lifecycle() {
    let fx = Fixture::new(&["testuser.com"]).await;
    // 1. Entra looks the user up before creating it.
    let lookup = fx
        .request(
            "GET",
            &format!(
                "/Users?filter={}",
                encoded("userName eq \"Test_User_dfeef4c5-5681-4387-b016-bdf221e82081\"")
            ),
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
    // 2. Create (the tutorial's request, with an email in the organization's domain).
    let created = fx
        .request("POST", "/Users", Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": []
        })))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    // 3. Update with capitalised ops and a filtered path (tutorial "Update User [Multi-valued properties]").
    let patched = fx
        .request("PATCH", &format!("/Users/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@testuser.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ]
        })))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["emails"][0]["value"],
        "updatedEmail@testuser.com"
    );
    assert_eq!(patched.body["name"]["familyName"], "updatedFamilyName");
    // 4. Update a single-valued property, then add the enterprise manager.
    let patched = fx
        .request("PATCH", &format!("/Users/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "f2e5fe5a-1c7d-4a4b-9a2b-6b1dd1b3d4e5"}
            ]
        })))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    assert_eq!(
        patched.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        json!({"value": "f2e5fe5a-1c7d-4a4b-9a2b-6b1dd1b3d4e5"})
    );
    // 5. Disable (Entra sends the boolean as the string "False").
    let disabled = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
            })),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(disabled.body["active"], false);
    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted(), "deactivation deprovisions");
    // 6. Enable again.
    let enabled = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "True"}]
            })),
        )
        .await;
    assert_eq!(enabled.body["active"], true);
    // 7. Delete; a second delete and a get are 404.
    assert_eq!(
        fx.request("DELETE", &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fx.request("GET", &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn entra_group_lifecycle() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let created = fx
        .request("POST", "/Groups", Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"}
        })))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["members"], json!([]));
    let id = created.id();
    let lookup = fx
        .request(
            "GET",
            &format!(
                "/Groups?excludedAttributes=members&filter={}",
                encoded("displayName eq \"displayName\"")
            ),
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 1);
    // Add members (tutorial "Update Group [Add Members]").
    let reply = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": ann}, {"$ref": null, "value": bob}]}]
        })))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["members"].as_array().unwrap().len(), 2);
    // Remove members (tutorial "Update Group [Remove Members]"): path members + value list.
    let reply = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": ann}]}]
        })))
        .await;
    assert_eq!(
        reply.body["members"],
        json!([{"value": bob, "$ref": format!("https://scim.example.com{}/Users/{bob}", fx.base), "type": "User"}])
    );
    // Rename (tutorial "Update Group [Non-member attributes]").
    let reply = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]
        })))
        .await;
    assert_eq!(
        reply.body["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    assert_eq!(
        reply.body["members"].as_array().unwrap().len(),
        1,
        "renaming keeps members"
    );
    // A member that is not a user of this directory is refused and nothing changes.
    let reply = fx
        .request("PATCH", &format!("/Groups/{id}"), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "x"},
                {"op": "Add", "path": "members", "value": [{"value": "scim_user_00000000000000000000000077"}]}
            ]
        })))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("invalidValue"));
    let got = fx.request("GET", &format!("/Groups/{id}"), None).await;
    assert_eq!(
        got.body["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    assert_eq!(
        fx.request("DELETE", &format!("/Groups/{id}"), None)
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

#[tokio::test]
async fn parallel_member_patches_never_lose_a_member() {
    let fx = std::sync::Arc::new(Fixture::new(&[]).await);
    let group = fx
        .request("POST", "/Groups", Some(json!({"displayName": "Everyone"})))
        .await
        .id();
    let mut users = Vec::new();
    for i in 0..64 {
        users.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    let mut tasks = Vec::new();
    for user in users.clone() {
        let fx = fx.clone();
        let group = group.clone();
        tasks.push(tokio::spawn(async move {
            fx.request(
                "PATCH",
                &format!("/Groups/{group}"),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Add", "path": "members", "value": [{"value": user}]}]
                })),
            )
            .await
            .status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let got = fx.request("GET", &format!("/Groups/{group}"), None).await;
    let mut members: Vec<String> = got.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    users.sort();
    assert_eq!(members, users);
    let changes = fx.store.list_changes(&fx.directory, 0, 1000).await.unwrap();
    let added = changes
        .iter()
        .filter(|c| c.kind == scimkit::model::ChangeKind::GroupMemberAdded)
        .count();
    assert_eq!(added, 64);
}

#[tokio::test]
async fn patch_honours_if_match_and_can_answer_204() {
    let fx = Fixture::with(&[], |b| b.patch_returns_content(false)).await;
    let id = fx.create_user("ann@acme.com").await;
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "CTO"}]});
    let stale = fx
        .request_with(
            "PATCH",
            &format!("/Users/{id}"),
            Some(body.clone()),
            &[("if-match", "W/\"9\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let ok = fx
        .request_with(
            "PATCH",
            &format!("/Users/{id}"),
            Some(body),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(ok.headers["etag"], "W/\"2\"");
    assert_eq!(
        fx.request("GET", &format!("/Users/{id}"), None).await.body["title"],
        "CTO"
    );
}

const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// Entra's "Provisioning a custom extension attribute to a SCIM compliant application"
/// (customize-application-attributes): attributes under an extension URN the service
/// provider never declared, set by PATCH and by POST, stored and filterable.
#[tokio::test]
async fn entra_custom_extension_attributes_round_trip_and_filter() {
    let fx = Fixture::new(&[]).await;
    // POST with the attribute flattened to its full name, as the mapping's target names it.
    let created = fx
        .request(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ann@acme.com",
                format!("{CUSTOM}:tag"): "blue",
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body[CUSTOM]["tag"], "blue");
    assert!(
        created.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(CUSTOM)),
        "{}",
        created.body
    );
    let ann = created.id();
    let bob = fx.create_user("bob@acme.com").await;
    // PATCH with the attribute's full path, capitalised op (the shape Entra sends).
    let patched = fx
        .request(
            "PATCH",
            &format!("/Users/{bob}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Add", "path": format!("{CUSTOM}:tag"), "value": "green"},
                    {"op": "Add", "path": format!("{CUSTOM}:costCenter"), "value": "42"}
                ]
            })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body[CUSTOM],
        json!({"tag": "green", "costCenter": "42"})
    );
    // A path-less replace naming the attribute by its full name also lands.
    let patched = fx
        .request(
            "PATCH",
            &format!("/Users/{ann}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "value": {format!("{CUSTOM}:tag"): "red"}}]
            })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body[CUSTOM]["tag"], "red");
    // Beside it, a qualified enterprise attribute with an object value stays an attribute
    // of the enterprise extension, and the custom extension's object form merges.
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let patched = fx
        .request(
            "PATCH",
            &format!("/Users/{ann}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "value": {
                    format!("{enterprise}:manager"): {"value": bob},
                    CUSTOM: {"costCenter": "7"}
                }}]
            })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body[enterprise]["manager"]["value"], bob.as_str());
    assert_eq!(
        patched.body[CUSTOM],
        json!({"tag": "red", "costCenter": "7"})
    );
    // Filterable by the fully qualified name, case-insensitively like any string.
    let found = fx
        .request(
            "GET",
            &format!(
                "/Users?filter={}",
                encoded(&format!("{CUSTOM}:tag eq \"GREEN\""))
            ),
            None,
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], bob.as_str());
    // Projection by the qualified name keeps just that attribute.
    let projected = fx
        .request(
            "GET",
            &format!("/Users/{bob}?attributes={CUSTOM}:tag"),
            None,
        )
        .await;
    assert_eq!(
        projected.body[CUSTOM],
        json!({"tag": "green"}),
        "{}",
        projected.body
    );
    assert!(projected.body.get("userName").is_none());
    let excluded = fx
        .request(
            "GET",
            &format!("/Users/{bob}?excludedAttributes={CUSTOM}"),
            None,
        )
        .await;
    assert!(excluded.body.get(CUSTOM).is_none(), "{}", excluded.body);
    // Removing the attribute, then the whole extension object.
    let removed = fx
        .request(
            "PATCH",
            &format!("/Users/{bob}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Remove", "path": format!("{CUSTOM}:tag")}]
            })),
        )
        .await;
    assert_eq!(removed.body[CUSTOM], json!({"costCenter": "42"}));
    let removed = fx
        .request(
            "PATCH",
            &format!("/Users/{bob}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Remove", "path": CUSTOM}]
            })),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert!(removed.body.get(CUSTOM).is_none(), "{}", removed.body);
    // A core or message URN is still not an extension.
    let refused = fx
        .request(
            "PATCH",
            &format!("/Users/{bob}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "x"}]
            })),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.scim_type(), Some("invalidPath"));
}

/// Entra's "Known issues ... SCIM 2.0 protocol compliance": booleans as strings, here inside
/// a multi-valued element, where a string `primary` used to add a second copy.
#[tokio::test]
async fn entra_string_booleans_inside_patch_values_never_duplicate_an_element() {
    let fx = Fixture::new(&[]).await;
    let created = fx
        .request(
            "POST",
            "/Users",
            Some(json!({
                "userName": "ann@acme.com",
                "emails": [{"value": "ann@acme.com", "type": "work", "primary": true}]
            })),
        )
        .await;
    let id = created.id();
    let patched = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Add", "path": "emails", "value": [{"value": "ann@acme.com", "type": "work", "primary": "True"}]},
                    {"op": "Add", "path": "emails", "value": [{"value": "ann@home.org", "type": "home", "primary": "False"}]},
                    {"op": "Replace", "value": {"active": "False", "phoneNumbers": [{"value": "555", "primary": "true"}]}}
                ]
            })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["emails"],
        json!([
            {"value": "ann@acme.com", "type": "work", "primary": true},
            {"value": "ann@home.org", "type": "home", "primary": false}
        ])
    );
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["phoneNumbers"][0]["primary"], true);
    // A filtered path to a boolean sub-attribute.
    let patched = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]
            })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["emails"],
        json!([
            {"value": "ann@acme.com", "type": "work", "primary": false},
            {"value": "ann@home.org", "type": "home", "primary": true}
        ])
    );
}

/// The resource's own `id` in a PATCH is accepted; a foreign one is ignored in a path-less
/// value and refused with an explicit `path: "id"`.
#[tokio::test]
async fn entra_and_okta_patches_carrying_an_id() {
    let fx = Fixture::new(&[]).await;
    let id = fx.create_user("ann@acme.com").await;
    let other = fx.create_user("bob@acme.com").await;
    let own = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Replace", "path": "id", "value": id},
                    {"op": "Replace", "value": {"id": id, "title": "CTO"}}
                ]
            })),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["title"], "CTO");
    let foreign_in_value = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "value": {"id": other, "title": "CEO"}}]
            })),
        )
        .await;
    assert_eq!(foreign_in_value.status, StatusCode::OK);
    assert_eq!(foreign_in_value.body["id"], id.as_str());
    assert_eq!(foreign_in_value.body["title"], "CEO");
    let foreign_path = fx
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Replace", "path": "title", "value": "Intern"},
                    {"op": "Replace", "path": "id", "value": other}
                ]
            })),
        )
        .await;
    assert_eq!(foreign_path.status, StatusCode::BAD_REQUEST);
    assert_eq!(foreign_path.scim_type(), Some("mutability"));
    let got = fx.request("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(got.body["title"], "CEO", "a refused PATCH changes nothing");
}

/// Entra retries a removal it believes failed; the retry finds nothing to remove and
/// must succeed without a change (scimkit's documented choice: a no-op 200).
#[tokio::test]
async fn entra_retried_removals_through_a_filter_that_matches_nothing_succeed() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": bob}]})),
        )
        .await
        .id();
    let before = fx.store.list_changes(&fx.directory, 0, 1000).await.unwrap();
    for _ in 0..2 {
        let reply = fx
            .request(
                "PATCH",
                &format!("/Groups/{group}"),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Remove", "path": format!("members[value eq \"{ann}\"]")}]
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["members"][0]["value"], bob.as_str());
    }
    for path in [
        "emails[type eq \"home\"]",
        "emails[type eq \"home\"].value",
        "phoneNumbers[type eq \"mobile\"]",
    ] {
        let reply = fx
            .request(
                "PATCH",
                &format!("/Users/{ann}"),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Remove", "path": path}]
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let after = fx.store.list_changes(&fx.directory, 0, 1000).await.unwrap();
    assert_eq!(
        after
            .iter()
            .filter(|c| c.kind == scimkit::model::ChangeKind::GroupMemberRemoved)
            .count(),
        before
            .iter()
            .filter(|c| c.kind == scimkit::model::ChangeKind::GroupMemberRemoved)
            .count(),
        "nothing was removed"
    );
}

/// Entra's matching lookup on a value path's sub-attribute (its tutorial: attributes used
/// for matching must be filterable), and a primary email with an empty value beside a
/// valid one, seen from real tenants.
#[tokio::test]
async fn entra_matches_on_work_email_and_tolerates_an_empty_primary_email() {
    let fx = Fixture::new(&["acme.com"]).await;
    let created = fx
        .request(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ann",
                "emails": [
                    {"primary": true, "type": "work", "value": ""},
                    {"type": "other", "value": "Ann@acme.com"}
                ]
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let stored = fx
        .store
        .get_user(&fx.directory, &created.id().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.email.as_deref(), Some("Ann@acme.com"));
    fx.request(
        "POST",
        "/Users",
        Some(json!({
            "userName": "bob@acme.com",
            "emails": [{"primary": true, "type": "work", "value": "bob@acme.com"}]
        })),
    )
    .await;
    let lookup = |filter: &'static str| {
        let fx = &fx;
        async move {
            fx.request("GET", &format!("/Users?filter={}", encoded(filter)), None)
                .await
        }
    };
    let found = lookup("emails[type eq \"work\"].value eq \"BOB@acme.com\"").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["userName"], "bob@acme.com");
    let found = lookup("emails[type eq \"work\"].value eq \"ann@acme.com\"").await;
    assert_eq!(
        found.body["totalResults"], 0,
        "ann's address is not her work email"
    );
    let found = lookup("emails[type eq \"other\"].value eq \"ann@acme.com\"").await;
    assert_eq!(found.body["totalResults"], 1);
}

/// Entra checks one membership with a filter on the group, `id eq` and `members eq`,
/// excluding members from the answer (its tutorial, "Get Group by ID with members filter").
#[tokio::test]
async fn entra_members_filter_on_groups() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": ann}]})),
        )
        .await
        .id();
    let check = |user: String| {
        let fx = &fx;
        let group = group.clone();
        async move {
            fx.request(
                "GET",
                &format!(
                    "/Groups?excludedAttributes=members&filter={}",
                    encoded(&format!("id eq \"{group}\" and members eq \"{user}\""))
                ),
                None,
            )
            .await
        }
    };
    let member = check(ann.clone()).await;
    assert_eq!(member.status, StatusCode::OK, "{}", member.body);
    assert_eq!(member.body["totalResults"], 1, "{}", member.body);
    assert_eq!(member.body["Resources"][0]["id"], group.as_str());
    assert!(
        member.body["Resources"][0].get("members").is_none(),
        "members are excluded: {}",
        member.body
    );
    let not_member = check(bob).await;
    assert_eq!(not_member.body["totalResults"], 0, "{}", not_member.body);
}
