//! Every SCIM URN scimkit speaks, in one place (RFC 7643 §3, §8.7; RFC 7644 §3, §8.2).

/// Core User schema.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The ServiceProviderConfig schema.
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// The ResourceType schema.
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// The Schema schema (what `/Schemas` lists).
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The ListResponse message.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The PatchOp message.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The SearchRequest message.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The Error message.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// What every protocol message URN starts with (never a resource schema).
pub const API_MESSAGES_PREFIX: &str = "urn:ietf:params:scim:api:";
/// What SCIM 1.1's core schema URNs start with.
pub const SCIM_1_CORE_PREFIX: &str = "urn:scim:schemas:core:";
