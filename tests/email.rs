//! Emails that look the same are the same (issue #11 item 13): surrounding spaces,
//! invisible characters and Unicode forms that differ only in normalisation cannot give
//! two users the same-looking address.

mod common;

use common::Fixture;
use http::StatusCode;
use scimkit::store::DirectoryStore;
use serde_json::json;

async fn create(fx: &Fixture, body: serde_json::Value) -> common::Reply {
    fx.request("POST", "/Users", Some(body)).await
}

#[tokio::test]
async fn a_user_name_with_invisible_characters_is_refused() {
    let fx = Fixture::new(&["acme.com"]).await;
    for sneaky in [
        "ann\u{200B}@acme.com",
        "\u{FEFF}ann@acme.com",
        "ann@acme\u{202E}.com",
        "ann\u{00AD}@acme.com",
        "an n@acme.com",
    ] {
        let reply = create(&fx, json!({"userName": sneaky})).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{sneaky:?}: {}",
            reply.body
        );
        assert_eq!(reply.scim_type(), Some("invalidValue"));
        assert!(
            reply.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("U+")),
            "{}",
            reply.body
        );
    }
    let listed = fx.request("GET", "/Users", None).await;
    assert_eq!(listed.body["totalResults"], 0);
}

#[tokio::test]
async fn only_one_of_two_same_looking_user_names_gets_in() {
    let fx = Fixture::new(&[]).await;
    fx.create_user("jos\u{E9}@acme.com").await;
    // Surrounding spaces or the decomposed form: refused, naming the form to send, which
    // is then the same userName as the first user's.
    for variant in [
        " jos\u{E9}@acme.com",
        "jos\u{E9}@acme.com ",
        "jose\u{301}@acme.com",
    ] {
        let reply = create(&fx, json!({"userName": variant})).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{variant:?}: {}",
            reply.body
        );
        assert!(
            reply.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("send `jos\u{E9}@acme.com`")),
            "{}",
            reply.body
        );
    }
    let again = create(&fx, json!({"userName": "jos\u{E9}@acme.com"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_email_from_emails_is_trimmed_and_normalised() {
    let fx = Fixture::new(&["acme.com"]).await;
    let reply = create(
        &fx,
        json!({"userName": "jose", "emails": [{"value": " jose\u{301}@acme.com ", "primary": true}]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.id();
    let stored = fx
        .store
        .get_user(&fx.directory, &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.email.as_deref(), Some("jos\u{E9}@acme.com"));
    let hidden = create(
        &fx,
        json!({"userName": "ann", "emails": [{"value": "ann\u{200D}@acme.com"}]}),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::BAD_REQUEST, "{}", hidden.body);
}
