//! The [`crate::store::TokenStore`] half: tokens by the SHA-256 of their secret.

use super::PostgresStore;
use super::prepared::Prepared;
use super::sql::{db, parse_id, scope_from_key, scope_key};
use crate::model::{TokenHash, TokenId, TokenRecord, TokenScope};
use crate::store::{EntityKind, StoreError};

fn token_from_row(row: &tokio_postgres::Row) -> Result<TokenRecord, StoreError> {
    let id: &str = row.try_get(0).map_err(db)?;
    let hash: &[u8] = row.try_get(1).map_err(db)?;
    let scope: &str = row.try_get(2).map_err(db)?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| super::sql::corrupt("token hash"))?;
    let record = TokenRecord::new(
        parse_id(id)?,
        scope_from_key(scope)?,
        TokenHash(hash),
        row.try_get(3).map_err(db)?,
    );
    let expires: Option<time::OffsetDateTime> = row.try_get(4).map_err(db)?;
    Ok(match expires {
        Some(at) => record.with_expiry(at),
        None => record,
    })
}

impl PostgresStore {
    pub(super) async fn insert_token_impl(&self, token: TokenRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute_cached(
                &self.schema.sql(
                    "INSERT INTO {s}.tokens (id, hash, scope, created, expires) \
                     VALUES ($1, $2, $3, $4, $5)",
                ),
                &[
                    &token.id.as_str(),
                    &token.hash.0.as_slice(),
                    &scope_key(&token.scope),
                    &token.created,
                    &token.expires,
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(super) async fn find_token_impl(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_cached(
                &self.schema.sql(
                    "SELECT id, hash, scope, created, expires FROM {s}.tokens WHERE hash = $1",
                ),
                &[&hash.0.as_slice()],
            )
            .await
            .map_err(db)?;
        // The index lookup finds the row; the constant-time comparison is what decides.
        Ok(row
            .as_ref()
            .map(token_from_row)
            .transpose()?
            .filter(|t| t.hash.constant_time_eq(hash)))
    }

    pub(super) async fn list_tokens_impl(
        &self,
        scope: &TokenScope,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query_cached(
                &self.schema.sql(
                    "SELECT id, hash, scope, created, expires FROM {s}.tokens WHERE scope = $1 ORDER BY id",
                ),
                &[&scope_key(scope)],
            )
            .await
            .map_err(db)?;
        rows.iter().map(token_from_row).collect()
    }

    pub(super) async fn revoke_token_impl(&self, id: &TokenId) -> Result<(), StoreError> {
        let client = self.client().await?;
        let deleted = client
            .execute_cached(
                &self.schema.sql("DELETE FROM {s}.tokens WHERE id = $1"),
                &[&id.as_str()],
            )
            .await
            .map_err(db)?;
        if deleted == 0 {
            return Err(StoreError::not_found(EntityKind::Token, id));
        }
        Ok(())
    }

    pub(super) async fn delete_tokens_impl(&self, scope: &TokenScope) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute_cached(
                &self.schema.sql("DELETE FROM {s}.tokens WHERE scope = $1"),
                &[&scope_key(scope)],
            )
            .await
            .map_err(db)
    }
}
