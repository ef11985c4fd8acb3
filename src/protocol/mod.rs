//! The SCIM protocol layer: pure functions over SCIM JSON, no HTTP.
pub mod cursor;
pub mod document;
pub mod filter;
pub mod patch;
pub mod path;
pub mod projection;
pub mod quirks;
pub mod resource;
