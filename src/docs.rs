//! Topic guides. Nothing here is code; each submodule is a page.
//!
//! - `embedding` (feature `tower`): mounting [`ScimService`](crate::ScimService) in
//!   hyper, axum or warp.
//! - [`request_log`]: a "last SCIM requests" view for a customer's admin, and `tracing`.
//! - [`attributes`]: reading names, emails and enterprise attributes whatever the IdP.
//! - [`backends`]: where the directory lives.
//! - [`sync_loop`]: getting provisioned users into the product.
//! - [`identity_providers`]: what Entra, Okta and others do that the RFCs do not say.
//! - [`serving`]: the limits and timeouts a server in front of scimkit should set.

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
/// - [`MemoryStore`](crate::store::MemoryStore): always available; tests and demos.
/// - `SledStore` (feature `sled`): persistent and transactional, in one directory.
/// - Your own: implement the traits over your database and run `store::conformance`
///   (feature `conformance`) against it in your tests; it checks uniqueness under
///   concurrency, compare-and-swap, membership atomicity and the change log.
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
