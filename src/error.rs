//! The errors that cross module lines: [`ScimError`] (what a SCIM client sees) and
//! [`StoreError`] (what a backend reports).

use http::StatusCode;

/// The `scimType` values of RFC 7644 §3.12 (plus `invalidCursor` from RFC 9865).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScimType {
    /// The filter syntax was invalid or an operator was used where it is not allowed.
    InvalidFilter,
    /// The query would return too many results.
    TooMany,
    /// A unique attribute value is already taken.
    Uniqueness,
    /// The request tried to change an immutable or read-only attribute.
    Mutability,
    /// The request body or a parameter could not be parsed.
    InvalidSyntax,
    /// A PATCH path was malformed or names an unknown attribute.
    InvalidPath,
    /// A PATCH path matched nothing it could act on.
    NoTarget,
    /// A value has the wrong type, shape or content.
    InvalidValue,
    /// The requested protocol version is not supported.
    InvalidVers,
    /// The request carried sensitive data where it is not allowed (e.g. in a URL).
    Sensitive,
    /// A pagination cursor was malformed, tampered with, or expired (RFC 9865).
    InvalidCursor,
}

impl ScimType {
    /// The wire spelling, e.g. `"invalidValue"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }
}

/// A SCIM error response (RFC 7644 §3.12): an HTTP status, an optional `scimType`, and a
/// `detail` a human can act on.
///
/// `#[non_exhaustive]`: build one with [`ScimError::bad_request`] and the other
/// constructors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map(ScimType::as_str).unwrap_or("-"))]
#[non_exhaustive]
pub struct ScimError {
    /// The HTTP status of the response.
    pub status: StatusCode,
    /// The `scimType`, for 400 and 409 errors where the RFC defines one.
    pub scim_type: Option<ScimType>,
    /// The human-readable explanation.
    pub detail: String,
}

impl ScimError {
    /// A 400 error with the given `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// An error with a status and no `scimType`.
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// 404 for a resource or route that does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_FOUND, detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            scim_type: Some(ScimType::Uniqueness),
            detail: detail.into(),
        }
    }

    /// The SCIM error document (RFC 7644 §3.12) for this error.
    pub fn to_json(&self) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "schemas": [crate::urn::ERROR],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let (Some(scim_type), Some(obj)) = (self.scim_type, doc.as_object_mut()) {
            obj.insert("scimType".into(), scim_type.as_str().into());
        }
        doc
    }
}

/// An attribute whose uniqueness a store enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UniqueAttribute {
    /// A user's `userName`, among users that are not deleted, per directory.
    UserName,
    /// An organization's external id.
    OrganizationExternalId,
    /// A token's secret hash.
    TokenHash,
    /// An id that already exists.
    Id,
}

/// The kind of entity a [`StoreError::NotFound`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntityKind {
    /// An organization.
    Organization,
    /// A SCIM directory.
    Directory,
    /// A user.
    User,
    /// A group.
    Group,
    /// A bearer token or API key.
    Token,
}

impl EntityKind {
    /// The lower-case name used in messages (`"user"`, `"group"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Organization => "organization",
            EntityKind::Directory => "directory",
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Token => "token",
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a storage backend reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The entity does not exist (or is in another directory).
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of entity.
        kind: EntityKind,
        /// Its id, as given.
        id: String,
    },
    /// A unique value is taken.
    #[error("{0:?} is already taken")]
    Conflict(UniqueAttribute),
    /// Another active user of the directory (for a group write: another group of it,
    /// not deleted) holds a value of a declared unique attribute (an extension attribute
    /// with `uniqueness: server` or `global`) that the write claims
    /// ([`User::unique_keys`](crate::model::User::unique_keys),
    /// [`Group::unique_keys`](crate::model::Group::unique_keys)).
    #[error("another user or group of the directory holds this value of {attribute}")]
    AttributeTaken {
        /// The attribute's path, as its extension declares it.
        attribute: String,
    },
    /// Compare-and-swap failed: the stored version is not the one the write expected.
    #[error("expected version {expected}, found {actual}")]
    Precondition {
        /// The version the writer read.
        expected: u64,
        /// The version stored now.
        actual: u64,
    },
    /// The change log no longer holds the entries after the cursor asked for: they were
    /// trimmed by [`crate::store::DirectoryStore::trim_changes`]. A reader must start over
    /// with a full sync.
    #[error("changes through seq {through} were trimmed from the log")]
    ChangesTrimmed {
        /// Entries with `seq <= through` are gone; a cursor of `through` or later still
        /// reads.
        through: u64,
    },
    /// A group member that is a group would make the nesting cyclic or too deep.
    #[error(transparent)]
    Nesting(#[from] crate::store::plan::NestingRefusal),
    /// The backend itself failed (I/O, corruption, ...).
    #[error("storage backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// `NotFound` for `kind` with `id`.
    pub fn not_found(kind: EntityKind, id: impl std::fmt::Display) -> Self {
        StoreError::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}
