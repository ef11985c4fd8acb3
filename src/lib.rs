//! # scimkit
//!
//! An embeddable SCIM 2.0 service provider (RFC 7643, RFC 7644, RFC 9865 cursors): a B2B
//! vendor mounts [`ScimService`] in its own server, its customers' identity providers
//! (Microsoft Entra ID, Okta, OneLogin, JumpCloud, Google, ...) provision users and
//! groups into it, and the vendor's code reads them back in-process with
//! [`DirectorySync`], page by page or as a live change feed.
//!
//! ## Quickstart
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use scimkit::sync::{DirectorySelector, ListUsers};
//! use scimkit::{Admin, DirectorySync, ScimService, store::MemoryStore};
//!
//! // State: the memory store (or SledStore, or your own DirectoryStore).
//! let store = Arc::new(MemoryStore::new());
//! // A customer, its SCIM directory, and the bearer token its IdP will use.
//! let admin = Admin::new(store.clone());
//! let org = admin.create_organization(Some("acme".into()), vec!["acme.com".into()]).await?;
//! let directory = admin.create_directory(&org.id, true).await?;
//! let token = admin.issue_scim_token(&directory.id).await?.secret;
//!
//! // The SCIM endpoint: mount it under /scim/v2 in any HTTP server.
//! let scim = ScimService::builder(store.clone()).build();
//! let request = http::Request::post(format!("/scim/v2/{}/Users", directory.id))
//!     .header("authorization", format!("Bearer {token}"))
//!     .header("content-type", "application/scim+json")
//!     .body(Bytes::from(r#"{"userName": "ann@acme.com"}"#))?;
//! assert_eq!(scim.handle(request).await.status(), 201);
//!
//! // The vendor side: read what the IdP provisioned.
//! let sync = DirectorySync::new(store);
//! let acme = DirectorySelector::OrganizationExternalId("acme".into());
//! let page = sync.list_users(ListUsers::new(acme)).await?;
//! assert_eq!(page.items[0].email.as_deref(), Some("ann@acme.com"));
//! assert!(page.next_page_token.is_none(), "one page holds them all");
//! # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! ## Features
//!
//! Nothing is on by default; the core needs no runtime beyond Tokio's timer and sync
//! primitives.
//!
//! | feature | what it adds | pulls in |
//! |---|---|---|
//! | (always) | [`ScimService`], [`ManagementService`], [`DirectorySync`] (pages, streams, change feed), [`Admin`], [`store::MemoryStore`], [`store::Hooked`] wrappers | — |
//! | `tower` | `tower::Service` for [`ScimService`] and [`ManagementService`] over any `http_body::Body`, so they mount in axum, hyper, tonic, ... (without it, mounting fails with an error naming this feature; call `handle` with a collected body instead) | `http-body`, `http-body-util` |
//! | `sled` | `store::SledStore`: a persistent, embedded backend for one process | `sled` |
//! | `postgres` | `store::PostgresStore` and `store::PostgresNotifier`: PostgreSQL shared by several server processes, with embedded migrations and cross-process change wake-ups | `tokio-postgres`, `deadpool-postgres` |
//! | `conformance` | `store::conformance`: the public suite that proves a backend (yours too) keeps the store traits' promises | — |
//! | `testing` | `scimkit::testing`: Entra, Okta and OneLogin simulators over an in-process or HTTP transport, for testing your own provisioning | `hyper`, `hyper-util` |
//! | `webhooks` | `scimkit::webhooks`: a `WebhookDispatcher` that POSTs every change (with its snapshot) to your endpoint, signed (Standard Webhooks), retried with backoff, cursor and dead letters in the store; `verify` for the receiving side; dead letters in the management API | `hyper`, `hyper-util` |
//!
//! The crates the public signatures use are re-exported in [`reexports`].
//!
//! ## Where to read on
//!
//! - [`docs`]: topic guides: the first hour (start here), the customer's setup page and
//!   IdP authentication, embedding in hyper, axum and warp; the request log; reading
//!   attributes; backends; the sync loop; identity providers.
//! - [`service`]: mounting, the builder's options, the request log.
//! - [`store`]: the storage traits and backends.
//! - [`sync`]: the vendor's sync loop, the change feed, the management API.
//! - [`docs::identity_providers`]: what each identity provider sends that the RFC does
//!   not say, and how scimkit reads it.
//! - `examples/`: `server` (hyper), `axum`, `hyper` (tower), `warp`, `sync_job`.
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs` on nightly, where this badges feature-gated items;
// on stable the attribute is not there and nothing changes.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
// A `pub` item that the crate root cannot reach is crate-private in fact: say so.
#![warn(unreachable_pub)]
// Public types leave room to grow unless a reason on the item says why not.
#![warn(clippy::exhaustive_structs, clippy::exhaustive_enums)]

pub mod admin;
pub mod docs;
pub mod error;
pub mod model;
// The protocol engine (filters, PATCH, projection, quirks, cursors) and the sealing of
// cursors are how scimkit works, not what an embedder calls: private, so they can change
// in any release. What the fuzz targets, property tests and benches drive directly is in
// `__private`.
mod protocol;
pub mod schema;
mod seal;
pub mod service;
pub mod store;
pub mod sync;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod urn;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhooks;

#[doc(hidden)]
pub mod __private;

/// The crates scimkit's public signatures use, at the versions it was built with, so
/// that embedding scimkit or implementing its traits needs no dependency of your own
/// kept in step with ours: `async_trait` for implementing
/// [`store::DirectoryStore`], [`store::TokenStore`] and [`store::ChangeListener`];
/// `http` and `bytes` for requests and responses;
/// `time` for timestamps; `serde_json` for
/// resource attributes; `uuid` for ids; and
/// `futures_core` for the [`Stream`](reexports::futures_core::Stream)
/// that sync listings and subscriptions implement.
///
/// ```
/// use scimkit::reexports::async_trait;
/// use scimkit::store::ChangeListener;
///
/// /// A listener that is never woken: subscriptions fall back to polling.
/// struct Never;
///
/// #[async_trait]
/// impl ChangeListener for Never {
///     async fn changed(&mut self) -> bool {
///         false
///     }
/// }
/// # let _ = Never;
/// ```
pub mod reexports {
    pub use ::async_trait::{self, async_trait};
    pub use ::bytes;
    pub use ::futures_core;
    pub use ::http;
    pub use ::serde_json;
    pub use ::time;
    pub use ::uuid;
}

pub use admin::Admin;
pub use error::{ScimError, ScimType, StoreError};
pub use model::{Directory, Group, Organization, User};
pub use service::ManagementService;
pub use service::ScimService;
pub use sync::DirectorySync;
