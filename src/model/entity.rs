//! The stored entities: organizations, directories, users, groups and their metadata.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::id::{DirectoryId, GroupId, OrganizationId, UserId};

/// A vendor's customer: owns email domains and at most one primary SCIM directory.
/// `#[non_exhaustive]`: read its fields; build one with [`Organization::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Organization {
    /// `org_...`.
    pub id: OrganizationId,
    /// The vendor's own id for this customer; unique when set.
    pub external_id: Option<String>,
    /// Email domains the organization owns, lower-case. Empty means any domain.
    pub domains: Vec<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl Organization {
    /// An organization with every field given (`domains` lower-case).
    pub fn new(
        id: OrganizationId,
        external_id: Option<String>,
        domains: Vec<String>,
        created: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            external_id,
            domains,
            created,
        }
    }

    /// Whether `email` may belong to a user of this organization: its domain is one of
    /// [`Organization::domains`] exactly (no subdomains), or the organization has none.
    pub fn allows_email(&self, email: &str) -> bool {
        if self.domains.is_empty() {
            return true;
        }
        match email.rsplit_once('@') {
            Some((_, domain)) => {
                let domain = domain.to_ascii_lowercase();
                self.domains.contains(&domain)
            }
            None => false,
        }
    }
}

/// Version and timestamps of a user or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Meta {
    /// When the resource was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    /// Incremented by every write; the ETag is `W/"{version}"`.
    pub version: u64,
}

impl Meta {
    /// Metadata of a resource created at `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self {
            created: at,
            last_modified: at,
            version: 1,
        }
    }

    /// The weak entity tag of this version.
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// Where a user stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "a vendor matches every state; a new one must break that match"
)]
pub enum UserState {
    /// Provisioned and active.
    Active,
    /// `active` set to false by the IdP: deprovisioned, still visible over SCIM.
    Deactivated,
    /// Deleted by the IdP: deprovisioned, gone from SCIM, kept for the vendor.
    Deleted,
}

/// A provisioned user. `#[non_exhaustive]`: read its fields; build one (a backend
/// decoding a row, a test) with [`User::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// `scim_user_...`.
    pub id: UserId,
    /// The directory it was provisioned into.
    pub directory_id: DirectoryId,
    /// The user's email: `userName` when it is an address, else the primary (or first)
    /// `emails[].value`. Always present under the default
    /// [`EmailPolicy::Required`](crate::schema::EmailPolicy); `None` only for a
    /// user provisioned without one under `EmailPolicy::Optional`.
    pub email: Option<String>,
    /// Lifecycle state; anything but [`UserState::Active`] reads as deleted to the vendor.
    pub state: UserState,
    /// The SCIM resource as the IdP last sent it, normalised, without `id`, `meta` or
    /// `groups`.
    pub attributes: Value,
    /// Version and timestamps.
    pub meta: Meta,
    /// The values of declared `uniqueness: server` (or `global`) extension attributes the
    /// write claims, computed by the service from the extensions in force
    /// ([`User::with_unique_keys`]). An input to [`DirectoryStore::insert_user`] and
    /// [`update_user`](crate::store::DirectoryStore::update_user), not stored data: the
    /// planner takes them off the user ([`plan::UserPlan::unique_keys`]), so a user a
    /// store returns or reads has none.
    ///
    /// [`DirectoryStore::insert_user`]: crate::store::DirectoryStore::insert_user
    /// [`plan::UserPlan::unique_keys`]: crate::store::plan::UserPlan::unique_keys
    #[serde(skip)]
    pub unique_keys: Vec<UniqueKey>,
}

/// A user as a read that only renders it needs it: [`User`] with its attributes as JSON
/// text, so a backend that keeps the text (the memory backend) hands it over without
/// parsing it, and the service copies most of it into the response as it is
/// ([`DirectoryStore::get_user_document`]). `#[non_exhaustive]`: build one with
/// [`UserDocument::new`] (or from a [`User`]).
///
/// [`DirectoryStore::get_user_document`]: crate::store::DirectoryStore::get_user_document
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UserDocument {
    /// `scim_user_...`.
    pub id: UserId,
    /// Lifecycle state.
    pub state: UserState,
    /// Version and timestamps.
    pub meta: Meta,
    /// [`User::attributes`] as JSON text: one object.
    pub attributes: String,
}

impl UserDocument {
    /// A user read as text; `attributes` must be the JSON text of one object.
    pub fn new(id: UserId, state: UserState, meta: Meta, attributes: String) -> Self {
        Self {
            id,
            state,
            meta,
            attributes,
        }
    }
}

impl From<User> for UserDocument {
    fn from(user: User) -> Self {
        Self {
            attributes: user.attributes.to_string(),
            id: user.id,
            state: user.state,
            meta: user.meta,
        }
    }
}

/// One value of a declared unique attribute, as a store compares it: the attribute's
/// path as declared (`urn:...:acme:2.0:User:badge`, or `...:User:badge.number` for a
/// sub-attribute) and the value in its normal form (lower-cased unless the attribute is
/// `caseExact`). Two users of a directory that are both active never hold the same key,
/// nor do two groups of a directory that are not deleted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UniqueKey {
    /// The attribute's path, as its extension declares it.
    pub attribute: String,
    /// The value, normalised.
    pub value: String,
}

impl UniqueKey {
    /// The key of `value` (already normalised) of `attribute`.
    pub fn new(attribute: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            attribute: attribute.into(),
            value: value.into(),
        }
    }
}

impl User {
    /// An active user with no email (add one with [`User::with_email`]).
    pub fn new(id: UserId, directory_id: DirectoryId, attributes: Value, meta: Meta) -> Self {
        Self {
            id,
            directory_id,
            email: None,
            state: UserState::Active,
            attributes,
            meta,
            unique_keys: Vec::new(),
        }
    }

    /// With the declared unique keys the write claims (see [`User::unique_keys`]).
    pub fn with_unique_keys(mut self, unique_keys: Vec<UniqueKey>) -> Self {
        self.unique_keys = unique_keys;
        self
    }

    /// With this email.
    pub fn with_email(mut self, email: Option<String>) -> Self {
        self.email = email;
        self
    }

    /// In this lifecycle state.
    pub fn with_state(mut self, state: UserState) -> Self {
        self.state = state;
        self
    }

    /// Whether the vendor should treat the user as deprovisioned.
    pub fn deleted(&self) -> bool {
        self.state != UserState::Active
    }

    /// The `userName` attribute (empty if the document lacks one).
    pub fn user_name(&self) -> &str {
        string_attribute(&self.attributes, "userName").unwrap_or("")
    }

    /// The `externalId` attribute.
    pub fn external_id(&self) -> Option<&str> {
        string_attribute(&self.attributes, "externalId")
    }

    /// Every `emails[].value`.
    pub fn email_values(&self) -> impl Iterator<Item = &str> {
        self.attributes
            .get("emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("value").and_then(Value::as_str))
    }
}

/// A provisioned group. Its members are a separate relation, not part of the document.
/// `#[non_exhaustive]`: read its fields; build one with [`Group::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// `scim_group_...`.
    pub id: GroupId,
    /// The directory it was provisioned into.
    pub directory_id: DirectoryId,
    /// `displayName`.
    pub display_name: String,
    /// Deleted by the IdP: gone from SCIM, kept for the vendor.
    pub deleted: bool,
    /// The SCIM resource as the IdP last sent it, normalised, without `id`, `meta` or
    /// `members`.
    pub attributes: Value,
    /// Version and timestamps.
    pub meta: Meta,
    /// The values of declared `uniqueness: server` (or `global`) Group extension
    /// attributes the write claims, as [`User::unique_keys`] are for users: computed by
    /// the service ([`Group::with_unique_keys`]), an input to
    /// [`insert_group`](crate::store::DirectoryStore::insert_group) and
    /// [`update_group`](crate::store::DirectoryStore::update_group), taken off by the
    /// planner ([`plan::GroupPlan::unique_keys`]), so a group a store returns has none.
    /// Groups and users hold keys apart: a group may hold a value a user holds.
    ///
    /// [`plan::GroupPlan::unique_keys`]: crate::store::plan::GroupPlan::unique_keys
    #[serde(skip)]
    pub unique_keys: Vec<UniqueKey>,
}

impl Group {
    /// A group that is not deleted (see [`Group::with_deleted`]).
    pub fn new(
        id: GroupId,
        directory_id: DirectoryId,
        display_name: impl Into<String>,
        attributes: Value,
        meta: Meta,
    ) -> Self {
        Self {
            id,
            directory_id,
            display_name: display_name.into(),
            deleted: false,
            attributes,
            meta,
            unique_keys: Vec::new(),
        }
    }

    /// With the declared unique keys the write claims (see [`Group::unique_keys`]).
    pub fn with_unique_keys(mut self, unique_keys: Vec<UniqueKey>) -> Self {
        self.unique_keys = unique_keys;
        self
    }

    /// Deleted by the IdP, or not.
    pub fn with_deleted(mut self, deleted: bool) -> Self {
        self.deleted = deleted;
        self
    }

    /// The `externalId` attribute.
    pub fn external_id(&self) -> Option<&str> {
        string_attribute(&self.attributes, "externalId")
    }
}

fn string_attribute<'a>(doc: &'a Value, name: &str) -> Option<&'a str> {
    doc.get(name).and_then(Value::as_str)
}
