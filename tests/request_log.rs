//! The request log a vendor shows a customer's admin: what the IdP sent and why any
//! request was refused.

mod common;

use std::sync::{Arc, Mutex};

use common::Fixture;
use scimkit::service::RequestRecord;
use serde_json::json;

#[tokio::test]
async fn every_request_is_recorded_with_its_refusal_and_redacted_body() {
    let log: Arc<Mutex<Vec<RequestRecord>>> = Arc::default();
    let sink = log.clone();
    let fx = Fixture::with(&["acme.com"], move |b| {
        b.request_log(Arc::new(move |r: RequestRecord| {
            sink.lock().unwrap().push(r)
        }))
        .log_request_bodies(true)
    })
    .await;
    fx.request_with(
        "POST",
        "/Users",
        Some(json!({"userName": "ann@acme.com", "password": "hunter2"})),
        &[("user-agent", "Okta SCIM Client 1.0.0")],
    )
    .await;
    fx.request("POST", "/Users", Some(json!({"userName": "bob@evil.com"})))
        .await;
    let records = log.lock().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].status, 201);
    assert_eq!(
        records[0].user_agent.as_deref(),
        Some("Okta SCIM Client 1.0.0")
    );
    let body = records[0].body.as_deref().unwrap();
    assert!(
        body.contains("ann@acme.com") && !body.contains("hunter2"),
        "{body}"
    );
    assert_eq!(records[1].status, 400);
    assert_eq!(records[1].scim_type, Some(scimkit::ScimType::InvalidValue));
    assert!(records[1].detail.as_deref().unwrap().contains("evil.com"));
    assert!(records[1].path.ends_with("/Users"));
}

#[tokio::test]
async fn bodies_are_not_logged_unless_asked() {
    let log: Arc<Mutex<Vec<RequestRecord>>> = Arc::default();
    let sink = log.clone();
    let fx = Fixture::with(&[], move |b| {
        b.request_log(Arc::new(move |r: RequestRecord| {
            sink.lock().unwrap().push(r)
        }))
    })
    .await;
    fx.create_user("ann@acme.com").await;
    assert_eq!(log.lock().unwrap()[0].body, None);
}
