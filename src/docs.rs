//! Topic guides. Nothing here is code; each submodule is a page.
//!
//! - `embedding` (feature `tower`): mounting [`ScimService`](crate::ScimService) in
//!   hyper, axum or warp.
//! - [`request_log`]: a "last SCIM requests" view for a customer's admin, and `tracing`.
//! - [`attributes`]: reading names, emails and enterprise attributes whatever the IdP.
//! - [`backends`]: where the directory lives.
//! - [`sync_loop`]: getting provisioned users into the product.
//! - [`identity_providers`]: what Entra, Okta and others do that the RFCs do not say.
//! - [`simulating_idps`]: testing your own deprovisioning with the `testing` feature's
//!   Entra and Okta simulators.
//! - [`serving`]: the limits and timeouts a server in front of scimkit should set.
//! - [`attribute_mapping`]: the vendor's own fields (`user.field("cost_center")`), read
//!   from each IdP's attributes with per-IdP defaults.
//! - [`schema_extensions`]: declaring the vendor's own attributes
//!   (`urn:...:acme:2.0:User:costCenter`) so IdPs can send them, typed.

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
///
/// A backend reads and commits; [`store::plan`](crate::store::plan) decides (version
/// checks, `userName` uniqueness, the membership net difference, change kinds), so every
/// backend records the same changes. Each trait method documents what it may read: list,
/// count and batch calls read only what they return, so no request costs the whole
/// directory. Wrap a store in [`store::Hooked`](crate::store::Hooked) with a
/// [`CallCounter`](crate::store::CallCounter) to see how many round trips a request
/// makes, or with [`Latency`](crate::store::Latency) to make an N+1 pattern show.
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
/// the full sync and follow the feed from it. If the log was trimmed past your cursor
/// ([`Admin::trim_changes`](crate::Admin::trim_changes)), the feed answers
/// `SyncError::CursorTrimmed`: run a full sync again. `cargo run --example sync_job` runs
/// the whole loop.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use futures_util::TryStreamExt;
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
///         Ok(Some(change)) => { /* re-read change.resource_id and apply it */ let _ = change; }
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
/// member removal by filter. [`protocol::quirks`](crate::protocol::quirks) normalises
/// each before the protocol engine sees the request; its table names the IdP that sends
/// each quirk. The `User-Agent` in the [request log](request_log) tells which IdP a
/// directory is connected to.
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
/// (`Entra`) and Okta (`Okta`) that send those IdPs' request sequences and shapes (the
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
/// | header limits (`max_buf_size`, `max_headers`) | 64 KiB, 256 fields | set *above* the service's 16 KiB URI / 32 KiB header / 100 field limits, so clients get a SCIM 414 or 431 rather than hyper's empty one |
/// | lingering close (`serve_connection(..).without_shutdown()`, then shut down writing and discard input) | 10 s or 64 MiB | a 413 sent before the body is read is lost: closing a socket with unread input resets it, and the client sees a broken pipe instead of the answer |
///
/// With the `tower` feature, a declared `Content-Length` past
/// [`max_body_bytes`](crate::ScimService::max_body_bytes) is refused at once, without
/// waiting for the body; adapters that read the body themselves should do the same
/// (`examples/server.rs`). Behind a reverse proxy (nginx, an ALB), set the equivalents
/// there (`client_header_timeout`, `client_body_timeout`, `client_max_body_size` at or
/// above the service's limit).
pub mod serving {}

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
///
/// `uniqueness` and `canonicalValues` are served to clients but not enforced (RFC 7643
/// §7 makes canonical values a suggestion; the store enforces uniqueness of `userName`
/// only). The vendor reads the values where the IdP's other attributes are:
/// `user.attributes["urn:...:acme:2.0:User"]["costCenter"]`, or by a field mapping
/// (`scimkit::docs::attribute_mapping`).
///
/// URNs whose last segment is the resource type's name (`...:2.0:User`) are the
/// convention and get the fullest IdP support (PATCH paths through the URN, flattened
/// keys before the extension is listed anywhere).
///
/// ## Declared at run time
///
/// The declaration is a builder setting: extensions are part of the service's schema, the
/// same for every directory it serves, and changing them means building a new
/// [`ScimService`](crate::ScimService) (cheap; swap it behind an `ArcSwap` or restart).
/// An admin-API variant, where a vendor's own admin UI adds attributes per organization,
/// would store the [`SchemaExtension`](crate::schema::SchemaExtension) definitions with the
/// organization and have the service read them with the directory it authenticates (one
/// more document in the same store call), so that `/Schemas` and validation differ per
/// directory; it is not built yet.
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
