//! The in-memory backend: the default, and the fixture test suites use.
//!
//! One lock guards the whole state, so every trait call is one atomic step; no lock is held
//! across an `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    DirectoryStore, GroupKey, Keyset, MembershipEdit, StoreError, TokenStore, UniqueAttribute,
    UserKey,
};
use crate::model::{
    Change, ChangeKind, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId,
    TokenHash, TokenId, TokenRecord, TokenScope, User, UserId, UserState,
};

/// A [`DirectoryStore`] and [`TokenStore`] in memory. Cheap to create; share it as
/// `Arc<MemoryStore>` (or `Arc<dyn DirectoryStore>`).
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
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
}

/// An equality index from a normalised key to the ids that carry it.
#[derive(Debug)]
struct Index<K>(HashMap<String, BTreeSet<K>>);

impl<K> Default for Index<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<K: Ord + Clone> Index<K> {
    fn insert(&mut self, key: String, id: &K) {
        self.0.entry(key).or_default().insert(id.clone());
    }

    fn remove(&mut self, key: &str, id: &K) {
        if let Some(ids) = self.0.get_mut(key) {
            ids.remove(id);
            if ids.is_empty() {
                self.0.remove(key);
            }
        }
    }

    fn get(&self, key: &str) -> impl Iterator<Item = &K> {
        self.0.get(key).into_iter().flatten()
    }
}

#[derive(Debug, Default)]
struct DirectoryContents {
    users: BTreeMap<UserId, User>,
    users_by_name: Index<UserId>,
    users_by_external_id: Index<UserId>,
    users_by_email: Index<UserId>,
    groups: BTreeMap<GroupId, Group>,
    groups_by_name: Index<GroupId>,
    groups_by_external_id: Index<GroupId>,
    members: Relation<GroupId, UserId>,
    groups_of_user: Relation<UserId, GroupId>,
    changes: Vec<Change>,
}

fn user_keys(user: &User) -> (String, Option<String>, Vec<String>) {
    (
        user.user_name().to_lowercase(),
        user.external_id().map(str::to_owned),
        user.email_values().map(str::to_lowercase).collect(),
    )
}

fn group_keys(group: &Group) -> (String, Option<String>) {
    (
        group.display_name.to_lowercase(),
        group.external_id().map(str::to_owned),
    )
}

impl DirectoryContents {
    fn index_user(&mut self, user: &User) {
        let (name, external_id, emails) = user_keys(user);
        self.users_by_name.insert(name, &user.id);
        if let Some(external_id) = external_id {
            self.users_by_external_id.insert(external_id, &user.id);
        }
        for email in emails {
            self.users_by_email.insert(email, &user.id);
        }
    }

    fn unindex_user(&mut self, user: &User) {
        let (name, external_id, emails) = user_keys(user);
        self.users_by_name.remove(&name, &user.id);
        if let Some(external_id) = external_id {
            self.users_by_external_id.remove(&external_id, &user.id);
        }
        for email in emails {
            self.users_by_email.remove(&email, &user.id);
        }
    }

    fn index_group(&mut self, group: &Group) {
        let (name, external_id) = group_keys(group);
        self.groups_by_name.insert(name, &group.id);
        if let Some(external_id) = external_id {
            self.groups_by_external_id.insert(external_id, &group.id);
        }
    }

    fn unindex_group(&mut self, group: &Group) {
        let (name, external_id) = group_keys(group);
        self.groups_by_name.remove(&name, &group.id);
        if let Some(external_id) = external_id {
            self.groups_by_external_id.remove(&external_id, &group.id);
        }
    }

    /// Refuses `user` if another active user holds its userName.
    fn check_user_name_free(&self, user: &User) -> Result<(), StoreError> {
        if user.state != UserState::Active {
            return Ok(());
        }
        let taken = self
            .users_by_name
            .get(&user.user_name().to_lowercase())
            .filter(|id| **id != user.id)
            .filter_map(|id| self.users.get(id))
            .any(|other| other.state == UserState::Active);
        if taken {
            Err(StoreError::Conflict(UniqueAttribute::UserName))
        } else {
            Ok(())
        }
    }

    fn record(
        &mut self,
        dir: &DirectoryId,
        kind: ChangeKind,
        resource_id: &str,
        member_id: Option<&UserId>,
        at: OffsetDateTime,
    ) {
        let seq = self.changes.len() as u64 + 1;
        self.changes.push(Change {
            seq,
            directory_id: dir.clone(),
            kind,
            resource_id: resource_id.to_owned(),
            member_id: member_id.cloned(),
            at,
        });
    }

    /// Checks that every edit can be applied, before anything is mutated.
    fn check_edits(&self, edits: &[MembershipEdit]) -> Result<(), StoreError> {
        for edit in edits {
            if let MembershipEdit::Add(user) = edit
                && !self.users.contains_key(user)
            {
                return Err(StoreError::NotFound(format!("user {user}")));
            }
        }
        Ok(())
    }

    /// Applies checked edits; returns whether membership changed.
    fn apply_edits(
        &mut self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> bool {
        let mut changed = false;
        for edit in edits {
            let removed: Vec<UserId> = match edit {
                MembershipEdit::Add(user) => {
                    if self.members.insert(group, user) {
                        self.groups_of_user.insert(user, group);
                        self.record(
                            dir,
                            ChangeKind::GroupMemberAdded,
                            group.as_str(),
                            Some(user),
                            at,
                        );
                        changed = true;
                    }
                    continue;
                }
                MembershipEdit::Remove(user) => {
                    if self.members.contains(group, user) {
                        vec![user.clone()]
                    } else {
                        Vec::new()
                    }
                }
                MembershipEdit::RemoveAll => self.members.page(group, None).cloned().collect(),
            };
            for user in removed {
                self.members.remove(group, &user);
                self.groups_of_user.remove(&user, group);
                self.record(
                    dir,
                    ChangeKind::GroupMemberRemoved,
                    group.as_str(),
                    Some(&user),
                    at,
                );
                changed = true;
            }
        }
        changed
    }
}

/// One direction of the membership relation: each key's related ids, in order.
#[derive(Debug)]
struct Relation<A, B>(HashMap<A, BTreeSet<B>>);

impl<A, B> Default for Relation<A, B> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<A: std::hash::Hash + Eq + Clone, B: Ord + Clone> Relation<A, B> {
    fn insert(&mut self, a: &A, b: &B) -> bool {
        self.0.entry(a.clone()).or_default().insert(b.clone())
    }

    fn remove(&mut self, a: &A, b: &B) -> bool {
        let Some(set) = self.0.get_mut(a) else {
            return false;
        };
        let removed = set.remove(b);
        if set.is_empty() {
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
    StoreError::NotFound(format!("directory {dir}"))
}

impl State {
    fn contents(&self, dir: &DirectoryId) -> Result<&DirectoryContents, StoreError> {
        self.contents.get(dir).ok_or_else(|| missing_directory(dir))
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
            None => return Err(StoreError::NotFound(format!("organization {}", org.id))),
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
        page: Keyset<'_, OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        let state = self.read();
        Ok(state
            .orgs
            .range(after_bound(page.after))
            .take(page.limit)
            .map(|(_, org)| org.clone())
            .collect())
    }

    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError> {
        let mut state = self.write();
        if !state.orgs.contains_key(&directory.organization_id) {
            return Err(StoreError::NotFound(format!(
                "organization {}",
                directory.organization_id
            )));
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
            Some(_) => {
                return Err(StoreError::NotFound(format!(
                    "directory {} in organization {}",
                    directory.id, directory.organization_id
                )));
            }
            None => return Err(missing_directory(&directory.id)),
        }
        state.put_directory(directory);
        Ok(())
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

    async fn insert_user(&self, mut user: User) -> Result<User, StoreError> {
        let mut state = self.write();
        let contents = state.contents_mut(&user.directory_id)?;
        if contents.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        contents.check_user_name_free(&user)?;
        user.meta.version = 1;
        contents.index_user(&user);
        contents.record(
            &user.directory_id,
            ChangeKind::UserCreated,
            user.id.as_str(),
            None,
            user.meta.last_modified,
        );
        contents.users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    async fn update_user(&self, mut user: User, expected_version: u64) -> Result<User, StoreError> {
        let mut state = self.write();
        let contents = state.contents_mut(&user.directory_id)?;
        let old = contents
            .users
            .get(&user.id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(format!("user {}", user.id)))?;
        if old.meta.version != expected_version {
            return Err(StoreError::Precondition {
                expected: expected_version,
                actual: old.meta.version,
            });
        }
        contents.check_user_name_free(&user)?;
        user.meta.version = expected_version + 1;
        contents.unindex_user(&old);
        contents.index_user(&user);
        contents.record(
            &user.directory_id,
            ChangeKind::for_user(Some(old.state), user.state),
            user.id.as_str(),
            None,
            user.meta.last_modified,
        );
        contents.users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.read().contents(dir)?.users.get(id).cloned())
    }

    async fn find_users(&self, dir: &DirectoryId, key: &UserKey) -> Result<Vec<User>, StoreError> {
        let state = self.read();
        let contents = state.contents(dir)?;
        let ids: Vec<&UserId> = match key {
            UserKey::UserName(name) => contents.users_by_name.get(&name.to_lowercase()).collect(),
            UserKey::ExternalId(id) => contents.users_by_external_id.get(id).collect(),
            UserKey::Email(email) => contents.users_by_email.get(&email.to_lowercase()).collect(),
        };
        Ok(ids
            .into_iter()
            .filter_map(|id| contents.users.get(id))
            .cloned()
            .collect())
    }

    async fn list_users(
        &self,
        dir: &DirectoryId,
        group: Option<&GroupId>,
        page: Keyset<'_, UserId>,
    ) -> Result<Vec<User>, StoreError> {
        let state = self.read();
        let contents = state.contents(dir)?;
        Ok(match group {
            Some(group) => contents
                .members
                .page(group, page.after)
                .filter_map(|id| contents.users.get(id))
                .take(page.limit)
                .cloned()
                .collect(),
            None => contents
                .users
                .range(after_bound(page.after))
                .take(page.limit)
                .map(|(_, u)| u.clone())
                .collect(),
        })
    }

    async fn insert_group(
        &self,
        mut group: Group,
        members: &[UserId],
    ) -> Result<Group, StoreError> {
        let mut state = self.write();
        let dir = group.directory_id.clone();
        let contents = state.contents_mut(&dir)?;
        if contents.groups.contains_key(&group.id) {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let edits: Vec<MembershipEdit> = members.iter().cloned().map(MembershipEdit::Add).collect();
        contents.check_edits(&edits)?;
        group.meta.version = 1;
        contents.index_group(&group);
        let at = group.meta.last_modified;
        contents.record(&dir, ChangeKind::GroupCreated, group.id.as_str(), None, at);
        contents.groups.insert(group.id.clone(), group.clone());
        contents.apply_edits(&dir, &group.id, &edits, at);
        Ok(group)
    }

    async fn update_group(
        &self,
        mut group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError> {
        let mut state = self.write();
        let dir = group.directory_id.clone();
        let contents = state.contents_mut(&dir)?;
        let old = contents
            .groups
            .get(&group.id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(format!("group {}", group.id)))?;
        if old.meta.version != expected_version {
            return Err(StoreError::Precondition {
                expected: expected_version,
                actual: old.meta.version,
            });
        }
        contents.check_edits(edits)?;
        group.meta.version = expected_version + 1;
        contents.unindex_group(&old);
        contents.index_group(&group);
        let at = group.meta.last_modified;
        contents.record(
            &dir,
            ChangeKind::for_group(Some(old.deleted), group.deleted),
            group.id.as_str(),
            None,
            at,
        );
        contents.groups.insert(group.id.clone(), group.clone());
        contents.apply_edits(&dir, &group.id, edits, at);
        Ok(group)
    }

    async fn edit_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<Group, StoreError> {
        let mut state = self.write();
        let contents = state.contents_mut(dir)?;
        match contents.groups.get(group) {
            Some(g) if !g.deleted => {}
            _ => return Err(StoreError::NotFound(format!("group {group}"))),
        }
        contents.check_edits(edits)?;
        let changed = contents.apply_edits(dir, group, edits, at);
        let stored = contents
            .groups
            .get_mut(group)
            .ok_or_else(|| StoreError::NotFound(format!("group {group}")))?;
        if changed {
            stored.meta.version += 1;
            stored.meta.last_modified = at;
        }
        Ok(stored.clone())
    }

    async fn get_group(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        Ok(self.read().contents(dir)?.groups.get(id).cloned())
    }

    async fn find_groups(
        &self,
        dir: &DirectoryId,
        key: &GroupKey,
    ) -> Result<Vec<Group>, StoreError> {
        let state = self.read();
        let contents = state.contents(dir)?;
        let ids: Vec<&GroupId> = match key {
            GroupKey::DisplayName(name) => {
                contents.groups_by_name.get(&name.to_lowercase()).collect()
            }
            GroupKey::ExternalId(id) => contents.groups_by_external_id.get(id).collect(),
        };
        Ok(ids
            .into_iter()
            .filter_map(|id| contents.groups.get(id))
            .cloned()
            .collect())
    }

    async fn list_groups(
        &self,
        dir: &DirectoryId,
        page: Keyset<'_, GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        let state = self.read();
        Ok(state
            .contents(dir)?
            .groups
            .range(after_bound(page.after))
            .take(page.limit)
            .map(|(_, g)| g.clone())
            .collect())
    }

    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        page: Keyset<'_, UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        let state = self.read();
        Ok(state
            .contents(dir)?
            .members
            .page(group, page.after)
            .take(page.limit)
            .cloned()
            .collect())
    }

    async fn list_groups_of_user(
        &self,
        dir: &DirectoryId,
        user: &UserId,
        page: Keyset<'_, GroupId>,
    ) -> Result<Vec<GroupId>, StoreError> {
        let state = self.read();
        Ok(state
            .contents(dir)?
            .groups_of_user
            .page(user, page.after)
            .take(page.limit)
            .cloned()
            .collect())
    }

    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let state = self.read();
        let changes = &state.contents(dir)?.changes;
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(changes.len());
        Ok(changes.iter().skip(start).take(limit).cloned().collect())
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
            .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
        state.token_by_hash.remove(&token.hash);
        Ok(())
    }
}
