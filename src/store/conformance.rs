//! The promises of [`DirectoryStore`] and [`TokenStore`], as a suite any backend runs:
//! ours, or a vendor's own.
//!
//! Each check is a plain `pub async fn` taking a fresh pair of stores; [`run_all`] runs
//! them all, asking a factory for a fresh, empty store before each (the checks use fixed
//! ids, so they cannot share one store). Failures panic with a message naming the broken
//! promise, so they read well in a test report.
//!
//! A vendor runs it on their own backend from a test, with scimkit's `conformance`
//! feature enabled; here `MemoryStore` stands in for theirs:
//!
//! ```
//! use std::sync::Arc;
//! use scimkit::store::MemoryStore;
//! use scimkit::store::conformance::{self, Stores};
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() {
//! // #[tokio::test(flavor = "multi_thread")] async fn my_store_keeps_scimkit_promises() {
//! conformance::run_all(|| async {
//!     let store = Arc::new(MemoryStore::new()); // your backend: fresh and empty
//!     let stores: Stores = (store.clone(), store);
//!     stores
//! })
//! .await;
//! # }
//! ```
//!
//! The concurrency checks spawn Tokio tasks: run the suite on a multi-threaded runtime.
//!
//! A backend that also keeps webhook delivery state runs [`webhook_store`] on it.

mod members;

pub use members::members_of_groups;

use std::future::Future;
use std::sync::Arc;

use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use super::{DeadLetter, WebhookStore};
use super::{
    DirectoryEdit, DirectoryStore, DirectoryStoreExt, EntityKind, GroupFilter, GroupKey, Keyset,
    MembershipEdit, States, StoreError, TokenStore, UniqueAttribute, UserFilter, UserKey,
};
use crate::model::{
    Change, ChangeKind, Directory, DirectoryId, DirectoryState, FieldMapping, Group, GroupId,
    GroupMatch, IdpKind, Meta, Organization, OrganizationId, ResourceId, RoleMapping, TokenHash,
    TokenId, TokenRecord, TokenScope, UniqueKey, User, UserId, UserState,
};

mod group_unique;
pub use group_unique::{
    concurrent_unique_group_attribute_creates, declared_unique_group_attributes,
};

/// A directory store and a token store under test (often the same object twice).
pub type Stores = (Arc<dyn DirectoryStore>, Arc<dyn TokenStore>);

const AT: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

fn uuid(n: u128) -> Uuid {
    // Time-ordered like v7 ids: the prefix makes larger `n` sort later.
    Uuid::from_u128((1u128 << 100) | n)
}

fn org(n: u128, external_id: Option<&str>) -> Organization {
    Organization {
        id: OrganizationId::from_uuid(uuid(n)),
        external_id: external_id.map(str::to_owned),
        domains: Vec::new(),
        created: AT,
    }
}

fn user(directory: &DirectoryId, n: u128, user_name: &str) -> User {
    User {
        id: UserId::from_uuid(uuid(n)),
        directory_id: directory.clone(),
        email: Some(format!("{n}@example.com")),
        state: UserState::Active,
        attributes: json!({"userName": user_name, "externalId": format!("ext-{n}"),
            "emails": [{"value": format!("Mail{n}@Example.com")}]}),
        meta: Meta::new(AT),
        unique_keys: Vec::new(),
    }
}

fn group(directory: &DirectoryId, n: u128, name: &str) -> Group {
    Group {
        id: GroupId::from_uuid(uuid(n)),
        directory_id: directory.clone(),
        display_name: name.to_owned(),
        deleted: false,
        attributes: json!({"displayName": name, "externalId": format!("gext-{n}")}),
        meta: Meta::new(AT),
        unique_keys: Vec::new(),
    }
}

/// An organization with a primary directory.
async fn setup(stores: &Stores, n: u128) -> DirectoryId {
    let (store, _) = stores;
    let organization = org(n, Some(&format!("org-{n}")));
    store
        .insert_organization(organization.clone())
        .await
        .expect("insert_organization");
    let directory = Directory::new(DirectoryId::from_uuid(uuid(n + 1)), organization.id, true);
    store
        .insert_directory(directory.clone())
        .await
        .expect("insert_directory");
    directory.id
}

/// Which nested-group promise a backend keeps (see the store trait's "Nested groups").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Nesting {
    /// It stores member groups: [`nested_groups`] runs.
    Stored,
    /// It refuses them with `NestingRefusal::Unsupported`: [`nested_groups_refused`]
    /// runs instead.
    Refused,
}

/// Runs every check, each on a fresh pair of stores from `new_stores`, for a backend
/// that stores nested groups.
pub async fn run_all<F, Fut>(new_stores: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Stores>,
{
    run_all_with(Nesting::Stored, new_stores).await;
}

/// [`run_all`], with the nested-group check `nesting` names.
pub async fn run_all_with<F, Fut>(nesting: Nesting, new_stores: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Stores>,
{
    match nesting {
        Nesting::Stored => nested_groups(new_stores().await).await,
        Nesting::Refused => nested_groups_refused(new_stores().await).await,
    }
    organizations(new_stores().await).await;
    directories(new_stores().await).await;
    user_versions(new_stores().await).await;
    user_indexes(new_stores().await).await;
    keyset_listing(new_stores().await).await;
    user_name_uniqueness(new_stores().await).await;
    concurrent_creates(new_stores().await).await;
    declared_unique_attributes(new_stores().await).await;
    concurrent_unique_attribute_creates(new_stores().await).await;
    declared_unique_group_attributes(new_stores().await).await;
    concurrent_unique_group_attribute_creates(new_stores().await).await;
    memberships(new_stores().await).await;
    concurrent_member_edits(new_stores().await).await;
    group_updates(new_stores().await).await;
    concurrent_group_updates(new_stores().await).await;
    change_log(new_stores().await).await;
    change_snapshots(new_stores().await).await;
    change_resource_ids(new_stores().await).await;
    tokens(new_stores().await).await;
    isolation(new_stores().await).await;
    listing_filters_and_counts(new_stores().await).await;
    batch_reads(new_stores().await).await;
    members_of_groups(new_stores().await).await;
    no_op_writes(new_stores().await).await;
    change_log_retention(new_stores().await).await;
    purge(new_stores().await).await;
    directory_lifecycle(new_stores().await).await;
    directory_schema_extensions(new_stores().await).await;
    concurrent_directory_writes(new_stores().await).await;
    role_changes(new_stores().await).await;
    concurrent_role_changes(new_stores().await).await;
}

/// The kinds of the entries recorded after `seq`, with the member group of each
/// membership entry and the roles of each roles entry; and the latest seq.
async fn entries_after(
    store: &dyn DirectoryStore,
    dir: &DirectoryId,
    seq: u64,
) -> (
    Vec<(
        ChangeKind,
        Option<GroupId>,
        Option<crate::model::RolesDelta>,
    )>,
    u64,
) {
    let changes = store
        .list_changes(dir, seq, 1000)
        .await
        .expect("list_changes");
    let latest = changes.last().map_or(seq, |c| c.seq);
    let entries = changes
        .into_iter()
        .map(|c| (c.kind, c.member_group_id, c.roles))
        .collect();
    (entries, latest)
}

fn delta(before: &[&str], after: &[&str]) -> Option<crate::model::RolesDelta> {
    let set = |r: &[&str]| r.iter().map(|s| s.to_string()).collect();
    Some(crate::model::RolesDelta::new(set(before), set(after)))
}

/// Nested groups: member groups are stored and listed both ways, nesting rules refuse
/// self-memberships, cycles, chains past [`DEFAULT_MAX_GROUP_DEPTH`] and unknown or
/// deleted groups without changing anything, `groups_of_users` lists ancestors, and
/// every write records exactly one `user.roles_changed` per user whose effective roles
/// (through ancestors) change. Assumes the backend's default depth limit.
///
/// [`DEFAULT_MAX_GROUP_DEPTH`]: super::plan::DEFAULT_MAX_GROUP_DEPTH
pub async fn nested_groups(stores: Stores) {
    use super::plan::{DEFAULT_MAX_GROUP_DEPTH, NestingRefusal};
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let mapping = RoleMapping::new()
        .map(GroupMatch::DisplayName("Eng".into()), "developer")
        .with_default("viewer");
    store
        .edit_directory(&dir, &[DirectoryEdit::Roles(mapping)], AT)
        .await
        .expect("set the mapping");
    let ann = store.insert_user(user(&dir, 10, "ann")).await.expect("ann");
    let bob = store.insert_user(user(&dir, 11, "bob")).await.expect("bob");
    let backend = store
        .insert_group(
            group(&dir, 21, "Backend"),
            std::slice::from_ref(&ann.id),
            &[],
        )
        .await
        .expect("Backend");
    let db = store
        .insert_group(group(&dir, 22, "Db"), std::slice::from_ref(&bob.id), &[])
        .await
        .expect("Db");
    let seq = store.latest_change_seq(&dir).await.expect("seq");

    // Eng arrives with Backend as a member group: ann gets developer, in the same step.
    let eng = store
        .insert_group(
            group(&dir, 20, "Eng"),
            &[],
            std::slice::from_ref(&backend.id),
        )
        .await
        .expect("a group inserted with a member group");
    let (entries, seq) = entries_after(store.as_ref(), &dir, seq).await;
    assert_eq!(
        entries,
        [
            (ChangeKind::GroupCreated, None, None),
            (ChangeKind::GroupMemberAdded, Some(backend.id.clone()), None),
            (
                ChangeKind::RolesChanged,
                None,
                delta(&["viewer"], &["developer"])
            ),
        ],
        "group.created, the member group's member_added, and ann's roles change"
    );

    // Db nested in Backend: bob, two levels below Eng, gets developer.
    store
        .edit_members(
            &dir,
            &backend.id,
            &[MembershipEdit::AddGroup(db.id.clone())],
            AT,
        )
        .await
        .expect("nest Db in Backend");
    let (entries, _) = entries_after(store.as_ref(), &dir, seq).await;
    assert_eq!(
        entries,
        [
            (ChangeKind::GroupMemberAdded, Some(db.id.clone()), None),
            (
                ChangeKind::RolesChanged,
                None,
                delta(&["viewer"], &["developer"])
            ),
        ]
    );

    let dir_ref = &dir;
    let only = |f: GroupFilter| async move {
        let dir = dir_ref;
        let listed = store
            .list_groups(dir, &f, Keyset::all())
            .await
            .expect("list_groups");
        let counted = store.count_groups(dir, &f).await.expect("count_groups");
        assert_eq!(listed.len() as u64, counted, "count matches the listing");
        listed.into_iter().map(|g| g.id).collect::<Vec<_>>()
    };
    assert_eq!(
        only(GroupFilter {
            parent: Some(eng.id.clone()),
            ..GroupFilter::default()
        })
        .await,
        std::slice::from_ref(&backend.id),
        "GroupFilter::parent lists the member groups"
    );
    assert_eq!(
        only(GroupFilter {
            member_group: Some(db.id.clone()),
            ..GroupFilter::default()
        })
        .await,
        std::slice::from_ref(&backend.id),
        "GroupFilter::member_group lists the parents"
    );
    assert_eq!(
        only(GroupFilter {
            parent: Some(db.id.clone()),
            ..GroupFilter::default()
        })
        .await,
        Vec::<GroupId>::new(),
        "a leaf nests nothing"
    );

    let rows = store
        .groups_of_users(&dir, std::slice::from_ref(&bob.id))
        .await
        .expect("groups_of_users");
    let rows: Vec<(GroupId, bool)> = rows.into_iter().map(|r| (r.group_id, r.direct)).collect();
    assert_eq!(
        rows,
        [
            (eng.id.clone(), false),
            (backend.id.clone(), false),
            (db.id.clone(), true)
        ],
        "groups_of_users: direct groups and ancestors, in group id order"
    );

    // Refusals change nothing.
    let gone = store
        .insert_group(group(&dir, 23, "Gone"), &[], &[])
        .await
        .expect("Gone");
    store
        .update_group(
            Group {
                deleted: true,
                ..gone.clone()
            },
            gone.meta.version,
            &[],
        )
        .await
        .expect("delete Gone");
    let seq = store.latest_change_seq(&dir).await.expect("seq");
    let refused = [
        (db.id.clone(), db.id.clone()),
        (db.id.clone(), eng.id.clone()),
        (eng.id.clone(), gone.id.clone()),
        (eng.id.clone(), GroupId::from_uuid(uuid(99))),
    ];
    for (parent, child) in refused {
        let result = store
            .edit_members(
                &dir,
                &parent,
                &[MembershipEdit::AddGroup(child.clone())],
                AT,
            )
            .await;
        match (&result, parent == child) {
            (Err(StoreError::Nesting(NestingRefusal::Itself(g))), true) => {
                assert_eq!(*g, child);
            }
            (Err(StoreError::Nesting(NestingRefusal::Cycle(path))), false) => {
                assert_eq!(path.first(), Some(&child), "the cycle starts at the child");
                assert_eq!(path.last(), Some(&child), "and ends there");
            }
            (
                Err(StoreError::NotFound {
                    kind: EntityKind::Group,
                    ..
                }),
                false,
            ) => {}
            (other, _) => panic!("{parent} ∋ {child} must be refused, got {other:?}"),
        }
    }
    assert_eq!(
        store.latest_change_seq(&dir).await.expect("seq"),
        seq,
        "a refused nesting records nothing"
    );

    // A chain of exactly the limit is accepted; one more level is refused.
    let mut bottom = db.clone();
    let mut chain = 3; // Eng ∋ Backend ∋ Db: two levels
    for n in 0..DEFAULT_MAX_GROUP_DEPTH {
        let next = store
            .insert_group(group(&dir, 30 + n as u128, &format!("L{n}")), &[], &[])
            .await
            .expect("a level");
        let nested = store
            .edit_members(
                &dir,
                &bottom.id,
                &[MembershipEdit::AddGroup(next.id.clone())],
                AT,
            )
            .await;
        chain += 1;
        if chain - 1 <= DEFAULT_MAX_GROUP_DEPTH {
            nested.expect("within the limit");
            bottom = next;
        } else {
            assert!(
                matches!(
                    nested,
                    Err(StoreError::Nesting(NestingRefusal::TooDeep { .. }))
                ),
                "one level past the limit is refused: {nested:?}"
            );
            break;
        }
    }
    let seq = store.latest_change_seq(&dir).await.expect("seq");

    // Backend leaves Eng: both users below it lose developer, each once, in one step.
    store
        .edit_members(
            &dir,
            &eng.id,
            &[MembershipEdit::RemoveGroup(backend.id.clone())],
            AT,
        )
        .await
        .expect("remove Backend from Eng");
    let (entries, seq) = entries_after(store.as_ref(), &dir, seq).await;
    assert_eq!(
        entries,
        [
            (
                ChangeKind::GroupMemberRemoved,
                Some(backend.id.clone()),
                None
            ),
            (
                ChangeKind::RolesChanged,
                None,
                delta(&["developer"], &["viewer"])
            ),
            (
                ChangeKind::RolesChanged,
                None,
                delta(&["developer"], &["viewer"])
            ),
        ]
    );

    // Put back, then Backend is deleted: a deleted group passes nothing up.
    let eng = store
        .edit_members(
            &dir,
            &eng.id,
            &[MembershipEdit::AddGroup(backend.id.clone())],
            AT,
        )
        .await
        .expect("put Backend back");
    let (entries, seq) = entries_after(store.as_ref(), &dir, seq).await;
    assert_eq!(entries.len(), 3, "member_added and two roles changes");
    let backend = store
        .get_group(&dir, &backend.id)
        .await
        .expect("get")
        .expect("Backend");
    store
        .update_group(
            Group {
                deleted: true,
                ..backend.clone()
            },
            backend.meta.version,
            &[],
        )
        .await
        .expect("delete Backend");
    let (entries, _) = entries_after(store.as_ref(), &dir, seq).await;
    let kinds: Vec<ChangeKind> = entries.iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::GroupDeleted,
            ChangeKind::RolesChanged,
            ChangeKind::RolesChanged
        ],
        "deleting the middle group cuts both users off"
    );
    assert_eq!(
        only(GroupFilter {
            parent: Some(eng.id.clone()),
            states: States::Visible,
            ..GroupFilter::default()
        })
        .await,
        Vec::<GroupId>::new(),
        "a deleted member group is not visible"
    );

    // Restored (through the store; SCIM cannot), it passes Eng's roles down again.
    let seq = store.latest_change_seq(&dir).await.expect("seq");
    let deleted = store
        .get_group(&dir, &backend.id)
        .await
        .expect("get")
        .expect("Backend");
    store
        .update_group(
            Group {
                deleted: false,
                ..deleted.clone()
            },
            deleted.meta.version,
            &[],
        )
        .await
        .expect("restore Backend");
    let (entries, _) = entries_after(store.as_ref(), &dir, seq).await;
    let roles: Vec<_> = entries
        .into_iter()
        .filter(|e| e.0 == ChangeKind::RolesChanged)
        .map(|e| e.2)
        .collect();
    assert_eq!(
        roles,
        [
            delta(&["viewer"], &["developer"]),
            delta(&["viewer"], &["developer"])
        ],
        "restoring the middle group gives both users Eng's role back"
    );
}

/// For a backend that does not store nested groups: adding a member group is refused
/// with `NestingRefusal::Unsupported` and changes nothing, removing one is a no-op, no
/// group has a parent or member group, and every `groups_of_users` row is direct.
pub async fn nested_groups_refused(stores: Stores) {
    use super::plan::NestingRefusal;
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let ann = store.insert_user(user(&dir, 10, "ann")).await.expect("ann");
    let backend = store
        .insert_group(
            group(&dir, 21, "Backend"),
            std::slice::from_ref(&ann.id),
            &[],
        )
        .await
        .expect("Backend");
    let seq = store.latest_change_seq(&dir).await.expect("seq");
    let refused = store
        .insert_group(
            group(&dir, 20, "Eng"),
            &[],
            std::slice::from_ref(&backend.id),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Nesting(NestingRefusal::Unsupported(_)))
        ),
        "insert_group with a member group: {refused:?}"
    );
    assert_eq!(
        store
            .get_group(&dir, &GroupId::from_uuid(uuid(20)))
            .await
            .expect("get"),
        None,
        "the refused group is not stored"
    );
    let eng = store
        .insert_group(group(&dir, 20, "Eng"), &[], &[])
        .await
        .expect("Eng");
    let seq = seq + 1;
    let refused = store
        .edit_members(
            &dir,
            &eng.id,
            &[MembershipEdit::AddGroup(backend.id.clone())],
            AT,
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Nesting(NestingRefusal::Unsupported(_)))
        ),
        "edit_members adding a member group: {refused:?}"
    );
    let kept = store
        .edit_members(
            &dir,
            &eng.id,
            &[MembershipEdit::RemoveGroup(backend.id.clone())],
            AT,
        )
        .await
        .expect("removing a member group that is not one");
    assert_eq!(
        kept.meta.version, eng.meta.version,
        "a no-op keeps the version"
    );
    assert_eq!(
        store.latest_change_seq(&dir).await.expect("seq"),
        seq,
        "nothing recorded"
    );
    let filter = GroupFilter {
        parent: Some(eng.id.clone()),
        ..GroupFilter::default()
    };
    assert!(
        store
            .list_groups(&dir, &filter, Keyset::all())
            .await
            .expect("list")
            .is_empty()
    );
    let rows = store
        .groups_of_users(&dir, std::slice::from_ref(&ann.id))
        .await
        .expect("groups_of_users");
    assert!(rows.iter().all(|r| r.direct), "{rows:?}");
}

/// Organizations: external ids are unique and findable, updates move the index.
pub async fn organizations(stores: Stores) {
    let (store, _) = &stores;
    let a = org(1, Some("acme"));
    store.insert_organization(a.clone()).await.expect("insert");
    assert_eq!(
        store.get_organization(&a.id).await.expect("get"),
        Some(a.clone()),
        "get returns what was inserted"
    );
    assert_eq!(
        store.find_organization("acme").await.expect("find"),
        Some(a.clone()),
        "find by external id"
    );
    assert!(
        matches!(
            store.insert_organization(org(2, Some("acme"))).await,
            Err(StoreError::Conflict(
                UniqueAttribute::OrganizationExternalId
            ))
        ),
        "a taken external id is a Conflict"
    );
    assert!(
        matches!(
            store.insert_organization(a.clone()).await,
            Err(StoreError::Conflict(_))
        ),
        "a taken id is a Conflict"
    );
    let renamed = Organization {
        external_id: Some("acme-2".into()),
        ..a.clone()
    };
    store
        .update_organization(renamed.clone())
        .await
        .expect("update");
    assert_eq!(
        store.find_organization("acme").await.expect("find"),
        None,
        "the old external id is released"
    );
    assert_eq!(
        store.find_organization("acme-2").await.expect("find"),
        Some(renamed)
    );
    store
        .insert_organization(org(3, Some("acme")))
        .await
        .expect("a released external id is free again");
    assert!(
        matches!(
            store.update_organization(org(9, None)).await,
            Err(StoreError::NotFound { .. })
        ),
        "update of a missing org"
    );
    let first = store
        .list_organizations(Keyset::after(None, 1))
        .await
        .expect("list");
    let rest = store
        .list_organizations(Keyset::after(first.last().map(|o| &o.id).cloned(), 10))
        .await
        .expect("list");
    let ids: Vec<_> = first.iter().chain(&rest).map(|o| o.id.clone()).collect();
    assert_eq!(
        ids,
        vec![org(1, None).id, org(3, None).id],
        "keyset listing in id order"
    );
}

/// Directories: need their organization; at most one primary per organization.
pub async fn directories(stores: Stores) {
    let (store, _) = &stores;
    let acme = org(1, None);
    store
        .insert_organization(acme.clone())
        .await
        .expect("insert org");
    let orphan = Directory::new(DirectoryId::from_uuid(uuid(50)), org(99, None).id, true);
    assert!(
        matches!(
            store.insert_directory(orphan).await,
            Err(StoreError::NotFound { .. })
        ),
        "a directory needs its organization"
    );
    let first = Directory::new(DirectoryId::from_uuid(uuid(10)), acme.id.clone(), true);
    let second = Directory::new(DirectoryId::from_uuid(uuid(11)), acme.id.clone(), true);
    store.insert_directory(first.clone()).await.expect("insert");
    store
        .insert_directory(second.clone())
        .await
        .expect("insert");
    let primaries: Vec<_> = store
        .list_directories(&acme.id)
        .await
        .expect("list")
        .into_iter()
        .filter(|d| d.primary)
        .collect();
    assert_eq!(
        primaries,
        vec![second.clone()],
        "a new primary demotes the old one"
    );
    store.update_directory(first.clone()).await.expect("update");
    let primaries: Vec<_> = store
        .list_directories(&acme.id)
        .await
        .expect("list")
        .into_iter()
        .filter(|d| d.primary)
        .map(|d| d.id)
        .collect();
    assert_eq!(
        primaries,
        vec![first.id.clone()],
        "switching primary is one step"
    );
    assert_eq!(
        store
            .get_directory(&second.id)
            .await
            .expect("get")
            .map(|d| d.primary),
        Some(false)
    );

    // Everything the vendor configures on a directory is kept as written, NUL included.
    let configured = Directory {
        primary: false,
        ..second.clone()
    }
    .with_name("Acme's Okta\0")
    .with_idp(IdpKind::Okta)
    .with_state(DirectoryState::Disabled)
    .with_roles(
        RoleMapping::new()
            .map(GroupMatch::DisplayName("Engineering".into()), "developer")
            .map(GroupMatch::Id(GroupId::from_uuid(uuid(12))), "admin")
            .with_default("viewer"),
    )
    .with_fields(FieldMapping::new().map(
        "cost_center",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
    ));
    let configured = Directory {
        last_request_at: Some(datetime!(2026-12-01 10:00 UTC)),
        ..configured
    };
    store
        .update_directory(configured.clone())
        .await
        .expect("update a configured directory");
    assert_eq!(
        store.get_directory(&second.id).await.expect("get"),
        Some(configured.clone()),
        "get returns the directory's name, provider, state, last request and mappings"
    );
    assert!(
        store
            .list_directories(&acme.id)
            .await
            .expect("list")
            .contains(&configured),
        "so does the listing"
    );
    assert_eq!(
        store
            .get_directory(&first.id)
            .await
            .expect("get")
            .map(|d| (d.state, d.primary)),
        Some((DirectoryState::Pending, true)),
        "a new directory is pending; updating another left it primary"
    );
}

/// Users: versions start at 1 and move by compare-and-swap.
pub async fn user_versions(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let ann = user(&dir, 10, "ann");
    let stored = store.insert_user(ann.clone()).await.expect("insert");
    assert_eq!(stored.meta.version, 1, "versions start at 1");
    assert!(
        matches!(
            store.insert_user(ann.clone()).await,
            Err(StoreError::Conflict(_))
        ),
        "a taken id is a Conflict"
    );
    let changed = User {
        email: Some("new@example.com".into()),
        ..stored.clone()
    };
    let updated = store.update_user(changed.clone(), 1).await.expect("update");
    assert_eq!(updated.meta.version, 2, "an update stores expected + 1");
    assert!(
        matches!(
            store.update_user(changed.clone(), 1).await,
            Err(StoreError::Precondition {
                expected: 1,
                actual: 2
            })
        ),
        "a stale version is a Precondition failure"
    );
    let got = store
        .get_user(&dir, &ann.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        (got.email.as_deref(), got.meta.version),
        (Some("new@example.com"), 2),
        "a refused write changes nothing"
    );
    let document = store
        .get_user_document(&dir, &ann.id)
        .await
        .expect("get as text")
        .expect("present as text");
    let attributes: serde_json::Value =
        serde_json::from_str(&document.attributes).expect("the text is JSON");
    assert_eq!(
        (&document.id, document.state, &document.meta, &attributes),
        (&got.id, got.state, &got.meta, &got.attributes),
        "a user read as text is the user get_user reads"
    );
    let order = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        order(&attributes),
        order(&got.attributes),
        "read as text, attributes keep their order"
    );
    let everyone = UserFilter {
        states: States::All,
        ..UserFilter::default()
    };
    let listed = store
        .list_users(&dir, &everyone, Keyset::all())
        .await
        .expect("list");
    let listed_as_text = store
        .list_user_documents(&dir, &everyone, Keyset::all())
        .await
        .expect("list as text");
    assert_eq!(
        listed_as_text
            .iter()
            .map(|d| {
                let attributes: serde_json::Value =
                    serde_json::from_str(&d.attributes).expect("the text is JSON");
                (d.id.clone(), d.state, d.meta.clone(), attributes)
            })
            .collect::<Vec<_>>(),
        listed
            .iter()
            .map(|u| (u.id.clone(), u.state, u.meta.clone(), u.attributes.clone()))
            .collect::<Vec<_>>(),
        "a listing as text lists what list_users lists"
    );
    assert!(
        store
            .get_user_document(&DirectoryId::from_uuid(uuid(77)), &ann.id)
            .await
            .expect("get as text")
            .is_none(),
        "another directory's user is not read as text"
    );
    assert!(
        matches!(
            store.update_user(user(&dir, 11, "x"), 1).await,
            Err(StoreError::NotFound { .. })
        ),
        "update of a missing user"
    );
    assert!(
        matches!(
            store
                .insert_user(user(&DirectoryId::from_uuid(uuid(77)), 12, "y"))
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "insert into a missing directory"
    );
}

/// Indexed lookups: userName and emails case-insensitively, externalId exactly; indexes
/// follow updates.
pub async fn user_indexes(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let ann = store
        .insert_user(user(&dir, 10, "Ann@Example.com"))
        .await
        .expect("insert");
    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .find_users(&dir, UserKey::UserName("ann@example.COM".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()],
        "userName is case-insensitive"
    );
    assert_eq!(
        ids(store
            .find_users(&dir, UserKey::Email("mail10@example.com".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()],
        "emails are case-insensitive"
    );
    assert_eq!(
        ids(store
            .find_users(&dir, UserKey::ExternalId("ext-10".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()]
    );
    assert!(
        store
            .find_users(&dir, UserKey::ExternalId("EXT-10".into()))
            .await
            .expect("find")
            .is_empty(),
        "externalId is exact"
    );
    let renamed = User {
        attributes: json!({"userName": "anna", "emails": [{"value": "anna@example.com"}]}),
        ..ann.clone()
    };
    store.update_user(renamed, 1).await.expect("update");
    assert!(
        store
            .find_users(&dir, UserKey::UserName("ann@example.com".into()))
            .await
            .expect("find")
            .is_empty(),
        "old userName leaves the index"
    );
    assert!(
        store
            .find_users(&dir, UserKey::ExternalId("ext-10".into()))
            .await
            .expect("find")
            .is_empty(),
        "removed externalId leaves the index"
    );
    assert_eq!(
        ids(store
            .find_users(&dir, UserKey::Email("ANNA@example.com".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()]
    );
    let sales = store
        .insert_group(group(&dir, 20, "Sales"), &[], &[])
        .await
        .expect("insert group");
    let found = store
        .find_groups(&dir, GroupKey::DisplayName("SALES".into()))
        .await
        .expect("find");
    assert_eq!(
        found.into_iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![sales.id.clone()],
        "displayName is case-insensitive"
    );
    assert_eq!(
        store
            .find_groups(&dir, GroupKey::ExternalId("gext-20".into()))
            .await
            .expect("find")
            .len(),
        1
    );
}

/// Keyset listing: id order; every item present for the whole walk exactly once while
/// others come and go between pages.
pub async fn keyset_listing(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    for n in (10..30).step_by(2) {
        store
            .insert_user(user(&dir, n, &format!("u{n}")))
            .await
            .expect("insert");
    }
    let mut seen = Vec::new();
    let mut after: Option<UserId> = None;
    let mut extra = 100;
    loop {
        let page = store
            .list_users(
                &dir,
                &UserFilter::default(),
                Keyset::after(after.clone(), 3),
            )
            .await
            .expect("list");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|u| u.id.clone());
        seen.extend(page.into_iter().map(|u| u.id));
        // Between the first pages: add one user behind the position and one ahead of it.
        if extra < 104 {
            store
                .insert_user(user(&dir, extra, &format!("late{extra}")))
                .await
                .expect("insert");
            store
                .insert_user(user(&dir, extra - 100, &format!("early{extra}")))
                .await
                .expect("insert");
            extra += 1;
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "ids come in order and never twice");
    for n in (10..30).step_by(2) {
        assert!(
            seen.contains(&UserId::from_uuid(uuid(n))),
            "user {n} existed throughout and was listed"
        );
    }

    // The group filter: stable members listed once each while others join and leave.
    let stable: Vec<UserId> = (10..30)
        .step_by(2)
        .map(|n| UserId::from_uuid(uuid(n)))
        .collect();
    let churn: Vec<UserId> = (0..4).map(|n| UserId::from_uuid(uuid(n))).collect();
    let team = store
        .insert_group(group(&dir, 200, "Team"), &stable, &[])
        .await
        .expect("insert group")
        .id;
    let mut seen = Vec::new();
    let mut after: Option<UserId> = None;
    let mut turn = 0;
    loop {
        let page = store
            .list_users(
                &dir,
                &UserFilter {
                    group: Some(team.clone()),
                    ..UserFilter::default()
                },
                Keyset::after(after.clone(), 3),
            )
            .await
            .expect("list members");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|u| u.id.clone());
        seen.extend(page.into_iter().map(|u| u.id));
        if let (Some(joins), Some(leaves)) = (churn.get(turn), turn.checked_sub(1)) {
            let mut edits = vec![MembershipEdit::Add(joins.clone())];
            edits.extend(churn.get(leaves).cloned().map(MembershipEdit::Remove));
            store
                .edit_members(&dir, &team, &edits, AT)
                .await
                .expect("edit");
        } else if let Some(joins) = churn.get(turn) {
            store
                .edit_members(&dir, &team, &[MembershipEdit::Add(joins.clone())], AT)
                .await
                .expect("edit");
        }
        turn += 1;
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted, seen,
        "members come in id order and never twice while membership changes"
    );
    for id in &stable {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "member {id} belonged throughout and was listed exactly once"
        );
    }
    assert!(
        seen.iter()
            .all(|id| stable.contains(id) || churn.contains(id)),
        "only users that were members are listed"
    );

    // Groups and member ids page the same way.
    let mut groups = vec![team.clone()];
    for n in 201..208 {
        groups.push(
            store
                .insert_group(group(&dir, n, &format!("g{n}")), &[], &[])
                .await
                .expect("insert group")
                .id,
        );
    }
    let mut listed = Vec::new();
    let mut after: Option<GroupId> = None;
    loop {
        let page = store
            .list_groups(
                &dir,
                &GroupFilter::default(),
                Keyset::after(after.clone(), 3),
            )
            .await
            .expect("list groups");
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        listed.extend(page.into_iter().map(|g| g.id));
    }
    assert_eq!(listed, groups, "every group once, in id order");
    let members = store
        .list_members(
            &dir,
            &team,
            States::All,
            Keyset::after(stable.get(1).cloned(), 2),
        )
        .await
        .expect("list members");
    assert_eq!(
        members,
        stable.get(2..4).unwrap_or_default().to_vec(),
        "list_members honours after and limit"
    );
}

/// userName is unique among active users only.
pub async fn user_name_uniqueness(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    // Stored first, so that a backend whose index keys confuse a name with the names it
    // is a prefix of wrongly refuses `ann` below.
    store
        .insert_user(user(&dir, 13, "ann\u{0}x"))
        .await
        .expect("insert");
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("insert");
    assert!(
        matches!(
            store.insert_user(user(&dir, 11, "ANN")).await,
            Err(StoreError::Conflict(UniqueAttribute::UserName))
        ),
        "an active duplicate is refused"
    );
    let deactivated = store
        .update_user(
            User {
                state: UserState::Deactivated,
                ..ann.clone()
            },
            1,
        )
        .await
        .expect("deactivate");
    let second = store
        .insert_user(user(&dir, 11, "ann"))
        .await
        .expect("a deactivated user does not hold its userName");
    assert!(
        matches!(
            store
                .update_user(
                    User {
                        state: UserState::Active,
                        ..deactivated.clone()
                    },
                    2
                )
                .await,
            Err(StoreError::Conflict(UniqueAttribute::UserName))
        ),
        "restoring into a taken userName is refused"
    );
    store
        .update_user(
            User {
                state: UserState::Deleted,
                ..second
            },
            1,
        )
        .await
        .expect("delete");
    store
        .update_user(
            User {
                state: UserState::Active,
                ..deactivated
            },
            2,
        )
        .await
        .expect("restore once the name is free");

    // Index keys must not confuse a name with names it is a prefix of.
    for (n, name) in [(12, "anne"), (14, "ann x")] {
        store
            .insert_user(user(&dir, n, name))
            .await
            .unwrap_or_else(|e| panic!("`{name:?}` is not `ann`: {e}"));
    }
    assert!(
        matches!(
            store.insert_user(user(&dir, 15, "ANN\u{0}X")).await,
            Err(StoreError::Conflict(UniqueAttribute::UserName))
        ),
        "a userName with a NUL is unique like any other"
    );
    let found: Vec<UserId> = store
        .find_users(&dir, UserKey::UserName("ann\u{0}x".into()))
        .await
        .expect("find")
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(
        found,
        vec![UserId::from_uuid(uuid(13))],
        "lookup finds exactly the name asked for"
    );
}

/// Concurrent inserts of one userName: exactly one wins.
pub async fn concurrent_creates(stores: Stores) {
    let dir = setup(&stores, 1).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = stores.0.clone();
        let dir = dir.clone();
        tasks.push(tokio::spawn(async move {
            store.insert_user(user(&dir, 100 + n, "race")).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(UniqueAttribute::UserName)) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(won, 1, "exactly one concurrent insert of a userName wins");
}

const BADGE: &str = "urn:example:acme:2.0:User:badge";
const PHONES: &str = "urn:example:acme:2.0:User:deskPhones";

/// `user` claiming these declared unique keys.
fn claiming(user: User, keys: &[(&str, &str)]) -> User {
    user.with_unique_keys(keys.iter().map(|(a, v)| UniqueKey::new(*a, *v)).collect())
}

fn attribute_taken(result: Result<User, StoreError>) -> Option<String> {
    match result {
        Err(StoreError::AttributeTaken { attribute }) => Some(attribute),
        _ => None,
    }
}

/// Declared unique attributes ([`User::unique_keys`]): an active user's keys are its
/// alone in its directory; a refused write stores and records nothing; changing a
/// value, deactivating or deleting releases it; restoring claims again; inactive users
/// and no-op writes claim nothing; other directories are separate.
pub async fn declared_unique_attributes(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let other_dir = setup(&stores, 50).await;
    let ann = store
        .insert_user(claiming(
            user(&dir, 10, "ann"),
            &[(BADGE, "b-1"), (PHONES, "111"), (PHONES, "222")],
        ))
        .await
        .expect("insert ann");
    assert!(
        ann.unique_keys.is_empty(),
        "a stored user carries no claimed keys"
    );
    assert_eq!(
        store.get_user(&dir, &ann.id).await.expect("get").as_ref(),
        Some(&ann),
        "the user returned is the user stored"
    );
    let seq = store.latest_change_seq(&dir).await.expect("seq");
    assert_eq!(
        attribute_taken(
            store
                .insert_user(claiming(user(&dir, 11, "bob"), &[(BADGE, "b-1")]))
                .await
        )
        .as_deref(),
        Some(BADGE),
        "a value an active user holds is refused, naming the attribute"
    );
    assert_eq!(
        store
            .get_user(&dir, &UserId::from_uuid(uuid(11)))
            .await
            .expect("get"),
        None,
        "a refused insert stores nothing"
    );
    assert_eq!(
        store.latest_change_seq(&dir).await.expect("seq"),
        seq,
        "a refused insert records nothing"
    );
    assert_eq!(
        attribute_taken(
            store
                .insert_user(claiming(user(&dir, 11, "bob"), &[(PHONES, "222")]))
                .await
        )
        .as_deref(),
        Some(PHONES),
        "each value of a multi-valued attribute is held"
    );
    let bob = store
        .insert_user(claiming(
            user(&dir, 11, "bob"),
            &[(BADGE, "b-2"), (BADGE, "b-2"), (PHONES, "b-1")],
        ))
        .await
        .expect("other values, a value twice, and another attribute's value are free");
    store
        .insert_user(claiming(user(&dir, 12, "b1-nul"), &[(BADGE, "b-1\u{0}x")]))
        .await
        .expect("a value is not confused with the values it is a prefix of");
    store
        .insert_user(claiming(user(&other_dir, 13, "ann"), &[(BADGE, "b-1")]))
        .await
        .expect("another directory's values are its own");
    store
        .insert_user(claiming(
            user(&dir, 14, "eve").with_state(UserState::Deactivated),
            &[(BADGE, "b-2")],
        ))
        .await
        .expect("an inactive user claims nothing");

    // A no-op write claims nothing: a user stored before an attribute became unique
    // keeps its document until it changes.
    let frank = store
        .insert_user(user(&dir, 15, "frank"))
        .await
        .expect("insert frank");
    let same = store
        .update_user(claiming(frank.clone(), &[(BADGE, "b-2")]), 1)
        .await
        .expect("a no-op write is not re-checked");
    assert_eq!(same.meta.version, 1, "the no-op stored nothing");

    let bob_renamed = |keys: &[(&str, &str)]| {
        let mut next = bob.clone();
        next.attributes["title"] = json!("changed");
        claiming(next, keys)
    };
    assert_eq!(
        attribute_taken(store.update_user(bob_renamed(&[(PHONES, "111")]), 1).await).as_deref(),
        Some(PHONES),
        "an update into a held value is refused"
    );
    assert_eq!(
        store
            .get_user(&dir, &bob.id)
            .await
            .expect("get")
            .map(|u| u.meta.version),
        Some(1),
        "a refused update stores nothing"
    );

    // Changing a value releases the old one.
    let mut changed = ann.clone();
    changed.attributes["title"] = json!("moved desks");
    let ann = store
        .update_user(
            claiming(changed, &[(BADGE, "b-1"), (PHONES, "333")]),
            ann.meta.version,
        )
        .await
        .expect("ann keeps a value and changes others");
    store
        .update_user(bob_renamed(&[(BADGE, "b-2"), (PHONES, "111")]), 1)
        .await
        .expect("a value its holder changed is free");
    assert!(
        attribute_taken(
            store
                .insert_user(claiming(user(&dir, 16, "gus"), &[(PHONES, "333")]))
                .await
        )
        .is_some(),
        "the value it changed to is held"
    );

    // Deactivating releases; restoring claims again.
    let ann = store
        .update_user(
            claiming(
                ann.clone().with_state(UserState::Deactivated),
                &[(BADGE, "b-1")],
            ),
            ann.meta.version,
        )
        .await
        .expect("deactivate ann");
    let dave = store
        .insert_user(claiming(user(&dir, 17, "dave"), &[(BADGE, "b-1")]))
        .await
        .expect("a deactivated user's values are free");
    assert_eq!(
        attribute_taken(
            store
                .update_user(
                    claiming(ann.clone().with_state(UserState::Active), &[(BADGE, "b-1")]),
                    ann.meta.version,
                )
                .await
        )
        .as_deref(),
        Some(BADGE),
        "restoring into a taken value is refused"
    );
    store
        .update_user(
            dave.clone().with_state(UserState::Deleted),
            dave.meta.version,
        )
        .await
        .expect("delete dave");
    store
        .update_user(
            claiming(ann.clone().with_state(UserState::Active), &[(BADGE, "b-1")]),
            ann.meta.version,
        )
        .await
        .expect("a deleted user's values are free");
}

/// Concurrent inserts claiming one declared unique value: exactly one wins.
pub async fn concurrent_unique_attribute_creates(stores: Stores) {
    let dir = setup(&stores, 1).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = stores.0.clone();
        let dir = dir.clone();
        tasks.push(tokio::spawn(async move {
            // Each also claims a value of its own, listed in either order.
            let own = format!("desk-{n}");
            let keys: Vec<(&str, &str)> = if n % 2 == 0 {
                vec![(BADGE, "race"), (PHONES, &own)]
            } else {
                vec![(PHONES, &own), (BADGE, "race")]
            };
            let racer = claiming(user(&dir, 100 + n, &format!("racer-{n}")), &keys);
            store.insert_user(racer).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(StoreError::AttributeTaken { .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(
        won, 1,
        "exactly one concurrent insert of a declared unique value wins"
    );
    let stored = stores
        .0
        .count_users(&dir, &UserFilter::default())
        .await
        .expect("count");
    assert_eq!(stored, 1, "the losers stored nothing");
}

/// Memberships: idempotent add, no-op remove, remove all, both directions, the group
/// filter of list_users, members from the same directory only.
pub async fn memberships(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let other_dir = setup(&stores, 50).await;
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("insert")
        .id;
    let bob = store
        .insert_user(user(&dir, 11, "bob"))
        .await
        .expect("insert")
        .id;
    let zed = store
        .insert_user(user(&other_dir, 12, "zed"))
        .await
        .expect("insert")
        .id;
    let sales = store
        .insert_group(group(&dir, 20, "Sales"), std::slice::from_ref(&ann), &[])
        .await
        .expect("insert group")
        .id;
    let members = |v: Vec<UserId>| v;
    let all = |g: &GroupId| {
        let store = store.clone();
        let dir = dir.clone();
        let g = g.clone();
        async move {
            store
                .list_members(&dir, &g, States::All, Keyset::after(None, 100))
                .await
                .expect("list members")
        }
    };
    assert_eq!(
        members(all(&sales).await),
        vec![ann.clone()],
        "insert_group adds its members"
    );
    let g = store
        .edit_members(&dir, &sales, &[MembershipEdit::Add(ann.clone())], AT)
        .await
        .expect("edit");
    assert_eq!(
        g.meta.version, 1,
        "adding an existing member changes nothing"
    );
    store
        .edit_members(&dir, &sales, &[MembershipEdit::Remove(bob.clone())], AT)
        .await
        .expect("removing a non-member is a no-op");
    let g = store
        .edit_members(&dir, &sales, &[MembershipEdit::Add(bob.clone())], AT)
        .await
        .expect("edit");
    assert_eq!(g.meta.version, 2, "a membership change bumps the version");
    assert_eq!(all(&sales).await, vec![ann.clone(), bob.clone()]);
    let of_group = store
        .list_users(
            &dir,
            &UserFilter {
                group: Some(sales.clone()),
                ..UserFilter::default()
            },
            Keyset::after(Some(ann.clone()), 10),
        )
        .await
        .expect("list");
    assert_eq!(
        of_group.into_iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![bob.clone()],
        "list_users of a group, keyset"
    );
    assert_eq!(
        store
            .groups_of_user(&dir, &bob, States::All)
            .await
            .expect("list")
            .into_iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        vec![sales.clone()]
    );
    assert!(
        matches!(
            store
                .edit_members(&dir, &sales, &[MembershipEdit::Add(zed.clone())], AT)
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "a member of another directory is NotFound"
    );
    assert_eq!(all(&sales).await.len(), 2, "a refused edit changes nothing");
    assert!(
        matches!(
            store
                .insert_group(group(&dir, 21, "Mixed"), &[bob.clone(), zed.clone()], &[])
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "insert_group refuses a member of another directory"
    );
    assert_eq!(
        store
            .get_group(&dir, &GroupId::from_uuid(uuid(21)))
            .await
            .expect("get"),
        None,
        "a refused insert_group stores nothing"
    );
    let current = store
        .get_group(&dir, &sales)
        .await
        .expect("get")
        .expect("present");
    assert!(
        matches!(
            store
                .update_group(
                    current.clone(),
                    current.meta.version,
                    &[MembershipEdit::Add(zed.clone())]
                )
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "update_group refuses a member of another directory"
    );
    assert_eq!(
        store
            .get_group(&dir, &sales)
            .await
            .expect("get")
            .map(|g| g.meta.version),
        Some(current.meta.version),
        "a refused update_group changes nothing"
    );
    store
        .edit_members(
            &dir,
            &sales,
            &[MembershipEdit::RemoveAll, MembershipEdit::Add(bob.clone())],
            AT,
        )
        .await
        .expect("edit");
    assert_eq!(all(&sales).await, vec![bob.clone()], "edits apply in order");
    assert!(
        store
            .groups_of_user(&dir, &ann, States::All)
            .await
            .expect("list")
            .is_empty()
    );
}

/// 64 concurrent member additions all land.
pub async fn concurrent_member_edits(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let everyone = store
        .insert_group(group(&dir, 5, "Everyone"), &[], &[])
        .await
        .expect("insert group")
        .id;
    let mut ids = Vec::new();
    for n in 0..64 {
        ids.push(
            store
                .insert_user(user(&dir, 100 + n, &format!("u{n}")))
                .await
                .expect("insert")
                .id,
        );
    }
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let store = stores.0.clone();
        let (dir, everyone) = (dir.clone(), everyone.clone());
        tasks.push(tokio::spawn(async move {
            store
                .edit_members(&dir, &everyone, &[MembershipEdit::Add(id)], AT)
                .await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("edit");
    }
    let members = store
        .list_members(&dir, &everyone, States::All, Keyset::after(None, 1000))
        .await
        .expect("list");
    assert_eq!(members, ids, "no concurrent member addition is lost");
    let group = store
        .get_group(&dir, &everyone)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        group.meta.version, 65,
        "each addition is its own version step"
    );
}

/// update_group: document, version and membership edits in one step, or none of them.
pub async fn group_updates(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("insert")
        .id;
    let sales = store
        .insert_group(group(&dir, 20, "Sales"), &[], &[])
        .await
        .expect("insert group");
    let renamed = Group {
        display_name: "Sales EU".into(),
        ..sales.clone()
    };
    let stale = store
        .update_group(renamed.clone(), 7, &[MembershipEdit::Add(ann.clone())])
        .await;
    assert!(
        matches!(stale, Err(StoreError::Precondition { .. })),
        "a stale version is refused"
    );
    assert!(
        store
            .list_members(&dir, &sales.id, States::All, Keyset::after(None, 10))
            .await
            .expect("list")
            .is_empty(),
        "and its edits are not applied"
    );
    let updated = store
        .update_group(renamed, 1, &[MembershipEdit::Add(ann.clone())])
        .await
        .expect("update");
    assert_eq!(
        (updated.display_name.as_str(), updated.meta.version),
        ("Sales EU", 2)
    );
    assert_eq!(
        store
            .list_members(&dir, &sales.id, States::All, Keyset::after(None, 10))
            .await
            .expect("list"),
        vec![ann]
    );
    assert!(
        store
            .find_groups(&dir, GroupKey::DisplayName("sales".into()))
            .await
            .expect("find")
            .is_empty(),
        "the index follows the rename"
    );
    let deleted = Group {
        deleted: true,
        ..updated
    };
    store.update_group(deleted, 2, &[]).await.expect("delete");
    assert!(
        matches!(
            store.edit_members(&dir, &sales.id, &[], AT).await,
            Err(StoreError::NotFound { .. })
        ),
        "a deleted group takes no member edits"
    );
}

/// Concurrent update_group calls from one version: exactly one wins, and only its
/// membership edits land.
pub async fn concurrent_group_updates(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let mut users = Vec::new();
    for n in 0..8 {
        users.push(
            store
                .insert_user(user(&dir, 100 + n, &format!("u{n}")))
                .await
                .expect("insert")
                .id,
        );
    }
    let sales = store
        .insert_group(group(&dir, 20, "Sales"), &[], &[])
        .await
        .expect("insert group");
    let tasks: Vec<_> = users
        .iter()
        .map(|id| {
            let store = stores.0.clone();
            let renamed = Group {
                display_name: format!("Sales {id}"),
                ..sales.clone()
            };
            let edit = MembershipEdit::Add(id.clone());
            tokio::spawn(async move { store.update_group(renamed, 1, &[edit]).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(group) => winners.push(group),
            Err(StoreError::Precondition { .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update from version 1 wins");
    let winner = winners.remove(0);
    let members = store
        .list_members(&dir, &sales.id, States::All, Keyset::after(None, 100))
        .await
        .expect("list");
    let winners_member = winner.display_name.trim_start_matches("Sales ");
    assert_eq!(
        members.iter().map(UserId::as_str).collect::<Vec<_>>(),
        vec![winners_member],
        "the winner's edit is applied, the losers' are not"
    );
    let stored = store
        .get_group(&dir, &sales.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(stored, winner, "the stored group is the winner's");
}

/// The change log: seq from 1 without gaps, kinds from before/after states, nothing for a
/// refused write.
pub async fn change_log(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("insert");
    let _ = store.insert_user(user(&dir, 11, "ann")).await;
    let ann = store
        .update_user(
            User {
                state: UserState::Deactivated,
                ..ann
            },
            1,
        )
        .await
        .expect("deactivate");
    let ann = store
        .update_user(
            User {
                state: UserState::Active,
                ..ann
            },
            2,
        )
        .await
        .expect("restore");
    store
        .update_user(
            User {
                email: Some("x@example.com".into()),
                ..ann.clone()
            },
            3,
        )
        .await
        .expect("update");
    assert!(
        matches!(
            store.update_user(ann.clone(), 1).await,
            Err(StoreError::Precondition { .. })
        ),
        "a stale update is refused"
    );
    let g = store
        .insert_group(group(&dir, 20, "G"), std::slice::from_ref(&ann.id), &[])
        .await
        .expect("group");
    store
        .edit_members(&dir, &g.id, &[MembershipEdit::Add(ann.id.clone())], AT)
        .await
        .expect("a no-op edit");
    store
        .edit_members(&dir, &g.id, &[MembershipEdit::Remove(ann.id.clone())], AT)
        .await
        .expect("edit");
    store
        .update_group(
            Group {
                deleted: true,
                ..g.clone()
            },
            2,
            &[],
        )
        .await
        .expect("delete group");
    let changes = store.list_changes(&dir, 0, 100).await.expect("changes");
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<_>>(),
        "seq starts at 1 with no gaps; refused writes and no-op edits record nothing"
    );
    let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::UserCreated,
            ChangeKind::UserDeactivated,
            ChangeKind::UserRestored,
            ChangeKind::UserUpdated,
            ChangeKind::GroupCreated,
            ChangeKind::GroupMemberAdded,
            ChangeKind::GroupMemberRemoved,
            ChangeKind::GroupDeleted,
        ]
    );
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.resource_id.clone(), c.member_id.clone()))
            .collect::<Vec<_>>(),
        vec![
            (ResourceId::User(ann.id.clone()), None),
            (ResourceId::User(ann.id.clone()), None),
            (ResourceId::User(ann.id.clone()), None),
            (ResourceId::User(ann.id.clone()), None),
            (ResourceId::Group(g.id.clone()), None),
            (ResourceId::Group(g.id.clone()), Some(ann.id.clone())),
            (ResourceId::Group(g.id.clone()), Some(ann.id.clone())),
            (ResourceId::Group(g.id.clone()), None),
        ],
        "entries name their resource, and membership changes the member"
    );
    assert!(
        changes.iter().all(|c| c.directory_id == dir),
        "entries name their directory"
    );
    assert_eq!(
        store
            .list_changes(&dir, 6, 1)
            .await
            .expect("changes")
            .into_iter()
            .map(|c| c.seq)
            .collect::<Vec<_>>(),
        vec![7],
        "after and limit"
    );
}

/// Changes name what they changed by its kind of id: the user for user kinds and
/// `user.roles_changed`, the group for group and membership kinds (the member in
/// `member_id`), the directory for directory kinds. Read back, each id has the text it
/// was written with, and a change serialises it as that plain string.
pub async fn change_resource_ids(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    store
        .edit_directory(
            &dir,
            &[DirectoryEdit::Roles(
                RoleMapping::new().with_default("viewer"),
            )],
            AT,
        )
        .await
        .expect("set the mapping");
    store.touch_directory(&dir, AT).await.expect("activate");
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("user");
    let g = store
        .insert_group(group(&dir, 20, "G"), std::slice::from_ref(&ann.id), &[])
        .await
        .expect("group");
    store
        .edit_directory(&dir, &[DirectoryEdit::Disable], AT)
        .await
        .expect("disable");
    let changes = store.list_changes(&dir, 0, 100).await.expect("changes");
    let (user_text, group_text, dir_text) = (ann.id.as_str(), g.id.as_str(), dir.as_str());
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.kind, c.resource_id.as_str(), c.user_id(), c.group_id()))
            .collect::<Vec<_>>(),
        vec![
            (ChangeKind::RoleMappingChanged, dir_text, None, None),
            (ChangeKind::DirectoryActivated, dir_text, None, None),
            (ChangeKind::UserCreated, user_text, Some(&ann.id), None),
            (ChangeKind::RolesChanged, user_text, Some(&ann.id), None),
            (ChangeKind::GroupCreated, group_text, None, Some(&g.id)),
            (
                ChangeKind::GroupMemberAdded,
                group_text,
                Some(&ann.id),
                Some(&g.id)
            ),
            (ChangeKind::DirectoryDisabled, dir_text, None, None),
        ],
        "each entry names its resource with the id's own text; user_id() is the user \
         changed or the member, group_id() the group"
    );
    for change in &changes {
        let expected = match change.kind {
            ChangeKind::UserCreated | ChangeKind::RolesChanged => ResourceId::User(ann.id.clone()),
            ChangeKind::GroupCreated | ChangeKind::GroupMemberAdded => {
                ResourceId::Group(g.id.clone())
            }
            _ => ResourceId::Directory(dir.clone()),
        };
        assert_eq!(
            change.resource_id, expected,
            "a {:?} entry reads back as the right kind of id",
            change.kind
        );
        let json = serde_json::to_value(change).expect("a change serialises");
        assert_eq!(
            json.get("resource_id"),
            Some(&json!(expected.to_string())),
            "a change serialises its resource as the plain id"
        );
        assert_eq!(
            serde_json::from_value::<Change>(json).ok().as_ref(),
            Some(change),
            "and reads back from it"
        );
    }
}

/// Changes carry the object: each user change the user as that change stored it, each
/// group change the group, each membership change both (the group after the edit, the
/// member as it stood), and none of them moves when later writes change the entities.
pub async fn change_snapshots(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("insert ann");
    let bob = store
        .insert_user(user(&dir, 11, "bob"))
        .await
        .expect("insert bob");
    let sales = store
        .insert_group(group(&dir, 20, "Sales"), std::slice::from_ref(&ann.id), &[])
        .await
        .expect("group");
    let mut retitled = ann.clone();
    retitled.attributes["title"] = json!("Engineer");
    let ann2 = store.update_user(retitled, 1).await.expect("retitle ann");
    let sales2 = store
        .edit_members(&dir, &sales.id, &[MembershipEdit::Add(bob.id.clone())], AT)
        .await
        .expect("add bob");
    let renamed = Group {
        display_name: "Sales EMEA".into(),
        attributes: json!({"displayName": "Sales EMEA"}),
        ..sales2.clone()
    };
    let sales3 = store
        .update_group(renamed, 2, &[MembershipEdit::Remove(ann.id.clone())])
        .await
        .expect("rename, remove ann");
    let ann3 = store
        .update_user(
            User {
                state: UserState::Deactivated,
                ..ann2.clone()
            },
            2,
        )
        .await
        .expect("deactivate ann");
    // Later writes that the snapshots above must not reflect.
    let mut later = bob.clone();
    later.attributes["title"] = json!("Later");
    store.update_user(later, 1).await.expect("later bob");
    store
        .update_group(
            Group {
                deleted: true,
                ..sales3.clone()
            },
            3,
            &[],
        )
        .await
        .expect("delete group");

    let changes = store.list_changes(&dir, 0, 100).await.expect("changes");
    let seen: Vec<(ChangeKind, Option<User>, Option<Group>)> = changes
        .iter()
        .map(|c| (c.kind, c.user().cloned(), c.group().cloned()))
        .collect();
    let expected = vec![
        (ChangeKind::UserCreated, Some(ann.clone()), None),
        (ChangeKind::UserCreated, Some(bob.clone()), None),
        (ChangeKind::GroupCreated, None, Some(sales.clone())),
        (
            ChangeKind::GroupMemberAdded,
            Some(ann.clone()),
            Some(sales.clone()),
        ),
        (ChangeKind::UserUpdated, Some(ann2.clone()), None),
        (
            ChangeKind::GroupMemberAdded,
            Some(bob.clone()),
            Some(sales2.clone()),
        ),
        (ChangeKind::GroupUpdated, None, Some(sales3.clone())),
        (
            ChangeKind::GroupMemberRemoved,
            Some(ann2.clone()),
            Some(sales3.clone()),
        ),
        (ChangeKind::UserDeactivated, Some(ann3.clone()), None),
    ];
    assert_eq!(
        seen.get(..expected.len()),
        Some(&expected[..]),
        "each change carries the user and/or group exactly as of that change"
    );
    let last = changes.last().expect("the group's deletion");
    assert_eq!(last.kind, ChangeKind::GroupDeleted);
    assert!(
        last.group()
            .is_some_and(|g| g.deleted && g.meta.version == 4),
        "a deleted group's change carries it deleted"
    );
    assert_eq!(
        store
            .list_changes(&dir, 3, 1)
            .await
            .expect("one change")
            .first()
            .and_then(|c| c.user().map(|u| u.attributes.get("title").cloned())),
        Some(None),
        "a page read later still carries the member as it was when it joined"
    );
}

/// Tokens: found by hash, listed by scope, revoked at once, hashes unique.
pub async fn tokens(stores: Stores) {
    let (_, tokens) = &stores;
    let scope = TokenScope::Directory(DirectoryId::from_uuid(uuid(1)));
    let record = |n: u128, secret: &str, scope: TokenScope| {
        TokenRecord::new(
            TokenId::from_uuid(uuid(n)),
            scope,
            TokenHash::of(secret),
            AT,
        )
    };
    tokens
        .insert_token(record(1, "secret-one", scope.clone()))
        .await
        .expect("insert");
    tokens
        .insert_token(record(2, "secret-two", scope.clone()))
        .await
        .expect("several tokens per scope");
    tokens
        .insert_token(record(3, "secret-key", TokenScope::Global))
        .await
        .expect("insert");
    assert!(
        matches!(
            tokens
                .insert_token(record(4, "secret-one", TokenScope::Global))
                .await,
            Err(StoreError::Conflict(UniqueAttribute::TokenHash))
        ),
        "hashes are unique"
    );
    assert_eq!(
        tokens
            .find_token(&TokenHash::of("secret-two"))
            .await
            .expect("find")
            .map(|t| t.id),
        Some(TokenId::from_uuid(uuid(2)))
    );
    assert_eq!(
        tokens
            .find_token(&TokenHash::of("secret-three"))
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        tokens
            .list_tokens(&scope)
            .await
            .expect("list")
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        vec![TokenId::from_uuid(uuid(1)), TokenId::from_uuid(uuid(2))],
        "tokens of a scope, in id order"
    );
    tokens
        .revoke_token(&TokenId::from_uuid(uuid(1)))
        .await
        .expect("revoke");
    assert_eq!(
        tokens
            .find_token(&TokenHash::of("secret-one"))
            .await
            .expect("find"),
        None,
        "revocation is immediate"
    );
    assert!(matches!(
        tokens.revoke_token(&TokenId::from_uuid(uuid(1))).await,
        Err(StoreError::NotFound { .. })
    ));

    // A setup session: its own scope, and an expiry kept to the second. The store keeps
    // expired tokens; the services refuse them.
    let setup = TokenScope::Setup(OrganizationId::from_uuid(uuid(7)));
    let session =
        record(5, "secret-setup", setup.clone()).with_expiry(datetime!(2026-12-01 11:00 UTC));
    tokens
        .insert_token(session.clone())
        .await
        .expect("insert an expiring token");
    assert_eq!(
        tokens
            .find_token(&TokenHash::of("secret-setup"))
            .await
            .expect("find"),
        Some(session.clone()),
        "scope and expiry come back as stored"
    );
    assert_eq!(
        tokens.list_tokens(&setup).await.expect("list"),
        vec![session],
        "setup tokens are listed by their organization's setup scope"
    );
    assert_eq!(
        tokens
            .find_token(&TokenHash::of("secret-two"))
            .await
            .expect("find")
            .and_then(|t| t.expires),
        None,
        "a token issued without expiry has none"
    );
}

/// Directories never see each other's users, groups or changes.
pub async fn isolation(stores: Stores) {
    let (store, _) = &stores;
    let a = setup(&stores, 1).await;
    let b = setup(&stores, 50).await;
    let ann = store
        .insert_user(user(&a, 10, "ann"))
        .await
        .expect("insert");
    store
        .insert_user(user(&b, 11, "ann"))
        .await
        .expect("the same userName in another directory");
    assert_eq!(
        store.get_user(&b, &ann.id).await.expect("get"),
        None,
        "a user is only in its directory"
    );
    assert_eq!(
        store
            .list_users(&b, &UserFilter::default(), Keyset::after(None, 10))
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        store
            .find_users(&b, UserKey::UserName("ann".into()))
            .await
            .expect("find")
            .len(),
        1
    );
    assert_eq!(
        store.list_changes(&b, 0, 10).await.expect("changes").len(),
        1,
        "change logs are per directory"
    );

    let sales = store
        .insert_group(group(&a, 20, "Sales"), std::slice::from_ref(&ann.id), &[])
        .await
        .expect("insert group");
    assert_eq!(
        store.get_group(&b, &sales.id).await.expect("get"),
        None,
        "a group is only in its directory"
    );
    assert!(
        store
            .find_groups(&b, GroupKey::DisplayName("sales".into()))
            .await
            .expect("find")
            .is_empty()
    );
    assert!(
        matches!(
            store.edit_members(&b, &sales.id, &[], AT).await,
            Err(StoreError::NotFound { .. })
        ),
        "another directory's group takes no edits"
    );
    assert!(
        store
            .groups_of_user(&b, &ann.id, States::All)
            .await
            .expect("list")
            .is_empty()
    );

    // Organizations: a new primary demotes only its own organization's primary.
    let org_a = org(1, None).id;
    let org_b = org(50, None).id;
    let second_a = Directory::new(DirectoryId::from_uuid(uuid(90)), org_a.clone(), true);
    store
        .insert_directory(second_a.clone())
        .await
        .expect("insert directory");
    let of_b = store.list_directories(&org_b).await.expect("list");
    assert_eq!(
        of_b.iter().map(|d| (&d.id, d.primary)).collect::<Vec<_>>(),
        vec![(&b, true)],
        "another organization's directories and primary are untouched"
    );
    let of_a: Vec<_> = store
        .list_directories(&org_a)
        .await
        .expect("list")
        .into_iter()
        .map(|d| (d.id, d.primary))
        .collect();
    assert_eq!(of_a, vec![(a.clone(), false), (second_a.id, true)]);

    let (_, tokens) = &stores;
    let record = |n: u128, scope: TokenScope| {
        TokenRecord::new(
            TokenId::from_uuid(uuid(n)),
            scope,
            TokenHash::of(&format!("secret-{n}")),
            AT,
        )
    };
    tokens
        .insert_token(record(300, TokenScope::Directory(a.clone())))
        .await
        .expect("insert token");
    tokens
        .insert_token(record(301, TokenScope::Organization(org_b.clone())))
        .await
        .expect("insert token");
    assert!(
        tokens
            .list_tokens(&TokenScope::Directory(b.clone()))
            .await
            .expect("list")
            .is_empty(),
        "tokens are listed by their own scope only"
    );
    assert!(
        tokens
            .list_tokens(&TokenScope::Organization(org_a))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        tokens
            .list_tokens(&TokenScope::Organization(org_b))
            .await
            .expect("list")
            .len(),
        1
    );
}

fn ids_of_users(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id.clone()).collect()
}

fn ids_of_groups(groups: &[Group]) -> Vec<GroupId> {
    groups.iter().map(|g| g.id.clone()).collect()
}

/// Users in every lifecycle state, for the filter checks: 10 active, 11 deactivated,
/// 12 deleted, 13 active; 10 and 12 are members of group 20.
async fn lifecycle_fixture(stores: &Stores) -> (DirectoryId, Vec<UserId>, GroupId) {
    let (store, _) = stores;
    let dir = setup(stores, 1).await;
    let mut ids = Vec::new();
    for (n, state) in [
        (10, UserState::Active),
        (11, UserState::Deactivated),
        (12, UserState::Deleted),
        (13, UserState::Active),
    ] {
        let mut u = user(&dir, n, &format!("u{n}"));
        u.state = state;
        ids.push(store.insert_user(u).await.expect("insert user").id);
    }
    let members = [ids[0].clone(), ids[2].clone()];
    let team = store
        .insert_group(group(&dir, 20, "Team"), &members, &[])
        .await
        .expect("insert group")
        .id;
    (dir, ids, team)
}

/// Listing options: lifecycle states, indexed key, group and `skip` select in the store;
/// counts agree with the listings they count.
pub async fn listing_filters_and_counts(stores: Stores) {
    let (store, _) = &stores;
    let (dir, ids, team) = lifecycle_fixture(&stores).await;
    let cases: Vec<(UserFilter, Vec<UserId>, &str)> = vec![
        (
            UserFilter::default(),
            ids.clone(),
            "States::All lists every user",
        ),
        (
            UserFilter {
                states: States::Visible,
                ..UserFilter::default()
            },
            vec![ids[0].clone(), ids[1].clone(), ids[3].clone()],
            "States::Visible leaves out deleted users",
        ),
        (
            UserFilter {
                states: States::Active,
                ..UserFilter::default()
            },
            vec![ids[0].clone(), ids[3].clone()],
            "States::Active lists active users only",
        ),
        (
            UserFilter {
                key: Some(UserKey::UserName("U11".into())),
                ..UserFilter::default()
            },
            vec![ids[1].clone()],
            "a userName key selects case-insensitively",
        ),
        (
            UserFilter {
                states: States::Active,
                key: Some(UserKey::UserName("u11".into())),
                ..UserFilter::default()
            },
            vec![],
            "key and states combine",
        ),
        (
            UserFilter {
                group: Some(team.clone()),
                ..UserFilter::default()
            },
            vec![ids[0].clone(), ids[2].clone()],
            "a group selects its members, deleted ones included under States::All",
        ),
        (
            UserFilter {
                states: States::Visible,
                group: Some(team.clone()),
                ..UserFilter::default()
            },
            vec![ids[0].clone()],
            "group and states combine",
        ),
        (
            UserFilter {
                key: Some(UserKey::Email("mail12@example.com".into())),
                group: Some(team.clone()),
                ..UserFilter::default()
            },
            vec![ids[2].clone()],
            "key and group combine",
        ),
    ];
    for (filter, expected, promise) in cases {
        let listed = store
            .list_users(&dir, &filter, Keyset::all())
            .await
            .expect("list_users");
        assert_eq!(ids_of_users(&listed), expected, "{promise}");
        let counted = store.count_users(&dir, &filter).await.expect("count_users");
        assert_eq!(
            counted,
            expected.len() as u64,
            "count_users agrees with list_users: {promise}"
        );
    }
    let window = store
        .list_users(
            &dir,
            &UserFilter::default(),
            Keyset {
                after: Some(ids[0].clone()),
                skip: 1,
                limit: 1,
            },
        )
        .await
        .expect("list_users");
    assert_eq!(
        ids_of_users(&window),
        vec![ids[2].clone()],
        "skip passes over items after `after`"
    );
    let visible_from_second = store
        .list_users(
            &dir,
            &UserFilter {
                states: States::Visible,
                ..UserFilter::default()
            },
            Keyset {
                after: None,
                skip: 2,
                limit: 10,
            },
        )
        .await
        .expect("list_users");
    assert_eq!(
        ids_of_users(&visible_from_second),
        vec![ids[3].clone()],
        "skip counts only selected items"
    );
    let unknown = DirectoryId::from_uuid(uuid(999));
    assert!(
        store
            .list_users(&unknown, &UserFilter::default(), Keyset::all())
            .await
            .expect("list_users")
            .is_empty(),
        "an unknown directory lists nothing"
    );
    assert_eq!(
        store
            .count_users(&unknown, &UserFilter::default())
            .await
            .expect("count"),
        0
    );

    // Groups: states, key and member.
    let gone = store
        .insert_group(group(&dir, 21, "Gone"), &[], &[])
        .await
        .expect("insert group");
    store
        .update_group(
            Group {
                deleted: true,
                ..gone.clone()
            },
            1,
            &[],
        )
        .await
        .expect("delete group");
    let group_cases: Vec<(GroupFilter, Vec<GroupId>, &str)> = vec![
        (
            GroupFilter::default(),
            vec![team.clone(), gone.id.clone()],
            "every group, deleted included",
        ),
        (
            GroupFilter {
                states: States::Visible,
                ..GroupFilter::default()
            },
            vec![team.clone()],
            "States::Visible leaves out deleted groups",
        ),
        (
            GroupFilter {
                key: Some(GroupKey::DisplayName("GONE".into())),
                ..GroupFilter::default()
            },
            vec![gone.id.clone()],
            "a displayName key selects case-insensitively",
        ),
        (
            GroupFilter {
                member: Some(ids[2].clone()),
                ..GroupFilter::default()
            },
            vec![team.clone()],
            "member selects the groups of a user",
        ),
        (
            GroupFilter {
                member: Some(ids[1].clone()),
                ..GroupFilter::default()
            },
            vec![],
            "a user in no group is in no group",
        ),
    ];
    for (filter, expected, promise) in group_cases {
        let listed = store
            .list_groups(&dir, &filter, Keyset::all())
            .await
            .expect("list_groups");
        assert_eq!(ids_of_groups(&listed), expected, "{promise}");
        let counted = store
            .count_groups(&dir, &filter)
            .await
            .expect("count_groups");
        assert_eq!(
            counted,
            expected.len() as u64,
            "count_groups agrees with list_groups: {promise}"
        );
    }
}

/// Batch reads: each in id order, each id once, missing and foreign ids left out;
/// members by state; groups of many users in one call.
pub async fn batch_reads(stores: Stores) {
    let (store, _) = &stores;
    let (dir, ids, team) = lifecycle_fixture(&stores).await;
    let other = setup(&stores, 50).await;
    let stranger = store
        .insert_user(user(&other, 60, "stranger"))
        .await
        .expect("insert")
        .id;
    let asked = vec![
        ids[3].clone(),
        ids[0].clone(),
        ids[3].clone(),
        stranger.clone(),
        UserId::from_uuid(uuid(998)),
    ];
    let got = store.get_users(&dir, &asked).await.expect("get_users");
    assert_eq!(
        ids_of_users(&got),
        vec![ids[0].clone(), ids[3].clone()],
        "get_users: id order, once each, only this directory's"
    );
    let got = store
        .get_groups(&dir, &[team.clone(), GroupId::from_uuid(uuid(997))])
        .await
        .expect("get_groups");
    assert_eq!(ids_of_groups(&got), vec![team.clone()]);

    let all = store
        .list_members(&dir, &team, States::All, Keyset::all())
        .await
        .expect("list_members");
    assert_eq!(all, vec![ids[0].clone(), ids[2].clone()]);
    let visible = store
        .list_members(&dir, &team, States::Visible, Keyset::all())
        .await
        .expect("list_members");
    assert_eq!(
        visible,
        vec![ids[0].clone()],
        "list_members by state leaves deleted members out"
    );

    let sales = store
        .insert_group(group(&dir, 22, "Sales"), &[ids[0].clone()], &[])
        .await
        .expect("insert group")
        .id;
    let rows = store
        .groups_of_users(&dir, &[ids[3].clone(), ids[0].clone(), ids[2].clone()])
        .await
        .expect("groups_of_users");
    let summary: Vec<(UserId, GroupId, String, bool)> = rows
        .into_iter()
        .map(|r| (r.user_id, r.group_id, r.display_name, r.group_deleted))
        .collect();
    assert_eq!(
        summary,
        vec![
            (ids[0].clone(), team.clone(), "Team".to_owned(), false),
            (ids[0].clone(), sales, "Sales".to_owned(), false),
            (ids[2].clone(), team, "Team".to_owned(), false),
        ],
        "groups_of_users: rows by user then group, with displayName and state"
    );
}

/// Writes that change nothing store nothing; membership edits record their net effect.
pub async fn no_op_writes(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("insert");
    let bob = store
        .insert_user(user(&dir, 11, "bob"))
        .await
        .expect("insert");
    let again = store
        .update_user(
            User {
                meta: Meta {
                    last_modified: AT + time::Duration::hours(1),
                    ..ann.meta.clone()
                },
                ..ann.clone()
            },
            1,
        )
        .await
        .expect("update");
    assert_eq!(again.meta.version, 1, "an unchanged user keeps its version");
    assert_eq!(
        again.meta.last_modified, AT,
        "an unchanged user keeps its lastModified"
    );
    let team = store
        .insert_group(group(&dir, 20, "Team"), std::slice::from_ref(&ann.id), &[])
        .await
        .expect("insert group");
    let before = store.latest_change_seq(&dir).await.expect("seq");
    let same = store
        .update_group(
            team.clone(),
            1,
            &[
                MembershipEdit::RemoveAll,
                MembershipEdit::Add(ann.id.clone()),
            ],
        )
        .await
        .expect("replace with the same members");
    assert_eq!(
        same.meta.version, 1,
        "a replace with the same members is a no-op"
    );
    assert_eq!(
        store.latest_change_seq(&dir).await.expect("seq"),
        before,
        "a no-op records no change"
    );
    let moved = store
        .update_group(
            team,
            1,
            &[
                MembershipEdit::Add(bob.id.clone()),
                MembershipEdit::Remove(bob.id.clone()),
                MembershipEdit::RemoveAll,
                MembershipEdit::Add(bob.id.clone()),
            ],
        )
        .await
        .expect("replace members");
    assert_eq!(
        moved.meta.version, 2,
        "a membership change bumps the version"
    );
    let changes = store
        .list_changes(&dir, before, 100)
        .await
        .expect("changes");
    let summary: Vec<(ChangeKind, Option<UserId>)> =
        changes.into_iter().map(|c| (c.kind, c.member_id)).collect();
    assert_eq!(
        summary,
        vec![
            (ChangeKind::GroupMemberRemoved, Some(ann.id)),
            (ChangeKind::GroupMemberAdded, Some(bob.id)),
        ],
        "membership changes are recorded as their net effect"
    );
}

/// The change log's numbering and retention: `latest_change_seq` is the last `seq`;
/// trimming removes old entries, keeps the numbering, and tells readers of trimmed
/// entries so.
pub async fn change_log_retention(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let other = setup(&stores, 50).await;
    assert_eq!(store.latest_change_seq(&dir).await.expect("seq"), 0);
    for n in 0..5 {
        store
            .insert_user(user(&dir, 10 + n, &format!("u{n}")))
            .await
            .expect("insert");
    }
    store
        .insert_user(user(&other, 60, "elsewhere"))
        .await
        .expect("insert");
    assert_eq!(
        store.latest_change_seq(&dir).await.expect("seq"),
        5,
        "latest_change_seq is the last seq, per directory"
    );
    assert_eq!(store.latest_change_seq(&other).await.expect("seq"), 1);
    let removed = store.trim_changes(&dir, 3).await.expect("trim");
    assert_eq!(removed, 3, "trim_changes removes entries through `through`");
    assert_eq!(
        store.trim_changes(&dir, 2).await.expect("trim again"),
        0,
        "trimming what is gone removes nothing"
    );
    let kept: Vec<u64> = store
        .list_changes(&dir, 3, 100)
        .await
        .expect("changes after the trim point")
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(
        kept,
        vec![4, 5],
        "entries after the trim point keep their seq"
    );
    assert!(
        matches!(
            store.list_changes(&dir, 1, 100).await,
            Err(StoreError::ChangesTrimmed { through: 3 })
        ),
        "reading trimmed entries is ChangesTrimmed"
    );
    assert_eq!(store.latest_change_seq(&dir).await.expect("seq"), 5);
    store
        .insert_user(user(&dir, 20, "later"))
        .await
        .expect("insert");
    assert_eq!(
        store.latest_change_seq(&dir).await.expect("seq"),
        6,
        "numbering goes on after a trim"
    );
    assert_eq!(
        store
            .list_changes(&other, 0, 100)
            .await
            .expect("other")
            .len(),
        1,
        "trimming one directory leaves others alone"
    );
}

/// Purging erases a directory's contents (and only its), and its tokens go with
/// `delete_tokens`.
pub async fn purge(stores: Stores) {
    let (store, tokens) = &stores;
    let dir = setup(&stores, 1).await;
    let other = setup(&stores, 50).await;
    let ann = store
        .insert_user(user(&dir, 10, "ann"))
        .await
        .expect("insert");
    store
        .insert_group(group(&dir, 20, "Team"), std::slice::from_ref(&ann.id), &[])
        .await
        .expect("insert group");
    let kept = store
        .insert_user(user(&other, 60, "kept"))
        .await
        .expect("insert");
    for (n, scope) in [
        (70, TokenScope::Directory(dir.clone())),
        (71, TokenScope::Directory(dir.clone())),
        (72, TokenScope::Directory(other.clone())),
    ] {
        tokens
            .insert_token(TokenRecord::new(
                TokenId::from_uuid(uuid(n)),
                scope,
                TokenHash::of(&format!("secret-{n}")),
                AT,
            ))
            .await
            .expect("insert token");
    }
    assert_eq!(
        tokens
            .delete_tokens(&TokenScope::Directory(dir.clone()))
            .await
            .expect("delete tokens"),
        2
    );
    assert!(
        tokens
            .find_token(&TokenHash::of("secret-70"))
            .await
            .expect("find")
            .is_none(),
        "a deleted token no longer opens anything"
    );
    assert!(
        tokens
            .find_token(&TokenHash::of("secret-72"))
            .await
            .expect("find")
            .is_some(),
        "other directories' tokens stay"
    );
    store.purge_directory(&dir).await.expect("purge");
    assert!(store.get_directory(&dir).await.expect("get").is_none());
    assert!(store.get_user(&dir, &ann.id).await.expect("get").is_none());
    assert_eq!(
        store
            .count_users(&dir, &UserFilter::default())
            .await
            .expect("count"),
        0
    );
    assert!(
        store
            .list_changes(&dir, 0, 10)
            .await
            .unwrap_or_default()
            .is_empty()
    );
    assert!(matches!(
        store.purge_directory(&dir).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.get_user(&other, &kept.id).await.expect("get"),
        Some(kept),
        "purging one directory leaves others alone"
    );
}

/// [`WebhookStore`]: cursors start at 0 and are kept per (endpoint, directory); a dead
/// letter moves its cursor forward (never back) in the same step; dead letters are
/// listed by directory then seq, replaced by key, and removed once.
pub async fn webhook_store(store: Arc<dyn WebhookStore>) {
    let (a, b) = (
        DirectoryId::from_uuid(uuid(1)),
        DirectoryId::from_uuid(uuid(2)),
    );
    assert_eq!(
        store.webhook_cursor("billing", &a).await.expect("cursor"),
        0,
        "no cursor reads as 0"
    );
    store
        .set_webhook_cursor("billing", &a, 7)
        .await
        .expect("set cursor");
    store
        .set_webhook_cursor("audit", &a, 3)
        .await
        .expect("set cursor");
    assert_eq!(
        store.webhook_cursor("billing", &a).await.expect("cursor"),
        7
    );
    assert_eq!(
        store.webhook_cursor("audit", &a).await.expect("cursor"),
        3,
        "endpoints keep their own cursors"
    );
    assert_eq!(
        store.webhook_cursor("billing", &b).await.expect("cursor"),
        0,
        "and so do directories"
    );
    let letter = |dir: &DirectoryId, seq: u64, attempts: u32| {
        DeadLetter::new(
            "billing",
            dir.clone(),
            seq,
            format!("{{\"seq\":{seq}}}"),
            attempts,
            "HTTP 500",
            AT,
        )
    };
    store
        .insert_dead_letter(letter(&a, 9, 4))
        .await
        .expect("dead letter");
    assert_eq!(
        store.webhook_cursor("billing", &a).await.expect("cursor"),
        9,
        "a dead letter moves the cursor past its change"
    );
    store
        .insert_dead_letter(letter(&a, 8, 2))
        .await
        .expect("dead letter");
    assert_eq!(
        store.webhook_cursor("billing", &a).await.expect("cursor"),
        9,
        "an older dead letter never moves the cursor back"
    );
    store
        .insert_dead_letter(letter(&b, 1, 1))
        .await
        .expect("dead letter");
    store
        .insert_dead_letter(letter(&a, 9, 5))
        .await
        .expect("replace");
    let listed = store.list_dead_letters("billing", 10).await.expect("list");
    assert_eq!(
        listed,
        vec![letter(&a, 8, 2), letter(&a, 9, 5), letter(&b, 1, 1)],
        "listed by directory then seq; the same key replaces"
    );
    assert_eq!(
        store
            .list_dead_letters("billing", 1)
            .await
            .expect("list")
            .len(),
        1,
        "limit"
    );
    assert!(
        store
            .list_dead_letters("audit", 10)
            .await
            .expect("list")
            .is_empty(),
        "another endpoint's letters are its own"
    );
    assert_eq!(
        store.get_dead_letter("billing", &a, 9).await.expect("get"),
        Some(letter(&a, 9, 5))
    );
    assert!(
        store
            .remove_dead_letter("billing", &a, 9)
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_dead_letter("billing", &a, 9)
            .await
            .expect("remove"),
        "removing twice finds nothing"
    );
    assert_eq!(
        store.get_dead_letter("billing", &a, 9).await.expect("get"),
        None
    );
    assert_eq!(
        store.webhook_cursor("billing", &a).await.expect("cursor"),
        9,
        "removing a letter leaves the cursor"
    );
}

async fn change_kinds(store: &Arc<dyn DirectoryStore>, dir: &DirectoryId) -> Vec<ChangeKind> {
    store
        .list_changes(dir, 0, 1000)
        .await
        .expect("list_changes")
        .into_iter()
        .map(|c| c.kind)
        .collect()
}

/// A directory's own schema extensions: stored and read back exactly, next to the rest of
/// its configuration; setting them records one `directory.schema_extensions_changed`,
/// setting the same list again records nothing, clearing records one more.
pub async fn directory_schema_extensions(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let widget = crate::schema::SchemaExtension::builder(
        crate::schema::ResourceKind::User,
        "urn:ietf:params:scim:schemas:extension:widget:2.0:User",
    )
    .description("a directory's own")
    .attribute(
        crate::schema::AttributeDef::string("seat")
            .case_exact()
            .uniqueness(crate::schema::Uniqueness::Server),
    )
    .attribute(crate::schema::AttributeDef::complex(
        "desk",
        vec![crate::schema::AttributeDef::integer("floor").required()],
    ))
    .build()
    .expect("a valid extension");
    let roles = RoleMapping::new().with_default("viewer");
    store
        .edit_directory(
            &dir,
            &[
                DirectoryEdit::Roles(roles.clone()),
                DirectoryEdit::SchemaExtensions(vec![widget.clone()]),
            ],
            AT,
        )
        .await
        .expect("set extensions");
    let stored = store
        .get_directory(&dir)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        (&stored.schema_extensions, &stored.roles),
        (&vec![widget.clone()], &roles),
        "the extensions read back exactly, and the other edit of the call is kept"
    );
    store
        .edit_directory(&dir, &[DirectoryEdit::SchemaExtensions(vec![widget])], AT)
        .await
        .expect("same extensions");
    store
        .edit_directory(&dir, &[DirectoryEdit::Name(Some("Acme".into()))], AT)
        .await
        .expect("rename");
    let renamed = store
        .get_directory(&dir)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        renamed.schema_extensions.len(),
        1,
        "an edit of something else keeps the extensions"
    );
    store
        .edit_directory(&dir, &[DirectoryEdit::SchemaExtensions(Vec::new())], AT)
        .await
        .expect("clear");
    let extension_changes = change_kinds(store, &dir)
        .await
        .into_iter()
        .filter(|k| *k == ChangeKind::SchemaExtensionsChanged)
        .count();
    assert_eq!(
        extension_changes, 2,
        "setting and clearing record one entry each; an unchanged list records none"
    );
}

/// Directory lifecycle: `touch_directory` activates a pending directory once and moves the
/// last request time forward only; `edit_directory` disables, enables and deletes, each
/// recorded once, atomically with the state.
pub async fn directory_lifecycle(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let t1 = datetime!(2026-03-01 10:00 UTC);
    let touched = store.touch_directory(&dir, t1).await.expect("touch");
    assert_eq!(
        (touched.state, touched.last_request_at),
        (DirectoryState::Active, Some(t1)),
        "the first touch makes a pending directory active and records the time"
    );
    let earlier = store
        .touch_directory(&dir, t1 - time::Duration::minutes(5))
        .await
        .expect("touch");
    assert_eq!(
        earlier.last_request_at,
        Some(t1),
        "last_request_at never moves back"
    );
    let t2 = t1 + time::Duration::minutes(2);
    store.touch_directory(&dir, t2).await.expect("touch");
    assert_eq!(
        store
            .get_directory(&dir)
            .await
            .expect("get")
            .and_then(|d| d.last_request_at),
        Some(t2)
    );
    let changes = store.list_changes(&dir, 0, 10).await.expect("changes");
    assert_eq!(
        changes.iter().map(|c| c.kind).collect::<Vec<_>>(),
        [ChangeKind::DirectoryActivated],
        "activation is recorded once, in the directory's log"
    );
    assert_eq!(changes[0].resource_id, ResourceId::Directory(dir.clone()));
    assert_eq!(changes[0].at, t1);

    let disabled = store
        .edit_directory(&dir, &[DirectoryEdit::Disable], t2)
        .await
        .expect("disable");
    assert_eq!(disabled.state, DirectoryState::Disabled);
    store
        .edit_directory(&dir, &[DirectoryEdit::Disable], t2)
        .await
        .expect("disable again");
    let still = store.touch_directory(&dir, t2).await.expect("touch");
    assert_eq!(
        still.state,
        DirectoryState::Disabled,
        "a request does not enable a disabled directory"
    );
    let enabled = store
        .edit_directory(&dir, &[DirectoryEdit::Enable], t2)
        .await
        .expect("enable");
    assert_eq!(
        enabled.state,
        DirectoryState::Active,
        "a directory that had connected comes back active"
    );
    let roles = RoleMapping::new()
        .map(GroupMatch::DisplayName("Engineering".into()), "developer")
        .with_default("viewer");
    let configured = store
        .edit_directory(
            &dir,
            &[
                DirectoryEdit::Name(Some("Acme".into())),
                DirectoryEdit::Idp(IdpKind::Okta),
                DirectoryEdit::Roles(roles.clone()),
            ],
            t2,
        )
        .await
        .expect("configure");
    assert_eq!(
        (
            configured.name.as_deref(),
            configured.idp,
            &configured.roles
        ),
        (Some("Acme"), IdpKind::Okta, &roles)
    );
    store
        .edit_directory(&dir, &[DirectoryEdit::Roles(roles.clone())], t2)
        .await
        .expect("same roles");
    assert_eq!(
        change_kinds(store, &dir).await,
        [
            ChangeKind::DirectoryActivated,
            ChangeKind::DirectoryDisabled,
            ChangeKind::DirectoryEnabled,
            ChangeKind::RoleMappingChanged,
        ],
        "each state change and mapping change is recorded once; no-ops record nothing"
    );
    let deleted = store
        .edit_directory(&dir, &[DirectoryEdit::Delete], t2)
        .await
        .expect("delete");
    assert_eq!(deleted.state, DirectoryState::Deleted);
    assert_eq!(
        change_kinds(store, &dir).await.last(),
        Some(&ChangeKind::DirectoryDeleted)
    );
    assert!(
        matches!(
            store
                .edit_directory(&dir, &[DirectoryEdit::Enable], t2)
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "a deleted directory takes no edits"
    );
    assert!(
        store.get_directory(&dir).await.expect("get").is_some(),
        "a deleted directory keeps its data until purged"
    );

    // A disabled directory no IdP ever reached comes back pending.
    let fresh = setup(&stores, 20).await;
    store
        .edit_directory(&fresh, &[DirectoryEdit::Disable, DirectoryEdit::Enable], t1)
        .await
        .expect("disable and enable");
    assert!(
        change_kinds(store, &fresh).await.is_empty(),
        "disable then enable in one call records nothing"
    );
    store
        .edit_directory(&fresh, &[DirectoryEdit::Disable], t1)
        .await
        .expect("disable");
    let back = store
        .edit_directory(&fresh, &[DirectoryEdit::Enable], t1)
        .await
        .expect("enable");
    assert_eq!(back.state, DirectoryState::Pending);

    let unknown = DirectoryId::from_uuid(uuid(99));
    assert!(matches!(
        store.touch_directory(&unknown, t1).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .edit_directory(&unknown, &[DirectoryEdit::Disable], t1)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

/// Concurrent touches (requests on several replicas) and vendor edits never lose one
/// another: every edit is kept, and the directory is activated exactly once.
pub async fn concurrent_directory_writes(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let mut tasks = Vec::new();
    for n in 0..8i64 {
        let (store, dir) = (store.clone(), dir.clone());
        tasks.push(tokio::spawn(async move {
            let at = AT + time::Duration::minutes(n);
            store.touch_directory(&dir, at).await.expect("touch");
        }));
    }
    let (store2, dir2) = (store.clone(), dir.clone());
    tasks.push(tokio::spawn(async move {
        store2
            .edit_directory(&dir2, &[DirectoryEdit::Name(Some("Acme".into()))], AT)
            .await
            .expect("name");
    }));
    let (store3, dir3) = (store.clone(), dir.clone());
    tasks.push(tokio::spawn(async move {
        store3
            .edit_directory(&dir3, &[DirectoryEdit::Idp(IdpKind::Entra)], AT)
            .await
            .expect("idp");
    }));
    for task in tasks {
        task.await.expect("task");
    }
    let stored = store
        .get_directory(&dir)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(
        stored.name.as_deref(),
        Some("Acme"),
        "the name edit is kept"
    );
    assert_eq!(stored.idp, IdpKind::Entra, "the idp edit is kept");
    assert_eq!(stored.state, DirectoryState::Active);
    assert_eq!(
        stored.last_request_at,
        Some(AT + time::Duration::minutes(7)),
        "the latest request time wins"
    );
    assert_eq!(
        change_kinds(store, &dir).await,
        [ChangeKind::DirectoryActivated],
        "activated exactly once"
    );

    // Another directory of the organization becomes primary by an edit, in one step.
    let org = stored.organization_id.clone();
    let second = Directory::new(DirectoryId::from_uuid(uuid(50)), org.clone(), false);
    store
        .insert_directory(second.clone())
        .await
        .expect("insert");
    let promoted = store
        .edit_directory(&second.id, &[DirectoryEdit::MakePrimary], AT)
        .await
        .expect("make primary");
    assert!(promoted.primary);
    let primaries: Vec<DirectoryId> = store
        .list_directories(&org)
        .await
        .expect("list")
        .into_iter()
        .filter(|d| d.primary)
        .map(|d| d.id)
        .collect();
    assert_eq!(primaries, [second.id], "the previous primary is demoted");
    let first = store
        .get_directory(&dir)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(
        (first.name.as_deref(), first.state),
        (Some("Acme"), DirectoryState::Active),
        "and keeps everything else"
    );
}

fn role_set(names: &[&str]) -> std::collections::BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The `user.roles_changed` entries after `after`: (user, before, after).
async fn roles_entries(
    store: &Arc<dyn DirectoryStore>,
    dir: &DirectoryId,
    after: u64,
) -> Vec<(
    ResourceId,
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
)> {
    store
        .list_changes(dir, after, 1000)
        .await
        .expect("list_changes")
        .into_iter()
        .filter(|c| c.kind == ChangeKind::RolesChanged)
        .map(|c| {
            let roles = c.roles.expect("a roles change carries its roles");
            (c.resource_id, roles.before, roles.after)
        })
        .collect()
}

/// Role changes: every write that changes a user's effective roles under the directory's
/// mapping records one `user.roles_changed` entry for that user, with the roles before
/// and after, in the same step; writes that change no one's roles record none.
pub async fn role_changes(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let mapping = RoleMapping::new()
        .map(GroupMatch::DisplayName("eng".into()), "developer")
        .map(GroupMatch::ExternalId("gext-13".into()), "ops")
        .with_default("viewer");
    store
        .edit_directory(&dir, &[DirectoryEdit::Roles(mapping)], AT)
        .await
        .expect("set the mapping");
    let ann = user(&dir, 10, "ann");
    let ann_id = ann.id.clone();
    let mut seen = store.latest_change_seq(&dir).await.expect("seq");
    let mut next = async |expected: Vec<(&UserId, &[&str], &[&str])>, why: &str| {
        let got = roles_entries(store, &dir, seen).await;
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(u, b, a)| (ResourceId::User(u.clone()), role_set(b), role_set(a)))
            .collect();
        assert_eq!(got, expected, "{why}");
        seen = store.latest_change_seq(&dir).await.expect("seq");
    };
    let stored = store.insert_user(ann.clone()).await.expect("insert");
    next(
        vec![(&ann_id, &[], &["viewer"])],
        "a new user gets the default role",
    )
    .await;

    let eng = store
        .insert_group(group(&dir, 12, "Eng"), std::slice::from_ref(&ann.id), &[])
        .await
        .expect("insert group");
    next(
        vec![(&ann_id, &["viewer"], &["developer"])],
        "a new group's members get its role (displayName case-insensitively)",
    )
    .await;
    let renamed = Group {
        display_name: "Other".into(),
        attributes: json!({"displayName": "Other", "externalId": "gext-12"}),
        ..eng.clone()
    };
    let renamed = store
        .update_group(renamed, eng.meta.version, &[])
        .await
        .expect("rename");
    next(
        vec![(&ann_id, &["developer"], &["viewer"])],
        "renaming a group away from a rule's name takes its role",
    )
    .await;
    let ops = store
        .insert_group(group(&dir, 13, "anything"), &[], &[])
        .await
        .expect("insert group");
    next(vec![], "a group without members changes no roles").await;
    store
        .edit_members(&dir, &ops.id, &[MembershipEdit::Add(ann.id.clone())], AT)
        .await
        .expect("add");
    next(
        vec![(&ann_id, &["viewer"], &["ops"])],
        "matched by externalId",
    )
    .await;
    store
        .edit_members(
            &dir,
            &renamed.id,
            &[MembershipEdit::Add(ann.id.clone())],
            AT,
        )
        .await
        .expect("add again");
    let updated = store
        .update_user(
            User {
                email: Some("ann@example.org".into()),
                ..stored.clone()
            },
            stored.meta.version,
        )
        .await
        .expect("update");
    next(
        vec![],
        "a no-op membership edit and an attribute change record no roles change",
    )
    .await;
    let off = store
        .update_user(
            User {
                state: UserState::Deactivated,
                ..updated.clone()
            },
            updated.meta.version,
        )
        .await
        .expect("deactivate");
    next(
        vec![(&ann_id, &["ops"], &[])],
        "a deprovisioned user has no roles",
    )
    .await;
    store
        .update_user(
            User {
                state: UserState::Active,
                ..off.clone()
            },
            off.meta.version,
        )
        .await
        .expect("restore");
    next(vec![(&ann_id, &[], &["ops"])], "restoring gives them back").await;
    let ops = store
        .get_group(&dir, &ops.id)
        .await
        .expect("get")
        .expect("there");
    store
        .update_group(
            Group {
                deleted: true,
                ..ops.clone()
            },
            ops.meta.version,
            &[],
        )
        .await
        .expect("delete group");
    next(
        vec![(&ann_id, &["ops"], &["viewer"])],
        "a deleted group gives no role",
    )
    .await;
}

/// Concurrent member edits of two mapped groups for one user (two replicas, say) plan
/// one after the other: the user's entries form one chain, each `before` the previous
/// `after`, ending at the roles both edits give.
pub async fn concurrent_role_changes(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let mut mapping = RoleMapping::new().with_default("viewer");
    for n in 0..6u128 {
        mapping = mapping.map(GroupMatch::DisplayName(format!("g{n}")), format!("r{n}"));
    }
    store
        .edit_directory(&dir, &[DirectoryEdit::Roles(mapping)], AT)
        .await
        .expect("set the mapping");
    let ann = user(&dir, 10, "ann");
    store.insert_user(ann.clone()).await.expect("insert");
    let mut groups = Vec::new();
    for n in 0..6u128 {
        let g = store
            .insert_group(group(&dir, 20 + n, &format!("g{n}")), &[], &[])
            .await
            .expect("group");
        groups.push(g.id);
    }
    let seen = store.latest_change_seq(&dir).await.expect("seq");
    let mut tasks = Vec::new();
    for g in groups {
        let (store, dir, ann) = (store.clone(), dir.clone(), ann.id.clone());
        tasks.push(tokio::spawn(async move {
            store
                .edit_members(&dir, &g, &[MembershipEdit::Add(ann)], AT)
                .await
                .expect("add");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let entries = roles_entries(store, &dir, seen).await;
    assert_eq!(entries.len(), 6, "one entry per effective change");
    let mut current = role_set(&["viewer"]);
    for (_, before, after) in &entries {
        assert_eq!(
            before, &current,
            "each entry starts where the previous ended"
        );
        current = after.clone();
    }
    assert_eq!(current, role_set(&["r0", "r1", "r2", "r3", "r4", "r5"]));
}
