//! Authentication: every failure is the same 401, whatever was wrong.

mod common;

use bytes::Bytes;
use common::Fixture;
use http::{Request, StatusCode};

async fn status_with(
    fx: &Fixture,
    path: &str,
    authorization: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut builder = Request::builder().uri(path);
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    let reply = fx.send_raw(builder.body(Bytes::new()).unwrap()).await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn every_authentication_failure_looks_the_same() {
    let fx = Fixture::new(&[]).await;
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
    let other_token = fx
        .admin
        .issue_scim_token(&other_directory.id)
        .await
        .unwrap()
        .secret;
    let users = format!("{}/Users", fx.base);
    let wrong_directory = format!("/scim/v2/{}/Users", other_directory.id);
    let cases = vec![
        (users.clone(), None),
        (users.clone(), Some("Bearer".to_owned())),
        (users.clone(), Some("Basic dXNlcjpwYXNz".to_owned())),
        (users.clone(), Some("Bearer wrong-token".to_owned())),
        (users.clone(), Some(format!("Bearer {}x", fx.token))),
        // A valid token of another directory opens only that directory.
        (
            format!("/scim/v2/{}/Users", fx.directory),
            Some(format!("Bearer {other_token}")),
        ),
        (wrong_directory, Some(format!("Bearer {}", fx.token))),
        (
            "/scim/v2/not-a-directory/Users".to_owned(),
            Some(format!("Bearer {}", fx.token)),
        ),
    ];
    let mut bodies = Vec::new();
    for (path, authorization) in cases {
        let (status, body) = status_with(&fx, &path, authorization.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {authorization:?}");
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "identical bodies: {bodies:?}"
    );
    let (status, _) = status_with(
        &fx,
        &format!("/scim/v2/{}/Users", other_directory.id),
        Some(&format!("Bearer {other_token}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "each token opens its own directory");
    let (status, _) = status_with(&fx, &users, Some(&format!("bearer {}", fx.token))).await;
    assert_eq!(status, StatusCode::OK, "the scheme is case-insensitive");
}

#[tokio::test]
async fn several_tokens_live_at_once_and_revocation_is_immediate() {
    let fx = Fixture::new(&[]).await;
    let second = fx.admin.issue_scim_token(&fx.directory).await.unwrap();
    let users = format!("{}/Users", fx.base);
    for token in [&fx.token, &second.secret] {
        let (status, _) = status_with(&fx, &users, Some(&format!("Bearer {token}"))).await;
        assert_eq!(status, StatusCode::OK);
    }
    fx.admin.revoke_token(&second.record.id).await.unwrap();
    let (status, _) = status_with(&fx, &users, Some(&format!("Bearer {}", second.secret))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_with(&fx, &users, Some(&format!("Bearer {}", fx.token))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn paths_outside_the_prefix_are_404() {
    let fx = Fixture::new(&[]).await;
    let (status, body) =
        status_with(&fx, "/other/Users", Some(&format!("Bearer {}", fx.token))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], "404");
}

#[tokio::test]
async fn an_expired_token_is_refused_like_any_wrong_one() {
    use scimkit::model::{Clock, TokenHash, TokenId, TokenRecord, TokenScope};
    use scimkit::store::TokenStore;
    let fx = Fixture::new(&[]).await;
    let now = fx.clock.now();
    let expiring = TokenRecord::new(
        TokenId::from_uuid(uuid::Uuid::from_u128(77)),
        TokenScope::Directory(fx.directory.clone()),
        TokenHash::of("expiring-secret-of-a-test"),
        now,
    )
    .with_expiry(now + time::Duration::minutes(5));
    fx.store.insert_token(expiring).await.unwrap();
    let users = format!("{}/Users", fx.base);
    let bearer = Some("Bearer expiring-secret-of-a-test");
    assert_eq!(status_with(&fx, &users, bearer).await.0, StatusCode::OK);
    let (_, wrong) = status_with(&fx, &users, Some("Bearer wrong-token")).await;
    fx.clock.advance(time::Duration::minutes(5));
    let (status, body) = status_with(&fx, &users, bearer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "refused at its expiry");
    assert_eq!(body, wrong, "with the same body as a wrong token");
    assert_eq!(
        status_with(&fx, &users, Some(&format!("Bearer {}", fx.token)))
            .await
            .0,
        StatusCode::OK,
        "tokens without expiry are unaffected"
    );
}
