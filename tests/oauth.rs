//! OAuth 2.0 client credentials for the SCIM endpoint (RFC 6749 §4.4), as Microsoft
//! Entra ID's provisioning service uses them: a form POST of `grant_type`, `client_id`
//! and `client_secret` to the directory's token endpoint, then the access token as a
//! bearer token until it expires.

mod common;

use base64::Engine;
use bytes::Bytes;
use common::Fixture;
use http::{Request, StatusCode};
use serde_json::Value;

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

async fn token_request(fx: &Fixture, body: &str, basic: Option<(&str, &str)>) -> Answer {
    let mut request = Request::post(format!("{}/oauth/token", fx.base))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header("authorization", format!("Basic {encoded}"));
    }
    let response = fx
        .scim
        .handle(request.body(Bytes::from(body.to_owned())).unwrap())
        .await;
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

async fn users_with(fx: &Fixture, token: &str) -> StatusCode {
    let request = Request::get(format!("{}/Users", fx.base))
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap();
    fx.scim.handle(request).await.status()
}

fn form(id: &str, secret: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", id)
        .append_pair("client_secret", secret)
        .finish()
}

#[tokio::test]
async fn entra_client_credentials_give_a_bearer_token_that_expires() {
    let fx = Fixture::new(&[]).await;
    let client = fx.admin.issue_oauth_client(&fx.directory).await.unwrap();
    let id = client.record.id.to_string();
    let answer = token_request(&fx, &form(&id, &client.secret), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 3600);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let access = answer.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(users_with(&fx, &access).await, StatusCode::OK);
    assert_eq!(
        users_with(&fx, &client.secret).await,
        StatusCode::UNAUTHORIZED,
        "the client secret is no bearer token"
    );
    fx.clock.advance(time::Duration::hours(1));
    assert_eq!(
        users_with(&fx, &access).await,
        StatusCode::UNAUTHORIZED,
        "expired"
    );

    // HTTP Basic works too (RFC 6749 §2.3.1), and a fresh token opens the directory again.
    let answer = token_request(
        &fx,
        "grant_type=client_credentials",
        Some((&id, &client.secret)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let fresh = answer.body["access_token"].as_str().unwrap();
    assert_eq!(users_with(&fx, fresh).await, StatusCode::OK);
    let live = fx
        .admin
        .list_tokens(&scimkit::model::TokenScope::Directory(fx.directory.clone()))
        .await
        .unwrap();
    assert_eq!(
        live.iter().filter(|t| t.expires.is_some()).count(),
        1,
        "the expired access token was dropped when the new one was issued"
    );
}

#[tokio::test]
async fn every_client_failure_is_the_same_invalid_client() {
    let fx = Fixture::new(&[]).await;
    let client = fx.admin.issue_oauth_client(&fx.directory).await.unwrap();
    let id = client.record.id.to_string();
    let other_org = fx.admin.create_organization(None, vec![]).await.unwrap();
    let other_directory = fx
        .admin
        .create_directory(&other_org.id, true)
        .await
        .unwrap();
    let other = fx
        .admin
        .issue_oauth_client(&other_directory.id)
        .await
        .unwrap();
    let revoked = fx.admin.issue_oauth_client(&fx.directory).await.unwrap();
    fx.admin.revoke_token(&revoked.record.id).await.unwrap();
    let cases = [
        form(&id, "wrong-secret"),
        form("token_unknown", &client.secret),
        form(&other.record.id.to_string(), &other.secret),
        form(&revoked.record.id.to_string(), &revoked.secret),
        form(&id, &fx.token),
        "grant_type=client_credentials".to_owned(),
    ];
    let mut bodies = Vec::new();
    for case in &cases {
        let answer = token_request(&fx, case, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(answer.body["error"], "invalid_client");
        assert!(answer.headers.contains_key("www-authenticate"));
        bodies.push(answer.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");

    let unsupported = token_request(&fx, "grant_type=password&username=a&password=b", None).await;
    assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);
    assert_eq!(unsupported.body["error"], "unsupported_grant_type");
    let missing = token_request(&fx, "", None).await;
    assert_eq!(missing.body["error"], "invalid_request");
    let get = fx
        .scim
        .handle(
            Request::get(format!("{}/oauth/token", fx.base))
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn service_provider_config_advertises_the_client_credentials_grant() {
    let fx = Fixture::new(&[]).await;
    let config = fx.request("GET", "/ServiceProviderConfig", None).await;
    let schemes = config.body["authenticationSchemes"].as_array().unwrap();
    let oauth2 = schemes.iter().find(|s| s["type"] == "oauth2").unwrap();
    assert!(
        oauth2["description"]
            .as_str()
            .unwrap()
            .contains(&format!("{}/oauth/token", fx.directory)),
        "{oauth2}"
    );
    assert_eq!(schemes.iter().filter(|s| s["primary"] == true).count(), 1);
}

#[tokio::test]
async fn a_disabled_directory_issues_no_access_token_and_a_deleted_one_knows_no_client() {
    let fx = Fixture::new(&[]).await;
    let client = fx.admin.issue_oauth_client(&fx.directory).await.unwrap();
    let id = client.record.id.to_string();
    fx.admin.disable_directory(&fx.directory).await.unwrap();
    let answer = token_request(&fx, &form(&id, &client.secret), None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.body["error"], "unauthorized_client");
    let wrong = token_request(&fx, &form(&id, "scimkit_oauth_wrong"), None).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNAUTHORIZED,
        "a wrong secret still gets the identical invalid_client"
    );
    fx.admin.enable_directory(&fx.directory).await.unwrap();
    let answer = token_request(&fx, &form(&id, &client.secret), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    fx.admin.delete_directory(&fx.directory).await.unwrap();
    let answer = token_request(&fx, &form(&id, &client.secret), None).await;
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "its OAuth clients are gone"
    );
    assert_eq!(answer.body["error"], "invalid_client");
}
