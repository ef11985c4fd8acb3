//! Declared `uniqueness` (RFC 7643 §2.1, §7) of Group extension attributes, through
//! `ScimService::handle`: a value a group holds is refused with 409 `uniqueness` on
//! POST, PUT and PATCH; changing the value or deleting the group releases it; member
//! edits keep it. For extensions the builder declares and for a directory's own, on the
//! memory store and on sled. (SCIM has no restore of a deleted group; the store's
//! restore re-check is `conformance::declared_unique_group_attributes`.)

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use scimkit::model::DirectoryId;
use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension, Uniqueness};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:Group";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn acme() -> SchemaExtension {
    SchemaExtension::builder(ResourceKind::Group, ACME)
        .attribute(AttributeDef::string("code").uniqueness(Uniqueness::Server))
        .attribute(
            AttributeDef::string("serial")
                .case_exact()
                .uniqueness(Uniqueness::Global),
        )
        .attribute(
            AttributeDef::string("aliases")
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
    admin: Admin,
    declared: Declared,
    /// (base path, token) of each directory.
    dirs: Vec<(String, String)>,
    ids: Vec<DirectoryId>,
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
            admin,
            declared,
            dirs,
            ids,
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

    /// POSTs a group with these acme attributes; returns the status and body.
    async fn post_in(&self, dir: usize, name: &str, acme: Value) -> (StatusCode, Value) {
        let body = json!({"schemas": [GROUP, ACME], "displayName": name, ACME: acme});
        self.request_in(dir, "POST", "/Groups", Some(body)).await
    }

    async fn post(&self, name: &str, acme: Value) -> (StatusCode, Value) {
        self.post_in(0, name, acme).await
    }

    async fn created(&self, name: &str, acme: Value) -> String {
        let (status, body) = self.post(name, acme).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn patch(&self, id: &str, operations: Value) -> (StatusCode, Value) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.request("PATCH", &format!("/Groups/{id}"), Some(body))
            .await
    }

    async fn get(&self, id: &str) -> Value {
        let (status, body) = self.request("GET", &format!("/Groups/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn count(&self, name: &str) -> u64 {
        let filter = format!("displayName eq \"{name}\"");
        let (status, body) = self
            .request(
                "GET",
                &format!("/Groups?filter={}", urlencode(&filter)),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["totalResults"].as_u64().unwrap()
    }

    /// A user of the first directory, to edit members with.
    async fn member(&self) -> String {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ann@example.com",
        });
        let (status, body) = self.request("POST", "/Users", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
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

/// A 409 `uniqueness` whose detail names `attribute` and says a group holds it.
fn assert_taken(reply: &(StatusCode, Value), attribute: &str, what: &str) {
    let (status, body) = reply;
    assert_eq!(*status, StatusCode::CONFLICT, "{what}: {body}");
    assert_eq!(body["scimType"], "uniqueness", "{what}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("{ACME}:{attribute}")),
        "{what}: the detail names the attribute: {detail}"
    );
    assert!(
        detail.contains("another group"),
        "{what}: the detail says a group holds it: {detail}"
    );
}

async fn creates_and_replacements_cannot_take_a_held_value(h: &Harness) {
    h.created(
        "Eng",
        json!({"code": "C-1", "serial": "Ab", "aliases": ["a", "b"]}),
    )
    .await;
    assert_taken(
        &h.post("Ops", json!({"code": "c-1"})).await,
        "code",
        "a code differing only in case",
    );
    assert_eq!(h.count("Ops").await, 0, "a refused POST stores nothing");
    assert_taken(
        &h.post("Ops", json!({"aliases": ["z", "B"]})).await,
        "aliases",
        "one element of a multi-valued attribute",
    );
    assert_taken(
        &h.post("Ops", json!({"serial": "Ab"})).await,
        "serial",
        "a global attribute, within the directory",
    );
    let ops = h
        .created(
            "Ops",
            json!({"serial": "aB", "team": "C-1", "aliases": ["z", "z"]}),
        )
        .await;

    let before = h.get(&ops).await;
    let mut replacement = before.clone();
    replacement[ACME]["code"] = json!("C-1");
    assert_taken(
        &h.request("PUT", &format!("/Groups/{ops}"), Some(replacement))
            .await,
        "code",
        "a PUT into a held value",
    );
    assert_taken(
        &h.patch(
            &ops,
            json!([{"op": "add", "path": format!("{ACME}:aliases"), "value": ["a"]}]),
        )
        .await,
        "aliases",
        "a PATCH adding a held element",
    );
    let after = h.get(&ops).await;
    assert_eq!(
        after["meta"]["version"], before["meta"]["version"],
        "refused writes change nothing"
    );
    assert_eq!(after[ACME], before[ACME]);
    assert_eq!(after["displayName"], "Ops");

    // Another directory is another tenant: its groups hold their own values.
    let (status, body) = h
        .post_in(1, "Eng", json!({"code": "C-1", "serial": "Ab"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = h.post_in(1, "Eng2", json!({"code": "C-1"})).await;
    match h.declared {
        Declared::ByService => assert_taken(
            &(status, body),
            "code",
            "the other directory enforces its own",
        ),
        Declared::ByDirectory => assert_eq!(
            status,
            StatusCode::CREATED,
            "a directory without the extension enforces nothing: {body}"
        ),
    }
}

async fn member_edits_keep_values_and_changing_or_deleting_releases_them(h: &Harness) {
    let eng = h
        .created("Eng", json!({"code": "C-1", "aliases": ["a"]}))
        .await;
    let ann = h.member().await;
    let (status, body) = h
        .patch(
            &eng,
            json!([{"op": "add", "path": "members", "value": [{"value": ann}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut same_document = h.get(&eng).await;
    same_document["members"] = json!([]);
    let (status, body) = h
        .request("PUT", &format!("/Groups/{eng}"), Some(same_document))
        .await;
    assert_eq!(status, StatusCode::OK, "a PUT of members only: {body}");
    assert_taken(
        &h.post("Ops", json!({"code": "c-1"})).await,
        "code",
        "member edits keep the group's values",
    );

    let (status, body) = h
        .patch(
            &eng,
            json!([{"op": "replace", "path": format!("{ACME}:code"), "value": "C-9"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let carol = h.created("Carol", json!({"code": "c-1"})).await;
    assert_taken(
        &h.post("Dan", json!({"code": "c-9"})).await,
        "code",
        "the value Eng changed to",
    );

    let (status, _) = h.request("DELETE", &format!("/Groups/{carol}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    h.created("Dan", json!({"code": "C-1"})).await;
    let (status, _) = h.request("DELETE", &format!("/Groups/{eng}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    h.created("Erin", json!({"code": "C-9", "aliases": ["A"]}))
        .await;
}

/// Groups stored before their directory declared the extension hold nothing; each claims
/// at its next write that changes its document, and members-only writes claim nothing.
#[tokio::test]
async fn groups_stored_before_the_declaration_claim_at_their_next_document_change() {
    let h = Harness::new(Arc::new(MemoryStore::new()), Declared::ByDirectory).await;
    h.admin
        .set_schema_extensions(&h.ids[0], Vec::new())
        .await
        .unwrap();
    let eng = h.created("Eng", json!({"code": "C-1"})).await;
    let ops = h.created("Ops", json!({"code": "C-1"})).await;
    h.admin
        .set_schema_extensions(&h.ids[0], vec![acme()])
        .await
        .unwrap();
    let ann = h.member().await;
    let (status, body) = h
        .patch(
            &ops,
            json!([{"op": "add", "path": "members", "value": [{"value": ann}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a members-only PATCH: {body}");
    let describe =
        |text: &str| json!([{"op": "add", "path": format!("{ACME}:team"), "value": text}]);
    let (status, body) = h.patch(&eng, describe("platform")).await;
    assert_eq!(status, StatusCode::OK, "the first to change claims: {body}");
    assert_taken(
        &h.patch(&ops, describe("sre")).await,
        "code",
        "a later document change claims a value taken meanwhile",
    );
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
            member_edits_keep_values_and_changing_or_deleting_releases_them(&h).await;
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
