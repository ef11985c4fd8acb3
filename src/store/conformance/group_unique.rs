//! Declared unique attributes of groups ([`Group::unique_keys`]): the group twins of
//! [`super::declared_unique_attributes`] and [`super::concurrent_unique_attribute_creates`].

use serde_json::json;

use super::{AT, Stores, group, setup, user, uuid};
use crate::model::{Group, GroupId, UniqueKey};
use crate::store::{GroupFilter, MembershipEdit, StoreError};

const CODE: &str = "urn:example:acme:2.0:Group:code";
const ALIASES: &str = "urn:example:acme:2.0:Group:aliases";

/// `group` claiming these declared unique keys.
fn claiming(group: Group, keys: &[(&str, &str)]) -> Group {
    group.with_unique_keys(keys.iter().map(|(a, v)| UniqueKey::new(*a, *v)).collect())
}

fn attribute_taken(result: Result<Group, StoreError>) -> Option<String> {
    match result {
        Err(StoreError::AttributeTaken { attribute }) => Some(attribute),
        _ => None,
    }
}

/// `group` with a changed document, claiming `keys`.
fn edited(group: &Group, keys: &[(&str, &str)]) -> Group {
    let mut next = group.clone();
    next.attributes["description"] = json!(format!("v{}", group.meta.version + 1));
    claiming(next, keys)
}

/// Declared unique attributes of groups: a key a group that is not deleted holds is its
/// alone in its directory; a refused write stores and records nothing; changing a value
/// or deleting the group releases it; restoring claims again (and is refused if the
/// value was taken meanwhile); membership-only writes keep what the group holds; users'
/// keys are another namespace; other directories are separate.
pub async fn declared_unique_group_attributes(stores: Stores) {
    let (store, _) = &stores;
    let dir = setup(&stores, 1).await;
    let other_dir = setup(&stores, 50).await;
    let eng = store
        .insert_group(
            claiming(
                group(&dir, 20, "Eng"),
                &[(CODE, "c-1"), (ALIASES, "a"), (ALIASES, "b")],
            ),
            &[],
            &[],
        )
        .await
        .expect("insert eng");
    assert!(
        eng.unique_keys.is_empty(),
        "a stored group carries no claimed keys"
    );
    assert_eq!(
        store.get_group(&dir, &eng.id).await.expect("get").as_ref(),
        Some(&eng),
        "the group returned is the group stored"
    );
    let seq = store.latest_change_seq(&dir).await.expect("seq");
    let ops = || group(&dir, 21, "Ops");
    assert_eq!(
        attribute_taken(
            store
                .insert_group(claiming(ops(), &[(CODE, "c-1")]), &[], &[])
                .await
        )
        .as_deref(),
        Some(CODE),
        "a value a group holds is refused, naming the attribute"
    );
    assert_eq!(
        store
            .get_group(&dir, &GroupId::from_uuid(uuid(21)))
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
                .insert_group(claiming(ops(), &[(ALIASES, "b")]), &[], &[])
                .await
        )
        .as_deref(),
        Some(ALIASES),
        "each value of a multi-valued attribute is held"
    );
    let ops = store
        .insert_group(
            claiming(ops(), &[(CODE, "c-2"), (CODE, "c-2"), (ALIASES, "c-1")]),
            &[],
            &[],
        )
        .await
        .expect("other values, a value twice, and another attribute's value are free");
    store
        .insert_group(
            claiming(group(&other_dir, 22, "Eng"), &[(CODE, "c-1")]),
            &[],
            &[],
        )
        .await
        .expect("another directory's values are its own");
    store
        .insert_group(
            claiming(group(&dir, 23, "Gone").with_deleted(true), &[(CODE, "c-2")]),
            &[],
            &[],
        )
        .await
        .expect("a deleted group claims nothing");

    // Users and groups hold keys apart.
    let ann = store
        .insert_user(user(&dir, 10, "ann").with_unique_keys(vec![UniqueKey::new(CODE, "c-1")]))
        .await
        .expect("a group's value is free for a user");
    store
        .insert_group(
            claiming(group(&dir, 24, "Shared"), &[(CODE, "u-1")]),
            &[],
            &[],
        )
        .await
        .expect("insert shared");
    store
        .insert_user(user(&dir, 11, "bob").with_unique_keys(vec![UniqueKey::new(CODE, "u-1")]))
        .await
        .expect("a user may hold what a group holds");

    // Writes that keep the document keep the keys, and are not re-checked.
    let frank = store
        .insert_group(group(&dir, 25, "Frank"), &[], &[])
        .await
        .expect("insert frank");
    let same = store
        .update_group(claiming(frank.clone(), &[(CODE, "c-2")]), 1, &[])
        .await
        .expect("a no-op write is not re-checked");
    assert_eq!(same.meta.version, 1, "the no-op stored nothing");
    let frank = store
        .update_group(
            claiming(frank.clone(), &[(CODE, "c-2")]),
            1,
            &[MembershipEdit::Add(ann.id.clone())],
        )
        .await
        .expect("a membership-only replacement is not re-checked");
    store
        .edit_members(&dir, &eng.id, &[MembershipEdit::Add(ann.id.clone())], AT)
        .await
        .expect("edit eng's members");
    assert_eq!(
        attribute_taken(
            store
                .insert_group(claiming(group(&dir, 26, "Hal"), &[(CODE, "c-1")]), &[], &[])
                .await
        )
        .as_deref(),
        Some(CODE),
        "a member edit keeps the group's values"
    );

    assert_eq!(
        attribute_taken(
            store
                .update_group(edited(&ops, &[(ALIASES, "a")]), 1, &[])
                .await
        )
        .as_deref(),
        Some(ALIASES),
        "an update into a held value is refused"
    );
    assert_eq!(
        store
            .get_group(&dir, &ops.id)
            .await
            .expect("get")
            .map(|g| g.meta.version),
        Some(1),
        "a refused update stores nothing"
    );
    assert_eq!(
        attribute_taken(
            store
                .update_group(edited(&frank, &[(ALIASES, "b")]), frank.meta.version, &[])
                .await
        )
        .as_deref(),
        Some(ALIASES),
        "a group that held nothing claims when its document changes"
    );

    // Changing a value releases the old one.
    let eng = store
        .get_group(&dir, &eng.id)
        .await
        .expect("get")
        .expect("eng");
    let eng = store
        .update_group(
            edited(&eng, &[(CODE, "c-1"), (ALIASES, "z")]),
            eng.meta.version,
            &[],
        )
        .await
        .expect("eng keeps a value and changes others");
    store
        .update_group(edited(&ops, &[(ALIASES, "a")]), 1, &[])
        .await
        .expect("a value its holder changed is free");
    assert!(
        attribute_taken(
            store
                .insert_group(
                    claiming(group(&dir, 27, "Ivy"), &[(ALIASES, "z")]),
                    &[],
                    &[]
                )
                .await
        )
        .is_some(),
        "the value it changed to is held"
    );

    // Deleting releases; restoring claims again.
    let eng = store
        .update_group(
            claiming(eng.clone().with_deleted(true), &[(CODE, "c-1")]),
            eng.meta.version,
            &[],
        )
        .await
        .expect("delete eng");
    let dave = store
        .insert_group(
            claiming(group(&dir, 28, "Dave"), &[(CODE, "c-1")]),
            &[],
            &[],
        )
        .await
        .expect("a deleted group's values are free");
    let restore = || claiming(eng.clone().with_deleted(false), &[(CODE, "c-1")]);
    assert_eq!(
        attribute_taken(store.update_group(restore(), eng.meta.version, &[]).await).as_deref(),
        Some(CODE),
        "restoring into a taken value is refused"
    );
    assert!(
        store
            .get_group(&dir, &eng.id)
            .await
            .expect("get")
            .is_some_and(|g| g.deleted),
        "the refused restore changed nothing"
    );
    store
        .update_group(dave.clone().with_deleted(true), dave.meta.version, &[])
        .await
        .expect("delete dave");
    store
        .update_group(restore(), eng.meta.version, &[])
        .await
        .expect("restore once the value is free");
    assert!(
        attribute_taken(
            store
                .insert_group(claiming(group(&dir, 29, "Jo"), &[(CODE, "c-1")]), &[], &[])
                .await
        )
        .is_some(),
        "the restored group holds its values again"
    );
}

/// Concurrent group inserts claiming one declared unique value: exactly one wins.
pub async fn concurrent_unique_group_attribute_creates(stores: Stores) {
    let dir = setup(&stores, 1).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = stores.0.clone();
        let dir = dir.clone();
        tasks.push(tokio::spawn(async move {
            // Each also claims a value of its own, listed in either order.
            let own = format!("alias-{n}");
            let keys: Vec<(&str, &str)> = if n % 2 == 0 {
                vec![(CODE, "race"), (ALIASES, &own)]
            } else {
                vec![(ALIASES, &own), (CODE, "race")]
            };
            let racer = claiming(group(&dir, 100 + n, &format!("racer-{n}")), &keys);
            store.insert_group(racer, &[], &[]).await
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
        "exactly one concurrent group insert of a declared unique value wins"
    );
    let stored = stores
        .0
        .count_groups(&dir, &GroupFilter::default())
        .await
        .expect("count");
    assert_eq!(stored, 1, "the losers stored nothing");
}
