//! Writes: read what the planner needs, hand it to [`crate::store::plan`], and stage what
//! comes back (documents, index entries, state indexes, counters, memberships, change-log
//! entries) into one [`WriteSet`] that commits with its batch's, in one transaction.
//!
//! Every function here runs under the writer lock (see `commit.rs`) and reads through
//! the batch's [`View`], which includes what earlier writes of the batch staged, so what
//! it reads cannot change before its writes commit; counters are staged as deltas and
//! resolved against the stored values at commit.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::codec::{encode, encode_document};
use super::keys::*;
use super::nesting::{DirectoryGraph, stage_edges};
use super::view::View;
use crate::model::{
    Directory, DirectoryId, Group, GroupId, Organization, RoleMapping, TokenRecord, UniqueKey,
    User, UserId,
};
use crate::store::plan::{self, ChangeDraft, GroupPlan, MembershipFacts, MembershipPlan};
use crate::store::{DirectoryEdit, EntityKind, MembershipEdit, StoreError, UniqueAttribute};

/// What one write does inside its transaction.
#[derive(Default)]
pub(super) struct WriteSet {
    pub(super) puts: Vec<(usize, Vec<u8>, Vec<u8>)>,
    pub(super) deletes: Vec<(usize, Vec<u8>)>,
    /// `DIR_META` counters to move by a delta, resolved at commit against stored values.
    pub(super) counts: BTreeMap<Vec<u8>, i64>,
}

impl WriteSet {
    pub(super) fn put(&mut self, tree: usize, key: Vec<u8>, value: Vec<u8>) {
        self.puts.push((tree, key, value));
    }

    pub(super) fn delete(&mut self, tree: usize, key: Vec<u8>) {
        self.deletes.push((tree, key));
    }

    fn count(&mut self, key: Vec<u8>, delta: i64) {
        *self.counts.entry(key).or_default() += delta;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty() && self.counts.is_empty()
    }
}

/// Stages a user document, its index entries, state indexes and counters, replacing
/// `old`. Deletes are applied before puts, so an entry both old and new stays.
fn stage_user(set: &mut WriteSet, old: Option<&User>, user: &User) -> Result<(), StoreError> {
    let dir = &user.directory_id;
    let id = user.id.as_str();
    if let Some(old) = old {
        for (tree, k) in user_index_entries(old) {
            set.delete(tree, k);
        }
        for tree in user_state_trees(old.state) {
            set.delete(*tree, entity(dir, id));
        }
        set.count(meta_key(dir, user_counter(old.state)), -1);
    }
    for (tree, k) in user_index_entries(user) {
        set.put(tree, k, Vec::new());
    }
    for tree in user_state_trees(user.state) {
        set.put(*tree, entity(dir, id), Vec::new());
    }
    set.count(meta_key(dir, user_counter(user.state)), 1);
    set.put(
        USERS,
        entity(dir, id),
        encode_document(user, &user.attributes)?,
    );
    Ok(())
}

fn stage_group(set: &mut WriteSet, old: Option<&Group>, group: &Group) -> Result<(), StoreError> {
    let dir = &group.directory_id;
    let id = group.id.as_str();
    if let Some(old) = old {
        for (tree, k) in group_index_entries(old) {
            set.delete(tree, k);
        }
        if !old.deleted {
            set.delete(GROUP_LIVE, entity(dir, id));
        }
        set.count(meta_key(dir, group_counter(old.deleted)), -1);
    }
    for (tree, k) in group_index_entries(group) {
        set.put(tree, k, Vec::new());
    }
    if !group.deleted {
        set.put(GROUP_LIVE, entity(dir, id), Vec::new());
    }
    set.count(meta_key(dir, group_counter(group.deleted)), 1);
    set.put(
        GROUPS,
        entity(dir, id),
        encode_document(group, &group.attributes)?,
    );
    Ok(())
}

fn stage_membership(
    set: &mut WriteSet,
    dir: &DirectoryId,
    group: &GroupId,
    planned: &MembershipPlan,
) {
    let (d, g) = (dir.as_str().as_bytes(), group.as_str().as_bytes());
    for user in &planned.remove {
        let u = user.as_str().as_bytes();
        set.delete(MEMBERS, key(&[d, g, u]));
        set.delete(MEMBER_OF, key(&[d, u, g]));
    }
    for user in &planned.add {
        let u = user.as_str().as_bytes();
        set.put(MEMBERS, key(&[d, g, u]), Vec::new());
        set.put(MEMBER_OF, key(&[d, u, g]), Vec::new());
    }
}

impl View {
    pub(super) fn require_directory(&self, dir: &DirectoryId) -> Result<(), StoreError> {
        if self.directory(dir)?.is_some() {
            Ok(())
        } else {
            Err(StoreError::not_found(EntityKind::Directory, dir))
        }
    }

    /// Numbers `drafts` after the directory's latest seq and stages them with the new seq.
    fn stage_changes(
        &self,
        set: &mut WriteSet,
        dir: &DirectoryId,
        drafts: Vec<ChangeDraft>,
    ) -> Result<(), StoreError> {
        if drafts.is_empty() {
            return Ok(());
        }
        let last = self.latest_seq(dir)?;
        let mut seq = last;
        for change in plan::number(dir, last, drafts) {
            seq = change.seq;
            set.put(CHANGES, super::keys::change(dir, seq), encode(&change)?);
        }
        set.put(
            CHANGE_SEQ,
            dir.as_str().as_bytes().to_vec(),
            seq.to_be_bytes().to_vec(),
        );
        Ok(())
    }

    /// Whether an active user of `dir` other than `except` holds `user_name`: the
    /// `userName` index and the active index, no document read.
    fn user_name_taken(
        &self,
        dir: &DirectoryId,
        user_name: &str,
        except: &UserId,
    ) -> Result<bool, StoreError> {
        let value = value_part(&plan::user_name_key(user_name));
        let holders = prefix(&[dir.as_str().as_bytes(), &value]);
        for id in ids_after(self.source(USER_NAME)?, holders, None) {
            let id = id?;
            if id != except.as_str() && self.exists(USER_ACTIVE, &entity(dir, &id))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Refuses `planned` if another user holds a key it claims: one point read per key.
    fn check_unique_keys(
        &self,
        dir: &DirectoryId,
        planned: &plan::UserPlan,
    ) -> Result<(), StoreError> {
        let source = self.source(USER_UNIQUE)?;
        let mut holders = Vec::new();
        for key in &planned.unique_keys {
            if let Some(holder) = source.get(&unique_key(dir, key))? {
                let holder = std::str::from_utf8(&holder).map_err(super::codec::backend)?;
                holders.push((key, parse_id::<UserId>(holder)?));
            }
        }
        plan::check_unique_keys(planned, holders.iter().map(|(k, h)| (*k, h)))
    }

    /// The declared unique keys the stored user `id` holds.
    fn held_unique_keys(
        &self,
        dir: &DirectoryId,
        id: &UserId,
    ) -> Result<Vec<UniqueKey>, StoreError> {
        Ok(self
            .get(USER_UNIQUE_OF, &entity(dir, id.as_str()))?
            .unwrap_or_default())
    }

    /// Stages the keys `planned` claims in place of `held`, those the user held.
    fn stage_unique_keys(
        &self,
        set: &mut WriteSet,
        dir: &DirectoryId,
        held: &[UniqueKey],
        planned: &plan::UserPlan,
    ) -> Result<(), StoreError> {
        let id = planned.user.id.as_str();
        let of = entity(dir, id);
        if held.is_empty() && planned.unique_keys.is_empty() {
            return Ok(());
        }
        for key in held {
            set.delete(USER_UNIQUE, unique_key(dir, key));
        }
        set.delete(USER_UNIQUE_OF, of.clone());
        if !planned.unique_keys.is_empty() {
            for key in &planned.unique_keys {
                set.put(USER_UNIQUE, unique_key(dir, key), id.as_bytes().to_vec());
            }
            set.put(USER_UNIQUE_OF, of, encode(&planned.unique_keys)?);
        }
        Ok(())
    }

    /// Reads what `edits` need, as [`plan::membership_reads`] names: each named user's
    /// membership (every member only for `RemoveAll`) and whether added users exist.
    fn membership_facts(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
    ) -> Result<MembershipFacts, StoreError> {
        let reads = plan::membership_reads(edits);
        let mut facts = MembershipFacts::default();
        if reads.all_members {
            facts.members = self.all_members(dir, group)?.into_iter().collect();
        } else {
            for user in reads.named {
                if self.is_member(dir, group.as_str(), user.as_str())? {
                    facts.members.insert(user);
                }
            }
        }
        for user in reads.added {
            if self.exists(USERS, &entity(dir, user.as_str()))? {
                facts.users.insert(user);
            }
        }
        if reads.all_members {
            facts.member_groups = self.all_member_groups(dir, group)?;
        } else {
            for child in reads.named_groups {
                if self.is_member_group(dir, group, &child)? {
                    facts.member_groups.insert(child);
                }
            }
        }
        for child in reads.added_groups {
            if self.exists(GROUP_LIVE, &entity(dir, child.as_str()))? {
                facts.groups.insert(child);
            }
        }
        Ok(facts)
    }

    /// The directory's role mapping, read under the writer lock.
    fn role_mapping(&self, dir: &DirectoryId) -> Result<RoleMapping, StoreError> {
        let directory = self.directory(dir)?;
        Ok(directory.map(|d| d.roles.clone()).unwrap_or_default())
    }

    pub(super) fn insert_user(&self, user: User) -> Result<(WriteSet, User), StoreError> {
        let dir = user.directory_id.clone();
        self.require_directory(&dir)?;
        if self.exists(USERS, &entity(&dir, user.id.as_str()))? {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let taken = user.state == crate::model::UserState::Active
            && self.user_name_taken(&dir, user.user_name(), &user.id)?;
        let mut planned = plan::insert_user(user, taken)?;
        self.check_unique_keys(&dir, &planned)?;
        let mapping = self.role_mapping(&dir)?;
        let roles = plan::user_write_roles(&mapping, None, &planned, || Ok(Vec::new()))?;
        planned.changes.extend(roles);
        let mut set = WriteSet::default();
        stage_user(&mut set, None, &planned.user)?;
        // A new user holds no keys yet (its id is not stored, checked above).
        self.stage_unique_keys(&mut set, &dir, &[], &planned)?;
        self.stage_changes(&mut set, &dir, planned.changes)?;
        Ok((set, planned.user))
    }

    pub(super) fn update_user(
        &self,
        user: User,
        expected_version: u64,
    ) -> Result<(WriteSet, User), StoreError> {
        let dir = user.directory_id.clone();
        let stored = self.user(&dir, &user.id)?;
        let taken = stored.is_some()
            && user.state == crate::model::UserState::Active
            && self.user_name_taken(&dir, user.user_name(), &user.id)?;
        let mut planned = plan::update_user(stored.as_ref(), user, expected_version, taken)?;
        self.check_unique_keys(&dir, &planned)?;
        if !planned.is_noop() {
            let mapping = self.role_mapping(&dir)?;
            let graph = DirectoryGraph {
                view: self,
                dir: &dir,
            };
            let roles = plan::nested_user_write_roles(
                &mapping,
                self.max_group_depth(),
                &graph,
                stored.as_ref(),
                &planned,
            )?;
            planned.changes.extend(roles);
        }
        let mut set = WriteSet::default();
        if !planned.is_noop() {
            stage_user(&mut set, stored.as_ref(), &planned.user)?;
            let held = self.held_unique_keys(&dir, &planned.user.id)?;
            self.stage_unique_keys(&mut set, &dir, &held, &planned)?;
            self.stage_changes(&mut set, &dir, planned.changes)?;
        }
        Ok((set, planned.user))
    }

    /// Stages a planned group write with the role changes it makes (read before staging).
    fn stage_group_plan(
        &self,
        stored: Option<&Group>,
        mut planned: GroupPlan,
    ) -> Result<(WriteSet, Group), StoreError> {
        let mut set = WriteSet::default();
        if !planned.is_noop() {
            let dir = planned.group.directory_id.clone();
            self.check_group_unique_keys(&dir, &planned)?;
            // The members whose membership changes, as stored: the writer lock is held
            // from these reads to the commit, so they are what the changes record.
            let mut members = Vec::new();
            for id in planned.membership.changed_members() {
                members.extend(self.user(&dir, &id)?);
            }
            planned = planned.with_member_snapshots(members);
            let mapping = self.role_mapping(&dir)?;
            let graph = DirectoryGraph {
                view: self,
                dir: &dir,
            };
            let depth = self.max_group_depth();
            plan::check_member_groups(&graph, &planned.group.id, &planned.membership, depth)?;
            let roles = plan::nested_group_write_roles(&mapping, depth, &graph, stored, &planned)?;
            planned.changes.extend(roles);
            stage_group(&mut set, stored, &planned.group)?;
            self.stage_group_unique_keys(&mut set, stored.is_some(), &planned)?;
            stage_membership(&mut set, &dir, &planned.group.id, &planned.membership);
            stage_edges(&mut set, &dir, &planned.group.id, &planned.membership);
            self.stage_changes(&mut set, &dir, planned.changes)?;
        }
        Ok((set, planned.group))
    }

    pub(super) fn insert_group(
        &self,
        group: Group,
        members: &[UserId],
        member_groups: &[GroupId],
    ) -> Result<(WriteSet, Group), StoreError> {
        let dir = group.directory_id.clone();
        self.require_directory(&dir)?;
        if self.exists(GROUPS, &entity(&dir, group.id.as_str()))? {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let edits = plan::insert_edits(members, member_groups);
        let facts = self.membership_facts(&dir, &group.id, &edits)?;
        let membership = plan::membership(&group.id, &edits, &facts, group.meta.last_modified)?;
        self.stage_group_plan(None, plan::insert_group(group, membership))
    }

    pub(super) fn update_group(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<(WriteSet, Group), StoreError> {
        let dir = group.directory_id.clone();
        let stored = self
            .group(&dir, &group.id)?
            .ok_or_else(|| StoreError::not_found(EntityKind::Group, &group.id))?;
        if stored.meta.version != expected_version {
            // Before reading memberships: a stale writer learns so without the reads.
            return Err(StoreError::Precondition {
                expected: expected_version,
                actual: stored.meta.version,
            });
        }
        let facts = self.membership_facts(&dir, &group.id, edits)?;
        let membership = plan::membership(&group.id, edits, &facts, group.meta.last_modified)?;
        let planned = plan::update_group(Some(&stored), group, expected_version, membership)?;
        self.stage_group_plan(Some(&stored), planned)
    }

    pub(super) fn edit_members(
        &self,
        dir: &DirectoryId,
        group_id: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<(WriteSet, Group), StoreError> {
        let stored = self
            .group(dir, group_id)?
            .filter(|g| !g.deleted)
            .ok_or_else(|| StoreError::not_found(EntityKind::Group, group_id))?;
        let facts = self.membership_facts(dir, group_id, edits)?;
        let membership = plan::membership(group_id, edits, &facts, at)?;
        let planned = plan::edit_members(Some(&stored), group_id, membership, at)?;
        self.stage_group_plan(Some(&stored), planned)
    }

    pub(super) fn insert_organization(
        &self,
        org: Organization,
    ) -> Result<(WriteSet, ()), StoreError> {
        if self.exists(ORGS, org.id.as_str().as_bytes())? {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let mut set = WriteSet::default();
        if let Some(external_id) = &org.external_id {
            if self.exists(ORG_EXT, external_id.as_bytes())? {
                return Err(StoreError::Conflict(
                    UniqueAttribute::OrganizationExternalId,
                ));
            }
            set.put(
                ORG_EXT,
                external_id.as_bytes().to_vec(),
                org.id.as_str().as_bytes().to_vec(),
            );
        }
        set.put(ORGS, org.id.as_str().as_bytes().to_vec(), encode(&org)?);
        Ok((set, ()))
    }

    pub(super) fn update_organization(
        &self,
        org: Organization,
    ) -> Result<(WriteSet, ()), StoreError> {
        let old: Organization = self
            .get(ORGS, org.id.as_str().as_bytes())?
            .ok_or_else(|| StoreError::not_found(EntityKind::Organization, &org.id))?;
        if let Some(external_id) = &org.external_id {
            let holder = self.source(ORG_EXT)?.get(external_id.as_bytes())?;
            if holder.is_some_and(|h| h.as_ref() != org.id.as_str().as_bytes()) {
                return Err(StoreError::Conflict(
                    UniqueAttribute::OrganizationExternalId,
                ));
            }
        }
        let mut set = WriteSet::default();
        if let Some(old_external_id) = &old.external_id {
            set.delete(ORG_EXT, old_external_id.as_bytes().to_vec());
        }
        if let Some(external_id) = &org.external_id {
            set.put(
                ORG_EXT,
                external_id.as_bytes().to_vec(),
                org.id.as_str().as_bytes().to_vec(),
            );
        }
        set.put(ORGS, org.id.as_str().as_bytes().to_vec(), encode(&org)?);
        Ok((set, ()))
    }

    /// If `directory` is primary, stages the demotion of its organization's other primary.
    fn demote_other_primaries(
        &self,
        set: &mut WriteSet,
        directory: &Directory,
    ) -> Result<(), StoreError> {
        if !directory.primary {
            return Ok(());
        }
        for mut other in self.all_directories()? {
            if other.organization_id == directory.organization_id
                && other.id != directory.id
                && other.primary
            {
                other.primary = false;
                set.put(DIRS, other.id.as_str().as_bytes().to_vec(), encode(&other)?);
            }
        }
        Ok(())
    }

    pub(super) fn insert_directory(
        &self,
        directory: Directory,
    ) -> Result<(WriteSet, ()), StoreError> {
        if !self.exists(ORGS, directory.organization_id.as_str().as_bytes())? {
            return Err(StoreError::not_found(
                EntityKind::Organization,
                &directory.organization_id,
            ));
        }
        if self.exists(DIRS, directory.id.as_str().as_bytes())?
            || self.exists(PURGING, directory.id.as_str().as_bytes())?
        {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let mut set = WriteSet::default();
        self.demote_other_primaries(&mut set, &directory)?;
        set.put(
            DIRS,
            directory.id.as_str().as_bytes().to_vec(),
            encode(&directory)?,
        );
        Ok((set, ()))
    }

    pub(super) fn update_directory(
        &self,
        directory: Directory,
    ) -> Result<(WriteSet, ()), StoreError> {
        let old: Directory = self
            .get(DIRS, directory.id.as_str().as_bytes())?
            .ok_or_else(|| StoreError::not_found(EntityKind::Directory, &directory.id))?;
        if old.organization_id != directory.organization_id {
            return Err(StoreError::not_found(EntityKind::Directory, &directory.id));
        }
        let mut set = WriteSet::default();
        self.demote_other_primaries(&mut set, &directory)?;
        set.put(
            DIRS,
            directory.id.as_str().as_bytes().to_vec(),
            encode(&directory)?,
        );
        Ok((set, ()))
    }

    /// Stages a planned directory write and its entries.
    fn stage_directory_plan(
        &self,
        stored: Option<&Directory>,
        planned: plan::DirectoryPlan,
    ) -> Result<(WriteSet, Directory), StoreError> {
        let mut set = WriteSet::default();
        let directory = planned.directory;
        if planned.changed {
            if stored.is_some_and(|d| !d.primary) {
                self.demote_other_primaries(&mut set, &directory)?;
            }
            set.put(
                DIRS,
                directory.id.as_str().as_bytes().to_vec(),
                encode(&directory)?,
            );
        }
        self.stage_changes(&mut set, &directory.id, planned.changes)?;
        Ok((set, directory))
    }

    pub(super) fn touch_directory(
        &self,
        id: &DirectoryId,
        at: OffsetDateTime,
    ) -> Result<(WriteSet, Directory), StoreError> {
        let stored: Option<Directory> = self.get(DIRS, id.as_str().as_bytes())?;
        let planned = plan::touch_directory(stored.as_ref(), id, at)?;
        self.stage_directory_plan(stored.as_ref(), planned)
    }

    pub(super) fn edit_directory(
        &self,
        id: &DirectoryId,
        edits: &[DirectoryEdit],
        at: OffsetDateTime,
    ) -> Result<(WriteSet, Directory), StoreError> {
        let stored: Option<Directory> = self.get(DIRS, id.as_str().as_bytes())?;
        let planned = plan::edit_directory(stored.as_ref(), id, edits, at)?;
        self.stage_directory_plan(stored.as_ref(), planned)
    }

    pub(super) fn insert_token(&self, token: TokenRecord) -> Result<(WriteSet, ()), StoreError> {
        if self.exists(TOKEN_HASH, &token.hash.0)? {
            return Err(StoreError::Conflict(UniqueAttribute::TokenHash));
        }
        if self.exists(TOKENS, token.id.as_str().as_bytes())? {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let mut set = WriteSet::default();
        set.put(
            TOKEN_HASH,
            token.hash.0.to_vec(),
            token.id.as_str().as_bytes().to_vec(),
        );
        set.put(
            TOKENS,
            token.id.as_str().as_bytes().to_vec(),
            encode(&token)?,
        );
        Ok((set, ()))
    }

    pub(super) fn delete_token_records(&self, set: &mut WriteSet, token: &TokenRecord) {
        set.delete(TOKENS, token.id.as_str().as_bytes().to_vec());
        set.delete(TOKEN_HASH, token.hash.0.to_vec());
    }
}

/// How many keys a bulk delete removes per batch: bounded memory for any directory size.
const BULK: usize = 1024;

impl View {
    /// Deletes every key of `tree` in `[start, end)` under `prefix`, in batches; returns
    /// how many. Bulk deletes are not one transaction (a directory can be any size); the
    /// callers order their steps so that a crash in between leaves nothing visible that
    /// should not be (see `trim_changes` and `purge`).
    fn delete_range(
        &self,
        tree: usize,
        prefix: &[u8],
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        let tree = self.tree(tree)?;
        let mut removed = 0;
        loop {
            let mut batch = ::sled::Batch::default();
            let mut n = 0;
            for entry in tree.range(start..) {
                let (k, _) = entry.map_err(super::codec::backend)?;
                if !k.starts_with(prefix) || end.is_some_and(|end| k.as_ref() >= end) || n == BULK {
                    break;
                }
                batch.remove(k);
                n += 1;
            }
            if n == 0 {
                return Ok(removed);
            }
            tree.apply_batch(batch).map_err(super::codec::backend)?;
            removed += n as u64;
        }
    }

    /// Under the writer lock: moves the trim point to `through` (never past the latest
    /// seq, so later entries cannot land inside it) and deletes the entries up to it.
    /// The point is stored first: after a crash between the two, the reader is told the
    /// entries are gone (they are, as far as the log promises) and the next trim removes
    /// what is left.
    pub(super) fn trim_changes(&self, dir: &DirectoryId, through: u64) -> Result<u64, StoreError> {
        let point = through.min(self.latest_seq(dir)?);
        let trimmed = self.counter(dir, meta::CHANGES_TRIMMED)?;
        if point > trimmed {
            self.tree(DIR_META)?
                .insert(
                    meta_key(dir, meta::CHANGES_TRIMMED),
                    point.to_be_bytes().to_vec(),
                )
                .map_err(super::codec::backend)?;
        }
        let prefix = prefix(&[dir.as_str().as_bytes()]);
        let end = change(dir, point.saturating_add(1));
        self.delete_range(CHANGES, &prefix, &prefix, Some(&end))
    }

    /// Under the writer lock: marks the directory as being purged and removes its record
    /// (so it is gone at once), then empties every tree of its keys, then clears the mark.
    /// [`View::resume_purges`] finishes a purge a crash interrupted.
    pub(super) fn purge(&self, dir: &DirectoryId) -> Result<(), StoreError> {
        self.require_directory(dir)?;
        let id = dir.as_str().as_bytes();
        self.tree(PURGING)?
            .insert(id, Vec::new())
            .map_err(super::codec::backend)?;
        self.finish_purge(dir)
    }

    fn finish_purge(&self, dir: &DirectoryId) -> Result<(), StoreError> {
        let id = dir.as_str().as_bytes();
        self.tree(DIRS)?.remove(id).map_err(super::codec::backend)?;
        let prefix = prefix(&[id]);
        for tree in DIRECTORY_TREES {
            self.delete_range(tree, &prefix, &prefix, None)?;
        }
        self.tree(CHANGE_SEQ)?
            .remove(id)
            .map_err(super::codec::backend)?;
        self.tree(PURGING)?
            .remove(id)
            .map_err(super::codec::backend)?;
        Ok(())
    }

    /// Finishes purges a crash interrupted (called on open, before any request).
    pub(super) fn resume_purges(&self) -> Result<(), StoreError> {
        let pending: Vec<String> = self
            .tree(PURGING)?
            .iter()
            .keys()
            .map(|k| k.map_err(super::codec::backend).and_then(|k| tail(&k)))
            .collect::<Result<_, _>>()?;
        for dir in pending {
            self.finish_purge(&parse_id(&dir)?)?;
        }
        Ok(())
    }
}
