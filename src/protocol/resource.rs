//! What a user or group document means to scimkit (its email, its lifecycle state) and
//! how a stored entity is rendered back as a SCIM resource.

use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use crate::error::ScimType;
use serde_json::value::RawValue;

use crate::model::{Group, GroupId, Meta, Organization, User, UserDocument, UserId, UserState};
use crate::protocol::ProtocolError;
use crate::protocol::projection::{Projection, Selection};
use crate::protocol::stored_text::TopLevel;
use crate::schema::{ResourceKind, SchemaRules};

pub(crate) use crate::urn::{GROUP as GROUP_SCHEMA, USER as USER_SCHEMA};

pub(crate) use crate::schema::EmailPolicy;

/// The email of a user document: `userName` when it is an address, else the primary (or
/// first) `emails[].value`. Refused when the organization owns domains and the email is
/// outside them, and, under [`EmailPolicy::Required`], when there is none.
///
/// The email is compared and returned trimmed and NFC-normalised, and refused when it
/// holds invisible characters (zero-width, bidi controls, ...), so two users cannot carry
/// emails that look the same but differ. A `userName` that is an address must already be
/// in that form: uniqueness is on `userName` as sent, so ` ann@acme.com` or a decomposed
/// `é` beside `ann@acme.com` or a composed one would be two users who look the same.
pub(crate) fn user_email(
    doc: &Value,
    org: &Organization,
    policy: EmailPolicy,
) -> Result<Option<String>, ProtocolError> {
    let user_name = doc.get("userName").and_then(Value::as_str).unwrap_or("");
    let email = if looks_like_email(user_name.trim()) {
        let canonical = canonical_email(user_name, "userName")?;
        if canonical != user_name {
            return Err(ProtocolError::new(
                ScimType::InvalidValue,
                format!(
                    "userName `{}` is an email address with surrounding spaces or in a non-NFC Unicode form; send `{canonical}`",
                    user_name.escape_debug()
                ),
            ));
        }
        Some(canonical)
    } else {
        primary_email(doc)
            .map(|e| canonical_email(&e, "emails.value"))
            .transpose()?
    };
    let Some(email) = email else {
        if policy == EmailPolicy::Optional {
            return Ok(None);
        }
        return Err(ProtocolError::new(
            ScimType::InvalidValue,
            format!(
                "user `{user_name}` has no email: userName is not an email address and `emails` holds no value"
            ),
        ));
    };
    if !org.allows_email(&email) {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        return Err(ProtocolError::new(
            ScimType::InvalidValue,
            format!(
                "email domain `{domain}` of `{email}` is not one of the organization's domains ({})",
                org.domains.join(", ")
            ),
        ));
    }
    Ok(Some(email))
}

/// Characters that render as nothing (or reorder text) and have no place in an address.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// An email trimmed and NFC-normalised; refused (naming `field` and the character) when
/// what is left holds an invisible character or a space.
fn canonical_email(text: &str, field: &str) -> Result<String, ProtocolError> {
    use unicode_normalization::{IsNormalized, UnicodeNormalization};
    let trimmed = text.trim();
    if let Some(c) = trimmed.chars().find(|&c| is_invisible(c)) {
        return Err(ProtocolError::new(
            ScimType::InvalidValue,
            format!(
                "{field} `{}` holds the invisible or space character U+{:04X}; an email address cannot",
                trimmed.escape_debug(),
                u32::from(c)
            ),
        ));
    }
    // Nearly every address is already NFC (all ASCII ones are): the quick check proves it
    // without the decompose-and-recompose pass, which costs more than the rest of a create's
    // validation.
    if trimmed.is_ascii()
        || unicode_normalization::is_nfc_quick(trimmed.chars()) == IsNormalized::Yes
    {
        return Ok(trimmed.to_owned());
    }
    Ok(trimmed.nfc().collect())
}

/// The primary `emails[].value` that is an address, else the first that is. IdPs send a
/// primary element with an empty `value` beside a valid secondary one; the valid one wins
/// rather than the user being refused.
fn primary_email(doc: &Value) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    let address = |e: &Value| {
        e.get("value")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| looks_like_email(v))
            .map(str::to_owned)
    };
    emails
        .iter()
        .filter(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .find_map(address)
        .or_else(|| emails.iter().find_map(address))
}

fn looks_like_email(text: &str) -> bool {
    match text.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains(' '),
        None => false,
    }
}

/// The state a written user document asks for: `active: false` deactivates, anything
/// else (including absence) is active.
pub(crate) fn requested_state(doc: &Value) -> UserState {
    match doc.get("active").and_then(Value::as_bool) {
        Some(false) => UserState::Deactivated,
        _ => UserState::Active,
    }
}

/// A group's `displayName`.
pub(crate) fn group_display_name(doc: &Value) -> Result<String, ProtocolError> {
    match doc.get("displayName").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => Ok(name.to_owned()),
        _ => Err(ProtocolError::new(
            ScimType::InvalidValue,
            "a group needs a non-empty string `displayName`",
        )),
    }
}

/// One element of a group's `members`: a user, or a group nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemberRef {
    /// A user member.
    User(UserId),
    /// A member group.
    Group(GroupId),
}

/// The members listed in a group document's `members` (users and member groups).
pub(crate) fn member_refs(doc: &Value) -> Result<Vec<MemberRef>, ProtocolError> {
    let Some(members) = doc.get("members") else {
        return Ok(Vec::new());
    };
    let Some(members) = members.as_array() else {
        return Err(ProtocolError::new(
            ScimType::InvalidValue,
            "`members` must be an array of {\"value\": \"<user or group id>\"}",
        ));
    };
    members.iter().map(member_ref).collect()
}

/// One `members` element (`{"value": "scim_user_..."}`, or a group:
/// `{"value": "scim_group_...", "type": "Group"}`). Without a `type`, the id's own
/// prefix tells a user from a group.
pub(crate) fn member_ref(member: &Value) -> Result<MemberRef, ProtocolError> {
    let value = member.get("value").and_then(Value::as_str).unwrap_or("");
    let kind = member.get("type").and_then(Value::as_str);
    let as_group = || value.parse::<GroupId>().ok().map(MemberRef::Group);
    let as_user = || value.parse::<UserId>().ok().map(MemberRef::User);
    let parsed = match kind {
        Some(t) if t.eq_ignore_ascii_case("group") => as_group(),
        Some(t) if t.eq_ignore_ascii_case("user") => as_user(),
        _ => as_user().or_else(as_group),
    };
    parsed.ok_or_else(|| {
        let what = match kind {
            Some(t) if t.eq_ignore_ascii_case("group") => "a group id",
            _ => "a user or group id",
        };
        ProtocolError::new(
            ScimType::InvalidValue,
            format!("group member `{value}` is not {what} of this directory"),
        )
    })
}

/// Where a directory's resources live, for `meta.location` and `$ref`.
#[derive(Debug, Clone)]
pub(crate) struct Locations {
    /// `{public url}{prefix}/{directory id}`.
    pub base: String,
}

impl Locations {
    /// URL of a user.
    pub(crate) fn user(&self, id: &UserId) -> String {
        self.of("/Users/", id.as_str())
    }

    /// URL of a group.
    pub(crate) fn group(&self, id: &GroupId) -> String {
        self.of("/Groups/", id.as_str())
    }

    /// Concatenated into one exact allocation: every rendered resource asks for one.
    fn of(&self, collection: &str, id: &str) -> String {
        let mut url = String::with_capacity(self.base.len() + collection.len() + id.len());
        url.push_str(&self.base);
        url.push_str(collection);
        url.push_str(id);
        url
    }
}

/// A group a user belongs to, for the user's read-only `groups` attribute (or a member
/// group, in a group's `members`).
#[derive(Debug, Clone)]
pub(crate) struct GroupRef {
    /// The group's id.
    pub id: GroupId,
    /// The group's display name.
    pub display: String,
    /// Whether the user is a member of the group itself (`false`: through a group
    /// nested in it; RFC 7643 §4.1.2 `type` `indirect`).
    pub direct: bool,
}

/// A group's members as rendered: its users, and the groups nested in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Members<'a> {
    /// User members.
    pub users: &'a [UserId],
    /// Member groups.
    pub groups: &'a [GroupRef],
}

impl Members<'_> {
    /// A group without members.
    pub(crate) const NONE: Members<'static> = Members {
        users: &[],
        groups: &[],
    };
}

/// A resource rendered for a response: the stored attributes borrowed, plus what
/// scimkit adds (`schemas`, `id`, `active`, `groups` or `members`, `meta`), in the
/// document's order. It serialises straight to JSON, so answering a request copies
/// nothing stored, except the parts of an attribute a projection keeps in part.
#[derive(Debug)]
pub(crate) struct Rendered<'a> {
    fields: Vec<(&'a str, Field<'a>)>,
}

/// One top-level attribute of a [`Rendered`] resource.
#[derive(Debug)]
enum Field<'a> {
    /// As stored.
    Stored(&'a Value),
    /// As stored, still the JSON text it was stored as ([`TopLevel`]).
    Raw(&'a RawValue),
    /// Made for this response (or reduced by a projection).
    Owned(Value),
    /// A string of the entity (`id`, a group's `displayName`).
    Str(&'a str),
    /// The resource's core schema, then the other schemas the document lists.
    Schemas {
        core: &'static str,
        sent: &'a [Value],
    },
    Meta(Box<MetaFields>),
}

/// `meta` (RFC 7643 §3.1), in the order it is rendered.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct MetaFields {
    resource_type: &'static str,
    created: String,
    last_modified: String,
    location: String,
    version: String,
}

impl MetaFields {
    fn new(meta: &Meta, resource_type: &'static str, location: String) -> Self {
        let time = |t: &time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        Self {
            resource_type,
            created: time(&meta.created),
            last_modified: time(&meta.last_modified),
            location,
            version: meta.etag(),
        }
    }
}

impl Field<'_> {
    fn to_value(&self) -> Value {
        match self {
            Field::Stored(value) => (*value).clone(),
            Field::Raw(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
            Field::Owned(value) => value.clone(),
            Field::Str(text) => Value::from(*text),
            Field::Schemas { core, sent } => Value::Array(schemas(core, sent).cloned().collect()),
            Field::Meta(meta) => json!({
                "resourceType": meta.resource_type,
                "created": meta.created,
                "lastModified": meta.last_modified,
                "location": meta.location,
                "version": meta.version,
            }),
        }
    }
}

/// The core schema first, then the other schemas a document lists.
fn schemas<'v>(core: &'static str, sent: &'v [Value]) -> impl Iterator<Item = &'v Value> + 'v {
    static CORE: std::sync::OnceLock<[Value; 2]> = std::sync::OnceLock::new();
    let [user, group] = CORE.get_or_init(|| [Value::from(USER_SCHEMA), Value::from(GROUP_SCHEMA)]);
    let first = if core == GROUP_SCHEMA { group } else { user };
    std::iter::once(first).chain(
        sent.iter()
            .filter(move |s| s.as_str().is_some_and(|s| !s.eq_ignore_ascii_case(core))),
    )
}

impl serde::Serialize for Field<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Stored(value) => value.serialize(serializer),
            Field::Raw(raw) => raw.serialize(serializer),
            Field::Owned(value) => value.serialize(serializer),
            Field::Str(text) => serializer.serialize_str(text),
            Field::Schemas { core, sent } => serializer.collect_seq(schemas(core, sent)),
            Field::Meta(meta) => meta.serialize(serializer),
        }
    }
}

impl serde::Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (key, field) in &self.fields {
            map.serialize_entry(key, field)?;
        }
        map.end()
    }
}

impl<'a> Rendered<'a> {
    /// The stored attributes with `schemas` and `id` set: a key already there keeps its
    /// place (as a map insert would), a new one goes at the end.
    fn identity(kind: ResourceKind, attributes: &'a Value, id: &'a str) -> Self {
        let stored = attributes.as_object();
        let mut fields = Vec::with_capacity(stored.map_or(0, Map::len) + 4);
        let mut sent: &[Value] = &[];
        for (key, value) in stored.into_iter().flatten() {
            if let ("schemas", Value::Array(listed)) = (key.as_str(), value) {
                sent = listed;
            }
            fields.push((key.as_str(), Field::Stored(value)));
        }
        let mut rendered = Self { fields };
        let core = match kind {
            ResourceKind::User => USER_SCHEMA,
            ResourceKind::Group => GROUP_SCHEMA,
        };
        rendered.set("schemas", Field::Schemas { core, sent });
        rendered.set("id", Field::Str(id));
        rendered
    }

    /// [`Rendered::identity`] for attributes read as text.
    fn identity_text(kind: ResourceKind, top: &'a TopLevel<'_>, id: &'a str) -> Self {
        let mut fields = Vec::with_capacity(top.members.len() + 4);
        for (key, value) in &top.members {
            fields.push((key.as_ref(), Field::Raw(value)));
        }
        let mut rendered = Self { fields };
        let core = match kind {
            ResourceKind::User => USER_SCHEMA,
            ResourceKind::Group => GROUP_SCHEMA,
        };
        rendered.set(
            "schemas",
            Field::Schemas {
                core,
                sent: &top.schemas,
            },
        );
        rendered.set("id", Field::Str(id));
        rendered
    }

    fn set(&mut self, key: &'a str, field: Field<'a>) {
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = field,
            None => self.fields.push((key, field)),
        }
    }

    /// The resource reduced by `projection` (see [`Projection::apply`], which this
    /// matches for borrowed attributes), with the `returned` of the service's declared
    /// extensions.
    pub(crate) fn project_declared(
        mut self,
        projection: &Projection,
        rules: &SchemaRules<'_>,
    ) -> Self {
        let compiled = projection.compile();
        self.fields.retain_mut(|(key, field)| {
            let selection = match field {
                Field::Stored(value) => compiled.select(rules, key, value),
                // Parsed only when the projection keeps part of it (or it may be an
                // extension object, whose members have rules of their own).
                Field::Raw(raw) => compiled.select_unparsed(rules, key).unwrap_or_else(|| {
                    match serde_json::from_str::<Value>(raw.get()) {
                        Ok(value) => compiled.select(rules, key, &value),
                        Err(_) => Selection::Keep,
                    }
                }),
                Field::Owned(value) => compiled.select(rules, key, value),
                Field::Str(_) | Field::Schemas { .. } | Field::Meta(_) => compiled
                    .select_plain(rules, key)
                    .unwrap_or_else(|| compiled.select(rules, key, &field.to_value())),
            };
            match selection {
                Selection::Drop => false,
                Selection::Keep => true,
                Selection::Replace(value) => {
                    *field = Field::Owned(value);
                    true
                }
            }
        });
        self
    }

    /// The resource with only the top-level attributes `keep` names, in their order.
    pub(crate) fn only(mut self, keep: impl Fn(&str) -> bool) -> Self {
        self.fields.retain(|(key, _)| keep(key));
        self
    }

    /// A string sub-attribute of `meta` as rendered (after any projection).
    fn meta(&self, name: &str) -> Option<&str> {
        let (_, meta) = self.fields.iter().find(|(k, _)| *k == "meta")?;
        match meta {
            Field::Meta(meta) => match name {
                "version" => Some(meta.version.as_str()),
                "location" => Some(meta.location.as_str()),
                _ => None,
            },
            Field::Owned(value) => value.get(name).and_then(Value::as_str),
            _ => None,
        }
    }

    /// `meta.version`, for the `ETag` header.
    pub(crate) fn version(&self) -> Option<&str> {
        self.meta("version")
    }

    /// `meta.location`, for the `Location` header.
    pub(crate) fn location(&self) -> Option<&str> {
        self.meta("location")
    }

    /// The resource as a JSON value (a copy of everything it borrows).
    pub(crate) fn into_value(self) -> Value {
        Value::Object(
            self.fields
                .into_iter()
                .map(|(key, field)| {
                    let value = match field {
                        Field::Owned(value) => value,
                        other => other.to_value(),
                    };
                    (key.to_owned(), value)
                })
                .collect(),
        )
    }
}

/// A user as a SCIM resource, borrowing its stored attributes.
pub(crate) fn user_document<'a>(
    user: &'a User,
    groups: &[GroupRef],
    at: &Locations,
) -> Rendered<'a> {
    let doc = Rendered::identity(ResourceKind::User, &user.attributes, user.id.as_str());
    with_user_fields(doc, user.state, &user.id, &user.meta, groups, at)
}

/// [`user_document`] from a user read as text: its attributes are copied into the
/// response as stored, parsed only where a projection keeps part of one.
pub(crate) fn user_document_text<'a>(
    user: &'a UserDocument,
    attributes: &'a TopLevel<'_>,
    groups: &[GroupRef],
    at: &Locations,
) -> Rendered<'a> {
    let doc = Rendered::identity_text(ResourceKind::User, attributes, user.id.as_str());
    with_user_fields(doc, user.state, &user.id, &user.meta, groups, at)
}

/// What scimkit adds to a user's stored attributes: `active` for a deprovisioned user,
/// `groups`, `meta`.
fn with_user_fields<'a>(
    mut doc: Rendered<'a>,
    state: UserState,
    id: &UserId,
    meta: &Meta,
    groups: &[GroupRef],
    at: &Locations,
) -> Rendered<'a> {
    // `active` is shown as the IdP left it (a removed `active` stays absent), except that a
    // deprovisioned user always reads `active: false`.
    if state != UserState::Active {
        doc.set("active", Field::Owned(Value::Bool(false)));
    }
    if !groups.is_empty() {
        let groups = groups
            .iter()
            .map(|g| {
                let kind = if g.direct { "direct" } else { "indirect" };
                json!({"value": g.id.as_str(), "display": g.display, "$ref": at.group(&g.id), "type": kind})
            })
            .collect();
        doc.set("groups", Field::Owned(Value::Array(groups)));
    }
    doc.set(
        "meta",
        Field::Meta(Box::new(MetaFields::new(meta, "User", at.user(id)))),
    );
    doc
}

/// A group as a SCIM resource, borrowing its stored attributes; `members` is `None` when
/// the caller chose not to read them.
pub(crate) fn group_document<'a>(
    group: &'a Group,
    members: Option<Members<'_>>,
    at: &Locations,
) -> Rendered<'a> {
    let mut doc = Rendered::identity(ResourceKind::Group, &group.attributes, group.id.as_str());
    doc.set("displayName", Field::Str(&group.display_name));
    if let Some(members) = members {
        let users = members
            .users
            .iter()
            .map(|m| json!({"value": m.as_str(), "$ref": at.user(m), "type": "User"}));
        let groups = members.groups.iter().map(|g| {
            json!({"value": g.id.as_str(), "display": g.display, "$ref": at.group(&g.id), "type": "Group"})
        });
        let members = users.chain(groups).collect();
        doc.set("members", Field::Owned(Value::Array(members)));
    }
    doc.set(
        "meta",
        Field::Meta(Box::new(MetaFields::new(
            &group.meta,
            "Group",
            at.group(&group.id),
        ))),
    );
    doc
}

/// A group as a SCIM resource; `members` is `None` when the caller chose not to read them.
pub(crate) fn render_group(group: &Group, members: Option<Members<'_>>, at: &Locations) -> Value {
    group_document(group, members, at).into_value()
}

pub(crate) use crate::schema::list_response;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrganizationId;
    use time::macros::datetime;

    fn org(domains: &[&str]) -> Organization {
        Organization {
            id: OrganizationId::from_uuid(uuid::Uuid::from_u128(1)),
            external_id: None,
            domains: domains.iter().map(|d| d.to_string()).collect(),
            created: datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn email_is_user_name_when_it_is_an_address() {
        let doc = json!({"userName": "ann@acme.com", "emails": [{"value": "other@acme.com"}]});
        assert_eq!(
            user_email(&doc, &org(&[]), EmailPolicy::Required)
                .unwrap()
                .unwrap(),
            "ann@acme.com"
        );
    }

    #[test]
    fn email_falls_back_to_primary_then_first_emails_value() {
        let doc = json!({"userName": "ann", "emails": [
            {"value": "first@acme.com"}, {"value": "primary@acme.com", "primary": true}]});
        assert_eq!(
            user_email(&doc, &org(&[]), EmailPolicy::Required)
                .unwrap()
                .unwrap(),
            "primary@acme.com"
        );
        let doc = json!({"userName": "ann", "emails": [{"value": "first@acme.com"}]});
        assert_eq!(
            user_email(&doc, &org(&[]), EmailPolicy::Required)
                .unwrap()
                .unwrap(),
            "first@acme.com"
        );
    }

    #[test]
    fn an_empty_primary_email_gives_way_to_a_valid_secondary() {
        let doc = json!({"userName": "ann", "emails": [
            {"value": "", "primary": true, "type": "work"},
            {"value": "ann@acme.com", "type": "home"}]});
        assert_eq!(
            user_email(&doc, &org(&[]), EmailPolicy::Required)
                .unwrap()
                .unwrap(),
            "ann@acme.com"
        );
        let doc = json!({"userName": "ann", "emails": [{"value": "", "primary": true}]});
        assert!(user_email(&doc, &org(&[]), EmailPolicy::Required).is_err());
    }

    #[test]
    fn a_user_without_email_is_refused() {
        let err = user_email(
            &json!({"userName": "ann"}),
            &org(&[]),
            EmailPolicy::Required,
        )
        .unwrap_err();
        assert_eq!(err.scim_type, ScimType::InvalidValue);
        assert!(err.detail.contains("no email"), "{}", err.detail);
        let optional = user_email(
            &json!({"userName": "ann"}),
            &org(&["acme.com"]),
            EmailPolicy::Optional,
        );
        assert_eq!(optional.unwrap(), None);
    }

    #[test]
    fn domains_match_exactly_and_case_insensitively_without_subdomains() {
        let acme = org(&["acme.com"]);
        assert!(
            user_email(
                &json!({"userName": "a@ACME.com"}),
                &acme,
                EmailPolicy::Required
            )
            .is_ok()
        );
        let err = user_email(
            &json!({"userName": "a@eu.acme.com"}),
            &acme,
            EmailPolicy::Optional,
        )
        .unwrap_err();
        assert!(err.detail.contains("`eu.acme.com`"), "{}", err.detail);
        assert!(
            user_email(
                &json!({"userName": "a@evil.com"}),
                &acme,
                EmailPolicy::Required
            )
            .is_err()
        );
    }
}
