//! Nested groups through `ScimService::handle`, on the memory and sled stores: a group may
//! be a member of another (RFC 7643 §4.2, `members.type` `Group`), roles resolve through
//! every ancestor, and each write that changes a user's effective roles records exactly
//! one `user.roles_changed` entry for that user. Replays an Okta Group Push that nests
//! groups and an Entra nested-group assignment; refusals (itself, cycles, too deep,
//! unknown groups) are 400 `invalidValue` and change nothing; and a property holds the
//! feed to a brute-force model over random membership and nesting edits.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use scimkit::model::{ChangeKind, DirectoryId, GroupMatch, ResourceId, RoleMapping, SequentialIds};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::{DirectorySelector, DirectorySync, ListGroups};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

struct Setup {
    sync: DirectorySync,
    scim: ScimService,
    directory: DirectoryId,
    token: String,
    /// Feed position already read.
    cursor: std::sync::Mutex<u64>,
}

type RolesChange = (String, BTreeSet<String>, BTreeSet<String>);

fn roles(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn change(user: &str, before: &[&str], after: &[&str]) -> RolesChange {
    (user.to_owned(), roles(before), roles(after))
}

fn mapping() -> RoleMapping {
    RoleMapping::new()
        .map(GroupMatch::DisplayName("Engineering".into()), "developer")
        .map(GroupMatch::DisplayName("Db".into()), "dba")
        .with_default("viewer")
}

async fn setup(store: Arc<dyn DirectoryStore>, tokens: Arc<dyn TokenStore>) -> Setup {
    let admin = Admin::with_stores(store.clone(), tokens.clone());
    let org = admin.create_organization(None, vec![]).await.unwrap();
    let directory = admin.create_directory(&org.id, true).await.unwrap();
    admin
        .set_role_mapping(&directory.id, mapping())
        .await
        .unwrap();
    let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
    // Sequential ids: users and groups sort in the order they are created, so the
    // order of one write's `roles_changed` entries (by user id) is known.
    let scim = ScimService::builder_with(store.clone(), tokens)
        .ids(Arc::new(SequentialIds::default()))
        .public_url("https://scim.example.com")
        .build();
    let sync = DirectorySync::new(store);
    let s = Setup {
        sync,
        scim,
        directory: directory.id,
        token,
        cursor: std::sync::Mutex::new(0),
    };
    s.changes().await;
    s
}

impl Setup {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/scim/v2/{}{path}", self.directory))
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

    async fn user(&self, user_name: &str) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/Users",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name,
                    "active": true,
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn group(&self, name: &str, members: Value) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/Groups",
                Some(json!({"schemas": [GROUP], "displayName": name, "members": members})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn patch(&self, group: &str, operations: Value) -> (StatusCode, Value) {
        self.send(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(json!({"schemas": [PATCH], "Operations": operations})),
        )
        .await
    }

    async fn patch_ok(&self, group: &str, operations: Value) {
        let (status, body) = self.patch(group, operations).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Every change since the last call.
    async fn changes(&self) -> Vec<scimkit::model::Change> {
        let after = *self.cursor.lock().unwrap();
        let page = self
            .sync
            .changes(
                &DirectorySelector::Directory(self.directory.clone()),
                after,
                1000,
            )
            .await
            .unwrap();
        *self.cursor.lock().unwrap() = page.next_cursor;
        page.changes
    }

    /// The `user.roles_changed` entries since the last call: (user, before, after).
    async fn roles_changes(&self) -> Vec<RolesChange> {
        roles_changes(self.changes().await)
    }

    async fn roles_of(&self, user: &str) -> BTreeSet<String> {
        self.sync
            .roles_of(
                &DirectorySelector::Directory(self.directory.clone()),
                &user.parse().unwrap(),
            )
            .await
            .unwrap()
    }
}

fn roles_changes(changes: Vec<scimkit::model::Change>) -> Vec<RolesChange> {
    changes
        .into_iter()
        .filter(|c| c.kind == ChangeKind::RolesChanged)
        .map(|c| {
            let (before, after) = (c.roles_before().cloned(), c.roles_after().cloned());
            let user = match c.resource_id {
                ResourceId::User(user) => user.to_string(),
                other => panic!("a roles change names a user, not {other}"),
            };
            (user, before.unwrap(), after.unwrap())
        })
        .collect()
}

/// Okta pushes Engineering ∋ Backend ∋ Db (Group Push sends member groups by id, without
/// a `type`); ann is in Backend, bob in Db.
async fn okta_group_push_with_nested_groups(s: Setup) {
    let ann = s.user("ann@acme.com").await;
    let bob = s.user("bob@acme.com").await;
    s.changes().await;
    let db = s
        .group("Db", json!([{"value": bob, "display": "bob@acme.com"}]))
        .await;
    let backend = s.group("Backend", json!([{"value": ann}])).await;
    assert_eq!(
        s.roles_changes().await,
        [change(&bob, &["viewer"], &["dba"])]
    );

    // Engineering arrives with Backend as a member: ann gets developer.
    let engineering = s
        .group(
            "Engineering",
            json!([{"value": backend, "display": "Backend"}]),
        )
        .await;
    let created = s.changes().await;
    let group_member = created
        .iter()
        .find(|c| c.kind == ChangeKind::GroupMemberAdded)
        .expect("a member_added entry for the member group");
    assert_eq!(
        group_member
            .member_group_id
            .as_ref()
            .map(ToString::to_string),
        Some(backend.clone())
    );
    assert_eq!(group_member.member_id, None, "no user joined");
    assert_eq!(
        roles_changes(created),
        [change(&ann, &["viewer"], &["developer"])]
    );

    // Db is pushed under Backend: bob reaches Engineering two levels up.
    s.patch_ok(
        &backend,
        json!([{"op": "add", "path": "members", "value": [{"value": db, "display": "Db"}]}]),
    )
    .await;
    assert_eq!(
        s.roles_changes().await,
        [change(&bob, &["dba"], &["dba", "developer"])]
    );
    assert_eq!(s.roles_of(&bob).await, roles(&["dba", "developer"]));

    // Backend is taken out of Engineering: everyone below it loses developer, in one step.
    s.patch_ok(
        &engineering,
        json!([{"op": "remove", "path": format!("members[value eq \"{backend}\"]")}]),
    )
    .await;
    assert_eq!(
        s.roles_changes().await,
        [
            change(&ann, &["developer"], &["viewer"]),
            change(&bob, &["dba", "developer"], &["dba"]),
        ]
    );

    // And put back with a replace, typed this time.
    let (status, body) = s
        .send(
            "PUT",
            &format!("/Groups/{engineering}"),
            Some(json!({"schemas": [GROUP], "displayName": "Engineering",
                "members": [{"value": backend, "type": "Group"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        s.roles_changes().await,
        [
            change(&ann, &["viewer"], &["developer"]),
            change(&bob, &["dba"], &["dba", "developer"]),
        ]
    );

    // A rename of the top group reaches every user below it; renaming back restores.
    s.patch_ok(
        &engineering,
        json!([{"op": "replace", "path": "displayName", "value": "Platform"}]),
    )
    .await;
    assert_eq!(
        s.roles_changes().await,
        [
            change(&ann, &["developer"], &["viewer"]),
            change(&bob, &["dba", "developer"], &["dba"]),
        ]
    );
    s.patch_ok(
        &engineering,
        json!([{"op": "replace", "path": "displayName", "value": "Engineering"}]),
    )
    .await;
    assert_eq!(s.roles_changes().await.len(), 2);

    // An unmapped group's member change below a mapped one changes only that user.
    let carol = s.user("carol@acme.com").await;
    s.changes().await;
    s.patch_ok(
        &db,
        json!([{"op": "add", "path": "members", "value": [{"value": carol}]}]),
    )
    .await;
    assert_eq!(
        s.roles_changes().await,
        [change(&carol, &["viewer"], &["dba", "developer"])]
    );

    // Deleting the middle group: its own member and everyone below lose what it passed up.
    let (status, _) = s.send("DELETE", &format!("/Groups/{backend}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.roles_changes().await,
        [
            change(&ann, &["developer"], &["viewer"]),
            change(&bob, &["dba", "developer"], &["dba"]),
            change(&carol, &["dba", "developer"], &["dba"]),
        ]
    );
    let (_, engineering_doc) = s.send("GET", &format!("/Groups/{engineering}"), None).await;
    assert_eq!(
        engineering_doc["members"],
        json!([]),
        "a deleted member group is gone from members"
    );
}

/// Entra assigns a group to the app and then nests an assigned group in it with its
/// `Add` PATCH (capitalised op, `value` array); it removes one with `Remove` and a value.
async fn entra_nested_group_assignment(s: Setup) {
    let ann = s.user("ann@acme.com").await;
    s.changes().await;
    let engineering = s.group("Engineering", json!([])).await;
    let contractors = s.group("Contractors", json!([])).await;
    s.patch_ok(
        &contractors,
        json!([{"op": "Add", "path": "members", "value": [{"value": ann}]}]),
    )
    .await;
    assert_eq!(s.roles_changes().await, [], "Contractors gives no role");
    s.patch_ok(
        &engineering,
        json!([{"op": "Add", "path": "members", "value": [{"value": contractors}]}]),
    )
    .await;
    assert_eq!(
        s.roles_changes().await,
        [change(&ann, &["viewer"], &["developer"])]
    );

    // The user's `groups` list the nested-in group as indirect (RFC 7643 §4.1.2).
    let (_, user) = s.send("GET", &format!("/Users/{ann}"), None).await;
    let groups: Vec<(String, String)> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["value"].as_str().unwrap().to_owned(),
                g["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (engineering.clone(), "indirect".to_owned()),
            (contractors.clone(), "direct".to_owned()),
        ]
    );
    // The group renders its member group with its type and location.
    let (_, group) = s.send("GET", &format!("/Groups/{engineering}"), None).await;
    assert_eq!(
        group["members"],
        json!([{
            "value": contractors,
            "display": "Contractors",
            "$ref": format!("https://scim.example.com/scim/v2/{}/Groups/{contractors}", s.directory),
            "type": "Group",
        }])
    );

    // Deactivating ann takes her nested roles, reactivating gives them back.
    let (status, body) = s
        .send(
            "PATCH",
            &format!("/Users/{ann}"),
            Some(json!({"schemas": [PATCH],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.roles_changes().await, [change(&ann, &["developer"], &[])]);
    s.send(
        "PATCH",
        &format!("/Users/{ann}"),
        Some(json!({"schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "active", "value": "True"}]})),
    )
    .await;
    assert_eq!(s.roles_changes().await, [change(&ann, &[], &["developer"])]);

    s.patch_ok(
        &engineering,
        json!([{"op": "Remove", "path": "members", "value": [{"value": contractors}]}]),
    )
    .await;
    let removed = s.changes().await;
    assert!(
        removed
            .iter()
            .any(|c| c.kind == ChangeKind::GroupMemberRemoved
                && c.member_group_id.as_ref().map(ToString::to_string)
                    == Some(contractors.clone())),
        "{removed:?}"
    );
    assert_eq!(
        roles_changes(removed),
        [change(&ann, &["developer"], &["viewer"])]
    );
}

/// Each refused nesting is a 400 `invalidValue` that names the problem, and changes
/// nothing: no entry in the feed, the members as they were.
async fn refusals_change_nothing(s: Setup, limit: usize) {
    let ann = s.user("ann@acme.com").await;
    s.changes().await;
    let top = s.group("Engineering", json!([])).await;
    let mut chain = vec![top.clone()];
    for level in 0..limit {
        let name = format!("Level {level}");
        let child = s.group(&name, json!([])).await;
        let parent = chain.last().unwrap().clone();
        s.patch_ok(
            &parent,
            json!([{"op": "add", "path": "members", "value": [{"value": child, "type": "Group"}]}]),
        )
        .await;
        chain.push(child);
    }
    let bottom = chain.last().unwrap().clone();
    s.patch_ok(
        &bottom,
        json!([{"op": "add", "path": "members", "value": [{"value": ann}]}]),
    )
    .await;
    assert_eq!(
        s.roles_changes().await,
        [change(&ann, &["viewer"], &["developer"])],
        "{limit} levels down still reach the top"
    );
    let extra = s.group("One too many", json!([])).await;
    s.changes().await;

    let deleted = s.group("Gone", json!([])).await;
    s.send("DELETE", &format!("/Groups/{deleted}"), None).await;
    s.changes().await;
    let unknown = "scim_group_0000000000000000000000000000";
    let cases = [
        (top.clone(), top.clone(), "itself"),
        (bottom.clone(), top.clone(), "cycle"),
        (bottom.clone(), extra.clone(), "levels deep"),
        (
            top.clone(),
            deleted.clone(),
            "not a group of this directory",
        ),
        (top.clone(), unknown.to_owned(), "not a group"),
    ];
    for (parent, child, says) in cases {
        let (_, before) = s.send("GET", &format!("/Groups/{parent}"), None).await;
        let (status, body) = s
            .patch(
                &parent,
                json!([{"op": "add", "path": "members", "value": [{"value": child, "type": "Group"}]}]),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{says}: {body}");
        assert_eq!(body["scimType"], "invalidValue", "{says}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(says), "{says}: {detail}");
        let (_, after) = s.send("GET", &format!("/Groups/{parent}"), None).await;
        assert_eq!(before, after, "{says}: the group is unchanged");
        assert_eq!(s.changes().await, [], "{says}: nothing recorded");
    }
    // The same refusal on create stores no group.
    let (status, body) = s
        .send(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Wrapper",
                "members": [{"value": deleted, "type": "Group"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(s.changes().await, []);
}

async fn memory() -> Setup {
    let store = Arc::new(MemoryStore::new());
    setup(store.clone(), store).await
}

#[tokio::test]
async fn memory_okta_group_push_with_nested_groups() {
    okta_group_push_with_nested_groups(memory().await).await;
}

#[tokio::test]
async fn memory_entra_nested_group_assignment() {
    entra_nested_group_assignment(memory().await).await;
}

#[tokio::test]
async fn memory_refusals_change_nothing() {
    let store = Arc::new(MemoryStore::new().with_max_group_depth(3));
    refusals_change_nothing(setup(store.clone(), store).await, 3).await;
}

#[cfg(feature = "sled")]
mod sled {
    use super::*;

    async fn sled(dir: &tempfile::TempDir) -> Setup {
        let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
        setup(store.clone(), store).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_okta_group_push_with_nested_groups() {
        let dir = tempfile::tempdir().unwrap();
        okta_group_push_with_nested_groups(sled(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_entra_nested_group_assignment() {
        let dir = tempfile::tempdir().unwrap();
        entra_nested_group_assignment(sled(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_refusals_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        refusals_change_nothing(
            sled(&dir).await,
            scimkit::store::plan::DEFAULT_MAX_GROUP_DEPTH,
        )
        .await;
    }

    /// `SledStore::with_max_group_depth` sets the limit the refusals hold to.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_refusals_follow_the_configured_depth() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            scimkit::store::SledStore::open(dir.path())
                .unwrap()
                .with_max_group_depth(3),
        );
        refusals_change_nothing(setup(store.clone(), store).await, 3).await;
    }

    /// Edges are stored: a reopened database still resolves roles through them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_nesting_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (ann, directory) = {
            let s = sled(&dir).await;
            let ann = s.user("ann@acme.com").await;
            let backend = s.group("Backend", json!([{"value": ann}])).await;
            s.group("Engineering", json!([{"value": backend, "type": "Group"}]))
                .await;
            assert_eq!(s.roles_of(&ann).await, roles(&["developer"]));
            (ann, s.directory.clone())
        };
        let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
        let roles_after = DirectorySync::new(store)
            .roles_of(
                &DirectorySelector::Directory(directory),
                &ann.parse().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(roles_after, roles(&["developer"]));
    }
}

/// The Sync API lists a group's member groups, page by page.
#[tokio::test]
async fn sync_lists_member_groups() {
    let s = memory().await;
    let engineering = s.group("Engineering", json!([])).await;
    let mut nested = Vec::new();
    for name in ["Backend", "Frontend", "Data"] {
        let child = s.group(name, json!([])).await;
        s.patch_ok(
            &engineering,
            json!([{"op": "add", "path": "members", "value": [{"value": child}]}]),
        )
        .await;
        nested.push(child);
    }
    let selector = DirectorySelector::Directory(s.directory.clone());
    let mut listed = Vec::new();
    let mut token = None;
    loop {
        let page = s
            .sync
            .list_groups(
                ListGroups::new(selector.clone())
                    .member_groups_of(engineering.parse().unwrap())
                    .with_page_size(2)
                    .with_page_token(token),
            )
            .await
            .unwrap();
        listed.extend(page.items.into_iter().map(|g| g.id.to_string()));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed, nested);
    let top_level = s
        .sync
        .list_groups(ListGroups::new(selector).member_groups_of(nested[0].parse().unwrap()))
        .await
        .unwrap();
    assert!(top_level.items.is_empty());
}

/// The same replays on `PostgresStore`, each in a schema of its own, when
/// `SCIMKIT_POSTGRES_URL` names a database (`scripts/with-postgres.sh`); without one they
/// say so and pass, except under CI, where a skip would hide a broken setup.
#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use scimkit::store::{PostgresOptions, PostgresStore};

    /// A store in a fresh schema and the schema's name, or `None` without a database.
    async fn store(test: &str, depth: usize) -> Option<(Arc<PostgresStore>, String, String)> {
        let Some(url) = std::env::var("SCIMKIT_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: SCIMKIT_POSTGRES_URL is unset under CI; run through scripts/with-postgres.sh"
            );
            eprintln!("SKIPPED {test}: SCIMKIT_POSTGRES_URL is unset");
            return None;
        };
        let schema = format!("t_nested_{test}_{}", std::process::id());
        let options = PostgresOptions::default()
            .with_schema(schema.clone())
            .with_max_connections(4);
        let store = PostgresStore::connect(&url, options)
            .await
            .expect("connect and migrate")
            .with_max_group_depth(depth);
        Some((Arc::new(store), url, schema))
    }

    async fn drop_schema(url: &str, schema: &str) {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .expect("drop the schema");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_okta_group_push_with_nested_groups() {
        let depth = scimkit::store::plan::DEFAULT_MAX_GROUP_DEPTH;
        let Some((store, url, schema)) = store("okta", depth).await else {
            return;
        };
        okta_group_push_with_nested_groups(setup(store.clone(), store).await).await;
        drop_schema(&url, &schema).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_entra_nested_group_assignment() {
        let depth = scimkit::store::plan::DEFAULT_MAX_GROUP_DEPTH;
        let Some((store, url, schema)) = store("entra", depth).await else {
            return;
        };
        entra_nested_group_assignment(setup(store.clone(), store).await).await;
        drop_schema(&url, &schema).await;
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 16, ..Default::default() })]
        /// The brute-force model's property on PostgreSQL, each case in a schema of its
        /// own: the transaction's nesting reads (fetched closure by closure) must plan
        /// exactly what the model says.
        #[test]
        fn postgres_roles_changes_match_a_brute_force_model(
            steps in proptest::collection::vec(step(), 1..25)
        ) {
            static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let depth = scimkit::store::plan::DEFAULT_MAX_GROUP_DEPTH;
                let Some((store, url, schema)) = store(&format!("model{case}"), depth).await else {
                    return Ok(());
                };
                let result = replay(setup(store.clone(), store).await, steps).await;
                drop_schema(&url, &schema).await;
                result
            })?;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_refusals_change_nothing() {
        let Some((store, url, schema)) = store("refusals", 3).await else {
            return;
        };
        refusals_change_nothing(setup(store.clone(), store).await, 3).await;
        drop_schema(&url, &schema).await;
    }
}

/// A model of the directory the property below drives: who is in which group, which
/// group is nested in which, which groups are deleted; roles worked out by brute force.
#[derive(Default, Clone)]
struct Model {
    members: BTreeSet<(usize, usize)>,
    edges: BTreeSet<(usize, usize)>,
    deleted: BTreeSet<usize>,
}

impl Model {
    /// The groups user `u` belongs to, directly or through live groups.
    fn effective(&self, u: usize) -> BTreeSet<usize> {
        let mut reached: BTreeSet<usize> = self
            .members
            .iter()
            .filter(|(g, m)| *m == u && !self.deleted.contains(g))
            .map(|(g, _)| *g)
            .collect();
        loop {
            let above: Vec<usize> = self
                .edges
                .iter()
                .filter(|(p, c)| reached.contains(c) && !self.deleted.contains(p))
                .map(|(p, _)| *p)
                .filter(|p| !reached.contains(p))
                .collect();
            if above.is_empty() {
                return reached;
            }
            reached.extend(above);
        }
    }

    /// Whether `from` contains `to`, through live groups (the edge `to ∋ from` would
    /// then close a cycle).
    fn contains(&self, from: usize, to: usize) -> bool {
        let mut seen = BTreeSet::from([from]);
        let mut pending = vec![from];
        while let Some(g) = pending.pop() {
            for (_, c) in self
                .edges
                .iter()
                .filter(|(p, c)| *p == g && !self.deleted.contains(c))
            {
                if *c == to {
                    return true;
                }
                if seen.insert(*c) {
                    pending.push(*c);
                }
            }
        }
        false
    }

    fn roles(&self, u: usize) -> BTreeSet<String> {
        // Group 0 is "Engineering" (developer), group 1 "Db" (dba); default viewer.
        let groups = self.effective(u);
        let mut roles = BTreeSet::new();
        if groups.contains(&0) {
            roles.insert("developer".to_owned());
        }
        if groups.contains(&1) {
            roles.insert("dba".to_owned());
        }
        if roles.is_empty() {
            roles.insert("viewer".to_owned());
        }
        roles
    }
}

#[derive(Debug, Clone)]
enum Step {
    Join(usize, usize),
    Leave(usize, usize),
    Nest(usize, usize),
    Unnest(usize, usize),
    Delete(usize),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (0..5usize, 0..3usize).prop_map(|(g, u)| Step::Join(g, u)),
        (0..5usize, 0..3usize).prop_map(|(g, u)| Step::Leave(g, u)),
        (0..5usize, 0..5usize).prop_map(|(p, c)| Step::Nest(p, c)),
        (0..5usize, 0..5usize).prop_map(|(p, c)| Step::Unnest(p, c)),
        (1..5usize).prop_map(Step::Delete),
    ]
}

/// Replays `steps` through `s` against the model (see the properties below).
async fn replay(s: Setup, steps: Vec<Step>) -> Result<(), proptest::test_runner::TestCaseError> {
    let mut users = Vec::new();
    for n in 0..3 {
        users.push(s.user(&format!("u{n}@acme.com")).await);
    }
    let names = ["Engineering", "Db", "G2", "G3", "G4"];
    let mut groups = Vec::new();
    for name in names {
        groups.push(s.group(name, json!([])).await);
    }
    s.changes().await;
    let mut model = Model::default();
    for step in steps {
        let before = model.clone();
        let (group, operation, next) = match &step {
            Step::Join(g, u) => {
                let mut next = model.clone();
                next.members.insert((*g, *u));
                (
                    *g,
                    json!([{"op": "add", "path": "members", "value": [{"value": users[*u]}]}]),
                    next,
                )
            }
            Step::Leave(g, u) => {
                let mut next = model.clone();
                next.members.remove(&(*g, *u));
                (
                    *g,
                    json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[*u])}]),
                    next,
                )
            }
            Step::Nest(p, c) => {
                let mut next = model.clone();
                next.edges.insert((*p, *c));
                (
                    *p,
                    json!([{"op": "add", "path": "members", "value": [{"value": groups[*c], "type": "Group"}]}]),
                    next,
                )
            }
            Step::Unnest(p, c) => {
                let mut next = model.clone();
                next.edges.remove(&(*p, *c));
                (
                    *p,
                    json!([{"op": "remove", "path": "members", "value": [{"value": groups[*c]}]}]),
                    next,
                )
            }
            Step::Delete(g) => {
                let mut next = model.clone();
                next.deleted.insert(*g);
                (*g, Value::Null, next)
            }
        };
        if model.deleted.contains(&group) {
            continue;
        }
        let status = if operation.is_null() {
            s.send("DELETE", &format!("/Groups/{}", groups[group]), None)
                .await
                .0
        } else {
            s.patch(&groups[group], operation).await.0
        };
        let must_refuse = match step {
            Step::Nest(p, c) => p == c || model.deleted.contains(&c) || model.contains(c, p),
            _ => false,
        };
        proptest::prop_assert_eq!(
            status.is_success(),
            !must_refuse,
            "{:?} answered {}",
            step,
            status
        );
        if must_refuse {
            // A self-membership, a cycle, or a deleted member group.
            proptest::prop_assert_eq!(status, StatusCode::BAD_REQUEST);
            proptest::prop_assert!(s.changes().await.is_empty(), "a refusal records nothing");
            continue;
        }
        model = next;
        let expected: Vec<RolesChange> = (0..users.len())
            .filter(|u| before.roles(*u) != model.roles(*u))
            .map(|u| (users[u].clone(), before.roles(u), model.roles(u)))
            .collect();
        proptest::prop_assert_eq!(s.roles_changes().await, expected, "after {:?}", step);
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 128, ..Default::default() })]
    /// Whatever the IdP does to memberships and nesting, the feed's `roles_changed`
    /// entries of each write are exactly the users whose brute-force roles changed, with
    /// those roles before and after; refused nestings (cycles) change nothing.
    #[test]
    fn roles_changes_match_a_brute_force_model(steps in proptest::collection::vec(step(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async { replay(memory().await, steps).await })?;
    }
}

#[cfg(feature = "sled")]
proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 16, ..Default::default() })]
    /// The same on sled (fewer cases: each opens a database).
    #[test]
    fn sled_roles_changes_match_a_brute_force_model(steps in proptest::collection::vec(step(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
            replay(setup(store.clone(), store).await, steps).await
        })?;
    }
}
