//! scimkit: an embeddable SCIM 2.0 service provider.
#![forbid(unsafe_code)]

pub mod error;
pub mod protocol;
pub mod schema;

pub use error::{ScimError, ScimType};
