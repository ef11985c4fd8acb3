//! Topic guides. Nothing here is code; each submodule is a page.
//!
//! - [`first_hour`]: from an empty project to a deployed SCIM endpoint, in order.
//! - [`customer_setup`]: the setup page a customer's IT admin gets, and how IdPs
//!   authenticate (bearer tokens, OAuth 2.0 client credentials).
//! - `embedding` (feature `tower`): mounting [`ScimService`](crate::ScimService) in
//!   hyper, axum or warp.
//! - [`request_log`]: a "last SCIM requests" view for a customer's admin, and `tracing`.
//! - [`attributes`]: reading names, emails and enterprise attributes whatever the IdP.
//! - [`backends`]: where the directory lives.
//! - [`sync_loop`]: getting provisioned users into the product.
//! - [`directory_lifecycle`]: pending, active, disabled and deleted directories.
//! - [`roles`]: mapping IdP groups to the product's roles, and following role changes.
//! - [`identity_providers`]: what Entra, Okta and others do that the RFCs do not say.
//! - [`simulating_idps`]: testing your own deprovisioning with the `testing` feature's
//!   Entra and Okta simulators.
//! - [`serving`]: the limits and timeouts a server in front of scimkit should set.
//! - [`attribute_mapping`]: the vendor's own fields (`user.field("cost_center")`), read
//!   from each IdP's attributes with per-IdP defaults.
//! - [`schema_extensions`]: declaring the vendor's own attributes
//!   (`urn:...:acme:2.0:User:costCenter`) so IdPs can send them, typed.
//! - `webhooks` (feature `webhooks`): forwarding every change to your own services,
//!   signed and retried.

/// # The first hour
///
/// What a vendor does, in order, to go from nothing to a customer's IdP provisioning into
/// their product. Each step links to the page that goes deeper.
///
/// 1. **Depend on scimkit** with the features you need: `tower` to mount in axum or
///    hyper's tower stack, `sled` or `postgres` for a store that outlives the process
///    (the crate docs' feature table lists them all). Nothing is on by default.
/// 2. **Pick a store** ([`backends`]): [`MemoryStore`](crate::store::MemoryStore) for tests
///    and trying it out, `SledStore` for one process with a disk, `PostgresStore` for
///    several replicas. One `Arc` of it serves every part below.
/// 3. **Mount the SCIM endpoint** ([`embedding`]): build a
///    [`ScimService`](crate::ScimService) and route `/scim/v2/*` to it; route the
///    management API and the setup page (`/api/v1/*`) to a
///    [`ManagementService`](crate::ManagementService). Set the limits of [`serving`]
///    on the server in front.
/// 4. **Onboard a customer**: [`Admin::create_organization`](crate::Admin::create_organization)
///    with their email domains, then either send their IT admin a
///    [setup link](customer_setup) or hand over the SCIM base URL and a token from
///    [`Admin::issue_scim_token`](crate::Admin::issue_scim_token) yourself.
/// 5. **Sync into your product** ([`sync_loop`]): a full sync with
///    [`DirectorySync::users`](crate::DirectorySync::users), then the change feed; or
///    forward every change to another service with `webhooks`.
/// 6. **Test it as the IdPs will** ([`simulating_idps`]): the `testing` feature's Entra,
///    Okta and OneLogin simulators drive your endpoint with those IdPs' real request
///    shapes, in process or over HTTP against a deployment.
///
/// The whole thing in one process, on the memory store:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use scimkit::service::{RecentRequests, SetupPage};
/// use scimkit::store::{LocalNotifier, MemoryStore};
/// use scimkit::{Admin, DirectorySync, ManagementService, ScimService};
///
/// let store = Arc::new(MemoryStore::new());
/// let notifier = Arc::new(LocalNotifier::new());
/// let recent = Arc::new(RecentRequests::new());
/// let scim = ScimService::builder(store.clone())
///     .public_url("https://api.example.com")
///     .change_notifier(notifier.clone())
///     .request_log(recent.clone())
///     .build();
/// let sync = DirectorySync::new(store.clone()).with_notifier(notifier);
/// let management = ManagementService::new(sync.clone(), store.clone()).with_setup_page(
///     SetupPage::new(&scim)
///         .with_public_url("https://api.example.com")
///         .with_recent_requests(recent),
/// );
///
/// let admin = Admin::new(store);
/// let org = admin.create_organization(Some("globex".into()), vec!["globex.com".into()]).await?;
/// let link = admin.setup_link(&org.id, time::Duration::days(7)).await?;
/// println!("send to Globex's IT admin: {}", management.setup_url("https://api.example.com", &link.secret));
/// // ... serve `scim` under /scim/v2 and `management` under /api/v1, run the sync loop.
/// # let _ = scim;
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub mod first_hour {}

/// # The customer's setup
///
/// A customer's IT admin needs two things from the vendor to connect their IdP: the
/// directory's SCIM base URL and a credential. scimkit can hand both over itself.
///
/// ## The setup page
///
/// [`Admin::setup_link`](crate::Admin::setup_link) makes a link for one organization that
/// opens once, within the time you choose (a week is typical for an email). Send the URL
/// from [`ManagementService::setup_url`](crate::ManagementService::setup_url); opening it
/// exchanges it for a session cookie (an hour by default,
/// [`SetupPage::with_session_lifetime`](crate::service::SetupPage::with_session_lifetime))
/// on a page served by the [`ManagementService`](crate::ManagementService) the
/// [`SetupPage`](crate::service::SetupPage) is mounted on. The page:
///
/// - shows the SCIM base URL and the directory's state (pending until the IdP's first
///   request, active, or disabled);
/// - generates a bearer token and shows it once; generating another revokes the earlier
///   ones ([`Admin::rotate_scim_token`](crate::Admin::rotate_scim_token));
/// - gives the steps for Entra ID, Okta, OneLogin, JumpCloud and Google with the names of
///   the fields each IdP asks for (Entra's *Tenant URL* and *Secret Token*, Okta's *SCIM
///   connector base URL*, ...), opened on the directory's chosen IdP;
/// - sends a test request from the admin's browser to the SCIM base URL with the token,
///   which proves the URL is reachable from their network;
/// - lists the directory's recent requests, with the status and the reason for any
///   refusal (from [`RecentRequests`](crate::service::RecentRequests), which must also be
///   the SCIM service's request log; it is kept per process).
///
/// The page is server-rendered with one inline script, needs no build step or CDN, and
/// escapes everything it shows; see the [`SetupPage`](crate::service::SetupPage) docs for
/// its cookie and header policy. `scripts/browser.sh` drives it in headless Chromium.
///
/// ## How IdPs authenticate
///
/// - **Bearer tokens** (every IdP): [`Admin::issue_scim_token`](crate::Admin::issue_scim_token)
///   or the setup page. Valid until revoked; several may live at once for rotation.
/// - **OAuth 2.0 client credentials** (Microsoft Entra's OAuth option and its gallery
///   validation): [`Admin::issue_oauth_client`](crate::Admin::issue_oauth_client) gives a
///   client id and secret; the IdP posts them to `{SCIM base URL}/oauth/token`
///   (form body or HTTP Basic) and uses the short-lived access token it gets
///   ([`ScimServiceBuilder::access_token_lifetime`](crate::service::ScimServiceBuilder::access_token_lifetime),
///   an hour by default). ServiceProviderConfig advertises both.
///
/// Every authentication failure looks the same from outside: a wrong, revoked or
/// expired token gets the SCIM endpoint's one 401, a bad client gets the token endpoint's
/// one `invalid_client`, and a used, expired or unknown setup link the same page.
pub mod customer_setup {}

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
/// let scim = scimkit::ScimService::builder(store)
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
/// ## sled
///
/// Writes to one `SledStore` commit one batch at a time: concurrent writers share each
/// transaction and each disk sync (a write returns once a sync that began after its
/// commit has finished), so many writers get more done than one, but not in proportion:
/// on a 2-core machine 16 writers create users about twice as fast as one, bounded by
/// the CPU sled spends per key written (PERFORMANCE.md, "sled backend"). That is far
/// above what identity providers send; bulk imports go faster with several writers.
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
/// (3 to 5 statements, one more for a user or group that claims or held declared unique
/// values, and for a group write that nests or plans roles through nesting, the lock,
/// the directory's edges and a statement or two per batch of what the plan asked for);
/// a read holds one for one statement. Size the pool so that replicas ×
/// `max_connections` (+ 1 per `PostgresNotifier`) stays under the server's
/// `max_connections`, or put PgBouncer in transaction mode in front (the store uses no
/// session state; the notifier's `LISTEN` connection must bypass PgBouncer). `connect`
/// speaks plain TCP; for TLS, build a `deadpool_postgres::Pool` with your TLS connector and
/// pass it to `PostgresStore::from_pool`.
///
/// **Schema.** Everything lives in one schema you name (default `scimkit`), next to your
/// own tables: `organizations`, `directories`, `users` (document as `jsonb`, a unique
/// partial index on `(directory_id, user_name_key) WHERE state = 'active'`, indexes on
/// external id), `user_emails` (one row per lower-cased address), `user_unique_keys`
/// (primary key `(directory_id, attribute, value)`: the declared unique values active
/// users hold, claimed by an `INSERT ... ON CONFLICT` that only rewrites the user's own
/// rows), `groups`, `group_unique_keys` (the same for groups that are not deleted),
/// `memberships` (primary key `(group_id, user_id)` and an index `(user_id, group_id)`), `group_groups`
/// (nested groups: primary key `(directory_id, parent_id, child_id)` and an index by
/// child), `changes`
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
/// Each write runs `pg_notify` in its own transaction, delivered at commit. A group write
/// that adds or removes a member group, or renames or deletes a group a role rule
/// names, holds its directory's nesting lock (a transaction-scoped advisory lock)
/// exclusively, and other member edits under a role mapping share it, so nesting rules
/// and transitive roles are decided on a graph no other write is changing; writes
/// without member groups under an empty mapping take no such lock.
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
///
/// A backend reads and commits; [`store::plan`](crate::store::plan) decides (version
/// checks, `userName` uniqueness, the membership net difference, change kinds), so every
/// backend records the same changes. Each trait method documents what it may read: list,
/// count and batch calls read only what they return, so no request costs the whole
/// directory. Wrap a store in [`store::Hooked`](crate::store::Hooked) with a
/// [`CallCounter`](crate::store::CallCounter) to see how many round trips a request
/// makes, or with [`Latency`](crate::store::Latency) to make an N+1 pattern show.
///
/// **Your own backend's batch reads.** A page of users renders its `groups` from one
/// [`groups_of_users`](crate::store::DirectoryStore::groups_of_users) call, and a page of
/// groups (and a single group) its `members` from one
/// [`members_of_groups`](crate::store::DirectoryStore::members_of_groups) call. The
/// latter is the traits' one default method: it loops `list_members` and a
/// [`GroupFilter::parent`](crate::store::GroupFilter::parent) listing per group, so a
/// backend written before it keeps working, at two round trips per group of the page
/// (200 for `GET /Groups?count=100`). Override it with one query over the batch, as the
/// shipped backends do; `store::conformance::members_of_groups` checks that the
/// override answers what the two reads would.
pub mod backends {}

/// # The sync loop
///
/// The vendor's side reads with [`DirectorySync`](crate::DirectorySync): a full sync
/// walks the streams [`users`](crate::DirectorySync::users),
/// [`groups`](crate::DirectorySync::groups) and
/// [`members`](crate::DirectorySync::members), which page under the hood (the page
/// methods `list_users` / `list_groups` remain for a walk that stops and resumes from a
/// stored page token); afterwards, the change feed
/// ([`subscribe`](crate::DirectorySync::subscribe), a stream that never ends) gives every
/// change in order, and a
/// [`ChangeNotifier`](crate::store::ChangeNotifier) (a
/// [`LocalNotifier`](crate::store::LocalNotifier) in one process) shared with the
/// [`ScimService`](crate::ScimService) builder wakes subscribers as soon as the IdP
/// writes. A user with `deleted: true` has been deprovisioned (deleted or deactivated;
/// `state` says which, and the feed records `user.deleted` or `user.deactivated`):
/// remove its access. Take [`latest_cursor`](crate::DirectorySync::latest_cursor) before
/// the full sync and follow the feed from it. Each change carries the object as of that
/// change ([`Change::sync_user`](crate::model::Change::sync_user) and
/// [`Change::sync_group`](crate::model::Change::sync_group); both on membership
/// changes), so applying it needs no read-back that could see a later write. It names
/// what it is about with a typed id, [`Change::resource_id`](crate::model::Change::resource_id):
/// a [`ResourceId`](crate::model::ResourceId) to `match` on (a user, a group, or the
/// directory for its own events), or read with
/// [`Change::user_id`](crate::model::Change::user_id) (the user changed, or the member of
/// a membership change) and [`Change::group_id`](crate::model::Change::group_id). If the log was trimmed past your cursor
/// ([`Admin::trim_changes`](crate::Admin::trim_changes)), the feed answers
/// `SyncError::CursorTrimmed`: run a full sync again. `cargo run --example sync_job` runs
/// the whole loop.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use futures_util::TryStreamExt;
/// use scimkit::model::ResourceId;
/// use scimkit::store::{LocalNotifier, MemoryStore};
/// use scimkit::sync::{DirectorySelector, ListUsers, SyncError};
/// use scimkit::{Admin, DirectorySync, ScimService};
///
/// let store = Arc::new(MemoryStore::new());
/// let admin = Admin::new(store.clone());
/// let org = admin.create_organization(Some("acme".into()), vec![]).await?;
/// admin.create_directory(&org.id, true).await?;
/// // One notifier for both sides: a SCIM write wakes the subscription at once.
/// let notifier = Arc::new(LocalNotifier::new());
/// let scim = ScimService::builder(store.clone())
///     .change_notifier(notifier.clone())
///     .build();
/// # drop(scim);
/// let sync = DirectorySync::new(store).with_notifier(notifier);
/// let acme = DirectorySelector::OrganizationExternalId("acme".into());
///
/// let cursor = sync.latest_cursor(&acme).await?;
/// let mut users = sync.users(ListUsers::new(acme.clone()));
/// while let Some(user) = users.try_next().await? {
///     // provision, or deprovision when `user.deleted`
/// #   let _ = user;
/// }
/// let mut feed = sync.subscribe(&acme, cursor).await?;
/// loop {
///     // A real job selects on its shutdown signal here; the timeout stands in for it.
///     let Ok(next) = tokio::time::timeout(Duration::from_millis(10), feed.try_next()).await
///     else { break };
///     match next {
///         Ok(Some(change)) => match &change.resource_id {
///             // Created, updated, deprovisioned or restored: apply change.sync_user().
///             ResourceId::User(id) => { let _ = (id, change.sync_user()); }
///             // A group's change, memberships included (change.member_id is the user):
///             // apply change.sync_group().
///             ResourceId::Group(id) => { let _ = (id, change.sync_group()); }
///             // The directory's own events (change.kind says which), and any kind of
///             // resource a later release adds.
///             _ => {}
///         },
///         Ok(None) => break, // never: the feed does not end
///         Err(SyncError::CursorTrimmed { .. }) => { /* run a full sync again */ break }
///         Err(other) => return Err(other.into()),
///     }
/// }
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub mod sync_loop {}

/// # Identity providers
///
/// Entra ID, Okta, OneLogin, JumpCloud and Google each bend RFC 7644 a little: capitalised
/// PATCH op names, booleans as `"True"`, PATCH without `path`, `manager` as a string,
/// member removal by filter. scimkit normalises each before the protocol engine sees the
/// request; the table below names the IdP that sends each quirk. The `User-Agent` in the [request log](request_log) tells which IdP a
/// directory is connected to.
///
/// ## The quirks scimkit normalises
///
/// | quirk | sent by | what scimkit does |
/// |---|---|---|
/// | `capitalised-op-names` | Microsoft Entra ID | `"Replace"`, `"Add"` read as `replace`, `add` |
/// | `url-encoded-paths` | Microsoft Entra ID | `members[value eq %22id%22]` is percent-decoded |
/// | `empty-user-name` | Microsoft Entra ID | an operation setting `userName` to `""` is dropped |
/// | `string-booleans-in-patch-values` | Microsoft Entra ID | `"True"`/`"False"` inside PATCH values (`{"primary": "False"}` in an `emails` element, `active` in a path-less value) become booleans where the schema says boolean, before the engine compares elements |
/// | `own-id-in-patch` | Okta, Microsoft Entra ID | the resource's own `id` in a PATCH (`path: "id"` or a key of a path-less value) is dropped; a foreign `id` is ignored in a path-less value and refused (`mutability`) with `path: "id"` |
/// | `string-booleans` | Microsoft Entra ID | `"True"`, `"False"`, `"false"` become booleans for boolean attributes (`active`, `primary`), on PATCH, POST and PUT |
/// | `manager-shapes` | Entra, Okta, OneLogin | enterprise `manager` as a bare id string or `[{"value": ..}]` becomes `{"value": ..}` |
/// | `flattened-extension-keys` | Entra, Okta | a top-level `"urn:...:enterprise:2.0:User:department"` key moves into the extension object |
/// | `flattened-custom-extension-keys` | Entra, Okta | a top-level `"urn:...:CustomExtensionName:2.0:User:tag"` key (any extension URN scimkit has no schema for) moves into that extension's object, stored untyped |
/// | `unlisted-extension-schemas` | Microsoft Entra ID | a custom extension object the document carries (e.g. one a PATCH created) is listed in `schemas` |
/// | `scim-1.1-urns` | OneLogin | `urn:scim:schemas:core:1.0` and `urn:scim:schemas:extension:enterprise:1.0` read as their 2.0 schemas |
/// | `single-object-multi-valued` | OneLogin | `"emails": {..}` (one object for a multi-valued attribute) becomes a one-element array |
/// | `members-null-ref` | Okta | `"$ref": null` on group members is dropped |
///
/// Handled by the engine itself rather than by rewriting, and tested with each IdP's
/// payload: path-less replace whose keys are dotted paths or extension URNs (Entra,
/// Okta); member removal as `path: "members"` plus the members to remove (Entra) or as
/// `members[value eq "id"]`; filtered paths whose element does not exist yet, created
/// (Entra); Okta's path-less `{"active": false}`; a group rename carrying `id` (Okta).
///
/// ## What each IdP sends, and where it is tested
///
/// Each row is a request shape from the IdP's own documentation (or a public integration
/// guide where the IdP publishes none), replayed against a `ScimService` in the named test.
///
/// | IdP | operation | shape | test |
/// |---|---|---|---|
/// | Microsoft Entra ID | existence check, create | `GET /Users?filter=userName eq ".."`, then POST | `tests/entra.rs` `entra_user_lifecycle` |
/// | Microsoft Entra ID | update | capitalised ops, `emails[type eq "work"].value`, manager as a bare id, `active: "False"` | `tests/entra.rs` `entra_user_lifecycle` |
/// | Microsoft Entra ID | custom extension | `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag` by PATCH, POST, filter | `tests/entra.rs` `entra_custom_extension_attributes_round_trip_and_filter` |
/// | Microsoft Entra ID | string booleans in values | `{"primary": "True"}` inside `emails` elements, `active` in a path-less value | `tests/entra.rs` `entra_string_booleans_inside_patch_values_never_duplicate_an_element` |
/// | Microsoft Entra ID | retried removal | `members[value eq "gone"]`, `emails[type eq "home"]` that match nothing | `tests/entra.rs` `entra_retried_removals_through_a_filter_that_matches_nothing_succeed` |
/// | Microsoft Entra ID | matching lookup | `emails[type eq "work"].value eq ".."` | `tests/entra.rs` `entra_matches_on_work_email_and_tolerates_an_empty_primary_email` |
/// | Microsoft Entra ID | membership check | `GET /Groups?filter=id eq "g" and members eq "u"&excludedAttributes=members` | `tests/entra.rs` `entra_members_filter_on_groups` |
/// | Microsoft Entra ID | members | add, `remove` with `path: "members"` and a value list, parallel PATCHes | `tests/entra.rs` `entra_group_lifecycle`, `parallel_member_patches_never_lose_a_member` |
/// | Okta | users | lookup, POST, PUT of the whole user, path-less `{"active": false}` | `tests/okta.rs` `okta_user_lifecycle` |
/// | Okta | custom attributes | nested under the attribute's external namespace (`urn:...:custom:2.0:User`, `urn:...:custom:Space`) | `tests/okta.rs` `okta_custom_attributes_under_an_extension_namespace` |
/// | Okta Group Push | rename, remove+add | path-less replace carrying the group's `id`; `members[value eq ..]` remove and `members` add in one request | `tests/okta.rs` `okta_group_push` |
/// | Okta Group Push | re-push | `replace` of `members` with 1,000 members, then 500 | `tests/okta.rs` `okta_group_push_replaces_a_thousand_members` |
/// | OneLogin (SCIM v2 Enterprise connector) | users, group memberships | lookup, POST of the JSON template (core + enterprise schemas), path-less replace updates, "Suspend" as `replace` of `active` by path, DELETE; groups read page by page with `GET /Groups`, members added and removed with `path: "members"` and the member in `value` | `tests/testing_kit.rs` `onelogin_simulator_provisions_updates_suspends_and_maps_groups` |
/// | OneLogin | SCIM 1.1 documents | `urn:scim:schemas:core:1.0` URNs, `emails` as one object | `tests/idp_onelogin.rs` `onelogin_scim_1_urns_in_a_document_are_accepted` |
/// | OneLogin, PingFederate (1.1 mode) | SCIM 1.1 paths and PATCH | `/scim/v1/...`, a partial resource with `"operation": "delete"` | `tests/idp_onelogin.rs` |
/// | JumpCloud | connection test | create then delete a test user and a test group | `tests/idp_jumpcloud.rs` `jumpcloud_connection_test_creates_and_deletes_a_test_user_and_group` |
/// | JumpCloud | sync | PUT updates and deactivation; groups created with members; `members` add/remove with a value list; path-less rename | `tests/idp_jumpcloud.rs` `jumpcloud_user_and_group_sync` |
/// | Google Workspace | users only | `GET /Users?count=1` probe, lookup, POST, path-less replace, suspend (`active: false`), DELETE | `tests/idp_google.rs` |
/// | PingFederate SCIM Provisioner | users, groups | non-address `userName` (`jsmith`), PUT updates and "Disable", groups found by paging all of them, members by PATCH | `tests/idp_ping.rs` `pingfederate_scim_provisioner_users_by_put_and_groups_found_by_paging` |
/// | PingOne | membership handling | "Merge" (`add`) and "Overwrite" (`replace`) of `members`; "Delete" removal | `tests/idp_ping.rs` `pingone_group_membership_merge_and_overwrite` |
/// | Rippling | users | `/ServiceProviderConfig` probe, hire with `employeeNumber`, retried POST (409, one user), manager/title replaces, termination | `tests/idp_rippling.rs` `rippling_hire_change_and_termination` |
/// | Rippling | groups | PATCH add of members and rename in one request, filtered member removal, DELETE | `tests/idp_rippling.rs` `rippling_groups_by_patch_and_delete` |
///
/// ## Custom extension attributes
///
/// An attribute under an extension URN scimkit has no schema for (Entra's
/// `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag`, Okta's
/// "external namespace") is stored as sent, under its URN, without a type check. It can be
/// set by POST/PUT (nested under the URN or flattened to its full name), by PATCH (full
/// path, the extension object's URN, or a path-less value), filtered
/// (`urn:...:CustomExtensionName:2.0:User:tag eq "x"`) and read back; the URN is added to
/// `schemas`. A URN names the whole extension object when its last segment is the resource
/// type (`...:2.0:User`); otherwise its last `:` separates the attribute.
///
/// ## Choices where IdPs disagree with the RFC
///
/// - **`id` in a PATCH**: the resource's own id (Okta's group rename, Entra's
///   `path: "id"`) is dropped as a restatement; another id in a path-less value is
///   ignored, as every server-owned attribute there is; `path: "id"` with another id is
///   400 `mutability` and nothing changes.
/// - **Removing through a filter that matches nothing**
///   (`members[value eq "gone"]`, `emails[type eq "home"]` on a user without one) is a
///   successful no-op, with no change recorded. Entra retries removals it believes
///   failed, and a `noTarget` error would fail the retry of a removal that succeeded.
/// - **SCIM 1.1 clients**: SCIM 1.1 URNs inside a document (`urn:scim:schemas:core:1.0`,
///   OneLogin's 1.1 connector) are read as their 2.0 schemas. A SCIM 1.1 base URL
///   (`/scim/v1/...`, or `v1` where the directory id belongs) and a SCIM 1.1 PATCH (a
///   partial resource with `"operation": "delete"`) get 400 with a detail that names
///   SCIM 1.1 and says what to configure instead; scimkit does not guess at 1.1 semantics.
pub mod identity_providers {}

/// # Simulating IdPs in your own tests
///
/// With the `testing` feature, `scimkit::testing` has simulators of Microsoft Entra ID
/// (`Entra`), Okta (`Okta`) and OneLogin (`OneLogin`) that send those IdPs' request sequences and shapes (the
/// `userName eq` lookup before a create, capitalised ops, `"False"` booleans, path-less
/// replaces, each IdP's member-removal form, `excludedAttributes=members`) and fail with a
/// `SimulationError` naming the step when your endpoint answers what the IdP would not
/// accept. `InProcess` calls a [`ScimService`](crate::ScimService) without sockets;
/// `HttpTransport` sends the same requests to any SCIM base URL over HTTP, so the test can
/// also run against a deployment that does not use scimkit.
///
/// A vendor's deprovisioning test (the whole program is `examples/idp_simulation.rs`):
///
/// ```text
/// let entra = Entra::new(InProcess::new(scim, &directory.id, token));
/// let users: Vec<SimUser> = (0..50).map(|i| SimUser::new(format!("user{i}@acme.com"))).collect();
/// let cycle = entra.run_initial_cycle(&users, &[]).await?;
/// entra.deprovision(&cycle.users["user7@acme.com"]).await?;
///
/// let access = users_with_access(&sync, &selector).await?; // your own sync code
/// assert!(!access.contains("user7@acme.com"));
/// ```
pub mod simulating_idps {}
/// # Serving: what the server in front should set
///
/// [`ScimService`](crate::ScimService) bounds what one request may ask for (body size,
/// JSON depth, PATCH operations, multi-valued sizes, `attributes` lists, URI and header
/// sizes; see [`ScimServiceBuilder`](crate::service::ScimServiceBuilder)). What happens
/// before a request exists is the HTTP server's job, and hyper, axum and warp set none of
/// it by default. Every example server (`examples/common/mod.rs`, `serve`) sets:
///
/// | setting | example value | without it |
/// |---|---|---|
/// | header-read timeout (hyper `http1::Builder::header_read_timeout`, with a `timer`) | 10 s | a client that connects and sends nothing, or half a request, holds a socket forever; it also closes idle keep-alive connections |
/// | request timeout (around the service call, body reading included) | 60 s, answered with a SCIM 408 | a body that never finishes holds the request open |
/// | connection cap (a semaphore around `accept`) | 1024 | one client can use every file descriptor |
/// | backoff on `accept` errors | 10 ms doubling to 1 s, logged once per run | out of file descriptors, the accept loop spins and floods the log |
/// | header limits (`max_buf_size`; hyper's default field cap of 100 kept) | 64 KiB, 100 fields | *above* the service's 16 KiB URI / 32 KiB header / 64 field limits, so clients get a SCIM 414 or 431 rather than hyper's empty one; an explicit `max_headers` makes hyper build a header array of that size for every request, so leave it unset |
/// | lingering close (`serve_connection(..).without_shutdown()`, then shut down writing and discard input) | 10 s or 64 MiB | a 413 sent before the body is read is lost: closing a socket with unread input resets it, and the client sees a broken pipe instead of the answer |
///
/// With the `tower` feature, a declared `Content-Length` past
/// [`max_body_bytes`](crate::ScimService::max_body_bytes) is refused at once, without
/// waiting for the body; adapters that read the body themselves should do the same
/// (`examples/server.rs`). Behind a reverse proxy (nginx, an ALB), set the equivalents
/// there (`client_header_timeout`, `client_body_timeout`, `client_max_body_size` at or
/// above the service's limit).
pub mod serving {}

/// # Webhooks: every change, to your own services
///
/// With the `webhooks` feature, a [`WebhookDispatcher`](crate::webhooks::WebhookDispatcher)
/// follows the change feed of the directories you name and POSTs each change, with the
/// user and group as of that change, to one endpoint of yours. Three lines:
///
/// ```no_run
/// # async fn run(store: std::sync::Arc<scimkit::store::MemoryStore>,
/// #     directory: scimkit::model::DirectoryId) -> Result<(), Box<dyn std::error::Error>> {
/// use scimkit::webhooks::{WebhookDispatcher, WebhookEndpoint, WebhookSecret};
///
/// let secret = WebhookSecret::parse(&std::env::var("EVENTS_WEBHOOK_SECRET")?)?;
/// let endpoint = WebhookEndpoint::new("events", "http://events.internal/scim", secret)?;
/// tokio::spawn(WebhookDispatcher::new(store, endpoint).directory(directory).run());
/// # Ok(()) }
/// ```
///
/// **What arrives.** `POST` with a JSON body
/// `{"type": "user.deactivated", "timestamp": "...", "data": {"seq": 42, "kind": ...,
/// "resourceId": ..., "scimDirectoryId": ..., "user": {...}, "group": {...}}}` (`data` is
/// the management API's change shape; `memberId`, `user` and `group` where the change has
/// them) and the [Standard Webhooks](https://www.standardwebhooks.com/) headers
/// `webhook-id` (`{directory}:{seq}`, the same on every retry: deduplicate on it),
/// `webhook-timestamp` and `webhook-signature`. Any Standard Webhooks library verifies
/// them; in Rust, [`webhooks::verify`](crate::webhooks::verify), on the body as received:
///
/// ```
/// use scimkit::webhooks::{WebhookSecret, verify};
///
/// fn accept(secret: &WebhookSecret, headers: &http::HeaderMap, body: &[u8]) -> http::StatusCode {
///     match verify(secret, headers, body, time::OffsetDateTime::now_utc()) {
///         Ok(()) => http::StatusCode::NO_CONTENT, // then apply the event, idempotently
///         Err(_) => http::StatusCode::UNAUTHORIZED,
///     }
/// }
/// # let secret = WebhookSecret::generate().unwrap();
/// # assert_eq!(accept(&secret, &http::HeaderMap::new(), b"{}"), http::StatusCode::UNAUTHORIZED);
/// ```
///
/// **Guarantees.** Per directory, in feed order, at least once: a change is sent until
/// your endpoint answers 2xx, with exponential backoff and jitter
/// ([`RetryPolicy`](crate::webhooks::RetryPolicy): 1 s doubling to 1 h, 15 s per attempt),
/// and the next one waits for it. After the retry horizon (24 h) the change becomes a
/// dead letter and the feed moves on. The cursor is stored after every change in the same
/// store as the directory ([`WebhookStore`](crate::store::WebhookStore): memory, sled and
/// PostgreSQL implement it), so a restart, or a `kill -9`, re-sends at most the change that
/// was in flight. Run one dispatcher per endpoint (on PostgreSQL, in one replica).
///
/// **Dead letters** are listed and replayed with
/// [`WebhookDispatcher::dead_letters`](crate::webhooks::WebhookDispatcher::dead_letters),
/// or over the management API once it is given that handle
/// ([`ManagementService::with_webhooks`](crate::ManagementService::with_webhooks)):
/// `GET /api/v1/webhooks/{endpoint}/dead-letters` and
/// `POST /api/v1/webhooks/{endpoint}/dead-letters/{scimDirectoryId}/{seq}/replay`, for
/// global API keys.
///
/// **HTTPS.** The default client ([`HyperClient::http`](crate::webhooks::HyperClient::http))
/// speaks plain HTTP, for endpoints inside your network; give
/// [`HyperClient::with_connector`](crate::webhooks::HyperClient::with_connector) a TLS
/// connector (`hyper-rustls`) for `https://`, or implement
/// [`WebhookClient`](crate::webhooks::WebhookClient) over your own HTTP stack.
///
/// `cargo run --example webhook_dispatcher --features webhooks,sled` runs a dispatcher
/// over a sled database.
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhooks {}
/// # Directory lifecycle
///
/// A [`Directory`](crate::model::Directory) is one customer's IdP connection. It has a
/// `name` and the `idp` the customer chose (shown in your admin UI, and selecting the
/// attribute-mapping defaults), a [`state`](crate::model::DirectoryState) and
/// `last_request_at`:
///
/// | state | how it gets there | SCIM requests with a valid token |
/// |---|---|---|
/// | `pending` | [`Admin::create_directory`](crate::Admin::create_directory) | served; the first one makes it `active` |
/// | `active` | the IdP's first authenticated request; enabling a directory that had connected | served |
/// | `disabled` | [`Admin::disable_directory`](crate::Admin::disable_directory) | 403, `detail` saying the vendor disabled it; data kept, the Sync API still reads it |
/// | `deleted` | [`Admin::delete_directory`](crate::Admin::delete_directory) | 401 (its tokens are deleted); data kept until [`Admin::purge_directory`](crate::Admin::purge_directory) |
///
/// A request with a bad or missing token gets the same 401 in every state, so a caller
/// without a token learns nothing; the 403 comes only after the token checks out.
/// The OAuth token endpoint (`{SCIM base URL}/oauth/token`) likewise issues no access
/// token to a disabled directory's valid client (400 `unauthorized_client`); a deleted
/// directory's clients are gone (401 `invalid_client`).
/// Discovery endpoints (`/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`) are per
/// directory and refused the same way.
///
/// `last_request_at` is kept to about a minute: the service writes it (with
/// [`DirectoryStore::touch_directory`](crate::store::DirectoryStore::touch_directory),
/// an atomic store call) only when the stored time is a minute old, so a busy directory
/// costs one store write a minute, not one per request. Every vendor edit goes through
/// [`Admin::edit_directory`](crate::Admin::edit_directory) (one atomic
/// [`edit_directory`](crate::store::DirectoryStore::edit_directory) store call), so a
/// replica recording a request never undoes an edit, and two edits never lose one
/// another.
///
/// Each state change is an entry in the directory's change feed, written with it:
/// `directory.activated`, `directory.disabled`, `directory.enabled`, `directory.deleted`
/// (and `directory.role_mapping_changed`, see [`roles`]); their
/// [`resource_id`](crate::model::Change::resource_id) is
/// [`ResourceId::Directory`](crate::model::ResourceId::Directory), the directory's id.
///
/// Deleting marks rather than erases: a customer who leaves is locked out at once, and
/// your sync can still read (and deprovision) every user before you purge. Deleting is
/// final: a deleted directory takes no edits and no new tokens.
///
/// Over HTTP, [`ManagementService`](crate::ManagementService) serves
/// `GET`/`PATCH`/`DELETE {prefix}/scim/directories/{id}`: `{"name": "Acme's Okta",
/// "idp": "okta", "state": "disabled"}` in a PATCH body, applied in one step.
pub mod directory_lifecycle {}

/// # Roles
///
/// Most products turn IdP groups into their own roles. Configure it once per directory
/// with a [`RoleMapping`](crate::model::RoleMapping), and scimkit answers each user's
/// effective roles and records every change to them in the change feed:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use scimkit::model::{GroupMatch, RoleMapping};
/// use scimkit::{Admin, store::MemoryStore};
///
/// let store = Arc::new(MemoryStore::new());
/// let admin = Admin::new(store.clone());
/// let org = admin.create_organization(Some("acme".into()), vec![]).await?;
/// let directory = admin.create_directory(&org.id, true).await?;
/// // Okta group `Engineering` → role `developer`; everyone else is a `viewer`.
/// let roles = RoleMapping::new()
///     .map(GroupMatch::DisplayName("Engineering".into()), "developer")
///     .with_default("viewer");
/// admin.set_role_mapping(&directory.id, roles).await?;
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
///
/// **Effective roles.** A user's roles are the role of every rule whose group the user
/// belongs to — directly, or through groups nested in it (see below) — or the default
/// role if no rule matches; a deprovisioned
/// (deleted or deactivated) user has none, and a deleted group gives none. A rule names
/// its group by [`GroupMatch`](crate::model::GroupMatch): `Id`, `DisplayName`
/// (case-insensitive, as IdPs treat names) or `ExternalId` (the IdP's own id); the last
/// two can be written before the IdP pushes the group.
///
/// **Reading.** [`DirectorySync::roles_of`](crate::DirectorySync::roles_of) answers one
/// user; [`ListUsers::with_roles`](crate::sync::ListUsers::with_roles) fills
/// [`SyncUser::roles`](crate::sync::SyncUser::roles) in a listing, with one
/// `groups_of_users` store call per page, not per user.
///
/// **Following.** Every write that changes a user's effective roles — a member (user or
/// group) added or removed, a group renamed, given a new `externalId` or deleted, a user
/// created, deprovisioned or restored — records exactly one
/// [`ChangeKind::RolesChanged`](crate::model::ChangeKind::RolesChanged) entry per user
/// whose roles changed, carrying the roles before and after
/// ([`Change::roles_before`](crate::model::Change::roles_before),
/// [`roles_after`](crate::model::Change::roles_after)); a write that changes no one's
/// roles records none. So a subscriber updates permissions from the entry alone, with no
/// read-back that could race a later change. When the IdP moves a user between groups
/// in two requests (most do), each request that changes the roles is one entry.
///
/// The entries are planned by the store inside the write itself
/// ([`store::plan::role_changes`](crate::store::plan::role_changes)), from the mapping
/// and the affected users' groups as stored, so concurrent writers and PostgreSQL
/// replicas record an exact chain: each entry's `before` is the previous entry's `after`.
///
/// **Changing the mapping** records one `directory.role_mapping_changed` entry, not one
/// entry per user (a mapping change can touch every user of a directory): on it,
/// re-read the users with `with_roles`, as `examples/sync_job.rs` does.
///
/// **Nested groups.** A group's `members` may name groups of the directory
/// (`{"value": "scim_group_...", "type": "Group"}`; without `type`, the id tells), in
/// POST, PUT and PATCH (`add` / `remove` / `replace` of `members`, and
/// `members[value eq "..."]`). A user of a nested group gets the roles of every group
/// above it, up to [`DEFAULT_MAX_GROUP_DEPTH`](crate::store::plan::DEFAULT_MAX_GROUP_DEPTH)
/// (8) levels (`MemoryStore::with_max_group_depth` and
/// `PostgresStore::with_max_group_depth` set another limit). A member group
/// that is the group itself, would close a cycle (the refusal names it,
/// `A ∋ B ∋ A`), would nest deeper than the limit, or is not a group of the directory is
/// refused with 400 `invalidValue`, and nothing changes. Moving a group in or out of
/// another records one `user.roles_changed` per user below it whose roles change, in the
/// same step; deleting a group cuts what it passed up. GET renders member groups with
/// `type: "Group"` and a `$ref` to `/Groups/{id}`, and a user's `groups` list the groups
/// it belongs to through nesting with `type: "indirect"` (RFC 7643 §4.1.2). The feed
/// records a member group joining or leaving as `group.member_added` / `_removed` with
/// [`Change::member_group_id`](crate::model::Change::member_group_id) (`memberGroupId`
/// over HTTP). [`ListGroups::member_groups_of`](crate::sync::ListGroups::member_groups_of)
/// lists a group's member groups (`GET .../scim/groups?scimGroupId=` over HTTP), and
/// `roles_of` / `with_roles` count nested groups. The memory, sled and PostgreSQL stores all nest.
///
/// Over HTTP, [`ManagementService`](crate::ManagementService) sets the mapping in a
/// directory PATCH (`"roleMapping": {"rules": [{"groupDisplayName": "Engineering",
/// "role": "developer"}], "defaultRole": "viewer"}`), lists users with
/// `includeRoles=true`, and gives a `user.roles_changed` change a `roles` object with
/// `before` and `after`.
pub mod roles {}

/// # Schema extensions
///
/// IdPs send attributes beyond the core schemas under an extension URN: the enterprise
/// extension (`department`, `manager`, ...), and custom ones an administrator sets up
/// (Entra's `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User`, Okta's
/// custom attributes with an external namespace). scimkit stores any of them as sent. To
/// give the product's own attributes a type, and let IdPs discover them, declare them:
///
/// ```
/// use std::sync::Arc;
/// use scimkit::schema::{AttributeDef, ResourceKind, Returned, SchemaExtension};
/// use scimkit::{ScimService, store::MemoryStore};
///
/// let acme = SchemaExtension::builder(
///     ResourceKind::User,
///     "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
/// )
/// .name("AcmeUser")
/// .attribute(AttributeDef::string("costCenter").canonical_values(["R&D", "Sales"]))
/// .attribute(AttributeDef::integer("seatLevel"))
/// .attribute(AttributeDef::string("pin").returned(Returned::Request))
/// .build()?;
/// let scim = ScimService::builder(Arc::new(MemoryStore::new()))
///     .schema_extension(acme)
///     .build();
/// # let _ = scim;
/// # Ok::<(), scimkit::schema::SchemaError>(())
/// ```
///
/// What the declaration changes:
///
/// - **Discovery**: the schema is listed in `/Schemas` (and at `/Schemas/{urn}`), and in
///   the resource type's `schemaExtensions` in `/ResourceTypes`, with its `required`.
///   Entra's and Okta's attribute pickers, Microsoft's gallery validation and
///   scim2-tester read them there.
/// - **Writes** (POST, PUT, PATCH): a value of the wrong type is 400 `invalidValue`
///   naming the attribute (`` attribute `urn:...:acme:2.0:User:seatLevel` must be an
///   integer, got a string ``); a `required` attribute must be present when the
///   extension is required on the resource type
///   ([`SchemaExtensionBuilder::required`](crate::schema::SchemaExtensionBuilder::required))
///   or the resource carries the extension; `readOnly` values are dropped; attribute
///   names take their declared spelling. Nothing is stored when a write is refused.
/// - **Flattened keys**: `"urn:...:acme:2.0:User:costCenter": "R&D"` at the top level of
///   a document (as Entra sends extension attributes) is nested into the extension's
///   object, as for the enterprise extension; so is `urn:...:User:desk.building`.
/// - **Filters and sorting** (`filter=urn:...:acme:2.0:User:costCenter eq "R&D"`) follow
///   the declared `caseExact`; such filters have no index, so they read at most
///   [`max_filter_candidates`](crate::service::ScimServiceBuilder::max_filter_candidates)
///   users.
/// - **Projection**: `attributes=` and `excludedAttributes=` name the attributes by their
///   qualified path or the whole extension by its URN, and `returned: request` / `never`
///   are honoured.
/// - **Uniqueness**: a User extension's attribute (or sub-attribute) declared
///   `uniqueness: "server"` or `"global"` is unique among the directory's active users,
///   on every backend and atomically (of two concurrent writes claiming a value, one
///   wins): a POST, PUT or PATCH whose value another active user holds is refused with
///   409 `uniqueness` naming the attribute, and nothing changes. Each element of a
///   multi-valued attribute is a value; strings compare case-insensitively unless
///   `caseExact`; null and `""` claim nothing. Deactivating or deleting a user, or
///   changing the value, releases it; restoring (`active: true`) claims it again, and is
///   refused if another user took it meanwhile. `global` is enforced per directory too:
///   directories are separate customers whose IdPs know nothing of each other. Users
///   stored before an attribute became unique are not re-checked; each claims its values
///   at its next write that changes it.
/// - **Uniqueness of group attributes**: the same declaration in a Group extension makes
///   a value unique among the directory's groups that are not deleted, by the same rules:
///   a POST, PUT or PATCH claiming a value another group holds is 409 `uniqueness`
///   naming the attribute, and nothing changes; deleting a group or changing the value
///   releases it, and restoring a deleted group (a store write, as SCIM has no restore
///   of groups) claims it again or is refused. A PATCH or PUT that changes only
///   `members` claims nothing new. Groups' and users' values are apart: a group may hold
///   a value a user holds.
///
/// `canonicalValues` are served to clients but not enforced (RFC 7643 §7 makes them a
/// suggestion). The vendor reads the values where the IdP's other attributes are:
/// `user.attributes["urn:...:acme:2.0:User"]["costCenter"]`, or by a field mapping
/// (`scimkit::docs::attribute_mapping`).
///
/// URNs whose last segment is the resource type's name (`...:2.0:User`) are the
/// convention and get the fullest IdP support (PATCH paths through the URN, flattened
/// keys before the extension is listed anywhere).
///
/// ## Per directory, at run time
///
/// The builder's extensions are the same for every directory the service serves. A
/// directory can declare more of its own, for a vendor whose admin UI lets a customer add
/// attributes: [`Admin::set_schema_extensions`](crate::Admin::set_schema_extensions), or
/// `PUT {prefix}/scim/directories/{id}/schemas` on the
/// [`ManagementService`](crate::ManagementService) with `{"schemaExtensions": [..]}` (each
/// one in the shape of [`SchemaExtension::to_json`](crate::schema::SchemaExtension::to_json):
/// the RFC 7643 §7 schema plus `resourceType` and `required`; `GET` reads them back).
/// They are stored with the directory (on every backend, in its configuration document),
/// read with the directory the service authenticates (no extra store call), and from then
/// on that directory's requests see the union of the service's and its own in
/// `/Schemas`, `/ResourceTypes`, write checks, filters and projection; other directories
/// do not see them. The edit is atomic and records one
/// `directory.schema_extensions_changed` entry in the directory's feed (none when the list
/// is unchanged). Stored documents are not rewritten: the next write of each resource is
/// checked against the new definitions.
///
/// A definition a client could not read (not a URN, a core or message URN, bad attribute
/// names or types), a URN listed twice, or one the service declares is refused
/// ([`AdminError::InvalidSchemaExtension`](crate::admin::AdminError::InvalidSchemaExtension),
/// a 400 over HTTP naming it) and nothing changes. For the last check, hand the service's
/// extensions to [`Admin::with_service_extensions`](crate::Admin::with_service_extensions)
/// and [`ManagementService::with_service_extensions`](crate::ManagementService::with_service_extensions):
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use scimkit::admin::AdminError;
/// use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension};
/// use scimkit::{Admin, ScimService, store::MemoryStore};
///
/// let store = Arc::new(MemoryStore::new());
/// let acme = SchemaExtension::builder(
///     ResourceKind::User,
///     "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
/// )
/// .attribute(AttributeDef::string("costCenter"))
/// .build()?;
/// let scim = ScimService::builder(store.clone()).schema_extension(acme.clone()).build();
/// let admin = Admin::new(store).with_service_extensions(scim.schema_extensions());
/// let org = admin.create_organization(None, vec![]).await?;
/// let directory = admin.create_directory(&org.id, true).await?;
///
/// // This customer's directory also takes a `seat`.
/// let widget = SchemaExtension::from_json(&serde_json::json!({
///     "id": "urn:ietf:params:scim:schemas:extension:widget:2.0:User",
///     "resourceType": "User",
///     "attributes": [{"name": "seat", "type": "string"}],
/// }))?;
/// admin.set_schema_extensions(&directory.id, vec![widget]).await?;
/// assert_eq!(admin.schema_extensions(&directory.id).await?.len(), 1);
///
/// // The service's own URN is taken: refused, nothing changes.
/// assert!(matches!(
///     admin.set_schema_extensions(&directory.id, vec![acme]).await,
///     Err(AdminError::InvalidSchemaExtension(_))
/// ));
/// assert_eq!(admin.schema_extensions(&directory.id).await?.len(), 1);
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f) }
/// ```
///
/// If the service later declares a URN a directory already has, the service's definition
/// wins for that directory's requests.
pub mod schema_extensions {}

/// # Attribute mapping
///
/// Each IdP puts the same fact in its own place: Entra's work email is
/// `emails[type eq "work"].value`, Okta's is the `primary` one; a custom attribute may sit in
/// the enterprise extension or in the vendor's own. A directory's **field mapping** names,
/// once, which SCIM attribute path fills which of the product's fields, and the Sync API
/// hands the fields over next to the raw attributes:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use scimkit::model::FieldMapping;
/// use scimkit::store::MemoryStore;
/// use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
/// use scimkit::Admin;
///
/// let store = Arc::new(MemoryStore::new());
/// let admin = Admin::new(store.clone());
/// let org = admin.create_organization(Some("acme".into()), vec![]).await?;
/// let directory = admin.create_directory(&org.id, true).await?;
/// admin
///     .set_field_mapping(
///         &directory.id,
///         FieldMapping::new()
///             .map("cost_center", "urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter")
///             .map("mobile", r#"phoneNumbers[type eq "mobile"].value"#),
///     )
///     .await?;
/// let sync = DirectorySync::new(store);
/// let acme = DirectorySelector::OrganizationExternalId("acme".into());
/// for user in sync.list_users(ListUsers::new(acme)).await?.items {
///     let cost_center = user.field_str("cost_center");
///     let first_name = user.field_str("first_name"); // a default
/// #   let _ = (cost_center, first_name);
/// }
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
///
/// ## Paths
///
/// Any SCIM attribute path, as in a PATCH: `title`, `name.givenName`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, a whole
/// extension object by its URN, or a value filter, `emails[type eq "work"].value`. Names
/// compare case-insensitively. A path reads **one value**: a filter that matches several
/// elements, or a sub-attribute of a multi-valued attribute without a filter
/// (`emails.value`), picks the element marked `primary`, and is an error when there is
/// none. A whole attribute (`roles`) reads as sent, list or not.
///
/// ## Defaults per IdP
///
/// [`sync::default_fields`](crate::sync::default_fields) gives the defaults for the
/// directory's [`idp`](crate::Directory::idp), from each provider's documented default
/// attribute mappings:
///
/// | field | Entra ID | Okta, OneLogin, JumpCloud, Google, other |
/// |---|---|---|
/// | `first_name` | `name.givenName` (from `givenName`) | `name.givenName` |
/// | `last_name` | `name.familyName` (from `surname`) | `name.familyName` |
/// | `display_name` | `displayName` | `displayName` |
/// | `email` | `emails[type eq "work"].value` (from `mail`) | `emails[primary eq true].value` |
/// | `title` | `title` (from `jobTitle`) | `title` |
/// | `department` | enterprise `department` | enterprise `department` |
/// | `employee_number` | enterprise `employeeNumber` (from `employeeId`) | enterprise `employeeNumber` |
/// | `manager` | enterprise `manager.value` (the manager's SCIM id) | enterprise `manager.value` |
/// | `cost_center` | enterprise `costCenter` (not mapped by Entra by default; add `costCenter` in its attribute mapping) | enterprise `costCenter` |
///
/// Okta, OneLogin, JumpCloud and Google send the enterprise attributes only once the
/// customer's administrator has mapped them in the app's provisioning settings; a field
/// whose attribute never arrives is simply absent. The directory's own
/// [`fields`](crate::Directory::fields) add fields and replace defaults; a field mapped to
/// `""` drops a default ([`sync::effective_fields`](crate::sync::effective_fields)).
///
/// ## Errors
///
/// [`Admin::set_field_mapping`](crate::Admin::set_field_mapping) and the management API's
/// `PUT {prefix}/scim/directories/{id}/fields` refuse a path that does not parse (400 with
/// the field and the path). What only the data can tell (two work emails and no primary,
/// `name.givenName` when `name` is a string) is reported for that user in
/// [`SyncUser::field_errors`](crate::sync::SyncUser::field_errors), and the other fields
/// are still read.
///
/// ## Cost
///
/// Fields are evaluated when users are read, from the document already loaded: a listing
/// parses the mapping once per page and makes no store call per user; changing the
/// mapping applies to every user at once, with nothing to migrate.
pub mod attribute_mapping {}
