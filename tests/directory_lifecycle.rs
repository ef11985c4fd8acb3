//! Directory lifecycle through the SCIM service, on the memory and sled stores: pending
//! until the first authenticated request, then active; disabled directories refuse every
//! request (after authentication) and keep their data; deleting removes the tokens.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use scimkit::model::{ChangeKind, Clock, DirectoryId, DirectoryState, ManualClock};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};
use time::macros::datetime;

struct Setup {
    store: Arc<dyn DirectoryStore>,
    admin: Admin,
    scim: ScimService,
    clock: Arc<ManualClock>,
    directory: DirectoryId,
    token: String,
}

async fn setup(store: Arc<dyn DirectoryStore>, tokens: Arc<dyn TokenStore>) -> Setup {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-24 12:00 UTC)));
    let admin = Admin::with_stores(store.clone(), tokens.clone()).with_sources(
        clock.clone(),
        Arc::new(scimkit::model::SequentialIds::default()),
    );
    let org = admin.create_organization(None, vec![]).await.unwrap();
    let directory = admin.create_directory(&org.id, true).await.unwrap();
    let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
    let scim = ScimService::builder_with(store.clone(), tokens)
        .clock(clock.clone())
        .build();
    Setup {
        store,
        admin,
        scim,
        clock,
        directory: directory.id,
        token,
    }
}

impl Setup {
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/scim/v2/{}{path}", self.directory))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let response = self.scim.handle(request).await;
        let status = response.status();
        let body = response.into_body();
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status, body)
    }

    async fn state(&self) -> DirectoryState {
        self.store
            .get_directory(&self.directory)
            .await
            .unwrap()
            .unwrap()
            .state
    }

    async fn kinds(&self) -> Vec<ChangeKind> {
        self.store
            .list_changes(&self.directory, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.kind)
            .collect()
    }
}

async fn a_directory_is_pending_until_the_first_authenticated_request(s: Setup) {
    assert_eq!(s.state().await, DirectoryState::Pending);
    let (status, _) = s.send("GET", "/Users", "scimkit_bearer_wrong", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.state().await,
        DirectoryState::Pending,
        "a bad token activates nothing"
    );

    let (status, _) = s
        .send("GET", "/ServiceProviderConfig", &s.token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let directory = s.store.get_directory(&s.directory).await.unwrap().unwrap();
    assert_eq!(directory.state, DirectoryState::Active);
    assert_eq!(directory.last_request_at, Some(s.clock.now()));
    assert_eq!(s.kinds().await, [ChangeKind::DirectoryActivated]);

    // Requests within a minute write nothing; the next one after it moves the time.
    let first = s.clock.now();
    s.clock.advance(time::Duration::seconds(30));
    s.send("GET", "/Users", &s.token, None).await;
    let directory = s.store.get_directory(&s.directory).await.unwrap().unwrap();
    assert_eq!(
        directory.last_request_at,
        Some(first),
        "throttled to about a minute"
    );
    s.clock.advance(time::Duration::seconds(31));
    s.send("GET", "/Users", &s.token, None).await;
    let directory = s.store.get_directory(&s.directory).await.unwrap().unwrap();
    assert_eq!(directory.last_request_at, Some(s.clock.now()));
    assert_eq!(
        s.kinds().await,
        [ChangeKind::DirectoryActivated],
        "activated once"
    );
}

async fn a_disabled_directory_refuses_every_request_and_keeps_its_data(s: Setup) {
    let (status, body) = s
        .send(
            "POST",
            "/Users",
            &s.token,
            Some(json!({"userName": "ann@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.admin.disable_directory(&s.directory).await.unwrap();
    for (method, path) in [
        ("GET", "/Users"),
        ("GET", "/ServiceProviderConfig"),
        ("GET", "/Schemas"),
        ("POST", "/Groups"),
        ("DELETE", "/Users/scim_user_x"),
    ] {
        let (status, body) = s
            .send(method, path, &s.token, Some(json!({"displayName": "x"})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(body["status"], "403", "RFC 7644 §3.12 error: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("disabled by the vendor"),
            "{body}"
        );
    }
    let (status, _) = s.send("GET", "/Users", "scimkit_bearer_wrong", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a bad token still gets the identical 401, not a hint that the directory exists"
    );
    let sync = DirectorySync::new(s.store.clone());
    let users = sync
        .list_users(ListUsers::new(DirectorySelector::Directory(
            s.directory.clone(),
        )))
        .await
        .unwrap();
    assert_eq!(users.items.len(), 1, "the data is kept and readable");

    s.admin.enable_directory(&s.directory).await.unwrap();
    let (status, _) = s.send("GET", "/Users", &s.token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s.kinds().await,
        [
            ChangeKind::DirectoryActivated,
            ChangeKind::UserCreated,
            ChangeKind::DirectoryDisabled,
            ChangeKind::DirectoryEnabled,
        ]
    );
}

async fn deleting_a_directory_removes_its_tokens_and_records_it(s: Setup) {
    s.send(
        "POST",
        "/Users",
        &s.token,
        Some(json!({"userName": "ann@example.com"})),
    )
    .await;
    let deleted = s.admin.delete_directory(&s.directory).await.unwrap();
    assert_eq!(deleted.state, DirectoryState::Deleted);
    let (status, _) = s.send("GET", "/Users", &s.token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "its token is gone");
    assert_eq!(s.kinds().await.last(), Some(&ChangeKind::DirectoryDeleted));
    assert!(
        s.admin.issue_scim_token(&s.directory).await.is_err(),
        "a deleted directory gets no new token"
    );
    assert!(
        s.admin.enable_directory(&s.directory).await.is_err(),
        "deleting is final"
    );
    let sync = DirectorySync::new(s.store.clone());
    let users = sync
        .list_users(ListUsers::new(DirectorySelector::Directory(
            s.directory.clone(),
        )))
        .await
        .unwrap();
    assert_eq!(
        users.items.len(),
        1,
        "kept for the vendor's sync until purged"
    );
    s.admin.purge_directory(&s.directory).await.unwrap();
    assert!(s.store.get_directory(&s.directory).await.unwrap().is_none());
}

async fn memory() -> Setup {
    let store = Arc::new(MemoryStore::new());
    setup(store.clone(), store).await
}

#[tokio::test]
async fn memory_a_directory_is_pending_until_the_first_authenticated_request() {
    a_directory_is_pending_until_the_first_authenticated_request(memory().await).await;
}

#[tokio::test]
async fn memory_a_disabled_directory_refuses_every_request_and_keeps_its_data() {
    a_disabled_directory_refuses_every_request_and_keeps_its_data(memory().await).await;
}

#[tokio::test]
async fn memory_deleting_a_directory_removes_its_tokens_and_records_it() {
    deleting_a_directory_removes_its_tokens_and_records_it(memory().await).await;
}

#[cfg(feature = "sled")]
mod sled {
    use super::*;

    async fn sled(dir: &tempfile::TempDir) -> Setup {
        let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
        setup(store.clone(), store).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_a_directory_is_pending_until_the_first_authenticated_request() {
        let dir = tempfile::tempdir().unwrap();
        a_directory_is_pending_until_the_first_authenticated_request(sled(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_a_disabled_directory_refuses_every_request_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        a_disabled_directory_refuses_every_request_and_keeps_its_data(sled(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_deleting_a_directory_removes_its_tokens_and_records_it() {
        let dir = tempfile::tempdir().unwrap();
        deleting_a_directory_removes_its_tokens_and_records_it(sled(&dir).await).await;
    }
}
