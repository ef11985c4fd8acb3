//! scimkit: an embeddable SCIM 2.0 service provider.
#![forbid(unsafe_code)]

pub mod admin;
pub mod error;
pub mod model;
pub mod protocol;
pub mod schema;
pub mod seal;
pub mod store;
pub mod sync;

pub use admin::Admin;
pub use error::{ScimError, ScimType, StoreError};
pub use model::{Directory, Group, Organization, User};
pub mod service;

pub use service::ScimService;
pub use sync::{DirectorySync, ManagementService};
