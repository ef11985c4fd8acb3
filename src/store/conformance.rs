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

use std::future::Future;
use std::sync::Arc;

use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use super::{
    DirectoryStore, GroupKey, Keyset, MembershipEdit, StoreError, TokenStore, UniqueAttribute,
    UserKey,
};
use crate::model::{
    ChangeKind, Directory, DirectoryId, Group, GroupId, Meta, Organization, OrganizationId,
    TokenHash, TokenId, TokenRecord, TokenScope, User, UserId, UserState,
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
    let directory = Directory {
        id: DirectoryId::from_uuid(uuid(n + 1)),
        organization_id: organization.id,
        primary: true,
    };
    store
        .insert_directory(directory.clone())
        .await
        .expect("insert_directory");
    directory.id
}

/// Runs every check, each on a fresh pair of stores from `new_stores`.
pub async fn run_all<F, Fut>(new_stores: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Stores>,
{
    organizations(new_stores().await).await;
    directories(new_stores().await).await;
    user_versions(new_stores().await).await;
    user_indexes(new_stores().await).await;
    keyset_listing(new_stores().await).await;
    user_name_uniqueness(new_stores().await).await;
    concurrent_creates(new_stores().await).await;
    memberships(new_stores().await).await;
    concurrent_member_edits(new_stores().await).await;
    group_updates(new_stores().await).await;
    concurrent_group_updates(new_stores().await).await;
    change_log(new_stores().await).await;
    tokens(new_stores().await).await;
    isolation(new_stores().await).await;
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
            Err(StoreError::NotFound(_))
        ),
        "update of a missing org"
    );
    let first = store
        .list_organizations(Keyset {
            after: None,
            limit: 1,
        })
        .await
        .expect("list");
    let rest = store
        .list_organizations(Keyset {
            after: first.last().map(|o| &o.id),
            limit: 10,
        })
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
    let orphan = Directory {
        id: DirectoryId::from_uuid(uuid(50)),
        organization_id: org(99, None).id,
        primary: true,
    };
    assert!(
        matches!(
            store.insert_directory(orphan).await,
            Err(StoreError::NotFound(_))
        ),
        "a directory needs its organization"
    );
    let first = Directory {
        id: DirectoryId::from_uuid(uuid(10)),
        organization_id: acme.id.clone(),
        primary: true,
    };
    let second = Directory {
        id: DirectoryId::from_uuid(uuid(11)),
        organization_id: acme.id.clone(),
        primary: true,
    };
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
    assert!(
        matches!(
            store.update_user(user(&dir, 11, "x"), 1).await,
            Err(StoreError::NotFound(_))
        ),
        "update of a missing user"
    );
    assert!(
        matches!(
            store
                .insert_user(user(&DirectoryId::from_uuid(uuid(77)), 12, "y"))
                .await,
            Err(StoreError::NotFound(_))
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
            .find_users(&dir, &UserKey::UserName("ann@example.COM".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()],
        "userName is case-insensitive"
    );
    assert_eq!(
        ids(store
            .find_users(&dir, &UserKey::Email("mail10@example.com".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()],
        "emails are case-insensitive"
    );
    assert_eq!(
        ids(store
            .find_users(&dir, &UserKey::ExternalId("ext-10".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()]
    );
    assert!(
        store
            .find_users(&dir, &UserKey::ExternalId("EXT-10".into()))
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
            .find_users(&dir, &UserKey::UserName("ann@example.com".into()))
            .await
            .expect("find")
            .is_empty(),
        "old userName leaves the index"
    );
    assert!(
        store
            .find_users(&dir, &UserKey::ExternalId("ext-10".into()))
            .await
            .expect("find")
            .is_empty(),
        "removed externalId leaves the index"
    );
    assert_eq!(
        ids(store
            .find_users(&dir, &UserKey::Email("ANNA@example.com".into()))
            .await
            .expect("find")),
        vec![ann.id.clone()]
    );
    let sales = store
        .insert_group(group(&dir, 20, "Sales"), &[])
        .await
        .expect("insert group");
    let found = store
        .find_groups(&dir, &GroupKey::DisplayName("SALES".into()))
        .await
        .expect("find");
    assert_eq!(
        found.into_iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![sales.id.clone()],
        "displayName is case-insensitive"
    );
    assert_eq!(
        store
            .find_groups(&dir, &GroupKey::ExternalId("gext-20".into()))
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
                None,
                Keyset {
                    after: after.as_ref(),
                    limit: 3,
                },
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
        .insert_group(group(&dir, 200, "Team"), &stable)
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
                Some(&team),
                Keyset {
                    after: after.as_ref(),
                    limit: 3,
                },
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
                .insert_group(group(&dir, n, &format!("g{n}")), &[])
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
                Keyset {
                    after: after.as_ref(),
                    limit: 3,
                },
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
            Keyset {
                after: stable.get(1),
                limit: 2,
            },
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
        .find_users(&dir, &UserKey::UserName("ann\u{0}x".into()))
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
        .insert_group(group(&dir, 20, "Sales"), std::slice::from_ref(&ann))
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
                .list_members(
                    &dir,
                    &g,
                    Keyset {
                        after: None,
                        limit: 100,
                    },
                )
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
            Some(&sales),
            Keyset {
                after: Some(&ann),
                limit: 10,
            },
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
            .list_groups_of_user(
                &dir,
                &bob,
                Keyset {
                    after: None,
                    limit: 10
                }
            )
            .await
            .expect("list"),
        vec![sales.clone()]
    );
    assert!(
        matches!(
            store
                .edit_members(&dir, &sales, &[MembershipEdit::Add(zed.clone())], AT)
                .await,
            Err(StoreError::NotFound(_))
        ),
        "a member of another directory is NotFound"
    );
    assert_eq!(all(&sales).await.len(), 2, "a refused edit changes nothing");
    assert!(
        matches!(
            store
                .insert_group(group(&dir, 21, "Mixed"), &[bob.clone(), zed.clone()])
                .await,
            Err(StoreError::NotFound(_))
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
            Err(StoreError::NotFound(_))
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
            .list_groups_of_user(
                &dir,
                &ann,
                Keyset {
                    after: None,
                    limit: 10
                }
            )
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
        .insert_group(group(&dir, 5, "Everyone"), &[])
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
        .list_members(
            &dir,
            &everyone,
            Keyset {
                after: None,
                limit: 1000,
            },
        )
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
        .insert_group(group(&dir, 20, "Sales"), &[])
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
            .list_members(
                &dir,
                &sales.id,
                Keyset {
                    after: None,
                    limit: 10
                }
            )
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
            .list_members(
                &dir,
                &sales.id,
                Keyset {
                    after: None,
                    limit: 10
                }
            )
            .await
            .expect("list"),
        vec![ann]
    );
    assert!(
        store
            .find_groups(&dir, &GroupKey::DisplayName("sales".into()))
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
            Err(StoreError::NotFound(_))
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
        .insert_group(group(&dir, 20, "Sales"), &[])
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
        .list_members(
            &dir,
            &sales.id,
            Keyset {
                after: None,
                limit: 100,
            },
        )
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
        .insert_group(group(&dir, 20, "G"), std::slice::from_ref(&ann.id))
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
            ChangeKind::UserDeleted,
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
            (ann.id.to_string(), None),
            (ann.id.to_string(), None),
            (ann.id.to_string(), None),
            (ann.id.to_string(), None),
            (g.id.to_string(), None),
            (g.id.to_string(), Some(ann.id.clone())),
            (g.id.to_string(), Some(ann.id.clone())),
            (g.id.to_string(), None),
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

/// Tokens: found by hash, listed by scope, revoked at once, hashes unique.
pub async fn tokens(stores: Stores) {
    let (_, tokens) = &stores;
    let scope = TokenScope::Directory(DirectoryId::from_uuid(uuid(1)));
    let record = |n: u128, secret: &str, scope: TokenScope| TokenRecord {
        id: TokenId::from_uuid(uuid(n)),
        scope,
        hash: TokenHash::of(secret),
        created: AT,
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
        Err(StoreError::NotFound(_))
    ));
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
            .list_users(
                &b,
                None,
                Keyset {
                    after: None,
                    limit: 10
                }
            )
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        store
            .find_users(&b, &UserKey::UserName("ann".into()))
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
        .insert_group(group(&a, 20, "Sales"), std::slice::from_ref(&ann.id))
        .await
        .expect("insert group");
    assert_eq!(
        store.get_group(&b, &sales.id).await.expect("get"),
        None,
        "a group is only in its directory"
    );
    assert!(
        store
            .find_groups(&b, &GroupKey::DisplayName("sales".into()))
            .await
            .expect("find")
            .is_empty()
    );
    assert!(
        matches!(
            store.edit_members(&b, &sales.id, &[], AT).await,
            Err(StoreError::NotFound(_))
        ),
        "another directory's group takes no edits"
    );
    assert!(
        store
            .list_groups_of_user(
                &b,
                &ann.id,
                Keyset {
                    after: None,
                    limit: 10
                }
            )
            .await
            .expect("list")
            .is_empty()
    );

    // Organizations: a new primary demotes only its own organization's primary.
    let org_a = org(1, None).id;
    let org_b = org(50, None).id;
    let second_a = Directory {
        id: DirectoryId::from_uuid(uuid(90)),
        organization_id: org_a.clone(),
        primary: true,
    };
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
    let record = |n: u128, scope: TokenScope| TokenRecord {
        id: TokenId::from_uuid(uuid(n)),
        scope,
        hash: TokenHash::of(&format!("secret-{n}")),
        created: AT,
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
