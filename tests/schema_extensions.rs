//! Vendor-declared schema extensions (RFC 7643 §3.3, §7; RFC 7644 §4): served in
//! `/Schemas` and `/ResourceTypes`, checked on write, filterable and projectable, with
//! flattened keys nested; on the memory store and on sled.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use scimkit::schema::{AttributeDef, Mutability, ResourceKind, Returned, SchemaExtension};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
const ACME_GROUP: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:Group";

fn acme() -> SchemaExtension {
    SchemaExtension::builder(ResourceKind::User, ACME)
        .name("AcmeUser")
        .description("Acme's own user attributes")
        .attribute(AttributeDef::string("costCenter").canonical_values(["R&D", "Sales"]))
        .attribute(AttributeDef::integer("level"))
        .attribute(AttributeDef::string("badge").case_exact())
        .attribute(AttributeDef::string("secretCode").returned(Returned::Request))
        .attribute(AttributeDef::string("internalId").mutability(Mutability::ReadOnly))
        .attribute(AttributeDef::complex(
            "desk",
            vec![
                AttributeDef::string("building").required(),
                AttributeDef::integer("floor"),
            ],
        ))
        .build()
        .unwrap()
}

fn acme_group() -> SchemaExtension {
    SchemaExtension::builder(ResourceKind::Group, ACME_GROUP)
        .required()
        .attribute(AttributeDef::string("budgetOwner").required())
        .build()
        .unwrap()
}

struct Harness {
    scim: ScimService,
    sync: DirectorySync,
    base: String,
    token: String,
}

impl Harness {
    async fn new<S: DirectoryStore + TokenStore + 'static>(store: Arc<S>) -> Self {
        let admin = Admin::new(store.clone());
        let org = admin
            .create_organization(Some("acme".into()), vec![])
            .await
            .unwrap();
        let directory = admin.create_directory(&org.id, true).await.unwrap();
        let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
        let scim = ScimService::builder(store.clone())
            .schema_extension(acme())
            .schema_extension(acme_group())
            .public_url("https://scim.example.com")
            .build();
        Self {
            scim,
            sync: DirectorySync::new(store),
            base: format!("/scim/v2/{}", directory.id),
            token,
        }
    }

    async fn request(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
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

    async fn create(&self, body: Value) -> Value {
        let (status, body) = self.request("POST", "/Users", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

async fn discovery_serves_declared_extensions(h: &Harness) {
    let (status, schemas) = h.request("GET", "/Schemas", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(schemas["totalResults"], 5);
    let (status, schema) = h.request("GET", &format!("/Schemas/{ACME}"), None).await;
    assert_eq!(status, StatusCode::OK, "{schema}");
    assert_eq!(schema["name"], "AcmeUser");
    assert_eq!(schema["attributes"][0]["name"], "costCenter");
    assert_eq!(schema["attributes"][0]["type"], "string");
    assert_eq!(
        schema["attributes"][0]["canonicalValues"],
        json!(["R&D", "Sales"])
    );
    assert_eq!(schema["attributes"][2]["caseExact"], true);
    assert_eq!(
        schema["attributes"][5]["subAttributes"][0]["required"],
        true
    );
    assert_eq!(
        schema["meta"]["location"],
        format!("https://scim.example.com{}/Schemas/{ACME}", h.base)
    );
    let (_, user_type) = h.request("GET", "/ResourceTypes/User", None).await;
    assert_eq!(
        user_type["schemaExtensions"],
        json!([
            {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false},
            {"schema": ACME, "required": false},
        ])
    );
    let (_, group_type) = h.request("GET", "/ResourceTypes/Group", None).await;
    assert_eq!(
        group_type["schemaExtensions"],
        json!([{"schema": ACME_GROUP, "required": true}])
    );
}

async fn writes_are_checked_against_declared_types(h: &Harness) {
    for (body, detail) in [
        (
            json!({"userName": "a@acme.com", ACME: {"level": "high"}}),
            format!("`{ACME}:level` must be an integer"),
        ),
        (
            json!({"userName": "a@acme.com", ACME: {"costCenter": ["R&D"]}}),
            format!("`{ACME}:costCenter` must be a string"),
        ),
        (
            json!({"userName": "a@acme.com", ACME: {"desk": {"floor": 3}}}),
            format!("`{ACME}:desk.building` is required"),
        ),
        (
            json!({"userName": "a@acme.com", ACME: "R&D"}),
            format!("extension `{ACME}` must be an object"),
        ),
        (
            // Flattened, as Entra sends it: checked all the same.
            json!({"userName": "a@acme.com", format!("{ACME}:level"): true}),
            format!("`{ACME}:level` must be an integer"),
        ),
    ] {
        let (status, error) = h.request("POST", "/Users", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["scimType"], "invalidValue");
        let text = error["detail"].as_str().unwrap();
        assert!(text.contains(&detail), "{body}: {text}");
    }
    let (_, listed) = h.request("GET", "/Users", None).await;
    assert_eq!(listed["totalResults"], 0, "a refused write stores nothing");

    // A required extension: a group without it, or without its required attribute, is
    // refused.
    for body in [
        json!({"displayName": "Eng"}),
        json!({"displayName": "Eng", ACME_GROUP: {}}),
    ] {
        let (status, error) = h.request("POST", "/Groups", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            error["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{ACME_GROUP}:budgetOwner` is required")),
            "{error}"
        );
    }
    let (status, group) = h
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Eng", format!("{ACME_GROUP}:budgetOwner"): "ann"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group[ACME_GROUP], json!({"budgetOwner": "ann"}));
    let id = group["id"].as_str().unwrap();
    let (_, projected) = h
        .request(
            "GET",
            &format!("/Groups/{id}?attributes={ACME_GROUP}:budgetOwner"),
            None,
        )
        .await;
    assert_eq!(projected[ACME_GROUP], json!({"budgetOwner": "ann"}));
    assert!(projected.get("displayName").is_none(), "{projected}");
    let (_, excluded) = h
        .request(
            "GET",
            &format!("/Groups/{id}?excludedAttributes={ACME_GROUP}"),
            None,
        )
        .await;
    assert!(excluded.get(ACME_GROUP).is_none(), "{excluded}");
    assert_eq!(excluded["displayName"], "Eng");
}

async fn declared_attributes_nest_filter_and_project(h: &Harness) {
    // Entra sends custom extension attributes flattened at the top level, in any case.
    let ann = h
        .create(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
            "userName": "ann@acme.com",
            format!("{ACME}:costCenter"): "R&D",
            format!("{}:LEVEL", ACME.to_uppercase()): 3,
            format!("{ACME}:badge"): "B-17",
            format!("{ACME}:secretCode"): "s3cret",
            format!("{ACME}:internalId"): "ignored",
            format!("{ACME}:desk.building"): "HQ",
        }))
        .await;
    assert_eq!(
        ann[ACME],
        json!({"costCenter": "R&D", "level": 3, "badge": "B-17", "desk": {"building": "HQ"}}),
        "nested, read-only dropped, returned:request left out"
    );
    h.create(json!({"userName": "bob@acme.com", ACME: {"costCenter": "Sales", "badge": "b-17"}}))
        .await;

    let ids = |body: &Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    let filter = format!("{ACME}:costCenter eq \"r&d\"")
        .replace(' ', "%20")
        .replace('&', "%26")
        .replace('"', "%22");
    let (status, found) = h
        .request("GET", &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(ids(&found), ["ann@acme.com"], "costCenter is not caseExact");
    let filter = format!("{ACME}:badge%20eq%20%22b-17%22");
    let (_, found) = h
        .request("GET", &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(ids(&found), ["bob@acme.com"], "badge is caseExact");
    let filter = format!("{ACME}:level%20gt%202");
    let (_, found) = h
        .request("GET", &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(ids(&found), ["ann@acme.com"]);

    let id = ann["id"].as_str().unwrap();
    let (_, projected) = h
        .request(
            "GET",
            &format!("/Users/{id}?attributes={ACME}:costCenter,{ACME}:secretCode"),
            None,
        )
        .await;
    assert_eq!(
        projected[ACME],
        json!({"costCenter": "R&D", "secretCode": "s3cret"})
    );
    assert!(projected.get("userName").is_none());
    let (_, excluded) = h
        .request(
            "GET",
            &format!("/Users/{id}?excludedAttributes={ACME}:level"),
            None,
        )
        .await;
    assert_eq!(
        excluded[ACME],
        json!({"costCenter": "R&D", "badge": "B-17", "desk": {"building": "HQ"}})
    );

    // PATCH by the qualified path, then a wrong type by PATCH is refused.
    let patch = |path: String, value: Value| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": path, "value": value}]})
    };
    let (status, patched) = h
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(format!("{ACME}:level"), json!(4))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched[ACME]["level"], 4);
    let (status, error) = h
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(format!("{ACME}:level"), json!("x"))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains(":level` must be an integer")
    );

    // The Sync API reads the nested extension object.
    let page = h
        .sync
        .list_users(ListUsers::new(DirectorySelector::OrganizationExternalId(
            "acme".into(),
        )))
        .await
        .unwrap();
    let ann = page
        .items
        .iter()
        .find(|u| u.email.as_deref() == Some("ann@acme.com"))
        .unwrap();
    assert_eq!(ann.attributes[ACME]["costCenter"], "R&D");
    assert_eq!(ann.attributes[ACME]["level"], 4);
}

/// GET of one user and a listing render its stored text without parsing most of it; a
/// write's answer renders the parsed document. All must answer the same for every
/// projection.
async fn a_get_answers_as_a_listing_and_a_write_of_the_same_user(h: &Harness) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", ACME],
        "userName": "dee@acme.com",
        "name": {"givenName": "Dee", "familyName": "O\u{2019}Neil \"Q\""},
        "emails": [{"value": "dee@acme.com", "primary": true, "type": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"department": "R&D", "manager": {"value": "x"}},
        ACME: {"costCenter": "R&D", "level": 3, "secretCode": "s3cret",
            "desk": {"building": "B1", "floor": 2}},
        "urn:example:custom:Ext": {"note": "kept"},
        "title": "Engineer, \"senior\""
    });
    let created = h.create(body.clone()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    for projection in [
        "",
        "attributes=userName",
        "attributes=name.givenName,emails.value",
        &format!("attributes={ACME}:level"),
        &format!("attributes={ACME}"),
        &format!("attributes={ACME}:secretCode"),
        &format!("excludedAttributes={ACME}:costCenter"),
        "excludedAttributes=name,emails,groups",
        "excludedAttributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "attributes=urn:example:custom:Ext",
        "attributes=meta.version,title",
    ] {
        let projection = projection.replace(' ', "%20");
        let (status, got) = h
            .request("GET", &format!("/Users/{id}?{projection}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{projection}: {got}");
        let filter = format!("filter=id%20eq%20%22{id}%22");
        let (status, listed) = h
            .request("GET", &format!("/Users?{filter}&{projection}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{projection}: {listed}");
        assert_eq!(got, listed["Resources"][0], "{projection}");
        // Replacing the user with what it holds changes nothing (no new version) and
        // answers with the parsed rendering.
        let (status, written) = h
            .request(
                "PUT",
                &format!("/Users/{id}?{projection}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{projection}: {written}");
        assert_eq!(got, written, "{projection}");
        let order = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
        assert_eq!(
            order(&got),
            order(&listed["Resources"][0]),
            "{projection}: member order"
        );
        assert_eq!(order(&got), order(&written), "{projection}: member order");
    }
    let (_, whole) = h.request("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(whole["title"], "Engineer, \"senior\"");
    assert_eq!(whole["name"]["familyName"], "O\u{2019}Neil \"Q\"");
    assert!(whole[ACME].get("secretCode").is_none(), "{whole}");
    assert_eq!(whole["urn:example:custom:Ext"]["note"], "kept");
}

async fn run_all(h: Harness) {
    discovery_serves_declared_extensions(&h).await;
    writes_are_checked_against_declared_types(&h).await;
    declared_attributes_nest_filter_and_project(&h).await;
    a_get_answers_as_a_listing_and_a_write_of_the_same_user(&h).await;
}

#[tokio::test]
async fn declared_extensions_on_the_memory_store() {
    run_all(Harness::new(Arc::new(MemoryStore::new())).await).await;
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn declared_extensions_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
    run_all(Harness::new(store).await).await;
}
