//! Attribute definitions (RFC 7643 §2, §7) and their JSON representation.

use serde_json::{Map, Value, json};

/// An attribute's data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
pub enum Uniqueness {
    /// None enforced.
    None,
    /// Unique within the service provider (for scimkit: the directory).
    Server,
    /// Globally unique.
    Global,
}

/// One attribute of a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    /// Its name.
    pub name: &'static str,
    /// Its data type.
    pub kind: AttributeType,
    /// Whether it holds a list.
    pub multi_valued: bool,
    /// A human description.
    pub description: &'static str,
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
    pub canonical_values: &'static [&'static str],
    /// For references: what they point at.
    pub reference_types: &'static [&'static str],
    /// For complex attributes: the sub-attributes.
    pub sub_attributes: Vec<AttributeDef>,
}

/// A plain read-write, single-valued, optional attribute of the given type; refine with
/// the builder methods.
pub(super) fn attr(
    name: &'static str,
    kind: AttributeType,
    description: &'static str,
) -> AttributeDef {
    AttributeDef {
        name,
        kind,
        multi_valued: false,
        description,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: Vec::new(),
    }
}

impl AttributeDef {
    pub(super) fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    pub(super) fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub(super) fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    pub(super) fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }
    pub(super) fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }
    pub(super) fn unique(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }
    pub(super) fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }
    pub(super) fn references(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    pub(super) fn sub(mut self, sub_attributes: Vec<AttributeDef>) -> Self {
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
        doc.insert("name".into(), self.name.into());
        doc.insert("type".into(), type_name(self.kind).into());
        doc.insert("multiValued".into(), self.multi_valued.into());
        doc.insert("description".into(), self.description.into());
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
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The schema URN.
    pub id: &'static str,
    /// Its name.
    pub name: &'static str,
    /// A description.
    pub description: &'static str,
    /// Its attributes.
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
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
