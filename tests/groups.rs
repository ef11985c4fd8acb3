//! Groups and memberships (RFC 7644 §3.3–3.6; DESIGN §4 "Groups").

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::model::ChangeKind;
use scimkit::store::DirectoryStore;
use serde_json::json;

fn member_ids(body: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn create_with_members_then_read_them_back() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let reply = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Sales",
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "members": [{"value": ann}, {"value": bob}]
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.id();
    assert!(id.starts_with("scim_group_"));
    assert_eq!(reply.body["displayName"], "Sales");
    assert_eq!(reply.body["meta"]["resourceType"], "Group");
    assert_eq!(member_ids(&reply.body), {
        let mut v = vec![ann.clone(), bob.clone()];
        v.sort();
        v
    });

    let got = fx.request("GET", &format!("/Groups/{id}"), None).await;
    assert_eq!(member_ids(&got.body).len(), 2);
    // The user's read-only `groups` attribute reflects the membership.
    let user = fx.request("GET", &format!("/Users/{ann}"), None).await;
    assert_eq!(user.body["groups"][0]["value"], id.as_str());
    assert_eq!(user.body["groups"][0]["display"], "Sales");
}

#[tokio::test]
async fn excluded_members_are_not_returned() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let id = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    let got = fx
        .request(
            "GET",
            &format!("/Groups/{id}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(got.body.get("members").is_none());
    let list = fx
        .request("GET", "/Groups?excludedAttributes=members", None)
        .await;
    assert_eq!(list.body["totalResults"], 1);
    assert!(list.body["Resources"][0].get("members").is_none());
}

#[tokio::test]
async fn members_must_be_users_of_the_same_directory() {
    let fx = Fixture::new(&[]).await;
    // A user of another directory in the same store.
    let other_org = fx
        .admin
        .create_organization(Some("globex".into()), vec![])
        .await
        .unwrap();
    let other_directory = fx
        .admin
        .create_directory(&other_org.id, true)
        .await
        .unwrap();
    let stranger = scimkit::model::UserId::from_uuid(uuid::Uuid::from_u128(999));
    fx.store
        .insert_user(
            scimkit::User::new(
                stranger.clone(),
                other_directory.id,
                json!({"userName": "zed@globex.com"}),
                scimkit::model::Meta::new(time::macros::datetime!(2026-01-01 0:00 UTC)),
            )
            .with_email(Some("zed@globex.com".into()))
            .with_state(scimkit::model::UserState::Active),
        )
        .await
        .unwrap();
    let stranger = stranger.to_string();
    for bad in [
        json!(stranger),
        json!("scim_user_00000000000000000000000099"),
        json!("nope"),
        json!(5),
    ] {
        let reply = fx
            .request(
                "POST",
                "/Groups",
                Some(json!({"displayName": "Sales", "members": [{"value": bad}]})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.scim_type(), Some("invalidValue"));
    }
    assert_eq!(
        fx.request("GET", "/Groups", None).await.body["totalResults"],
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn a_group_needs_a_display_name() {
    let fx = Fixture::new(&[]).await;
    let reply = fx
        .request("POST", "/Groups", Some(json!({"members": []})))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("invalidValue"));
}

#[tokio::test]
async fn put_replaces_attributes_and_the_whole_member_list() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let id = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    let reply = fx
        .request(
            "PUT",
            &format!("/Groups/{id}"),
            Some(json!({"displayName": "Sales EMEA", "members": [{"value": bob}]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&reply.body), vec![bob.clone()]);
    assert_eq!(reply.body["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn deleting_a_group_keeps_its_users() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let id = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    assert_eq!(
        fx.request("DELETE", &format!("/Groups/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fx.request("GET", &format!("/Groups/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let user = fx.request("GET", &format!("/Users/{ann}"), None).await;
    assert_eq!(user.status, StatusCode::OK);
    assert_eq!(user.body["active"], true);
    assert!(
        user.body.get("groups").is_none(),
        "a deleted group is not listed: {}",
        user.body
    );
    let group = fx
        .store
        .get_group(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(group.deleted, "kept for the vendor, marked deleted");
}

#[tokio::test]
async fn membership_changes_are_logged() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let bob = fx.create_user("bob@acme.com").await;
    let id = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    fx.request(
        "PUT",
        &format!("/Groups/{id}"),
        Some(json!({"displayName": "Sales", "members": [{"value": bob}]})),
    )
    .await;
    let changes = fx.store.list_changes(&fx.directory, 2, 100).await.unwrap();
    let summary: Vec<(ChangeKind, Option<String>)> = changes
        .iter()
        .map(|c| (c.kind, c.member_id.as_ref().map(|m| m.to_string())))
        .collect();
    assert_eq!(
        summary,
        vec![
            (ChangeKind::GroupCreated, None),
            (ChangeKind::GroupMemberAdded, Some(ann.clone())),
            // The PUT kept the document and changed the members: only they are logged.
            (ChangeKind::GroupMemberRemoved, Some(ann)),
            (ChangeKind::GroupMemberAdded, Some(bob)),
        ]
    );
}
