//! [`members_of_groups`]: the batch read of a page of groups' members.

use super::{AT, Stores, group, lifecycle_fixture, setup, user, uuid};
use crate::model::{DirectoryId, Group, GroupId};
use crate::store::plan::NestingRefusal;
use crate::store::{
    DirectoryStore, GroupFilter, GroupMember, Keyset, Member, MembershipEdit, States, StoreError,
};

/// What [`DirectoryStore::members_of_groups`] must equal: the per-group reads, each
/// distinct group once in id order, users then member groups.
async fn per_group_reads(
    store: &dyn DirectoryStore,
    dir: &DirectoryId,
    groups: &[GroupId],
    states: States,
) -> Vec<GroupMember> {
    let mut groups = groups.to_vec();
    groups.sort();
    groups.dedup();
    let mut rows = Vec::new();
    for group in groups {
        let users = store
            .list_members(dir, &group, states, Keyset::all())
            .await
            .expect("list_members");
        let filter = GroupFilter {
            states: States::Visible,
            parent: Some(group.clone()),
            ..GroupFilter::default()
        };
        let children = store
            .list_groups(dir, &filter, Keyset::all())
            .await
            .expect("list_groups");
        rows.extend(users.into_iter().map(|user| GroupMember {
            group_id: group.clone(),
            member: Member::User(user),
        }));
        rows.extend(children.into_iter().map(|child| GroupMember {
            group_id: group.clone(),
            member: Member::Group {
                id: child.id,
                display_name: child.display_name,
            },
        }));
    }
    rows
}

/// `members_of_groups` answers a batch of groups as the per-group reads do
/// (`list_members` with the same states, then the member groups not deleted): users in
/// every lifecycle state, deleted member groups left out, empty and unknown groups adding
/// nothing, each group once, and nothing of another directory. A backend that refuses
/// nested groups is checked on user members only.
pub async fn members_of_groups(stores: Stores) {
    let (store, _) = &stores;
    // Users 10 (active), 11 (deactivated), 12 (deleted), 13 (active); Team has 10 and 12.
    let (dir, ids, team) = lifecycle_fixture(&stores).await;
    let leads = store
        .insert_group(
            group(&dir, 21, "Leads"),
            &[ids[1].clone(), ids[3].clone()],
            &[],
        )
        .await
        .expect("insert Leads")
        .id;
    let empty = store
        .insert_group(group(&dir, 22, "Empty"), &[], &[])
        .await
        .expect("insert Empty")
        .id;
    let retired = store
        .insert_group(group(&dir, 23, "Retired"), &[ids[0].clone()], &[])
        .await
        .expect("insert Retired");
    let nested = store
        .edit_members(
            &dir,
            &team,
            &[
                MembershipEdit::AddGroup(leads.clone()),
                MembershipEdit::AddGroup(retired.id.clone()),
            ],
            AT,
        )
        .await;
    let nests = match nested {
        Ok(_) => true,
        Err(StoreError::Nesting(NestingRefusal::Unsupported(_))) => false,
        Err(other) => panic!("edit_members adding member groups: {other:?}"),
    };
    store
        .update_group(
            Group {
                deleted: true,
                ..retired.clone()
            },
            retired.meta.version,
            &[],
        )
        .await
        .expect("delete Retired");
    let other = setup(&stores, 50).await;
    let stranger = store
        .insert_user(user(&other, 60, "stranger"))
        .await
        .expect("insert stranger")
        .id;
    let elsewhere = store
        .insert_group(group(&other, 61, "Elsewhere"), &[stranger], &[])
        .await
        .expect("insert Elsewhere")
        .id;

    let asked = vec![
        leads.clone(),
        GroupId::from_uuid(uuid(999)),
        team.clone(),
        elsewhere.clone(),
        empty.clone(),
        team.clone(),
        retired.id.clone(),
    ];
    for states in [States::All, States::Visible, States::Active] {
        let batch = store
            .members_of_groups(&dir, &asked, states)
            .await
            .expect("members_of_groups");
        let expected = per_group_reads(store.as_ref(), &dir, &asked, states).await;
        assert_eq!(
            batch, expected,
            "members_of_groups ({states:?}) equals list_members plus the member groups, \
             per group in id order"
        );
    }

    let user_row = |group: &GroupId, n: usize| GroupMember {
        group_id: group.clone(),
        member: Member::User(ids[n].clone()),
    };
    let mut visible = vec![user_row(&team, 0)];
    if nests {
        visible.push(GroupMember {
            group_id: team.clone(),
            member: Member::Group {
                id: leads.clone(),
                display_name: "Leads".to_owned(),
            },
        });
    }
    visible.extend([
        user_row(&leads, 1),
        user_row(&leads, 3),
        user_row(&retired.id, 0),
    ]);
    assert_eq!(
        store
            .members_of_groups(&dir, &asked, States::Visible)
            .await
            .expect("members_of_groups"),
        visible,
        "Visible: deleted users and deleted member groups left out, deactivated users kept, \
         users before member groups, nothing for empty, unknown or foreign groups"
    );
    assert_eq!(
        store
            .members_of_groups(&other, &[team.clone(), leads.clone()], States::All)
            .await
            .expect("members_of_groups"),
        Vec::new(),
        "another directory's groups have no members here"
    );
    assert_eq!(
        store
            .members_of_groups(&dir, &[], States::All)
            .await
            .expect("members_of_groups"),
        Vec::new(),
        "an empty batch reads nothing"
    );
}
