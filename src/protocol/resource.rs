//! What a user or group document means to scimkit (its email, its lifecycle state) and
//! how a stored entity is rendered back as a SCIM resource.

use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use crate::error::ScimType;
use crate::model::{Group, GroupId, Meta, Organization, User, UserId, UserState};
use crate::protocol::ProtocolError;

pub use crate::urn::{
    GROUP as GROUP_SCHEMA, LIST_RESPONSE as LIST_RESPONSE_SCHEMA, USER as USER_SCHEMA,
};

pub use crate::schema::EmailPolicy;

/// The email of a user document: `userName` when it is an address, else the primary (or
/// first) `emails[].value`. Refused when the organization owns domains and the email is
/// outside them, and, under [`EmailPolicy::Required`], when there is none.
///
/// The email is compared and returned trimmed and NFC-normalised, and refused when it
/// holds invisible characters (zero-width, bidi controls, ...), so two users cannot carry
/// emails that look the same but differ. A `userName` that is an address must already be
/// in that form: uniqueness is on `userName` as sent, so ` ann@acme.com` or a decomposed
/// `é` beside `ann@acme.com` or a composed one would be two users who look the same.
pub fn user_email(
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
    use unicode_normalization::UnicodeNormalization;
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
pub fn requested_state(doc: &Value) -> UserState {
    match doc.get("active").and_then(Value::as_bool) {
        Some(false) => UserState::Deactivated,
        _ => UserState::Active,
    }
}

/// A group's `displayName`.
pub fn group_display_name(doc: &Value) -> Result<String, ProtocolError> {
    match doc.get("displayName").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => Ok(name.to_owned()),
        _ => Err(ProtocolError::new(
            ScimType::InvalidValue,
            "a group needs a non-empty string `displayName`",
        )),
    }
}

/// The member ids listed in a group document's `members[].value`.
pub fn member_ids(doc: &Value) -> Result<Vec<UserId>, ProtocolError> {
    let Some(members) = doc.get("members") else {
        return Ok(Vec::new());
    };
    let Some(members) = members.as_array() else {
        return Err(ProtocolError::new(
            ScimType::InvalidValue,
            "`members` must be an array of {\"value\": \"<user id>\"}",
        ));
    };
    members.iter().map(member_id).collect()
}

/// The user id of one `members` element (`{"value": "scim_user_..."}`).
pub fn member_id(member: &Value) -> Result<UserId, ProtocolError> {
    let value = member.get("value").and_then(Value::as_str).unwrap_or("");
    value.parse().map_err(|_| {
        ProtocolError::new(
            ScimType::InvalidValue,
            format!("group member `{value}` is not a user id of this directory"),
        )
    })
}

/// Where a directory's resources live, for `meta.location` and `$ref`.
#[derive(Debug, Clone)]
pub struct Locations {
    /// `{public url}{prefix}/{directory id}`.
    pub base: String,
}

impl Locations {
    /// URL of a user.
    pub fn user(&self, id: &UserId) -> String {
        format!("{}/Users/{id}", self.base)
    }

    /// URL of a group.
    pub fn group(&self, id: &GroupId) -> String {
        format!("{}/Groups/{id}", self.base)
    }
}

/// A group a user belongs to, for the user's read-only `groups` attribute.
#[derive(Debug, Clone)]
pub struct GroupRef {
    /// The group's id.
    pub id: GroupId,
    /// The group's display name.
    pub display: String,
}

fn meta_json(meta: &Meta, resource_type: &str, location: String) -> Value {
    let time = |t: &time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    json!({
        "resourceType": resource_type,
        "created": time(&meta.created),
        "lastModified": time(&meta.last_modified),
        "location": location,
        "version": meta.etag(),
    })
}

fn with_identity(attributes: &Value, schema: &str, id: &str) -> Map<String, Value> {
    let mut doc = attributes.as_object().cloned().unwrap_or_default();
    let mut schemas = vec![Value::from(schema)];
    if let Some(Value::Array(sent)) = doc.get("schemas") {
        schemas.extend(
            sent.iter()
                .filter(|s| s.as_str().is_some_and(|s| !s.eq_ignore_ascii_case(schema)))
                .cloned(),
        );
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert("id".into(), id.into());
    doc
}

/// A user as a SCIM resource.
pub fn render_user(user: &User, groups: &[GroupRef], at: &Locations) -> Value {
    let mut doc = with_identity(&user.attributes, USER_SCHEMA, user.id.as_str());
    // `active` is shown as the IdP left it (a removed `active` stays absent), except that a
    // deprovisioned user always reads `active: false`.
    if user.state != UserState::Active {
        doc.insert("active".into(), Value::Bool(false));
    }
    if !groups.is_empty() {
        let groups = groups
            .iter()
            .map(|g| {
                json!({"value": g.id.as_str(), "display": g.display, "$ref": at.group(&g.id), "type": "direct"})
            })
            .collect();
        doc.insert("groups".into(), Value::Array(groups));
    }
    doc.insert(
        "meta".into(),
        meta_json(&user.meta, "User", at.user(&user.id)),
    );
    Value::Object(doc)
}

/// A group as a SCIM resource; `members` is `None` when the caller chose not to read them.
pub fn render_group(group: &Group, members: Option<&[UserId]>, at: &Locations) -> Value {
    let mut doc = with_identity(&group.attributes, GROUP_SCHEMA, group.id.as_str());
    doc.insert("displayName".into(), group.display_name.clone().into());
    if let Some(members) = members {
        let members = members
            .iter()
            .map(|m| json!({"value": m.as_str(), "$ref": at.user(m), "type": "User"}))
            .collect();
        doc.insert("members".into(), Value::Array(members));
    }
    doc.insert(
        "meta".into(),
        meta_json(&group.meta, "Group", at.group(&group.id)),
    );
    Value::Object(doc)
}

pub use crate::schema::list_response;

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
