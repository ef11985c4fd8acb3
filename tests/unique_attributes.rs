//! Declared `uniqueness` (RFC 7643 §2.1, §7) of extension attributes, through
//! `ScimService::handle`: a value an active user holds is refused with 409 `uniqueness`
//! on POST, PUT and PATCH; changing the value, deactivating or deleting releases it;
//! restoring claims it again. For extensions the builder declares and for a directory's
//! own, on the memory store and on sled.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension, Uniqueness};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn acme() -> SchemaExtension {
    SchemaExtension::builder(ResourceKind::User, ACME)
        .attribute(AttributeDef::string("badge").uniqueness(Uniqueness::Server))
        .attribute(
            AttributeDef::string("serial")
                .case_exact()
                .uniqueness(Uniqueness::Global),
        )
        .attribute(
            AttributeDef::string("deskPhones")
                .multi_valued()
                .uniqueness(Uniqueness::Server),
        )
        .attribute(AttributeDef::string("team"))
        .build()
        .unwrap()
}

/// Where the extension is declared.
#[derive(Clone, Copy)]
enum Declared {
    /// On the service builder: every directory has it.
    ByService,
    /// With `Admin::set_schema_extensions`, on the first directory only.
    ByDirectory,
}

struct Harness {
    scim: ScimService,
    declared: Declared,
    /// (base path, token) of each directory.
    dirs: Vec<(String, String)>,
}

impl Harness {
    async fn new<S: DirectoryStore + TokenStore + 'static>(
        store: Arc<S>,
        declared: Declared,
    ) -> Self {
        let admin = Admin::new(store.clone());
        let org = admin.create_organization(None, vec![]).await.unwrap();
        let mut dirs = Vec::new();
        let mut ids = Vec::new();
        for primary in [true, false] {
            let directory = admin.create_directory(&org.id, primary).await.unwrap();
            let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
            dirs.push((format!("/scim/v2/{}", directory.id), token));
            ids.push(directory.id);
        }
        let mut builder = ScimService::builder(store.clone());
        match declared {
            Declared::ByService => builder = builder.schema_extension(acme()),
            Declared::ByDirectory => {
                admin
                    .set_schema_extensions(&ids[0], vec![acme()])
                    .await
                    .unwrap();
            }
        }
        Self {
            scim: builder.build(),
            declared,
            dirs,
        }
    }

    async fn request_in(
        &self,
        dir: usize,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (base, token) = &self.dirs[dir];
        let request = Request::builder()
            .method(method)
            .uri(format!("{base}{path}"))
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

    async fn request(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.request_in(0, method, path, body).await
    }

    /// POSTs a user with these acme attributes; returns the status and body.
    async fn post_in(&self, dir: usize, user_name: &str, acme: Value) -> (StatusCode, Value) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
            "userName": user_name,
            "emails": [{"value": format!("{user_name}@example.com"), "primary": true}],
            ACME: acme,
        });
        self.request_in(dir, "POST", "/Users", Some(body)).await
    }

    async fn post(&self, user_name: &str, acme: Value) -> (StatusCode, Value) {
        self.post_in(0, user_name, acme).await
    }

    async fn created(&self, user_name: &str, acme: Value) -> String {
        let (status, body) = self.post(user_name, acme).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn patch(&self, id: &str, operations: Value) -> (StatusCode, Value) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.request("PATCH", &format!("/Users/{id}"), Some(body))
            .await
    }

    async fn count(&self, user_name: &str) -> u64 {
        let filter = format!("userName eq \"{user_name}\"");
        let (status, body) = self
            .request(
                "GET",
                &format!("/Users?filter={}", urlencode(&filter)),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["totalResults"].as_u64().unwrap()
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A 409 `uniqueness` whose detail names `attribute`.
fn assert_taken(reply: &(StatusCode, Value), attribute: &str, what: &str) {
    let (status, body) = reply;
    assert_eq!(*status, StatusCode::CONFLICT, "{what}: {body}");
    assert_eq!(body["scimType"], "uniqueness", "{what}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("{ACME}:{attribute}")),
        "{what}: the detail names the attribute: {detail}"
    );
}

async fn creates_and_replacements_cannot_take_a_held_value(h: &Harness) {
    let _ann = h
        .created(
            "ann",
            json!({"badge": "B-1", "serial": "Ab", "deskPhones": ["111", "222"]}),
        )
        .await;
    assert_taken(
        &h.post("bob", json!({"badge": "b-1"})).await,
        "badge",
        "a badge differing only in case",
    );
    assert_eq!(h.count("bob").await, 0, "a refused POST stores nothing");
    assert_taken(
        &h.post("bob", json!({"deskPhones": ["333", "222"]})).await,
        "deskPhones",
        "one element of a multi-valued attribute",
    );
    assert_taken(
        &h.post("bob", json!({"serial": "Ab"})).await,
        "serial",
        "a global attribute, within the directory",
    );
    let bob = h
        .created(
            "bob",
            json!({"serial": "aB", "team": "B-1", "deskPhones": ["333", "333"]}),
        )
        .await;

    let (status, before) = h.request("GET", &format!("/Users/{bob}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let mut replacement = before.clone();
    replacement[ACME]["badge"] = json!("B-1");
    assert_taken(
        &h.request("PUT", &format!("/Users/{bob}"), Some(replacement))
            .await,
        "badge",
        "a PUT into a held value",
    );
    assert_taken(
        &h.patch(
            &bob,
            json!([{"op": "add", "path": format!("{ACME}:deskPhones"), "value": ["111"]}]),
        )
        .await,
        "deskPhones",
        "a PATCH adding a held element",
    );
    let (_, after) = h.request("GET", &format!("/Users/{bob}"), None).await;
    assert_eq!(
        after["meta"]["version"], before["meta"]["version"],
        "refused writes change nothing"
    );
    assert_eq!(after[ACME], before[ACME]);

    // Another directory is another tenant: its users hold their own values.
    let (status, body) = h
        .post_in(1, "ann", json!({"badge": "B-1", "serial": "Ab"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = h.post_in(1, "ann2", json!({"badge": "B-1"})).await;
    match h.declared {
        Declared::ByService => assert_taken(
            &(status, body),
            "badge",
            "the other directory enforces its own",
        ),
        Declared::ByDirectory => assert_eq!(
            status,
            StatusCode::CREATED,
            "a directory without the extension enforces nothing: {body}"
        ),
    }
}

async fn changing_deactivating_and_deleting_release_values(h: &Harness) {
    let ann = h
        .created("ann", json!({"badge": "B-1", "deskPhones": ["111"]}))
        .await;
    let (status, body) = h
        .patch(
            &ann,
            json!([{"op": "replace", "path": format!("{ACME}:badge"), "value": "B-9"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    h.created("carol", json!({"badge": "b-1"})).await;
    assert_taken(
        &h.post("dan", json!({"badge": "b-9"})).await,
        "badge",
        "the value ann changed to",
    );

    let (status, body) = h
        .patch(
            &ann,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dave = h.created("dave", json!({"deskPhones": ["111"]})).await;
    assert_taken(
        &h.patch(
            &ann,
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await,
        "deskPhones",
        "restoring into a value taken meanwhile",
    );
    let (_, still) = h.request("GET", &format!("/Users/{ann}"), None).await;
    assert_eq!(
        still["active"], false,
        "the refused restore changed nothing"
    );

    let (status, _) = h.request("DELETE", &format!("/Users/{dave}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = h
        .patch(
            &ann,
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a deleted user's values are free: {body}"
    );
    assert_taken(
        &h.post("erin", json!({"deskPhones": ["111"]})).await,
        "deskPhones",
        "the restored user holds its values again",
    );

    // A re-POST of a deleted user's userName restores that user, and claims as a POST.
    let (status, _) = h.request("DELETE", &format!("/Users/{ann}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    h.created("erin", json!({"deskPhones": ["111"]})).await;
    assert_taken(
        &h.post("ann", json!({"deskPhones": ["111"]})).await,
        "deskPhones",
        "a restoring POST into a value taken meanwhile",
    );
    let (status, body) = h.post("ann", json!({"deskPhones": ["444"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["id"], ann.as_str(), "the deleted user was restored");
}

macro_rules! suite {
    ($name:ident, $store:expr, $declared:expr) => {
        #[tokio::test]
        async fn $name() {
            let (store, _guard) = $store;
            let h = Harness::new(store.clone(), $declared).await;
            creates_and_replacements_cannot_take_a_held_value(&h).await;
            let (store, _guard) = $store;
            let h = Harness::new(store, $declared).await;
            changing_deactivating_and_deleting_release_values(&h).await;
        }
    };
}

fn memory() -> (Arc<MemoryStore>, ()) {
    (Arc::new(MemoryStore::new()), ())
}

#[cfg(feature = "sled")]
fn sled() -> (Arc<scimkit::store::SledStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
    (store, dir)
}

suite!(service_declared_on_memory, memory(), Declared::ByService);
suite!(
    directory_declared_on_memory,
    memory(),
    Declared::ByDirectory
);
#[cfg(feature = "sled")]
suite!(service_declared_on_sled, sled(), Declared::ByService);
#[cfg(feature = "sled")]
suite!(directory_declared_on_sled, sled(), Declared::ByDirectory);
