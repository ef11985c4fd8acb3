//! Row decoding, dynamic query building and the mapping of database errors.

use std::str::FromStr;

use serde_json::Value;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::super::{EntityKind, StoreError, UniqueAttribute};
use crate::model::{
    Change, ChangeKind, DirectoryId, Group, Meta, ResourceId, RolesDelta, TokenScope, User,
    UserState,
};

/// Columns of `users` in the order [`user_from_row`] reads them.
pub(super) const USER_COLUMNS: &str =
    "u.id, u.directory_id, u.email, u.state, u.attributes, u.created, u.last_modified, u.version";
/// How many columns [`USER_COLUMNS`] names: the index of a column a query adds after them.
pub(super) const USER_COLUMNS_LEN: usize = 8;
/// Columns of `groups` in the order [`group_from_row`] reads them.
pub(super) const GROUP_COLUMNS: &str = "g.id, g.directory_id, g.display_name, g.deleted, \
     g.attributes, g.created, g.last_modified, g.version";
/// How many columns [`GROUP_COLUMNS`] names: the index of a column a query adds after them.
pub(super) const GROUP_COLUMNS_LEN: usize = 8;
/// Columns of `changes` in the order [`change_from_row`] reads them, starting at `offset`.
pub(super) const CHANGE_COLUMNS: &str = "c.seq, c.directory_id, c.kind, c.resource_id, c.member_id, c.at, c.user_snapshot, \
     c.group_snapshot, c.roles, c.member_group_id";

/// A database error as a [`StoreError`]: unique violations name the attribute (so a race
/// the planner's read missed still reports `Conflict(UserName)`), foreign-key violations on
/// the directory are `NotFound`; everything else is `Backend`.
pub(super) fn db(e: tokio_postgres::Error) -> StoreError {
    if let Some(err) = e.as_db_error() {
        let constraint = err.constraint().unwrap_or("");
        if *err.code() == SqlState::UNIQUE_VIOLATION {
            let attribute = match constraint {
                "users_active_user_name" => Some(UniqueAttribute::UserName),
                "organizations_external_id_key" => Some(UniqueAttribute::OrganizationExternalId),
                "tokens_hash_key" => Some(UniqueAttribute::TokenHash),
                c if c.ends_with("_pkey") => Some(UniqueAttribute::Id),
                _ => None,
            };
            if let Some(attribute) = attribute {
                return StoreError::Conflict(attribute);
            }
        }
        if *err.code() == SqlState::FOREIGN_KEY_VIOLATION
            && constraint.ends_with("_directory_id_fkey")
        {
            return StoreError::not_found(EntityKind::Directory, err.detail().unwrap_or(""));
        }
    }
    StoreError::Backend(Box::new(e))
}

/// A stored value that does not decode: the table was written by something else.
pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("PostgresStore: undecodable stored {what}").into())
}

fn id<T: FromStr>(row: &Row, index: usize) -> Result<T, StoreError> {
    let text: &str = row.try_get(index).map_err(db)?;
    text.parse().map_err(|_| corrupt(format!("id `{text}`")))
}

pub(super) fn parse_id<T: FromStr>(text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| corrupt(format!("id `{text}`")))
}

fn version(row: &Row, index: usize) -> Result<u64, StoreError> {
    let v: i64 = row.try_get(index).map_err(db)?;
    u64::try_from(v).map_err(|_| corrupt("version"))
}

/// A version as the `bigint` it is stored as.
pub(super) fn version_param(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend("version out of range".into()))
}

/// A `seq` or count as stored.
pub(super) fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt("sequence number"))
}

pub(super) fn state_name(state: UserState) -> &'static str {
    match state {
        UserState::Active => "active",
        UserState::Deactivated => "deactivated",
        UserState::Deleted => "deleted",
    }
}

fn state_from_name(name: &str) -> Result<UserState, StoreError> {
    match name {
        "active" => Ok(UserState::Active),
        "deactivated" => Ok(UserState::Deactivated),
        "deleted" => Ok(UserState::Deleted),
        other => Err(corrupt(format!("user state `{other}`"))),
    }
}

pub(super) fn kind_name(kind: ChangeKind) -> Result<String, StoreError> {
    match serde_json::to_value(kind) {
        Ok(Value::String(s)) => Ok(s),
        _ => Err(corrupt("change kind")),
    }
}

/// A token scope as one indexed text column.
pub(super) fn scope_key(scope: &TokenScope) -> String {
    match scope {
        TokenScope::Directory(d) => format!("directory:{d}"),
        TokenScope::Organization(o) => format!("organization:{o}"),
        TokenScope::Global => "global".to_owned(),
        TokenScope::Setup(o) => format!("setup:{o}"),
        TokenScope::OAuthClient(d) => format!("oauth_client:{d}"),
    }
}

pub(super) fn scope_from_key(key: &str) -> Result<TokenScope, StoreError> {
    if key == "global" {
        return Ok(TokenScope::Global);
    }
    match key.split_once(':') {
        Some(("directory", d)) => Ok(TokenScope::Directory(parse_id(d)?)),
        Some(("organization", o)) => Ok(TokenScope::Organization(parse_id(o)?)),
        Some(("setup", o)) => Ok(TokenScope::Setup(parse_id(o)?)),
        Some(("oauth_client", d)) => Ok(TokenScope::OAuthClient(parse_id(d)?)),
        _ => Err(corrupt(format!("token scope `{key}`"))),
    }
}

/// A user from [`USER_COLUMNS`].
pub(super) fn user_from_row(row: &Row) -> Result<User, StoreError> {
    let state: &str = row.try_get(3).map_err(db)?;
    Ok(User {
        id: id(row, 0)?,
        directory_id: id(row, 1)?,
        email: row
            .try_get::<_, Option<String>>(2)
            .map_err(db)?
            .map(unesc)
            .transpose()?,
        state: state_from_name(state)?,
        attributes: unesc_json(row.try_get(4).map_err(db)?)?,
        meta: Meta {
            created: row.try_get(5).map_err(db)?,
            last_modified: row.try_get(6).map_err(db)?,
            version: version(row, 7)?,
        },
        unique_keys: Vec::new(),
    })
}

/// A group from [`GROUP_COLUMNS`].
pub(super) fn group_from_row(row: &Row) -> Result<Group, StoreError> {
    Ok(Group {
        id: id(row, 0)?,
        directory_id: id(row, 1)?,
        display_name: unesc(row.try_get(2).map_err(db)?)?,
        deleted: row.try_get(3).map_err(db)?,
        attributes: unesc_json(row.try_get(4).map_err(db)?)?,
        meta: Meta {
            created: row.try_get(5).map_err(db)?,
            last_modified: row.try_get(6).map_err(db)?,
            version: version(row, 7)?,
        },
        unique_keys: Vec::new(),
    })
}

/// A change from [`CHANGE_COLUMNS`], read from column `offset` on.
pub(super) fn change_from_row(row: &Row, offset: usize) -> Result<Change, StoreError> {
    let seq: i64 = row.try_get(offset).map_err(db)?;
    let directory_id: DirectoryId = id(row, offset + 1)?;
    let kind: String = row.try_get(offset + 2).map_err(db)?;
    let kind: ChangeKind =
        serde_json::from_value(Value::String(kind)).map_err(|_| corrupt("change kind"))?;
    let member: Option<&str> = row.try_get(offset + 4).map_err(db)?;
    let at: OffsetDateTime = row.try_get(offset + 5).map_err(db)?;
    let mut change = Change::new(
        to_u64(seq)?,
        directory_id,
        kind,
        id::<ResourceId>(row, offset + 3)?,
        member.map(parse_id).transpose()?,
        at,
    );
    if let Some(user) = snapshot::<User>(row, offset + 6, "user snapshot")? {
        change = change.with_user_snapshot(user);
    }
    if let Some(group) = snapshot::<Group>(row, offset + 7, "group snapshot")? {
        change = change.with_group_snapshot(group);
    }
    if let Some(roles) = snapshot::<RolesDelta>(row, offset + 8, "change roles")? {
        change = change.with_roles(roles);
    }
    if let Some(member) = row.try_get::<_, Option<&str>>(offset + 9).map_err(db)? {
        change = change.with_member_group(parse_id(member)?);
    }
    Ok(change)
}

/// A snapshot column of `changes` (NULL before migration 3, and for kinds without one).
fn snapshot<T: serde::de::DeserializeOwned>(
    row: &Row,
    index: usize,
    what: &str,
) -> Result<Option<T>, StoreError> {
    let Some(value) = row.try_get::<_, Option<Value>>(index).map_err(db)? else {
        return Ok(None);
    };
    serde_json::from_value(unesc_json(value)?)
        .map(Some)
        .map_err(|_| corrupt(what))
}

/// SQL text with positional parameters, built piece by piece.
#[derive(Default)]
pub(super) struct Query {
    pub(super) sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Query {
    pub(super) fn new(sql: String) -> Self {
        Self {
            sql,
            params: Vec::new(),
        }
    }

    /// Binds `value` and returns its placeholder (`$n`).
    pub(super) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    /// Appends text.
    pub(super) fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    /// Appends `LIMIT`/`OFFSET` for a keyset page (`usize::MAX`: no limit).
    pub(super) fn page(&mut self, skip: usize, limit: usize) {
        if limit != usize::MAX {
            let p = self.bind(i64::try_from(limit).unwrap_or(i64::MAX));
            self.push(&format!(" LIMIT {p}"));
        }
        if skip > 0 {
            let p = self.bind(i64::try_from(skip).unwrap_or(i64::MAX));
            self.push(&format!(" OFFSET {p}"));
        }
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// PostgreSQL `text` and `jsonb` cannot hold U+0000, which SCIM strings may. Stored text
/// maps it to U+FFFF `0` (and U+FFFF itself to U+FFFF `F`): injective, so indexed
/// equality still works, and the identity for every string without either character.
const MARK: char = '\u{FFFF}';

/// `text` as stored.
pub(super) fn esc(text: &str) -> String {
    if !text.contains(['\0', MARK]) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            '\0' => {
                out.push(MARK);
                out.push('0');
            }
            MARK => {
                out.push(MARK);
                out.push('F');
            }
            c => out.push(c),
        }
    }
    out
}

/// Stored text as it was given.
pub(super) fn unesc(text: String) -> Result<String, StoreError> {
    if !text.contains(MARK) {
        return Ok(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == MARK {
            match chars.next() {
                Some('0') => out.push('\0'),
                Some('F') => out.push(MARK),
                _ => return Err(corrupt("escaped text")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn needs_escape(value: &Value, marker: &[char]) -> bool {
    match value {
        Value::String(s) => s.contains(marker),
        Value::Array(items) => items.iter().any(|v| needs_escape(v, marker)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(marker) || needs_escape(v, marker)),
        _ => false,
    }
}

fn map_strings(
    value: Value,
    f: &impl Fn(String) -> Result<String, StoreError>,
) -> Result<Value, StoreError> {
    Ok(match value {
        Value::String(s) => Value::String(f(s)?),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| map_strings(v, f))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((f(k)?, map_strings(v, f)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
        other => other,
    })
}

/// A JSON document as stored in `jsonb` (see [`esc`]); a clone only when it must change.
pub(super) fn esc_json(value: &Value) -> Value {
    if !needs_escape(value, &['\0', MARK]) {
        return value.clone();
    }
    map_strings(value.clone(), &|s| Ok(esc(&s))).unwrap_or_else(|_| value.clone())
}

/// A stored `jsonb` document as it was given.
pub(super) fn unesc_json(value: Value) -> Result<Value, StoreError> {
    if !needs_escape(&value, &[MARK]) {
        return Ok(value);
    }
    map_strings(value, &unesc)
}

/// What a user's row stores besides ids, state, times and version.
pub(super) struct UserRow {
    pub(super) user_name_key: String,
    pub(super) external_id: Option<String>,
    pub(super) email: Option<String>,
    pub(super) attributes: Value,
    pub(super) emails: Vec<String>,
}

impl UserRow {
    pub(super) fn of(user: &User) -> Self {
        let keys = crate::store::plan::user_index_keys(user);
        Self {
            user_name_key: esc(&keys.user_name),
            external_id: keys.external_id.as_deref().map(esc),
            email: user.email.as_deref().map(esc),
            attributes: esc_json(&user.attributes),
            emails: keys.emails.iter().map(|e| esc(e)).collect(),
        }
    }
}

/// What a group's row stores besides ids, deleted-ness, times and version.
pub(super) struct GroupRow {
    pub(super) display_name: String,
    pub(super) display_name_key: String,
    pub(super) external_id: Option<String>,
    pub(super) attributes: Value,
}

impl GroupRow {
    pub(super) fn of(group: &Group) -> Self {
        let keys = crate::store::plan::group_index_keys(group);
        Self {
            display_name: esc(&group.display_name),
            display_name_key: esc(&keys.display_name),
            external_id: keys.external_id.as_deref().map(esc),
            attributes: esc_json(&group.attributes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaping_round_trips_nul_and_the_marker_and_leaves_other_text_alone() {
        for text in ["ann", "ann\0x", "\u{FFFF}", "\u{FFFF}0", "a\0\u{FFFF}F\0"] {
            let stored = esc(text);
            assert!(!stored.contains('\0'));
            assert_eq!(unesc(stored).ok().as_deref(), Some(text));
        }
        assert_eq!(esc("plain"), "plain");
        assert_ne!(esc("a\0"), esc("a\u{FFFF}0"), "the mapping is injective");
        let doc = json!({"userName": "ann\0x", "k\0": ["\u{FFFF}", 1, null]});
        let stored = esc_json(&doc);
        assert!(!stored.to_string().contains("\\u0000"));
        assert_eq!(unesc_json(stored).ok(), Some(doc));
    }
}
