//! Evaluates a filter against a SCIM resource in its JSON form.
//!
//! Attribute names match case-insensitively. A multi-valued attribute matches when any of
//! its values does; a complex value without a sub-attribute compares by its `value`. An
//! attribute the resource lacks matches nothing, except under `ne` and `not`, so a filter
//! on an unknown attribute selects no resource rather than failing.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ast::{CompValue, CompareOp, Filter};
use crate::protocol::path::{AttrPath, CaseExactness};

/// Schema URNs whose attributes sit at the top level of a resource.
const CORE_URNS: [&str; 2] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
];

/// `caseExact` per the core schemas of RFC 7643, for resources without a richer schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultCaseRules;

impl CaseExactness for DefaultCaseRules {
    fn case_exact(&self, path: &AttrPath) -> bool {
        let attr = path.attribute.to_ascii_lowercase();
        let sub = path.sub_attribute.as_deref().map(str::to_ascii_lowercase);
        matches!(
            (attr.as_str(), sub.as_deref()),
            ("id" | "externalid" | "password", None)
                | ("meta", Some("location" | "version"))
                | ("members" | "groups" | "x509certificates", Some("value"))
                | (_, Some("$ref"))
        )
    }
}

fn get_ignore_case<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The object a path's attribute lives in: the resource, or its extension object.
fn container<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Map<String, Value>> {
    let object = resource.as_object()?;
    match &path.urn {
        Some(urn) if !CORE_URNS.iter().any(|core| core.eq_ignore_ascii_case(urn)) => {
            get_ignore_case(object, urn)?.as_object()
        }
        _ => Some(object),
    }
}

/// The raw value of the path's attribute (before sub-attribute selection).
pub(super) fn attribute<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    get_ignore_case(container(resource, path)?, &path.attribute)
}

/// Every value the path reaches, with arrays flattened and complex values without a
/// sub-attribute reduced to their `value`.
pub(super) fn leaves<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let Some(value) = attribute(resource, path) else {
        return out;
    };
    let elements: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for element in elements {
        let leaf = match (&path.sub_attribute, element) {
            (Some(sub), Value::Object(o)) => get_ignore_case(o, sub),
            (Some(_), _) => None,
            (None, Value::Object(o)) => get_ignore_case(o, "value"),
            (None, other) => Some(other),
        };
        match leaf {
            Some(Value::Array(items)) => out.extend(items.iter()),
            Some(Value::Null) | None => {}
            Some(other) => out.push(other),
        }
    }
    out
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn datetime(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Orders two strings: chronologically when both are RFC 3339 dates, else as text
/// (folded to lower case unless case-exact).
pub(super) fn compare_strings(a: &str, b: &str, case_exact: bool) -> Ordering {
    if let (Some(x), Some(y)) = (datetime(a), datetime(b)) {
        return x.cmp(&y);
    }
    if case_exact {
        a.cmp(b)
    } else {
        a.to_lowercase().cmp(&b.to_lowercase())
    }
}

fn compare_leaf(leaf: &Value, op: CompareOp, value: &CompValue, case_exact: bool) -> bool {
    match (leaf, value) {
        (Value::String(s), CompValue::String(v)) => {
            let (s_cmp, v_cmp) = if case_exact {
                (s.clone(), v.clone())
            } else {
                (s.to_lowercase(), v.to_lowercase())
            };
            match op {
                CompareOp::Eq => {
                    compare_strings(s, v, case_exact) == Ordering::Equal || s_cmp == v_cmp
                }
                CompareOp::Ne => s_cmp != v_cmp,
                CompareOp::Co => s_cmp.contains(&v_cmp),
                CompareOp::Sw => s_cmp.starts_with(&v_cmp),
                CompareOp::Ew => s_cmp.ends_with(&v_cmp),
                CompareOp::Gt => compare_strings(s, v, case_exact) == Ordering::Greater,
                CompareOp::Ge => compare_strings(s, v, case_exact) != Ordering::Less,
                CompareOp::Lt => compare_strings(s, v, case_exact) == Ordering::Less,
                CompareOp::Le => compare_strings(s, v, case_exact) != Ordering::Greater,
            }
        }
        (Value::Number(n), CompValue::Number(v)) => {
            let (Some(a), Some(b)) = (n.as_f64(), v.as_f64()) else {
                return false;
            };
            let ordering = a.partial_cmp(&b);
            match op {
                CompareOp::Eq => ordering == Some(Ordering::Equal),
                CompareOp::Ne => ordering != Some(Ordering::Equal),
                CompareOp::Gt => ordering == Some(Ordering::Greater),
                CompareOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
                CompareOp::Lt => ordering == Some(Ordering::Less),
                CompareOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
            }
        }
        (Value::Bool(b), CompValue::Bool(v)) => match op {
            CompareOp::Eq => b == v,
            CompareOp::Ne => b != v,
            _ => false,
        },
        _ => false,
    }
}

/// Whether any value at `path` satisfies `op value`. `ne` holds when no value equals,
/// `eq null` when the attribute has no value.
fn compare(
    resource: &Value,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    case_exact: bool,
) -> bool {
    let leaves = leaves(resource, path);
    match (op, value) {
        (CompareOp::Eq, CompValue::Null) => leaves.is_empty(),
        (CompareOp::Ne, CompValue::Null) => !leaves.is_empty(),
        (CompareOp::Ne, _) => !leaves
            .iter()
            .any(|leaf| compare_leaf(leaf, CompareOp::Eq, value, case_exact)),
        _ => leaves
            .iter()
            .any(|leaf| compare_leaf(leaf, op, value, case_exact)),
    }
}

/// A path as seen from the resource: inside a value filter, the element's attribute is a
/// sub-attribute of the multi-valued one.
fn qualified(path: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(parent) => AttrPath {
            urn: parent.urn.clone(),
            attribute: parent.attribute.clone(),
            sub_attribute: Some(path.attribute.clone()),
        },
        None => path.clone(),
    }
}

pub(super) fn matches(
    filter: &Filter,
    resource: &Value,
    rules: &dyn CaseExactness,
    parent: Option<&AttrPath>,
) -> bool {
    match filter {
        Filter::Compare { path, op, value } => {
            let case_exact = rules.case_exact(&qualified(path, parent));
            compare(resource, path, *op, value, case_exact)
        }
        Filter::Present(path) => match &path.sub_attribute {
            None => attribute(resource, path).is_some_and(is_present),
            Some(_) => leaves(resource, path).into_iter().any(is_present),
        },
        Filter::And(a, b) => {
            matches(a, resource, rules, parent) && matches(b, resource, rules, parent)
        }
        Filter::Or(a, b) => {
            matches(a, resource, rules, parent) || matches(b, resource, rules, parent)
        }
        Filter::Not(inner) => !matches(inner, resource, rules, parent),
        Filter::ValuePath { path, filter } => match attribute(resource, path) {
            Some(Value::Array(elements)) => elements
                .iter()
                .any(|element| matches(filter, element, rules, Some(path))),
            Some(element @ Value::Object(_)) => matches(filter, element, rules, Some(path)),
            _ => false,
        },
    }
}
