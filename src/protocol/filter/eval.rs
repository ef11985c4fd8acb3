//! Evaluates a filter against a SCIM resource in its JSON form.
//!
//! Attribute names match case-insensitively. A multi-valued attribute matches when any of
//! its values does; a complex value without a sub-attribute compares by its `value` (and
//! with that sub-attribute's `caseExact`). An attribute the resource lacks matches nothing,
//! except under `ne`, `eq null` and `not`, so a filter on an unknown attribute selects no
//! resource rather than failing.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};
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
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DefaultCaseRules;

#[cfg(test)]
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

pub(super) fn get_ignore_case<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
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
    attribute(resource, path)
        .map(|value| leaves_of(value, path))
        .unwrap_or_default()
}

fn leaves_of<'a>(value: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let mut out = Vec::new();
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

/// `pr`: the attribute (or, with a sub-attribute, one of its values) is there and not
/// null, `""`, `[]` or `{}`.
fn present(resource: &Value, path: &AttrPath) -> bool {
    match &path.sub_attribute {
        None => attribute(resource, path).is_some_and(is_present),
        Some(_) => leaves(resource, path).into_iter().any(is_present),
    }
}

pub(super) fn datetime(text: &str) -> Option<OffsetDateTime> {
    // Every RFC 3339 timestamp starts with a digit; skipping the parser for other text
    // keeps plain string comparisons cheap.
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Lower-cases `text` unless the attribute is case-exact; borrows when nothing changes.
pub(super) fn fold(text: &str, case_exact: bool) -> Cow<'_, str> {
    let unchanged = |c: char| {
        let mut lower = c.to_lowercase();
        lower.next() == Some(c) && lower.next().is_none()
    };
    if case_exact || text.chars().all(unchanged) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Orders two strings: chronologically when both are RFC 3339 dates, else as text
/// (folded to lower case unless case-exact).
pub(super) fn compare_strings(a: &str, b: &str, case_exact: bool) -> Ordering {
    if let (Some(x), Some(y)) = (datetime(a), datetime(b)) {
        return x.cmp(&y);
    }
    fold(a, case_exact).cmp(&fold(b, case_exact))
}

/// A JSON number as an exact integer when it is one, so that large ids and counters do
/// not collide after rounding to `f64`.
enum Numeric {
    Integer(i128),
    Float(f64),
}

fn numeric(number: &Number) -> Numeric {
    match (number.as_i64(), number.as_u64()) {
        (Some(i), _) => Numeric::Integer(i128::from(i)),
        (None, Some(u)) => Numeric::Integer(i128::from(u)),
        // serde_json without `arbitrary_precision` holds every other number as an f64.
        (None, None) => Numeric::Float(number.as_f64().unwrap_or(0.0)),
    }
}

fn compare_integer_float(integer: i128, float: f64) -> Ordering {
    // Rounding to f64 is monotonic, so a difference after rounding is the true one; a tie
    // means `float` is integral and in range, and the exact comparison decides.
    match (integer as f64).partial_cmp(&float) {
        Some(Ordering::Equal) | None => integer.cmp(&(float as i128)),
        Some(ordering) => ordering,
    }
}

/// Orders two JSON numbers by their exact values (a total order: JSON has no NaN).
pub(super) fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    match (numeric(a), numeric(b)) {
        (Numeric::Integer(x), Numeric::Integer(y)) => x.cmp(&y),
        (Numeric::Float(x), Numeric::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Numeric::Integer(x), Numeric::Float(y)) => compare_integer_float(x, y),
        (Numeric::Float(x), Numeric::Integer(y)) => compare_integer_float(y, x).reverse(),
    }
}

fn ordering_satisfies(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// The literal of a comparison, with a string folded once for all the values it meets.
enum Needle<'a> {
    Text { raw: &'a str, folded: Cow<'a, str> },
    Number(&'a Number),
    Bool(bool),
}

/// Whether one value satisfies `op needle`; values of another JSON type never do.
fn compare_leaf(leaf: &Value, op: CompareOp, needle: &Needle<'_>, case_exact: bool) -> bool {
    match (leaf, needle) {
        (Value::String(s), Needle::Text { raw, folded }) => {
            let s_folded = fold(s, case_exact);
            match op {
                CompareOp::Eq => {
                    s_folded == *folded
                        || matches!((datetime(s), datetime(raw)), (Some(x), Some(y)) if x == y)
                }
                CompareOp::Co => s_folded.contains(folded.as_ref()),
                CompareOp::Sw => s_folded.starts_with(folded.as_ref()),
                CompareOp::Ew => s_folded.ends_with(folded.as_ref()),
                _ => ordering_satisfies(compare_strings(s, raw, case_exact), op),
            }
        }
        (Value::Number(n), Needle::Number(v)) => ordering_satisfies(compare_numbers(n, v), op),
        (Value::Bool(b), Needle::Bool(v)) => match op {
            CompareOp::Eq => b == v,
            CompareOp::Ne => b != v,
            _ => false,
        },
        _ => false,
    }
}

/// Whether the attribute holds complex values, which compare by their `value`.
fn is_complex(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().any(Value::is_object),
        _ => false,
    }
}

/// Whether any value at `path` satisfies `op value`. `ne` holds when no value equals;
/// `eq null` when the attribute is not present (as `pr` judges), `ne null` when it is.
fn compare(
    resource: &Value,
    path: &AttrPath,
    parent: Option<&AttrPath>,
    op: CompareOp,
    value: &CompValue,
    rules: &dyn CaseExactness,
) -> bool {
    let needle = match value {
        CompValue::Null => return (op == CompareOp::Ne) == present(resource, path),
        CompValue::Bool(b) => Needle::Bool(*b),
        CompValue::Number(n) => Needle::Number(n),
        CompValue::String(s) => Needle::Text {
            raw: s,
            folded: Cow::Borrowed(s),
        },
    };
    let Some(attribute_value) = attribute(resource, path) else {
        return op == CompareOp::Ne;
    };
    let mut rule_path = qualified(path, parent);
    if rule_path.sub_attribute.is_none() && is_complex(attribute_value) {
        rule_path.to_mut().sub_attribute = Some("value".to_owned());
    }
    let case_exact = rules.case_exact(&rule_path);
    let needle = match needle {
        Needle::Text { raw, .. } => Needle::Text {
            raw,
            folded: fold(raw, case_exact),
        },
        other => other,
    };
    let leaves = leaves_of(attribute_value, path);
    match op {
        CompareOp::Ne => !leaves
            .iter()
            .any(|leaf| compare_leaf(leaf, CompareOp::Eq, &needle, case_exact)),
        _ => leaves
            .iter()
            .any(|leaf| compare_leaf(leaf, op, &needle, case_exact)),
    }
}

/// A path as seen from the resource: inside a value filter, the element's attribute is a
/// sub-attribute of the multi-valued one.
fn qualified<'a>(path: &'a AttrPath, parent: Option<&AttrPath>) -> Cow<'a, AttrPath> {
    match parent {
        Some(parent) => Cow::Owned(AttrPath {
            urn: parent.urn.clone(),
            attribute: parent.attribute.clone(),
            sub_attribute: Some(path.attribute.clone()),
        }),
        None => Cow::Borrowed(path),
    }
}

pub(super) fn matches(
    filter: &Filter,
    resource: &Value,
    rules: &dyn CaseExactness,
    parent: Option<&AttrPath>,
) -> bool {
    match filter {
        Filter::Compare { path, op, value } => compare(resource, path, parent, *op, value, rules),
        Filter::Present(path) => present(resource, path),
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
