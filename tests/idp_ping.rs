//! Ping Identity's outbound SCIM 2.0 provisioning.
//!
//! - PingFederate's "SCIM Provisioner" (user and group management, settings reference):
//!   users are matched by `userName` (often a directory login such as `jsmith`, not an
//!   address), updated with PUT (no PATCH for users), removed per "Remove User Action"
//!   (Disable, the default: `active: false`; or Delete); groups are found by reading every
//!   group page by page, and their members changed with PATCH.
//! - PingOne's SCIM propagation store: a configurable user filter (`userName eq "%s"`),
//!   and group membership handling "Merge" (add) or "Overwrite" (replace).
//!
//! PingFederate set to SCIM 1.1 gets the 400 of `tests/idp_onelogin.rs`.

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

fn ping_user(login: &str, title: &str, active: bool) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": login,
        "name": {"givenName": "Janet", "familyName": "Smith"},
        "emails": [{"value": format!("{login}@acme.com"), "type": "work", "primary": true}],
        "title": title,
        "active": active
    })
}

#[tokio::test]
async fn pingfederate_scim_provisioner_users_by_put_and_groups_found_by_paging() {
    let fx = Fixture::new(&["acme.com"]).await;
    let lookup = fx
        .request(
            "GET",
            &format!("/Users?filter={}", encoded("userName eq \"jsmith\"")),
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
    let created = fx
        .request(
            "POST",
            "/Users",
            Some(ping_user("jsmith", "Engineer", true)),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let updated = fx
        .request(
            "PUT",
            &format!("/Users/{id}"),
            Some(ping_user("jsmith", "Lead", true)),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["title"], "Lead");
    // Groups: several exist; Ping reads them all, page by page, to find its own.
    for name in ["Alpha", "Beta", "Gamma"] {
        let reply = fx
            .request("POST", "/Groups", Some(json!({"displayName": name})))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = fx
            .request("GET", &format!("/Groups?startIndex={start}&count=2"), None)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body["Resources"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        assert_eq!(page.body["totalResults"], 3);
        seen.extend(items);
        start += 2;
    }
    let beta = seen
        .iter()
        .find(|g| g["displayName"] == "Beta")
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .unwrap();
    assert_eq!(seen.len(), 3);
    let joined = fx
        .request(
            "PATCH",
            &format!("/Groups/{beta}"),
            Some(patch_op(
                json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            )),
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    assert_eq!(joined.body["members"][0]["value"], id.as_str());
    // Remove User Action "Disable": a PUT with `active: false`.
    let disabled = fx
        .request(
            "PUT",
            &format!("/Users/{id}"),
            Some(ping_user("jsmith", "Lead", false)),
        )
        .await;
    assert_eq!(disabled.body["active"], false);
    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted());
    assert_eq!(stored.email.as_deref(), Some("jsmith@acme.com"));
    // Re-enabled by the next update.
    let enabled = fx
        .request(
            "PUT",
            &format!("/Users/{id}"),
            Some(ping_user("jsmith", "Lead", true)),
        )
        .await;
    assert_eq!(enabled.body["active"], true);
}

#[tokio::test]
async fn pingone_group_membership_merge_and_overwrite() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let cat = fx.create_user("cat@acme.com").await;
    let group = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    let members = |body: &Value| -> Vec<String> {
        let mut v: Vec<String> = body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    // "Merge": members are added, the rest stay.
    let merged = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch_op(
                json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
            )),
        )
        .await;
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(members(&merged.body), expected);
    // "Overwrite": the listed members become the whole membership.
    let overwritten = fx
        .request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "members", "value": [{"value": cat}]}]),
            )),
        )
        .await;
    assert_eq!(members(&overwritten.body), vec![cat.clone()]);
    // Remove User Action "Delete".
    assert_eq!(
        fx.request("DELETE", &format!("/Users/{cat}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let group_now = fx.request("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(
        group_now.status,
        StatusCode::OK,
        "deleting a user keeps its groups"
    );
}
