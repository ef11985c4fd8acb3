//! Statements prepared once per pooled connection and reused.
//!
//! tokio-postgres runs a query given as text in two round trips: it prepares it (and
//! PostgreSQL parses and analyses it) and then executes it, on every call. Every query
//! here goes through [`Prepared`] instead, which keeps each connection's prepared
//! statements in deadpool's per-connection cache, so a repeated query costs one round
//! trip. Queries are built from a fixed set of templates, but filters and batch sizes
//! make some of them vary; [`bound_statement_cache`] keeps the cache from growing without
//! limit.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

/// Most statements one connection keeps prepared; past it the cache starts over. The
/// fixed queries number a few dozen; the rest are filter shapes.
const MAX_CACHED_STATEMENTS: usize = 256;

/// `query`, `query_one`, `query_opt` and `execute` of a connection or transaction, on
/// its cached prepared statement for `sql`.
#[async_trait]
pub(super) trait Prepared: GenericClient {
    async fn query_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    async fn query_one_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_one(&statement, params).await
    }

    async fn query_opt_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_opt(&statement, params).await
    }

    async fn execute_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.execute(&statement, params).await
    }
}

impl<C: GenericClient + ?Sized> Prepared for C {}

/// Starts `client`'s statement cache over once it holds [`MAX_CACHED_STATEMENTS`].
pub(super) fn bound_statement_cache(client: &deadpool_postgres::Client) {
    if client.statement_cache.size() >= MAX_CACHED_STATEMENTS {
        client.statement_cache.clear();
    }
}
