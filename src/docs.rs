//! Topic guides. Nothing here is code; each submodule is a page.
//!
//! - `embedding` (feature `tower`): mounting [`ScimService`](crate::ScimService) in
//!   hyper, axum or warp.
//! - [`request_log`]: a "last SCIM requests" view for a customer's admin, and `tracing`.
//! - [`attributes`]: reading names, emails and enterprise attributes whatever the IdP.
//! - [`backends`]: where the directory lives.
//! - [`sync_loop`]: getting provisioned users into the product.
//! - [`identity_providers`]: what Entra, Okta and others do that the RFCs do not say.

/// # Embedding
///
/// With the `tower` feature, [`ScimService`](crate::ScimService) and
/// [`ManagementService`](crate::ManagementService) are `tower::Service`s over any
/// `http_body::Body`: they read the body up to
/// [`max_body_bytes`](crate::ScimService::max_body_bytes) (413 past it), and never fail
/// (`Error = Infallible`). Without the feature, collect the body yourself and call
/// [`ScimService::handle`](crate::ScimService::handle).
///
/// Mount the service so it sees the **full path**: it routes on its own
/// [`prefix`](crate::service::ScimServiceBuilder::prefix) (default `/scim/v2`) and
/// builds `meta.location` from it. axum's `nest_service` strips the prefix, so use
/// `route_service` (or build with `.prefix("")` and a
/// [`public_url`](crate::service::ScimServiceBuilder::public_url) that includes the
/// mount point).
///
/// ## axum 0.8
///
/// ```no_run
/// # async fn run(scim: scimkit::ScimService) -> std::io::Result<()> {
/// use axum::{Router, routing::get};
///
/// let app = Router::new()
///     .route("/healthz", get(|| async { "ok" }))
///     .route_service("/scim/v2/{*rest}", scim);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
///
/// ## hyper 1.x
///
/// ```no_run
/// # async fn run(scim: scimkit::ScimService) -> std::io::Result<()> {
/// use hyper::{body::Incoming, server::conn::http1, service::service_fn};
/// use hyper_util::rt::TokioIo;
/// use tower_service::Service;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (stream, _) = listener.accept().await?;
///     let scim = scim.clone();
///     let service = service_fn(move |request: hyper::Request<Incoming>| scim.clone().call(request));
///     tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
/// }
/// # }
/// ```
///
/// ## warp 0.4
///
/// warp 0.4 uses `http` 1 like scimkit, but hands a filter the request in pieces; put it
/// back together with the body still streaming (`examples/warp.rs` has the whole server,
/// with a `/healthz` route next to it):
///
/// ```no_run
/// use bytes::{Buf, Bytes};
/// use futures_util::{Stream, TryStreamExt};
/// use http_body_util::{BodyExt, StreamBody};
/// use hyper::body::Frame;
/// use tower_service::Service;
/// use warp::{Filter, http::{HeaderMap, Method, Request, Response}, path::FullPath};
///
/// fn frames<B: Buf>(body: impl Stream<Item = Result<B, warp::Error>>)
///     -> impl Stream<Item = Result<Frame<Bytes>, warp::Error>> {
///     body.map_ok(|mut chunk| Frame::data(chunk.copy_to_bytes(chunk.remaining())))
/// }
///
/// # fn routes(scim: scimkit::ScimService) {
/// let scim_routes = warp::method()
///     .and(warp::path::full()) // and `warp::query::raw()` for the query, the same way
///     .and(warp::header::headers_cloned())
///     .and(warp::body::stream())
///     .then(move |method: Method, path: FullPath, headers: HeaderMap, body| {
///         let mut scim = scim.clone();
///         async move {
///             let mut request = Request::new(StreamBody::new(frames(body)));
///             *request.method_mut() = method;
///             *request.headers_mut() = headers;
///             *request.uri_mut() = path.as_str().parse().unwrap_or_default();
///             let Ok(response) = scim.call(request).await;
///             let (parts, body) = response.into_parts();
///             let Ok(bytes) = body.collect().await.map(|all| all.to_bytes());
///             Response::from_parts(parts, bytes)
///         }
///     });
/// # let _ = scim_routes;
/// # }
/// ```
#[cfg(feature = "tower")]
pub mod embedding {}

/// # The request log
///
/// [`ScimServiceBuilder::request_log`](crate::service::ScimServiceBuilder::request_log)
/// receives a [`RequestRecord`](crate::service::RequestRecord) for every request: method,
/// path (with the directory id, never the query), status, the IdP's `User-Agent`, the
/// refusal's `scimType` and detail, and the duration. With
/// [`log_request_bodies(true)`](crate::service::ScimServiceBuilder::log_request_bodies)
/// it also gets the body with every password redacted (attributes named `password`,
/// URN-qualified ones, and PATCH operations whose `path` is the password); a body that
/// is not JSON is replaced by its size. Keep the hook quick: it runs on the request's
/// task.
///
/// A "last SCIM requests" view for a customer's admin, a bounded buffer per directory:
///
/// ```
/// use std::collections::{HashMap, VecDeque};
/// use std::sync::{Arc, Mutex};
/// use scimkit::service::{RequestLog, RequestRecord};
///
/// #[derive(Default)]
/// struct LastRequests(Mutex<HashMap<String, VecDeque<RequestRecord>>>);
///
/// impl RequestLog for LastRequests {
///     fn record(&self, record: RequestRecord) {
///         // `/scim/v2/{directory_id}/...`
///         let directory = record.path.split('/').nth(3).unwrap_or_default().to_owned();
///         let Ok(mut all) = self.0.lock() else { return };
///         let recent = all.entry(directory).or_default();
///         recent.push_back(record);
///         if recent.len() > 50 {
///             recent.pop_front();
///         }
///     }
/// }
///
/// let store = Arc::new(scimkit::store::MemoryStore::new());
/// let last = Arc::new(LastRequests::default());
/// let scim = scimkit::ScimService::builder(store.clone(), store)
///     .request_log(last.clone())
///     .log_request_bodies(true)
///     .build();
/// # let _ = scim;
/// ```
///
/// Key the buffer by directory only for authenticated requests in a real product: the
/// path of a refused request is whatever the client sent.
///
/// Every request is also a `tracing` span, `scim_request`, with `method`, `directory`,
/// `resource`, `operation`, then `status` and `duration_ms`, and one `answered` event
/// (status, `scimType`, duration). Neither carries tokens or bodies.
pub mod request_log {}

/// # Reading attributes
///
/// [`User::attributes`](crate::User::attributes) is the SCIM document as the IdP sent
/// it. The typed readers on [`User`](crate::User) and
/// [`SyncUser`](crate::sync::SyncUser) (`given_name`, `family_name`,
/// `formatted_name`, `display_name`, `primary_email`, `emails`, `active`,
/// `employee_number`, `department`, `manager_id`) accept the shapes IdPs actually send:
/// names in any case, `emails` as one object, `active` as `"True"`, enterprise
/// attributes flattened as `urn:...:User:department` keys, `manager` as a bare id.
pub mod attributes {}

/// # Backends
///
/// State lives behind two traits, [`DirectoryStore`](crate::store::DirectoryStore) and
/// [`TokenStore`](crate::store::TokenStore); one value usually implements both.
///
/// ## Choosing one
///
/// | backend | when |
/// |---|---|
/// | [`MemoryStore`](crate::store::MemoryStore) | tests, demos, a single process that may forget everything on restart |
/// | `SledStore` (feature `sled`) | one process with a local disk: persistent, transactional, no server to run; a second process cannot open the same path |
/// | `PostgresStore` (feature `postgres`) | several replicas behind a load balancer, or anywhere you already run PostgreSQL: every replica serves SCIM and the Sync API over one transactional store |
/// | your own | implement the traits over your database and run `store::conformance` (feature `conformance`) against it in your tests; it checks uniqueness under concurrency, compare-and-swap, membership atomicity and the change log |
///
/// ## PostgreSQL
///
/// ```no_run
/// # #[cfg(feature = "postgres")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use scimkit::store::{PostgresNotifier, PostgresOptions, PostgresStore};
///
/// let url = "postgresql://app@db.internal/app";
/// let store = PostgresStore::connect(url, PostgresOptions::default().with_schema("scim")).await?;
/// // Wakes this replica's change-feed subscribers for writes made by any replica.
/// let notifier = Arc::new(PostgresNotifier::connect(url, &store).await?);
/// let store = Arc::new(store);
/// # let _ = (store, notifier); Ok(()) }
/// ```
///
/// **Pool and connections.** Each `PostgresStore` holds a pool (`max_connections`,
/// default 16; `wait_timeout`, default 10 s, after which a request fails with a backend
/// error rather than queueing forever). A write holds one connection for its transaction
/// (3 to 5 statements); a read holds one for one statement. Size the pool so that
/// replicas × `max_connections` (+ 1 per `PostgresNotifier`) stays under the server's
/// `max_connections`, or put PgBouncer in transaction mode in front (the store uses no
/// session state; the notifier's `LISTEN` connection must bypass PgBouncer). `connect`
/// speaks plain TCP; for TLS, build a `deadpool_postgres::Pool` with your TLS connector and
/// pass it to `PostgresStore::from_pool`.
///
/// **Schema.** Everything lives in one schema you name (default `scimkit`), next to your
/// own tables: `organizations`, `directories`, `users` (document as `jsonb`, a unique
/// partial index on `(directory_id, user_name_key) WHERE state = 'active'`, indexes on
/// external id), `user_emails` (one row per lower-cased address), `groups`, `memberships`
/// (primary key `(group_id, user_id)` and an index `(user_id, group_id)`), `changes`
/// (primary key `(directory_id, seq)`), `change_counters` (one row per directory: the
/// last `seq` and the trim point) and `tokens` (SHA-256 hashes only). Ids are `text
/// COLLATE "C"`, so keyset order is id order whatever the database's collation.
/// `userName` and `displayName` are compared through a lower-cased key computed in Rust
/// (the same rule every backend uses), not `lower()`, so the index agrees with the other
/// backends on every script. Listing and counting are single indexed statements;
/// `startIndex` paging (`Keyset::skip`) passes over the skipped rows in the
/// `(directory_id, id) INCLUDE (state)` index (an index-only scan once autovacuum has
/// marked the pages visible) and reads documents only for the page, so a deep page costs
/// an index range, not the directory's documents.
///
/// **Concurrency.** Writes run at `READ COMMITTED`: the user or group row is locked
/// (`FOR NO KEY UPDATE`), the shared planner decides on what was read under the lock, and the
/// directory's counter row is locked last to number the change-log entries, so `seq` has
/// no gaps and its order is commit order (a subscriber never skips a late commit). Writes
/// to one directory therefore commit one at a time at the very end (the lock is held for
/// two statements and the commit, including its WAL flush); writes to different
/// directories do not wait for each other. So one directory's durable write rate is about
/// one over the commit latency (a few hundred per second on an ordinary SSD, see
/// PERFORMANCE.md), which is far above what an identity provider sends; reads never wait.
/// Each write runs `pg_notify` in its own transaction, delivered at commit.
///
/// **Migrations in a deploy.** Migrations are embedded and versioned
/// (`store::POSTGRES_SCHEMA_VERSION`, recorded in `<schema>.scimkit_migrations`). By default
/// `connect` migrates, under an advisory lock, so replicas starting together migrate
/// once and the rest wait. To migrate as a release step instead, run
/// `PostgresStore::migrate` from a one-off job (a `--migrate` flag of your binary) with a
/// role that may create tables, and connect the serving replicas with
/// `PostgresOptions::with_migrate(false)`: they then refuse to start on a schema that is
/// behind (`NotMigrated`) or ahead (`TooNew`, a rollback past a migration), rather than run
/// on tables they do not understand. Migrations only add; an older scimkit never sees a
/// half-migrated schema because each migration commits with its version row.
///
/// **Past one database server.** One PostgreSQL primary carries a lot of SCIM traffic
/// (identity providers write in bursts of at most a few hundred requests per second per
/// directory); read replicas do not help writes, and the per-directory counter row orders
/// each directory's writes. To go further, Postgres-wire distributed databases
/// (CockroachDB, YugabyteDB) are the path: they speak this SQL and shard by primary key.
/// What the schema needs from them: unique partial indexes (both support them),
/// `SELECT ... FOR UPDATE`, `COLLATE "C"` text ordering, `jsonb`, and arrays with
/// `unnest`. What they lack is `LISTEN`/`NOTIFY`: run without `PostgresNotifier` there and
/// let subscriptions fall back to polling the change log. They are not tested in CI; run
/// `store::conformance` against one before relying on it.
pub mod backends {}

/// # The sync loop
///
/// The vendor's side reads with [`DirectorySync`](crate::DirectorySync): a full sync
/// pages through [`list_users`](crate::DirectorySync::list_users) and
/// [`list_groups`](crate::DirectorySync::list_groups) until `next_page_token` is empty;
/// afterwards, the change feed gives every change in order, and a
/// [`ChangeNotifier`](crate::sync::ChangeNotifier) shared with the
/// [`ScimService`](crate::ScimService) builder wakes subscribers as soon as the IdP
/// writes. A user with `deleted: true` has been deprovisioned (deleted or deactivated):
/// remove its access. `cargo run --example sync_job` runs the whole loop.
pub mod sync_loop {}

/// # Identity providers
///
/// Entra ID, Okta, OneLogin, JumpCloud and Google each bend RFC 7644 a little: capitalised
/// PATCH op names, booleans as `"True"`, PATCH without `path`, `manager` as a string,
/// member removal by filter. [`protocol::quirks`](crate::protocol::quirks) normalises
/// each before the protocol engine sees the request; its table names the IdP that sends
/// each quirk. The `User-Agent` in the [request log](request_log) tells which IdP a
/// directory is connected to.
pub mod identity_providers {}
