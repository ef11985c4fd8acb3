//! Group-to-role mapping through the SCIM service and the Sync API, on the memory and
//! sled stores: every write that changes a user's effective roles records exactly one
//! `user.roles_changed` entry for that user, with the roles before and after, and
//! nothing else does. Replays an Okta Group Push and an Entra group-assignment sequence.
#![cfg(feature = "testing")]

use std::collections::BTreeSet;
use std::sync::Arc;

use scimkit::model::{ChangeKind, DirectoryId, GroupMatch, ResourceId, RoleMapping};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
use scimkit::testing::{Entra, InProcess, Okta, SimUser};
use scimkit::{Admin, ScimService};

struct Setup {
    admin: Admin,
    sync: DirectorySync,
    scim: ScimService,
    directory: DirectoryId,
    token: String,
    /// Feed position already read.
    cursor: std::sync::Mutex<u64>,
}

fn roles(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn setup(
    store: Arc<dyn DirectoryStore>,
    tokens: Arc<dyn TokenStore>,
    mapping: RoleMapping,
) -> Setup {
    let admin = Admin::with_stores(store.clone(), tokens.clone());
    let org = admin.create_organization(None, vec![]).await.unwrap();
    let directory = admin.create_directory(&org.id, true).await.unwrap();
    // "Okta group `Engineering` → role `developer`, default `viewer`": one call.
    admin
        .set_role_mapping(&directory.id, mapping)
        .await
        .unwrap();
    let token = admin.issue_scim_token(&directory.id).await.unwrap().secret;
    let scim = ScimService::builder_with(store.clone(), tokens).build();
    let sync = DirectorySync::new(store);
    Setup {
        admin,
        sync,
        scim,
        directory: directory.id,
        token,
        cursor: std::sync::Mutex::new(0),
    }
}

impl Setup {
    fn transport(&self) -> InProcess {
        InProcess::new(self.scim.clone(), &self.directory, self.token.clone())
    }

    fn selector(&self) -> DirectorySelector {
        DirectorySelector::Directory(self.directory.clone())
    }

    /// The `user.roles_changed` entries since the last call: (user, before, after).
    async fn roles_changes(&self) -> Vec<(String, BTreeSet<String>, BTreeSet<String>)> {
        let after = *self.cursor.lock().unwrap();
        let page = self
            .sync
            .changes(&self.selector(), after, 1000)
            .await
            .unwrap();
        *self.cursor.lock().unwrap() = page.next_cursor;
        page.changes
            .into_iter()
            .filter(|c| c.kind == ChangeKind::RolesChanged)
            .map(|c| {
                let before = c.roles_before().cloned().unwrap();
                let after = c.roles_after().cloned().unwrap();
                let user = match c.resource_id {
                    ResourceId::User(user) => user.to_string(),
                    other => panic!("a roles change names a user, not {other}"),
                };
                (user, before, after)
            })
            .collect()
    }

    async fn roles_of(&self, user: &str) -> BTreeSet<String> {
        self.sync
            .roles_of(&self.selector(), &user.parse().unwrap())
            .await
            .unwrap()
    }
}

fn okta_mapping() -> RoleMapping {
    RoleMapping::new()
        .map(GroupMatch::DisplayName("Engineering".into()), "developer")
        .map(GroupMatch::DisplayName("Sales".into()), "sales")
        .with_default("viewer")
}

async fn okta_group_push_records_one_roles_change_per_effective_change(s: Setup) {
    let okta = Okta::new(s.transport());
    let ann = okta.provision(&SimUser::new("ann@acme.com")).await.unwrap();
    assert_eq!(
        s.roles_changes().await,
        [(ann.clone(), roles(&[]), roles(&["viewer"]))],
        "a new user gets the default role"
    );
    let engineering = okta.push_group("Engineering", &[&ann]).await.unwrap();
    assert_eq!(
        s.roles_changes().await,
        [(ann.clone(), roles(&["viewer"]), roles(&["developer"]))]
    );
    let sales = okta.push_group("Sales", &[]).await.unwrap();
    let marketing = okta.push_group("Marketing", &[&ann]).await.unwrap();
    assert_eq!(
        s.roles_changes().await,
        [],
        "a group without members, or one no rule names, changes no roles"
    );

    // The IdP moves ann from Engineering to Sales: two pushes, two effective changes.
    okta.update_pushed_group(&sales, "Sales", &[&ann], &[])
        .await
        .unwrap();
    okta.update_pushed_group(&engineering, "Engineering", &[], &[&ann])
        .await
        .unwrap();
    assert_eq!(
        s.roles_changes().await,
        [
            (
                ann.clone(),
                roles(&["developer"]),
                roles(&["developer", "sales"])
            ),
            (
                ann.clone(),
                roles(&["developer", "sales"]),
                roles(&["sales"])
            ),
        ]
    );
    assert_eq!(s.roles_of(&ann).await, roles(&["sales"]));

    // A rename away from the mapped name, and back; a user update changes nothing.
    okta.update_pushed_group(&sales, "Sales EMEA", &[], &[])
        .await
        .unwrap();
    okta.update_pushed_group(&sales, "sales", &[], &[])
        .await
        .unwrap();
    okta.update(&ann, &SimUser::new("ann@acme.com").named("Ann", "Lee"))
        .await
        .unwrap();
    assert_eq!(
        s.roles_changes().await,
        [
            (ann.clone(), roles(&["sales"]), roles(&["viewer"])),
            (ann.clone(), roles(&["viewer"]), roles(&["sales"])),
        ],
        "display names match case-insensitively"
    );

    // Deprovisioning takes every role; reactivation gives them back.
    okta.deactivate(&ann).await.unwrap();
    okta.reactivate(&ann).await.unwrap();
    assert_eq!(
        s.roles_changes().await,
        [
            (ann.clone(), roles(&["sales"]), roles(&[])),
            (ann.clone(), roles(&[]), roles(&["sales"])),
        ]
    );
    okta.delete_group(&marketing).await.unwrap();
    assert_eq!(s.roles_changes().await, [], "an unmapped group's deletion");
    okta.delete_group(&sales).await.unwrap();
    assert_eq!(
        s.roles_changes().await,
        [(ann.clone(), roles(&["sales"]), roles(&["viewer"]))],
        "a deleted group gives no role"
    );
}

async fn entra_group_assignment_records_exact_roles_changes(s: Setup) {
    let entra = Entra::new(s.transport());
    let ann = entra
        .provision(&SimUser::new("ann@acme.com"))
        .await
        .unwrap();
    let bob = entra
        .provision(&SimUser::new("bob@acme.com"))
        .await
        .unwrap();
    s.roles_changes().await;
    let engineering = entra.create_group("Engineering").await.unwrap();
    entra
        .add_to_group(&engineering, &[&ann, &bob])
        .await
        .unwrap();
    let mut both = vec![
        (
            ann.clone(),
            roles(&["viewer"]),
            roles(&["admin", "developer"]),
        ),
        (
            bob.clone(),
            roles(&["viewer"]),
            roles(&["admin", "developer"]),
        ),
    ];
    both.sort();
    assert_eq!(
        s.roles_changes().await,
        both,
        "one entry per member, in id order"
    );
    entra
        .remove_from_group(&engineering, &[&bob])
        .await
        .unwrap();
    entra
        .remove_from_group(&engineering, &[&bob])
        .await
        .unwrap();
    assert_eq!(
        s.roles_changes().await,
        [(
            bob.clone(),
            roles(&["admin", "developer"]),
            roles(&["viewer"])
        )],
        "removing a non-member again records nothing"
    );
    entra.deprovision(&ann).await.unwrap();
    entra.restore(&ann).await.unwrap();
    entra.delete(&bob).await.unwrap();
    assert_eq!(
        s.roles_changes().await,
        [
            (ann.clone(), roles(&["admin", "developer"]), roles(&[])),
            (ann.clone(), roles(&[]), roles(&["admin", "developer"])),
            (bob.clone(), roles(&["viewer"]), roles(&[])),
        ]
    );

    // Listing with roles: one page, each user with the roles the feed last reported.
    let page = s
        .sync
        .list_users(ListUsers::new(s.selector()).with_roles())
        .await
        .unwrap();
    let listed: Vec<(String, BTreeSet<String>)> = page
        .items
        .into_iter()
        .map(|u| (u.id.to_string(), u.roles.unwrap()))
        .collect();
    let mut expected = vec![
        (ann.clone(), roles(&["admin", "developer"])),
        (bob.clone(), roles(&[])),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    // A mapping change is one directory entry, not one per user; reads follow it.
    s.admin
        .set_role_mapping(&s.directory, RoleMapping::new().with_default("member"))
        .await
        .unwrap();
    let page = s.sync.changes(&s.selector(), 0, 1000).await.unwrap();
    assert_eq!(
        page.changes.last().map(|c| c.kind),
        Some(ChangeKind::RoleMappingChanged)
    );
    assert_eq!(s.roles_changes().await, []);
    assert_eq!(s.roles_of(&ann).await, roles(&["member"]));
}

fn entra_mapping() -> RoleMapping {
    // Entra's group gets `externalId` `ext-Engineering` from the simulator: match it by
    // externalId and by name, so members get both roles.
    RoleMapping::new()
        .map(
            GroupMatch::ExternalId("ext-Engineering".into()),
            "developer",
        )
        .map(GroupMatch::DisplayName("ENGINEERING".into()), "admin")
        .with_default("viewer")
}

async fn memory(mapping: RoleMapping) -> Setup {
    let store = Arc::new(MemoryStore::new());
    setup(store.clone(), store, mapping).await
}

#[tokio::test]
async fn memory_okta_group_push_records_one_roles_change_per_effective_change() {
    okta_group_push_records_one_roles_change_per_effective_change(memory(okta_mapping()).await)
        .await;
}

#[tokio::test]
async fn memory_entra_group_assignment_records_exact_roles_changes() {
    entra_group_assignment_records_exact_roles_changes(memory(entra_mapping()).await).await;
}

#[cfg(feature = "sled")]
mod sled {
    use super::*;

    async fn sled(dir: &tempfile::TempDir, mapping: RoleMapping) -> Setup {
        let store = Arc::new(scimkit::store::SledStore::open(dir.path()).unwrap());
        setup(store.clone(), store, mapping).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_okta_group_push_records_one_roles_change_per_effective_change() {
        let dir = tempfile::tempdir().unwrap();
        okta_group_push_records_one_roles_change_per_effective_change(
            sled(&dir, okta_mapping()).await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_entra_group_assignment_records_exact_roles_changes() {
        let dir = tempfile::tempdir().unwrap();
        entra_group_assignment_records_exact_roles_changes(sled(&dir, entra_mapping()).await).await;
    }
}
