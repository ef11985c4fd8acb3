//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5), honouring each attribute's
//! `returned` characteristic (RFC 7643 §7): `id` and `schemas` always come back,
//! `password` never, and `returned: request` attributes only when asked for.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::error::ScimType;
use crate::protocol::ProtocolError;
use crate::protocol::path::AttrPath;
use crate::schema::path::is_attr_name;
#[cfg(test)]
use crate::schema::{Extensions, ResourceKind};
use crate::schema::{Returned, SchemaRules};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Projection {
    /// When non-empty, only these (plus the always-returned ones).
    pub attributes: Vec<String>,
    /// These are left out (unless always returned).
    pub excluded: Vec<String>,
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Projection {
    /// From the comma-separated query parameters.
    pub(crate) fn from_params(
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ProtocolError> {
        let projection = Self {
            attributes: attributes.map(split).unwrap_or_default(),
            excluded: excluded.map(split).unwrap_or_default(),
        };
        for name in projection.attributes.iter().chain(&projection.excluded) {
            if !name.to_ascii_lowercase().starts_with("urn:") {
                AttrPath::parse(name).map_err(|e| {
                    ProtocolError::new(ScimType::InvalidValue, format!("attributes: {e}"))
                })?;
            }
        }
        Ok(projection)
    }

    /// From a SearchRequest's `attributes` / `excludedAttributes` arrays.
    pub(crate) fn from_search(body: &Value) -> Result<Self, ProtocolError> {
        let list = |name: &str| -> Result<Vec<String>, ProtocolError> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_owned).ok_or_else(|| {
                            ProtocolError::new(
                                ScimType::InvalidValue,
                                format!("`{name}` must be an array of strings"),
                            )
                        })
                    })
                    .collect(),
                Some(Value::String(s)) => Ok(split(s)),
                Some(_) => Err(ProtocolError::new(
                    ScimType::InvalidValue,
                    format!("`{name}` must be an array of strings"),
                )),
            }
        };
        Ok(Self {
            attributes: list("attributes")?,
            excluded: list("excludedAttributes")?,
        })
    }

    /// Whether a top-level attribute appears in the output, so a caller can skip loading
    /// it (`excludedAttributes=members`).
    pub(crate) fn includes(&self, name: &str) -> bool {
        let names = |list: &[String]| list.iter().any(|a| top_level(a).eq_ignore_ascii_case(name));
        if names(&self.excluded) {
            return false;
        }
        self.attributes.is_empty() || names(&self.attributes)
    }

    /// The resource reduced to what the request asked for. The lists are parsed and
    /// looked up by name, so one resource costs the lists' length plus its own size, not
    /// their product; a list response applies the same projection to every resource,
    /// and the parsed lists are reused while the projection stays the same.
    #[cfg(test)]
    pub(crate) fn apply(&self, resource: Value, kind: ResourceKind) -> Value {
        self.apply_declared(resource, Extensions::none().rules(kind))
    }

    /// [`Projection::apply`], with the `returned` of the service's declared extensions.
    pub(crate) fn apply_declared(&self, resource: Value, rules: SchemaRules<'_>) -> Value {
        let Value::Object(doc) = resource else {
            return resource;
        };
        let lists = self.compiled();
        let mut out = Map::new();
        for (key, value) in doc {
            match lists.select(&rules, &key, &value) {
                Selection::Drop => {}
                // Kept whole: moved, never copied.
                Selection::Keep => {
                    out.insert(key, value);
                }
                Selection::Replace(reduced) => {
                    out.insert(key, reduced);
                }
            }
        }
        Value::Object(out)
    }

    /// The projection ready to apply to borrowed attributes, one call per attribute
    /// (see [`Compiled::select`]). Holds thread-local state: use it within one
    /// synchronous step, never across an `.await`.
    pub(crate) fn compile(&self) -> Compiled {
        Compiled(self.compiled())
    }
}

/// What a projection does to one top-level attribute.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selection {
    /// Left out.
    Drop,
    /// Kept as it is (a renderer can borrow it instead of copying).
    Keep,
    /// Kept in part: the reduced copy.
    Replace(Value),
}

/// A compiled [`Projection`] (see [`Projection::compile`]).
pub(crate) struct Compiled(Rc<Lists>);

impl Compiled {
    /// What the projection does to the top-level attribute `key` holding `value`; only
    /// the parts kept of a partly kept attribute are copied.
    pub(crate) fn select(&self, rules: &SchemaRules<'_>, key: &str, value: &Value) -> Selection {
        self.0.select(rules, key, value)
    }

    /// [`Compiled::select_plain`] for a stored attribute whose value has not been parsed:
    /// also `None` for a name that may be an extension's URN.
    pub(crate) fn select_unparsed(&self, rules: &SchemaRules<'_>, key: &str) -> Option<Selection> {
        if may_be_urn(key) {
            return None;
        }
        self.select_plain(rules, key)
    }

    /// The same for an attribute that is never an extension object (`meta`, `groups`,
    /// ...), decided without its value; `None` when it is kept in part, which only
    /// [`Compiled::select`] with the value can tell.
    pub(crate) fn select_plain(&self, rules: &SchemaRules<'_>, key: &str) -> Option<Selection> {
        if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("schemas") {
            return Some(Selection::Keep);
        }
        match self.0.decide(rules, key, key, self.0.has_attributes) {
            Decision::Drop => Some(Selection::Drop),
            Decision::Keep => Some(Selection::Keep),
            Decision::Subs { .. } => None,
        }
    }
}

thread_local! {
    /// The last projection applied on this thread and its parsed lists. Comparing the
    /// lists costs no allocation, parsing them does: a page of 1,000 resources with 200
    /// names parses them once instead of 1,000 times.
    static COMPILED: RefCell<Option<(Projection, Rc<Lists>)>> = const { RefCell::new(None) };
}

impl Projection {
    fn compiled(&self) -> Rc<Lists> {
        COMPILED.with(|cell| {
            let mut cached = cell.borrow_mut();
            if let Some((projection, lists)) = cached.as_ref()
                && projection == self
            {
                return lists.clone();
            }
            let lists = Rc::new(Lists {
                attributes: Names::new(&self.attributes),
                excluded: Names::new(&self.excluded),
                has_attributes: !self.attributes.is_empty(),
                unlisted: self.attributes.is_empty() && self.excluded.is_empty(),
            });
            *cached = Some((self.clone(), lists.clone()));
            lists
        })
    }
}

/// A list of requested names, parsed and keyed by lower-cased attribute name.
struct Names {
    by_name: HashMap<String, Vec<AttrPath>>,
    /// Every name as written, lower-cased (for whole extension URNs).
    raw: HashSet<String>,
}

impl Names {
    fn new(list: &[String]) -> Self {
        let mut by_name: HashMap<String, Vec<AttrPath>> = HashMap::new();
        for path in list.iter().filter_map(|a| AttrPath::parse(a).ok()) {
            by_name
                .entry(path.attribute.to_ascii_lowercase())
                .or_default()
                .push(path);
        }
        Self {
            by_name,
            raw: list.iter().map(|a| a.to_ascii_lowercase()).collect(),
        }
    }

    /// The listed paths that name the attribute `path` (called `name`).
    fn matching(&self, path: &AttrPath, name: &str) -> Vec<&AttrPath> {
        self.by_name
            .get(&name.to_ascii_lowercase())
            .map(|paths| {
                paths
                    .iter()
                    .filter(|a| same_attribute(a, path, name))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn lists_whole(&self, urn: &str) -> bool {
        self.raw.contains(&urn.to_ascii_lowercase())
    }
}

/// A projection ready to apply.
struct Lists {
    attributes: Names,
    excluded: Names,
    has_attributes: bool,
    /// Neither list was given (most requests): only `returned` decides.
    unlisted: bool,
}

/// What `select` decides for one attribute before looking at its value.
enum Decision {
    Drop,
    Keep,
    /// Kept in part: only the sub-attributes in `keep` (all when `None`) that are not in
    /// `drop` (lower-cased names).
    Subs {
        keep: Option<HashSet<String>>,
        drop: HashSet<String>,
    },
}

/// Whether `key` may be a URN (every extension is named by one); a cheap test that spares
/// the schema lookups for plain attribute names.
fn may_be_urn(key: &str) -> bool {
    key.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"))
}

impl Lists {
    fn select(&self, rules: &SchemaRules<'_>, key: &str, value: &Value) -> Selection {
        let kind = rules.kind();
        if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("schemas") {
            return Selection::Keep;
        }
        // A custom extension (Entra's `CustomExtensionName`, Okta's namespaces) is selected
        // like the enterprise one, under the URN it is stored by.
        let extension_urn = if may_be_urn(key) {
            kind.extension(key)
                .map(|e| e.id.as_str())
                .or_else(|| (kind.is_custom_extension(key) && value.is_object()).then_some(key))
        } else {
            None
        };
        if let Some(extension_id) = extension_urn {
            // An extension object: select within it by its own attribute names.
            let Value::Object(inner) = value else {
                return Selection::Keep;
            };
            if self.excluded.lists_whole(extension_id) {
                return Selection::Drop;
            }
            // Asking for the whole extension asks for all of its attributes.
            let has_attributes = self.has_attributes && !self.attributes.lists_whole(extension_id);
            let mut selected = Vec::with_capacity(inner.len());
            let mut all_kept = true;
            for (name, v) in inner {
                let qualified = format!("{}:{name}", extension_id);
                let decision = self.decide(rules, &qualified, name, has_attributes);
                let one = reduce(decision, v);
                all_kept &= matches!(one, Selection::Keep);
                selected.push((name, one));
            }
            if inner.is_empty() {
                return Selection::Drop;
            }
            if all_kept {
                return Selection::Keep;
            }
            let kept: Map<String, Value> = selected
                .into_iter()
                .filter_map(|(name, one)| match one {
                    Selection::Drop => None,
                    Selection::Keep => inner.get(name).map(|v| (name.clone(), v.clone())),
                    Selection::Replace(v) => Some((name.clone(), v)),
                })
                .collect();
            return if kept.is_empty() {
                Selection::Drop
            } else {
                Selection::Replace(Value::Object(kept))
            };
        }
        reduce(self.decide(rules, key, key, self.has_attributes), value)
    }

    /// What the lists do to one attribute, decided from its name alone; `qualified` is how
    /// requests may name it.
    fn decide(
        &self,
        rules: &SchemaRules<'_>,
        qualified: &str,
        name: &str,
        has_attributes: bool,
    ) -> Decision {
        // Without lists a plain name's fate is its `returned` alone, so the path parse and
        // list lookups below (allocations, per attribute of every resource) are skipped;
        // what they would decide is the same.
        if self.unlisted && !has_attributes && is_attr_name(qualified) {
            let withheld = rules.kind().withheld_top_level();
            return if withheld.iter().any(|w| w.eq_ignore_ascii_case(qualified)) {
                Decision::Drop
            } else {
                Decision::Keep
            };
        }
        let Ok(path) = AttrPath::parse(qualified) else {
            return Decision::Drop;
        };
        let returned = rules
            .attribute(&path)
            .map(|d| d.returned)
            .unwrap_or(Returned::Default);
        match returned {
            Returned::Never => return Decision::Drop,
            Returned::Always => return Decision::Keep,
            _ => {}
        }
        let excluded = self.excluded.matching(&path, name);
        if excluded.iter().any(|e| e.sub_attribute.is_none()) {
            return Decision::Drop;
        }
        let keep = if !has_attributes {
            if returned == Returned::Request {
                return Decision::Drop;
            }
            None
        } else {
            let requested = self.attributes.matching(&path, name);
            if requested.is_empty() {
                return Decision::Drop;
            }
            if requested.iter().any(|r| r.sub_attribute.is_none()) {
                None
            } else {
                Some(
                    requested
                        .iter()
                        .filter_map(|r| r.sub_attribute.as_deref())
                        .map(str::to_ascii_lowercase)
                        .collect(),
                )
            }
        };
        let drop: HashSet<String> = excluded
            .iter()
            .filter_map(|e| e.sub_attribute.as_deref())
            .map(str::to_ascii_lowercase)
            .collect();
        if keep.is_none() && drop.is_empty() {
            Decision::Keep
        } else {
            Decision::Subs { keep, drop }
        }
    }
}

/// Applies a decision to the value it was made for, copying only what a partial
/// selection keeps.
fn reduce(decision: Decision, value: &Value) -> Selection {
    match decision {
        Decision::Drop => Selection::Drop,
        Decision::Keep => Selection::Keep,
        Decision::Subs { keep, drop } => {
            let dropped = |sub: &str| drop.contains(&sub.to_ascii_lowercase());
            let kept = match &keep {
                Some(keep) => {
                    let kept = retain_subs(value, |sub| keep.contains(&sub.to_ascii_lowercase()));
                    match kept {
                        Some(v) if !drop.is_empty() => retain_subs(&v, |sub| !dropped(sub)),
                        other => other,
                    }
                }
                None => retain_subs(value, |sub| !dropped(sub)),
            };
            kept.map_or(Selection::Drop, Selection::Replace)
        }
    }
}

/// The top-level attribute name of a requested path (`name.givenName` → `name`).
fn top_level(requested: &str) -> &str {
    let tail = requested.rsplit(':').next().unwrap_or(requested);
    tail.split('.').next().unwrap_or(tail)
}

/// Whether a requested path names the attribute `path` (same attribute; URN optional
/// for core attributes).
fn same_attribute(requested: &AttrPath, path: &AttrPath, name: &str) -> bool {
    let urn_ok = match (&requested.urn, &path.urn) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (Some(a), None) => a
            .to_ascii_lowercase()
            .starts_with("urn:ietf:params:scim:schemas:core:"),
        (None, _) => path.urn.is_none(),
    };
    urn_ok && requested.attribute.eq_ignore_ascii_case(name)
}

/// A copy of the sub-attributes `keep` accepts, in an object or each array element.
fn retain_subs(value: &Value, keep: impl Fn(&str) -> bool) -> Option<Value> {
    let reduce = |object: &Map<String, Value>| -> Map<String, Value> {
        object
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    match value {
        Value::Object(o) => {
            let reduced = reduce(o);
            (!reduced.is_empty()).then_some(Value::Object(reduced))
        }
        Value::Array(items) => {
            let reduced: Vec<Value> = items
                .iter()
                .filter_map(|item| match item {
                    Value::Object(o) => {
                        Some(reduce(o)).filter(|o| !o.is_empty()).map(Value::Object)
                    }
                    other => Some(other.clone()),
                })
                .collect();
            (!reduced.is_empty()).then_some(Value::Array(reduced))
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "scim_user_1",
            "userName": "ann@acme.com",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@acme.com", "type": "work"}],
            "password": "hunter2",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "employeeNumber": "7"},
            "meta": {"resourceType": "User"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::from_params(attributes, excluded)
            .unwrap()
            .apply(user(), ResourceKind::User)
    }

    #[test]
    fn without_lists_a_plain_name_is_decided_as_its_parsed_path_would_be() {
        let lists = |unlisted| Lists {
            attributes: Names::new(&[]),
            excluded: Names::new(&[]),
            has_attributes: false,
            unlisted,
        };
        let (fast, parsed) = (lists(true), lists(false));
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let rules = Extensions::none().rules(kind);
            let odd = [
                "PASSWORD",
                "id",
                "meta",
                "schemas",
                "notInSchema",
                "$ref",
                " userName",
            ];
            let names = kind
                .schema()
                .attributes
                .iter()
                .map(|a| a.name.as_str())
                .chain(odd);
            for name in names {
                let kept = |lists: &Lists| {
                    matches!(lists.decide(&rules, name, name, false), Decision::Keep)
                };
                assert_eq!(kept(&fast), kept(&parsed), "{kind:?} `{name}`");
            }
        }
        let rules = Extensions::none().rules(ResourceKind::User);
        assert!(matches!(
            fast.decide(&rules, "password", "password", false),
            Decision::Drop
        ));
    }

    #[test]
    fn default_keeps_everything_but_never_returned_attributes() {
        let out = project(None, None);
        assert!(out.get("password").is_none());
        assert_eq!(out["name"]["givenName"], "Ann");
        assert_eq!(out["meta"]["resourceType"], "User");
    }

    #[test]
    fn attributes_select_with_id_and_schemas_always_kept() {
        let out = project(Some("userName,name.givenName,emails.value"), None);
        assert_eq!(
            out,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "id": "scim_user_1",
                "userName": "ann@acme.com",
                "name": {"givenName": "Ann"},
                "emails": [{"value": "ann@acme.com"}]
            })
        );
    }

    #[test]
    fn urn_qualified_names_and_whole_extensions_work() {
        let out = project(
            Some(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,urn:ietf:params:scim:schemas:core:2.0:User:userName",
            ),
            None,
        );
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"department": "Sales"})
        );
        assert_eq!(out["userName"], "ann@acme.com");
        let whole = project(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            None,
        );
        assert_eq!(
            whole["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "7"
        );
        assert!(whole.get("userName").is_none());
    }

    #[test]
    fn excluded_attributes_are_removed_but_never_id() {
        let out = project(
            None,
            Some(
                "emails,name.familyName,id,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
        );
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Ann"}));
        assert_eq!(out["id"], "scim_user_1");
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"employeeNumber": "7"})
        );
    }

    #[test]
    fn projections_applied_in_turn_each_select_their_own_attributes() {
        let names = Projection::from_params(Some("userName"), None).unwrap();
        let emails = Projection::from_params(Some("emails"), None).unwrap();
        for _ in 0..2 {
            let a = names.apply(user(), ResourceKind::User);
            assert!(
                a.get("userName").is_some() && a.get("emails").is_none(),
                "{a}"
            );
            let b = emails.apply(user(), ResourceKind::User);
            assert!(
                b.get("emails").is_some() && b.get("userName").is_none(),
                "{b}"
            );
        }
    }

    #[test]
    fn names_are_case_insensitive_and_include_tells_callers_what_to_load() {
        let out = project(Some("USERNAME"), None);
        assert_eq!(out["userName"], "ann@acme.com");
        let p = Projection::from_params(None, Some("members")).unwrap();
        assert!(!p.includes("members"));
        assert!(p.includes("displayName"));
        let p = Projection::from_params(Some("displayName"), None).unwrap();
        assert!(!p.includes("members"));
        assert!(Projection::from_params(Some("bad name"), None).is_err());
    }
}
