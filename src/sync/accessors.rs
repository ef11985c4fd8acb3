//! Typed reads of what vendors use most, tolerant of the shapes different IdPs send.

use serde_json::Value;

use super::{SyncGroup, SyncUser};
use crate::schema::ENTERPRISE_USER;

fn get<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

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

impl SyncUser {
    fn enterprise(&self, name: &str) -> Option<&Value> {
        // Nested under the extension URN, or flattened as `urn:...:User:name`.
        get(&self.attributes, ENTERPRISE_USER)
            .and_then(|ext| get(ext, name))
            .or_else(|| get(&self.attributes, &format!("{ENTERPRISE_USER}:{name}")))
    }

    /// `name.givenName`.
    pub fn given_name(&self) -> Option<&str> {
        text(get(&self.attributes, "name").and_then(|n| get(n, "givenName")))
    }

    /// `name.familyName`.
    pub fn family_name(&self) -> Option<&str> {
        text(get(&self.attributes, "name").and_then(|n| get(n, "familyName")))
    }

    /// `name.formatted`.
    pub fn formatted_name(&self) -> Option<&str> {
        text(get(&self.attributes, "name").and_then(|n| get(n, "formatted")))
    }

    /// `displayName`.
    pub fn display_name(&self) -> Option<&str> {
        text(get(&self.attributes, "displayName"))
    }

    /// The primary (else first) `emails[].value`.
    pub fn primary_email(&self) -> Option<&str> {
        let emails = elements(get(&self.attributes, "emails"));
        let is_primary = |e: &&&Value| {
            matches!(get(e, "primary"), Some(Value::Bool(true)))
                || text(get(e, "primary")).is_some_and(|p| p.eq_ignore_ascii_case("true"))
        };
        emails
            .iter()
            .find(is_primary)
            .or_else(|| emails.first())
            .and_then(|e| text(get(e, "value")))
    }

    /// Every `emails[].value`.
    pub fn emails(&self) -> Vec<&str> {
        elements(get(&self.attributes, "emails"))
            .into_iter()
            .filter_map(|e| text(get(e, "value")))
            .collect()
    }

    /// `externalId`.
    pub fn external_id(&self) -> Option<&str> {
        text(get(&self.attributes, "externalId"))
    }

    /// `active` as the IdP last sent it (a boolean, or `"True"`/`"false"` text).
    pub fn active(&self) -> Option<bool> {
        match get(&self.attributes, "active")? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// Enterprise `employeeNumber`.
    pub fn employee_number(&self) -> Option<&str> {
        text(self.enterprise("employeeNumber"))
    }

    /// Enterprise `department`.
    pub fn department(&self) -> Option<&str> {
        text(self.enterprise("department"))
    }

    /// Enterprise `manager`'s id, whether sent as a string, `{"value": ..}` or
    /// `[{"value": ..}]`.
    pub fn manager_id(&self) -> Option<&str> {
        match self.enterprise("manager")? {
            Value::String(id) => Some(id.as_str()).filter(|s| !s.is_empty()),
            other => elements(Some(other))
                .first()
                .and_then(|m| text(get(m, "value"))),
        }
    }
}

impl SyncGroup {
    /// `externalId`.
    pub fn external_id(&self) -> Option<&str> {
        text(get(&self.attributes, "externalId"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{DirectoryId, UserId};

    fn user(attributes: Value) -> SyncUser {
        SyncUser {
            id: UserId::from_uuid(uuid::Uuid::from_u128(1)),
            scim_directory_id: DirectoryId::from_uuid(uuid::Uuid::from_u128(2)),
            email: "a@x.com".into(),
            deleted: false,
            attributes,
        }
    }

    #[test]
    fn reads_the_common_attributes() {
        let u = user(json!({
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            "displayName": "Ann", "externalId": "e1", "active": "False",
            "emails": [{"value": "home@x.com"}, {"value": "work@x.com", "primary": true}],
            ENTERPRISE_USER: {"employeeNumber": "7", "department": "R&D", "manager": {"value": "m1"}}
        }));
        assert_eq!(
            (u.given_name(), u.family_name(), u.formatted_name()),
            (Some("Ann"), Some("Lee"), Some("Ann Lee"))
        );
        assert_eq!(u.display_name(), Some("Ann"));
        assert_eq!(u.primary_email(), Some("work@x.com"));
        assert_eq!(u.emails(), ["home@x.com", "work@x.com"]);
        assert_eq!(u.external_id(), Some("e1"));
        assert_eq!(u.active(), Some(false));
        assert_eq!(
            (u.employee_number(), u.department(), u.manager_id()),
            (Some("7"), Some("R&D"), Some("m1"))
        );
    }

    #[test]
    fn tolerates_each_idp_shape() {
        for manager in [
            json!("m1"),
            json!([{"value": "m1"}]),
            json!({"value": "m1"}),
        ] {
            assert_eq!(
                user(json!({ENTERPRISE_USER: {"manager": manager}})).manager_id(),
                Some("m1")
            );
        }
        let flattened = user(json!({format!("{ENTERPRISE_USER}:department"): "Sales"}));
        assert_eq!(flattened.department(), Some("Sales"));
        let single = user(json!({"emails": {"value": "one@x.com"}}));
        assert_eq!(single.primary_email(), Some("one@x.com"));
        let empty = user(json!({}));
        assert_eq!(
            (
                empty.given_name(),
                empty.primary_email(),
                empty.active(),
                empty.manager_id()
            ),
            (None, None, None, None)
        );
    }
}
