//! The on-disk layout: which tree holds what, and how keys are built and read back.
//!
//! Keys are `\0`-joined parts, most general first, so a prefix scan reads one directory,
//! one indexed value or one group. Ids are fixed-length, time-ordered text without `\0`,
//! so the id as the last part gives id order within a prefix, and "after this id" is an
//! exclusive lower bound on `prefix ++ id`.

use std::ops::Bound;

use super::view::Source;

use super::super::{GroupKey, States, StoreError, UserKey};
use super::codec::backend;
use crate::model::{DirectoryId, UserState};
use crate::store::plan;

/// Trees, in the order transactions list them. Indexes into this are the constants below.
pub(super) const TREES: [&str; 27] = [
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
    // Format 2.
    "user_active",
    "user_visible",
    "group_live",
    "dir_meta",
    "purging",
    // Still format 2: new trees, read as empty in a database written before them (its
    // users claim no declared unique values, as if stored before the extension).
    "user_unique",
    "user_unique_of",
    // Nested groups (new trees only: format 2 still, an older database has no edges).
    "group_children",
    "group_parents",
    // Declared unique values of groups (new trees only: format 2 still, an older
    // database's groups hold none, as if stored before the extension).
    "group_unique",
    "group_unique_of",
];
/// `org_id` → Organization.
pub(super) const ORGS: usize = 0;
/// `external_id` → org_id.
pub(super) const ORG_EXT: usize = 1;
/// `dir_id` → Directory.
pub(super) const DIRS: usize = 2;
/// `dir \0 user_id` → User.
pub(super) const USERS: usize = 3;
/// `dir \0 value \0 user_id` → (), lower-cased `userName`.
pub(super) const USER_NAME: usize = 4;
/// `dir \0 value \0 user_id` → (), exact `externalId`.
pub(super) const USER_EXT: usize = 5;
/// `dir \0 value \0 user_id` → (), lower-cased `emails[].value`.
pub(super) const USER_EMAIL: usize = 6;
/// `dir \0 group_id` → Group.
pub(super) const GROUPS: usize = 7;
/// `dir \0 value \0 group_id` → (), lower-cased `displayName`.
pub(super) const GROUP_NAME: usize = 8;
/// `dir \0 value \0 group_id` → (), exact `externalId`.
pub(super) const GROUP_EXT: usize = 9;
/// `dir \0 group_id \0 user_id` → ().
pub(super) const MEMBERS: usize = 10;
/// `dir \0 user_id \0 group_id` → ().
pub(super) const MEMBER_OF: usize = 11;
/// `dir \0 seq (u64 big-endian)` → Change.
pub(super) const CHANGES: usize = 12;
/// `dir` → the latest seq (u64 big-endian); kept by trimming.
pub(super) const CHANGE_SEQ: usize = 13;
/// `token_id` → TokenRecord.
pub(super) const TOKENS: usize = 14;
/// `sha256` → token_id.
pub(super) const TOKEN_HASH: usize = 15;
/// `dir \0 user_id` → () for active users: listing and counting by state reads no
/// document.
pub(super) const USER_ACTIVE: usize = 16;
/// `dir \0 user_id` → () for users SCIM shows (active or deactivated).
pub(super) const USER_VISIBLE: usize = 17;
/// `dir \0 group_id` → () for groups that are not deleted.
pub(super) const GROUP_LIVE: usize = 18;
/// `dir \0 name` → u64 big-endian: the per-directory counters and the trim point.
pub(super) const DIR_META: usize = 19;
/// `dir` → () while a purge of that directory is under way (resumed on open).
pub(super) const PURGING: usize = 20;
/// `dir \0 attribute \0 value` → user_id: the active user holding a declared unique
/// value ([`unique_key`]).
pub(super) const USER_UNIQUE: usize = 21;
/// `dir \0 user_id` → the JSON list of the keys that user holds, to release them.
pub(super) const USER_UNIQUE_OF: usize = 22;
/// `dir \0 parent_id \0 child_id` → (): the groups nested in a group.
pub(super) const GROUP_CHILDREN: usize = 23;
/// `dir \0 child_id \0 parent_id` → (): the groups a group is nested in.
pub(super) const GROUP_PARENTS: usize = 24;
/// `dir \0 attribute \0 value` → group_id: the group (not deleted) holding a declared
/// unique value of a Group extension ([`unique_key`]); users' values are in
/// [`USER_UNIQUE`], apart.
pub(super) const GROUP_UNIQUE: usize = 25;
/// `dir \0 group_id` → the JSON list of the keys that group holds, to release them.
pub(super) const GROUP_UNIQUE_OF: usize = 26;

/// Every tree whose keys start with `dir \0`: what a purge empties.
pub(super) const DIRECTORY_TREES: [usize; 20] = [
    USERS,
    USER_NAME,
    USER_EXT,
    USER_EMAIL,
    GROUPS,
    GROUP_NAME,
    GROUP_EXT,
    MEMBERS,
    MEMBER_OF,
    CHANGES,
    USER_ACTIVE,
    USER_VISIBLE,
    GROUP_LIVE,
    DIR_META,
    USER_UNIQUE,
    USER_UNIQUE_OF,
    GROUP_CHILDREN,
    GROUP_PARENTS,
    GROUP_UNIQUE,
    GROUP_UNIQUE_OF,
];

/// Names of the per-directory counters and marks in [`DIR_META`].
pub(super) mod meta {
    pub(crate) const USERS_ACTIVE: &[u8] = b"users.active";
    pub(crate) const USERS_DEACTIVATED: &[u8] = b"users.deactivated";
    pub(crate) const USERS_DELETED: &[u8] = b"users.deleted";
    pub(crate) const GROUPS_LIVE: &[u8] = b"groups.live";
    pub(crate) const GROUPS_DELETED: &[u8] = b"groups.deleted";
    /// Change-log entries with `seq <=` this were trimmed.
    pub(crate) const CHANGES_TRIMMED: &[u8] = b"changes.trimmed";
}

/// The counter a user in `state` is counted under.
pub(super) fn user_counter(state: UserState) -> &'static [u8] {
    match state {
        UserState::Active => meta::USERS_ACTIVE,
        UserState::Deactivated => meta::USERS_DEACTIVATED,
        UserState::Deleted => meta::USERS_DELETED,
    }
}

/// The counter a group is counted under.
pub(super) fn group_counter(deleted: bool) -> &'static [u8] {
    if deleted {
        meta::GROUPS_DELETED
    } else {
        meta::GROUPS_LIVE
    }
}

/// The user counters `states` sums.
pub(super) fn user_counters(states: States) -> &'static [&'static [u8]] {
    match states {
        States::Active => &[meta::USERS_ACTIVE],
        States::Visible => &[meta::USERS_ACTIVE, meta::USERS_DEACTIVATED],
        _ => &[
            meta::USERS_ACTIVE,
            meta::USERS_DEACTIVATED,
            meta::USERS_DELETED,
        ],
    }
}

/// The group counters `states` sums.
pub(super) fn group_counters(states: States) -> &'static [&'static [u8]] {
    match states {
        States::All => &[meta::GROUPS_LIVE, meta::GROUPS_DELETED],
        _ => &[meta::GROUPS_LIVE],
    }
}

/// The state index a user in `state` belongs to (none for deleted users).
pub(super) fn user_state_trees(state: UserState) -> &'static [usize] {
    match state {
        UserState::Active => &[USER_ACTIVE, USER_VISIBLE],
        UserState::Deactivated => &[USER_VISIBLE],
        UserState::Deleted => &[],
    }
}

/// The state index `states` selects users by (`None`: every user, the users tree itself).
pub(super) fn user_state_index(states: States) -> Option<usize> {
    match states {
        States::Active => Some(USER_ACTIVE),
        States::Visible => Some(USER_VISIBLE),
        _ => None,
    }
}

/// The state index `states` selects groups by.
pub(super) fn group_state_index(states: States) -> Option<usize> {
    match states {
        States::All => None,
        _ => Some(GROUP_LIVE),
    }
}

/// `a \0 b \0 c`.
pub(super) fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}

/// `a \0 b \0`: the prefix every key under `a, b` starts with.
pub(super) fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = key(parts);
    out.push(0);
    out
}

/// `dir \0 id`.
pub(super) fn entity(dir: &DirectoryId, id: &str) -> Vec<u8> {
    key(&[dir.as_str().as_bytes(), id.as_bytes()])
}

/// `dir \0 name` in [`DIR_META`].
pub(super) fn meta_key(dir: &DirectoryId, name: &[u8]) -> Vec<u8> {
    key(&[dir.as_str().as_bytes(), name])
}

/// `dir \0 seq` in [`CHANGES`].
pub(super) fn change(dir: &DirectoryId, seq: u64) -> Vec<u8> {
    key(&[dir.as_str().as_bytes(), &seq.to_be_bytes()])
}

/// An attribute value as a key part. Values come from the IdP and may hold any byte,
/// `\0` included; escaping `\0` and `\1` keeps the part free of the separator, so
/// `dir \0 value \0` scans exactly one value (not also values it is a prefix of, like
/// `"ann"` of `"ann\0x"`) and the id stays the last part.
pub(super) fn value_part(value: &str) -> Vec<u8> {
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

/// `dir \0 attribute \0 value` in [`USER_UNIQUE`] or [`GROUP_UNIQUE`], both parts
/// escaped as values are.
pub(super) fn unique_key(dir: &DirectoryId, key: &crate::model::UniqueKey) -> Vec<u8> {
    self::key(&[
        dir.as_str().as_bytes(),
        &value_part(&key.attribute),
        &value_part(&key.value),
    ])
}

/// The index tree and key prefix (`dir \0 value \0`) of a user lookup.
pub(super) fn user_key_prefix(dir: &DirectoryId, wanted: &UserKey) -> (usize, Vec<u8>) {
    let tree = match wanted {
        UserKey::UserName(_) => USER_NAME,
        UserKey::ExternalId(_) => USER_EXT,
        UserKey::Email(_) => USER_EMAIL,
    };
    let value = value_part(&plan::user_key_value(wanted));
    (tree, prefix(&[dir.as_str().as_bytes(), &value]))
}

/// The index tree and key prefix of a group lookup.
pub(super) fn group_key_prefix(dir: &DirectoryId, wanted: &GroupKey) -> (usize, Vec<u8>) {
    let tree = match wanted {
        GroupKey::DisplayName(_) => GROUP_NAME,
        GroupKey::ExternalId(_) => GROUP_EXT,
    };
    let value = value_part(&plan::group_key_value(wanted));
    (tree, prefix(&[dir.as_str().as_bytes(), &value]))
}

/// The index entries of a user: `(tree, key)`.
pub(super) fn user_index_entries(user: &crate::model::User) -> Vec<(usize, Vec<u8>)> {
    let keys = plan::user_index_keys(user);
    let dir = user.directory_id.as_str().as_bytes();
    let id = user.id.as_str().as_bytes();
    let mut out = vec![(USER_NAME, key(&[dir, &value_part(&keys.user_name), id]))];
    if let Some(external_id) = &keys.external_id {
        out.push((USER_EXT, key(&[dir, &value_part(external_id), id])));
    }
    for email in &keys.emails {
        out.push((USER_EMAIL, key(&[dir, &value_part(email), id])));
    }
    out
}

/// The index entries of a group.
pub(super) fn group_index_entries(group: &crate::model::Group) -> Vec<(usize, Vec<u8>)> {
    let keys = plan::group_index_keys(group);
    let dir = group.directory_id.as_str().as_bytes();
    let id = group.id.as_str().as_bytes();
    let mut out = vec![(GROUP_NAME, key(&[dir, &value_part(&keys.display_name), id]))];
    if let Some(external_id) = &keys.external_id {
        out.push((GROUP_EXT, key(&[dir, &value_part(external_id), id])));
    }
    out
}

/// The range of keys under `prefix` strictly after `prefix ++ after`.
pub(super) fn after_range(prefix: &[u8], after: Option<&str>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    match after {
        Some(after) => {
            let mut start = prefix.to_vec();
            start.extend_from_slice(after.as_bytes());
            (Bound::Excluded(start), Bound::Unbounded)
        }
        None => (Bound::Included(prefix.to_vec()), Bound::Unbounded),
    }
}

/// The ids (last parts) of the keys under `prefix` after `after`, in key order, read
/// without touching values' contents.
pub(super) fn ids_after<'a>(
    source: Source<'a>,
    prefix: Vec<u8>,
    after: Option<&str>,
) -> impl Iterator<Item = Result<String, StoreError>> + 'a {
    let (start, _) = after_range(&prefix, after);
    source
        .range_from(start)
        .take_while(move |entry| match entry {
            Ok((k, _)) => k.starts_with(&prefix),
            Err(_) => true,
        })
        .map(|entry| {
            let (k, _) = entry?;
            tail(&k)
        })
}

/// The last `\0`-separated part of a key, as text.
pub(super) fn tail(key: &[u8]) -> Result<String, StoreError> {
    let part = key.rsplit(|b| *b == 0).next().unwrap_or(key);
    String::from_utf8(part.to_vec()).map_err(backend)
}

/// An id read back from a key or index; a malformed one means corrupt data.
pub(super) fn parse_id<T>(text: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(backend)
}
