//! Attribute definitions (RFC 7643 §2, §7) and their JSON representation.

use serde_json::{Map, Value, json};

/// An attribute's data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums, reason = "RFC 7643 §2.3 closes the set")]
pub enum AttributeType {
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// A decimal number.
    Decimal,
    /// An integer.
    Integer,
    /// An RFC 3339 date-time string.
    DateTime,
    /// Base64 data.
    Binary,
    /// A URI.
    Reference,
    /// An object of sub-attributes.
    Complex,
}

/// Whether and how a client may write an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums, reason = "RFC 7643 §7 closes the set")]
pub enum Mutability {
    /// Only the server sets it.
    ReadOnly,
    /// Clients may change it.
    ReadWrite,
    /// Set once, then fixed.
    Immutable,
    /// Clients may set it; it is never returned.
    WriteOnly,
}

/// When an attribute is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums, reason = "RFC 7643 §7 closes the set")]
pub enum Returned {
    /// Whatever the request asks.
    Always,
    /// Never.
    Never,
    /// Unless excluded.
    Default,
    /// Only when asked for.
    Request,
}

/// Uniqueness of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums, reason = "RFC 7643 §7 closes the set")]
pub enum Uniqueness {
    /// None enforced.
    None,
    /// Unique within the service provider (for scimkit: among a directory's active
    /// users, or its groups that are not deleted).
    Server,
    /// Globally unique; scimkit enforces it per directory, like `Server`, because its
    /// directories are separate tenants.
    Global,
}

/// One attribute of a schema.
///
/// Vendors declare their own with the constructors ([`AttributeDef::string`],
/// [`AttributeDef::complex`], ...) and the builder methods, for a
/// [`SchemaExtension`](super::SchemaExtension):
///
/// ```
/// use scimkit::schema::{AttributeDef, Mutability, Returned};
///
/// let cost_center = AttributeDef::string("costCenter")
///     .description("The cost center the user's work is billed to.")
///     .required()
///     .canonical_values(["R&D", "Sales"]);
/// let badge = AttributeDef::complex("badge", vec![
///     AttributeDef::string("number").case_exact(),
///     AttributeDef::date_time("issued").mutability(Mutability::Immutable),
/// ])
/// .returned(Returned::Request);
/// assert_eq!(cost_center.to_json()["required"], true);
/// assert_eq!(badge.to_json()["subAttributes"][0]["caseExact"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttributeDef {
    /// Its name.
    pub name: String,
    /// Its data type.
    pub kind: AttributeType,
    /// Whether it holds a list.
    pub multi_valued: bool,
    /// A human description.
    pub description: String,
    /// Whether a resource must have it.
    pub required: bool,
    /// Whether strings compare case-sensitively.
    pub case_exact: bool,
    /// Who may write it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Uniqueness of its values.
    pub uniqueness: Uniqueness,
    /// Suggested values.
    pub canonical_values: Vec<String>,
    /// For references: what they point at.
    pub reference_types: Vec<String>,
    /// For complex attributes: the sub-attributes.
    pub sub_attributes: Vec<AttributeDef>,
}

/// A plain read-write, single-valued, optional attribute of the given type; refine with
/// the builder methods.
pub(super) fn attr(name: &str, kind: AttributeType, description: &str) -> AttributeDef {
    AttributeDef::new(name, kind).description(description)
}

impl AttributeDef {
    /// A read-write, single-valued, optional attribute of the given type, returned by
    /// default, neither case-exact nor unique, without a description.
    pub fn new(name: impl Into<String>, kind: AttributeType) -> Self {
        AttributeDef {
            name: name.into(),
            kind,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::String)
    }

    /// A boolean attribute.
    pub fn boolean(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Boolean)
    }

    /// An integer attribute.
    pub fn integer(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Integer)
    }

    /// A decimal attribute.
    pub fn decimal(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Decimal)
    }

    /// An RFC 3339 date-time attribute.
    pub fn date_time(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::DateTime)
    }

    /// A reference (URI) attribute pointing at `types` (`external`, `uri`, or a resource
    /// type's name).
    pub fn reference<S: AsRef<str>>(
        name: impl Into<String>,
        types: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::new(name, AttributeType::Reference).reference_types(types)
    }

    /// A complex attribute with these sub-attributes (which are not complex themselves,
    /// RFC 7643 §2.3.8).
    pub fn complex(name: impl Into<String>, sub_attributes: Vec<AttributeDef>) -> Self {
        Self::new(name, AttributeType::Complex).sub_attributes(sub_attributes)
    }

    /// A human description, served in `/Schemas`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Holds a list (a JSON array) of values.
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// A resource must have it (a write without it is refused with 400 `invalidValue`).
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Strings compare case-sensitively (in filters and sorting).
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Who may write it; `readOnly` values a client sends are ignored.
    pub fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// When it is returned (`attributes` / `excludedAttributes` honour it).
    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// The uniqueness served in `/Schemas`, and enforced for an extension's attributes
    /// (and sub-attributes): `Server` and `Global` make a value of a User extension
    /// unique among the directory's active users, and a value of a Group extension
    /// unique among its groups that are not deleted, on every backend and atomically; a
    /// write claiming a held value is refused with 409 `uniqueness`. Users and groups
    /// are held apart (a group may hold a value a user holds). `Global` is enforced per
    /// directory as well, since directories are separate tenants. Values are compared as
    /// filters compare them (strings case-insensitively unless
    /// [`case_exact`](Self::case_exact)), each element of a multi-valued attribute on its
    /// own. Users and groups stored before the declaration are not re-checked until a
    /// write changes their document.
    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    /// Suggested values, served in `/Schemas` (not enforced, as RFC 7643 §7 allows).
    pub fn canonical_values<S: AsRef<str>>(mut self, values: impl IntoIterator<Item = S>) -> Self {
        self.canonical_values = values.into_iter().map(|v| v.as_ref().to_owned()).collect();
        self
    }

    /// For references: the types they point at.
    pub fn reference_types<S: AsRef<str>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.reference_types = types.into_iter().map(|v| v.as_ref().to_owned()).collect();
        self
    }

    /// For complex attributes: the sub-attributes.
    pub fn sub_attributes(mut self, sub_attributes: Vec<AttributeDef>) -> Self {
        self.sub_attributes = sub_attributes;
        self
    }

    /// A sub-attribute by name, case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The RFC 7643 §7 representation.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("name".into(), self.name.as_str().into());
        doc.insert("type".into(), type_name(self.kind).into());
        doc.insert("multiValued".into(), self.multi_valued.into());
        doc.insert("description".into(), self.description.as_str().into());
        doc.insert("required".into(), self.required.into());
        if matches!(
            self.kind,
            AttributeType::String | AttributeType::Reference | AttributeType::Binary
        ) {
            doc.insert("caseExact".into(), self.case_exact.into());
        }
        if !self.canonical_values.is_empty() {
            doc.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            doc.insert("referenceTypes".into(), json!(self.reference_types));
        }
        doc.insert(
            "mutability".into(),
            match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            }
            .into(),
        );
        doc.insert(
            "returned".into(),
            match self.returned {
                Returned::Always => "always",
                Returned::Never => "never",
                Returned::Default => "default",
                Returned::Request => "request",
            }
            .into(),
        );
        if self.kind != AttributeType::Complex {
            doc.insert(
                "uniqueness".into(),
                match self.uniqueness {
                    Uniqueness::None => "none",
                    Uniqueness::Server => "server",
                    Uniqueness::Global => "global",
                }
                .into(),
            );
        }
        if !self.sub_attributes.is_empty() {
            doc.insert(
                "subAttributes".into(),
                Value::Array(
                    self.sub_attributes
                        .iter()
                        .map(AttributeDef::to_json)
                        .collect(),
                ),
            );
        }
        Value::Object(doc)
    }
}

fn type_name(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "string",
        AttributeType::Boolean => "boolean",
        AttributeType::Decimal => "decimal",
        AttributeType::Integer => "integer",
        AttributeType::DateTime => "dateTime",
        AttributeType::Binary => "binary",
        AttributeType::Reference => "reference",
        AttributeType::Complex => "complex",
    }
}

/// A schema: an id (URN), a name and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// Its name.
    pub name: String,
    /// A description.
    pub description: String,
    /// Its attributes.
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// A schema without attributes.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            attributes: Vec::new(),
        }
    }

    /// An attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The RFC 7643 §7 representation, with `meta.location` under `base`.
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "schemas": [crate::urn::SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(AttributeDef::to_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", self.id)},
        })
    }
}
