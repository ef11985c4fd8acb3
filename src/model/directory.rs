//! A SCIM directory and what the vendor configures on it: its name, the identity
//! provider, its lifecycle state, and the group-to-role and attribute mappings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::id::{DirectoryId, GroupId, OrganizationId};
use super::idp::IdpKind;
use crate::schema::SchemaExtension;

/// A SCIM directory: the endpoint one identity provider pushes to.
///
/// `#[non_exhaustive]`: read its fields, build one with [`Directory::new`] and the
/// `with_*` methods (a new directory is [`DirectoryState::Pending`]).
///
/// ```
/// use scimkit::model::{Directory, DirectoryId, DirectoryState, IdpKind, OrganizationId};
///
/// let org: OrganizationId = "org_01hzx0m5a8d4v1n6b2c3e4f5g6".parse()?;
/// let id: DirectoryId = "scim_directory_01hzx0m5a8d4v1n6b2c3e4f5g7".parse()?;
/// let directory = Directory::new(id, org, true)
///     .with_name("Acme's Okta")
///     .with_idp(IdpKind::Okta);
/// assert_eq!(directory.state, DirectoryState::Pending);
/// # Ok::<_, scimkit::model::IdParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Directory {
    /// `scim_directory_...`.
    pub id: DirectoryId,
    /// The organization it belongs to.
    pub organization_id: OrganizationId,
    /// Whether it is its organization's primary directory (at most one is).
    pub primary: bool,
    /// A name the vendor or its customer gave it, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The identity provider the customer chose.
    #[serde(default)]
    pub idp: IdpKind,
    /// Where it stands in its lifecycle. Directories stored before states existed read
    /// as [`DirectoryState::Active`]: they were already serving.
    #[serde(default = "DirectoryState::stored_before_states")]
    pub state: DirectoryState,
    /// When an identity provider last made an authenticated request to it (kept to
    /// about a minute's precision, so reading does not cost a write per request).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_request_at: Option<OffsetDateTime>,
    /// Which of the IdP's groups mean which of the vendor's roles.
    #[serde(default, skip_serializing_if = "RoleMapping::is_empty")]
    pub roles: RoleMapping,
    /// Which IdP attributes mean which of the vendor's fields (on top of the
    /// defaults for [`Directory::idp`]).
    #[serde(default, skip_serializing_if = "FieldMapping::is_empty")]
    pub fields: FieldMapping,
    /// The schema extensions this directory declares on top of the service's (see
    /// [`crate::docs::schema_extensions`]): served, checked, filtered and projected for
    /// this directory's requests only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
}

impl Directory {
    /// A new, [pending](DirectoryState::Pending) directory with no name, provider
    /// [`IdpKind::Other`] and no mappings.
    pub fn new(id: DirectoryId, organization_id: OrganizationId, primary: bool) -> Self {
        Self {
            id,
            organization_id,
            primary,
            name: None,
            idp: IdpKind::Other,
            state: DirectoryState::Pending,
            last_request_at: None,
            roles: RoleMapping::default(),
            fields: FieldMapping::default(),
            schema_extensions: Vec::new(),
        }
    }

    /// With a name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// With the identity provider the customer chose.
    pub fn with_idp(mut self, idp: IdpKind) -> Self {
        self.idp = idp;
        self
    }

    /// In `state`.
    pub fn with_state(mut self, state: DirectoryState) -> Self {
        self.state = state;
        self
    }

    /// With a group-to-role mapping.
    pub fn with_roles(mut self, roles: RoleMapping) -> Self {
        self.roles = roles;
        self
    }

    /// With an attribute mapping.
    pub fn with_fields(mut self, fields: FieldMapping) -> Self {
        self.fields = fields;
        self
    }

    /// With its own schema extensions.
    pub fn with_schema_extensions(mut self, extensions: Vec<SchemaExtension>) -> Self {
        self.schema_extensions = extensions;
        self
    }
}

/// A directory's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DirectoryState {
    /// Created; no identity provider has made an authenticated request yet.
    Pending,
    /// An identity provider has connected.
    Active,
    /// Turned off by the vendor: SCIM traffic is refused, the data is kept.
    Disabled,
    /// Deleted by the vendor: its tokens are gone and SCIM traffic is refused; the data is
    /// kept (read it, or erase it with `purge_directory`). Final: nothing enables it again.
    Deleted,
}

impl DirectoryState {
    fn stored_before_states() -> Self {
        DirectoryState::Active
    }

    /// `pending`, `active` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryState::Pending => "pending",
            DirectoryState::Active => "active",
            DirectoryState::Disabled => "disabled",
            DirectoryState::Deleted => "deleted",
        }
    }

    /// `pending`, `active`, `disabled` or `deleted`, back to a state.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pending" => Some(DirectoryState::Pending),
            "active" => Some(DirectoryState::Active),
            "disabled" => Some(DirectoryState::Disabled),
            "deleted" => Some(DirectoryState::Deleted),
            _ => None,
        }
    }

    /// Whether the directory takes SCIM requests: pending or active.
    pub fn serves(self) -> bool {
        matches!(self, DirectoryState::Pending | DirectoryState::Active)
    }
}

/// What a [`RoleMapping`] looks at in a group: its id, `displayName` and `externalId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_structs, reason = "a borrowed view callers build")]
pub struct GroupFacts<'a> {
    /// The group's id.
    pub id: &'a GroupId,
    /// Its `displayName`.
    pub display_name: &'a str,
    /// Its `externalId`, if it has one.
    pub external_id: Option<&'a str>,
}

impl GroupMatch {
    /// Whether `group` is the group this names (a display name case-insensitively).
    pub fn matches(&self, group: &GroupFacts<'_>) -> bool {
        match self {
            GroupMatch::Id(id) => id == group.id,
            GroupMatch::DisplayName(name) => {
                name == group.display_name
                    || name.to_lowercase() == group.display_name.to_lowercase()
            }
            GroupMatch::ExternalId(external_id) => group.external_id == Some(external_id.as_str()),
        }
    }
}

/// How a [`RoleRule`] recognises an IdP group.
///
/// By [`GroupMatch::DisplayName`] or [`GroupMatch::ExternalId`] a rule can be written
/// before the group is provisioned; a display name matches case-insensitively, as IdPs
/// treat group names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupMatch {
    /// The group's `scim_group_...` id.
    Id(GroupId),
    /// The group's `displayName`.
    DisplayName(String),
    /// The group's `externalId` (the IdP's own id for it).
    ExternalId(String),
}

/// One line of a [`RoleMapping`]: members of the matching group get `role`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleRule {
    /// Which group.
    pub group: GroupMatch,
    /// The vendor's role name.
    pub role: String,
}

impl RoleRule {
    /// Members of `group` get `role`.
    pub fn new(group: GroupMatch, role: impl Into<String>) -> Self {
        Self {
            group,
            role: role.into(),
        }
    }
}

/// Which IdP groups mean which vendor roles, and the role of a user no rule matches.
///
/// ```
/// use scimkit::model::{GroupMatch, RoleMapping};
///
/// let roles = RoleMapping::new()
///     .map(GroupMatch::DisplayName("Engineering".into()), "developer")
///     .with_default("viewer");
/// assert_eq!(roles.rules.len(), 1);
/// assert_eq!(roles.default_role.as_deref(), Some("viewer"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleMapping {
    /// The rules; a user gets the role of every rule whose group they are in.
    #[serde(default)]
    pub rules: Vec<RoleRule>,
    /// The role of an active user no rule gives a role to; none if `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
}

impl RoleMapping {
    /// No rules and no default role.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule: members of `group` get `role`.
    pub fn map(mut self, group: GroupMatch, role: impl Into<String>) -> Self {
        self.rules.push(RoleRule::new(group, role));
        self
    }

    /// Sets the default role.
    pub fn with_default(mut self, role: impl Into<String>) -> Self {
        self.default_role = Some(role.into());
        self
    }

    /// Whether it has no rules and no default.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.default_role.is_none()
    }

    /// Whether some rule names `group`: a change to the group (rename, new `externalId`,
    /// deletion) or to its members can change someone's roles only if one does.
    pub fn matches_group(&self, group: &GroupFacts<'_>) -> bool {
        self.rules.iter().any(|rule| rule.group.matches(group))
    }

    /// A user's effective roles: the role of every rule naming a group among `groups` (the
    /// groups, not deleted, the user is a direct member of), or the default role when no
    /// rule matches. A user who is not `active` (deleted or deactivated: deprovisioned)
    /// has no roles.
    ///
    /// ```
    /// use scimkit::model::{GroupFacts, GroupId, GroupMatch, RoleMapping};
    ///
    /// let roles = RoleMapping::new()
    ///     .map(GroupMatch::DisplayName("Engineering".into()), "developer")
    ///     .with_default("viewer");
    /// let id = GroupId::from_uuid(uuid::Uuid::nil());
    /// let engineering = GroupFacts { id: &id, display_name: "engineering", external_id: None };
    /// assert_eq!(roles.roles_of(true, [engineering]), ["developer".to_owned()].into());
    /// assert_eq!(roles.roles_of(true, []), ["viewer".to_owned()].into());
    /// assert!(roles.roles_of(false, [engineering]).is_empty());
    /// ```
    pub fn roles_of<'a>(
        &self,
        active: bool,
        groups: impl IntoIterator<Item = GroupFacts<'a>>,
    ) -> BTreeSet<String> {
        let mut roles = BTreeSet::new();
        if !active {
            return roles;
        }
        for group in groups {
            for rule in &self.rules {
                if rule.group.matches(&group) {
                    roles.insert(rule.role.clone());
                }
            }
        }
        if roles.is_empty() {
            roles.extend(self.default_role.iter().cloned());
        }
        roles
    }
}

/// Which IdP attribute, by SCIM attribute path (extension URNs and value filters such as
/// `emails[type eq "work"].value` included), fills which vendor field.
///
/// ```
/// use scimkit::model::FieldMapping;
///
/// let fields = FieldMapping::new().map(
///     "cost_center",
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
/// );
/// assert_eq!(fields.iter().count(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldMapping {
    paths: BTreeMap<String, String>,
}

impl FieldMapping {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps vendor field `field` to the SCIM attribute at `path` (replacing what `field`
    /// was mapped to).
    pub fn map(mut self, field: impl Into<String>, path: impl Into<String>) -> Self {
        self.paths.insert(field.into(), path.into());
        self
    }

    /// The SCIM path `field` is mapped to.
    pub fn path(&self, field: &str) -> Option<&str> {
        self.paths.get(field).map(String::as_str)
    }

    /// `(field, path)` pairs, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.paths.iter().map(|(f, p)| (f.as_str(), p.as_str()))
    }

    /// Whether no field is mapped.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_stored_before_states_reads_as_active_with_defaults() {
        let json = r#"{"id":"scim_directory_01hzx0m5a8d4v1n6b2c3e4f5g7",
                       "organization_id":"org_01hzx0m5a8d4v1n6b2c3e4f5g6","primary":true}"#;
        let directory: Directory = serde_json::from_str(json).unwrap();
        assert_eq!(directory.state, DirectoryState::Active);
        assert_eq!(directory.idp, IdpKind::Other);
        assert!(directory.roles.is_empty() && directory.fields.is_empty());
    }

    #[test]
    fn a_configured_directory_round_trips_through_json() {
        let directory = Directory::new(
            "scim_directory_01hzx0m5a8d4v1n6b2c3e4f5g7".parse().unwrap(),
            "org_01hzx0m5a8d4v1n6b2c3e4f5g6".parse().unwrap(),
            false,
        )
        .with_name("Okta")
        .with_idp(IdpKind::Okta)
        .with_state(DirectoryState::Disabled)
        .with_roles(
            RoleMapping::new()
                .map(GroupMatch::ExternalId("00g1".into()), "admin")
                .with_default("viewer"),
        )
        .with_fields(FieldMapping::new().map("title", "title"));
        let json = serde_json::to_value(&directory).unwrap();
        assert_eq!(json["roles"]["rules"][0]["group"]["by"], "external_id");
        assert_eq!(json["fields"]["title"], "title");
        assert_eq!(
            serde_json::from_value::<Directory>(json).unwrap(),
            directory
        );
    }
}
