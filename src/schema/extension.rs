//! Schema extensions a vendor declares for its own attributes
//! (`urn:ietf:params:scim:schemas:extension:acme:2.0:User`), and the set a service serves.

use serde_json::{Map, Value};

use super::definition::{AttributeDef, AttributeType, Mutability, Returned, Schema, Uniqueness};
use super::path::{AttrPath, CaseExactness};
use super::{ENTERPRISE_USER, GROUP, ResourceKind, USER};
use crate::model::UniqueKey;

/// Why a [`SchemaExtension`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The id is not a URN (`urn:...`).
    #[error("schema id `{0}` is not a URN (it must start with `urn:` and have more after it)")]
    NotUrn(String),
    /// The id is a schema or message URN scimkit serves itself.
    #[error(
        "schema id `{0}` is reserved: it names a core schema, the enterprise extension or a SCIM message"
    )]
    Reserved(String),
    /// An attribute name is not an RFC 7643 §2.1 name.
    #[error(
        "attribute name `{0}` is invalid: names start with a letter and hold letters, digits, `_`, `-` or `$`"
    )]
    InvalidName(String),
    /// Two attributes at the same level share a name (case-insensitively).
    #[error("attribute `{0}` is declared twice (names compare case-insensitively)")]
    Duplicate(String),
    /// A complex attribute without sub-attributes.
    #[error("complex attribute `{0}` needs at least one sub-attribute")]
    EmptyComplex(String),
    /// Sub-attributes on an attribute that is not complex, or a complex sub-attribute.
    #[error(
        "attribute `{0}`: only a top-level complex attribute has sub-attributes (RFC 7643 §2.3.8)"
    )]
    MisplacedSubAttributes(String),
    /// The extension declares no attributes.
    #[error("schema `{0}` declares no attributes")]
    NoAttributes(String),
    /// A JSON definition is not the shape [`SchemaExtension::from_json`] reads.
    #[error("invalid schema definition: {0}")]
    Malformed(String),
    /// A directory declares a URN twice, or one its service already declares.
    #[error(
        "schema `{0}` is declared already (by the service, or earlier in the list); each URN names one extension"
    )]
    Taken(String),
}

/// A schema extension a vendor declares, served in `/Schemas` and in the resource type's
/// `schemaExtensions`, and checked on every write of that resource type like the core
/// schemas: values of the wrong type are refused with 400 `invalidValue` naming the
/// attribute, `required` attributes must be present (when the extension is required on
/// the resource type, or the resource carries it), `readOnly` values a client sends are
/// dropped. Its attributes filter and project like the enterprise extension's, with their
/// declared `caseExact` and `returned`. A User extension's attributes declared
/// [`Uniqueness::Server`] or [`Uniqueness::Global`] are unique among the directory's
/// active users, a Group extension's among its groups that are not deleted: a write
/// claiming a value another holds is refused with 409 `uniqueness`.
///
/// ```
/// use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension};
///
/// let acme = SchemaExtension::builder(
///     ResourceKind::User,
///     "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
/// )
/// .name("AcmeUser")
/// .attribute(AttributeDef::string("costCenter"))
/// .attribute(AttributeDef::integer("level"))
/// .build()?;
/// assert_eq!(acme.schema().attributes.len(), 2);
/// # Ok::<(), scimkit::schema::SchemaError>(())
/// ```
///
/// Hand it to [`ScimServiceBuilder::schema_extension`](crate::service::ScimServiceBuilder::schema_extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaExtension {
    resource: ResourceKind,
    required: bool,
    schema: Schema,
}

impl SchemaExtension {
    /// Starts an extension of `resource` with the schema URN `id`.
    pub fn builder(resource: ResourceKind, id: impl Into<String>) -> SchemaExtensionBuilder {
        let id = id.into();
        let name = id.rsplit(':').next().unwrap_or_default().to_owned();
        SchemaExtensionBuilder {
            resource,
            required: false,
            schema: Schema::new(id, name, ""),
        }
    }

    /// The resource type it extends.
    pub fn resource(&self) -> ResourceKind {
        self.resource
    }

    /// Whether every resource of that type must carry it.
    pub fn required(&self) -> bool {
        self.required
    }

    /// The schema: id, name, description and attributes.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The definition as JSON: the RFC 7643 §7 schema (`id`, `name`, `description`,
    /// `attributes`) plus `resourceType` (`User` or `Group`) and `required`. It is what
    /// [`SchemaExtension::from_json`] reads, what the management API sends and takes, and
    /// how a directory's extensions are stored.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.schema.id,
            "resourceType": self.resource.name(),
            "required": self.required,
            "name": self.schema.name,
            "description": self.schema.description,
            "attributes": self.schema.attributes.iter().map(AttributeDef::to_json).collect::<Vec<_>>(),
        })
    }

    /// Reads a definition in the shape [`SchemaExtension::to_json`] writes, checked as
    /// [`SchemaExtensionBuilder::build`] checks one. Attribute characteristics left out
    /// take RFC 7643 §2.2's defaults (`readWrite`, returned `default`, uniqueness `none`,
    /// not required, not case-exact, single-valued).
    ///
    /// ```
    /// use scimkit::schema::{ResourceKind, SchemaExtension, Uniqueness};
    ///
    /// let acme = SchemaExtension::from_json(&serde_json::json!({
    ///     "id": "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
    ///     "resourceType": "User",
    ///     "attributes": [{"name": "badge", "type": "string", "uniqueness": "server"}],
    /// }))?;
    /// assert_eq!(acme.resource(), ResourceKind::User);
    /// assert_eq!(acme.schema().attributes[0].uniqueness, Uniqueness::Server);
    /// # Ok::<(), scimkit::schema::SchemaError>(())
    /// ```
    pub fn from_json(value: &Value) -> Result<SchemaExtension, SchemaError> {
        let doc = value
            .as_object()
            .ok_or_else(|| SchemaError::Malformed("a schema extension is a JSON object".into()))?;
        let id = text(doc, "id", "the schema")?
            .ok_or_else(|| SchemaError::Malformed("a schema extension needs an `id` URN".into()))?;
        let resource = match text(doc, "resourceType", id)? {
            Some(name) if name.eq_ignore_ascii_case("User") => ResourceKind::User,
            Some(name) if name.eq_ignore_ascii_case("Group") => ResourceKind::Group,
            other => {
                return Err(SchemaError::Malformed(format!(
                    "schema `{id}`: `resourceType` must be `User` or `Group`, not {}",
                    other.map_or("missing".to_owned(), |o| format!("`{o}`"))
                )));
            }
        };
        let mut builder = SchemaExtension::builder(resource, id);
        if let Some(name) = text(doc, "name", id)? {
            builder = builder.name(name);
        }
        if let Some(description) = text(doc, "description", id)? {
            builder = builder.description(description);
        }
        if flag(doc, "required", id)? {
            builder = builder.required();
        }
        let attributes = match doc.get("attributes") {
            Some(Value::Array(attributes)) => attributes,
            _ => {
                return Err(SchemaError::Malformed(format!(
                    "schema `{id}`: `attributes` must be an array of attribute definitions"
                )));
            }
        };
        for attribute in attributes {
            builder = builder.attribute(attribute_of(attribute, id)?);
        }
        builder.build()
    }
}

impl serde::Serialize for SchemaExtension {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for SchemaExtension {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        SchemaExtension::from_json(&value).map_err(serde::de::Error::custom)
    }
}

fn text<'a>(
    doc: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a str>, SchemaError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SchemaError::Malformed(format!(
            "{at}: `{key}` must be a string"
        ))),
    }
}

fn flag(doc: &Map<String, Value>, key: &str, at: &str) -> Result<bool, SchemaError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(SchemaError::Malformed(format!(
            "{at}: `{key}` must be true or false"
        ))),
    }
}

fn strings(doc: &Map<String, Value>, key: &str, at: &str) -> Result<Vec<String>, SchemaError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    SchemaError::Malformed(format!("{at}: `{key}` must be an array of strings"))
                })
            })
            .collect(),
        Some(_) => Err(SchemaError::Malformed(format!(
            "{at}: `{key}` must be an array of strings"
        ))),
    }
}

/// One RFC 7643 §7 attribute definition; `schema` names where it is, for errors.
fn attribute_of(value: &Value, schema: &str) -> Result<AttributeDef, SchemaError> {
    let doc = value.as_object().ok_or_else(|| {
        SchemaError::Malformed(format!(
            "schema `{schema}`: each attribute is a JSON object"
        ))
    })?;
    let name = text(doc, "name", schema)?.ok_or_else(|| {
        SchemaError::Malformed(format!("schema `{schema}`: an attribute has no `name`"))
    })?;
    let at = format!("attribute `{name}` of `{schema}`");
    let choice = |key: &str, allowed: &[&str]| -> Result<Option<usize>, SchemaError> {
        match text(doc, key, &at)? {
            None => Ok(None),
            Some(given) => allowed
                .iter()
                .position(|a| a.eq_ignore_ascii_case(given))
                .map(Some)
                .ok_or_else(|| {
                    SchemaError::Malformed(format!(
                        "{at}: `{key}` is `{given}`; expected one of {}",
                        allowed.join(", ")
                    ))
                }),
        }
    };
    const TYPES: [(&str, AttributeType); 8] = [
        ("string", AttributeType::String),
        ("boolean", AttributeType::Boolean),
        ("decimal", AttributeType::Decimal),
        ("integer", AttributeType::Integer),
        ("dateTime", AttributeType::DateTime),
        ("binary", AttributeType::Binary),
        ("reference", AttributeType::Reference),
        ("complex", AttributeType::Complex),
    ];
    let type_names = TYPES.map(|(n, _)| n);
    let kind = choice("type", &type_names)?
        .and_then(|i| TYPES.get(i))
        .map(|(_, kind)| *kind)
        .ok_or_else(|| SchemaError::Malformed(format!("{at}: `type` is required")))?;
    let mut def = AttributeDef::new(name, kind);
    def.multi_valued = flag(doc, "multiValued", &at)?;
    def.required = flag(doc, "required", &at)?;
    def.case_exact = flag(doc, "caseExact", &at)?;
    def.description = text(doc, "description", &at)?
        .unwrap_or_default()
        .to_owned();
    def.mutability = match choice(
        "mutability",
        &["readOnly", "readWrite", "immutable", "writeOnly"],
    )? {
        Some(0) => Mutability::ReadOnly,
        Some(2) => Mutability::Immutable,
        Some(3) => Mutability::WriteOnly,
        _ => Mutability::ReadWrite,
    };
    def.returned = match choice("returned", &["always", "never", "default", "request"])? {
        Some(0) => Returned::Always,
        Some(1) => Returned::Never,
        Some(3) => Returned::Request,
        _ => Returned::Default,
    };
    def.uniqueness = match choice("uniqueness", &["none", "server", "global"])? {
        Some(1) => Uniqueness::Server,
        Some(2) => Uniqueness::Global,
        _ => Uniqueness::None,
    };
    def.canonical_values = strings(doc, "canonicalValues", &at)?;
    def.reference_types = strings(doc, "referenceTypes", &at)?;
    match doc.get("subAttributes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(subs)) => {
            def.sub_attributes = subs
                .iter()
                .map(|sub| attribute_of(sub, schema))
                .collect::<Result<_, _>>()?;
        }
        Some(_) => {
            return Err(SchemaError::Malformed(format!(
                "{at}: `subAttributes` must be an array of attribute definitions"
            )));
        }
    }
    Ok(def)
}

/// Builds a [`SchemaExtension`]; see [`SchemaExtension::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SchemaExtensionBuilder {
    resource: ResourceKind,
    required: bool,
    schema: Schema,
}

impl SchemaExtensionBuilder {
    /// The schema's name (default: the URN's last segment).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = name.into();
        self
    }

    /// The schema's description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.schema.description = description.into();
        self
    }

    /// Every resource of the type must carry the extension (`schemaExtensions[].required`);
    /// its `required` attributes are then checked on every write.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: AttributeDef) -> Self {
        self.schema.attributes.push(attribute);
        self
    }

    /// The extension, or why its definition is not one a SCIM client could read.
    pub fn build(self) -> Result<SchemaExtension, SchemaError> {
        let id = self.schema.id.trim().to_owned();
        let lower = id.to_ascii_lowercase();
        if !lower.starts_with("urn:")
            || lower.len() <= "urn:".len()
            || id.contains(['[', ']', ' ', '"'])
        {
            return Err(SchemaError::NotUrn(id));
        }
        let reserved = [USER, GROUP, ENTERPRISE_USER]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&id))
            || lower.starts_with(crate::urn::API_MESSAGES_PREFIX)
            || lower.starts_with(crate::urn::SCIM_1_CORE_PREFIX);
        if reserved {
            return Err(SchemaError::Reserved(id));
        }
        if self.schema.attributes.is_empty() {
            return Err(SchemaError::NoAttributes(id));
        }
        check_level(&self.schema.attributes, "", true)?;
        let mut schema = self.schema;
        schema.id = id;
        Ok(SchemaExtension {
            resource: self.resource,
            required: self.required,
            schema,
        })
    }
}

fn check_level(defs: &[AttributeDef], prefix: &str, top: bool) -> Result<(), SchemaError> {
    for (i, def) in defs.iter().enumerate() {
        let qualified = format!("{prefix}{}", def.name);
        let parses =
            AttrPath::parse(&def.name).is_ok_and(|p| p.urn.is_none() && p.sub_attribute.is_none());
        if !parses {
            return Err(SchemaError::InvalidName(qualified));
        }
        if defs
            .iter()
            .take(i)
            .any(|d| d.name.eq_ignore_ascii_case(&def.name))
        {
            return Err(SchemaError::Duplicate(qualified));
        }
        match def.kind {
            AttributeType::Complex if !top => {
                return Err(SchemaError::MisplacedSubAttributes(qualified));
            }
            AttributeType::Complex if def.sub_attributes.is_empty() => {
                return Err(SchemaError::EmptyComplex(qualified));
            }
            AttributeType::Complex => {
                check_level(&def.sub_attributes, &format!("{qualified}."), false)?;
            }
            _ if !def.sub_attributes.is_empty() => {
                return Err(SchemaError::MisplacedSubAttributes(qualified));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The extensions a service declares, by resource type; a later one with the same URN
/// replaces an earlier one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Extensions {
    all: Vec<SchemaExtension>,
}

impl Extensions {
    /// No declared extensions.
    #[cfg(test)]
    pub(crate) fn none() -> &'static Extensions {
        static NONE: Extensions = Extensions { all: Vec::new() };
        &NONE
    }

    pub(crate) fn add(&mut self, extension: SchemaExtension) {
        self.all
            .retain(|e| !e.schema.id.eq_ignore_ascii_case(&extension.schema.id));
        self.all.push(extension);
    }

    /// These extensions and then a directory's own (`declared`); a directory's extension
    /// whose URN is taken (the service's, declared before the directory's was set) is
    /// left out, so the service's definition wins.
    pub(crate) fn with_directory(&self, declared: &[SchemaExtension]) -> Extensions {
        let mut all = self.all.clone();
        for extension in declared {
            if !all
                .iter()
                .any(|e| e.schema.id.eq_ignore_ascii_case(&extension.schema.id))
            {
                all.push(extension.clone());
            }
        }
        Extensions { all }
    }

    /// Whether a directory may declare `declared` next to these: no URN twice, none of
    /// these.
    pub(crate) fn check_directory(&self, declared: &[SchemaExtension]) -> Result<(), SchemaError> {
        for (i, extension) in declared.iter().enumerate() {
            let id = &extension.schema.id;
            let taken = self
                .all
                .iter()
                .chain(declared.iter().take(i))
                .any(|e| e.schema.id.eq_ignore_ascii_case(id));
            if taken {
                return Err(SchemaError::Taken(id.clone()));
            }
        }
        Ok(())
    }

    /// Every declared extension, in declaration order.
    pub(crate) fn all(&self) -> &[SchemaExtension] {
        &self.all
    }

    /// The extensions of one resource type.
    pub(crate) fn of(&self, kind: ResourceKind) -> impl Iterator<Item = &SchemaExtension> {
        self.all.iter().filter(move |e| e.resource == kind)
    }

    /// The extension of `kind` with this URN, case-insensitively.
    pub(crate) fn find(&self, kind: ResourceKind, urn: &str) -> Option<&SchemaExtension> {
        self.of(kind)
            .find(|e| e.schema.id.eq_ignore_ascii_case(urn))
    }

    /// The values of a `kind` document's declared unique attributes (`uniqueness`
    /// `server` or `global` in an extension of that resource type), as the store
    /// compares them: one [`UniqueKey`] per value, one per element of a multi-valued
    /// attribute, strings lower-cased unless `caseExact`, sorted and each once. Null and
    /// empty-string values are unassigned (RFC 7643 §2.5) and claim nothing. Core
    /// attributes are left out: the only core one scimkit enforces, `userName`, has its
    /// own rule.
    ///
    /// `global` is enforced per directory, like `server`: directories are separate
    /// tenants whose IdPs know nothing of each other, so a value one customer's IdP
    /// assigns must not be refused because another customer's holds it.
    pub(crate) fn unique_keys(&self, kind: ResourceKind, document: &Value) -> Vec<UniqueKey> {
        let mut keys = Vec::new();
        for extension in self.of(kind) {
            let id = &extension.schema.id;
            let Some(inner) = member(document, id) else {
                continue;
            };
            for def in &extension.schema.attributes {
                let Some(value) = member(inner, &def.name) else {
                    continue;
                };
                if def.kind == AttributeType::Complex {
                    for sub in def.sub_attributes.iter().filter(|d| is_unique(d)) {
                        let attribute = format!("{id}:{}.{}", def.name, sub.name);
                        for element in elements(value) {
                            if let Some(v) = member(element, &sub.name) {
                                push_keys(&mut keys, &attribute, sub, v);
                            }
                        }
                    }
                } else if is_unique(def) {
                    push_keys(&mut keys, &format!("{id}:{}", def.name), def, value);
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// The resource type's schemas as a service declares them, for lookups by path.
    pub(crate) fn rules(&self, kind: ResourceKind) -> SchemaRules<'_> {
        SchemaRules {
            kind,
            extensions: self,
        }
    }
}

fn is_unique(def: &AttributeDef) -> bool {
    def.uniqueness != Uniqueness::None
}

/// The member `name` of an object, case-insensitively (attribute names are).
fn member<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let object = object.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The values of a possibly multi-valued attribute.
fn elements(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        one => std::slice::from_ref(one),
    }
}

/// The keys of `value` (one per element when it is an array) of the simple attribute
/// `def`, named `attribute`.
fn push_keys(keys: &mut Vec<UniqueKey>, attribute: &str, def: &AttributeDef, value: &Value) {
    for element in elements(value) {
        let normal = match element {
            Value::String(s) if s.is_empty() => continue,
            Value::String(s) if def.case_exact => s.clone(),
            Value::String(s) => s.to_lowercase(),
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
            // Numbers and booleans in their JSON form (`1.5`, `true`): the document check
            // already holds them to the declared type.
            other => other.to_string(),
        };
        keys.push(UniqueKey::new(attribute, normal));
    }
}

/// One resource type's schemas, core and declared: attribute lookup by path, and the
/// `caseExact` rules filters and sorting follow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SchemaRules<'a> {
    kind: ResourceKind,
    extensions: &'a Extensions,
}

impl SchemaRules<'_> {
    /// The resource type.
    pub(crate) fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// The definition of the attribute a path names, as [`ResourceKind::attribute`], and
    /// also in a declared extension.
    pub(crate) fn attribute(&self, path: &AttrPath) -> Option<&AttributeDef> {
        if let Some(def) = self.kind.attribute(path) {
            return Some(def);
        }
        let urn = path.urn.as_deref()?;
        let top = self
            .extensions
            .find(self.kind, urn)?
            .schema
            .attribute(&path.attribute)?;
        match &path.sub_attribute {
            Some(sub) => top.sub_attribute(sub),
            None => Some(top),
        }
    }
}

impl CaseExactness for SchemaRules<'_> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

    #[test]
    fn definitions_a_client_could_not_read_are_refused() {
        let build = |id: &str, attribute: AttributeDef| {
            SchemaExtension::builder(ResourceKind::User, id)
                .attribute(attribute)
                .build()
        };
        let ok = AttributeDef::string("costCenter");
        assert!(matches!(
            build("acme", ok.clone()),
            Err(SchemaError::NotUrn(_))
        ));
        assert!(matches!(
            build(ENTERPRISE_USER, ok.clone()),
            Err(SchemaError::Reserved(_))
        ));
        assert!(matches!(
            build("urn:ietf:params:scim:api:messages:2.0:Acme", ok.clone()),
            Err(SchemaError::Reserved(_))
        ));
        assert!(matches!(
            build(ACME, AttributeDef::string("cost center")),
            Err(SchemaError::InvalidName(_))
        ));
        assert!(matches!(
            build(ACME, AttributeDef::complex("badge", vec![])),
            Err(SchemaError::EmptyComplex(_))
        ));
        assert!(matches!(
            build(
                ACME,
                AttributeDef::complex(
                    "badge",
                    vec![AttributeDef::complex(
                        "inner",
                        vec![AttributeDef::string("x")]
                    )]
                )
            ),
            Err(SchemaError::MisplacedSubAttributes(_))
        ));
        let twice = SchemaExtension::builder(ResourceKind::User, ACME)
            .attribute(ok.clone())
            .attribute(AttributeDef::integer("COSTCENTER"))
            .build();
        assert_eq!(twice, Err(SchemaError::Duplicate("COSTCENTER".into())));
        assert!(matches!(
            SchemaExtension::builder(ResourceKind::User, ACME).build(),
            Err(SchemaError::NoAttributes(_))
        ));
        assert!(build(ACME, ok).is_ok());
    }

    #[test]
    fn unique_keys_are_the_declared_unique_values_normalised() {
        let mut extensions = Extensions::default();
        extensions.add(
            SchemaExtension::builder(ResourceKind::User, ACME)
                .attribute(AttributeDef::string("badge").uniqueness(Uniqueness::Server))
                .attribute(
                    AttributeDef::string("serial")
                        .case_exact()
                        .uniqueness(Uniqueness::Global),
                )
                .attribute(
                    AttributeDef::string("deskPhones")
                        .multi_valued()
                        .uniqueness(Uniqueness::Server),
                )
                .attribute(AttributeDef::complex(
                    "seat",
                    vec![
                        AttributeDef::integer("number").uniqueness(Uniqueness::Server),
                        AttributeDef::string("floor"),
                    ],
                ))
                .attribute(AttributeDef::string("nickname"))
                .build()
                .unwrap(),
        );
        let user = serde_json::json!({
            "userName": "ann",
            ACME: {
                "BADGE": "B-1", "serial": "Ab", "deskPhones": ["111", "", "111", null],
                "seat": {"number": 7, "floor": "2"}, "nickname": "annie",
            },
        });
        let keys: Vec<(String, String)> = extensions
            .unique_keys(ResourceKind::User, &user)
            .into_iter()
            .map(|k| (k.attribute, k.value))
            .collect();
        let key = |a: &str, v: &str| (format!("{ACME}:{a}"), v.to_owned());
        assert_eq!(
            keys,
            vec![
                key("badge", "b-1"),
                key("deskPhones", "111"),
                key("seat.number", "7"),
                key("serial", "Ab"),
            ]
        );
        assert!(
            extensions
                .unique_keys(ResourceKind::User, &serde_json::json!({"userName": "bob"}))
                .is_empty(),
            "a user without the extension claims nothing"
        );
    }

    #[test]
    fn unique_keys_are_computed_from_the_extensions_of_the_written_resource_type() {
        const TEAM: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:Group";
        let mut extensions = Extensions::default();
        extensions.add(
            SchemaExtension::builder(ResourceKind::Group, TEAM)
                .attribute(AttributeDef::string("code").uniqueness(Uniqueness::Server))
                .build()
                .unwrap(),
        );
        let group = serde_json::json!({"displayName": "Eng", TEAM: {"code": "E-1"}});
        assert_eq!(
            extensions.unique_keys(ResourceKind::Group, &group),
            vec![UniqueKey::new(format!("{TEAM}:code"), "e-1")]
        );
        assert!(
            extensions
                .unique_keys(ResourceKind::User, &group)
                .is_empty(),
            "a Group extension claims nothing on a user"
        );
    }

    #[test]
    fn declared_attributes_resolve_by_qualified_path() {
        let mut extensions = Extensions::default();
        extensions.add(
            SchemaExtension::builder(ResourceKind::User, ACME)
                .attribute(AttributeDef::string("badge").case_exact())
                .build()
                .unwrap(),
        );
        let rules = extensions.rules(ResourceKind::User);
        let path = AttrPath::parse(&format!("{}:BADGE", ACME.to_uppercase())).unwrap();
        assert_eq!(
            rules.attribute(&path).map(|d| d.name.as_str()),
            Some("badge")
        );
        assert!(rules.case_exact(&path));
        assert!(
            extensions
                .rules(ResourceKind::Group)
                .attribute(&path)
                .is_none()
        );
        assert!(
            rules
                .attribute(&AttrPath::parse("userName").unwrap())
                .is_some()
        );
    }
}
