//! Attribute mapping: vendor fields read from what Entra and Okta send, with per-IdP
//! defaults, the directory's own mapping, per-user errors, and the management API; on the
//! memory store and on sled.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{Request, StatusCode};
use scimkit::admin::AdminError;
use scimkit::model::{DirectoryId, FieldMapping, IdpKind};
use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers, SyncUser};
use scimkit::{Admin, ManagementService, ScimService};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

struct Harness {
    admin: Admin,
    scim: ScimService,
    sync: DirectorySync,
    management: ManagementService,
    store: Arc<dyn DirectoryStore>,
    directory: DirectoryId,
    token: String,
    api_key: String,
}

impl Harness {
    async fn new<S: DirectoryStore + TokenStore + 'static>(store: Arc<S>, idp: IdpKind) -> Self {
        let admin = Admin::new(store.clone());
        let org = admin
            .create_organization(Some("acme".into()), vec![])
            .await
            .unwrap();
        let directory = admin.create_directory(&org.id, true).await.unwrap();
        store
            .update_directory(directory.clone().with_idp(idp))
            .await
            .unwrap();
        let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
        let api_key = admin.issue_api_key(Some(&org.id)).await.unwrap().secret;
        // The vendor declares its own `costCenter` ...
        let acme = SchemaExtension::builder(ResourceKind::User, ACME)
            .attribute(AttributeDef::string("costCenter"))
            .build()
            .unwrap();
        let scim = ScimService::builder(store.clone())
            .schema_extension(acme)
            .build();
        let sync = DirectorySync::new(store.clone());
        let management = ManagementService::new(sync.clone(), store.clone());
        Self {
            admin,
            scim,
            sync,
            management,
            store,
            directory: directory.id,
            token,
            api_key,
        }
    }

    async fn scim(&self, method: &str, path: &str, body: Value) -> Value {
        let request = Request::builder()
            .method(method)
            .uri(format!("/scim/v2/{}{path}", self.directory))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        let response = self.scim.handle(request).await;
        let status = response.status();
        let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header("authorization", format!("Bearer {}", self.api_key))
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let response = self.management.handle(request).await;
        let status = response.status();
        (status, serde_json::from_slice(response.body()).unwrap())
    }

    fn selector(&self) -> DirectorySelector {
        DirectorySelector::Directory(self.directory.clone())
    }

    async fn listed(&self) -> Vec<SyncUser> {
        self.sync
            .list_users(ListUsers::new(self.selector()))
            .await
            .unwrap()
            .items
    }
}

/// What Entra's default mappings send on user creation, plus `costCenter` an
/// administrator mapped to the vendor's extension (flattened, as Entra sends it).
fn entra_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, ACME],
        "externalId": "ann",
        "userName": "ann@acme.com",
        "active": true,
        "displayName": "Ann Lee",
        "title": "Staff Engineer",
        "emails": [{"primary": true, "type": "work", "value": "ann@acme.com"}],
        "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
        "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
        format!("{ENTERPRISE}:employeeNumber"): "E-1001",
        format!("{ENTERPRISE}:department"): "Engineering",
        format!("{ENTERPRISE}:manager"): "boss-id",
        format!("{ACME}:costCenter"): "CC-42",
    })
}

/// What Okta's SCIM 2.0 app sends, with enterprise attributes mapped in its profile
/// editor and `costCenter` under the vendor's namespace.
fn okta_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "bob@acme.com",
        "name": {"givenName": "Bob", "familyName": "Ng"},
        "emails": [
            {"primary": false, "value": "bob@home.example", "type": "home"},
            {"primary": true, "value": "bob@acme.com", "type": "work"}
        ],
        "displayName": "Bob Ng",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "active": true,
        ENTERPRISE: {
            "employeeNumber": "42",
            "department": "Sales",
            "manager": {"value": "ann-id", "displayName": "Ann Lee"}
        },
        ACME: {"costCenter": "CC-7"}
    })
}

fn fields_of(user: &SyncUser) -> Value {
    Value::Object(user.fields.clone().into_iter().collect())
}

async fn entra_defaults_and_a_custom_field(h: &Harness) {
    // ... and maps it in one line.
    h.admin
        .set_field_mapping(
            &h.directory,
            FieldMapping::new()
                .map("cost_center", format!("{ACME}:costCenter"))
                .map("mobile", r#"phoneNumbers[type eq "mobile"].value"#),
        )
        .await
        .unwrap();
    let created = h.scim("POST", "/Users", entra_user()).await;
    let id = created["id"].as_str().unwrap().parse().unwrap();

    let users = h.listed().await;
    let [ann] = users.as_slice() else {
        panic!("one user expected: {users:?}")
    };
    assert_eq!(ann.field("cost_center"), Some(&json!("CC-42")));
    assert_eq!(
        fields_of(ann),
        json!({
            "cost_center": "CC-42",
            "department": "Engineering",
            "display_name": "Ann Lee",
            "email": "ann@acme.com",
            "employee_number": "E-1001",
            "first_name": "Ann",
            "last_name": "Lee",
            "manager": "boss-id",
            "mobile": "+1 555 0100",
            "title": "Staff Engineer",
        })
    );
    assert_eq!(ann.field_errors(), []);
    // The raw attributes are still there, next to the fields.
    assert_eq!(ann.attributes[ENTERPRISE]["department"], "Engineering");

    // get_user and the stream read the same fields.
    let got = h.sync.get_user(&h.selector(), &id).await.unwrap();
    assert_eq!(fields_of(&got), fields_of(ann));
    let streamed: Vec<SyncUser> = h
        .sync
        .users(ListUsers::new(h.selector()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(fields_of(&streamed[0]), fields_of(ann));

    // An Entra PATCH that changes the department changes the field.
    h.scim(
        "PATCH",
        &format!("/Users/{id}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Research"}]}),
    )
    .await;
    let got = h.sync.get_user(&h.selector(), &id).await.unwrap();
    assert_eq!(got.field_str("department"), Some("Research"));

    // An invalid path is refused when set, and nothing changes.
    let refused = h
        .admin
        .set_field_mapping(
            &h.directory,
            FieldMapping::new().map("team", "emails[type eq"),
        )
        .await;
    assert!(
        matches!(refused, Err(AdminError::InvalidFieldMapping(_))),
        "{refused:?}"
    );
    let stored = h.store.get_directory(&h.directory).await.unwrap().unwrap();
    assert_eq!(
        stored.fields.path("cost_center"),
        Some(format!("{ACME}:costCenter").as_str())
    );
}

async fn okta_defaults(h: &Harness) {
    h.admin
        .set_field_mapping(
            &h.directory,
            FieldMapping::new()
                .map("cost_center", format!("{ACME}:costCenter"))
                .map("home_email", r#"emails[type eq "home"].value"#)
                // Okta's `locale` instead of nothing; `title` dropped.
                .map("locale", "locale")
                .map("title", ""),
        )
        .await
        .unwrap();
    h.scim("POST", "/Users", okta_user()).await;
    let users = h.listed().await;
    let [bob] = users.as_slice() else {
        panic!("one user expected")
    };
    assert_eq!(
        fields_of(bob),
        json!({
            "cost_center": "CC-7",
            "department": "Sales",
            "display_name": "Bob Ng",
            "email": "bob@acme.com",
            "employee_number": "42",
            "first_name": "Bob",
            "last_name": "Ng",
            "locale": "en-US",
            "home_email": "bob@home.example",
            "manager": "ann-id",
        })
    );
    assert_eq!(bob.field_errors(), []);
}

async fn shapes_that_do_not_reduce_to_one_value_are_reported_per_user(h: &Harness) {
    h.admin
        .set_field_mapping(
            &h.directory,
            FieldMapping::new().map("work_email", r#"emails[type eq "work"].value"#),
        )
        .await
        .unwrap();
    h.scim(
        "POST",
        "/Users",
        json!({"userName": "cy@acme.com", "name": {"givenName": "Cy"},
               "emails": [{"value": "cy@acme.com", "type": "work"}, {"value": "cy2@acme.com", "type": "work"}]}),
    )
    .await;
    h.scim(
        "POST",
        "/Users",
        json!({"userName": "di@acme.com", "emails": [{"value": "di@acme.com", "type": "work"}]}),
    )
    .await;
    let users = h.listed().await;
    let cy = users
        .iter()
        .find(|u| u.email.as_deref() == Some("cy@acme.com"))
        .unwrap();
    // The other fields are still read; the ambiguous ones are errors, not guesses.
    assert_eq!(cy.field_str("first_name"), Some("Cy"));
    let failed: Vec<(&str, &str)> = cy
        .field_errors()
        .iter()
        .map(|e| (e.field.as_str(), e.path.as_str()))
        .collect();
    // Entra's default `email` is the work one too: both are ambiguous for Cy.
    assert_eq!(
        failed,
        [
            ("email", r#"emails[type eq "work"].value"#),
            ("work_email", r#"emails[type eq "work"].value"#)
        ]
    );
    assert!(
        cy.field_errors()
            .iter()
            .any(|e| e.reason.contains("2 elements of `emails` match"))
    );
    let di = users
        .iter()
        .find(|u| u.email.as_deref() == Some("di@acme.com"))
        .unwrap();
    assert_eq!(di.field_str("work_email"), Some("di@acme.com"));
    assert_eq!(di.field_errors(), []);
}

async fn management_reads_and_sets_the_mapping(h: &Harness) {
    let path = format!("/scim/directories/{}/fields", h.directory);
    let (status, body) = h
        .api(
            "PUT",
            &path,
            Some(json!({"fields": {"cost_center": format!("{ACME}:costCenter"), "title": ""}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["idp"], "entra");
    assert_eq!(body["fields"]["title"], "");
    assert_eq!(
        body["effectiveFields"]["cost_center"],
        format!("{ACME}:costCenter")
    );
    assert!(body["effectiveFields"].get("title").is_none());
    assert_eq!(
        body["effectiveFields"]["email"],
        r#"emails[type eq "work"].value"#
    );
    let (_, read) = h.api("GET", &path, None).await;
    assert_eq!(read, body);

    for bad in [
        json!({"fields": {"team": "emails[type eq"}}),
        json!({"fields": {"team": 7}}),
        json!({"fields": "title"}),
    ] {
        let (status, error) = h.api("PUT", &path, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            error["message"].as_str().unwrap().contains("team") || bad["fields"].is_string(),
            "{error}"
        );
    }
    let (_, unchanged) = h.api("GET", &path, None).await;
    assert_eq!(unchanged, body, "a refused mapping changes nothing");

    h.scim("POST", "/Users", entra_user()).await;
    let (status, listed) = h
        .api(
            "GET",
            &format!("/scim/users?scimDirectoryId={}", h.directory),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let user = &listed["scimUsers"][0];
    assert_eq!(user["fields"]["cost_center"], "CC-42");
    assert!(user["fields"].get("title").is_none());
    assert!(user.get("fieldErrors").is_none());
    let id = user["id"].as_str().unwrap();
    let (_, got) = h.api("GET", &format!("/scim/users/{id}"), None).await;
    assert_eq!(got["scimUser"]["fields"], user["fields"]);

    // Another organization's key sees no such directory.
    let other = h.admin.create_organization(None, vec![]).await.unwrap();
    let key = h.admin.issue_api_key(Some(&other.id)).await.unwrap().secret;
    let request = Request::builder()
        .uri(format!("/api/v1{path}"))
        .header("authorization", format!("Bearer {key}"))
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        h.management.handle(request).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn run(make: impl AsyncFn(IdpKind) -> Harness) {
    entra_defaults_and_a_custom_field(&make(IdpKind::Entra).await).await;
    okta_defaults(&make(IdpKind::Okta).await).await;
    shapes_that_do_not_reduce_to_one_value_are_reported_per_user(&make(IdpKind::Entra).await).await;
    management_reads_and_sets_the_mapping(&make(IdpKind::Entra).await).await;
}

#[tokio::test]
async fn field_mapping_on_the_memory_store() {
    run(async |idp| Harness::new(Arc::new(MemoryStore::new()), idp).await).await;
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn field_mapping_on_sled() {
    let dirs: std::sync::Mutex<Vec<tempfile::TempDir>> = std::sync::Mutex::default();
    run(async |idp| {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
        dirs.lock().unwrap().push(dir);
        Harness::new(store, idp).await
    })
    .await;
}

/// The `testing` feature's simulators: what Entra and Okta send on provisioning reads as
/// the default fields, and an update by either changes them.
#[cfg(feature = "testing")]
#[tokio::test]
async fn simulated_entra_and_okta_users_read_as_the_default_fields() {
    use scimkit::testing::{Entra, InProcess, Okta, SimUser};

    let entra = Harness::new(Arc::new(MemoryStore::new()), IdpKind::Entra).await;
    let idp = Entra::new(InProcess::new(
        entra.scim.clone(),
        &entra.directory,
        entra.token.clone(),
    ));
    let id = idp
        .provision(&SimUser::new("ann@acme.com").named("Ann", "Lee"))
        .await
        .unwrap();
    idp.update(
        &id,
        &SimUser::new("ann@acme.com")
            .named("Anne", "Lee")
            .email("anne@acme.com"),
    )
    .await
    .unwrap();
    let ann = entra
        .sync
        .get_user(&entra.selector(), &id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(ann.field_str("first_name"), Some("Anne"));
    assert_eq!(ann.field_str("last_name"), Some("Lee"));
    assert_eq!(ann.field_str("email"), Some("anne@acme.com"));
    assert_eq!(ann.field_errors(), []);

    let okta = Harness::new(Arc::new(MemoryStore::new()), IdpKind::Okta).await;
    let idp = Okta::new(InProcess::new(
        okta.scim.clone(),
        &okta.directory,
        okta.token.clone(),
    ));
    idp.provision(&SimUser::new("bob@acme.com").named("Bob", "Ng"))
        .await
        .unwrap();
    let users = okta.listed().await;
    assert_eq!(
        fields_of(&users[0]),
        json!({"display_name": "Bob Ng", "email": "bob@acme.com", "first_name": "Bob", "last_name": "Ng"})
    );
}

/// Mapped fields cost no store call: a page of users with a mapping reads what a page
/// without one reads (the directory, then one listing).
#[tokio::test]
async fn mapped_fields_cost_no_store_call_per_user() {
    use scimkit::store::{CallCounter, Hooked};

    let calls = Arc::new(CallCounter::default());
    let counted = Arc::new(Hooked::new(Arc::new(MemoryStore::new()), calls.clone()));
    let h = Harness::new(counted, IdpKind::Entra).await;
    for login in ["ann", "bob", "cat"] {
        let mut user = entra_user();
        user["userName"] = json!(format!("{login}@acme.com"));
        h.scim("POST", "/Users", user).await;
    }
    calls.reset();
    let plain = h.listed().await;
    let without = calls.snapshot();
    h.admin
        .set_field_mapping(
            &h.directory,
            FieldMapping::new().map("cost_center", format!("{ACME}:costCenter")),
        )
        .await
        .unwrap();
    calls.reset();
    let mapped = h.listed().await;
    assert_eq!(calls.snapshot(), without);
    assert_eq!(plain.len(), 3);
    assert!(
        mapped
            .iter()
            .all(|u| u.field_str("cost_center") == Some("CC-42"))
    );
}
