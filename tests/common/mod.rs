//! A SCIM service on the memory store with one organization, directory and token, and a
//! terse way to send it requests.
#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use scimkit::model::{DirectoryId, ManualClock, SequentialIds};
use scimkit::store::{CallCounter, Hooked, MemoryStore};
use scimkit::{Admin, ScimService};
use serde_json::Value;
use time::macros::datetime;

pub struct Fixture {
    pub store: Arc<MemoryStore>,
    /// Counts the service's store calls (the service reads `store` through it).
    pub calls: Arc<CallCounter>,
    pub admin: Admin,
    pub scim: ScimService,
    pub clock: Arc<ManualClock>,
    pub directory: DirectoryId,
    pub token: String,
    pub base: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_owned()
    }

    pub fn scim_type(&self) -> Option<&str> {
        self.body["scimType"].as_str()
    }
}

impl Fixture {
    pub async fn new(domains: &[&str]) -> Self {
        Self::with(domains, |b| b).await
    }

    pub async fn with(
        domains: &[&str],
        configure: impl FnOnce(
            scimkit::service::ScimServiceBuilder,
        ) -> scimkit::service::ScimServiceBuilder,
    ) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-24 12:00 UTC)));
        let ids = Arc::new(SequentialIds::default());
        let admin = Admin::new(store.clone()).with_sources(clock.clone(), ids.clone());
        let org = admin
            .create_organization(
                Some("acme".into()),
                domains.iter().map(|d| d.to_string()).collect(),
            )
            .await
            .unwrap();
        let directory = admin.create_directory(&org.id, true).await.unwrap();
        // A directory that has been serving (as if stored before lifecycle states), so
        // change-log positions in tests start with their own writes; the activation of a
        // pending directory is tested in `directory_lifecycle.rs`.
        let mut directory = directory;
        directory.state = scimkit::model::DirectoryState::Active;
        directory.last_request_at = Some(datetime!(2026-11-24 12:00 UTC));
        use scimkit::store::DirectoryStore;
        store.update_directory(directory.clone()).await.unwrap();
        let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
        let calls = Arc::new(CallCounter::default());
        let counted = Arc::new(Hooked::new(store.clone(), calls.clone()));
        let builder = ScimService::builder(counted)
            .clock(clock.clone())
            .ids(ids)
            .public_url("https://scim.example.com");
        let scim = configure(builder).build();
        let base = format!("/scim/v2/{}", directory.id);
        Self {
            store,
            calls,
            admin,
            scim,
            clock,
            directory: directory.id,
            token,
            base,
        }
    }

    pub async fn send_raw(&self, request: Request<Bytes>) -> Reply {
        let response = self.scim.handle(request).await;
        let (parts, body) = response.into_parts();
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).expect("every response body is JSON")
        };
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// `path` is relative to the directory's base (e.g. `/Users`).
    pub async fn request(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.request_with(method, path, body, &[]).await
    }

    pub async fn request_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token));
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            builder = builder.header("content-type", "application/scim+json");
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        self.send_raw(builder.body(body).unwrap()).await
    }

    pub async fn create_user(&self, user_name: &str) -> String {
        let reply = self
            .request(
                "POST",
                "/Users",
                Some(serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name,
                    "active": true,
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.id()
    }
}
