//! [`SledStore`]: the persistent backend, on the embedded `sled` database.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use scimkit::store::{DirectoryStore, SledStore, TokenStore};
//!
//! let store = Arc::new(SledStore::open("./scim-data")?); // SledOpenError: locked, foreign...
//! let (directories, tokens): (Arc<dyn DirectoryStore>, Arc<dyn TokenStore>) =
//!     (store.clone(), store);
//! # Ok(()) }
//! ```
//!
//! **Atomic and durable.** Every write takes the writer lock, reads what it must check
//! (uniqueness, versions, members) and commits the entity, its index entries, membership
//! rows and change-log entries in one multi-tree transaction; it returns only after
//! `flush` has put them on disk, so an acknowledged write survives a crash (a SIGKILL
//! test holds it to that). The flush runs after the writer lock is released, so
//! concurrent writers share flushes. sled's calls block, so they run on Tokio's blocking
//! pool; [`SledStore::open`] blocks too (it replays the log), once, at start-up.
//!
//! **Layout.** One tree per kind of record. Keys are `\0`-joined parts, most general
//! first: `directory \0 user_id` for users, `directory \0 value \0 user_id` for an index
//! entry, `directory \0 group_id \0 user_id` for a membership (and the reverse), and
//! `directory \0 seq` (big-endian) for the change log. Ids are time-ordered text, so a
//! prefix scan from `prefix \0 after \0` is a keyset page in id order. Attribute values
//! are escaped so that they never contain `\0`. Values are JSON (`serde_json`, already a
//! dependency): the documents are JSON to begin with, and the format stays readable when
//! debugging a database. [`FORMAT_VERSION`] is written on first open and checked on every
//! open.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Db, Transactional, Tree};
use time::OffsetDateTime;

use super::{
    DirectoryStore, GroupKey, Keyset, MembershipEdit, StoreError, TokenStore, UniqueAttribute,
    UserKey,
};
use crate::model::{
    Change, ChangeKind, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId,
    TokenHash, TokenId, TokenRecord, TokenScope, User, UserId, UserState,
};

/// The on-disk layout version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_KEY: &[u8] = b"format_version";

/// Why a sled database could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SledOpenError {
    /// sled could not open the path: unreadable, or locked by another process.
    #[error("cannot open the sled database at {path}: {source} (is another process using it?)")]
    Open {
        /// The path given.
        path: String,
        /// sled's error.
        #[source]
        source: sled::Error,
    },
    /// The database was written by a build with another layout.
    #[error(
        "the sled database at {path} has format version {found}; this build reads version {FORMAT_VERSION}"
    )]
    FormatMismatch {
        /// The path given.
        path: String,
        /// The version found on disk.
        found: String,
    },
}

/// Trees, in the order transactions list them.
const TREES: [&str; 16] = [
    "orgs",
    "org_by_external_id",
    "directories",
    "users",
    "user_name",
    "user_external_id",
    "user_email",
    "groups",
    "group_name",
    "group_external_id",
    "members",
    "member_of",
    "changes",
    "change_seq",
    "tokens",
    "token_by_hash",
];
const ORGS: usize = 0;
const ORG_EXT: usize = 1;
const DIRS: usize = 2;
const USERS: usize = 3;
const USER_NAME: usize = 4;
const USER_EXT: usize = 5;
const USER_EMAIL: usize = 6;
const GROUPS: usize = 7;
const GROUP_NAME: usize = 8;
const GROUP_EXT: usize = 9;
const MEMBERS: usize = 10;
const MEMBER_OF: usize = 11;
const CHANGES: usize = 12;
const CHANGE_SEQ: usize = 13;
const TOKENS: usize = 14;
const TOKEN_HASH: usize = 15;

/// A raw key and value.
type Entry = (Vec<u8>, Vec<u8>);

struct Inner {
    db: Db,
    trees: Vec<Tree>,
    /// One writer at a time: a write's checks and its commit are one step.
    writer: Mutex<()>,
}

/// A [`DirectoryStore`] and [`TokenStore`] persisted with sled. Cheap to clone.
///
/// Its async methods run sled on Tokio's blocking pool, so they must be called from
/// within a Tokio runtime.
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

/// `a \0 b \0 c`: composite keys whose prefixes scan one directory, one value, ...
fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}

fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = key(parts);
    out.push(0);
    out
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(backend)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(backend)
}

/// An attribute value as a key part. Values come from the IdP and may hold any byte,
/// `\0` included; escaping `\0` and `\1` keeps the part free of the separator, so
/// `dir \0 value \0` scans exactly one value (not also values it is a prefix of, like
/// `"ann"` of `"ann\0x"`) and the id stays the last part.
fn value_part(value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            0 => out.extend_from_slice(&[1, 1]),
            1 => out.extend_from_slice(&[1, 2]),
            other => out.push(other),
        }
    }
    out
}

/// An id read back from a key or index; a malformed one means corrupt data.
fn parse_id<T>(text: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(backend)
}

/// The last `\0`-separated part of a key, as text.
fn last_part(key: &[u8]) -> Result<String, StoreError> {
    let tail = key.rsplit(|b| *b == 0).next().unwrap_or(key);
    String::from_utf8(tail.to_vec()).map_err(backend)
}

fn user_index_keys(user: &User) -> Vec<(usize, Vec<u8>)> {
    let dir = user.directory_id.as_str().as_bytes();
    let id = user.id.as_str().as_bytes();
    let mut keys = vec![(
        USER_NAME,
        key(&[dir, &value_part(&user.user_name().to_lowercase()), id]),
    )];
    if let Some(external_id) = user.external_id() {
        keys.push((USER_EXT, key(&[dir, &value_part(external_id), id])));
    }
    for email in user.email_values() {
        keys.push((
            USER_EMAIL,
            key(&[dir, &value_part(&email.to_lowercase()), id]),
        ));
    }
    keys
}

fn group_index_keys(group: &Group) -> Vec<(usize, Vec<u8>)> {
    let dir = group.directory_id.as_str().as_bytes();
    let id = group.id.as_str().as_bytes();
    let mut keys = vec![(
        GROUP_NAME,
        key(&[dir, &value_part(&group.display_name.to_lowercase()), id]),
    )];
    if let Some(external_id) = group.external_id() {
        keys.push((GROUP_EXT, key(&[dir, &value_part(external_id), id])));
    }
    keys
}

/// What a write does inside its transaction.
#[derive(Default)]
struct WriteSet {
    puts: Vec<(usize, Vec<u8>, Vec<u8>)>,
    deletes: Vec<(usize, Vec<u8>)>,
}

impl WriteSet {
    fn put(&mut self, tree: usize, key: Vec<u8>, value: Vec<u8>) {
        self.puts.push((tree, key, value));
    }
    fn delete(&mut self, tree: usize, key: Vec<u8>) {
        self.deletes.push((tree, key));
    }
}

impl SledStore {
    /// Opens (or creates) a database at `path`, writing [`FORMAT_VERSION`] into a new one.
    /// Blocks while sled replays its log. Errors rather than panics when the path is held
    /// by another process (or another handle in this one), is not a sled database, or has
    /// another format version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SledOpenError> {
        let shown = path.as_ref().display().to_string();
        let open_error = |source| SledOpenError::Open {
            path: shown.clone(),
            source,
        };
        let db = sled::open(path.as_ref()).map_err(open_error)?;
        match db.get(FORMAT_KEY).map_err(open_error)? {
            Some(found) if found.as_ref() != FORMAT_VERSION.to_string().as_bytes() => {
                return Err(SledOpenError::FormatMismatch {
                    path: shown,
                    found: String::from_utf8_lossy(&found).into_owned(),
                });
            }
            Some(_) => {}
            None => {
                db.insert(FORMAT_KEY, FORMAT_VERSION.to_string().as_bytes())
                    .map_err(open_error)?;
                db.flush().map_err(open_error)?;
            }
        }
        let trees = TREES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(open_error)?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                trees,
                writer: Mutex::new(()),
            }),
        })
    }

    /// Runs blocking sled work on Tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(backend)?
    }

    /// Under the writer lock: `plan` reads and decides, then its writes commit in one
    /// transaction; the result is returned once it is on disk.
    async fn write<T: Send + 'static>(
        &self,
        plan: impl FnOnce(&Inner) -> Result<(WriteSet, T), StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.blocking(move |inner| {
            let writer = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            let (set, out) = plan(inner)?;
            let trees: &[Tree] = &inner.trees;
            trees
                .transaction(|tx: &Vec<TransactionalTree>| {
                    for (tree, key) in &set.deletes {
                        if let Some(t) = tx.get(*tree) {
                            t.remove(key.as_slice())?;
                        }
                    }
                    for (tree, key, value) in &set.puts {
                        if let Some(t) = tx.get(*tree) {
                            t.insert(key.as_slice(), value.as_slice())?;
                        }
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                })
                .map_err(|e: TransactionError<()>| match e {
                    TransactionError::Storage(e) => backend(e),
                    TransactionError::Abort(()) => {
                        StoreError::Backend("transaction aborted".into())
                    }
                })?;
            // Flushing outside the lock lets concurrent writers share one flush. The
            // blocking `flush` rather than `flush_async`: the latter deadlocks under
            // concurrent callers in sled 0.34 (spacejam/sled#1308).
            drop(writer);
            inner.db.flush().map_err(backend)?;
            Ok(out)
        })
        .await
    }
}

impl Inner {
    fn tree(&self, index: usize) -> Result<&Tree, StoreError> {
        self.trees
            .get(index)
            .ok_or_else(|| StoreError::Backend("missing tree".into()))
    }

    fn get<T: DeserializeOwned>(&self, tree: usize, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.tree(tree)?.get(key).map_err(backend)? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    fn exists(&self, tree: usize, key: &[u8]) -> Result<bool, StoreError> {
        self.tree(tree)?.contains_key(key).map_err(backend)
    }

    /// Values of keys under `prefix` after `after` (exclusive), at most `limit`.
    fn page<T: DeserializeOwned>(
        &self,
        tree: usize,
        prefix: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        self.page_raw(tree, prefix, after, limit)?
            .iter()
            .map(|(_, v)| decode(v))
            .collect()
    }

    fn page_raw(
        &self,
        tree: usize,
        prefix: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let start = match after {
            Some(after) => {
                let mut start = prefix.to_vec();
                start.extend_from_slice(after.as_bytes());
                start.push(0);
                start
            }
            None => prefix.to_vec(),
        };
        let mut out = Vec::new();
        for entry in self.tree(tree)?.range(start..) {
            let (k, v) = entry.map_err(backend)?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// The last parts of keys under `prefix`: ids in an index or relation.
    fn ids_under(
        &self,
        tree: usize,
        prefix: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.page_raw(tree, prefix, after, limit)?
            .iter()
            .map(|(k, _)| last_part(k))
            .collect()
    }

    fn require_directory(&self, dir: &DirectoryId) -> Result<(), StoreError> {
        if self.exists(DIRS, dir.as_str().as_bytes())? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("directory {dir}")))
        }
    }

    fn user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(
            USERS,
            &key(&[dir.as_str().as_bytes(), id.as_str().as_bytes()]),
        )
    }

    fn group(&self, dir: &DirectoryId, id: &GroupId) -> Result<Option<Group>, StoreError> {
        self.get(
            GROUPS,
            &key(&[dir.as_str().as_bytes(), id.as_str().as_bytes()]),
        )
    }

    fn check_user_name_free(&self, user: &User) -> Result<(), StoreError> {
        if user.state != UserState::Active {
            return Ok(());
        }
        let dir = user.directory_id.as_str().as_bytes();
        let holders = self.ids_under(
            USER_NAME,
            &prefix(&[dir, &value_part(&user.user_name().to_lowercase())]),
            None,
            usize::MAX,
        )?;
        for holder in holders {
            let id: UserId = parse_id(&holder)?;
            if id == user.id {
                continue;
            }
            if self
                .user(&user.directory_id, &id)?
                .is_some_and(|u| u.state == UserState::Active)
            {
                return Err(StoreError::Conflict(UniqueAttribute::UserName));
            }
        }
        Ok(())
    }

    /// Appends change-log entries for `dir`, numbering them after the stored counter.
    fn record(
        &self,
        set: &mut WriteSet,
        dir: &DirectoryId,
        entries: Vec<(ChangeKind, String, Option<UserId>)>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let dir_key = dir.as_str().as_bytes();
        let mut seq = match self.tree(CHANGE_SEQ)?.get(dir_key).map_err(backend)? {
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Backend("corrupt sequence".into()))?,
            ),
            None => 0,
        };
        for (kind, resource_id, member_id) in entries {
            seq += 1;
            let change = Change {
                seq,
                directory_id: dir.clone(),
                kind,
                resource_id,
                member_id,
                at,
            };
            set.put(
                CHANGES,
                key(&[dir_key, &seq.to_be_bytes()]),
                encode(&change)?,
            );
        }
        set.put(CHANGE_SEQ, dir_key.to_vec(), seq.to_be_bytes().to_vec());
        Ok(())
    }

    /// Plans membership edits against the stored relation; returns the change entries.
    fn plan_edits(
        &self,
        set: &mut WriteSet,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
    ) -> Result<Vec<(ChangeKind, String, Option<UserId>)>, StoreError> {
        let d = dir.as_str().as_bytes();
        let g = group.as_str().as_bytes();
        let mut members: std::collections::BTreeSet<String> = self
            .ids_under(MEMBERS, &prefix(&[d, g]), None, usize::MAX)?
            .into_iter()
            .collect();
        let original = members.clone();
        let mut entries = Vec::new();
        for edit in edits {
            match edit {
                MembershipEdit::Add(user) => {
                    if self.user(dir, user)?.is_none() {
                        return Err(StoreError::NotFound(format!("user {user}")));
                    }
                    if members.insert(user.to_string()) {
                        entries.push((
                            ChangeKind::GroupMemberAdded,
                            group.to_string(),
                            Some(user.clone()),
                        ));
                    }
                }
                MembershipEdit::Remove(user) => {
                    if members.remove(user.as_str()) {
                        entries.push((
                            ChangeKind::GroupMemberRemoved,
                            group.to_string(),
                            Some(user.clone()),
                        ));
                    }
                }
                MembershipEdit::RemoveAll => {
                    for user in std::mem::take(&mut members) {
                        let id: UserId = parse_id(&user)?;
                        entries.push((ChangeKind::GroupMemberRemoved, group.to_string(), Some(id)));
                    }
                }
            }
        }
        for gone in original.difference(&members) {
            set.delete(MEMBERS, key(&[d, g, gone.as_bytes()]));
            set.delete(MEMBER_OF, key(&[d, gone.as_bytes(), g]));
        }
        for new in members.difference(&original) {
            set.put(MEMBERS, key(&[d, g, new.as_bytes()]), Vec::new());
            set.put(MEMBER_OF, key(&[d, new.as_bytes(), g]), Vec::new());
        }
        Ok(entries)
    }
}

fn put_user(set: &mut WriteSet, old: Option<&User>, user: &User) -> Result<(), StoreError> {
    if let Some(old) = old {
        for (tree, k) in user_index_keys(old) {
            set.delete(tree, k);
        }
    }
    for (tree, k) in user_index_keys(user) {
        set.put(tree, k, Vec::new());
    }
    set.put(
        USERS,
        key(&[
            user.directory_id.as_str().as_bytes(),
            user.id.as_str().as_bytes(),
        ]),
        encode(user)?,
    );
    Ok(())
}

fn put_group(set: &mut WriteSet, old: Option<&Group>, group: &Group) -> Result<(), StoreError> {
    if let Some(old) = old {
        for (tree, k) in group_index_keys(old) {
            set.delete(tree, k);
        }
    }
    for (tree, k) in group_index_keys(group) {
        set.put(tree, k, Vec::new());
    }
    set.put(
        GROUPS,
        key(&[
            group.directory_id.as_str().as_bytes(),
            group.id.as_str().as_bytes(),
        ]),
        encode(group)?,
    );
    Ok(())
}

#[async_trait]
impl DirectoryStore for SledStore {
    async fn insert_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.write(move |inner| {
            if inner.exists(ORGS, org.id.as_str().as_bytes())? {
                return Err(StoreError::Conflict(UniqueAttribute::Id));
            }
            let mut set = WriteSet::default();
            if let Some(external_id) = &org.external_id {
                if inner.exists(ORG_EXT, external_id.as_bytes())? {
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
        })
        .await
    }

    async fn update_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.write(move |inner| {
            let old: Organization = inner
                .get(ORGS, org.id.as_str().as_bytes())?
                .ok_or_else(|| StoreError::NotFound(format!("organization {}", org.id)))?;
            let mut set = WriteSet::default();
            if let Some(external_id) = &org.external_id {
                match inner
                    .tree(ORG_EXT)?
                    .get(external_id.as_bytes())
                    .map_err(backend)?
                {
                    Some(holder) if holder.as_ref() != org.id.as_str().as_bytes() => {
                        return Err(StoreError::Conflict(
                            UniqueAttribute::OrganizationExternalId,
                        ));
                    }
                    _ => {}
                }
            }
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
        })
        .await
    }

    async fn get_organization(
        &self,
        id: &OrganizationId,
    ) -> Result<Option<Organization>, StoreError> {
        let id = id.clone();
        self.blocking(move |inner| inner.get(ORGS, id.as_str().as_bytes()))
            .await
    }

    async fn find_organization(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, StoreError> {
        let external_id = external_id.to_owned();
        self.blocking(move |inner| {
            match inner
                .tree(ORG_EXT)?
                .get(external_id.as_bytes())
                .map_err(backend)?
            {
                Some(id) => inner.get(ORGS, &id),
                None => Ok(None),
            }
        })
        .await
    }

    async fn list_organizations(
        &self,
        page: Keyset<'_, OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        let after = page.after.map(|a| a.to_string());
        let limit = page.limit;
        self.blocking(move |inner| {
            let start = after
                .map(|a| {
                    let mut s = a.into_bytes();
                    s.push(0);
                    s
                })
                .unwrap_or_default();
            let mut out = Vec::new();
            for entry in inner.tree(ORGS)?.range(start..).take(limit) {
                let (_, v) = entry.map_err(backend)?;
                out.push(decode(&v)?);
            }
            Ok(out)
        })
        .await
    }

    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.write(move |inner| {
            if !inner.exists(ORGS, directory.organization_id.as_str().as_bytes())? {
                return Err(StoreError::NotFound(format!(
                    "organization {}",
                    directory.organization_id
                )));
            }
            if inner.exists(DIRS, directory.id.as_str().as_bytes())? {
                return Err(StoreError::Conflict(UniqueAttribute::Id));
            }
            let mut set = WriteSet::default();
            demote_other_primaries(inner, &mut set, &directory)?;
            set.put(
                DIRS,
                directory.id.as_str().as_bytes().to_vec(),
                encode(&directory)?,
            );
            Ok((set, ()))
        })
        .await
    }

    async fn update_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.write(move |inner| {
            let old: Directory = inner
                .get(DIRS, directory.id.as_str().as_bytes())?
                .ok_or_else(|| StoreError::NotFound(format!("directory {}", directory.id)))?;
            if old.organization_id != directory.organization_id {
                return Err(StoreError::NotFound(format!(
                    "directory {} in organization {}",
                    directory.id, directory.organization_id
                )));
            }
            let mut set = WriteSet::default();
            demote_other_primaries(inner, &mut set, &directory)?;
            set.put(
                DIRS,
                directory.id.as_str().as_bytes().to_vec(),
                encode(&directory)?,
            );
            Ok((set, ()))
        })
        .await
    }

    async fn get_directory(&self, id: &DirectoryId) -> Result<Option<Directory>, StoreError> {
        let id = id.clone();
        self.blocking(move |inner| inner.get(DIRS, id.as_str().as_bytes()))
            .await
    }

    async fn list_directories(&self, org: &OrganizationId) -> Result<Vec<Directory>, StoreError> {
        let org = org.clone();
        self.blocking(move |inner| {
            all_directories(inner)
                .map(|d| d.into_iter().filter(|d| d.organization_id == org).collect())
        })
        .await
    }

    async fn insert_user(&self, mut user: User) -> Result<User, StoreError> {
        self.write(move |inner| {
            inner.require_directory(&user.directory_id)?;
            if inner.user(&user.directory_id, &user.id)?.is_some() {
                return Err(StoreError::Conflict(UniqueAttribute::Id));
            }
            inner.check_user_name_free(&user)?;
            user.meta.version = 1;
            let mut set = WriteSet::default();
            put_user(&mut set, None, &user)?;
            inner.record(
                &mut set,
                &user.directory_id,
                vec![(ChangeKind::UserCreated, user.id.to_string(), None)],
                user.meta.last_modified,
            )?;
            Ok((set, user))
        })
        .await
    }

    async fn update_user(&self, mut user: User, expected_version: u64) -> Result<User, StoreError> {
        self.write(move |inner| {
            let old = inner
                .user(&user.directory_id, &user.id)?
                .ok_or_else(|| StoreError::NotFound(format!("user {}", user.id)))?;
            if old.meta.version != expected_version {
                return Err(StoreError::Precondition {
                    expected: expected_version,
                    actual: old.meta.version,
                });
            }
            inner.check_user_name_free(&user)?;
            user.meta.version = expected_version + 1;
            let mut set = WriteSet::default();
            put_user(&mut set, Some(&old), &user)?;
            let kind = ChangeKind::for_user(Some(old.state), user.state);
            inner.record(
                &mut set,
                &user.directory_id,
                vec![(kind, user.id.to_string(), None)],
                user.meta.last_modified,
            )?;
            Ok((set, user))
        })
        .await
    }

    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        let (dir, id) = (dir.clone(), id.clone());
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            inner.user(&dir, &id)
        })
        .await
    }

    async fn find_users(&self, dir: &DirectoryId, key_: &UserKey) -> Result<Vec<User>, StoreError> {
        let (dir, wanted) = (dir.clone(), key_.clone());
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            let (tree, value) = match &wanted {
                UserKey::UserName(v) => (USER_NAME, v.to_lowercase()),
                UserKey::ExternalId(v) => (USER_EXT, v.clone()),
                UserKey::Email(v) => (USER_EMAIL, v.to_lowercase()),
            };
            let mut out = Vec::new();
            for id in inner.ids_under(
                tree,
                &prefix(&[dir.as_str().as_bytes(), &value_part(&value)]),
                None,
                usize::MAX,
            )? {
                let id: UserId = parse_id(&id)?;
                if let Some(user) = inner.user(&dir, &id)? {
                    // The document decides: an index entry it contradicts is stale.
                    let matches = match &wanted {
                        UserKey::UserName(v) => user.user_name().to_lowercase() == v.to_lowercase(),
                        UserKey::ExternalId(v) => user.external_id() == Some(v.as_str()),
                        UserKey::Email(v) => user
                            .email_values()
                            .any(|e| e.to_lowercase() == v.to_lowercase()),
                    };
                    if matches {
                        out.push(user);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_users(
        &self,
        dir: &DirectoryId,
        group: Option<&GroupId>,
        page: Keyset<'_, UserId>,
    ) -> Result<Vec<User>, StoreError> {
        let (dir, group, after, limit) = (
            dir.clone(),
            group.cloned(),
            page.after.map(|a| a.to_string()),
            page.limit,
        );
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            let d = dir.as_str().as_bytes();
            match group {
                None => inner.page(USERS, &prefix(&[d]), after.as_deref(), limit),
                Some(group) => {
                    let mut out = Vec::new();
                    for id in inner.ids_under(
                        MEMBERS,
                        &prefix(&[d, group.as_str().as_bytes()]),
                        after.as_deref(),
                        limit,
                    )? {
                        let id: UserId = parse_id(&id)?;
                        if let Some(user) = inner.user(&dir, &id)? {
                            out.push(user);
                        }
                    }
                    Ok(out)
                }
            }
        })
        .await
    }

    async fn insert_group(
        &self,
        mut group: Group,
        members: &[UserId],
    ) -> Result<Group, StoreError> {
        let members = members.to_vec();
        self.write(move |inner| {
            inner.require_directory(&group.directory_id)?;
            if inner.group(&group.directory_id, &group.id)?.is_some() {
                return Err(StoreError::Conflict(UniqueAttribute::Id));
            }
            group.meta.version = 1;
            let mut set = WriteSet::default();
            put_group(&mut set, None, &group)?;
            let edits: Vec<MembershipEdit> = members.into_iter().map(MembershipEdit::Add).collect();
            let mut entries = vec![(ChangeKind::GroupCreated, group.id.to_string(), None)];
            entries.extend(inner.plan_edits(&mut set, &group.directory_id, &group.id, &edits)?);
            inner.record(
                &mut set,
                &group.directory_id,
                entries,
                group.meta.last_modified,
            )?;
            Ok((set, group))
        })
        .await
    }

    async fn update_group(
        &self,
        mut group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError> {
        let edits = edits.to_vec();
        self.write(move |inner| {
            let old = inner
                .group(&group.directory_id, &group.id)?
                .ok_or_else(|| StoreError::NotFound(format!("group {}", group.id)))?;
            if old.meta.version != expected_version {
                return Err(StoreError::Precondition {
                    expected: expected_version,
                    actual: old.meta.version,
                });
            }
            group.meta.version = expected_version + 1;
            let mut set = WriteSet::default();
            let mut entries = vec![(
                ChangeKind::for_group(Some(old.deleted), group.deleted),
                group.id.to_string(),
                None,
            )];
            entries.extend(inner.plan_edits(&mut set, &group.directory_id, &group.id, &edits)?);
            put_group(&mut set, Some(&old), &group)?;
            inner.record(
                &mut set,
                &group.directory_id,
                entries,
                group.meta.last_modified,
            )?;
            Ok((set, group))
        })
        .await
    }

    async fn edit_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<Group, StoreError> {
        let (dir, group_id, edits) = (dir.clone(), group.clone(), edits.to_vec());
        self.write(move |inner| {
            inner.require_directory(&dir)?;
            let mut group = inner
                .group(&dir, &group_id)?
                .filter(|g| !g.deleted)
                .ok_or_else(|| StoreError::NotFound(format!("group {group_id}")))?;
            let mut set = WriteSet::default();
            let entries = inner.plan_edits(&mut set, &dir, &group_id, &edits)?;
            if !entries.is_empty() {
                let old = group.clone();
                group.meta.version += 1;
                group.meta.last_modified = at;
                put_group(&mut set, Some(&old), &group)?;
                inner.record(&mut set, &dir, entries, at)?;
            }
            Ok((set, group))
        })
        .await
    }

    async fn get_group(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        let (dir, id) = (dir.clone(), id.clone());
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            inner.group(&dir, &id)
        })
        .await
    }

    async fn find_groups(
        &self,
        dir: &DirectoryId,
        wanted: &GroupKey,
    ) -> Result<Vec<Group>, StoreError> {
        let (dir, wanted) = (dir.clone(), wanted.clone());
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            let (tree, value) = match &wanted {
                GroupKey::DisplayName(v) => (GROUP_NAME, v.to_lowercase()),
                GroupKey::ExternalId(v) => (GROUP_EXT, v.clone()),
            };
            let mut out = Vec::new();
            for id in inner.ids_under(
                tree,
                &prefix(&[dir.as_str().as_bytes(), &value_part(&value)]),
                None,
                usize::MAX,
            )? {
                let id: GroupId = parse_id(&id)?;
                if let Some(group) = inner.group(&dir, &id)? {
                    let matches = match &wanted {
                        GroupKey::DisplayName(v) => {
                            group.display_name.to_lowercase() == v.to_lowercase()
                        }
                        GroupKey::ExternalId(v) => group.external_id() == Some(v.as_str()),
                    };
                    if matches {
                        out.push(group);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_groups(
        &self,
        dir: &DirectoryId,
        page: Keyset<'_, GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        let (dir, after, limit) = (dir.clone(), page.after.map(|a| a.to_string()), page.limit);
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            inner.page(
                GROUPS,
                &prefix(&[dir.as_str().as_bytes()]),
                after.as_deref(),
                limit,
            )
        })
        .await
    }

    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        page: Keyset<'_, UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        let (dir, group, after, limit) = (
            dir.clone(),
            group.clone(),
            page.after.map(|a| a.to_string()),
            page.limit,
        );
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            inner
                .ids_under(
                    MEMBERS,
                    &prefix(&[dir.as_str().as_bytes(), group.as_str().as_bytes()]),
                    after.as_deref(),
                    limit,
                )?
                .into_iter()
                .map(|id| parse_id(&id))
                .collect()
        })
        .await
    }

    async fn list_groups_of_user(
        &self,
        dir: &DirectoryId,
        user: &UserId,
        page: Keyset<'_, GroupId>,
    ) -> Result<Vec<GroupId>, StoreError> {
        let (dir, user, after, limit) = (
            dir.clone(),
            user.clone(),
            page.after.map(|a| a.to_string()),
            page.limit,
        );
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            inner
                .ids_under(
                    MEMBER_OF,
                    &prefix(&[dir.as_str().as_bytes(), user.as_str().as_bytes()]),
                    after.as_deref(),
                    limit,
                )?
                .into_iter()
                .map(|id| parse_id(&id))
                .collect()
        })
        .await
    }

    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let dir = dir.clone();
        self.blocking(move |inner| {
            inner.require_directory(&dir)?;
            let d = dir.as_str().as_bytes();
            let start = key(&[d, &(after.saturating_add(1)).to_be_bytes()]);
            let p = prefix(&[d]);
            let mut out = Vec::new();
            for entry in inner.tree(CHANGES)?.range(start..) {
                let (k, v) = entry.map_err(backend)?;
                if !k.starts_with(&p) || out.len() >= limit {
                    break;
                }
                out.push(decode(&v)?);
            }
            Ok(out)
        })
        .await
    }
}

fn all_directories(inner: &Inner) -> Result<Vec<Directory>, StoreError> {
    inner
        .tree(DIRS)?
        .iter()
        .map(|entry| {
            let (_, v) = entry.map_err(backend)?;
            decode(&v)
        })
        .collect()
}

fn demote_other_primaries(
    inner: &Inner,
    set: &mut WriteSet,
    directory: &Directory,
) -> Result<(), StoreError> {
    if !directory.primary {
        return Ok(());
    }
    for mut other in all_directories(inner)? {
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

#[async_trait]
impl TokenStore for SledStore {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        self.write(move |inner| {
            if inner.exists(TOKEN_HASH, &token.hash.0)? {
                return Err(StoreError::Conflict(UniqueAttribute::TokenHash));
            }
            if inner.exists(TOKENS, token.id.as_str().as_bytes())? {
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
        })
        .await
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let hash = *hash;
        self.blocking(move |inner| {
            let Some(id) = inner.tree(TOKEN_HASH)?.get(hash.0).map_err(backend)? else {
                return Ok(None);
            };
            let token: Option<TokenRecord> = inner.get(TOKENS, &id)?;
            Ok(token.filter(|t| t.hash.constant_time_eq(&hash)))
        })
        .await
    }

    async fn list_tokens(&self, scope: &TokenScope) -> Result<Vec<TokenRecord>, StoreError> {
        let scope = scope.clone();
        self.blocking(move |inner| {
            let mut out = Vec::new();
            for entry in inner.tree(TOKENS)?.iter() {
                let (_, v) = entry.map_err(backend)?;
                let token: TokenRecord = decode(&v)?;
                if token.scope == scope {
                    out.push(token);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<(), StoreError> {
        let id = id.clone();
        self.write(move |inner| {
            let token: TokenRecord = inner
                .get(TOKENS, id.as_str().as_bytes())?
                .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
            let mut set = WriteSet::default();
            set.delete(TOKENS, id.as_str().as_bytes().to_vec());
            set.delete(TOKEN_HASH, token.hash.0.to_vec());
            Ok((set, ()))
        })
        .await
    }
}
