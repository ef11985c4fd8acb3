//! Typed reads of what vendors use most, tolerant of the shapes different IdPs send; the
//! same readers as [`crate::User`]'s (`model/accessors.rs`).

use super::{SyncGroup, SyncUser};
use crate::model::accessors as read;

impl SyncUser {
    /// `name.givenName`.
    pub fn given_name(&self) -> Option<&str> {
        read::given_name(&self.attributes)
    }

    /// `name.familyName`.
    pub fn family_name(&self) -> Option<&str> {
        read::family_name(&self.attributes)
    }

    /// `name.formatted`.
    pub fn formatted_name(&self) -> Option<&str> {
        read::formatted_name(&self.attributes)
    }

    /// `displayName`.
    pub fn display_name(&self) -> Option<&str> {
        read::display_name(&self.attributes)
    }

    /// The primary (else first) `emails[].value`.
    pub fn primary_email(&self) -> Option<&str> {
        read::primary_email(&self.attributes)
    }

    /// Every `emails[].value`.
    pub fn emails(&self) -> Vec<&str> {
        read::emails(&self.attributes)
    }

    /// `externalId`.
    pub fn external_id(&self) -> Option<&str> {
        read::external_id(&self.attributes)
    }

    /// `active` as the IdP last sent it (a boolean, or `"True"`/`"false"` text).
    pub fn active(&self) -> Option<bool> {
        read::active(&self.attributes)
    }

    /// Enterprise `employeeNumber`.
    pub fn employee_number(&self) -> Option<&str> {
        read::employee_number(&self.attributes)
    }

    /// Enterprise `department`.
    pub fn department(&self) -> Option<&str> {
        read::department(&self.attributes)
    }

    /// Enterprise `manager`'s id, whether sent as a string, `{"value": ..}` or
    /// `[{"value": ..}]`.
    pub fn manager_id(&self) -> Option<&str> {
        read::manager_id(&self.attributes)
    }
}

impl SyncGroup {
    /// `externalId`.
    pub fn external_id(&self) -> Option<&str> {
        read::external_id(&self.attributes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use serde_json::Value;

    use super::*;
    use crate::model::{DirectoryId, UserId};
    use crate::schema::ENTERPRISE_USER;

    fn user(attributes: Value) -> SyncUser {
        SyncUser {
            id: UserId::from_uuid(uuid::Uuid::from_u128(1)),
            scim_directory_id: DirectoryId::from_uuid(uuid::Uuid::from_u128(2)),
            email: Some("a@x.com".into()),
            deleted: false,
            state: crate::model::UserState::Active,
            attributes,
            roles: None,
            fields: Default::default(),
            field_errors: Vec::new(),
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
