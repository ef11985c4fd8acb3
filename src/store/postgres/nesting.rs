//! Nested groups inside a write's transaction: the per-directory nesting lock, and a
//! [`NestingReads`] over what the transaction read.
//!
//! The planner's reads are synchronous, so they cannot query. [`Nesting`] answers from
//! what it holds and records what it lacked; the write runs the plan, fetches every miss
//! in a few batched statements ([`PostgresStore::fetch_nesting`]), and runs it again, until a
//! run misses nothing. Only that run's answer counts: an earlier one saw a smaller graph.
//! Each round fetches whole closures at once (a missed group's ancestors' parent edges
//! or its descendants' child edges, up to the depth limit, in one recursive statement;
//! a group's ancestors with the group), so a plan settles in a handful of rounds and
//! reads the part of the graph it walks, never the directory's whole graph.
//!
//! Users are read under `FOR NO KEY UPDATE`, in id order, as a user write locks its row,
//! so their state and groups cannot change before commit.

use super::prepared::Prepared;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::Transaction;

use super::PostgresStore;
use super::sql::{db, parse_id, unesc};
use crate::model::{DirectoryId, Group, GroupId, RoleMapping, UserId};
use crate::store::StoreError;
use crate::store::plan::{GroupPlan, NestingReads, RoleGroup};

/// How a group write holds its directory's nesting lock (a transaction-scoped advisory
/// lock per directory, taken after the group row and the role mapping, before any user
/// row): writes that change the graph, or what a group passes down, hold it exclusively;
/// other writes whose roles read the graph share it. Two exclusive holders cannot both
/// add opposite edges (the second reads the first's edge and refuses the cycle), and a
/// member edit cannot plan on a graph an edge edit is changing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NestingLock {
    Shared,
    Exclusive,
}

impl NestingLock {
    /// The lock `planned` (over `stored`) needs under `mapping`; `None` when it reads
    /// no nesting at all (no rule to plan roles for, no edge to check).
    pub(super) fn for_write(
        mapping: &RoleMapping,
        stored: Option<&Group>,
        planned: &GroupPlan,
    ) -> Option<Self> {
        let membership = &planned.membership;
        if !membership.add_groups.is_empty() {
            return Some(Self::Exclusive);
        }
        if mapping.is_empty() {
            return None;
        }
        let replaced = stored.and_then(RoleGroup::of) != RoleGroup::of(&planned.group);
        if replaced || !membership.remove_groups.is_empty() {
            Some(Self::Exclusive)
        } else {
            Some(Self::Shared)
        }
    }
}

/// What a plan asked for and [`Nesting`] did not hold.
#[derive(Debug, Default)]
struct Misses {
    /// Groups whose parents were asked for and not held.
    parents: BTreeSet<GroupId>,
    /// Groups whose children were asked for and not held.
    children: BTreeSet<GroupId>,
    members: BTreeSet<GroupId>,
    groups: BTreeSet<GroupId>,
    users: BTreeSet<UserId>,
}

impl Misses {
    fn is_empty(&self) -> bool {
        self.parents.is_empty()
            && self.children.is_empty()
            && self.members.is_empty()
            && self.groups.is_empty()
            && self.users.is_empty()
    }
}

/// The nesting graph and memberships of one directory as one transaction read them.
#[derive(Debug, Default)]
pub(super) struct Nesting {
    /// Each read group's parents, not deleted (a deleted group still has its own).
    parents: BTreeMap<GroupId, Vec<GroupId>>,
    /// Each read group's member groups, not deleted.
    children: BTreeMap<GroupId, Vec<GroupId>>,
    /// Each read group as roles see it (`None`: absent or deleted).
    groups: BTreeMap<GroupId, Option<RoleGroup>>,
    members: BTreeMap<GroupId, Vec<UserId>>,
    users: BTreeMap<UserId, Option<(bool, Vec<GroupId>)>>,
    misses: RefCell<Misses>,
}

impl Nesting {
    /// Runs `plan` against what is held until it misses nothing, fetching the misses
    /// between runs; at most `rounds` fetches.
    pub(super) async fn settle<T>(
        &mut self,
        store: &PostgresStore,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        rounds: usize,
        plan: impl Fn(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        for _ in 0..=rounds {
            let answer = plan(self);
            let misses = self.misses.take();
            if misses.is_empty() {
                return answer;
            }
            store.fetch_nesting(tx, dir, self, misses).await?;
        }
        Err(StoreError::Backend(
            "PostgresStore: nested-group reads did not settle within the depth limit".into(),
        ))
    }

    /// `groups` and every ancestor of them in the held edges.
    fn with_ancestors(&self, groups: BTreeSet<GroupId>) -> BTreeSet<GroupId> {
        let mut all = BTreeSet::new();
        let mut pending: Vec<GroupId> = groups.into_iter().collect();
        while let Some(group) = pending.pop() {
            if let Some(parents) = self.parents.get(&group) {
                pending.extend(parents.iter().filter(|p| !all.contains(*p)).cloned());
            }
            all.insert(group);
        }
        all
    }
}

impl NestingReads for Nesting {
    fn parents_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError> {
        match self.parents.get(group) {
            Some(held) => Ok(held.clone()),
            None => {
                self.misses.borrow_mut().parents.insert(group.clone());
                Ok(Vec::new())
            }
        }
    }

    fn children_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError> {
        match self.children.get(group) {
            Some(held) => Ok(held.clone()),
            None => {
                self.misses.borrow_mut().children.insert(group.clone());
                Ok(Vec::new())
            }
        }
    }

    fn role_group(&self, group: &GroupId) -> Result<Option<RoleGroup>, StoreError> {
        match self.groups.get(group) {
            Some(held) => Ok(held.clone()),
            None => {
                self.misses.borrow_mut().groups.insert(group.clone());
                Ok(None)
            }
        }
    }

    fn user_members(&self, group: &GroupId) -> Result<Vec<UserId>, StoreError> {
        match self.members.get(group) {
            Some(held) => Ok(held.clone()),
            None => {
                self.misses.borrow_mut().members.insert(group.clone());
                Ok(Vec::new())
            }
        }
    }

    fn user_groups(&self, user: &UserId) -> Result<Option<(bool, Vec<GroupId>)>, StoreError> {
        match self.users.get(user) {
            Some(held) => Ok(held.clone()),
            None => {
                self.misses.borrow_mut().users.insert(user.clone());
                Ok(None)
            }
        }
    }
}

fn group_texts<'a>(ids: impl IntoIterator<Item = &'a GroupId>) -> Vec<&'a str> {
    ids.into_iter().map(GroupId::as_str).collect()
}

impl PostgresStore {
    /// Takes `dir`'s nesting lock in `mode` until the transaction ends.
    pub(super) async fn lock_nesting(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        mode: NestingLock,
    ) -> Result<(), StoreError> {
        let function = match mode {
            NestingLock::Shared => "pg_advisory_xact_lock_shared",
            NestingLock::Exclusive => "pg_advisory_xact_lock",
        };
        // The two-key form: a key space apart from the migrations' one-key lock.
        tx.execute_cached(
            &format!("SELECT {function}(hashtext($1), hashtext($2))"),
            &[&self.schema.channel, &dir.as_str()],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Reads what `misses` names into `held`: edges first (one statement for the
    /// missed groups' closures), then members, groups with their ancestors, and users
    /// (locked).
    async fn fetch_nesting(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        held: &mut Nesting,
        misses: Misses,
    ) -> Result<(), StoreError> {
        if !misses.parents.is_empty() || !misses.children.is_empty() {
            self.read_edges(tx, dir, &misses.parents, &misses.children, held)
                .await?;
        }
        if !misses.members.is_empty() {
            let rows = tx
                .query_cached(
                    &self.schema.sql(
                        "SELECT group_id, user_id FROM {s}.memberships \
                         WHERE directory_id = $1 AND group_id = ANY($2) ORDER BY group_id, user_id",
                    ),
                    &[&dir.as_str(), &group_texts(&misses.members)],
                )
                .await
                .map_err(db)?;
            for group in &misses.members {
                held.members.entry(group.clone()).or_default();
            }
            for row in &rows {
                let group: GroupId = parse_id(row.try_get(0).map_err(db)?)?;
                let user: UserId = parse_id(row.try_get(1).map_err(db)?)?;
                held.members.entry(group).or_default().push(user);
            }
        }
        if !misses.groups.is_empty() {
            let wanted: Vec<GroupId> = held
                .with_ancestors(misses.groups)
                .into_iter()
                .filter(|g| !held.groups.contains_key(g))
                .collect();
            self.read_role_groups(tx, dir, &wanted, held).await?;
        }
        if !misses.users.is_empty() {
            self.read_users(tx, dir, &misses.users, held).await?;
        }
        Ok(())
    }

    /// The parents of every group within the depth limit above `up`, and the member
    /// groups of every group within it below `down`, in one statement: a row per group
    /// of either closure (so one with no edges is held as having none) and edge. The
    /// walks pass through deleted groups (they are cheap and keep the closure exact);
    /// the lists held keep only groups not deleted.
    async fn read_edges(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        up: &BTreeSet<GroupId>,
        down: &BTreeSet<GroupId>,
        held: &mut Nesting,
    ) -> Result<(), StoreError> {
        let levels = i32::try_from(self.max_group_depth.saturating_add(1)).unwrap_or(i32::MAX);
        let rows = tx
            .query_cached(
                &self.schema.sql(
                    "WITH RECURSIVE up (g, d) AS ( \
                         SELECT s COLLATE \"C\", 0 FROM unnest($2::text[]) AS s \
                         UNION SELECT e.parent_id, up.d + 1 FROM up \
                         JOIN {s}.group_groups e ON e.directory_id = $1 AND e.child_id = up.g \
                         WHERE up.d < $4), \
                     down (g, d) AS ( \
                         SELECT s COLLATE \"C\", 0 FROM unnest($3::text[]) AS s \
                         UNION SELECT e.child_id, down.d + 1 FROM down \
                         JOIN {s}.group_groups e ON e.directory_id = $1 AND e.parent_id = down.g \
                         WHERE down.d < $4) \
                     SELECT true, x.g, e.parent_id, o.deleted \
                     FROM (SELECT DISTINCT g FROM up) x \
                     LEFT JOIN {s}.group_groups e ON e.directory_id = $1 AND e.child_id = x.g \
                     LEFT JOIN {s}.groups o ON o.id = e.parent_id \
                     UNION ALL \
                     SELECT false, x.g, e.child_id, o.deleted \
                     FROM (SELECT DISTINCT g FROM down) x \
                     LEFT JOIN {s}.group_groups e ON e.directory_id = $1 AND e.parent_id = x.g \
                     LEFT JOIN {s}.groups o ON o.id = e.child_id \
                     ORDER BY 1, 2, 3",
                ),
                &[&dir.as_str(), &group_texts(up), &group_texts(down), &levels],
            )
            .await
            .map_err(db)?;
        // A closure can reach groups an earlier round already holds; their lists are
        // complete, so only the new ones are filled.
        let (had_parents, had_children): (BTreeSet<GroupId>, BTreeSet<GroupId>) = (
            held.parents.keys().cloned().collect(),
            held.children.keys().cloned().collect(),
        );
        for row in &rows {
            let upward: bool = row.try_get(0).map_err(db)?;
            let group: GroupId = parse_id(row.try_get(1).map_err(db)?)?;
            let other: Option<&str> = row.try_get(2).map_err(db)?;
            let other_deleted: Option<bool> = row.try_get(3).map_err(db)?;
            let (lists, had) = if upward {
                (&mut held.parents, &had_parents)
            } else {
                (&mut held.children, &had_children)
            };
            if had.contains(&group) {
                continue;
            }
            let list = lists.entry(group).or_default();
            if let (Some(other), Some(false)) = (other, other_deleted) {
                list.push(parse_id(other)?);
            }
        }
        Ok(())
    }

    async fn read_role_groups(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        wanted: &[GroupId],
        held: &mut Nesting,
    ) -> Result<(), StoreError> {
        let rows = tx
            .query_cached(
                &self.schema.sql(
                    "SELECT id, display_name, external_id FROM {s}.groups \
                     WHERE directory_id = $1 AND id = ANY($2) AND NOT deleted",
                ),
                &[&dir.as_str(), &group_texts(wanted)],
            )
            .await
            .map_err(db)?;
        for group in wanted {
            held.groups.insert(group.clone(), None);
        }
        for row in &rows {
            let group = RoleGroup {
                id: parse_id(row.try_get(0).map_err(db)?)?,
                display_name: unesc(row.try_get(1).map_err(db)?)?,
                external_id: row
                    .try_get::<_, Option<String>>(2)
                    .map_err(db)?
                    .map(unesc)
                    .transpose()?,
            };
            held.groups.insert(group.id.clone(), Some(group));
        }
        Ok(())
    }

    /// The users' state and direct groups, their rows locked first (in id order) so
    /// neither changes before this transaction commits.
    async fn read_users(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        wanted: &BTreeSet<UserId>,
        held: &mut Nesting,
    ) -> Result<(), StoreError> {
        let ids: Vec<&str> = wanted.iter().map(UserId::as_str).collect();
        let rows = tx
            .query_cached(
                &self.schema.sql(
                    "SELECT id, state = 'active' FROM {s}.users \
                     WHERE directory_id = $1 AND id = ANY($2) ORDER BY id FOR NO KEY UPDATE",
                ),
                &[&dir.as_str(), &ids],
            )
            .await
            .map_err(db)?;
        for user in wanted {
            held.users.insert(user.clone(), None);
        }
        for row in &rows {
            let user: UserId = parse_id(row.try_get(0).map_err(db)?)?;
            let active: bool = row.try_get(1).map_err(db)?;
            held.users.insert(user, Some((active, Vec::new())));
        }
        // A new statement after the lock: it sees what the lock waited for.
        let rows = tx
            .query_cached(
                &self.schema.sql(
                    "SELECT user_id, group_id FROM {s}.memberships \
                     WHERE directory_id = $1 AND user_id = ANY($2) ORDER BY user_id, group_id",
                ),
                &[&dir.as_str(), &ids],
            )
            .await
            .map_err(db)?;
        for row in &rows {
            let user: UserId = parse_id(row.try_get(0).map_err(db)?)?;
            let group: GroupId = parse_id(row.try_get(1).map_err(db)?)?;
            if let Some(Some((_, groups))) = held.users.get_mut(&user) {
                groups.push(group);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GroupMatch, Meta};
    use crate::store::plan::MembershipPlan;

    fn gid(n: u128) -> GroupId {
        GroupId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn group(name: &str) -> Group {
        let dir = DirectoryId::from_uuid(uuid::Uuid::from_u128(1));
        let at = time::OffsetDateTime::UNIX_EPOCH;
        Group::new(gid(2), dir, name, serde_json::json!({}), Meta::new(at))
    }

    fn write(stored: &Group, after: Group, membership: MembershipPlan) -> GroupPlan {
        crate::store::plan::update_group(Some(stored), after, stored.meta.version, membership)
            .unwrap_or_else(|e| panic!("plan: {e}"))
    }

    #[test]
    fn edge_edits_and_renames_lock_exclusively_member_edits_share_and_no_rules_skip() {
        let rules = RoleMapping::new().map(GroupMatch::DisplayName("Eng".into()), "developer");
        let none = RoleMapping::new();
        let eng = group("Eng");
        let adds_child = MembershipPlan {
            add_groups: vec![gid(3)],
            ..MembershipPlan::default()
        };
        let removes_child = MembershipPlan {
            remove_groups: vec![gid(3)],
            ..MembershipPlan::default()
        };
        let adds_user = MembershipPlan {
            add: vec![UserId::from_uuid(uuid::Uuid::from_u128(4))],
            ..MembershipPlan::default()
        };
        let lock = |mapping: &RoleMapping, plan: &GroupPlan| {
            NestingLock::for_write(mapping, Some(&eng), plan)
        };
        // An added edge is checked against the graph whatever the rules say.
        let plan = write(&eng, eng.clone(), adds_child);
        assert_eq!(lock(&none, &plan), Some(NestingLock::Exclusive));
        assert_eq!(lock(&rules, &plan), Some(NestingLock::Exclusive));
        let plan = write(&eng, eng.clone(), removes_child);
        assert_eq!(lock(&rules, &plan), Some(NestingLock::Exclusive));
        assert_eq!(lock(&none, &plan), None, "no rule: nothing to plan");
        let renamed = write(&eng, group("Platform"), MembershipPlan::default());
        assert_eq!(lock(&rules, &renamed), Some(NestingLock::Exclusive));
        let deleted = write(
            &eng,
            eng.clone().with_deleted(true),
            MembershipPlan::default(),
        );
        assert_eq!(lock(&rules, &deleted), Some(NestingLock::Exclusive));
        let plan = write(&eng, eng.clone(), adds_user);
        assert_eq!(lock(&rules, &plan), Some(NestingLock::Shared));
        assert_eq!(lock(&none, &plan), None);
    }
}
