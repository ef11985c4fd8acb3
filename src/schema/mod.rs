//! SCIM schemas: the core User and Group schemas and the enterprise User extension, the
//! discovery documents built from them, and attribute lookup by path.

mod core;
mod definition;
pub mod discovery;
mod extension;
pub mod path;

pub use core::{
    ENTERPRISE_USER, GROUP, USER, all_schemas, common_attributes, enterprise_user_schema,
    group_schema, user_schema,
};
pub use definition::{AttributeDef, AttributeType, Mutability, Returned, Schema, Uniqueness};
pub(crate) use extension::{Extensions, SchemaRules};
pub use extension::{SchemaError, SchemaExtension, SchemaExtensionBuilder};

use std::sync::LazyLock;

use self::path::{AttrPath, CaseExactness};

/// A resource type scimkit serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_enums,
    reason = "the core resource types of RFC 7643; a match on them must see a new one"
)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// The core schema.
    pub fn schema(self) -> &'static Schema {
        match self {
            ResourceKind::User => user_schema(),
            ResourceKind::Group => group_schema(),
        }
    }

    /// The extensions a resource of this type may carry.
    pub fn extensions(self) -> &'static [&'static Schema] {
        static USER_EXTENSIONS: std::sync::LazyLock<[&'static Schema; 1]> =
            std::sync::LazyLock::new(|| [enterprise_user_schema()]);
        match self {
            ResourceKind::User => &*USER_EXTENSIONS,
            ResourceKind::Group => &[],
        }
    }

    /// The extension with this URN (case-insensitively), if the type allows it.
    pub fn extension(self, urn: &str) -> Option<&'static Schema> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The resource type's name, as in `/ResourceTypes` (`User`, `Group`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// Whether `urn` may name an extension object of this resource type that scimkit has no
    /// schema for: a URN that is neither a core schema nor a protocol message
    /// (`urn:ietf:params:scim:api:...`). IdPs send custom attributes under such URNs
    /// (Entra's `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User`,
    /// Okta's "external namespace"); scimkit stores them as sent, without a type check.
    ///
    /// A URN-qualified attribute of a schema scimkit knows
    /// (`urn:...:enterprise:2.0:User:manager`) or of a conventional custom extension
    /// (`urn:...:Acme:2.0:User:tag`) is not one: it names an attribute, not an extension.
    pub fn is_custom_extension(self, urn: &str) -> bool {
        let lower = urn.to_ascii_lowercase();
        let names_schema = |text: &str| {
            text.eq_ignore_ascii_case(USER)
                || text.eq_ignore_ascii_case(GROUP)
                || self.extension(text).is_some()
        };
        let qualifies_an_attribute = urn.rsplit_once(':').is_some_and(|(prefix, _)| {
            names_schema(prefix)
                || prefix
                    .rsplit_once(':')
                    .is_some_and(|(_, last)| last.eq_ignore_ascii_case(self.name()))
        });
        lower.starts_with("urn:")
            && lower.len() > "urn:".len()
            && !lower.starts_with(crate::urn::API_MESSAGES_PREFIX)
            // SCIM 1.1's core schema is the core schema under an old name, not an extension.
            && !lower.starts_with(crate::urn::SCIM_1_CORE_PREFIX)
            && !names_schema(urn)
            && !qualifies_an_attribute
    }

    /// Whether `text` names a whole custom extension object by its conventional form, a
    /// URN whose last segment is the resource type's name
    /// (`urn:ietf:params:scim:schemas:extension:Acme:2.0:User`). Any other URN-qualified
    /// name reads as `urn:attribute` (split at its last `:`).
    pub fn is_custom_extension_object(self, text: &str) -> bool {
        self.is_custom_extension(text)
            && text
                .rsplit_once(':')
                .is_some_and(|(_, last)| last.eq_ignore_ascii_case(self.name()))
    }

    /// The definition of the attribute a path names (its sub-attribute's, when it has
    /// one): core, common or extension attributes, case-insensitively.
    pub fn attribute(self, path: &AttrPath) -> Option<&'static AttributeDef> {
        let top = match &path.urn {
            Some(urn) if urn.eq_ignore_ascii_case(&self.schema().id) => {
                self.find_core(&path.attribute)
            }
            Some(urn) => self.extension(urn)?.attribute(&path.attribute),
            None => self.find_core(&path.attribute),
        }?;
        match &path.sub_attribute {
            Some(sub) => top.sub_attribute(sub),
            None => Some(top),
        }
    }

    /// The top-level core and common attributes a response leaves out unless a request
    /// names them (`returned: never` or `request`). A plain name (no URN, no
    /// sub-attribute) can only match these, since declared extensions are reached through
    /// a URN; kept as a list (one entry for User: `password`) so a renderer checks each
    /// attribute of each resource against it without a schema lookup.
    pub(crate) fn withheld_top_level(self) -> &'static [&'static str] {
        static WITHHELD: LazyLock<[Vec<&'static str>; 2]> = LazyLock::new(|| {
            [ResourceKind::User, ResourceKind::Group].map(|kind| {
                kind.schema()
                    .attributes
                    .iter()
                    .chain(core::common_attributes())
                    .map(|def| def.name.as_str())
                    .filter(|name| {
                        kind.find_core(name).is_some_and(|def| {
                            matches!(def.returned, Returned::Never | Returned::Request)
                        })
                    })
                    .collect()
            })
        });
        let [user, group] = &*WITHHELD;
        match self {
            ResourceKind::User => user,
            ResourceKind::Group => group,
        }
    }

    fn find_core(self, name: &str) -> Option<&'static AttributeDef> {
        self.schema().attribute(name).or_else(|| {
            common_attributes()
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }
}

/// `caseExact` from the schema; a sub-attribute of a multi-valued complex attribute named
/// without its sub-attribute (`emails co "x"`) compares by its `value`.
impl CaseExactness for ResourceKind {
    fn case_exact(&self, path: &AttrPath) -> bool {
        match self.attribute(path) {
            Some(def) if def.kind == AttributeType::Complex => {
                def.sub_attribute("value").is_some_and(|v| v.case_exact)
            }
            Some(def) => def.case_exact,
            None => false,
        }
    }
}

/// Whether every user must have an email (see
/// [`ScimServiceBuilder::email_policy`](crate::service::ScimServiceBuilder::email_policy); it decides whether the served User schema marks `emails` required).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailPolicy {
    /// A user without an email is refused with 400 `invalidValue` (the default): the
    /// product keys users by email. The served User schema marks `emails` required.
    #[default]
    Required,
    /// A user without an email is accepted and its email reads as absent (`None`); one
    /// that has an email is still held to the organization's domains. For products that
    /// key users by something else (`userName`, `externalId`) and RFC-minimal clients.
    Optional,
}

/// A ListResponse (RFC 7644 §3.4.2).
pub fn list_response(
    resources: Vec<serde_json::Value>,
    total: usize,
    start_index: usize,
) -> serde_json::Value {
    serde_json::json!({
        "schemas": [crate::urn::LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn the_withheld_list_answers_as_a_schema_lookup_does() {
        assert_eq!(ResourceKind::User.withheld_top_level(), ["password"]);
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let names = kind
                .schema()
                .attributes
                .iter()
                .chain(common_attributes())
                .map(|def| def.name.clone());
            for name in names.chain(["nosuch".to_owned()]) {
                for spelled in [name.clone(), name.to_uppercase()] {
                    let looked_up = kind.find_core(&spelled).is_some_and(|def| {
                        matches!(def.returned, Returned::Never | Returned::Request)
                    });
                    let listed = kind
                        .withheld_top_level()
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(&spelled));
                    assert_eq!(listed, looked_up, "{kind:?} {spelled}");
                }
            }
        }
    }

    #[test]
    fn user_name_is_required_unique_and_not_case_exact() {
        let doc = user_schema().to_json("https://x/scim/v2/d");
        let user_name = doc["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "userName")
            .unwrap();
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(
            doc["meta"]["location"],
            "https://x/scim/v2/d/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
        );
    }

    #[test]
    fn attributes_resolve_by_any_spelling_and_qualification() {
        let user = ResourceKind::User;
        let find = |p: &str| {
            user.attribute(&AttrPath::parse(p).unwrap())
                .map(|d| d.name.as_str())
        };
        assert_eq!(find("USERNAME"), Some("userName"));
        assert_eq!(find("name.GIVENNAME"), Some("givenName"));
        assert_eq!(
            find("urn:ietf:params:scim:schemas:core:2.0:User:emails.value"),
            Some("value")
        );
        assert_eq!(
            find("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            Some("value")
        );
        assert_eq!(find("externalId"), Some("externalId"));
        assert_eq!(find("members"), None);
        assert!(
            ResourceKind::Group
                .attribute(&AttrPath::parse("members.value").unwrap())
                .is_some()
        );
        assert!(user.case_exact(&AttrPath::parse("id").unwrap()));
        assert!(!user.case_exact(&AttrPath::parse("emails").unwrap()));
        assert!(ResourceKind::Group.case_exact(&AttrPath::parse("members").unwrap()));
    }

    #[test]
    fn custom_extension_urns_are_told_from_core_and_message_urns() {
        let user = ResourceKind::User;
        let entra = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
        assert!(user.is_custom_extension(entra));
        assert!(user.is_custom_extension_object(entra));
        assert!(user.is_custom_extension("urn:ietf:params:scim:schemas:custom:Space"));
        assert!(!user.is_custom_extension_object("urn:ietf:params:scim:schemas:custom:Space"));
        for not_custom in [
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:core:2.0:User:name",
            "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag",
            USER,
            GROUP,
            ENTERPRISE_USER,
            "urn:ietf:params:scim:api:messages:2.0:PatchOp",
            "urn:scim:schemas:core:1.0",
            "userName",
            "urn:",
        ] {
            assert!(!user.is_custom_extension(not_custom), "{not_custom}");
        }
    }

    #[test]
    fn every_schema_document_describes_every_attribute_fully() {
        fn check(attribute: &Value) {
            for key in [
                "name",
                "type",
                "multiValued",
                "required",
                "mutability",
                "returned",
            ] {
                assert!(attribute.get(key).is_some(), "{key} missing in {attribute}");
            }
            for sub in attribute["subAttributes"].as_array().into_iter().flatten() {
                check(sub);
            }
        }
        for schema in all_schemas() {
            for attribute in schema.to_json("b")["attributes"].as_array().unwrap() {
                check(attribute);
            }
        }
    }
}
