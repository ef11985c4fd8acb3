//! Typed reads of the attributes vendors use most, tolerant of the shapes different IdPs
//! send: attribute names in any case, `emails` as an array or one object, `active` as a
//! boolean or `"True"`/`"false"` text, enterprise attributes nested under the extension
//! URN or flattened as `urn:...:User:department` keys, and `manager` as a plain id,
//! `{"value": id}` or `[{"value": id}]`.
//!
//! The readers are functions of the SCIM document so that [`User`] and
//! [`crate::sync::SyncUser`], which hold the same document, answer alike.

use serde_json::Value;

use super::User;
use crate::urn::ENTERPRISE_USER;

/// `object[name]`, matching the name exactly first, then in any case (RFC 7643 §2.1:
/// attribute names are case-insensitive).
fn get<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// A non-empty string; IdPs send `""` for "not set".
fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Elements of a multi-valued attribute, whether sent as an array or one object.
fn elements(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// A boolean, or its text as Entra sends it (`"True"`, `"False"`).
fn boolean(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn name_part<'a>(doc: &'a Value, part: &str) -> Option<&'a str> {
    text(get(doc, "name").and_then(|name| get(name, part)))
}

fn enterprise<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    get(doc, ENTERPRISE_USER)
        .and_then(|extension| get(extension, name))
        .or_else(|| get(doc, &format!("{ENTERPRISE_USER}:{name}")))
}

pub(crate) fn given_name(doc: &Value) -> Option<&str> {
    name_part(doc, "givenName")
}

pub(crate) fn family_name(doc: &Value) -> Option<&str> {
    name_part(doc, "familyName")
}

pub(crate) fn formatted_name(doc: &Value) -> Option<&str> {
    name_part(doc, "formatted")
}

pub(crate) fn display_name(doc: &Value) -> Option<&str> {
    text(get(doc, "displayName"))
}

pub(crate) fn primary_email(doc: &Value) -> Option<&str> {
    let emails = elements(get(doc, "emails"));
    emails
        .iter()
        .find(|email| boolean(get(email, "primary")) == Some(true))
        .or_else(|| emails.first())
        .and_then(|email| text(get(email, "value")))
}

pub(crate) fn emails(doc: &Value) -> Vec<&str> {
    elements(get(doc, "emails"))
        .into_iter()
        .filter_map(|email| text(get(email, "value")))
        .collect()
}

pub(crate) fn external_id(doc: &Value) -> Option<&str> {
    text(get(doc, "externalId"))
}

pub(crate) fn active(doc: &Value) -> Option<bool> {
    boolean(get(doc, "active"))
}

pub(crate) fn employee_number(doc: &Value) -> Option<&str> {
    text(enterprise(doc, "employeeNumber"))
}

pub(crate) fn department(doc: &Value) -> Option<&str> {
    text(enterprise(doc, "department"))
}

pub(crate) fn manager_id(doc: &Value) -> Option<&str> {
    match enterprise(doc, "manager")? {
        Value::String(id) => Some(id.as_str()).filter(|id| !id.is_empty()),
        other => elements(Some(other))
            .first()
            .and_then(|manager| text(get(manager, "value"))),
    }
}

/// Typed reads of [`User::attributes`]; each is `None` when the IdP did not send the
/// attribute (or sent it empty or in a shape that means nothing).
impl User {
    /// `name.givenName`.
    pub fn given_name(&self) -> Option<&str> {
        given_name(&self.attributes)
    }

    /// `name.familyName`.
    pub fn family_name(&self) -> Option<&str> {
        family_name(&self.attributes)
    }

    /// `name.formatted`.
    pub fn formatted_name(&self) -> Option<&str> {
        formatted_name(&self.attributes)
    }

    /// `displayName`.
    pub fn display_name(&self) -> Option<&str> {
        display_name(&self.attributes)
    }

    /// The `emails[].value` marked primary, else the first one. (The user's sign-in
    /// address, which may come from `userName`, is [`User::email`].)
    pub fn primary_email(&self) -> Option<&str> {
        primary_email(&self.attributes)
    }

    /// Every `emails[].value`, in the IdP's order, whether `emails` came as an array or
    /// as one object.
    pub fn emails(&self) -> Vec<&str> {
        emails(&self.attributes)
    }

    /// `active` as the IdP last sent it. Whether the user counts as deprovisioned is
    /// [`User::deleted`].
    pub fn active(&self) -> Option<bool> {
        active(&self.attributes)
    }

    /// Enterprise extension `employeeNumber`.
    pub fn employee_number(&self) -> Option<&str> {
        employee_number(&self.attributes)
    }

    /// Enterprise extension `department`.
    pub fn department(&self) -> Option<&str> {
        department(&self.attributes)
    }

    /// The id of the enterprise extension's `manager` (the IdP's id for the manager,
    /// as it sent it).
    pub fn manager_id(&self) -> Option<&str> {
        manager_id(&self.attributes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::OffsetDateTime;

    use super::*;
    use crate::model::{DirectoryId, Meta, UserId, UserState};

    fn user(attributes: Value) -> User {
        User {
            id: UserId::from_uuid(uuid::Uuid::from_u128(1)),
            directory_id: DirectoryId::from_uuid(uuid::Uuid::from_u128(2)),
            email: Some("signin@x.com".into()),
            state: UserState::Active,
            attributes,
            meta: Meta::new(OffsetDateTime::UNIX_EPOCH),
            unique_keys: Vec::new(),
        }
    }

    fn urn(name: &str) -> String {
        format!("{ENTERPRISE_USER}:{name}")
    }

    #[test]
    fn names_are_read_from_the_name_complex_attribute() {
        let u = user(json!({
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            "displayName": "Ann L."
        }));
        assert_eq!(u.given_name(), Some("Ann"));
        assert_eq!(u.family_name(), Some("Lee"));
        assert_eq!(u.formatted_name(), Some("Ann Lee"));
        assert_eq!(u.display_name(), Some("Ann L."));
    }

    #[test]
    fn attribute_names_match_in_any_case() {
        let u = user(json!({"Name": {"GivenName": "Ann"}, "DISPLAYNAME": "Ann"}));
        assert_eq!(u.given_name(), Some("Ann"));
        assert_eq!(u.display_name(), Some("Ann"));
    }

    #[test]
    fn empty_strings_and_missing_attributes_read_as_none() {
        let u = user(json!({"name": {"givenName": ""}, "displayName": ""}));
        assert_eq!((u.given_name(), u.display_name()), (None, None));
        let bare = user(json!({}));
        assert_eq!(
            (
                bare.family_name(),
                bare.formatted_name(),
                bare.primary_email()
            ),
            (None, None, None)
        );
        assert!(bare.emails().is_empty());
    }

    #[test]
    fn primary_email_prefers_the_primary_element_else_the_first() {
        let marked = user(json!({"emails": [
            {"value": "home@x.com"}, {"value": "work@x.com", "primary": true}
        ]}));
        assert_eq!(marked.primary_email(), Some("work@x.com"));
        assert_eq!(marked.emails(), ["home@x.com", "work@x.com"]);
        let unmarked = user(json!({"emails": [{"value": "a@x.com"}, {"value": "b@x.com"}]}));
        assert_eq!(unmarked.primary_email(), Some("a@x.com"));
        let textual = user(json!({"emails": [
            {"value": "a@x.com", "primary": "False"}, {"value": "b@x.com", "primary": "True"}
        ]}));
        assert_eq!(textual.primary_email(), Some("b@x.com"));
    }

    #[test]
    fn emails_may_be_one_object_instead_of_an_array() {
        let u = user(json!({"emails": {"value": "one@x.com", "type": "work"}}));
        assert_eq!(u.primary_email(), Some("one@x.com"));
        assert_eq!(u.emails(), ["one@x.com"]);
    }

    #[test]
    fn active_is_a_boolean_or_its_text_in_any_case() {
        for (sent, read) in [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!("True"), Some(true)),
            (json!("false"), Some(false)),
            (json!("yes"), None),
            (json!(1), None),
        ] {
            assert_eq!(
                user(json!({"active": sent.clone()})).active(),
                read,
                "{sent}"
            );
        }
        assert_eq!(user(json!({})).active(), None);
    }

    #[test]
    fn enterprise_attributes_nested_under_the_urn() {
        let u = user(json!({ENTERPRISE_USER: {
            "employeeNumber": "701", "department": "R&D", "manager": {"value": "m1"}
        }}));
        assert_eq!(u.employee_number(), Some("701"));
        assert_eq!(u.department(), Some("R&D"));
        assert_eq!(u.manager_id(), Some("m1"));
    }

    #[test]
    fn enterprise_attributes_flattened_as_urn_keys() {
        let u = user(json!({
            urn("employeeNumber"): "701",
            urn("department"): "Sales",
            urn("manager"): "m2"
        }));
        assert_eq!(u.employee_number(), Some("701"));
        assert_eq!(u.department(), Some("Sales"));
        assert_eq!(u.manager_id(), Some("m2"));
    }

    #[test]
    fn manager_is_a_string_an_object_or_an_array_of_one() {
        for manager in [
            json!("m1"),
            json!({"value": "m1", "displayName": "Boss"}),
            json!([{"value": "m1"}]),
        ] {
            let u = user(json!({ENTERPRISE_USER: {"manager": manager.clone()}}));
            assert_eq!(u.manager_id(), Some("m1"), "{manager}");
        }
        for nothing in [json!(""), json!({}), json!([]), json!(null), json!(7)] {
            let u = user(json!({ENTERPRISE_USER: {"manager": nothing.clone()}}));
            assert_eq!(u.manager_id(), None, "{nothing}");
        }
    }
}
