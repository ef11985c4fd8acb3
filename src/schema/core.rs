//! The core User and Group schemas and the enterprise User extension (RFC 7643 §4, §8.7.1).

use std::sync::LazyLock;

use super::definition::AttributeType::{Boolean, Complex, DateTime, Reference, String as Str};
use super::definition::{AttributeDef, Mutability, Returned, Schema, Uniqueness, attr};

pub use crate::urn::{ENTERPRISE_USER, GROUP, USER};

const TYPES_WHPO: &[&str] = &["work", "home", "other"];

/// The sub-attributes every multi-valued attribute shares (RFC 7643 §2.4).
fn multi_valued(
    name: &'static str,
    description: &'static str,
    value: AttributeDef,
    types: &'static [&'static str],
) -> AttributeDef {
    attr(name, Complex, description)
        .multi_valued()
        .sub_attributes(vec![
            value,
            attr(
                "display",
                Str,
                "A human-readable name, primarily used for display purposes.",
            ),
            attr("type", Str, "A label indicating the attribute's function.")
                .canonical_values(types),
            attr(
                "primary",
                Boolean,
                "Whether this is the primary or preferred value.",
            ),
        ])
}

fn user() -> Schema {
    Schema {
        id: USER.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: vec![
            attr("userName", Str, "Unique identifier for the User, typically used to authenticate; unique among the directory's active users.")
                .required()
                .uniqueness(Uniqueness::Server),
            attr("name", Complex, "The components of the user's real name.").sub_attributes(vec![
                attr("formatted", Str, "The full name, formatted for display."),
                attr("familyName", Str, "The family name of the User."),
                attr("givenName", Str, "The given name of the User."),
                attr("middleName", Str, "The middle name(s) of the User."),
                attr("honorificPrefix", Str, "The honorific prefix(es) of the User."),
                attr("honorificSuffix", Str, "The honorific suffix(es) of the User."),
            ]),
            attr("displayName", Str, "The name of the User, suitable for display to end-users."),
            attr("nickName", Str, "The casual way to address the user."),
            attr("profileUrl", Reference, "A fully qualified URL pointing to a page representing the User's online profile.").reference_types(["external"]),
            attr("title", Str, "The user's title, such as \"Vice President\"."),
            attr("userType", Str, "The relationship between the organization and the user."),
            attr("preferredLanguage", Str, "The User's preferred written or spoken language."),
            attr("locale", Str, "The User's default location for localization."),
            attr("timezone", Str, "The User's time zone in the IANA Time Zone database format."),
            attr("active", Boolean, "The User's administrative status; false deprovisions the user."),
            attr("password", Str, "The User's cleartext password. scimkit never stores it.")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            // scimkit needs an email for every user: `userName` when it is an address, else
            // `emails`. Declaring `emails` required tells schema-reading clients so.
            multi_valued("emails", "Email addresses for the user. This service provider requires one unless userName is an email address.",
                attr("value", Str, "Email address for the User.").required(), TYPES_WHPO)
                .required(),
            multi_valued("phoneNumbers", "Phone numbers for the User.",
                attr("value", Str, "Phone number of the User."),
                &["work", "home", "mobile", "fax", "pager", "other"]),
            multi_valued("ims", "Instant messaging addresses for the User.",
                attr("value", Str, "Instant messaging address for the User."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
            multi_valued("photos", "URLs of photos of the User.",
                attr("value", Reference, "URL of a photo of the User.").reference_types(["external"]),
                &["photo", "thumbnail"]),
            attr("addresses", Complex, "A physical mailing address for this User.").multi_valued().sub_attributes(vec![
                attr("formatted", Str, "The full mailing address, formatted for display."),
                attr("streetAddress", Str, "The full street address component."),
                attr("locality", Str, "The city or locality component."),
                attr("region", Str, "The state or region component."),
                attr("postalCode", Str, "The zip code or postal code component."),
                attr("country", Str, "The country name component."),
                attr("type", Str, "A label indicating the attribute's function.").canonical_values(TYPES_WHPO),
                attr("primary", Boolean, "Whether this is the primary address."),
            ]),
            attr("groups", Complex, "A list of groups to which the user belongs.")
                .multi_valued()
                .mutability(Mutability::ReadOnly)
                .sub_attributes(vec![
                    attr("value", Str, "The identifier of the User's group.").mutability(Mutability::ReadOnly),
                    attr("$ref", Reference, "The URI of the corresponding 'Group' resource.")
                        .reference_types(["Group"])
                        .mutability(Mutability::ReadOnly),
                    attr("display", Str, "A human-readable name of the group.").mutability(Mutability::ReadOnly),
                    attr("type", Str, "How the membership came about.")
                        .canonical_values(["direct", "indirect"])
                        .mutability(Mutability::ReadOnly),
                ]),
            multi_valued("entitlements", "A list of entitlements for the User.",
                attr("value", Str, "The value of an entitlement."), &[]),
            multi_valued("roles", "A list of roles for the User.",
                attr("value", Str, "The value of a role."), &[]),
            multi_valued("x509Certificates", "A list of certificates issued to the User.",
                attr("value", super::definition::AttributeType::Binary, "The value of an X.509 certificate.").case_exact(), &[]),
        ],
    }
}

fn group() -> Schema {
    Schema {
        id: GROUP.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            attr("displayName", Str, "A human-readable name for the Group.").required(),
            attr("members", Complex, "A list of members of the Group.")
                .multi_valued()
                .sub_attributes(vec![
                    attr("value", Str, "Identifier of the member of this Group.")
                        .case_exact()
                        .mutability(Mutability::Immutable),
                    attr(
                        "$ref",
                        Reference,
                        "The URI corresponding to a SCIM resource that is a member of this Group.",
                    )
                    .reference_types(["User", "Group"])
                    .mutability(Mutability::Immutable),
                    attr("display", Str, "A human-readable name of the member.")
                        .mutability(Mutability::ReadOnly),
                    attr("type", Str, "A label indicating the type of resource.")
                        .canonical_values(["User", "Group"])
                        .mutability(Mutability::Immutable),
                ]),
        ],
    }
}

fn enterprise_user() -> Schema {
    Schema {
        id: ENTERPRISE_USER.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            attr(
                "employeeNumber",
                Str,
                "Numeric or alphanumeric identifier assigned to a person.",
            ),
            attr("costCenter", Str, "Identifies the name of a cost center."),
            attr(
                "organization",
                Str,
                "Identifies the name of an organization.",
            ),
            attr("division", Str, "Identifies the name of a division."),
            attr("department", Str, "Identifies the name of a department."),
            attr("manager", Complex, "The User's manager.").sub_attributes(vec![
                attr(
                    "value",
                    Str,
                    "The id of the SCIM resource representing the User's manager.",
                ),
                attr(
                    "$ref",
                    Reference,
                    "The URI of the SCIM resource representing the User's manager.",
                )
                .reference_types(["User"]),
                attr("displayName", Str, "The displayName of the User's manager.")
                    .mutability(Mutability::ReadOnly),
            ]),
        ],
    }
}

/// Attributes every resource has (RFC 7643 §3.1).
pub fn common_attributes() -> &'static [AttributeDef] {
    static COMMON: LazyLock<Vec<AttributeDef>> = LazyLock::new(|| {
        vec![
            attr(
                "id",
                Str,
                "A unique identifier for the resource, assigned by the service provider.",
            )
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
            attr(
                "externalId",
                Str,
                "An identifier for the resource as defined by the provisioning client.",
            )
            .case_exact(),
            attr("meta", Complex, "Resource metadata.")
                .mutability(Mutability::ReadOnly)
                .sub_attributes(vec![
                    attr("resourceType", Str, "The name of the resource type.")
                        .case_exact()
                        .mutability(Mutability::ReadOnly),
                    attr("created", DateTime, "When the resource was added.")
                        .mutability(Mutability::ReadOnly),
                    attr(
                        "lastModified",
                        DateTime,
                        "When the resource was last changed.",
                    )
                    .mutability(Mutability::ReadOnly),
                    attr("location", Reference, "The URI of the resource.")
                        .case_exact()
                        .mutability(Mutability::ReadOnly),
                    attr("version", Str, "The version (ETag) of the resource.")
                        .case_exact()
                        .mutability(Mutability::ReadOnly),
                ]),
        ]
    });
    &COMMON
}

/// The core User schema.
pub fn user_schema() -> &'static Schema {
    static SCHEMA: LazyLock<Schema> = LazyLock::new(user);
    &SCHEMA
}

/// The core Group schema.
pub fn group_schema() -> &'static Schema {
    static SCHEMA: LazyLock<Schema> = LazyLock::new(group);
    &SCHEMA
}

/// The enterprise User extension.
pub fn enterprise_user_schema() -> &'static Schema {
    static SCHEMA: LazyLock<Schema> = LazyLock::new(enterprise_user);
    &SCHEMA
}

/// Every schema scimkit serves.
pub fn all_schemas() -> [&'static Schema; 3] {
    [user_schema(), group_schema(), enterprise_user_schema()]
}
