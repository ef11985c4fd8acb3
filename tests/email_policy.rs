//! The email policy: required by default (a user without an email is refused), optional by
//! builder option (RFC-minimal clients accepted, the Sync API says the email is absent),
//! and `/Schemas` tells schema-reading clients which mode is on.

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::service::EmailPolicy;
use scimkit::sync::{DirectorySelector, DirectorySync};
use serde_json::{Value, json};

/// RFC 7643 §8.1's minimal user, with an `externalId`: nothing that is an email.
fn dschrute() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "dschrute",
        "externalId": "dschrute-7f3a"
    })
}

async fn emails_attribute(fx: &Fixture) -> Value {
    let schema = fx
        .request(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await;
    assert_eq!(schema.status, StatusCode::OK);
    let list = fx.request("GET", "/Schemas", None).await;
    let from_list = list.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "urn:ietf:params:scim:schemas:core:2.0:User")
        .unwrap()
        .clone();
    assert_eq!(from_list, schema.body, "the list and the item agree");
    schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "emails")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn by_default_a_user_without_an_email_is_refused_and_the_schema_says_so() {
    let fx = Fixture::new(&[]).await;
    let refused = fx.request("POST", "/Users", Some(dschrute())).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.scim_type(), Some("invalidValue"));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("no email"),
        "{}",
        refused.body
    );
    let emails = emails_attribute(&fx).await;
    assert_eq!(emails["required"], true);
    assert_eq!(emails["subAttributes"][0]["required"], true);
}

#[tokio::test]
async fn optional_mode_accepts_users_without_email_and_the_sync_api_says_it_is_absent() {
    let fx = Fixture::with(&["acme.com"], |b| b.email_policy(EmailPolicy::Optional)).await;
    let created = fx.request("POST", "/Users", Some(dschrute())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let with_email = fx.create_user("ann@acme.com").await;
    // An email that is present is still held to the organization's domains.
    let outside = fx
        .request(
            "POST",
            "/Users",
            Some(json!({"userName": "eve", "emails": [{"value": "eve@evil.com"}]})),
        )
        .await;
    assert_eq!(outside.status, StatusCode::BAD_REQUEST);
    assert!(
        outside.body["detail"]
            .as_str()
            .unwrap()
            .contains("evil.com")
    );
    // Removing the email of a user keeps it, now without one.
    let patched = fx
        .request(
            "PATCH",
            &format!("/Users/{with_email}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "userName", "value": "ann"}]
            })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let sync = DirectorySync::new(fx.store.clone());
    let selector = DirectorySelector::Directory(fx.directory.clone());
    let dwight = sync
        .get_user(&selector, &created.id().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(dwight.email, None);
    assert_eq!(dwight.attributes["externalId"], "dschrute-7f3a");
    let ann = sync
        .get_user(&selector, &with_email.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(ann.email, None);
    let emails = emails_attribute(&fx).await;
    assert_eq!(emails["required"], false);
    assert_eq!(emails["subAttributes"][0]["required"], false);
}
