//! The in-memory backend: the default, and the fixture test suites use.
//!
//! One lock guards the whole state, so every trait call is one atomic step; no lock is held
//! across an `.await`.

mod compact;
mod nesting;
mod unique;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::plan::{self, ChangeDraft, MembershipFacts, MembershipPlan};
use super::webhooks::{DeadLetter, WebhookStore};
use super::{
    DirectoryEdit, DirectoryStore, EntityKind, GroupFilter, GroupKey, GroupMember, Keyset, Member,
    MembershipEdit, States, StoreError, TokenStore, UniqueAttribute, UserFilter, UserGroup,
    UserKey,
};
use compact::{Ids, StoredChange, StoredUser};
use unique::HeldKeys;

use crate::model::{
    Change, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId, RoleMapping,
    TokenHash, TokenId, TokenRecord, TokenScope, User, UserDocument, UserId, UserState,
};

/// A [`DirectoryStore`] and [`TokenStore`] in memory. Cheap to create; share it as
/// `Arc<MemoryStore>` (or `Arc<dyn DirectoryStore>`).
///
/// Groups nest (a group may be a member group of another) up to
/// [`DEFAULT_MAX_GROUP_DEPTH`](plan::DEFAULT_MAX_GROUP_DEPTH) levels, or the limit
/// [`MemoryStore::with_max_group_depth`] sets.
#[derive(Debug)]
pub struct MemoryStore {
    state: RwLock<State>,
    max_group_depth: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: RwLock::default(),
            max_group_depth: plan::DEFAULT_MAX_GROUP_DEPTH,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store with at most `levels` levels of group-in-group nesting: a member group
    /// that would make a longer chain is refused ([`NestingRefusal::TooDeep`]), and roles
    /// resolve through at most that many levels.
    ///
    /// [`NestingRefusal::TooDeep`]: plan::NestingRefusal::TooDeep
    #[must_use]
    pub fn with_max_group_depth(mut self, levels: usize) -> Self {
        self.max_group_depth = levels;
        self
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied write: every write
        // validates before it mutates. So a poisoned lock still guards consistent data.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug, Default)]
struct State {
    orgs: BTreeMap<OrganizationId, Organization>,
    org_by_external_id: HashMap<String, OrganizationId>,
    directories: BTreeMap<DirectoryId, Directory>,
    contents: HashMap<DirectoryId, DirectoryContents>,
    tokens: BTreeMap<TokenId, TokenRecord>,
    token_by_hash: HashMap<TokenHash, TokenId>,
    webhook_cursors: HashMap<(String, DirectoryId), u64>,
    dead_letters: BTreeMap<(String, DirectoryId, u64), DeadLetter>,
}

/// An equality index from a normalised key to the ids that carry it.
#[derive(Debug)]
struct Index<K>(HashMap<String, Ids<K>>);

impl<K> Default for Index<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<K: Ord + Clone> Index<K> {
    fn insert(&mut self, key: String, id: &K) {
        self.0
            .entry(key)
            .and_modify(|ids| {
                ids.insert(id);
            })
            .or_insert_with(|| Ids::one(id));
    }

    fn remove(&mut self, key: &str, id: &K) {
        if let Some(ids) = self.0.get_mut(key)
            && ids.remove(id)
            && ids.is_empty()
        {
            self.0.remove(key);
        }
    }

    fn get(&self, key: &str) -> Option<&Ids<K>> {
        self.0.get(key)
    }
}

#[derive(Debug, Default)]
struct DirectoryContents {
    users: BTreeMap<UserId, Arc<StoredUser>>,
    users_in_state: StateCounts,
    users_by_name: Index<UserId>,
    users_by_external_id: Index<UserId>,
    users_by_email: Index<UserId>,
    groups: BTreeMap<GroupId, Group>,
    deleted_groups: u64,
    groups_by_name: Index<GroupId>,
    groups_by_external_id: Index<GroupId>,
    members: Relation<GroupId, UserId>,
    groups_of_user: Relation<UserId, GroupId>,
    /// Declared unique keys of active users.
    unique_users: HeldKeys<UserId>,
    /// Declared unique keys of groups that are not deleted.
    unique_groups: HeldKeys<GroupId>,
    /// Nesting edges, parent → member groups.
    child_groups: Relation<GroupId, GroupId>,
    /// Nesting edges, member group → parents.
    parent_groups: Relation<GroupId, GroupId>,
    /// Entries with `seq` in `trimmed_through + 1 ..= last_seq`, in order.
    changes: Vec<StoredChange>,
    trimmed_through: u64,
    last_seq: u64,
}

/// How many users are in each lifecycle state, so counts never walk the directory.
#[derive(Debug, Default)]
struct StateCounts {
    active: u64,
    deactivated: u64,
    deleted: u64,
}

impl StateCounts {
    fn slot(&mut self, state: UserState) -> &mut u64 {
        match state {
            UserState::Active => &mut self.active,
            UserState::Deactivated => &mut self.deactivated,
            UserState::Deleted => &mut self.deleted,
        }
    }

    fn count(&self, states: States) -> u64 {
        match states {
            States::Active => self.active,
            States::Visible => self.active + self.deactivated,
            _ => self.active + self.deactivated + self.deleted,
        }
    }
}

/// Skips and takes per a keyset page over an id-ordered iterator already past `after`,
/// cloning only the page (skipped items are passed over by reference).
fn paged<'a, T: Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    page: &Keyset<impl Sized>,
) -> Vec<T> {
    items.skip(page.skip).take(page.limit).cloned().collect()
}

/// [`paged`] for stored users: only the page's documents are parsed.
fn paged_users<'a, T>(
    users: impl Iterator<Item = &'a Arc<StoredUser>>,
    page: &Keyset<impl Sized>,
    read: impl Fn(&StoredUser) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    users
        .skip(page.skip)
        .take(page.limit)
        .map(|user| read(user))
        .collect()
}

impl MemoryStore {
    /// A page of the users `filter` selects, each read by `read`.
    fn page_of_users<T>(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: &Keyset<UserId>,
        read: impl Fn(&StoredUser) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        if filter.key.is_none() && filter.group.is_none() {
            // The plain listing (every SCIM page without a filter): a tight loop over the
            // id-ordered map, so `startIndex` deep in a large directory passes over the
            // skipped users by reference at a few nanoseconds each.
            let states = filter.states;
            let users = contents
                .users
                .range(after_bound(page.after.as_ref()))
                .map(|(_, u)| u)
                .filter(|u| states.includes_user(u.state));
            return paged_users(users, page, read);
        }
        let selected = contents.select_users(filter, page.after.as_ref());
        paged_users(selected, page, read)
    }
}

impl DirectoryContents {
    fn index_user(&mut self, user: &User) {
        let keys = plan::user_index_keys(user);
        self.users_by_name.insert(keys.user_name, &user.id);
        if let Some(external_id) = keys.external_id {
            self.users_by_external_id.insert(external_id, &user.id);
        }
        for email in keys.emails {
            self.users_by_email.insert(email, &user.id);
        }
        *self.users_in_state.slot(user.state) += 1;
    }

    fn unindex_user(&mut self, user: &User) {
        let keys = plan::user_index_keys(user);
        self.users_by_name.remove(&keys.user_name, &user.id);
        if let Some(external_id) = keys.external_id {
            self.users_by_external_id.remove(&external_id, &user.id);
        }
        for email in keys.emails {
            self.users_by_email.remove(&email, &user.id);
        }
        let slot = self.users_in_state.slot(user.state);
        *slot = slot.saturating_sub(1);
    }

    fn index_group(&mut self, group: &Group) {
        let keys = plan::group_index_keys(group);
        self.groups_by_name.insert(keys.display_name, &group.id);
        if let Some(external_id) = keys.external_id {
            self.groups_by_external_id.insert(external_id, &group.id);
        }
        if group.deleted {
            self.deleted_groups += 1;
        }
    }

    fn unindex_group(&mut self, group: &Group) {
        let keys = plan::group_index_keys(group);
        self.groups_by_name.remove(&keys.display_name, &group.id);
        if let Some(external_id) = keys.external_id {
            self.groups_by_external_id.remove(&external_id, &group.id);
        }
        if group.deleted {
            self.deleted_groups = self.deleted_groups.saturating_sub(1);
        }
    }

    /// Whether an active user other than `user` holds its userName.
    fn user_name_taken(&self, user: &User) -> bool {
        self.users_by_name
            .get(&plan::user_name_key(user.user_name()))
            .into_iter()
            .flat_map(Ids::iter)
            .filter(|id| **id != user.id)
            .filter_map(|id| self.users.get(id))
            .any(|other| other.state == UserState::Active)
    }

    /// Refuses a group write claiming a key another group holds.
    fn check_group_unique_keys(&self, planned: &plan::GroupPlan) -> Result<(), StoreError> {
        let claimed = planned.unique_keys.as_deref().unwrap_or_default();
        plan::check_group_unique_keys(planned, self.unique_groups.holders(claimed))
    }

    /// Stores a group write's keys in place of those the group held, if it claims any.
    fn hold_group_unique_keys(&mut self, planned: &mut plan::GroupPlan) {
        if let Some(keys) = planned.unique_keys.take() {
            self.unique_groups.hold(&planned.group.id, keys);
        }
    }

    /// The group write's plan with its members' snapshots attached, as stored now.
    fn with_member_snapshots(
        &self,
        planned: plan::GroupPlan,
    ) -> Result<plan::GroupPlan, StoreError> {
        let dir = &planned.group.directory_id;
        let members = planned
            .membership
            .changed_members()
            .iter()
            .filter_map(|id| self.users.get(id))
            .map(|user| user.to_user(dir))
            .collect::<Result<Vec<User>, _>>()?;
        Ok(planned.with_member_snapshots(members))
    }

    fn record(&mut self, dir: &DirectoryId, drafts: Vec<ChangeDraft>) {
        let numbered = plan::number(dir, self.last_seq, drafts);
        self.last_seq += numbered.len() as u64;
        let users = &self.users;
        self.changes.extend(
            numbered
                .into_iter()
                .map(|change| StoredChange::new(change, |id| users.get(id))),
        );
    }

    /// What the membership planner needs to know about `edits` on `group`.
    fn membership_facts(&self, group: &GroupId, edits: &[MembershipEdit]) -> MembershipFacts {
        let reads = plan::membership_reads(edits);
        let members = if reads.all_members {
            self.members.page(group, None).cloned().collect()
        } else {
            reads
                .named
                .into_iter()
                .filter(|u| self.members.contains(group, u))
                .collect()
        };
        let users = reads
            .added
            .into_iter()
            .filter(|u| self.users.contains_key(u))
            .collect();
        let member_groups = if reads.all_members {
            self.child_groups.page(group, None).cloned().collect()
        } else {
            reads
                .named_groups
                .into_iter()
                .filter(|g| self.child_groups.contains(group, g))
                .collect()
        };
        let groups = reads
            .added_groups
            .into_iter()
            .filter(|g| self.groups.get(g).is_some_and(|g| !g.deleted))
            .collect();
        MembershipFacts {
            members,
            users,
            member_groups,
            groups,
        }
    }

    fn apply_membership(&mut self, group: &GroupId, membership: &MembershipPlan) {
        for user in &membership.remove {
            self.members.remove(group, user);
            self.groups_of_user.remove(user, group);
        }
        for user in &membership.add {
            self.members.insert(group, user);
            self.groups_of_user.insert(user, group);
        }
        for child in &membership.remove_groups {
            self.child_groups.remove(group, child);
            self.parent_groups.remove(child, group);
        }
        for child in &membership.add_groups {
            self.child_groups.insert(group, child);
            self.parent_groups.insert(child, group);
        }
    }

    fn put_user(&mut self, old: Option<&User>, user: &User) {
        if let Some(old) = old {
            self.unindex_user(old);
        }
        self.index_user(user);
        self.users
            .insert(user.id.clone(), Arc::new(StoredUser::new(user)));
    }

    fn put_group(&mut self, old: Option<&Group>, group: &Group) {
        if let Some(old) = old {
            self.unindex_group(old);
        }
        self.index_group(group);
        self.groups.insert(group.id.clone(), group.clone());
    }

    fn user_key_ids(&self, key: &UserKey) -> Option<&Ids<UserId>> {
        let value = plan::user_key_value(key);
        match key {
            UserKey::UserName(_) => self.users_by_name.get(&value),
            UserKey::ExternalId(_) => self.users_by_external_id.get(&value),
            UserKey::Email(_) => self.users_by_email.get(&value),
        }
    }

    fn group_key_ids(&self, key: &GroupKey) -> Option<&Ids<GroupId>> {
        let value = plan::group_key_value(key);
        match key {
            GroupKey::DisplayName(_) => self.groups_by_name.get(&value),
            GroupKey::ExternalId(_) => self.groups_by_external_id.get(&value),
        }
    }

    /// The users `filter` selects after `after`, in id order.
    fn select_users<'s>(
        &'s self,
        filter: &'s UserFilter,
        after: Option<&UserId>,
    ) -> Box<dyn Iterator<Item = &'s Arc<StoredUser>> + 's> {
        let bounds = after_bound(after);
        let candidates: Box<dyn Iterator<Item = &'s Arc<StoredUser>> + 's> =
            match (&filter.key, &filter.group) {
                (Some(key), _) => Box::new(
                    self.user_key_ids(key)
                        .into_iter()
                        .flat_map(move |ids| ids.range(bounds.clone()))
                        .filter_map(|id| self.users.get(id)),
                ),
                (None, Some(group)) => Box::new(
                    self.members
                        .page(group, after)
                        .filter_map(|id| self.users.get(id)),
                ),
                (None, None) => Box::new(self.users.range(bounds).map(|(_, u)| u)),
            };
        let states = filter.states;
        let group = filter.group.as_ref().filter(|_| filter.key.is_some());
        Box::new(candidates.filter(move |u| {
            states.includes_user(u.state) && group.is_none_or(|g| self.members.contains(g, &u.id))
        }))
    }

    /// The groups `filter` selects after `after`, in id order: candidates from the most
    /// selective part of the filter, checked against the rest.
    fn select_groups<'s>(
        &'s self,
        filter: &'s GroupFilter,
        after: Option<&GroupId>,
    ) -> Box<dyn Iterator<Item = &'s Group> + 's> {
        let bounds = after_bound(after);
        let candidates: Box<dyn Iterator<Item = &'s Group> + 's> = match (
            &filter.key,
            &filter.member,
            &filter.member_group,
            &filter.parent,
        ) {
            (Some(key), ..) => Box::new(
                self.group_key_ids(key)
                    .into_iter()
                    .flat_map(move |ids| ids.range(bounds.clone()))
                    .filter_map(|id| self.groups.get(id)),
            ),
            (None, Some(user), ..) => Box::new(
                self.groups_of_user
                    .page(user, after)
                    .filter_map(|id| self.groups.get(id)),
            ),
            (None, None, Some(child), _) => Box::new(
                self.parent_groups
                    .page(child, after)
                    .filter_map(|id| self.groups.get(id)),
            ),
            (None, None, None, Some(parent)) => Box::new(
                self.child_groups
                    .page(parent, after)
                    .filter_map(|id| self.groups.get(id)),
            ),
            (None, None, None, None) => Box::new(self.groups.range(bounds).map(|(_, g)| g)),
        };
        let states = filter.states;
        Box::new(candidates.filter(move |g| {
            states.includes_group(g.deleted)
                && filter
                    .member
                    .as_ref()
                    .is_none_or(|u| self.members.contains(&g.id, u))
                && filter
                    .member_group
                    .as_ref()
                    .is_none_or(|c| self.child_groups.contains(&g.id, c))
                && filter
                    .parent
                    .as_ref()
                    .is_none_or(|p| self.child_groups.contains(p, &g.id))
        }))
    }
}

impl DirectoryContents {
    /// The `members_of_groups` rows of one group: users `states` includes, then member
    /// groups not deleted, each in id order.
    fn member_rows(&self, group: &GroupId, states: States, rows: &mut Vec<GroupMember>) {
        let row = |member| GroupMember {
            group_id: group.clone(),
            member,
        };
        let users = self.members.page(group, None).filter(|id| {
            states == States::All
                || self
                    .users
                    .get(*id)
                    .is_some_and(|u| states.includes_user(u.state))
        });
        rows.extend(users.map(|id| row(Member::User(id.clone()))));
        let children = self
            .child_groups
            .page(group, None)
            .filter_map(|id| self.groups.get(id))
            .filter(|child| !child.deleted);
        rows.extend(children.map(|child| {
            row(Member::Group {
                id: child.id.clone(),
                display_name: child.display_name.clone(),
            })
        }));
    }
}

/// One direction of the membership relation: each key's related ids, in order.
#[derive(Debug)]
struct Relation<A, B>(HashMap<A, Ids<B>>);

impl<A, B> Default for Relation<A, B> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<A: std::hash::Hash + Eq + Clone, B: Ord + Clone> Relation<A, B> {
    fn insert(&mut self, a: &A, b: &B) -> bool {
        match self.0.get_mut(a) {
            Some(ids) => ids.insert(b),
            None => {
                self.0.insert(a.clone(), Ids::one(b));
                true
            }
        }
    }

    fn remove(&mut self, a: &A, b: &B) -> bool {
        let Some(ids) = self.0.get_mut(a) else {
            return false;
        };
        let removed = ids.remove(b);
        if ids.is_empty() {
            self.0.remove(a);
        }
        removed
    }

    fn contains(&self, a: &A, b: &B) -> bool {
        self.0.get(a).is_some_and(|set| set.contains(b))
    }

    /// `a`'s related ids after `after`, in order.
    fn page<'s>(&'s self, a: &A, after: Option<&B>) -> impl Iterator<Item = &'s B> + 's {
        let bounds = after_bound(after);
        self.0
            .get(a)
            .into_iter()
            .flat_map(move |set| set.range(bounds.clone()))
    }
}

fn after_bound<K: Clone>(after: Option<&K>) -> (Bound<K>, Bound<K>) {
    match after {
        Some(k) => (Bound::Excluded(k.clone()), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    }
}

fn missing_directory(dir: &DirectoryId) -> StoreError {
    StoreError::not_found(EntityKind::Directory, dir)
}

impl State {
    /// Stores a planned directory write and records its entries.
    fn commit_directory(&mut self, planned: plan::DirectoryPlan) -> Result<Directory, StoreError> {
        let directory = planned.directory;
        if planned.changed {
            self.put_directory(directory.clone());
        }
        self.contents_mut(&directory.id)?
            .record(&directory.id, planned.changes);
        Ok(directory)
    }

    /// The directory's role mapping (empty for an unknown directory).
    fn role_mapping(&self, dir: &DirectoryId) -> RoleMapping {
        self.directories
            .get(dir)
            .map(|d| d.roles.clone())
            .unwrap_or_default()
    }

    fn contents_mut(&mut self, dir: &DirectoryId) -> Result<&mut DirectoryContents, StoreError> {
        self.contents
            .get_mut(dir)
            .ok_or_else(|| missing_directory(dir))
    }

    fn check_org_external_id_free(&self, org: &Organization) -> Result<(), StoreError> {
        match org
            .external_id
            .as_ref()
            .and_then(|e| self.org_by_external_id.get(e))
        {
            Some(holder) if *holder != org.id => Err(StoreError::Conflict(
                UniqueAttribute::OrganizationExternalId,
            )),
            _ => Ok(()),
        }
    }

    /// Stores `directory`; if primary, demotes its organization's other primary.
    fn put_directory(&mut self, directory: Directory) {
        if directory.primary {
            for other in self.directories.values_mut() {
                if other.organization_id == directory.organization_id && other.id != directory.id {
                    other.primary = false;
                }
            }
        }
        self.contents.entry(directory.id.clone()).or_default();
        self.directories.insert(directory.id.clone(), directory);
    }
}

#[async_trait]
impl DirectoryStore for MemoryStore {
    async fn insert_organization(&self, org: Organization) -> Result<(), StoreError> {
        let mut state = self.write();
        if state.orgs.contains_key(&org.id) {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        state.check_org_external_id_free(&org)?;
        if let Some(external_id) = &org.external_id {
            state
                .org_by_external_id
                .insert(external_id.clone(), org.id.clone());
        }
        state.orgs.insert(org.id.clone(), org);
        Ok(())
    }

    async fn update_organization(&self, org: Organization) -> Result<(), StoreError> {
        let mut state = self.write();
        let old_external_id = match state.orgs.get(&org.id) {
            Some(old) => old.external_id.clone(),
            None => return Err(StoreError::not_found(EntityKind::Organization, &org.id)),
        };
        state.check_org_external_id_free(&org)?;
        if let Some(old) = old_external_id {
            state.org_by_external_id.remove(&old);
        }
        if let Some(external_id) = &org.external_id {
            state
                .org_by_external_id
                .insert(external_id.clone(), org.id.clone());
        }
        state.orgs.insert(org.id.clone(), org);
        Ok(())
    }

    async fn get_organization(
        &self,
        id: &OrganizationId,
    ) -> Result<Option<Organization>, StoreError> {
        Ok(self.read().orgs.get(id).cloned())
    }

    async fn find_organization(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, StoreError> {
        let state = self.read();
        Ok(state
            .org_by_external_id
            .get(external_id)
            .and_then(|id| state.orgs.get(id))
            .cloned())
    }

    async fn list_organizations(
        &self,
        page: Keyset<OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        let state = self.read();
        let items = state.orgs.range(after_bound(page.after.as_ref()));
        Ok(paged(items.map(|(_, org)| org), &page))
    }

    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError> {
        let mut state = self.write();
        if !state.orgs.contains_key(&directory.organization_id) {
            return Err(StoreError::not_found(
                EntityKind::Organization,
                &directory.organization_id,
            ));
        }
        if state.directories.contains_key(&directory.id) {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        state.put_directory(directory);
        Ok(())
    }

    async fn update_directory(&self, directory: Directory) -> Result<(), StoreError> {
        let mut state = self.write();
        match state.directories.get(&directory.id) {
            Some(old) if old.organization_id == directory.organization_id => {}
            _ => return Err(missing_directory(&directory.id)),
        }
        state.put_directory(directory);
        Ok(())
    }

    async fn touch_directory(
        &self,
        id: &DirectoryId,
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        let mut state = self.write();
        let planned = plan::touch_directory(state.directories.get(id), id, at)?;
        state.commit_directory(planned)
    }

    async fn edit_directory(
        &self,
        id: &DirectoryId,
        edits: &[DirectoryEdit],
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        let mut state = self.write();
        let planned = plan::edit_directory(state.directories.get(id), id, edits, at)?;
        state.commit_directory(planned)
    }

    async fn get_directory(&self, id: &DirectoryId) -> Result<Option<Directory>, StoreError> {
        Ok(self.read().directories.get(id).cloned())
    }

    async fn list_directories(&self, org: &OrganizationId) -> Result<Vec<Directory>, StoreError> {
        Ok(self
            .read()
            .directories
            .values()
            .filter(|d| d.organization_id == *org)
            .cloned()
            .collect())
    }

    async fn purge_directory(&self, id: &DirectoryId) -> Result<(), StoreError> {
        let mut state = self.write();
        if state.directories.remove(id).is_none() {
            return Err(missing_directory(id));
        }
        state.contents.remove(id);
        Ok(())
    }

    async fn insert_user(&self, user: User) -> Result<User, StoreError> {
        let mut state = self.write();
        let dir = user.directory_id.clone();
        let mapping = state.role_mapping(&dir);
        let contents = state.contents_mut(&dir)?;
        if contents.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let taken = contents.user_name_taken(&user);
        let mut planned = plan::insert_user(user, taken)?;
        plan::check_unique_keys(
            &planned,
            contents.unique_users.holders(&planned.unique_keys),
        )?;
        let roles = plan::user_write_roles(&mapping, None, &planned, || Ok(Vec::new()))?;
        planned.changes.extend(roles);
        contents.put_user(None, &planned.user);
        contents
            .unique_users
            .hold(&planned.user.id, planned.unique_keys);
        contents.record(&dir, planned.changes);
        Ok(planned.user)
    }

    async fn update_user(&self, user: User, expected_version: u64) -> Result<User, StoreError> {
        let mut state = self.write();
        let dir = user.directory_id.clone();
        let mapping = state.role_mapping(&dir);
        let contents = state.contents_mut(&dir)?;
        let stored = contents
            .users
            .get(&user.id)
            .map(|stored| stored.to_user(&dir))
            .transpose()?;
        let taken = contents.user_name_taken(&user);
        let mut planned = plan::update_user(stored.as_ref(), user, expected_version, taken)?;
        plan::check_unique_keys(
            &planned,
            contents.unique_users.holders(&planned.unique_keys),
        )?;
        let roles = plan::nested_user_write_roles(
            &mapping,
            self.max_group_depth,
            &*contents,
            stored.as_ref(),
            &planned,
        )?;
        planned.changes.extend(roles);
        if !planned.is_noop() {
            contents.put_user(stored.as_ref(), &planned.user);
            contents
                .unique_users
                .hold(&planned.user.id, planned.unique_keys);
            contents.record(&dir, planned.changes);
        }
        Ok(planned.user)
    }

    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.read()
            .contents
            .get(dir)
            .and_then(|c| c.users.get(id))
            .map(|user| user.to_user(dir))
            .transpose()
    }

    async fn get_user_document(
        &self,
        dir: &DirectoryId,
        id: &UserId,
    ) -> Result<Option<UserDocument>, StoreError> {
        Ok(self
            .read()
            .contents
            .get(dir)
            .and_then(|c| c.users.get(id))
            .map(|user| user.to_document()))
    }

    async fn get_users(&self, dir: &DirectoryId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        let ids: BTreeSet<&UserId> = ids.iter().collect();
        ids.into_iter()
            .filter_map(|id| contents.users.get(id))
            .map(|user| user.to_user(dir))
            .collect()
    }

    async fn list_users(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<User>, StoreError> {
        self.page_of_users(dir, filter, &page, |user| user.to_user(dir))
    }

    async fn list_user_documents(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserDocument>, StoreError> {
        self.page_of_users(dir, filter, &page, |user| Ok(user.to_document()))
    }

    async fn count_users(&self, dir: &DirectoryId, filter: &UserFilter) -> Result<u64, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(0);
        };
        if filter.key.is_none() && filter.group.is_none() {
            return Ok(contents.users_in_state.count(filter.states));
        }
        Ok(contents.select_users(filter, None).count() as u64)
    }

    async fn insert_group(
        &self,
        group: Group,
        members: &[UserId],
        member_groups: &[GroupId],
    ) -> Result<Group, StoreError> {
        let mut state = self.write();
        let dir = group.directory_id.clone();
        let mapping = state.role_mapping(&dir);
        let contents = state.contents_mut(&dir)?;
        if contents.groups.contains_key(&group.id) {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let edits = plan::insert_edits(members, member_groups);
        let facts = contents.membership_facts(&group.id, &edits);
        let membership = plan::membership(&group.id, &edits, &facts, group.meta.last_modified)?;
        let mut planned = contents.with_member_snapshots(plan::insert_group(group, membership))?;
        contents.check_group_unique_keys(&planned)?;
        let roles = contents.group_roles(&mapping, self.max_group_depth, None, &planned)?;
        planned.changes.extend(roles);
        contents.put_group(None, &planned.group);
        contents.hold_group_unique_keys(&mut planned);
        contents.apply_membership(&planned.group.id, &planned.membership);
        contents.record(&dir, planned.changes);
        Ok(planned.group)
    }

    async fn update_group(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError> {
        let mut state = self.write();
        let dir = group.directory_id.clone();
        let mapping = state.role_mapping(&dir);
        let contents = state.contents_mut(&dir)?;
        let stored = contents.groups.get(&group.id).cloned();
        let facts = contents.membership_facts(&group.id, edits);
        let membership = plan::membership(&group.id, edits, &facts, group.meta.last_modified)?;
        let mut planned = plan::update_group(stored.as_ref(), group, expected_version, membership)?;
        contents.check_group_unique_keys(&planned)?;
        let roles =
            contents.group_roles(&mapping, self.max_group_depth, stored.as_ref(), &planned)?;
        planned.changes.extend(roles);
        if !planned.is_noop() {
            planned = contents.with_member_snapshots(planned)?;
            contents.put_group(stored.as_ref(), &planned.group);
            contents.hold_group_unique_keys(&mut planned);
            contents.apply_membership(&planned.group.id, &planned.membership);
            contents.record(&dir, planned.changes);
        }
        Ok(planned.group)
    }

    async fn edit_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<Group, StoreError> {
        let mut state = self.write();
        let mapping = state.role_mapping(dir);
        let contents = state.contents_mut(dir)?;
        let stored = contents.groups.get(group).filter(|g| !g.deleted).cloned();
        if stored.is_none() {
            return Err(StoreError::not_found(EntityKind::Group, group));
        }
        let facts = contents.membership_facts(group, edits);
        let membership = plan::membership(group, edits, &facts, at)?;
        let mut planned = plan::edit_members(stored.as_ref(), group, membership, at)?;
        let roles =
            contents.group_roles(&mapping, self.max_group_depth, stored.as_ref(), &planned)?;
        planned.changes.extend(roles);
        if !planned.is_noop() {
            planned = contents.with_member_snapshots(planned)?;
            contents.put_group(stored.as_ref(), &planned.group);
            contents.apply_membership(group, &planned.membership);
            contents.record(dir, planned.changes);
        }
        Ok(planned.group)
    }

    async fn get_group(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        Ok(self
            .read()
            .contents
            .get(dir)
            .and_then(|c| c.groups.get(id))
            .cloned())
    }

    async fn get_groups(
        &self,
        dir: &DirectoryId,
        ids: &[GroupId],
    ) -> Result<Vec<Group>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        let ids: BTreeSet<&GroupId> = ids.iter().collect();
        Ok(ids
            .into_iter()
            .filter_map(|id| contents.groups.get(id))
            .cloned()
            .collect())
    }

    async fn list_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
        page: Keyset<GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        let selected = contents.select_groups(filter, page.after.as_ref());
        Ok(paged(selected, &page))
    }

    async fn count_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
    ) -> Result<u64, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(0);
        };
        if *filter
            == (GroupFilter {
                states: filter.states,
                ..GroupFilter::default()
            })
        {
            let all = contents.groups.len() as u64;
            return Ok(match filter.states {
                States::All => all,
                _ => all.saturating_sub(contents.deleted_groups),
            });
        }
        Ok(contents.select_groups(filter, None).count() as u64)
    }

    async fn groups_of_users(
        &self,
        dir: &DirectoryId,
        users: &[UserId],
    ) -> Result<Vec<UserGroup>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        let users: BTreeSet<&UserId> = users.iter().collect();
        let mut rows = Vec::new();
        for user in users {
            rows.extend(
                contents
                    .user_group_rows(user, self.max_group_depth)?
                    .into_values(),
            );
        }
        Ok(rows)
    }

    async fn members_of_groups(
        &self,
        dir: &DirectoryId,
        groups: &[GroupId],
        states: States,
    ) -> Result<Vec<GroupMember>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        let groups: BTreeSet<&GroupId> = groups.iter().collect();
        let mut rows = Vec::new();
        for group in groups {
            contents.member_rows(group, states, &mut rows);
        }
        Ok(rows)
    }

    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        let members = contents
            .members
            .page(group, page.after.as_ref())
            .filter(|id| {
                states == States::All
                    || contents
                        .users
                        .get(*id)
                        .is_some_and(|u| states.includes_user(u.state))
            });
        Ok(paged(members, &page))
    }

    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let state = self.read();
        let Some(contents) = state.contents.get(dir) else {
            return Ok(Vec::new());
        };
        if after < contents.trimmed_through {
            return Err(StoreError::ChangesTrimmed {
                through: contents.trimmed_through,
            });
        }
        let start = usize::try_from(after - contents.trimmed_through).unwrap_or(usize::MAX);
        contents
            .changes
            .iter()
            .skip(start)
            .take(limit)
            .map(|change| change.to_change(dir))
            .collect()
    }

    async fn latest_change_seq(&self, dir: &DirectoryId) -> Result<u64, StoreError> {
        Ok(self.read().contents.get(dir).map_or(0, |c| c.last_seq))
    }

    async fn trim_changes(&self, dir: &DirectoryId, through: u64) -> Result<u64, StoreError> {
        let mut state = self.write();
        let contents = state.contents_mut(dir)?;
        let through = through.min(contents.last_seq);
        if through <= contents.trimmed_through {
            return Ok(0);
        }
        let removed = through - contents.trimmed_through;
        let count = usize::try_from(removed).unwrap_or(usize::MAX);
        contents.changes.drain(..count.min(contents.changes.len()));
        contents.trimmed_through = through;
        Ok(removed)
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        let mut state = self.write();
        if state.token_by_hash.contains_key(&token.hash) {
            return Err(StoreError::Conflict(UniqueAttribute::TokenHash));
        }
        if state.tokens.contains_key(&token.id) {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        state.token_by_hash.insert(token.hash, token.id.clone());
        state.tokens.insert(token.id.clone(), token);
        Ok(())
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let state = self.read();
        Ok(state
            .token_by_hash
            .get(hash)
            .and_then(|id| state.tokens.get(id))
            .filter(|t| t.hash.constant_time_eq(hash))
            .cloned())
    }

    async fn list_tokens(&self, scope: &TokenScope) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(self
            .read()
            .tokens
            .values()
            .filter(|t| t.scope == *scope)
            .cloned()
            .collect())
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<(), StoreError> {
        let mut state = self.write();
        let token = state
            .tokens
            .remove(id)
            .ok_or_else(|| StoreError::not_found(EntityKind::Token, id))?;
        state.token_by_hash.remove(&token.hash);
        Ok(())
    }

    async fn delete_tokens(&self, scope: &TokenScope) -> Result<u64, StoreError> {
        let mut state = self.write();
        let doomed: Vec<TokenRecord> = state
            .tokens
            .values()
            .filter(|t| t.scope == *scope)
            .cloned()
            .collect();
        for token in &doomed {
            state.tokens.remove(&token.id);
            state.token_by_hash.remove(&token.hash);
        }
        Ok(doomed.len() as u64)
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn webhook_cursor(&self, endpoint: &str, dir: &DirectoryId) -> Result<u64, StoreError> {
        let key = (endpoint.to_owned(), dir.clone());
        Ok(self.read().webhook_cursors.get(&key).copied().unwrap_or(0))
    }

    async fn set_webhook_cursor(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<(), StoreError> {
        self.write()
            .webhook_cursors
            .insert((endpoint.to_owned(), dir.clone()), seq);
        Ok(())
    }

    async fn insert_dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        let mut state = self.write();
        let cursor = state
            .webhook_cursors
            .entry((letter.endpoint.clone(), letter.directory_id.clone()))
            .or_insert(0);
        *cursor = (*cursor).max(letter.seq);
        let key = (
            letter.endpoint.clone(),
            letter.directory_id.clone(),
            letter.seq,
        );
        state.dead_letters.insert(key, letter);
        Ok(())
    }

    async fn list_dead_letters(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self
            .read()
            .dead_letters
            .values()
            .filter(|l| l.endpoint == endpoint)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn get_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<Option<DeadLetter>, StoreError> {
        let key = (endpoint.to_owned(), dir.clone(), seq);
        Ok(self.read().dead_letters.get(&key).cloned())
    }

    async fn remove_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<bool, StoreError> {
        let key = (endpoint.to_owned(), dir.clone(), seq);
        Ok(self.write().dead_letters.remove(&key).is_some())
    }
}
