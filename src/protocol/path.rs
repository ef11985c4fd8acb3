//! Attribute paths shared by filters, PATCH and projection. They live with the schema (a
//! path is resolved against attribute definitions), so the schema never depends on the
//! protocol layer; this module keeps the protocol-side name.

pub(crate) use crate::schema::path::*;
