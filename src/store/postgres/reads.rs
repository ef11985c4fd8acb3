//! Reads: each answers with one statement over an index, reading only what it returns.

use super::PostgresStore;
use super::prepared::Prepared;
use super::sql::{
    CHANGE_COLUMNS, GROUP_COLUMNS, Query, USER_COLUMNS, change_from_row, db, esc, group_from_row,
    parse_id, to_u64, unesc, unesc_json, user_from_row,
};
use crate::model::{
    Change, Directory, DirectoryId, DirectoryState, Group, GroupId, Organization, OrganizationId,
    User, UserId,
};
use crate::store::plan::{group_key_value, user_key_value};
use crate::store::{
    GroupFilter, GroupKey, GroupMember, Keyset, Member, States, StoreError, UserFilter, UserGroup,
    UserKey,
};

fn organization_from_doc(doc: serde_json::Value) -> Result<Organization, StoreError> {
    serde_json::from_value(unesc_json(doc)?).map_err(|_| super::sql::corrupt("organization"))
}

pub(super) fn directory_from_row(row: &tokio_postgres::Row) -> Result<Directory, StoreError> {
    let id = parse_id(row.try_get(0).map_err(db)?)?;
    let org = parse_id(row.try_get(1).map_err(db)?)?;
    let primary = row.try_get(2).map_err(db)?;
    let doc: Option<serde_json::Value> = row.try_get(3).map_err(db)?;
    let Some(doc) = doc else {
        return Ok(Directory::new(id, org, primary).with_state(DirectoryState::Active));
    };
    let mut directory: Directory =
        serde_json::from_value(unesc_json(doc)?).map_err(|_| super::sql::corrupt("directory"))?;
    // The columns are what constraints and `clear_primary` keep right.
    directory.id = id;
    directory.organization_id = org;
    directory.primary = primary;
    Ok(directory)
}

/// The `WHERE` conditions a user filter adds (after `u.directory_id = $1`), and the joins.
fn user_selection(query: &mut Query, dir: &DirectoryId, filter: &UserFilter) {
    let mut joins = String::new();
    let mut conditions = String::new();
    if let Some(group) = &filter.group {
        let p = query.bind(group.to_string());
        joins.push_str(&format!(
            " JOIN {{s}}.memberships m ON m.user_id = u.id AND m.group_id = {p}"
        ));
    }
    match &filter.key {
        Some(key @ UserKey::Email(_)) => {
            let p = query.bind(esc(&user_key_value(key)));
            joins.push_str(&format!(
                " JOIN {{s}}.user_emails e ON e.user_id = u.id AND e.email = {p}"
            ));
        }
        Some(key @ UserKey::UserName(_)) => {
            let p = query.bind(esc(&user_key_value(key)));
            conditions.push_str(&format!(" AND u.user_name_key = {p}"));
        }
        Some(key @ UserKey::ExternalId(_)) => {
            let p = query.bind(esc(&user_key_value(key)));
            conditions.push_str(&format!(" AND u.external_id = {p}"));
        }
        None => {}
    }
    conditions.push_str(user_states(filter.states));
    let d = query.bind(dir.to_string());
    query.push(&format!(
        " FROM {{s}}.users u{joins} WHERE u.directory_id = {d}{conditions}"
    ));
}

fn user_states(states: States) -> &'static str {
    match states {
        States::All => "",
        States::Visible => " AND u.state <> 'deleted'",
        States::Active => " AND u.state = 'active'",
    }
}

fn group_selection(query: &mut Query, dir: &DirectoryId, filter: &GroupFilter) {
    let mut joins = String::new();
    let mut conditions = String::new();
    if let Some(member) = &filter.member {
        let p = query.bind(member.to_string());
        joins.push_str(&format!(
            " JOIN {{s}}.memberships m ON m.group_id = g.id AND m.user_id = {p}"
        ));
    }
    if let Some(child) = &filter.member_group {
        let p = query.bind(child.to_string());
        joins.push_str(&format!(
            " JOIN {{s}}.group_groups up ON up.directory_id = g.directory_id \
             AND up.parent_id = g.id AND up.child_id = {p}"
        ));
    }
    if let Some(parent) = &filter.parent {
        let p = query.bind(parent.to_string());
        joins.push_str(&format!(
            " JOIN {{s}}.group_groups down ON down.directory_id = g.directory_id \
             AND down.child_id = g.id AND down.parent_id = {p}"
        ));
    }
    match &filter.key {
        Some(key @ GroupKey::DisplayName(_)) => {
            let p = query.bind(esc(&group_key_value(key)));
            conditions.push_str(&format!(" AND g.display_name_key = {p}"));
        }
        Some(key @ GroupKey::ExternalId(_)) => {
            let p = query.bind(esc(&group_key_value(key)));
            conditions.push_str(&format!(" AND g.external_id = {p}"));
        }
        None => {}
    }
    if filter.states != States::All {
        conditions.push_str(" AND NOT g.deleted");
    }

    let d = query.bind(dir.to_string());
    query.push(&format!(
        " FROM {{s}}.groups g{joins} WHERE g.directory_id = {d}{conditions}"
    ));
}

impl PostgresStore {
    pub(super) async fn get_organization_impl(
        &self,
        id: &OrganizationId,
    ) -> Result<Option<Organization>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self
                    .schema
                    .sql("SELECT doc FROM {s}.organizations WHERE id = $1"),
                &[&id.as_str()],
            )
            .await
            .map_err(db)?;
        row.map(|r| organization_from_doc(r.try_get(0).map_err(db)?))
            .transpose()
    }

    pub(super) async fn find_organization_impl(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self
                    .schema
                    .sql("SELECT doc FROM {s}.organizations WHERE external_id = $1"),
                &[&esc(external_id)],
            )
            .await
            .map_err(db)?;
        row.map(|r| organization_from_doc(r.try_get(0).map_err(db)?))
            .transpose()
    }

    pub(super) async fn list_organizations_impl(
        &self,
        page: Keyset<OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        let mut query = Query::new("SELECT doc FROM {s}.organizations".to_owned());
        if let Some(after) = page.after {
            let p = query.bind(after.to_string());
            query.push(&format!(" WHERE id > {p}"));
        }
        query.push(" ORDER BY id");
        query.page(page.skip, page.limit);
        let client = self.client().await?;
        let rows = client
            .query_cached(&self.schema.sql(&query.sql), &query.params())
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| organization_from_doc(r.try_get(0).map_err(db)?))
            .collect()
    }

    pub(super) async fn get_directory_impl(
        &self,
        id: &DirectoryId,
    ) -> Result<Option<Directory>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self.schema.sql(
                    "SELECT id, organization_id, is_primary, doc FROM {s}.directories WHERE id = $1",
                ),
                &[&id.as_str()],
            )
            .await
            .map_err(db)?;
        row.as_ref().map(directory_from_row).transpose()
    }

    pub(super) async fn list_directories_impl(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<Directory>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query_cached(
                &self.schema.sql(
                    "SELECT id, organization_id, is_primary, doc FROM {s}.directories \
                     WHERE organization_id = $1 ORDER BY id",
                ),
                &[&org.as_str()],
            )
            .await
            .map_err(db)?;
        rows.iter().map(directory_from_row).collect()
    }

    pub(super) async fn get_user_impl(
        &self,
        dir: &DirectoryId,
        id: &UserId,
    ) -> Result<Option<User>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self.schema.sql(&format!(
                    "SELECT {USER_COLUMNS} FROM {{s}}.users u WHERE u.directory_id = $1 AND u.id = $2"
                )),
                &[&dir.as_str(), &id.as_str()],
            )
            .await
            .map_err(db)?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(super) async fn get_users_impl(
        &self,
        dir: &DirectoryId,
        ids: &[UserId],
    ) -> Result<Vec<User>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        let client = self.client().await?;
        let rows = client
            .query_cached(
                &self.schema.sql(&format!(
                    "SELECT {USER_COLUMNS} FROM {{s}}.users u \
                     WHERE u.directory_id = $1 AND u.id = ANY($2) ORDER BY u.id"
                )),
                &[&dir.as_str(), &ids],
            )
            .await
            .map_err(db)?;
        rows.iter().map(user_from_row).collect()
    }

    pub(super) async fn list_users_impl(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<User>, StoreError> {
        let query = keyset_page(
            Table::USERS,
            page.after.as_ref().map(ToString::to_string),
            page.skip,
            page.limit,
            |query| user_selection(query, dir, filter),
        );
        let client = self.client().await?;
        let rows = client
            .query_cached(&self.schema.sql(&query.sql), &query.params())
            .await
            .map_err(db)?;
        rows.iter().map(user_from_row).collect()
    }

    pub(super) async fn count_users_impl(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
    ) -> Result<u64, StoreError> {
        let mut query = Query::new("SELECT count(*)".to_owned());
        user_selection(&mut query, dir, filter);
        self.count(&query).await
    }

    async fn count(&self, query: &Query) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one_cached(&self.schema.sql(&query.sql), &query.params())
            .await
            .map_err(db)?;
        to_u64(row.try_get(0).map_err(db)?)
    }

    pub(super) async fn get_group_impl(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self.schema.sql(&format!(
                    "SELECT {GROUP_COLUMNS} FROM {{s}}.groups g WHERE g.directory_id = $1 AND g.id = $2"
                )),
                &[&dir.as_str(), &id.as_str()],
            )
            .await
            .map_err(db)?;
        row.as_ref().map(group_from_row).transpose()
    }

    pub(super) async fn get_groups_impl(
        &self,
        dir: &DirectoryId,
        ids: &[GroupId],
    ) -> Result<Vec<Group>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(GroupId::as_str).collect();
        let client = self.client().await?;
        let rows = client
            .query_cached(
                &self.schema.sql(&format!(
                    "SELECT {GROUP_COLUMNS} FROM {{s}}.groups g \
                     WHERE g.directory_id = $1 AND g.id = ANY($2) ORDER BY g.id"
                )),
                &[&dir.as_str(), &ids],
            )
            .await
            .map_err(db)?;
        rows.iter().map(group_from_row).collect()
    }

    pub(super) async fn list_groups_impl(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
        page: Keyset<GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        let query = keyset_page(
            Table::GROUPS,
            page.after.as_ref().map(ToString::to_string),
            page.skip,
            page.limit,
            |query| group_selection(query, dir, filter),
        );
        let client = self.client().await?;
        let rows = client
            .query_cached(&self.schema.sql(&query.sql), &query.params())
            .await
            .map_err(db)?;
        rows.iter().map(group_from_row).collect()
    }

    pub(super) async fn count_groups_impl(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
    ) -> Result<u64, StoreError> {
        let mut query = Query::new("SELECT count(*)".to_owned());
        group_selection(&mut query, dir, filter);
        self.count(&query).await
    }

    pub(super) async fn groups_of_users_impl(
        &self,
        dir: &DirectoryId,
        users: &[UserId],
    ) -> Result<Vec<UserGroup>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let users: Vec<&str> = users.iter().map(UserId::as_str).collect();
        let client = self.client().await?;
        let depth = i32::try_from(self.max_group_depth).unwrap_or(i32::MAX);
        let rows = client
            .query_cached(
                &self.schema.sql(GROUPS_OF_USERS),
                &[&dir.as_str(), &users, &depth],
            )
            .await
            .map_err(db)?;
        user_groups(&rows)
    }

    /// One statement for the whole batch: the groups' user members and member groups,
    /// from the memberships primary key and the edges' primary key.
    pub(super) async fn members_of_groups_impl(
        &self,
        dir: &DirectoryId,
        groups: &[GroupId],
        states: States,
    ) -> Result<Vec<GroupMember>, StoreError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let groups: Vec<&str> = groups.iter().map(GroupId::as_str).collect();
        let users_join = if states == States::All {
            ""
        } else {
            " JOIN {s}.users u ON u.id = m.user_id"
        };
        let sql = format!(
            "SELECT r.group_id, r.member_id, r.is_group, r.display_name FROM ( \
                 SELECT m.group_id, m.user_id AS member_id, false AS is_group, \
                     NULL::text AS display_name \
                 FROM {{s}}.memberships m{users_join} \
                 WHERE m.directory_id = $1 AND m.group_id = ANY($2){} \
                 UNION ALL \
                 SELECT e.parent_id, e.child_id, true, c.display_name \
                 FROM {{s}}.group_groups e JOIN {{s}}.groups c ON c.id = e.child_id \
                 WHERE e.directory_id = $1 AND e.parent_id = ANY($2) AND NOT c.deleted) r \
             ORDER BY r.group_id COLLATE \"C\", r.is_group, r.member_id COLLATE \"C\"",
            user_states(states)
        );
        let client = self.client().await?;
        let rows = client
            .query_cached(&self.schema.sql(&sql), &[&dir.as_str(), &groups])
            .await
            .map_err(db)?;
        rows.iter().map(group_member_from_row).collect()
    }

    pub(super) async fn list_members_impl(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut query = Query::new("SELECT m.user_id FROM {s}.memberships m".to_owned());
        if states != States::All {
            query.push(" JOIN {s}.users u ON u.id = m.user_id");
        }
        let g = query.bind(group.to_string());
        let d = query.bind(dir.to_string());
        query.push(&format!(
            " WHERE m.group_id = {g} AND m.directory_id = {d}{}",
            user_states(states)
        ));
        if let Some(after) = &page.after {
            let p = query.bind(after.to_string());
            query.push(&format!(" AND m.user_id > {p}"));
        }
        query.push(" ORDER BY m.user_id");
        query.page(page.skip, page.limit);
        let client = self.client().await?;
        let rows = client
            .query_cached(&self.schema.sql(&query.sql), &query.params())
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| parse_id(r.try_get::<_, &str>(0).map_err(db)?))
            .collect()
    }

    pub(super) async fn list_changes_impl(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let after_param = i64::try_from(after).unwrap_or(i64::MAX);
        let limit_param = i64::try_from(limit).unwrap_or(i64::MAX);
        // One round trip: the counter row says what was trimmed, the lateral join reads the
        // page from the primary key.
        let client = self.client().await?;
        let rows = client
            .query_cached(
                &self.schema.sql(&format!(
                    "SELECT k.trimmed_through, {CHANGE_COLUMNS} FROM {{s}}.change_counters k \
                     LEFT JOIN LATERAL (SELECT * FROM {{s}}.changes \
                         WHERE directory_id = k.directory_id AND seq > $2 \
                         ORDER BY seq LIMIT $3) c ON true \
                     WHERE k.directory_id = $1 ORDER BY c.seq"
                )),
                &[&dir.as_str(), &after_param, &limit_param],
            )
            .await
            .map_err(db)?;
        let Some(first) = rows.first() else {
            // An unknown directory has an empty log.
            return Ok(Vec::new());
        };
        let trimmed = to_u64(first.try_get(0).map_err(db)?)?;
        if after < trimmed {
            return Err(StoreError::ChangesTrimmed { through: trimmed });
        }
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: Option<i64> = row.try_get(1).map_err(db)?;
            if seq.is_some() {
                changes.push(change_from_row(row, 1)?);
            }
        }
        Ok(changes)
    }

    pub(super) async fn latest_change_seq_impl(
        &self,
        dir: &DirectoryId,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self
                    .schema
                    .sql("SELECT last_seq FROM {s}.change_counters WHERE directory_id = $1"),
                &[&dir.as_str()],
            )
            .await
            .map_err(db)?;
        match row {
            Some(row) => to_u64(row.try_get(0).map_err(db)?),
            None => Ok(0),
        }
    }
}

/// The table a keyset page reads: its name, alias and full column list.
struct Table {
    name: &'static str,
    alias: &'static str,
    columns: &'static str,
}

impl Table {
    const USERS: Table = Table {
        name: "users",
        alias: "u",
        columns: USER_COLUMNS,
    };
    const GROUPS: Table = Table {
        name: "groups",
        alias: "g",
        columns: GROUP_COLUMNS,
    };
}

/// A page of `table` in id order: `select` adds the filter's `FROM ... WHERE ...`, then
/// `after`, `skip` and `limit` apply. With `skip`, the page's ids come from an inner query
/// that the index on (directory_id, id) INCLUDE (state) answers without visiting the
/// skipped rows' documents; only the page's rows are then read in full.
fn keyset_page(
    table: Table,
    after: Option<String>,
    skip: usize,
    limit: usize,
    select: impl FnOnce(&mut Query),
) -> Query {
    let Table {
        name,
        alias,
        columns,
    } = table;
    let mut query = Query::new(if skip > 0 {
        format!("SELECT {alias}.id")
    } else {
        format!("SELECT {columns}")
    });
    select(&mut query);
    if let Some(after) = after {
        let p = query.bind(after);
        query.push(&format!(" AND {alias}.id > {p}"));
    }
    query.push(&format!(" ORDER BY {alias}.id"));
    query.page(skip, limit);
    if skip > 0 {
        query.sql = format!(
            "SELECT {columns} FROM {{s}}.{name} {alias} WHERE {alias}.id IN ({}) ORDER BY {alias}.id",
            query.sql
        );
    }
    query
}

/// `SELECT` of [`UserGroup`] rows for `$1` (directory), `$2` (user ids) and `$3` (the
/// depth limit): each user's direct groups (deleted ones included), then the ancestors
/// of those not deleted, through groups not deleted, at most `$3` levels up
/// ([`plan::ancestor_groups`](crate::store::plan::ancestor_groups)). The graph is
/// acyclic, and the depth bounds the walk even so.
pub(super) const GROUPS_OF_USERS: &str = "WITH RECURSIVE direct AS ( \
         SELECT m.user_id, m.group_id FROM {s}.memberships m \
         WHERE m.user_id = ANY($2) AND m.directory_id = $1), \
     up (user_id, group_id, depth) AS ( \
         SELECT d.user_id, d.group_id, 0 FROM direct d \
         JOIN {s}.groups g ON g.id = d.group_id WHERE NOT g.deleted \
         UNION \
         SELECT up.user_id, e.parent_id, up.depth + 1 FROM up \
         JOIN {s}.group_groups e ON e.directory_id = $1 AND e.child_id = up.group_id \
         JOIN {s}.groups p ON p.id = e.parent_id \
         WHERE NOT p.deleted AND up.depth < $3::int), \
     reached AS ( \
         SELECT user_id, group_id, true AS direct FROM direct \
         UNION ALL \
         SELECT DISTINCT up.user_id, up.group_id, false FROM up \
         WHERE NOT EXISTS (SELECT 1 FROM direct d \
                           WHERE d.user_id = up.user_id AND d.group_id = up.group_id)) \
     SELECT r.user_id, g.id, g.display_name, g.deleted, g.external_id, r.direct \
     FROM reached r JOIN {s}.groups g ON g.id = r.group_id \
     ORDER BY r.user_id, g.id";

/// Rows of [`GROUPS_OF_USERS`].
pub(super) fn user_groups(rows: &[tokio_postgres::Row]) -> Result<Vec<UserGroup>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok(UserGroup {
                user_id: parse_id(r.try_get::<_, &str>(0).map_err(db)?)?,
                group_id: parse_id(r.try_get::<_, &str>(1).map_err(db)?)?,
                display_name: unesc(r.try_get(2).map_err(db)?)?,
                group_deleted: r.try_get(3).map_err(db)?,
                external_id: r
                    .try_get::<_, Option<String>>(4)
                    .map_err(db)?
                    .map(unesc)
                    .transpose()?,
                direct: r.try_get(5).map_err(db)?,
            })
        })
        .collect()
}

/// A row of [`PostgresStore::members_of_groups_impl`].
fn group_member_from_row(row: &tokio_postgres::Row) -> Result<GroupMember, StoreError> {
    let member: &str = row.try_get(1).map_err(db)?;
    let member = if row.try_get(2).map_err(db)? {
        let display_name: Option<String> = row.try_get(3).map_err(db)?;
        let display_name = display_name.ok_or_else(|| super::sql::corrupt("member group"))?;
        Member::Group {
            id: parse_id(member)?,
            display_name: unesc(display_name)?,
        }
    } else {
        Member::User(parse_id(member)?)
    };
    Ok(GroupMember {
        group_id: parse_id(row.try_get::<_, &str>(0).map_err(db)?)?,
        member,
    })
}
