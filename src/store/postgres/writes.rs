//! Writes: each is one transaction. The entity row is locked first, the planner decides on
//! what was read under the lock, and the change-log append (which locks the directory's
//! counter row) comes last, so the per-directory counter lock is held only for the final
//! statements before commit. Group writes that nest, or plan roles through nesting, also
//! hold the directory's nesting lock from their planning to commit (see `nesting`).

use super::prepared::Prepared;
use deadpool_postgres::Transaction;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::nesting::{Nesting, NestingLock};
use super::sql::{
    GROUP_COLUMNS, GROUP_COLUMNS_LEN, GroupRow, USER_COLUMNS, USER_COLUMNS_LEN, UserRow, db, esc,
    esc_json, group_from_row, kind_name, parse_id, state_name, user_from_row, version_param,
};
use super::unique::{KeyTable, write_unique_keys};
use crate::model::{
    Directory, DirectoryId, Group, GroupId, Organization, RoleMapping, User, UserId, UserState,
};
use crate::store::plan::{
    self, ChangeDraft, GroupPlan, MembershipFacts, MembershipPlan, NestingReads,
};
use crate::store::{EntityKind, MembershipEdit, StoreError, UniqueAttribute};

/// A directory's document column (NUL-escaped like every stored document).
fn directory_doc(directory: &Directory) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(directory)
        .map(|doc| esc_json(&doc))
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

fn ids(users: &[UserId]) -> Vec<&str> {
    users.iter().map(UserId::as_str).collect()
}

fn group_ids(groups: &[GroupId]) -> Vec<&str> {
    groups.iter().map(GroupId::as_str).collect()
}

impl PostgresStore {
    pub(super) async fn insert_organization_impl(
        &self,
        org: Organization,
    ) -> Result<(), StoreError> {
        let doc =
            esc_json(&serde_json::to_value(&org).map_err(|e| StoreError::Backend(Box::new(e)))?);
        let external_id = org.external_id.as_deref().map(esc);
        let client = self.client().await?;
        client
            .execute_cached(
                &self.schema.sql(
                    "INSERT INTO {s}.organizations (id, external_id, doc) VALUES ($1, $2, $3)",
                ),
                &[&org.id.as_str(), &external_id, &doc],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(super) async fn update_organization_impl(
        &self,
        org: Organization,
    ) -> Result<(), StoreError> {
        let doc =
            esc_json(&serde_json::to_value(&org).map_err(|e| StoreError::Backend(Box::new(e)))?);
        let external_id = org.external_id.as_deref().map(esc);
        let client = self.client().await?;
        let updated = client
            .execute_cached(
                &self
                    .schema
                    .sql("UPDATE {s}.organizations SET external_id = $2, doc = $3 WHERE id = $1"),
                &[&org.id.as_str(), &external_id, &doc],
            )
            .await
            .map_err(db)?;
        if updated == 0 {
            return Err(StoreError::not_found(EntityKind::Organization, &org.id));
        }
        Ok(())
    }

    pub(super) async fn insert_directory_impl(
        &self,
        directory: Directory,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Locking the organization serialises primary-directory changes within it.
        lock_organization(&tx, self, &directory).await?;
        if directory.primary {
            clear_primary(&tx, self, &directory).await?;
        }
        tx.execute_cached(
            &self.schema.sql(
                "INSERT INTO {s}.directories (id, organization_id, is_primary, doc) \
                 VALUES ($1, $2, $3, $4)",
            ),
            &[
                &directory.id.as_str(),
                &directory.organization_id.as_str(),
                &directory.primary,
                &directory_doc(&directory)?,
            ],
        )
        .await
        .map_err(db)?;
        tx.execute_cached(
            &self
                .schema
                .sql("INSERT INTO {s}.change_counters (directory_id) VALUES ($1)"),
            &[&directory.id.as_str()],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    pub(super) async fn update_directory_impl(
        &self,
        directory: Directory,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let stored = tx
            .query_opt_cached(
                &self
                    .schema
                    .sql("SELECT organization_id FROM {s}.directories WHERE id = $1 FOR UPDATE"),
                &[&directory.id.as_str()],
            )
            .await
            .map_err(db)?;
        let stored_org: String = match stored {
            Some(row) => row.try_get(0).map_err(db)?,
            None => return Err(StoreError::not_found(EntityKind::Directory, &directory.id)),
        };
        if stored_org != directory.organization_id.as_str() {
            // A directory never moves between organizations.
            return Err(StoreError::not_found(EntityKind::Directory, &directory.id));
        }
        lock_organization(&tx, self, &directory).await?;
        if directory.primary {
            clear_primary(&tx, self, &directory).await?;
        }
        tx.execute_cached(
            &self
                .schema
                .sql("UPDATE {s}.directories SET is_primary = $2, doc = $3 WHERE id = $1"),
            &[
                &directory.id.as_str(),
                &directory.primary,
                &directory_doc(&directory)?,
            ],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    /// One directory read-modify-write: the row locked, `planner` deciding on what was
    /// read, the document and the planned entries written in the same transaction.
    pub(super) async fn plan_directory_write(
        &self,
        id: &DirectoryId,
        planner: impl FnOnce(Option<&Directory>) -> Result<plan::DirectoryPlan, StoreError>,
    ) -> Result<Directory, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let row = tx
            .query_opt_cached(
                &self.schema.sql(
                    "SELECT id, organization_id, is_primary, doc FROM {s}.directories \
                     WHERE id = $1 FOR UPDATE",
                ),
                &[&id.as_str()],
            )
            .await
            .map_err(db)?;
        let stored = row
            .as_ref()
            .map(super::reads::directory_from_row)
            .transpose()?;
        let planned = planner(stored.as_ref())?;
        if !planned.changed && planned.changes.is_empty() {
            return Ok(planned.directory);
        }
        if planned.changed {
            let becomes_primary =
                planned.directory.primary && stored.as_ref().is_some_and(|d| !d.primary);
            if becomes_primary {
                lock_organization(&tx, self, &planned.directory).await?;
                clear_primary(&tx, self, &planned.directory).await?;
            }
            tx.execute_cached(
                &self
                    .schema
                    .sql("UPDATE {s}.directories SET is_primary = $2, doc = $3 WHERE id = $1"),
                &[
                    &id.as_str(),
                    &planned.directory.primary,
                    &directory_doc(&planned.directory)?,
                ],
            )
            .await
            .map_err(db)?;
        }
        self.append_changes(&tx, id, &planned.changes).await?;
        tx.commit().await.map_err(db)?;
        Ok(planned.directory)
    }

    pub(super) async fn purge_directory_impl(&self, id: &DirectoryId) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Memberships, edges and emails first, by their directory column, so the cascade
        // from users and groups finds nothing left to look up row by row.
        for table in ["memberships", "group_groups"] {
            tx.execute_cached(
                &self.schema.sql(&format!(
                    "DELETE FROM {{s}}.{table} WHERE directory_id = $1"
                )),
                &[&id.as_str()],
            )
            .await
            .map_err(db)?;
        }
        tx.execute_cached(
            &self
                .schema
                .sql("DELETE FROM {s}.user_emails WHERE directory_id = $1"),
            &[&id.as_str()],
        )
        .await
        .map_err(db)?;
        for table in [KeyTable::Users, KeyTable::Groups] {
            tx.execute_cached(
                &self.schema.sql(&format!(
                    "DELETE FROM {{s}}.{} WHERE directory_id = $1",
                    table.table()
                )),
                &[&id.as_str()],
            )
            .await
            .map_err(db)?;
        }
        let deleted = tx
            .execute_cached(
                &self.schema.sql("DELETE FROM {s}.directories WHERE id = $1"),
                &[&id.as_str()],
            )
            .await
            .map_err(db)?;
        if deleted == 0 {
            return Err(StoreError::not_found(EntityKind::Directory, id));
        }
        tx.commit().await.map_err(db)
    }

    pub(super) async fn insert_user_impl(&self, user: User) -> Result<User, StoreError> {
        let keys = UserRow::of(&user);
        let dir = user.directory_id.clone();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let row = tx
            .query_one_cached(
                &self.schema.sql(
                    "SELECT EXISTS (SELECT 1 FROM {s}.directories WHERE id = $1), \
                            EXISTS (SELECT 1 FROM {s}.users WHERE id = $3), \
                            EXISTS (SELECT 1 FROM {s}.users WHERE directory_id = $1 \
                                    AND user_name_key = $2 AND state = 'active')",
                ),
                &[&dir.as_str(), &keys.user_name_key, &user.id.as_str()],
            )
            .await
            .map_err(db)?;
        let directory_exists: bool = row.try_get(0).map_err(db)?;
        if !directory_exists {
            return Err(StoreError::not_found(EntityKind::Directory, &dir));
        }
        // A taken id is reported before the planner looks at the userName; a concurrent
        // insert of the same id still fails on the primary key.
        if row.try_get::<_, bool>(1).map_err(db)? {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let taken: bool = row.try_get(2).map_err(db)?;
        let mut planned = plan::insert_user(user, taken)?;
        let roles = self.user_roles(&tx, &dir, None, &planned).await?;
        planned.changes.extend(roles);
        let user = planned.user;
        tx.execute_cached(
            &self.schema.sql(
                "INSERT INTO {s}.users (id, directory_id, state, user_name_key, external_id, \
                     email, attributes, created, last_modified, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            ),
            &[
                &user.id.as_str(),
                &dir.as_str(),
                &state_name(user.state),
                &keys.user_name_key,
                &keys.external_id,
                &keys.email,
                &keys.attributes,
                &user.meta.created,
                &user.meta.last_modified,
                &version_param(user.meta.version)?,
            ],
        )
        .await
        .map_err(db)?;
        write_emails(&tx, self, &user, &keys.emails).await?;
        if !planned.unique_keys.is_empty() {
            let holder = (&dir, user.id.as_str());
            write_unique_keys(
                &tx,
                self,
                KeyTable::Users,
                holder,
                &planned.unique_keys,
                false,
            )
            .await?;
        }
        self.append_changes(&tx, &dir, &planned.changes).await?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    pub(super) async fn update_user_impl(
        &self,
        user: User,
        expected_version: u64,
    ) -> Result<User, StoreError> {
        let keys = UserRow::of(&user);
        let dir = user.directory_id.clone();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // The row lock makes the version check a compare-and-swap across processes. NO KEY
        // UPDATE (the id never changes) lets membership inserts, whose foreign-key check
        // takes KEY SHARE on the user row, proceed meanwhile.
        // Whether the user holds declared unique keys rides along, so a write that claims
        // none and has none to release costs no statement for them.
        let row = tx
            .query_opt_cached(
                &self.schema.sql(&format!(
                    "SELECT {USER_COLUMNS}, EXISTS (SELECT 1 FROM {{s}}.user_unique_keys k \
                         WHERE k.user_id = u.id) \
                     FROM {{s}}.users u \
                     WHERE u.directory_id = $1 AND u.id = $2 FOR NO KEY UPDATE"
                )),
                &[&dir.as_str(), &user.id.as_str()],
            )
            .await
            .map_err(db)?;
        let stored = row.as_ref().map(user_from_row).transpose()?;
        let holds_keys = match &row {
            Some(row) => row.try_get::<_, bool>(USER_COLUMNS_LEN).map_err(db)?,
            None => false,
        };
        let taken = if user.state == UserState::Active && stored.is_some() {
            let row = tx
                .query_one_cached(
                    &self.schema.sql(
                        "SELECT EXISTS (SELECT 1 FROM {s}.users WHERE directory_id = $1 \
                             AND user_name_key = $2 AND state = 'active' AND id <> $3)",
                    ),
                    &[&dir.as_str(), &keys.user_name_key, &user.id.as_str()],
                )
                .await
                .map_err(db)?;
            row.try_get(0).map_err(db)?
        } else {
            false
        };
        let mut planned = plan::update_user(stored.as_ref(), user, expected_version, taken)?;
        if planned.is_noop() {
            return Ok(planned.user);
        }
        let roles = self
            .user_roles(&tx, &dir, stored.as_ref(), &planned)
            .await?;
        planned.changes.extend(roles);
        let user = planned.user;
        tx.execute_cached(
            &self.schema.sql(
                "UPDATE {s}.users SET state = $3, user_name_key = $4, external_id = $5, \
                     email = $6, attributes = $7, created = $8, last_modified = $9, version = $10 \
                 WHERE directory_id = $1 AND id = $2",
            ),
            &[
                &dir.as_str(),
                &user.id.as_str(),
                &state_name(user.state),
                &keys.user_name_key,
                &keys.external_id,
                &keys.email,
                &keys.attributes,
                &user.meta.created,
                &user.meta.last_modified,
                &version_param(user.meta.version)?,
            ],
        )
        .await
        .map_err(db)?;
        write_emails(&tx, self, &user, &keys.emails).await?;
        if holds_keys || !planned.unique_keys.is_empty() {
            let holder = (&dir, user.id.as_str());
            let keys = &planned.unique_keys;
            write_unique_keys(&tx, self, KeyTable::Users, holder, keys, holds_keys).await?;
        }
        self.append_changes(&tx, &dir, &planned.changes).await?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    pub(super) async fn insert_group_impl(
        &self,
        group: Group,
        members: &[UserId],
        member_groups: &[GroupId],
    ) -> Result<Group, StoreError> {
        let dir = group.directory_id.clone();
        let edits = plan::insert_edits(members, member_groups);
        let reads = plan::membership_reads(&edits);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let row = tx
            .query_one_cached(
                &self.schema.sql(
                    "SELECT EXISTS (SELECT 1 FROM {s}.directories WHERE id = $1), \
                            ARRAY(SELECT id FROM {s}.users WHERE directory_id = $1 AND id = ANY($2)), \
                            EXISTS (SELECT 1 FROM {s}.groups WHERE id = $3), \
                            ARRAY(SELECT id FROM {s}.groups WHERE directory_id = $1 \
                                  AND id = ANY($4) AND NOT deleted)",
                ),
                &[
                    &dir.as_str(),
                    &ids(&reads.added),
                    &group.id.as_str(),
                    &group_ids(&reads.added_groups),
                ],
            )
            .await
            .map_err(db)?;
        let directory_exists: bool = row.try_get(0).map_err(db)?;
        if !directory_exists {
            return Err(StoreError::not_found(EntityKind::Directory, &dir));
        }
        if row.try_get::<_, bool>(2).map_err(db)? {
            return Err(StoreError::Conflict(UniqueAttribute::Id));
        }
        let facts = MembershipFacts {
            users: id_set(row.try_get(1).map_err(db)?)?,
            groups: id_set(row.try_get(3).map_err(db)?)?,
            ..MembershipFacts::default()
        };
        let membership = plan::membership(&group.id, &edits, &facts, group.meta.last_modified)?;
        let mut planned = plan::insert_group(group, membership);
        // Roles first: they lock the affected users FOR NO KEY UPDATE, so the snapshot
        // read's FOR SHARE on the same rows never has to upgrade a lock another writer
        // shares (two such upgrades would deadlock).
        let roles = self.group_roles(&tx, &dir, None, &planned).await?;
        planned.changes.extend(roles);
        let planned = self.with_member_snapshots(&tx, &dir, planned).await?;
        let group = planned.group;
        let keys = GroupRow::of(&group);
        tx.execute_cached(
            &self.schema.sql(
                "INSERT INTO {s}.groups (id, directory_id, deleted, display_name, \
                     display_name_key, external_id, attributes, created, last_modified, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            ),
            &[
                &group.id.as_str(),
                &dir.as_str(),
                &group.deleted,
                &keys.display_name,
                &keys.display_name_key,
                &keys.external_id,
                &keys.attributes,
                &group.meta.created,
                &group.meta.last_modified,
                &version_param(group.meta.version)?,
            ],
        )
        .await
        .map_err(db)?;
        if let Some(keys) = planned.unique_keys.as_ref().filter(|k| !k.is_empty()) {
            let holder = (&dir, group.id.as_str());
            write_unique_keys(&tx, self, KeyTable::Groups, holder, keys, false).await?;
        }
        self.apply_membership(&tx, &dir, &group.id, &planned.membership)
            .await?;
        self.append_changes(&tx, &dir, &planned.changes).await?;
        tx.commit().await.map_err(db)?;
        Ok(group)
    }

    pub(super) async fn update_group_impl(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError> {
        let dir = group.directory_id.clone();
        let group_id = group.id.clone();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let Some((stored, holds_keys)) = self.lock_group_and_keys(&tx, &dir, &group_id).await?
        else {
            return plan::update_group(None, group, expected_version, MembershipPlan::default())
                .map(|p| p.group);
        };
        let facts = self.membership_facts(&tx, &dir, &group_id, edits).await?;
        let membership = plan::membership(&group_id, edits, &facts, group.meta.last_modified)?;
        let mut planned = plan::update_group(Some(&stored), group, expected_version, membership)?;
        if planned.is_noop() {
            return Ok(planned.group);
        }
        // Roles first: they lock the affected users FOR NO KEY UPDATE, so the snapshot
        // read's FOR SHARE on the same rows never has to upgrade a lock another writer
        // shares (two such upgrades would deadlock).
        let roles = self.group_roles(&tx, &dir, Some(&stored), &planned).await?;
        planned.changes.extend(roles);
        let planned = self.with_member_snapshots(&tx, &dir, planned).await?;
        let group = planned.group;
        let keys = GroupRow::of(&group);
        tx.execute_cached(
            &self.schema.sql(
                "UPDATE {s}.groups SET deleted = $3, display_name = $4, display_name_key = $5, \
                     external_id = $6, attributes = $7, created = $8, last_modified = $9, \
                     version = $10 \
                 WHERE directory_id = $1 AND id = $2",
            ),
            &[
                &dir.as_str(),
                &group.id.as_str(),
                &group.deleted,
                &keys.display_name,
                &keys.display_name_key,
                &keys.external_id,
                &keys.attributes,
                &group.meta.created,
                &group.meta.last_modified,
                &version_param(group.meta.version)?,
            ],
        )
        .await
        .map_err(db)?;
        if let Some(keys) = planned.unique_keys.as_ref()
            && (holds_keys || !keys.is_empty())
        {
            let holder = (&dir, group.id.as_str());
            write_unique_keys(&tx, self, KeyTable::Groups, holder, keys, holds_keys).await?;
        }
        self.apply_membership(&tx, &dir, &group.id, &planned.membership)
            .await?;
        self.append_changes(&tx, &dir, &planned.changes).await?;
        tx.commit().await.map_err(db)?;
        Ok(group)
    }

    pub(super) async fn edit_members_impl(
        &self,
        dir: &DirectoryId,
        group_id: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<Group, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // The group row lock orders concurrent edits of one group; each then reads the
        // memberships it names after the previous one committed, so none is lost.
        let stored = self.lock_group(&tx, dir, group_id).await?;
        if stored.as_ref().is_none_or(|g| g.deleted) {
            return plan::edit_members(stored.as_ref(), group_id, MembershipPlan::default(), at)
                .map(|p| p.group);
        }
        let facts = self.membership_facts(&tx, dir, group_id, edits).await?;
        let membership = plan::membership(group_id, edits, &facts, at)?;
        let mut planned = plan::edit_members(stored.as_ref(), group_id, membership, at)?;
        if planned.is_noop() {
            return Ok(planned.group);
        }
        // Roles first: they lock the affected users FOR NO KEY UPDATE, so the snapshot
        // read's FOR SHARE on the same rows never has to upgrade a lock another writer
        // shares (two such upgrades would deadlock).
        let roles = self
            .group_roles(&tx, dir, stored.as_ref(), &planned)
            .await?;
        planned.changes.extend(roles);
        let planned = self.with_member_snapshots(&tx, dir, planned).await?;
        let group = planned.group;
        tx.execute_cached(
            &self.schema.sql(
                "UPDATE {s}.groups SET last_modified = $3, version = $4 \
                 WHERE directory_id = $1 AND id = $2",
            ),
            &[
                &dir.as_str(),
                &group.id.as_str(),
                &group.meta.last_modified,
                &version_param(group.meta.version)?,
            ],
        )
        .await
        .map_err(db)?;
        self.apply_membership(&tx, dir, group_id, &planned.membership)
            .await?;
        self.append_changes(&tx, dir, &planned.changes).await?;
        tx.commit().await.map_err(db)?;
        Ok(group)
    }

    pub(super) async fn trim_changes_impl(
        &self,
        dir: &DirectoryId,
        through: u64,
    ) -> Result<u64, StoreError> {
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Never past the latest entry: a cursor at the head must keep reading.
        let row = tx
            .query_opt_cached(
                &self.schema.sql(
                    "UPDATE {s}.change_counters \
                     SET trimmed_through = GREATEST(trimmed_through, LEAST($2, last_seq)) \
                     WHERE directory_id = $1 RETURNING trimmed_through",
                ),
                &[&dir.as_str(), &through],
            )
            .await
            .map_err(db)?;
        let Some(row) = row else {
            return Err(StoreError::not_found(EntityKind::Directory, dir));
        };
        let trimmed: i64 = row.try_get(0).map_err(db)?;
        let removed = tx
            .execute_cached(
                &self
                    .schema
                    .sql("DELETE FROM {s}.changes WHERE directory_id = $1 AND seq <= $2"),
                &[&dir.as_str(), &trimmed],
            )
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(removed)
    }

    async fn lock_group(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        group: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        tx.query_opt_cached(
            &self.schema.sql(&format!(
                "SELECT {GROUP_COLUMNS} FROM {{s}}.groups g \
                 WHERE g.directory_id = $1 AND g.id = $2 FOR NO KEY UPDATE"
            )),
            &[&dir.as_str(), &group.as_str()],
        )
        .await
        .map_err(db)?
        .as_ref()
        .map(group_from_row)
        .transpose()
    }

    /// [`Self::lock_group`], and whether the group holds declared unique keys: a write
    /// that claims none and has none to release then costs no statement for them.
    async fn lock_group_and_keys(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        group: &GroupId,
    ) -> Result<Option<(Group, bool)>, StoreError> {
        let row = tx
            .query_opt_cached(
                &self.schema.sql(&format!(
                    "SELECT {GROUP_COLUMNS}, EXISTS (SELECT 1 FROM {{s}}.group_unique_keys k \
                         WHERE k.group_id = g.id) \
                     FROM {{s}}.groups g \
                     WHERE g.directory_id = $1 AND g.id = $2 FOR NO KEY UPDATE"
                )),
                &[&dir.as_str(), &group.as_str()],
            )
            .await
            .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let holds_keys = row.try_get(GROUP_COLUMNS_LEN).map_err(db)?;
        Ok(Some((group_from_row(&row)?, holds_keys)))
    }

    /// What the planner needs for `edits`, in one statement: which named users and
    /// groups are members (every member for `RemoveAll`), which added users exist in the
    /// directory and which added groups exist there, not deleted. The group row is locked:
    /// its members and member groups change only under that lock.
    async fn membership_facts(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
    ) -> Result<MembershipFacts, StoreError> {
        let reads = plan::membership_reads(edits);
        let (group_text, dir_text) = (group.as_str(), dir.as_str());
        // Two statements rather than one with `$n OR ...`: a prepared statement's generic
        // plan cannot tell "every member" from "these members", and would read the whole
        // member list for an edit that names one.
        let (added, added_groups) = (ids(&reads.added), group_ids(&reads.added_groups));
        let (named, named_groups) = (ids(&reads.named), group_ids(&reads.named_groups));
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&group_text, &dir_text, &added, &added_groups];
        let (member_condition, child_condition) = if reads.all_members {
            ("", "")
        } else {
            params.extend([&named as &(dyn ToSql + Sync), &named_groups]);
            (" AND user_id = ANY($5)", " AND child_id = ANY($6)")
        };
        let sql = format!(
            "SELECT ARRAY(SELECT user_id FROM {{s}}.memberships \
                          WHERE group_id = $1{member_condition}), \
                    ARRAY(SELECT id FROM {{s}}.users WHERE directory_id = $2 AND id = ANY($3)), \
                    ARRAY(SELECT child_id FROM {{s}}.group_groups \
                          WHERE directory_id = $2 AND parent_id = $1{child_condition}), \
                    ARRAY(SELECT id FROM {{s}}.groups WHERE directory_id = $2 \
                          AND id = ANY($4) AND NOT deleted)"
        );
        let row = tx
            .query_one_cached(&self.schema.sql(&sql), &params)
            .await
            .map_err(db)?;
        Ok(MembershipFacts {
            members: id_set(row.try_get(0).map_err(db)?)?,
            users: id_set(row.try_get(1).map_err(db)?)?,
            member_groups: id_set(row.try_get(2).map_err(db)?)?,
            groups: id_set(row.try_get(3).map_err(db)?)?,
        })
    }

    /// Attaches the snapshots of the members whose membership changes. `FOR SHARE`
    /// conflicts with a concurrent user write's `FOR NO KEY UPDATE`, so no user write
    /// commits between this read and this transaction's change-log append: the snapshot
    /// is the member as of its change. One statement; none if membership is unchanged.
    async fn with_member_snapshots(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        planned: GroupPlan,
    ) -> Result<GroupPlan, StoreError> {
        let changed = planned.membership.changed_members();
        if changed.is_empty() {
            return Ok(planned);
        }
        let rows = tx
            .query_cached(
                &self.schema.sql(&format!(
                    "SELECT {USER_COLUMNS} FROM {{s}}.users u \
                     WHERE u.directory_id = $1 AND u.id = ANY($2) ORDER BY u.id FOR SHARE"
                )),
                &[&dir.as_str(), &ids(&changed)],
            )
            .await
            .map_err(db)?;
        let members = rows
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(planned.with_member_snapshots(members))
    }

    async fn apply_membership(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        group: &GroupId,
        membership: &MembershipPlan,
    ) -> Result<(), StoreError> {
        if !membership.remove.is_empty() {
            tx.execute_cached(
                &self
                    .schema
                    .sql("DELETE FROM {s}.memberships WHERE group_id = $1 AND user_id = ANY($2)"),
                &[&group.as_str(), &ids(&membership.remove)],
            )
            .await
            .map_err(db)?;
        }
        if !membership.add.is_empty() {
            tx.execute_cached(
                &self.schema.sql(
                    "INSERT INTO {s}.memberships (group_id, user_id, directory_id) \
                     SELECT $1, u, $3 FROM unnest($2::text[]) AS u",
                ),
                &[&group.as_str(), &ids(&membership.add), &dir.as_str()],
            )
            .await
            .map_err(db)?;
        }
        if !membership.remove_groups.is_empty() {
            tx.execute_cached(
                &self.schema.sql(
                    "DELETE FROM {s}.group_groups \
                     WHERE directory_id = $1 AND parent_id = $2 AND child_id = ANY($3)",
                ),
                &[
                    &dir.as_str(),
                    &group.as_str(),
                    &group_ids(&membership.remove_groups),
                ],
            )
            .await
            .map_err(db)?;
        }
        if !membership.add_groups.is_empty() {
            tx.execute_cached(
                &self.schema.sql(
                    "INSERT INTO {s}.group_groups (directory_id, parent_id, child_id) \
                     SELECT $1, $2, c FROM unnest($3::text[]) AS c",
                ),
                &[
                    &dir.as_str(),
                    &group.as_str(),
                    &group_ids(&membership.add_groups),
                ],
            )
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    /// The directory's role mapping, read with `FOR KEY SHARE`: a concurrent
    /// `edit_directory` (which locks the row `FOR UPDATE`) waits for this write, and this
    /// write for it, so every `user.roles_changed` entry is planned under the mapping in
    /// force at its place in the log.
    async fn role_mapping(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
    ) -> Result<RoleMapping, StoreError> {
        let row = tx
            .query_opt_cached(
                &self.schema.sql(
                    "SELECT id, organization_id, is_primary, doc FROM {s}.directories \
                     WHERE id = $1 FOR KEY SHARE",
                ),
                &[&dir.as_str()],
            )
            .await
            .map_err(db)?;
        Ok(row
            .as_ref()
            .map(super::reads::directory_from_row)
            .transpose()?
            .map(|d| d.roles)
            .unwrap_or_default())
    }

    /// How many fetch rounds a nesting plan may take: a handful settle any plan (edges
    /// come in one statement, ancestors with their group); the depth bounds the rest.
    fn nesting_rounds(&self) -> usize {
        // Each round fetches at least one closure the plan walks into; a plan walks up
        // and down at most the depth limit from each group it starts from.
        self.max_group_depth.saturating_mul(2).saturating_add(8)
    }

    /// The `user.roles_changed` entries of a planned user write, read in `tx` (whose
    /// user row is locked already). Reads the user's groups and their ancestors only when
    /// its active-ness changes under a mapping with rules.
    async fn user_roles(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        stored: Option<&User>,
        planned: &plan::UserPlan,
    ) -> Result<Vec<ChangeDraft>, StoreError> {
        let mapping = self.role_mapping(tx, dir).await?;
        let depth = self.max_group_depth;
        Nesting::default()
            .settle(self, tx, dir, self.nesting_rounds(), |reads| {
                plan::nested_user_write_roles(&mapping, depth, reads, stored, planned)
            })
            .await
    }

    /// The `user.roles_changed` entries of a planned group write, read in `tx` before
    /// the plan is applied, after refusing member groups that break the nesting rules
    /// (or were deleted since the membership read). Holds the directory's nesting lock
    /// ([`NestingLock`]) from here to commit; the users whose roles it reads are locked
    /// as it reads them.
    async fn group_roles(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        stored: Option<&Group>,
        planned: &GroupPlan,
    ) -> Result<Vec<ChangeDraft>, StoreError> {
        if planned.is_noop() {
            return Ok(Vec::new());
        }
        let mapping = self.role_mapping(tx, dir).await?;
        let Some(lock) = NestingLock::for_write(&mapping, stored, planned) else {
            return Ok(Vec::new());
        };
        self.lock_nesting(tx, dir, lock).await?;
        let depth = self.max_group_depth;
        let parent = &planned.group.id;
        let membership = &planned.membership;
        Nesting::default()
            .settle(self, tx, dir, self.nesting_rounds(), |reads| {
                for child in &membership.add_groups {
                    if reads.role_group(child)?.is_none() {
                        return Err(StoreError::not_found(EntityKind::Group, child));
                    }
                }
                plan::check_member_groups(reads, parent, membership, depth)?;
                plan::nested_group_write_roles(&mapping, depth, reads, stored, planned)
            })
            .await
    }

    /// Appends `drafts` to the directory's log and signals the change, as the last
    /// statement of the transaction: the counter row's lock is what orders `seq` by commit.
    async fn append_changes(
        &self,
        tx: &Transaction<'_>,
        dir: &DirectoryId,
        drafts: &[ChangeDraft],
    ) -> Result<(), StoreError> {
        if drafts.is_empty() {
            return Ok(());
        }
        let count = i64::try_from(drafts.len()).unwrap_or(i64::MAX);
        let kinds = drafts
            .iter()
            .map(|d| kind_name(d.kind))
            .collect::<Result<Vec<_>, _>>()?;
        let resources: Vec<&str> = drafts.iter().map(|d| d.resource_id.as_str()).collect();
        let members: Vec<Option<&str>> = drafts
            .iter()
            .map(|d| d.member_id.as_ref().map(UserId::as_str))
            .collect();
        let member_groups: Vec<Option<&str>> = drafts
            .iter()
            .map(|d| d.member_group_id.as_ref().map(GroupId::as_str))
            .collect();
        let ats: Vec<OffsetDateTime> = drafts.iter().map(|d| d.at).collect();
        let users = drafts
            .iter()
            .map(|d| d.user.as_deref().map(snapshot_json).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let groups = drafts
            .iter()
            .map(|d| d.group.as_deref().map(snapshot_json).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let roles = drafts
            .iter()
            .map(|d| {
                d.roles
                    .as_ref()
                    .map(|r| serde_json::to_value(r).map(|v| esc_json(&v)))
                    .transpose()
                    .map_err(|e| StoreError::Backend(Box::new(e)))
            })
            .collect::<Result<Vec<Option<serde_json::Value>>, _>>()?;
        let row = tx
            .query_opt_cached(
                &self.schema.sql(
                    "WITH k AS (UPDATE {s}.change_counters SET last_seq = last_seq + $2 \
                                WHERE directory_id = $1 RETURNING last_seq - $2 AS base), \
                          ins AS (INSERT INTO {s}.changes \
                                      (directory_id, seq, kind, resource_id, member_id, at, \
                                       user_snapshot, group_snapshot, roles, member_group_id) \
                                  SELECT $1, k.base + t.n, t.kind, t.resource_id, t.member_id, \
                                         t.at, t.user_snapshot, t.group_snapshot, t.roles, \
                                         t.member_group_id \
                                  FROM k, unnest($3::text[], $4::text[], $5::text[], \
                                                 $6::timestamptz[], $8::jsonb[], $9::jsonb[], \
                                                 $10::jsonb[], $11::text[]) \
                                       WITH ORDINALITY AS t(kind, resource_id, member_id, at, \
                                                            user_snapshot, group_snapshot, roles, \
                                                            member_group_id, n)) \
                     SELECT k.base, pg_notify($7, $1) FROM k",
                ),
                &[
                    &dir.as_str(),
                    &count,
                    &kinds,
                    &resources,
                    &members,
                    &ats,
                    &self.schema.channel,
                    &users,
                    &groups,
                    &roles,
                    &member_groups,
                ],
            )
            .await
            .map_err(db)?;
        match row {
            Some(_) => Ok(()),
            None => Err(StoreError::not_found(EntityKind::Directory, dir)),
        }
    }
}

/// A snapshot as the `jsonb` it is stored as (NUL-escaped like the documents).
fn snapshot_json<T: serde::Serialize>(entity: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(entity)
        .map(|v| esc_json(&v))
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

fn id_set<T: std::str::FromStr + Ord>(
    texts: Vec<String>,
) -> Result<std::collections::BTreeSet<T>, StoreError> {
    texts.iter().map(|t| parse_id(t)).collect()
}

async fn lock_organization(
    tx: &Transaction<'_>,
    store: &PostgresStore,
    directory: &Directory,
) -> Result<(), StoreError> {
    let found = tx
        .query_opt_cached(
            &store
                .schema
                .sql("SELECT 1 FROM {s}.organizations WHERE id = $1 FOR UPDATE"),
            &[&directory.organization_id.as_str()],
        )
        .await
        .map_err(db)?;
    if found.is_none() {
        return Err(StoreError::not_found(
            EntityKind::Organization,
            &directory.organization_id,
        ));
    }
    Ok(())
}

async fn clear_primary(
    tx: &Transaction<'_>,
    store: &PostgresStore,
    directory: &Directory,
) -> Result<(), StoreError> {
    tx.execute_cached(
        &store.schema.sql(
            "UPDATE {s}.directories SET is_primary = false \
             WHERE organization_id = $1 AND is_primary AND id <> $2",
        ),
        &[&directory.organization_id.as_str(), &directory.id.as_str()],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// Replaces the user's email index rows with `emails`, touching only the difference.
async fn write_emails(
    tx: &Transaction<'_>,
    store: &PostgresStore,
    user: &User,
    emails: &[String],
) -> Result<(), StoreError> {
    tx.execute_cached(
        &store.schema.sql(
            "WITH gone AS (DELETE FROM {s}.user_emails \
                           WHERE user_id = $1 AND NOT (email = ANY($3))) \
             INSERT INTO {s}.user_emails (user_id, directory_id, email) \
             SELECT $1, $2, e FROM unnest($3::text[]) AS e ON CONFLICT DO NOTHING",
        ),
        &[&user.id.as_str(), &user.directory_id.as_str(), &emails],
    )
    .await
    .map_err(db)?;
    Ok(())
}
