//! Embedded, versioned migrations.
//!
//! Each migration runs once, in order, inside one transaction that holds an advisory lock
//! named after the schema, so replicas starting together migrate one at a time and the
//! others find the work done. Applied versions are recorded in `scimkit_migrations`.

use super::{PostgresOpenError, PostgresStore};

struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Migrations in version order; a new one appends, an applied one never changes.
/// Versions may have gaps while branches land out of order: the runner applies every
/// listed migration the database has not recorded, so a lower number merged after a
/// higher one was applied still runs (such migrations must touch disjoint tables).
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "directory_profile",
        sql: include_str!("migrations/0002_directory_profile.sql"),
    },
    Migration {
        version: 3,
        name: "token_expiry",
        sql: include_str!("migrations/0003_token_expiry.sql"),
    },
    Migration {
        version: 4,
        name: "change_snapshots",
        sql: include_str!("migrations/0004_change_snapshots.sql"),
    },
    Migration {
        version: 5,
        name: "webhooks",
        sql: include_str!("migrations/0005_webhooks.sql"),
    },
    Migration {
        version: 6,
        name: "change_roles",
        sql: include_str!("migrations/0006_change_roles.sql"),
    },
    Migration {
        version: 7,
        name: "unique_attributes",
        sql: include_str!("migrations/0007_unique_attributes.sql"),
    },
    Migration {
        version: 8,
        name: "group_groups",
        sql: include_str!("migrations/0008_group_groups.sql"),
    },
    Migration {
        version: 9,
        name: "group_unique_keys",
        sql: include_str!("migrations/0009_group_unique_keys.sql"),
    },
];

/// The schema version this scimkit writes and reads: its highest migration.
pub const POSTGRES_SCHEMA_VERSION: i32 = 9;

fn connect_error(e: impl std::error::Error + Send + Sync + 'static) -> PostgresOpenError {
    PostgresOpenError::Connect(Box::new(e))
}

impl PostgresStore {
    /// Creates the schema if needed and applies the migrations it lacks. Safe to run from
    /// several processes at once and again on every start. Refuses a schema written by a
    /// newer scimkit.
    pub async fn migrate(&self) -> Result<(), PostgresOpenError> {
        let mut client = self.pool.get().await.map_err(connect_error)?;
        let tx = client.transaction().await.map_err(connect_error)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&self.schema.channel],
        )
        .await
        .map_err(connect_error)?;
        tx.batch_execute(&self.schema.sql(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.scimkit_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );",
        ))
        .await
        .map_err(connect_error)?;
        let applied: Vec<i32> = tx
            .query_one(
                &self
                    .schema
                    .sql("SELECT ARRAY(SELECT version FROM {s}.scimkit_migrations)"),
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(connect_error)?;
        let current = applied.iter().copied().max().unwrap_or(0);
        if current > POSTGRES_SCHEMA_VERSION {
            return Err(self.too_new(current));
        }
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            tx.batch_execute(&self.schema.sql(migration.sql))
                .await
                .map_err(connect_error)?;
            tx.execute(
                &self
                    .schema
                    .sql("INSERT INTO {s}.scimkit_migrations (version, name) VALUES ($1, $2)"),
                &[&migration.version, &migration.name],
            )
            .await
            .map_err(connect_error)?;
        }
        tx.commit().await.map_err(connect_error)
    }

    /// The applied schema version (0 if the schema or its tables are absent): the highest
    /// applied version, or, if a listed migration below it is missing (one merged under a
    /// lower number), the version before the first missing one, so a check without
    /// migrating sees the schema as behind.
    pub async fn schema_version(&self) -> Result<i32, PostgresOpenError> {
        let client = self.pool.get().await.map_err(connect_error)?;
        let table = format!("{}.scimkit_migrations", self.schema.quoted);
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(connect_error)?;
        if !exists {
            return Ok(0);
        }
        let applied: Vec<i32> = client
            .query_one(
                &self
                    .schema
                    .sql("SELECT ARRAY(SELECT version FROM {s}.scimkit_migrations)"),
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(connect_error)?;
        Ok(effective_version(&applied))
    }

    pub(super) fn too_new(&self, found: i32) -> PostgresOpenError {
        PostgresOpenError::TooNew {
            schema: self.schema.name.clone(),
            found,
            supported: POSTGRES_SCHEMA_VERSION,
        }
    }
}

/// What [`PostgresStore::schema_version`] reports for the applied `versions`.
fn effective_version(applied: &[i32]) -> i32 {
    let max = applied.iter().copied().max().unwrap_or(0);
    if max > POSTGRES_SCHEMA_VERSION {
        return max;
    }
    let mut reached = 0;
    for migration in MIGRATIONS.iter().filter(|m| m.version <= max) {
        if !applied.contains(&migration.version) {
            return reached;
        }
        reached = migration.version;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_up_to_the_schema_version() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        assert_eq!(versions.first(), Some(&1));
        assert_eq!(versions.last(), Some(&POSTGRES_SCHEMA_VERSION));
    }

    #[test]
    fn a_missing_lower_migration_makes_the_schema_read_as_behind() {
        assert_eq!(effective_version(&[]), 0);
        assert_eq!(effective_version(&[1]), 1);
        let all: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(effective_version(&all), POSTGRES_SCHEMA_VERSION);
        assert_eq!(
            effective_version(&[1, POSTGRES_SCHEMA_VERSION + 1]),
            POSTGRES_SCHEMA_VERSION + 1
        );
        let without_first: Vec<i32> = all.iter().copied().filter(|v| *v != 1).collect();
        assert_eq!(effective_version(&without_first), 0);
    }

    #[test]
    fn migrations_name_their_tables_only_through_the_schema_placeholder() {
        for m in MIGRATIONS {
            for line in m.sql.lines().filter(|l| l.contains("CREATE TABLE")) {
                assert!(
                    line.contains("{s}."),
                    "unqualified table in {}: {line}",
                    m.name
                );
            }
        }
    }
}
