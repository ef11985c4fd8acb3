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
//! **Atomic and durable.** Every write, under the writer lock, reads what the write
//! planner ([`crate::store::plan`]) needs and commits the entity, its index entries,
//! state indexes, counters, membership rows and change-log entries in one multi-tree
//! transaction, shared with the other writes queued at the time (each planned as if the
//! ones before it had committed); it returns only once a flush that began after its
//! commit has put it on disk, so an acknowledged write survives a crash (a SIGKILL test
//! holds it to that). Concurrent writers share transactions and flushes (`commit.rs`). sled's calls block, so
//! they run on Tokio's blocking pool; [`SledStore::open`] blocks too (it replays the log,
//! and migrates an older format), once, at start-up.
//!
//! **Layout** (`keys.rs`). One tree per kind of record, keys `\0`-joined, most general
//! part first; ids last, so a prefix scan is a keyset page in id order. Listing by state
//! and counting read state indexes and counters, never documents (`reads.rs` gives the
//! cost of each call). Values are JSON (`codec.rs`). [`FORMAT_VERSION`] is written on
//! first open and checked on every open; format 1 is migrated in place (`migrate.rs`).

mod codec;
mod commit;
mod keys;
mod migrate;
mod nesting;
mod reads;
#[cfg(test)]
mod tests;
mod unique;
mod view;
mod webhooks;
mod writes;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use self::codec::backend;
use self::commit::Committer;
use self::keys::*;
use self::view::View;
use super::{
    DirectoryEdit, DirectoryStore, EntityKind, GroupFilter, GroupMember, Keyset, MembershipEdit,
    States, StoreError, TokenStore, UserFilter, UserGroup,
};
use crate::model::{
    Change, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId, TokenHash,
    TokenId, TokenRecord, TokenScope, User, UserId,
};

/// The on-disk layout version this build reads and writes. Version 1 (scimkit before the
/// store contract v2) is migrated on open.
pub const FORMAT_VERSION: u32 = 2;
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
        source: ::sled::Error,
    },
    /// The database was written by a build with a layout this one cannot read.
    #[error(
        "the sled database at {path} has format version {found}; this build reads versions 1 and {FORMAT_VERSION}"
    )]
    FormatMismatch {
        /// The path given.
        path: String,
        /// The version found on disk.
        found: String,
    },
    /// Migrating an older format, or finishing an interrupted purge, failed; the database
    /// is left as it was found, and opening again retries.
    #[error("cannot upgrade the sled database at {path} from format version {from}: {source}")]
    Upgrade {
        /// The path given.
        path: String,
        /// The version found on disk.
        from: u32,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

struct Inner {
    /// The committed database, as reads see it.
    view: View,
    commit: Committer,
}

impl std::ops::Deref for Inner {
    type Target = View;

    fn deref(&self) -> &View {
        &self.view
    }
}

/// A [`DirectoryStore`] and [`TokenStore`] persisted with sled. Cheap to clone.
///
/// Its async methods run sled on Tokio's blocking pool, so they must be called from
/// within a Tokio runtime.
///
/// # Costs
/// - `list_users` / `list_groups`: the keys passed over plus one document per returned
///   row. Keys come from the attribute index when the filter has a `key`, else the
///   membership relation (`group` / `member`), else a state index (`Visible`, `Active`),
///   else the documents themselves (`All`). `Keyset::skip` passes over that many keys
///   without decoding documents (with a `key` or relation, one state lookup each).
/// - `count_users` / `count_groups`: O(1) from per-directory counters without `key`,
///   `group` or `member`; otherwise one pass over that index's entries for the value or
///   group (one state lookup each unless `States::All`).
/// - `list_members`: the membership keys, plus one state lookup each unless
///   `States::All`. `members_of_groups`: the same per group, plus its member-group keys
///   and one document read per member group. `groups_of_users`: the memberships of the users, one read per
///   distinct group, plus the nesting edges above their groups (ancestors, up to
///   [`SledStore::with_max_group_depth`] levels).
/// - Group writes that add a member group walk the edges above the parent and below the
///   child (bounded by the depth limit); with a role mapping, a write that can change
///   roles reads the users below the edited group (see the trait's "Nested groups").
/// - `latest_change_seq`: one read. `trim_changes`: the trimmed entries.
///   `purge_directory`: every key of the directory, deleted in batches.
/// - Writes: the planner's reads (the entity, holders of the `userName`, the memberships
///   the edits name; every member only for `RemoveAll`) and one transaction.
/// - `list_directories`, `list_tokens`, `delete_tokens` read every directory or token
///   (there are few).
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (or creates) a database at `path`, writing [`FORMAT_VERSION`] into a new one
    /// and migrating a format-1 one. Blocks while sled replays its log. Errors rather than
    /// panics when the path is held by another process (or another handle in this one),
    /// is not a sled database, or has an unknown format version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SledOpenError> {
        Self::open_path(path.as_ref())
    }

    fn open_path(path: &Path) -> Result<Self, SledOpenError> {
        let shown = path.display().to_string();
        let open_error = |source| SledOpenError::Open {
            path: shown.clone(),
            source,
        };
        let db = open_waiting_for_lock(path).map_err(open_error)?;
        let trees = TREES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(open_error)?;
        let found = db.get(FORMAT_KEY).map_err(open_error)?;
        let from = match found.as_deref() {
            None => FORMAT_VERSION,
            Some(b"1") => 1,
            Some(b"2") => 2,
            Some(other) => {
                return Err(SledOpenError::FormatMismatch {
                    path: shown,
                    found: String::from_utf8_lossy(other).into_owned(),
                });
            }
        };
        let upgrade_error =
            |source: Box<dyn std::error::Error + Send + Sync>| SledOpenError::Upgrade {
                path: shown.clone(),
                from,
                source,
            };
        if from == 1 {
            migrate::v1_to_v2(&trees).map_err(|e| upgrade_error(Box::new(e)))?;
        }
        if found.as_deref() != Some(FORMAT_VERSION.to_string().as_bytes()) {
            // Last, so an interrupted migration is retried from the start.
            db.insert(FORMAT_KEY, FORMAT_VERSION.to_string().as_bytes())
                .map_err(open_error)?;
            db.flush().map_err(open_error)?;
        }
        let inner = Inner {
            view: View::new(db, trees),
            commit: Committer::default(),
        };
        inner
            .resume_purges()
            .and_then(|()| inner.db.flush().map(drop).map_err(backend))
            .map_err(|e| upgrade_error(Box::new(e)))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The store with at most `levels` levels of group-in-group nesting (default
    /// [`DEFAULT_MAX_GROUP_DEPTH`]): a member group that would make a longer chain is
    /// refused ([`NestingRefusal::TooDeep`]), and roles resolve through at most that many
    /// levels. The setting is not stored in the database; clones share it, so set it
    /// right after [`open`](Self::open), with the same value on every start.
    ///
    /// [`DEFAULT_MAX_GROUP_DEPTH`]: crate::store::plan::DEFAULT_MAX_GROUP_DEPTH
    /// [`NestingRefusal::TooDeep`]: crate::store::plan::NestingRefusal::TooDeep
    #[must_use]
    pub fn with_max_group_depth(self, levels: usize) -> Self {
        self.inner.set_max_group_depth(levels);
        self
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
}

#[async_trait]
impl DirectoryStore for SledStore {
    async fn insert_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.blocking(move |inner| inner.write(move |i| i.insert_organization(org)))
            .await
    }

    async fn update_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.blocking(move |inner| inner.write(move |i| i.update_organization(org)))
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
        page: Keyset<OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        self.blocking(move |inner| inner.list_organizations(&page))
            .await
    }

    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.blocking(move |inner| inner.write(move |i| i.insert_directory(directory)))
            .await
    }

    async fn update_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.blocking(move |inner| inner.write(move |i| i.update_directory(directory)))
            .await
    }

    async fn touch_directory(
        &self,
        id: &DirectoryId,
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        let id = id.clone();
        self.blocking(move |inner| inner.write(move |i| i.touch_directory(&id, at)))
            .await
    }

    async fn edit_directory(
        &self,
        id: &DirectoryId,
        edits: &[DirectoryEdit],
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        let (id, edits) = (id.clone(), edits.to_vec());
        self.blocking(move |inner| inner.write(move |i| i.edit_directory(&id, &edits, at)))
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
            Ok(inner
                .all_directories()?
                .into_iter()
                .filter(|d| d.organization_id == org)
                .collect())
        })
        .await
    }

    async fn purge_directory(&self, id: &DirectoryId) -> Result<(), StoreError> {
        let id = id.clone();
        self.blocking(move |inner| inner.exclusive(|i| i.purge(&id)))
            .await
    }

    async fn insert_user(&self, user: User) -> Result<User, StoreError> {
        self.blocking(move |inner| inner.write(move |i| i.insert_user(user)))
            .await
    }

    async fn update_user(&self, user: User, expected_version: u64) -> Result<User, StoreError> {
        self.blocking(move |inner| inner.write(move |i| i.update_user(user, expected_version)))
            .await
    }

    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        let (dir, id) = (dir.clone(), id.clone());
        self.blocking(move |inner| inner.user(&dir, &id)).await
    }

    async fn get_users(&self, dir: &DirectoryId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let (dir, ids) = (dir.clone(), ids.to_vec());
        self.blocking(move |inner| {
            inner.get_many(USERS, &dir, ids.iter().map(UserId::as_str).collect())
        })
        .await
    }

    async fn list_users(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<User>, StoreError> {
        let (dir, filter) = (dir.clone(), filter.clone());
        self.blocking(move |inner| inner.list_users(&dir, &filter, &page))
            .await
    }

    async fn count_users(&self, dir: &DirectoryId, filter: &UserFilter) -> Result<u64, StoreError> {
        let (dir, filter) = (dir.clone(), filter.clone());
        self.blocking(move |inner| inner.count_users(&dir, &filter))
            .await
    }

    async fn insert_group(
        &self,
        group: Group,
        members: &[UserId],
        member_groups: &[GroupId],
    ) -> Result<Group, StoreError> {
        let (members, member_groups) = (members.to_vec(), member_groups.to_vec());
        self.blocking(move |inner| {
            inner.write(move |i| i.insert_group(group, &members, &member_groups))
        })
        .await
    }

    async fn update_group(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError> {
        let edits = edits.to_vec();
        self.blocking(move |inner| {
            inner.write(move |i| i.update_group(group, expected_version, &edits))
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
        let (dir, group, edits) = (dir.clone(), group.clone(), edits.to_vec());
        self.blocking(move |inner| inner.write(move |i| i.edit_members(&dir, &group, &edits, at)))
            .await
    }

    async fn get_group(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        let (dir, id) = (dir.clone(), id.clone());
        self.blocking(move |inner| inner.group(&dir, &id)).await
    }

    async fn get_groups(
        &self,
        dir: &DirectoryId,
        ids: &[GroupId],
    ) -> Result<Vec<Group>, StoreError> {
        let (dir, ids) = (dir.clone(), ids.to_vec());
        self.blocking(move |inner| {
            inner.get_many(GROUPS, &dir, ids.iter().map(GroupId::as_str).collect())
        })
        .await
    }

    async fn list_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
        page: Keyset<GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        let (dir, filter) = (dir.clone(), filter.clone());
        self.blocking(move |inner| inner.list_groups(&dir, &filter, &page))
            .await
    }

    async fn count_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
    ) -> Result<u64, StoreError> {
        let (dir, filter) = (dir.clone(), filter.clone());
        self.blocking(move |inner| inner.count_groups(&dir, &filter))
            .await
    }

    async fn groups_of_users(
        &self,
        dir: &DirectoryId,
        users: &[UserId],
    ) -> Result<Vec<UserGroup>, StoreError> {
        let (dir, users) = (dir.clone(), users.to_vec());
        self.blocking(move |inner| inner.groups_of_users(&dir, users.iter().collect()))
            .await
    }

    async fn members_of_groups(
        &self,
        dir: &DirectoryId,
        groups: &[GroupId],
        states: States,
    ) -> Result<Vec<GroupMember>, StoreError> {
        let (dir, groups) = (dir.clone(), groups.to_vec());
        self.blocking(move |inner| inner.members_of_groups(&dir, groups.iter().collect(), states))
            .await
    }

    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        let (dir, group) = (dir.clone(), group.clone());
        self.blocking(move |inner| inner.list_members(&dir, &group, states, &page))
            .await
    }

    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let dir = dir.clone();
        self.blocking(move |inner| inner.list_changes(&dir, after, limit))
            .await
    }

    async fn latest_change_seq(&self, dir: &DirectoryId) -> Result<u64, StoreError> {
        let dir = dir.clone();
        self.blocking(move |inner| inner.latest_seq(&dir)).await
    }

    async fn trim_changes(&self, dir: &DirectoryId, through: u64) -> Result<u64, StoreError> {
        let dir = dir.clone();
        self.blocking(move |inner| inner.exclusive(|i| i.trim_changes(&dir, through)))
            .await
    }
}

#[async_trait]
impl TokenStore for SledStore {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        self.blocking(move |inner| inner.write(move |i| i.insert_token(token)))
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
        self.blocking(move |inner| inner.tokens_with(&scope)).await
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<(), StoreError> {
        let id = id.clone();
        self.blocking(move |inner| {
            inner.write(move |i| {
                let token: TokenRecord = i
                    .get(TOKENS, id.as_str().as_bytes())?
                    .ok_or_else(|| StoreError::not_found(EntityKind::Token, &id))?;
                let mut set = writes::WriteSet::default();
                i.delete_token_records(&mut set, &token);
                Ok((set, ()))
            })
        })
        .await
    }

    async fn delete_tokens(&self, scope: &TokenScope) -> Result<u64, StoreError> {
        let scope = scope.clone();
        self.blocking(move |inner| {
            inner.write(move |i| {
                let tokens = i.tokens_with(&scope)?;
                let mut set = writes::WriteSet::default();
                for token in &tokens {
                    i.delete_token_records(&mut set, token);
                }
                Ok((set, tokens.len() as u64))
            })
        })
        .await
    }
}

/// Opens the database, waiting up to a second for its file lock: sled's background
/// threads release it shortly after the previous `Db` in this process is dropped, so a
/// store reopened right after being dropped (a restart in-process, a test) would otherwise
/// fail with `WouldBlock`.
fn open_waiting_for_lock(path: &Path) -> Result<::sled::Db, ::sled::Error> {
    let mut attempts = 0;
    loop {
        match ::sled::open(path) {
            Err(::sled::Error::Io(error)) if attempts < 40 && is_lock_contention(&error) => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

fn is_lock_contention(error: &std::io::Error) -> bool {
    // sled 0.34 reports a held lock as `Other` with only a message to go by.
    error.kind() == std::io::ErrorKind::WouldBlock
        || error.to_string().contains("could not acquire lock")
}
