//! The [`WebhookStore`] half: cursors and dead letters (migration 4). Each write is one
//! statement or one transaction, durable at commit.

use super::prepared::Prepared;
use async_trait::async_trait;

use super::PostgresStore;
use super::sql::{db, esc, parse_id, to_u64, unesc};
use crate::model::DirectoryId;
use crate::store::StoreError;
use crate::store::webhooks::{DeadLetter, WebhookStore};

fn seq_param(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Backend("seq out of range".into()))
}

const LETTER_COLUMNS: &str = "endpoint, directory_id, seq, body, attempts, last_error, failed_at";

fn letter_from_row(row: &tokio_postgres::Row) -> Result<DeadLetter, StoreError> {
    let attempts: i32 = row.try_get(4).map_err(db)?;
    Ok(DeadLetter::new(
        unesc(row.try_get(0).map_err(db)?)?,
        parse_id(row.try_get::<_, &str>(1).map_err(db)?)?,
        to_u64(row.try_get(2).map_err(db)?)?,
        unesc(row.try_get(3).map_err(db)?)?,
        u32::try_from(attempts).unwrap_or(0),
        unesc(row.try_get(5).map_err(db)?)?,
        row.try_get(6).map_err(db)?,
    ))
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn webhook_cursor(&self, endpoint: &str, dir: &DirectoryId) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self.schema.sql(
                    "SELECT seq FROM {s}.webhook_cursors WHERE endpoint = $1 AND directory_id = $2",
                ),
                &[&esc(endpoint), &dir.as_str()],
            )
            .await
            .map_err(db)?;
        match row {
            Some(row) => to_u64(row.try_get(0).map_err(db)?),
            None => Ok(0),
        }
    }

    async fn set_webhook_cursor(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute_cached(
                &self.schema.sql(
                    "INSERT INTO {s}.webhook_cursors (endpoint, directory_id, seq) \
                     VALUES ($1, $2, $3) \
                     ON CONFLICT (endpoint, directory_id) DO UPDATE SET seq = EXCLUDED.seq",
                ),
                &[&esc(endpoint), &dir.as_str(), &seq_param(seq)?],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        let endpoint = esc(&letter.endpoint);
        let seq = seq_param(letter.seq)?;
        let attempts = i32::try_from(letter.attempts).unwrap_or(i32::MAX);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute_cached(
            &self.schema.sql(
                "INSERT INTO {s}.webhook_dead_letters \
                     (endpoint, directory_id, seq, body, attempts, last_error, failed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (endpoint, directory_id, seq) DO UPDATE SET body = EXCLUDED.body, \
                     attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, \
                     failed_at = EXCLUDED.failed_at",
            ),
            &[
                &endpoint,
                &letter.directory_id.as_str(),
                &seq,
                &esc(&letter.body),
                &attempts,
                &esc(&letter.last_error),
                &letter.failed_at,
            ],
        )
        .await
        .map_err(db)?;
        tx.execute_cached(
            &self.schema.sql(
                "INSERT INTO {s}.webhook_cursors AS c (endpoint, directory_id, seq) \
                 VALUES ($1, $2, $3) \
                 ON CONFLICT (endpoint, directory_id) DO UPDATE \
                     SET seq = greatest(c.seq, EXCLUDED.seq)",
            ),
            &[&endpoint, &letter.directory_id.as_str(), &seq],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn list_dead_letters(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query_cached(
                &self.schema.sql(&format!(
                    "SELECT {LETTER_COLUMNS} FROM {{s}}.webhook_dead_letters \
                     WHERE endpoint = $1 ORDER BY directory_id, seq LIMIT $2"
                )),
                &[&esc(endpoint), &limit],
            )
            .await
            .map_err(db)?;
        rows.iter().map(letter_from_row).collect()
    }

    async fn get_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<Option<DeadLetter>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt_cached(
                &self.schema.sql(&format!(
                    "SELECT {LETTER_COLUMNS} FROM {{s}}.webhook_dead_letters \
                     WHERE endpoint = $1 AND directory_id = $2 AND seq = $3"
                )),
                &[&esc(endpoint), &dir.as_str(), &seq_param(seq)?],
            )
            .await
            .map_err(db)?
            .as_ref()
            .map(letter_from_row)
            .transpose()
    }

    async fn remove_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let removed = client
            .execute_cached(
                &self.schema.sql(
                    "DELETE FROM {s}.webhook_dead_letters \
                     WHERE endpoint = $1 AND directory_id = $2 AND seq = $3",
                ),
                &[&esc(endpoint), &dir.as_str(), &seq_param(seq)?],
            )
            .await
            .map_err(db)?;
        Ok(removed > 0)
    }
}
