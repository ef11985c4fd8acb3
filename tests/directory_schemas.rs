//! Schema extensions a directory declares through the admin and management APIs: served,
//! checked, filtered and projected for that directory's requests only, on top of the
//! service's; invalid definitions refused with nothing changed; one change-feed entry per
//! change. On the memory store and on sled.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use scimkit::model::{ChangeKind, DirectoryId};
use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension};
use scimkit::service::ManagementService;
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::DirectorySync;
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
const WIDGET: &str = "urn:ietf:params:scim:schemas:extension:widget:2.0:User";

/// The definition directory A declares over the management API.
fn widget() -> Value {
    json!({
        "id": WIDGET,
        "resourceType": "User",
        "name": "WidgetUser",
        "attributes": [
            {"name": "seat", "type": "string"},
            {"name": "rank", "type": "integer"},
            {"name": "pin", "type": "string", "returned": "request"},
        ],
    })
}

struct Harness {
    store: Arc<dyn DirectoryStore>,
    admin: Admin,
    scim: ScimService,
    management: ManagementService,
    /// Directories A and B of one organization, and C of another.
    dirs: [DirectoryId; 3],
    tokens: [String; 3],
    /// Scoped to the organization of A and B.
    api_key: String,
    /// Scoped to the organization of C.
    other_api_key: String,
}

impl Harness {
    async fn new<S: DirectoryStore + TokenStore + 'static>(store: Arc<S>) -> Self {
        let acme = SchemaExtension::builder(ResourceKind::User, ACME)
            .attribute(AttributeDef::string("costCenter"))
            .build()
            .unwrap();
        let scim = ScimService::builder(store.clone())
            .schema_extension(acme)
            .build();
        let admin = Admin::new(store.clone()).with_service_extensions(scim.schema_extensions());
        let org = admin.create_organization(None, vec![]).await.unwrap();
        let other = admin.create_organization(None, vec![]).await.unwrap();
        let a = admin.create_directory(&org.id, true).await.unwrap().id;
        let b = admin.create_directory(&org.id, false).await.unwrap().id;
        let c = admin.create_directory(&other.id, true).await.unwrap().id;
        let mut tokens = Vec::new();
        for dir in [&a, &b, &c] {
            tokens.push(admin.issue_scim_token(dir).await.unwrap().secret);
        }
        let api_key = admin.issue_api_key(Some(&org.id)).await.unwrap().secret;
        let other_api_key = admin.issue_api_key(Some(&other.id)).await.unwrap().secret;
        let management = ManagementService::new(DirectorySync::new(store.clone()), store.clone())
            .with_service_extensions(scim.schema_extensions());
        Self {
            store,
            admin,
            scim,
            management,
            dirs: [a, b, c],
            tokens: tokens.try_into().unwrap(),
            api_key,
            other_api_key,
        }
    }

    async fn scim(
        &self,
        dir: usize,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/scim/v2/{}{path}", self.dirs[dir]))
            .header("authorization", format!("Bearer {}", self.tokens[dir]))
            .header("content-type", "application/scim+json")
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let response = self.scim.handle(request).await;
        let status = response.status();
        (
            status,
            serde_json::from_slice(response.body()).unwrap_or(Value::Null),
        )
    }

    async fn api_as(
        &self,
        key: &str,
        method: &str,
        dir: usize,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!(
                "/api/v1/scim/directories/{}/schemas",
                self.dirs[dir]
            ))
            .header("authorization", format!("Bearer {key}"))
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let response = self.management.handle(request).await;
        let status = response.status();
        (status, serde_json::from_slice(response.body()).unwrap())
    }

    async fn api(&self, method: &str, dir: usize, body: Option<Value>) -> (StatusCode, Value) {
        self.api_as(&self.api_key, method, dir, body).await
    }

    async fn change_kinds(&self, dir: usize) -> Vec<ChangeKind> {
        self.store
            .list_changes(&self.dirs[dir], 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.kind)
            .collect()
    }
}

fn schema_ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn user_extensions(resource_types: &Value) -> Vec<String> {
    resource_types["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "User")
        .unwrap()["schemaExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["schema"].as_str().unwrap().to_owned())
        .collect()
}

async fn declared_over_management_served_to_that_directory_only(h: &Harness) {
    let (status, body) = h.api("GET", 0, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["schemaExtensions"], json!([]));
    let (status, body) = h
        .api("PUT", 0, Some(json!({"schemaExtensions": [widget()]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scimDirectoryId"], h.dirs[0].to_string());
    assert_eq!(body["schemaExtensions"][0]["id"], WIDGET);
    assert_eq!(
        body["schemaExtensions"][0]["attributes"][2]["returned"],
        "request"
    );
    let (_, read) = h.api("GET", 0, None).await;
    assert_eq!(read, body);

    // A serves the service's extension and its own; B only the service's.
    let (_, a_schemas) = h.scim(0, "GET", "/Schemas", None).await;
    assert!(schema_ids(&a_schemas).contains(&ACME.to_owned()));
    assert!(schema_ids(&a_schemas).contains(&WIDGET.to_owned()));
    let (_, b_schemas) = h.scim(1, "GET", "/Schemas", None).await;
    assert!(schema_ids(&b_schemas).contains(&ACME.to_owned()));
    assert!(!schema_ids(&b_schemas).contains(&WIDGET.to_owned()));
    let (status, one) = h.scim(0, "GET", &format!("/Schemas/{WIDGET}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["name"], "WidgetUser");
    let (status, _) = h.scim(1, "GET", &format!("/Schemas/{WIDGET}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, a_types) = h.scim(0, "GET", "/ResourceTypes", None).await;
    assert_eq!(user_extensions(&a_types).len(), 3, "{a_types}");
    assert!(user_extensions(&a_types).contains(&WIDGET.to_owned()));
    let (_, b_types) = h.scim(1, "GET", "/ResourceTypes", None).await;
    assert!(!user_extensions(&b_types).contains(&WIDGET.to_owned()));

    // Checked on A's writes: a rank that is not an integer is refused, naming it.
    let bad = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", WIDGET],
        "userName": "ann@example.com",
        "emails": [{"value": "ann@example.com", "primary": true}],
        WIDGET: {"seat": "A-12", "rank": "high"},
    });
    let (status, body) = h.scim(0, "POST", "/Users", Some(bad.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["scimType"], "invalidValue");
    assert!(body["detail"].as_str().unwrap().contains("rank"), "{body}");
    // ... while B, which does not declare it, keeps it as an undeclared extension.
    let (status, body) = h.scim(1, "POST", "/Users", Some(bad)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Flattened keys nest, filters read the attribute (not case-exact), and a `request`
    // attribute is returned only when asked for.
    let ann = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", WIDGET],
        "userName": "ann@example.com",
        "emails": [{"value": "ann@example.com", "primary": true}],
        format!("{WIDGET}:seat"): "A-12",
        format!("{WIDGET}:pin"): "1234",
        WIDGET: {"rank": 3},
    });
    let (status, created) = h.scim(0, "POST", "/Users", Some(ann)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created[WIDGET]["seat"], "A-12");
    assert_eq!(created[WIDGET]["rank"], 3);
    assert!(created[WIDGET].get("pin").is_none(), "{created}");
    let filter = format!("{WIDGET}:seat eq \"a-12\"");
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("filter", &filter)
        .append_pair("attributes", &format!("{WIDGET}:pin"))
        .finish();
    let (status, found) = h.scim(0, "GET", &format!("/Users?{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0][WIDGET]["pin"], "1234");

    // One feed entry; setting the same list again records nothing.
    let (status, _) = h
        .api("PUT", 0, Some(json!({"schemaExtensions": [widget()]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let changed = h
        .change_kinds(0)
        .await
        .into_iter()
        .filter(|k| *k == ChangeKind::SchemaExtensionsChanged)
        .count();
    assert_eq!(changed, 1);
    assert!(
        !h.change_kinds(1)
            .await
            .contains(&ChangeKind::SchemaExtensionsChanged)
    );
}

async fn invalid_definitions_change_nothing(h: &Harness) {
    let (status, _) = h
        .api("PUT", 0, Some(json!({"schemaExtensions": [widget()]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, before) = h.api("GET", 0, None).await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut definition = widget();
        edit(&mut definition);
        json!({"schemaExtensions": [definition]})
    };
    let refusals = [
        (with(&|d| d["id"] = json!("widget")), "not a URN"),
        (
            with(&|d| d["id"] = json!("urn:ietf:params:scim:schemas:core:2.0:User")),
            "reserved",
        ),
        (with(&|d| d["id"] = json!(ACME)), "declared already"),
        (
            with(&|d| d["attributes"][0]["type"] = json!("float")),
            "`type` is `float`",
        ),
        (
            with(&|d| d["attributes"][1]["name"] = json!("seat")),
            "declared twice",
        ),
        (
            with(&|d| d["resourceType"] = json!("Device")),
            "resourceType",
        ),
        (
            json!({"schemaExtensions": [widget(), widget()]}),
            "declared already",
        ),
        (json!({"schemas": []}), "schemaExtensions"),
    ];
    for (body, expected) in refusals {
        let (status, answer) = h.api("PUT", 0, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
        let (_, after) = h.api("GET", 0, None).await;
        assert_eq!(after, before, "{body}");
    }
    // The admin API refuses the same, with a typed error.
    let acme_again = SchemaExtension::builder(ResourceKind::User, ACME)
        .attribute(AttributeDef::string("x"))
        .build()
        .unwrap();
    assert!(matches!(
        h.admin
            .set_schema_extensions(&h.dirs[0], vec![acme_again])
            .await,
        Err(scimkit::admin::AdminError::InvalidSchemaExtension(_))
    ));
    assert_eq!(
        h.admin.schema_extensions(&h.dirs[0]).await.unwrap().len(),
        1
    );
}

async fn keys_see_their_organizations_directories_only(h: &Harness) {
    let (status, _) = h.api_as(&h.other_api_key, "GET", 0, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h
        .api_as(
            &h.other_api_key,
            "PUT",
            0,
            Some(json!({"schemaExtensions": [widget()]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        h.admin
            .schema_extensions(&h.dirs[0])
            .await
            .unwrap()
            .is_empty()
    );
    let (status, _) = h
        .api_as(
            &h.other_api_key,
            "PUT",
            2,
            Some(json!({"schemaExtensions": [widget()]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = h.api("GET", 2, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, c_schemas) = h.scim(2, "GET", "/Schemas", None).await;
    assert!(schema_ids(&c_schemas).contains(&WIDGET.to_owned()));
}

async fn admin_sets_and_clears(h: &Harness) {
    let extension = SchemaExtension::from_json(&widget()).unwrap();
    let directory = h
        .admin
        .set_schema_extensions(&h.dirs[1], vec![extension.clone()])
        .await
        .unwrap();
    assert_eq!(directory.schema_extensions, vec![extension.clone()]);
    // Read back from the store: the definition survives its encoding.
    assert_eq!(
        h.admin.schema_extensions(&h.dirs[1]).await.unwrap(),
        vec![extension]
    );
    let (_, b_schemas) = h.scim(1, "GET", "/Schemas", None).await;
    assert!(schema_ids(&b_schemas).contains(&WIDGET.to_owned()));
    h.admin
        .set_schema_extensions(&h.dirs[1], Vec::new())
        .await
        .unwrap();
    let (_, b_schemas) = h.scim(1, "GET", "/Schemas", None).await;
    assert!(!schema_ids(&b_schemas).contains(&WIDGET.to_owned()));
    let changed = h
        .change_kinds(1)
        .await
        .into_iter()
        .filter(|k| *k == ChangeKind::SchemaExtensionsChanged)
        .count();
    assert_eq!(changed, 2);
}

async fn run(make: impl AsyncFn() -> Harness) {
    declared_over_management_served_to_that_directory_only(&make().await).await;
    invalid_definitions_change_nothing(&make().await).await;
    keys_see_their_organizations_directories_only(&make().await).await;
    admin_sets_and_clears(&make().await).await;
}

#[tokio::test]
async fn directory_schemas_on_the_memory_store() {
    run(async || Harness::new(Arc::new(MemoryStore::new())).await).await;
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn directory_schemas_on_sled() {
    let dirs: std::sync::Mutex<Vec<tempfile::TempDir>> = std::sync::Mutex::default();
    run(async || {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
        dirs.lock().unwrap().push(dir);
        Harness::new(store).await
    })
    .await;
}
