//! Reads: point gets, batch gets, filtered keyset listings and counts.
//!
//! Costs, in sled operations: a listing reads the keys it passes over plus one document
//! per returned row. Keys come from the narrowest source the filter allows: an attribute
//! index (`key`), the membership relation (`group` / `member`), a state index (`states`
//! without either), or the documents themselves (`States::All`). `Keyset::skip` passes
//! over that many index keys without decoding a document. Counts without `key` or
//! `group` / `member` read the per-directory counters (O(1)); with one, they count that
//! index's entries (one state lookup each unless `States::All`).
//!
//! Reads never check that the directory exists: an unknown directory simply has no keys,
//! which answers "lists nothing" and `None` without an extra read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::de::DeserializeOwned;

use super::codec::{backend, decode, decode_listed, decode_u64};
use super::keys::{self, *};
use super::view::View;
use crate::model::{
    Change, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId, TokenRecord,
    TokenScope, User, UserId,
};
use crate::store::{
    GroupFilter, GroupMember, Keyset, Member, States, StoreError, UserFilter, UserGroup,
};

impl View {
    pub(super) fn tree_name(index: usize) -> &'static str {
        TREES.get(index).copied().unwrap_or("?")
    }

    pub(super) fn get<T: DeserializeOwned>(
        &self,
        tree: usize,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.source(tree)?.get(key)? {
            Some(bytes) => decode(Self::tree_name(tree), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// A document met while listing; `None` if absent or undecodable (warned).
    fn get_listed<T: DeserializeOwned>(
        &self,
        tree: usize,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        Ok(self
            .source(tree)?
            .get(key)?
            .and_then(|bytes| decode_listed(Self::tree_name(tree), key, &bytes)))
    }

    pub(super) fn exists(&self, tree: usize, key: &[u8]) -> Result<bool, StoreError> {
        self.source(tree)?.contains(key)
    }

    pub(super) fn counter(&self, dir: &DirectoryId, name: &[u8]) -> Result<u64, StoreError> {
        match self.source(DIR_META)?.get(&meta_key(dir, name))? {
            Some(bytes) => decode_u64(&bytes),
            None => Ok(0),
        }
    }

    pub(super) fn latest_seq(&self, dir: &DirectoryId) -> Result<u64, StoreError> {
        match self.source(CHANGE_SEQ)?.get(dir.as_str().as_bytes())? {
            Some(bytes) => decode_u64(&bytes),
            None => Ok(0),
        }
    }

    pub(super) fn user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(USERS, &entity(dir, id.as_str()))
    }

    pub(super) fn group(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        self.get(GROUPS, &entity(dir, id.as_str()))
    }

    pub(super) fn is_member(
        &self,
        dir: &DirectoryId,
        group: &str,
        user: &str,
    ) -> Result<bool, StoreError> {
        self.exists(
            MEMBERS,
            &key(&[dir.as_str().as_bytes(), group.as_bytes(), user.as_bytes()]),
        )
    }

    /// Whether the user `id` is in one of `states`, from the state indexes (no document).
    fn user_in(&self, dir: &DirectoryId, id: &str, states: States) -> Result<bool, StoreError> {
        match user_state_index(states) {
            Some(tree) => self.exists(tree, &entity(dir, id)),
            None => Ok(true),
        }
    }

    fn group_in(&self, dir: &DirectoryId, id: &str, states: States) -> Result<bool, StoreError> {
        match group_state_index(states) {
            Some(tree) => self.exists(tree, &entity(dir, id)),
            None => Ok(true),
        }
    }

    /// Where a user listing takes its ids from, and what each id must also pass.
    fn user_source(&self, dir: &DirectoryId, filter: &UserFilter) -> (usize, Vec<u8>, bool) {
        let d = dir.as_str().as_bytes();
        match (&filter.key, &filter.group) {
            (Some(wanted), _) => {
                let (tree, prefix) = user_key_prefix(dir, wanted);
                (tree, prefix, true)
            }
            (None, Some(group)) => (MEMBERS, prefix(&[d, group.as_str().as_bytes()]), true),
            (None, None) => match user_state_index(filter.states) {
                Some(tree) => (tree, prefix(&[d]), false),
                None => (USERS, prefix(&[d]), false),
            },
        }
    }

    /// Whether a user id from the source passes the rest of the filter.
    fn user_passes(
        &self,
        dir: &DirectoryId,
        id: &str,
        filter: &UserFilter,
    ) -> Result<bool, StoreError> {
        if let (Some(_), Some(group)) = (&filter.key, &filter.group)
            && !self.is_member(dir, group.as_str(), id)?
        {
            return Ok(false);
        }
        self.user_in(dir, id, filter.states)
    }

    pub(super) fn list_users(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: &Keyset<UserId>,
    ) -> Result<Vec<User>, StoreError> {
        let (tree, prefix, check) = self.user_source(dir, filter);
        let after = page.after.as_ref().map(UserId::as_str);
        if tree == USERS {
            return self.documents_after(USERS, prefix, after, page.skip, page.limit);
        }
        let source = self.source(tree)?;
        let mut out = Vec::new();
        let mut skipped = 0;
        for id in ids_after(source, prefix, after) {
            if out.len() >= page.limit {
                break;
            }
            let id = id?;
            if check && !self.user_passes(dir, &id, filter)? {
                continue;
            }
            if skipped < page.skip {
                skipped += 1;
                continue;
            }
            if let Some(user) = self.get_listed(USERS, &entity(dir, &id))? {
                out.push(user);
            }
        }
        Ok(out)
    }

    pub(super) fn count_users(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
    ) -> Result<u64, StoreError> {
        if filter.key.is_none() && filter.group.is_none() {
            let mut total = 0u64;
            for name in user_counters(filter.states) {
                total = total.saturating_add(self.counter(dir, name)?);
            }
            return Ok(total);
        }
        let (tree, prefix, _) = self.user_source(dir, filter);
        let mut total = 0;
        for id in ids_after(self.source(tree)?, prefix, None) {
            if self.user_passes(dir, &id?, filter)? {
                total += 1;
            }
        }
        Ok(total)
    }

    fn group_source(&self, dir: &DirectoryId, filter: &GroupFilter) -> (usize, Vec<u8>, bool) {
        let d = dir.as_str().as_bytes();
        let related = |tree, id: &str| (tree, prefix(&[d, id.as_bytes()]), true);
        match (
            &filter.key,
            &filter.member,
            &filter.member_group,
            &filter.parent,
        ) {
            (Some(wanted), ..) => {
                let (tree, prefix) = group_key_prefix(dir, wanted);
                (tree, prefix, true)
            }
            (None, Some(user), ..) => related(MEMBER_OF, user.as_str()),
            (None, None, Some(child), _) => related(GROUP_PARENTS, child.as_str()),
            (None, None, None, Some(parent)) => related(GROUP_CHILDREN, parent.as_str()),
            (None, None, None, None) => match group_state_index(filter.states) {
                Some(tree) => (tree, prefix(&[d]), false),
                None => (GROUPS, prefix(&[d]), false),
            },
        }
    }

    /// Whether a group id from the source passes the rest of the filter (the part the
    /// source answered passes again, at one key lookup).
    fn group_passes(
        &self,
        dir: &DirectoryId,
        id: &str,
        filter: &GroupFilter,
    ) -> Result<bool, StoreError> {
        if let (Some(_), Some(user)) = (&filter.key, &filter.member)
            && !self.is_member(dir, id, user.as_str())?
        {
            return Ok(false);
        }
        let group: GroupId = parse_id(id)?;
        if let Some(child) = &filter.member_group
            && !self.is_member_group(dir, &group, child)?
        {
            return Ok(false);
        }
        if let Some(parent) = &filter.parent
            && !self.is_member_group(dir, parent, &group)?
        {
            return Ok(false);
        }
        self.group_in(dir, id, filter.states)
    }

    pub(super) fn list_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
        page: &Keyset<GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        let (tree, prefix, check) = self.group_source(dir, filter);
        let after = page.after.as_ref().map(GroupId::as_str);
        if tree == GROUPS {
            return self.documents_after(GROUPS, prefix, after, page.skip, page.limit);
        }
        let mut out = Vec::new();
        let mut skipped = 0;
        for id in ids_after(self.source(tree)?, prefix, after) {
            if out.len() >= page.limit {
                break;
            }
            let id = id?;
            if check && !self.group_passes(dir, &id, filter)? {
                continue;
            }
            if skipped < page.skip {
                skipped += 1;
                continue;
            }
            if let Some(group) = self.get_listed(GROUPS, &entity(dir, &id))? {
                out.push(group);
            }
        }
        Ok(out)
    }

    pub(super) fn count_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
    ) -> Result<u64, StoreError> {
        if filter.key.is_none()
            && filter.member.is_none()
            && filter.member_group.is_none()
            && filter.parent.is_none()
        {
            let mut total = 0u64;
            for name in group_counters(filter.states) {
                total = total.saturating_add(self.counter(dir, name)?);
            }
            return Ok(total);
        }
        let (tree, prefix, _) = self.group_source(dir, filter);
        let mut total = 0;
        for id in ids_after(self.source(tree)?, prefix, None) {
            if self.group_passes(dir, &id?, filter)? {
                total += 1;
            }
        }
        Ok(total)
    }

    /// Documents of `tree` under `prefix` after `after`: `skip` entries passed over
    /// undecoded, then up to `limit` decodable ones (undecodable ones are skipped and do
    /// not use up the page).
    fn documents_after<T: DeserializeOwned>(
        &self,
        tree: usize,
        prefix: Vec<u8>,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let name = Self::tree_name(tree);
        let mut out = Vec::new();
        let range = after_range(&prefix, after);
        for (i, entry) in self.source(tree)?.range_from(range.0).enumerate() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry.map_err(backend)?;
            if !k.starts_with(&prefix) {
                break;
            }
            if i < skip {
                continue;
            }
            if let Some(doc) = decode_listed(name, &k, &v) {
                out.push(doc);
            }
        }
        Ok(out)
    }

    /// Batch get: each distinct id once, in id order; absent and undecodable ones left out.
    pub(super) fn get_many<T: DeserializeOwned>(
        &self,
        tree: usize,
        dir: &DirectoryId,
        mut ids: Vec<&str>,
    ) -> Result<Vec<T>, StoreError> {
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(doc) = self.get_listed(tree, &entity(dir, id))? {
                out.push(doc);
            }
        }
        Ok(out)
    }

    pub(super) fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
        page: &Keyset<UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        let prefix = prefix(&[dir.as_str().as_bytes(), group.as_str().as_bytes()]);
        let after = page.after.as_ref().map(UserId::as_str);
        let mut out = Vec::new();
        let mut skipped = 0;
        for id in ids_after(self.source(MEMBERS)?, prefix, after) {
            if out.len() >= page.limit {
                break;
            }
            let id = id?;
            if !self.user_in(dir, &id, states)? {
                continue;
            }
            if skipped < page.skip {
                skipped += 1;
                continue;
            }
            out.push(parse_id(&id)?);
        }
        Ok(out)
    }

    /// The members of each of `groups` (each once, in id order): per group, one pass over
    /// its membership keys (a state lookup each unless `States::All`), then one over its
    /// member-group keys (each member group decoded for its `displayName`).
    pub(super) fn members_of_groups(
        &self,
        dir: &DirectoryId,
        mut groups: Vec<&GroupId>,
        states: States,
    ) -> Result<Vec<GroupMember>, StoreError> {
        groups.sort_unstable();
        groups.dedup();
        let d = dir.as_str().as_bytes();
        let mut rows = Vec::new();
        for group in groups {
            let of_group = || prefix(&[d, group.as_str().as_bytes()]);
            for id in ids_after(self.source(MEMBERS)?, of_group(), None) {
                let id = id?;
                if self.user_in(dir, &id, states)? {
                    rows.push(GroupMember {
                        group_id: group.clone(),
                        member: Member::User(parse_id(&id)?),
                    });
                }
            }
            for id in ids_after(self.source(GROUP_CHILDREN)?, of_group(), None) {
                let child: Option<Group> = self.get_listed(GROUPS, &entity(dir, &id?))?;
                if let Some(child) = child.filter(|c| !c.deleted) {
                    rows.push(GroupMember {
                        group_id: group.clone(),
                        member: Member::Group {
                            id: child.id,
                            display_name: child.display_name,
                        },
                    });
                }
            }
        }
        Ok(rows)
    }

    /// The groups of each of `users` (each once, in id order), then group id order: the
    /// direct ones, and their ancestors through groups not deleted (`direct: false`).
    /// Each group is decoded once per call however many of the users share it.
    pub(super) fn groups_of_users(
        &self,
        dir: &DirectoryId,
        mut users: Vec<&UserId>,
    ) -> Result<Vec<UserGroup>, StoreError> {
        users.sort_unstable();
        users.dedup();
        type Facts = Option<(String, bool, Option<String>)>;
        let mut seen: HashMap<String, Facts> = HashMap::new();
        let mut facts_of = |group_id: &str| -> Result<Facts, StoreError> {
            if let Some(known) = seen.get(group_id) {
                return Ok(known.clone());
            }
            let read: Option<Group> = self.get_listed(GROUPS, &entity(dir, group_id))?;
            let found = read.map(|g| {
                let external_id = g.external_id().map(str::to_owned);
                (g.display_name, g.deleted, external_id)
            });
            seen.insert(group_id.to_owned(), found.clone());
            Ok(found)
        };
        let graph = super::nesting::DirectoryGraph { view: self, dir };
        let mut rows = Vec::new();
        for user in users {
            let prefix = prefix(&[dir.as_str().as_bytes(), user.as_str().as_bytes()]);
            let mut of_user = BTreeMap::new();
            let mut live = BTreeSet::new();
            for group_id in ids_after(self.source(MEMBER_OF)?, prefix, None) {
                let group_id: GroupId = parse_id(&group_id?)?;
                if let Some(facts) = facts_of(group_id.as_str())? {
                    if !facts.1 {
                        live.insert(group_id.clone());
                    }
                    of_user.insert(group_id, (facts, true));
                }
            }
            let depth = self.max_group_depth();
            for ancestor in crate::store::plan::ancestor_groups(&graph, &live, depth)? {
                if let Some(facts) = facts_of(ancestor.as_str())? {
                    of_user.insert(ancestor, (facts, false));
                }
            }
            for (group_id, ((display_name, group_deleted, external_id), direct)) in of_user {
                rows.push(UserGroup {
                    user_id: user.clone(),
                    group_id,
                    display_name,
                    external_id,
                    group_deleted,
                    direct,
                });
            }
        }
        Ok(rows)
    }

    /// Every member id of a group (for [`crate::store::MembershipEdit::RemoveAll`]).
    pub(super) fn all_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
    ) -> Result<Vec<UserId>, StoreError> {
        let prefix = prefix(&[dir.as_str().as_bytes(), group.as_str().as_bytes()]);
        ids_after(self.source(MEMBERS)?, prefix, None)
            .map(|id| parse_id(&id?))
            .collect()
    }

    pub(super) fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let trimmed = self.counter(dir, keys::meta::CHANGES_TRIMMED)?;
        if after < trimmed {
            return Err(StoreError::ChangesTrimmed { through: trimmed });
        }
        let prefix = prefix(&[dir.as_str().as_bytes()]);
        let start = change(dir, after.saturating_add(1));
        let mut out = Vec::new();
        for entry in self
            .source(CHANGES)?
            .range_from(std::ops::Bound::Included(start))
        {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry.map_err(backend)?;
            if !k.starts_with(&prefix) {
                break;
            }
            // A change the feed cannot decode would stall every subscriber at its seq, so
            // it is an error, not skipped: a reader must not silently miss a change.
            out.push(decode(Self::tree_name(CHANGES), &v)?);
        }
        Ok(out)
    }

    pub(super) fn list_organizations(
        &self,
        page: &Keyset<OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        self.documents_after(
            ORGS,
            Vec::new(),
            page.after.as_ref().map(OrganizationId::as_str),
            page.skip,
            page.limit,
        )
    }

    /// Every directory (few per store: read whole for `list_directories` and the primary
    /// flag).
    pub(super) fn all_directories(&self) -> Result<Vec<Directory>, StoreError> {
        self.documents_after(DIRS, Vec::new(), None, 0, usize::MAX)
    }

    /// Every token with `scope` (tokens are few; read whole).
    pub(super) fn tokens_with(&self, scope: &TokenScope) -> Result<Vec<TokenRecord>, StoreError> {
        let all: Vec<TokenRecord> =
            self.documents_after(TOKENS, Vec::new(), None, 0, usize::MAX)?;
        Ok(all.into_iter().filter(|t| &t.scope == scope).collect())
    }
}
