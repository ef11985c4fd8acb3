//! Attribute mapping: the vendor's own fields (`first_name`, `cost_center`), each read
//! from a user's SCIM attributes by a path, with defaults per identity provider.
//!
//! See [`crate::docs::attribute_mapping`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{Directory, FieldMapping, IdpKind};
use crate::protocol::patch::PatchPath;
use crate::schema::{ENTERPRISE_USER, ResourceKind, USER};

/// The fields every default mapping names, in the order a setup page lists them.
pub const STANDARD_FIELDS: [&str; 9] = [
    "first_name",
    "last_name",
    "display_name",
    "email",
    "title",
    "department",
    "employee_number",
    "manager",
    "cost_center",
];

fn enterprise(attribute: &str) -> String {
    format!("{ENTERPRISE_USER}:{attribute}")
}

/// The default attribute mapping for a directory connected to `idp`: where each IdP's
/// default SCIM attribute mappings put first name, last name, display name, email, job
/// title, department, employee number, manager and cost center.
///
/// Every provider sends the core names (`name.givenName`, `name.familyName`,
/// `displayName`, `title`) and the enterprise extension's (`department`,
/// `employeeNumber`, `manager`, `costCenter`) where its administrator has mapped them; they
/// differ in how they mark the work email. Entra's default mapping targets
/// `emails[type eq "work"].value` (from `mail`); Okta, OneLogin, JumpCloud and Google
/// send the user's email as the `primary` one.
///
/// ```
/// use scimkit::model::IdpKind;
/// use scimkit::sync::default_fields;
///
/// let entra = default_fields(IdpKind::Entra);
/// assert_eq!(entra.path("email"), Some(r#"emails[type eq "work"].value"#));
/// assert_eq!(default_fields(IdpKind::Okta).path("email"), Some("emails[primary eq true].value"));
/// assert_eq!(
///     entra.path("cost_center"),
///     Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"),
/// );
/// ```
pub fn default_fields(idp: IdpKind) -> FieldMapping {
    let email = match idp {
        IdpKind::Entra => r#"emails[type eq "work"].value"#,
        _ => "emails[primary eq true].value",
    };
    FieldMapping::new()
        .map("first_name", "name.givenName")
        .map("last_name", "name.familyName")
        .map("display_name", "displayName")
        .map("email", email)
        .map("title", "title")
        .map("department", enterprise("department"))
        .map("employee_number", enterprise("employeeNumber"))
        .map("manager", enterprise("manager.value"))
        .map("cost_center", enterprise("costCenter"))
}

/// The mapping a directory's users are read with: the defaults for its
/// [`idp`](Directory::idp), then its own [`fields`](Directory::fields), which add fields
/// or replace a default's path; a field mapped to an empty path drops that default.
pub fn effective_fields(directory: &Directory) -> FieldMapping {
    let mut merged: BTreeMap<String, String> = default_fields(directory.idp)
        .iter()
        .map(|(f, p)| (f.to_owned(), p.to_owned()))
        .collect();
    for (field, path) in directory.fields.iter() {
        if path.trim().is_empty() {
            merged.remove(field);
        } else {
            merged.insert(field.to_owned(), path.to_owned());
        }
    }
    merged
        .into_iter()
        .fold(FieldMapping::new(), |mapping, (f, p)| mapping.map(f, p))
}

/// Most fields one directory's mapping may name (each is read for every user read).
pub const MAX_MAPPED_FIELDS: usize = 256;

/// Why a field mapping cannot be set: a field name or path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldMappingError {
    /// More than [`MAX_MAPPED_FIELDS`] fields.
    #[error("a field mapping names at most {MAX_MAPPED_FIELDS} fields, got {0}")]
    TooMany(usize),
    /// A field name that is empty or longer than 128 bytes.
    #[error("field name `{0}` must be 1 to 128 characters")]
    InvalidField(String),
    /// A path that is not a SCIM attribute path.
    #[error("field `{field}`: `{path}` is not a SCIM attribute path: {reason}")]
    InvalidPath {
        /// The vendor field.
        field: String,
        /// The path as given.
        path: String,
        /// Why it does not parse.
        reason: String,
    },
}

/// Checks every field name and path of a mapping (an empty path, which drops a default,
/// is allowed), so that a mapping the vendor sets never fails for every user later.
///
/// ```
/// use scimkit::model::FieldMapping;
/// use scimkit::sync::check_field_mapping;
///
/// assert!(check_field_mapping(&FieldMapping::new().map("team", r#"emails[type eq "work"].value"#)).is_ok());
/// assert!(check_field_mapping(&FieldMapping::new().map("team", "emails[type eq")).is_err());
/// ```
pub fn check_field_mapping(mapping: &FieldMapping) -> Result<(), FieldMappingError> {
    let count = mapping.iter().count();
    if count > MAX_MAPPED_FIELDS {
        return Err(FieldMappingError::TooMany(count));
    }
    for (field, path) in mapping.iter() {
        if field.trim().is_empty() || field.len() > 128 {
            return Err(FieldMappingError::InvalidField(field.to_owned()));
        }
        if path.trim().is_empty() {
            continue;
        }
        PatchPath::parse(path, ResourceKind::User).map_err(|e| FieldMappingError::InvalidPath {
            field: field.to_owned(),
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// A mapped field that could not be read for one user: the path did not parse, or the
/// user's attributes have a shape the path cannot reduce to one value (several elements
/// match, a sub-attribute of a string). Reported with the user, never dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("field `{field}` (`{path}`): {reason}")]
#[non_exhaustive]
pub struct FieldError {
    /// The vendor field.
    pub field: String,
    /// The path it is mapped to.
    pub path: String,
    /// What went wrong, for a log line or an admin screen.
    pub reason: String,
}

/// A directory's effective mapping with its paths parsed once, for a page of users.
#[derive(Debug, Clone)]
pub(crate) struct CompiledFields {
    entries: Vec<(String, String, Result<PatchPath, String>)>,
}

impl CompiledFields {
    pub(crate) fn for_directory(directory: &Directory) -> Self {
        let entries = effective_fields(directory)
            .iter()
            .map(|(field, path)| {
                let parsed = PatchPath::parse(path, ResourceKind::User).map_err(|e| e.to_string());
                (field.to_owned(), path.to_owned(), parsed)
            })
            .collect();
        Self { entries }
    }

    /// The fields read from `attributes`, and the errors of those that could not be.
    pub(crate) fn resolve(&self, attributes: &Value) -> (BTreeMap<String, Value>, Vec<FieldError>) {
        let mut fields = BTreeMap::new();
        let mut errors = Vec::new();
        let empty = Map::new();
        let root = attributes.as_object().unwrap_or(&empty);
        for (field, path, parsed) in &self.entries {
            let outcome = match parsed {
                Ok(parsed) => evaluate(root, parsed),
                Err(reason) => Err(reason.clone()),
            };
            match outcome {
                Ok(Some(value)) => {
                    fields.insert(field.clone(), value.clone());
                }
                Ok(None) => {}
                Err(reason) => errors.push(FieldError {
                    field: field.clone(),
                    path: path.clone(),
                    reason,
                }),
            }
        }
        (fields, errors)
    }
}

/// A key of `map`, case-insensitively (attribute names are, RFC 7643 §2.1); the exact
/// spelling first.
fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_primary(element: &Value) -> bool {
    element.get("primary").and_then(Value::as_bool) == Some(true)
}

/// One element of `candidates`: the only one, else the one marked primary; `ambiguous`
/// says why there is none, given how many there are.
fn one(
    candidates: Vec<&Value>,
    ambiguous: impl FnOnce(usize) -> String,
) -> Result<Option<&Value>, String> {
    match candidates.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(*only)),
        many => {
            let primaries: Vec<&&Value> = many.iter().filter(|e| is_primary(e)).collect();
            match primaries.as_slice() {
                [primary] => Ok(Some(**primary)),
                _ => Err(ambiguous(many.len())),
            }
        }
    }
}

fn evaluate<'a>(
    root: &'a Map<String, Value>,
    path: &PatchPath,
) -> Result<Option<&'a Value>, String> {
    let (path, filter, after_filter) = match path {
        PatchPath::Extension(urn) => return Ok(get_ci(root, urn).filter(|v| !v.is_null())),
        PatchPath::Attribute {
            path,
            filter,
            sub_attribute,
        } => (path, filter, sub_attribute),
    };
    let container = match &path.urn {
        Some(urn) if !urn.eq_ignore_ascii_case(USER) => match get_ci(root, urn) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(inner)) => inner,
            Some(other) => {
                return Err(format!(
                    "the extension `{urn}` is {}, not an object",
                    describe(other)
                ));
            }
        },
        _ => root,
    };
    let Some(value) = get_ci(container, &path.attribute).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let name = &path.attribute;
    let (element, sub) = match filter {
        Some(filter) => {
            let candidates: Vec<&Value> = match value {
                Value::Array(items) => items
                    .iter()
                    .filter(|item| filter.matches(item, &ResourceKind::User))
                    .collect(),
                Value::Object(_) if filter.matches(value, &ResourceKind::User) => vec![value],
                Value::Object(_) => Vec::new(),
                other => {
                    return Err(format!(
                        "`{name}` is {}; a value filter needs a list of objects",
                        describe(other)
                    ));
                }
            };
            let ambiguous = |n| {
                format!(
                    "{n} elements of `{name}` match the value filter and not exactly one is marked primary; narrow the filter (`and primary eq true`)"
                )
            };
            let Some(element) = one(candidates, ambiguous)? else {
                return Ok(None);
            };
            (element, after_filter.as_deref())
        }
        None => match (&path.sub_attribute, value) {
            (None, _) => return Ok(Some(value)),
            (Some(sub), Value::Array(items)) => {
                let ambiguous = |n| {
                    format!(
                        "`{name}` has {n} values and not exactly one is marked primary; pick one with a value filter (`{name}[type eq \"work\"].{sub}`)"
                    )
                };
                let Some(element) = one(items.iter().collect(), ambiguous)? else {
                    return Ok(None);
                };
                (element, path.sub_attribute.as_deref())
            }
            (Some(_), _) => (value, path.sub_attribute.as_deref()),
        },
    };
    let Some(sub) = sub else {
        return Ok(Some(element));
    };
    match element {
        Value::Object(inner) => Ok(get_ci(inner, sub).filter(|v| !v.is_null())),
        other => Err(format!(
            "`{name}` is {}, which has no sub-attribute `{sub}`",
            describe(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{DirectoryId, OrganizationId};

    fn directory(idp: IdpKind, fields: FieldMapping) -> Directory {
        Directory::new(
            DirectoryId::from_uuid(uuid_of(1)),
            OrganizationId::from_uuid(uuid_of(2)),
            true,
        )
        .with_idp(idp)
        .with_fields(fields)
    }

    fn uuid_of(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    #[test]
    fn paths_reach_core_sub_attributes_extensions_and_filtered_elements() {
        let user = json!({
            "userName": "ann@acme.com",
            "name": {"givenName": "Ann"},
            "emails": [{"value": "a@home.com", "type": "home"}, {"value": "ann@acme.com", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m-1"}},
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"costCenter": "R&D"},
        });
        let fields = directory(
            IdpKind::Entra,
            FieldMapping::new()
                .map(
                    "cost_center",
                    "urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter",
                )
                .map("home_email", r#"emails[type eq "HOME"].value"#)
                .map(
                    "user_name",
                    "urn:ietf:params:scim:schemas:core:2.0:User:USERNAME",
                )
                .map("title", ""),
        );
        let (resolved, errors) = CompiledFields::for_directory(&fields).resolve(&user);
        assert_eq!(errors, []);
        assert_eq!(
            Value::Object(resolved.into_iter().collect()),
            json!({
                "cost_center": "R&D",
                "email": "ann@acme.com",
                "first_name": "Ann",
                "home_email": "a@home.com",
                "manager": "m-1",
                "user_name": "ann@acme.com",
            })
        );
    }

    #[test]
    fn shapes_a_path_cannot_reduce_to_one_value_are_errors() {
        let user = json!({
            "emails": [{"value": "a@x.com", "type": "work"}, {"value": "b@x.com", "type": "work"}],
            "displayName": "Ann",
            "urn:x:custom": "flat",
        });
        let fields = directory(
            IdpKind::Other,
            FieldMapping::new()
                .map("work", r#"emails[type eq "work"].value"#)
                .map("any_email", "emails.value")
                .map("initial", "displayName.first")
                .map("custom", "urn:x:custom:thing"),
        );
        let (_, errors) = CompiledFields::for_directory(&fields).resolve(&user);
        let failed: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(failed, ["any_email", "custom", "initial", "work"]);
        assert!(
            errors[0].reason.contains("2 values"),
            "{}",
            errors[0].reason
        );
        assert!(
            errors[2].reason.contains("is a string"),
            "{}",
            errors[2].reason
        );
        // The primary one settles it.
        let user = json!({"emails": [{"value": "a@x.com"}, {"value": "b@x.com", "primary": true}]});
        let (resolved, errors) = CompiledFields::for_directory(&fields).resolve(&user);
        assert_eq!(errors, []);
        assert_eq!(resolved.get("any_email"), Some(&json!("b@x.com")));
    }

    #[test]
    fn a_path_that_does_not_parse_is_refused_when_set_and_reported_when_stored() {
        let bad = FieldMapping::new().map("team", "emails[type eq");
        assert!(matches!(
            check_field_mapping(&bad),
            Err(FieldMappingError::InvalidPath { .. })
        ));
        assert!(matches!(
            check_field_mapping(&FieldMapping::new().map("", "title")),
            Err(FieldMappingError::InvalidField(_))
        ));
        let many = (0..=MAX_MAPPED_FIELDS)
            .fold(FieldMapping::new(), |m, i| m.map(format!("f{i}"), "title"));
        assert_eq!(
            check_field_mapping(&many),
            Err(FieldMappingError::TooMany(MAX_MAPPED_FIELDS + 1))
        );
        let (_, errors) = CompiledFields::for_directory(&directory(IdpKind::Other, bad))
            .resolve(&json!({"userName": "a"}));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "team");
    }

    #[test]
    fn every_default_parses_and_names_the_standard_fields() {
        for idp in IdpKind::ALL {
            let defaults = default_fields(idp);
            assert!(check_field_mapping(&defaults).is_ok(), "{idp}");
            let mut names: Vec<&str> = defaults.iter().map(|(f, _)| f).collect();
            names.sort_unstable();
            let mut standard = STANDARD_FIELDS.to_vec();
            standard.sort_unstable();
            assert_eq!(names, standard, "{idp}");
        }
    }
}
