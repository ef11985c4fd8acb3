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

/// Migrations in order; a new one appends, an applied one never changes.
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
        name: "change_roles",
        sql: include_str!("migrations/0004_change_roles.sql"),
    },
];

/// The schema version this scimkit writes and reads.
pub const POSTGRES_SCHEMA_VERSION: i32 = 4;

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
        let current: i32 = tx
            .query_one(
                &self
                    .schema
                    .sql("SELECT coalesce(max(version), 0) FROM {s}.scimkit_migrations"),
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(connect_error)?;
        if current > POSTGRES_SCHEMA_VERSION {
            return Err(self.too_new(current));
        }
        for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
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

    /// The applied schema version (0 if the schema or its tables are absent).
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
        client
            .query_one(
                &self
                    .schema
                    .sql("SELECT coalesce(max(version), 0) FROM {s}.scimkit_migrations"),
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(connect_error)
    }

    pub(super) fn too_new(&self, found: i32) -> PostgresOpenError {
        PostgresOpenError::TooNew {
            schema: self.schema.name.clone(),
            found,
            supported: POSTGRES_SCHEMA_VERSION,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_up_to_the_schema_version() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        let expected: Vec<i32> = (1..=POSTGRES_SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
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
