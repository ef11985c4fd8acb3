//! The SSOReady-shaped management API over HTTP semantics.

mod common;

use bytes::Bytes;
use common::Fixture;
use http::{Request, StatusCode};
use scimkit::{DirectorySync, ManagementService};
use serde_json::{Value, json};

struct Api {
    service: ManagementService,
    key: String,
}

impl Api {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_with(path, &self.key).await
    }

    async fn get_with(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .uri(format!("/api/v1{path}"))
            .header("authorization", format!("Bearer {key}"))
            .body(Bytes::new())
            .unwrap();
        let response = self.service.handle(request).await;
        let status = response.status();
        (status, serde_json::from_slice(response.body()).unwrap())
    }
}

async fn api(fx: &Fixture) -> Api {
    let key = fx.admin.issue_api_key(None).await.unwrap().secret;
    let sync = DirectorySync::new(fx.store.clone());
    Api {
        service: ManagementService::new(sync, fx.store.clone()),
        key,
    }
}

#[tokio::test]
async fn answers_ssoready_shapes() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    let api = api(&fx).await;

    let (status, users) = api.get("/scim/users?organizationExternalId=acme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        users,
        json!({"scimUsers": [{"id": ann, "scimDirectoryId": fx.directory, "email": "ann@acme.com", "deleted": false, "state": "active",
            "attributes": {"userName": "ann@acme.com", "active": true, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}, "fields": {}}],
            "nextPageToken": ""})
    );
    let (_, one) = api.get(&format!("/scim/users/{ann}")).await;
    assert_eq!(one["scimUser"]["email"], "ann@acme.com");
    let (_, groups) = api
        .get(&format!("/scim/groups?scimDirectoryId={}", fx.directory))
        .await;
    assert_eq!(groups["scimGroups"][0]["displayName"], "Sales");
    assert_eq!(groups["nextPageToken"], "");
    let (_, one) = api.get(&format!("/scim/groups/{group}")).await;
    assert_eq!(one["scimGroup"]["id"], group.as_str());
    let (_, members) = api
        .get(&format!(
            "/scim/users?organizationExternalId=acme&scimGroupId={group}"
        ))
        .await;
    assert_eq!(members["scimUsers"].as_array().unwrap().len(), 1);
    let (_, changes) = api
        .get("/scim/changes?organizationExternalId=acme&after=1&limit=2")
        .await;
    assert_eq!(
        changes["changes"][0],
        json!({"seq": 2, "kind": "group.created", "resourceId": group, "at": "2026-11-24T12:00:00Z",
            "group": {"id": group, "scimDirectoryId": fx.directory, "displayName": "Sales",
                "deleted": false, "attributes": {"displayName": "Sales"}}})
    );
    let joined = &changes["changes"][1];
    assert_eq!(joined["memberId"], ann.as_str());
    assert_eq!(
        (
            &joined["user"]["id"],
            &joined["user"]["email"],
            &joined["group"]["displayName"]
        ),
        (&json!(ann), &json!("ann@acme.com"), &json!("Sales")),
        "a membership change carries the member and the group, in the scimUser and scimGroup shapes"
    );
    assert_eq!(changes["nextCursor"], "3");
}

#[tokio::test]
async fn pages_with_tokens() {
    let fx = Fixture::new(&[]).await;
    for i in 0..5 {
        fx.create_user(&format!("u{i}@acme.com")).await;
    }
    let api = api(&fx).await;
    let mut token = String::new();
    let mut total = 0;
    loop {
        let (status, page) = api
            .get(&format!(
                "/scim/users?organizationExternalId=acme&pageSize=2&pageToken={token}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        total += page["scimUsers"].as_array().unwrap().len();
        token = page["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(total, 5);
}

#[tokio::test]
async fn every_error_is_json_with_the_right_status() {
    let fx = Fixture::new(&[]).await;
    let api = api(&fx).await;
    let cases = [
        ("/scim/users", StatusCode::BAD_REQUEST),
        (
            "/scim/users?organizationExternalId=acme&organizationId=org_x",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/scim/users?organizationExternalId=acme&pageToken=forged",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/scim/users?organizationExternalId=acme&pageSize=0",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/scim/users?organizationExternalId=acme&pageSize=x",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/scim/users?organizationExternalId=nope",
            StatusCode::NOT_FOUND,
        ),
        (
            "/scim/users?scimDirectoryId=scim_directory_00000000000000000000000009",
            StatusCode::NOT_FOUND,
        ),
        (
            "/scim/users/scim_user_00000000000000000000000009",
            StatusCode::NOT_FOUND,
        ),
        ("/scim/groups/nope", StatusCode::NOT_FOUND),
        ("/scim/widgets", StatusCode::NOT_FOUND),
    ];
    for (path, status) in cases {
        let (got, body) = api.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
    }
    // SCIM bearer tokens are not API keys; bad keys all look the same.
    let (a, body_a) = api
        .get_with("/scim/users?organizationExternalId=acme", &fx.token)
        .await;
    let (b, body_b) = api
        .get_with("/scim/users?organizationExternalId=acme", "nope")
        .await;
    assert_eq!((a, b), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(body_a, body_b);
}

#[tokio::test]
async fn organization_keys_see_only_their_organization() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let globex = fx
        .admin
        .create_organization(Some("globex".into()), vec![])
        .await
        .unwrap();
    fx.admin.create_directory(&globex.id, true).await.unwrap();
    let key = fx
        .admin
        .issue_api_key(Some(&globex.id))
        .await
        .unwrap()
        .secret;
    let api = api(&fx).await;
    let (status, _) = api
        .get_with("/scim/users?organizationExternalId=globex", &key)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .get_with("/scim/users?organizationExternalId=acme", &key)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.get_with(&format!("/scim/users/{ann}"), &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn more_errors_each_with_a_message() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let api = api(&fx).await;
    let directory = fx.directory.to_string();
    let cases = [
        (
            "/scim/changes?organizationExternalId=acme&after=x",
            400,
            "`after`",
        ),
        (
            "/scim/changes?organizationExternalId=acme&limit=0",
            400,
            "`limit`",
        ),
        (
            "/scim/changes?organizationExternalId=acme&limit=1001",
            400,
            "`limit`",
        ),
        (
            "/scim/groups?organizationExternalId=acme&pageSize=5000",
            400,
            "`pageSize`",
        ),
        ("/scim/groups", 400, "scimDirectoryId"),
        (
            "/scim/users?organizationExternalId=acme&scimGroupId=scim_group_00000000000000000000000009",
            404,
            "not found",
        ),
        ("/scim/changes?organizationId=nope", 404, "organization"),
        // A selector narrows a by-id lookup; the user is not in that directory's org.
        (
            "/scim/users/ANN?organizationExternalId=nope",
            404,
            "organization",
        ),
    ];
    for (path, status, mentions) in cases {
        let path = path.replace("ANN", &ann);
        let (got, body) = api.get(&path).await;
        assert_eq!(got.as_u16(), status, "{path}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(mentions), "{path}: {message}");
    }
    // With a selector that holds it, the by-id lookup finds the user.
    let (status, body) = api
        .get(&format!("/scim/users/{ann}?scimDirectoryId={directory}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scimUser"]["id"], ann.as_str());

    // Missing header and non-GET methods.
    let request = Request::builder()
        .uri("/api/v1/scim/users?organizationExternalId=acme")
        .body(Bytes::new())
        .unwrap();
    let response = api.service.handle(request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let request = Request::builder()
        .method("DELETE")
        .uri(format!("/api/v1/scim/users/{ann}"))
        .header("authorization", format!("Bearer {}", api.key))
        .body(Bytes::new())
        .unwrap();
    let response = api.service.handle(request).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET");
    // Nothing was deleted.
    let (_, body) = api.get(&format!("/scim/users/{ann}")).await;
    assert_eq!(body["scimUser"]["deleted"], false);
}

#[tokio::test]
async fn a_page_token_of_one_directory_is_refused_for_another() {
    let fx = Fixture::new(&[]).await;
    for i in 0..3 {
        fx.create_user(&format!("u{i}@acme.com")).await;
    }
    let globex = fx
        .admin
        .create_organization(Some("globex".into()), vec![])
        .await
        .unwrap();
    fx.admin.create_directory(&globex.id, true).await.unwrap();
    let api = api(&fx).await;
    let (_, page) = api
        .get("/scim/users?organizationExternalId=acme&pageSize=1")
        .await;
    let token = page["nextPageToken"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    let (status, body) = api
        .get(&format!(
            "/scim/users?organizationExternalId=globex&pageToken={token}"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = api
        .get(&format!(
            "/scim/groups?organizationExternalId=acme&pageToken={token}"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn organization_keys_cannot_tell_other_organizations_apart_from_missing_ones() {
    let fx = Fixture::new(&[]).await;
    let globex = fx
        .admin
        .create_organization(Some("globex".into()), vec![])
        .await
        .unwrap();
    fx.admin.create_directory(&globex.id, true).await.unwrap();
    // Initech exists but has no primary directory: an outsider must not learn that.
    fx.admin
        .create_organization(Some("initech".into()), vec![])
        .await
        .unwrap();
    let key = fx
        .admin
        .issue_api_key(Some(&globex.id))
        .await
        .unwrap()
        .secret;
    let api = api(&fx).await;
    let (missing_status, missing) = api
        .get_with("/scim/users?organizationExternalId=nope", &key)
        .await;
    for other in ["acme", "initech"] {
        let (status, body) = api
            .get_with(&format!("/scim/users?organizationExternalId={other}"), &key)
            .await;
        assert_eq!((status, &body), (missing_status, &missing), "{other}");
    }
    let (status, _) = api
        .get_with(
            &format!("/scim/changes?scimDirectoryId={}", fx.directory),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .get_with("/scim/changes?organizationExternalId=globex", &key)
        .await;
    assert_eq!(status, StatusCode::OK);
}

impl Api {
    async fn send(&self, method: &str, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        let response = self.service.handle(request).await;
        let status = response.status();
        (status, serde_json::from_slice(response.body()).unwrap())
    }
}

#[tokio::test]
async fn a_directory_is_read_configured_disabled_and_deleted_over_the_api() {
    let fx = Fixture::new(&[]).await;
    let api = api(&fx).await;
    let path = format!("/scim/directories/{}", fx.directory);
    let (status, got) = api.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["scimDirectory"]["id"], fx.directory.to_string());
    assert_eq!(got["scimDirectory"]["state"], "active");

    let body = json!({
        "name": "Acme's Okta",
        "idp": "okta",
        "roleMapping": {
            "rules": [{"groupDisplayName": "Engineering", "role": "developer"}],
            "defaultRole": "viewer"
        }
    });
    let (status, got) = api.send("PATCH", &path, &api.key, body).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let directory = &got["scimDirectory"];
    assert_eq!(directory["name"], "Acme's Okta");
    assert_eq!(directory["idp"], "okta");
    assert_eq!(
        directory["roleMapping"],
        json!({"rules": [{"groupDisplayName": "Engineering", "role": "developer"}], "defaultRole": "viewer"})
    );

    // Users with their roles, and the roles change in the feed.
    let ann = fx.create_user("ann@acme.com").await;
    fx.request(
        "POST",
        "/Groups",
        Some(json!({"displayName": "engineering", "members": [{"value": ann}]})),
    )
    .await;
    let (_, users) = api
        .get(&format!(
            "/scim/users?scimDirectoryId={}&includeRoles=true",
            fx.directory
        ))
        .await;
    assert_eq!(users["scimUsers"][0]["roles"], json!(["developer"]));
    let (_, plain) = api
        .get(&format!("/scim/users?scimDirectoryId={}", fx.directory))
        .await;
    assert!(plain["scimUsers"][0].get("roles").is_none());
    let (_, changes) = api
        .get(&format!("/scim/changes?scimDirectoryId={}", fx.directory))
        .await;
    let roles: Vec<&Value> = changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "user.roles_changed")
        .collect();
    assert_eq!(roles.len(), 2, "{changes}");
    assert_eq!(roles[0]["resourceId"], ann.as_str());
    assert_eq!(
        roles[0]["roles"],
        json!({"before": [], "after": ["viewer"]})
    );
    assert_eq!(
        roles[1]["roles"],
        json!({"before": ["viewer"], "after": ["developer"]})
    );

    // A bad body changes nothing.
    for bad in [
        json!({"state": "deleted"}),
        json!({"idp": "myspace"}),
        json!({"roleMapping": {"rules": [{"role": "x"}]}}),
        json!({"roleMapping": {"rules": [{"groupId": "nope", "role": "x"}]}}),
        json!({"colour": "red"}),
        json!({"name": "ok", "roleMapping": {"rules": [{"groupDisplayName": "a", "groupExternalId": "b", "role": "x"}]}}),
        json!([1]),
    ] {
        let (status, got) = api.send("PATCH", &path, &api.key, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {got}");
        assert!(got["message"].is_string());
    }
    let (_, got) = api.get(&path).await;
    assert_eq!(got["scimDirectory"]["name"], "Acme's Okta", "unchanged");

    let (status, got) = api
        .send("PATCH", &path, &api.key, json!({"state": "disabled"}))
        .await;
    assert_eq!(
        (status, &got["scimDirectory"]["state"]),
        (StatusCode::OK, &json!("disabled"))
    );
    assert_eq!(
        fx.request("GET", "/Users", None).await.status,
        StatusCode::FORBIDDEN
    );
    api.send("PATCH", &path, &api.key, json!({"state": "active"}))
        .await;
    assert_eq!(
        fx.request("GET", "/Users", None).await.status,
        StatusCode::OK
    );

    // Another organization's key sees no such directory.
    let other = fx.admin.create_organization(None, vec![]).await.unwrap();
    let other_key = fx
        .admin
        .issue_api_key(Some(&other.id))
        .await
        .unwrap()
        .secret;
    let (status, _) = api.get_with(&path, &other_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.send("DELETE", &path, &other_key, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, got) = api.send("DELETE", &path, &api.key, json!({})).await;
    assert_eq!(
        (status, &got["scimDirectory"]["state"]),
        (StatusCode::OK, &json!("deleted"))
    );
    assert_eq!(
        fx.request("GET", "/Users", None).await.status,
        StatusCode::UNAUTHORIZED,
        "its tokens are gone"
    );
    let (status, _) = api
        .send("PATCH", &path, &api.key, json!({"state": "active"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleting is final");
    let (status, _) = api.send("POST", &path, &api.key, json!({})).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// A group's member groups at `.../scim/groups?scimGroupId=`, and a member group joining
/// as `memberGroupId` in the feed.
#[tokio::test]
async fn lists_member_groups_and_names_them_in_changes() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let backend = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Backend", "members": [{"value": ann}]})),
        )
        .await
        .id();
    let engineering = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Engineering",
                "members": [{"value": backend, "type": "Group"}]})),
        )
        .await
        .id();
    let api = api(&fx).await;

    let (status, nested) = api
        .get(&format!(
            "/scim/groups?organizationExternalId=acme&scimGroupId={engineering}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{nested}");
    let ids: Vec<&str> = nested["scimGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [backend.as_str()]);
    let (_, leaves) = api
        .get(&format!(
            "/scim/groups?organizationExternalId=acme&scimGroupId={backend}"
        ))
        .await;
    assert_eq!(leaves["scimGroups"], json!([]), "Backend nests no group");

    let (_, feed) = api
        .get("/scim/changes?organizationExternalId=acme&after=0&limit=100")
        .await;
    let joined: Vec<&Value> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "group.member_added" && c["resourceId"] == engineering.as_str())
        .collect();
    assert_eq!(joined.len(), 1, "{feed}");
    assert_eq!(joined[0]["memberGroupId"], backend.as_str());
    assert!(joined[0].get("memberId").is_none(), "no user joined");
}
