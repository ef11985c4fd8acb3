//! RFC 7644 §4 discovery endpoints and §3.4.2.5 projection, through the service.

mod common;

use common::Fixture;
use http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn service_provider_config_tells_the_truth_about_the_build() {
    let fx = Fixture::with(&[], |b| b.max_page_size(250).default_page_size(50)).await;
    let reply = fx.request("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let config = &reply.body;
    assert_eq!(
        config["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert_eq!(
        config["filter"],
        json!({"supported": true, "maxResults": 250})
    );
    assert_eq!(config["sort"]["supported"], true);
    assert_eq!(config["etag"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["pagination"]["cursor"], true);
    assert_eq!(config["pagination"]["defaultPageSize"], 50);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    // The page size limit it reports is the one it enforces.
    for i in 0..3 {
        fx.create_user(&format!("u{i}@acme.com")).await;
    }
    let capped = Fixture::with(&[], |b| b.max_page_size(2)).await;
    for i in 0..3 {
        capped.create_user(&format!("u{i}@acme.com")).await;
    }
    assert_eq!(
        capped.request("GET", "/Users?count=100", None).await.body["itemsPerPage"],
        2
    );
}

#[tokio::test]
async fn schemas_and_resource_types_are_listed_and_addressable() {
    let fx = Fixture::new(&[]).await;
    let schemas = fx.request("GET", "/Schemas", None).await;
    assert_eq!(schemas.body["totalResults"], 3);
    let user = fx
        .request(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await;
    assert_eq!(user.status, StatusCode::OK);
    assert_eq!(user.body["name"], "User");
    let types = fx.request("GET", "/ResourceTypes", None).await;
    assert_eq!(types.body["totalResults"], 2);
    let user_type = fx.request("GET", "/ResourceTypes/User", None).await;
    assert_eq!(user_type.body["endpoint"], "/Users");
    assert_eq!(
        user_type.body["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    assert_eq!(
        fx.request("GET", "/Schemas/urn:nope", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fx.request("GET", "/ResourceTypes/Widget", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fx.request("POST", "/Schemas", Some(json!({}))).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn discovery_requires_the_directory_token() {
    let fx = Fixture::new(&[]).await;
    let request = http::Request::builder()
        .uri(format!("{}/ServiceProviderConfig", fx.base))
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(fx.send_raw(request).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_every_response() {
    let fx = Fixture::new(&[]).await;
    let created = fx
        .request("POST", "/Users?attributes=userName", Some(json!({
            "userName": "ann@acme.com", "name": {"givenName": "Ann", "familyName": "Lee"}, "title": "CTO"
        })))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.id();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&created.body), ["id", "schemas", "userName"]);
    let got = fx
        .request(
            "GET",
            &format!("/Users/{id}?attributes=name.givenName"),
            None,
        )
        .await;
    assert_eq!(got.body["name"], json!({"givenName": "Ann"}));
    let got = fx
        .request(
            "GET",
            &format!("/Users/{id}?excludedAttributes=title,meta"),
            None,
        )
        .await;
    assert!(got.body.get("title").is_none() && got.body.get("meta").is_none());
    assert_eq!(got.body["userName"], "ann@acme.com");
    let listed = fx.request("GET", "/Users?attributes=title", None).await;
    assert_eq!(
        keys(&listed.body["Resources"][0]),
        ["id", "schemas", "title"]
    );
    let searched = fx
        .request(
            "POST",
            "/Users/.search",
            Some(json!({"attributes": ["userName"], "filter": "title pr"})),
        )
        .await;
    assert_eq!(
        keys(&searched.body["Resources"][0]),
        ["id", "schemas", "userName"]
    );
    let bad = fx
        .request("GET", &format!("/Users/{id}?attributes=not%20valid"), None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn passwords_are_never_stored_or_returned() {
    let fx = Fixture::new(&[]).await;
    let created = fx
        .request(
            "POST",
            "/Users",
            Some(json!({"userName": "ann@acme.com", "password": "hunter2"})),
        )
        .await;
    assert!(created.body.get("password").is_none());
    let id = created.id();
    let asked = fx
        .request("GET", &format!("/Users/{id}?attributes=password"), None)
        .await;
    assert!(asked.body.get("password").is_none());
    let stored =
        scimkit::store::DirectoryStore::get_user(&*fx.store, &fx.directory, &id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert!(stored.attributes.get("password").is_none());
}
