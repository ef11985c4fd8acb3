//! Declared unique keys on PostgreSQL: `user_unique_keys` (migration 7) for users,
//! `group_unique_keys` (migration 9) for groups, apart, so a user and a group may hold
//! the same value. In each, the primary key `(directory_id, attribute, value)` is the
//! uniqueness rule, so two transactions claiming one value serialise on it, even across
//! processes.

use super::prepared::Prepared;
use deadpool_postgres::Transaction;

use super::PostgresStore;
use super::sql::{db, esc, unesc};
use crate::model::{DirectoryId, UniqueKey};
use crate::store::StoreError;

/// Which holders' table a write claims keys in.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyTable {
    Users,
    Groups,
}

impl KeyTable {
    pub(super) fn table(self) -> &'static str {
        match self {
            Self::Users => "user_unique_keys",
            Self::Groups => "group_unique_keys",
        }
    }

    fn holder_column(self) -> &'static str {
        match self {
            Self::Users => "user_id",
            Self::Groups => "group_id",
        }
    }
}

/// Makes `keys` (sorted, as the planner gives them) the declared unique keys `holder`
/// holds in `table`, in one statement: those it held (`held`) and no longer claims are
/// released, and the claimed ones inserted in key order, so two writers claiming
/// overlapping keys wait on each other rather than deadlock. A claimed key the holder
/// already holds counts as written (the no-op update); one another holder has is not,
/// and means that holder's transaction committed first: `AttributeTaken`, and the
/// caller's transaction rolls back.
pub(super) async fn write_unique_keys(
    tx: &Transaction<'_>,
    store: &PostgresStore,
    table: KeyTable,
    (dir, holder): (&DirectoryId, &str),
    keys: &[UniqueKey],
    held: bool,
) -> Result<(), StoreError> {
    let (name, column) = (table.table(), table.holder_column());
    let attributes: Vec<String> = keys.iter().map(|k| esc(&k.attribute)).collect();
    let values: Vec<String> = keys.iter().map(|k| esc(&k.value)).collect();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&dir.as_str(), &holder, &attributes, &values];
    let claim = format!(
        "INSERT INTO {{s}}.{name} AS k (directory_id, attribute, value, {column}) \
         SELECT $1, w.a, w.v, $2 \
         FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS w(a, v, n) ORDER BY w.n \
         ON CONFLICT (directory_id, attribute, value) \
         DO UPDATE SET {column} = EXCLUDED.{column} WHERE k.{column} = EXCLUDED.{column}"
    );
    let sql = if held {
        // Released and claimed keys are disjoint, so one snapshot serves both.
        format!(
            "WITH released AS (DELETE FROM {{s}}.{name} r WHERE r.{column} = $2 \
                 AND NOT EXISTS (SELECT 1 FROM unnest($3::text[], $4::text[]) AS w(a, v) \
                                 WHERE w.a = r.attribute AND w.v = r.value)) \
             {claim}"
        )
    } else {
        claim
    };
    let written = tx
        .execute_cached(&store.schema.sql(&sql), &params)
        .await
        .map_err(db)?;
    if usize::try_from(written).is_ok_and(|n| n == keys.len()) {
        return Ok(());
    }
    // A new statement, so a new snapshot: it sees the row the claim lost to.
    let lost = tx
        .query_opt_cached(
            &store.schema.sql(&format!(
                "SELECT w.a FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS w(a, v, n) \
                 LEFT JOIN {{s}}.{name} k \
                   ON k.directory_id = $1 AND k.attribute = w.a AND k.value = w.v \
                 WHERE k.{column} IS DISTINCT FROM $2 ORDER BY w.n LIMIT 1"
            )),
            &params,
        )
        .await
        .map_err(db)?;
    // None: the holder released the key after this claim lost to it; it was taken when
    // claimed, and the client's retry claims it.
    let attribute = match lost {
        Some(row) => unesc(row.try_get(0).map_err(db)?)?,
        None => keys
            .first()
            .map(|k| k.attribute.clone())
            .unwrap_or_default(),
    };
    Err(StoreError::AttributeTaken { attribute })
}
