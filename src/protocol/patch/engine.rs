//! Applies PATCH operations to a stored document (RFC 7644 §3.5.2.1–3). Pure: a document
//! and operations in, a new document or an error out; the input is never half-changed.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value};

use super::path::PatchPath;
use super::{OpKind, PatchError, PatchOp};
use crate::protocol::filter::{CompValue, CompareOp, Filter};
use crate::protocol::path::AttrPath;
use crate::schema::{AttributeType, Mutability, ResourceKind};

/// Attributes the server owns; a PATCH naming them is refused, a path-less value carrying
/// them has them ignored (Okta sends `id` when renaming a group).
const SERVER_OWNED: &[&str] = &["id", "meta", "groups", "schemas"];

/// Applies `operations` in order to a copy of `doc`; all of them or none.
pub(crate) fn apply_operations(
    doc: &Value,
    operations: &[PatchOp],
    kind: ResourceKind,
) -> Result<Value, PatchError> {
    let mut out = match doc {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    for op in operations {
        apply(&mut out, op, kind)?;
    }
    Ok(Value::Object(out))
}

fn apply(doc: &mut Map<String, Value>, op: &PatchOp, kind: ResourceKind) -> Result<(), PatchError> {
    match &op.path {
        Some(path) => apply_at(doc, op.op, path, op.value.as_ref(), kind),
        None => {
            if op.op == OpKind::Remove {
                return Err(PatchError::NoTarget(
                    "a `remove` operation needs a `path`".into(),
                ));
            }
            let Some(Value::Object(values)) = &op.value else {
                return Err(PatchError::InvalidValue(
                    "an operation without `path` needs an object `value` of attributes".into(),
                ));
            };
            // Server-owned keys beside others are ignored (Okta sends `id` when renaming
            // a group); a value of nothing else asks only to change what cannot be
            // changed, and is refused exactly as the same operation with a path is.
            if let Some(first) = values.keys().next()
                && values.keys().all(|key| is_server_owned(key))
            {
                return Err(PatchError::Mutability(format!(
                    "`{first}` is set by the server and cannot be changed"
                )));
            }
            for (key, value) in values {
                if is_server_owned(key) {
                    continue;
                }
                let extension = kind.extension(key).map(|e| e.id.as_str()).or_else(|| {
                    // Okta's namespaces need not end in `:User`; a URN key holding an
                    // object is the extension object itself.
                    (kind.is_custom_extension(key) && value.is_object()).then_some(key.as_str())
                });
                match (extension, value) {
                    (Some(extension), Value::Object(inner)) => {
                        for (name, v) in inner {
                            let path = PatchPath::parse(&format!("{extension}:{name}"), kind)?;
                            apply_at(doc, op.op, &path, Some(v), kind)?;
                        }
                    }
                    _ => {
                        // Keys may be plain names, dotted (`name.givenName`) or URN-qualified.
                        let path = PatchPath::parse(key, kind)?;
                        apply_at(doc, op.op, &path, Some(value), kind)?;
                    }
                }
            }
            Ok(())
        }
    }
}

fn is_server_owned(key: &str) -> bool {
    SERVER_OWNED
        .iter()
        .any(|owned| key.eq_ignore_ascii_case(owned))
}

/// A hash of a JSON value consistent with its `==` (object keys in any order), so
/// multi-valued attributes are matched against incoming values through a map instead of
/// element by element: PATCH costs grow with the elements touched, not their product.
fn fingerprint(value: &Value) -> u64 {
    let mut hasher = DefaultHasher::new();
    feed(value, &mut hasher);
    hasher.finish()
}

fn feed(value: &Value, hasher: &mut DefaultHasher) {
    match value {
        Value::Null => 0u8.hash(hasher),
        Value::Bool(b) => (1u8, b).hash(hasher),
        Value::Number(n) => {
            2u8.hash(hasher);
            if let Some(u) = n.as_u64() {
                (0u8, u).hash(hasher);
            } else if let Some(i) = n.as_i64() {
                (1u8, i).hash(hasher);
            } else {
                // 0.0 == -0.0, so both hash as 0.0.
                let f = n.as_f64().unwrap_or(0.0);
                (2u8, if f == 0.0 { 0 } else { f.to_bits() }).hash(hasher);
            }
        }
        Value::String(s) => (3u8, s).hash(hasher),
        Value::Array(items) => {
            (4u8, items.len()).hash(hasher);
            for item in items {
                feed(item, hasher);
            }
        }
        Value::Object(map) => {
            // Order-insensitive: the sum of each entry's own hash.
            let sum = map.iter().fold(0u64, |sum, (k, v)| {
                let mut entry = DefaultHasher::new();
                k.hash(&mut entry);
                feed(v, &mut entry);
                sum.wrapping_add(entry.finish())
            });
            (5u8, map.len(), sum).hash(hasher);
        }
    }
}

/// Indexes of values by fingerprint.
fn index_of<'a>(values: impl Iterator<Item = &'a Value>) -> HashMap<u64, Vec<usize>> {
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, value) in values.enumerate() {
        index.entry(fingerprint(value)).or_default().push(i);
    }
    index
}

fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The key an attribute is stored under: its present spelling, else the schema's.
fn key_for(map: &Map<String, Value>, kind: ResourceKind, path: &AttrPath) -> String {
    find_key(map, &path.attribute).unwrap_or_else(|| {
        let attribute_only = AttrPath {
            sub_attribute: None,
            ..path.clone()
        };
        kind.attribute(&attribute_only)
            .map(|d| d.name.to_owned())
            .unwrap_or_else(|| path.attribute.clone())
    })
}

/// The object holding the attribute: the document, or its extension object (created on
/// demand when `create`).
fn container<'a>(
    doc: &'a mut Map<String, Value>,
    kind: ResourceKind,
    path: &AttrPath,
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, PatchError> {
    let urn = match &path.urn {
        Some(urn) if !urn.eq_ignore_ascii_case(&kind.schema().id) => urn,
        _ => return Ok(Some(doc)),
    };
    // A custom extension (Entra's `CustomExtensionName`, Okta's namespaces) is kept under
    // its URN as the IdP spelled it.
    let canonical = match kind.extension(urn) {
        Some(extension) => extension.id.as_str(),
        None if kind.is_custom_extension(urn) => urn.as_str(),
        None => {
            return Err(PatchError::InvalidPath(format!(
                "`{urn}` is not a schema of this resource type"
            )));
        }
    };
    let key = match find_key(doc, canonical) {
        Some(key) => key,
        None if create => {
            doc.insert(canonical.to_owned(), Value::Object(Map::new()));
            canonical.to_owned()
        }
        None => return Ok(None),
    };
    match doc.get_mut(&key) {
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(other) if create => {
            *other = Value::Object(Map::new());
            Ok(other.as_object_mut())
        }
        _ => Ok(None),
    }
}

fn check_writable(kind: ResourceKind, path: &AttrPath) -> Result<(), PatchError> {
    let top = AttrPath {
        sub_attribute: None,
        ..path.clone()
    };
    if SERVER_OWNED
        .iter()
        .any(|owned| path.attribute.eq_ignore_ascii_case(owned))
        && path.urn.is_none()
    {
        return Err(PatchError::Mutability(format!(
            "`{}` is set by the server and cannot be changed",
            path.attribute
        )));
    }
    for def in [kind.attribute(&top), kind.attribute(path)]
        .into_iter()
        .flatten()
    {
        if def.mutability == Mutability::ReadOnly {
            return Err(PatchError::Mutability(format!("`{path}` is read-only")));
        }
    }
    Ok(())
}

fn is_multi_valued(
    kind: ResourceKind,
    path: &AttrPath,
    existing: Option<&Value>,
    incoming: Option<&Value>,
) -> bool {
    let top = AttrPath {
        sub_attribute: None,
        ..path.clone()
    };
    match kind.attribute(&top) {
        Some(def) => def.multi_valued,
        None => {
            matches!(existing, Some(Value::Array(_))) || matches!(incoming, Some(Value::Array(_)))
        }
    }
}

fn is_complex(kind: ResourceKind, path: &AttrPath) -> bool {
    kind.attribute(path)
        .is_some_and(|d| d.kind == AttributeType::Complex)
}

fn require_value(value: Option<&Value>, op: OpKind) -> Result<&Value, PatchError> {
    value.ok_or_else(|| PatchError::InvalidValue(format!("`{}` needs a `value`", op.as_str())))
}

fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        let key = find_key(into, k).unwrap_or_else(|| k.clone());
        into.insert(key, v.clone());
    }
}

fn is_primary(element: &Value) -> bool {
    element.get("primary").and_then(Value::as_bool) == Some(true)
}

/// Clears `primary` on every element but the ones at `keep` (RFC 7643 §2.4: at most one).
fn enforce_single_primary(elements: &mut [Value], keep: &[usize]) {
    if !keep
        .iter()
        .any(|&i| elements.get(i).is_some_and(is_primary))
    {
        return;
    }
    let mut kept = vec![false; elements.len()];
    for &i in keep {
        if let Some(k) = kept.get_mut(i) {
            *k = true;
        }
    }
    for (element, kept) in elements.iter_mut().zip(kept) {
        if !kept
            && is_primary(element)
            && let Some(o) = element.as_object_mut()
        {
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}

fn apply_at(
    doc: &mut Map<String, Value>,
    op: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), PatchError> {
    let (path, filter, filter_sub) = match path {
        PatchPath::Extension(urn) => return apply_extension(doc, op, urn, value),
        PatchPath::Attribute {
            path,
            filter,
            sub_attribute,
        } => (path, filter.as_ref(), sub_attribute.as_deref()),
    };
    check_writable(kind, path)?;
    let create = op != OpKind::Remove;
    let Some(container) = container(doc, kind, path, create)? else {
        return Ok(());
    };
    let key = key_for(container, kind, path);
    match (filter, &path.sub_attribute) {
        (Some(filter), _) => {
            apply_filtered(container, &key, op, path, filter, filter_sub, value, kind)
        }
        (None, Some(sub)) => apply_sub(container, &key, op, sub, value),
        (None, None) => apply_whole(container, &key, op, path, value, kind),
    }
}

fn apply_extension(
    doc: &mut Map<String, Value>,
    op: OpKind,
    urn: &str,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let key = find_key(doc, urn).unwrap_or_else(|| urn.to_owned());
    match op {
        OpKind::Remove => {
            doc.remove(&key);
        }
        OpKind::Add | OpKind::Replace => {
            let Some(Value::Object(values)) = value else {
                return Err(PatchError::InvalidValue(format!(
                    "`{urn}` takes an object of its attributes"
                )));
            };
            let target = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Some(target) = target.as_object_mut() {
                merge(target, values);
            }
        }
    }
    Ok(())
}

fn apply_whole(
    container: &mut Map<String, Value>,
    key: &str,
    op: OpKind,
    path: &AttrPath,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), PatchError> {
    let multi = is_multi_valued(kind, path, container.get(key), value);
    match op {
        OpKind::Remove => {
            match (value, container.get_mut(key)) {
                // Entra removes chosen elements with `path: "emails"` plus the elements.
                (Some(listed), Some(Value::Array(elements))) if multi => {
                    let listed: Vec<&Value> = match listed {
                        Value::Array(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    // An element goes when it equals a listed one, or its `value` equals
                    // that of a listed `{"value": ...}`; found through two maps (whole
                    // elements, and such values) rather than element by element.
                    let whole = index_of(listed.iter().copied());
                    let by_value: Vec<&Value> = listed
                        .iter()
                        .filter(|l| l.as_object().is_some_and(|o| o.len() == 1))
                        .filter_map(|l| l.get("value"))
                        .collect();
                    let values = index_of(by_value.iter().copied());
                    let hit = |index: &HashMap<u64, Vec<usize>>, pool: &[&Value], v: &Value| {
                        index.get(&fingerprint(v)).is_some_and(|candidates| {
                            candidates.iter().any(|&i| pool.get(i) == Some(&v))
                        })
                    };
                    elements.retain(|e| {
                        !(hit(&whole, &listed, e)
                            || e.get("value").is_some_and(|v| hit(&values, &by_value, v)))
                    });
                    if elements.is_empty() {
                        container.remove(key);
                    }
                }
                _ => {
                    container.remove(key);
                }
            }
            Ok(())
        }
        OpKind::Add | OpKind::Replace => {
            let value = require_value(value, op)?;
            if value.is_null() {
                container.remove(key);
                return Ok(());
            }
            if multi {
                let incoming: Vec<Value> = match value {
                    Value::Array(items) => items.clone(),
                    other => vec![other.clone()],
                };
                let mut elements = match (op, container.remove(key)) {
                    (OpKind::Add, Some(Value::Array(existing))) => existing,
                    (OpKind::Add, Some(other)) => vec![other],
                    _ => Vec::new(),
                };
                let mut touched = Vec::new();
                let mut index = index_of(elements.iter());
                for element in incoming {
                    let print = fingerprint(&element);
                    let found = index.get(&print).and_then(|candidates| {
                        candidates
                            .iter()
                            .copied()
                            .find(|&i| elements.get(i) == Some(&element))
                    });
                    match found {
                        Some(i) => touched.push(i),
                        None => {
                            index.entry(print).or_default().push(elements.len());
                            touched.push(elements.len());
                            elements.push(element);
                        }
                    }
                }
                enforce_single_primary(&mut elements, &touched);
                if !elements.is_empty() {
                    container.insert(key.to_owned(), Value::Array(elements));
                }
                return Ok(());
            }
            match (container.get_mut(key), value) {
                // A complex value's sub-attributes replace or add; the rest stay.
                (Some(Value::Object(existing)), Value::Object(incoming))
                    if is_complex(kind, path) || op == OpKind::Add =>
                {
                    merge(existing, incoming);
                }
                _ => {
                    container.insert(key.to_owned(), value.clone());
                }
            }
            Ok(())
        }
    }
}

fn apply_sub(
    container: &mut Map<String, Value>,
    key: &str,
    op: OpKind,
    sub: &str,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let set = |object: &mut Map<String, Value>, value: &Value| {
        let sub_key = find_key(object, sub).unwrap_or_else(|| sub.to_owned());
        if value.is_null() {
            object.remove(&sub_key);
        } else {
            object.insert(sub_key, value.clone());
        }
    };
    match op {
        OpKind::Remove => {
            match container.get_mut(key) {
                Some(Value::Object(object)) => {
                    if let Some(k) = find_key(object, sub) {
                        object.remove(&k);
                    }
                    if object.is_empty() {
                        container.remove(key);
                    }
                }
                Some(Value::Array(elements)) => {
                    for element in elements.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(k) = find_key(element, sub) {
                            element.remove(&k);
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        }
        OpKind::Add | OpKind::Replace => {
            let value = require_value(value, op)?;
            let target = container
                .entry(key.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match target {
                Value::Object(object) => set(object, value),
                Value::Array(elements) => {
                    for element in elements.iter_mut().filter_map(Value::as_object_mut) {
                        set(element, value);
                    }
                }
                other => {
                    let mut object = Map::new();
                    set(&mut object, value);
                    *other = Value::Object(object);
                }
            }
            Ok(())
        }
    }
}

/// The `attr eq "text"` conditions of an `and` chain, if that is all the filter is: what
/// a new element must carry to match it.
fn equalities(filter: &Filter) -> Option<Vec<(String, Value)>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.sub_attribute.is_none() && path.urn.is_none() => {
            let value = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            Some(vec![(path.attribute.clone(), value)])
        }
        Filter::And(a, b) => {
            let mut all = equalities(a)?;
            all.extend(equalities(b)?);
            Some(all)
        }
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_filtered(
    container: &mut Map<String, Value>,
    key: &str,
    op: OpKind,
    path: &AttrPath,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), PatchError> {
    let mut elements = match container.remove(key) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let matched: Vec<bool> = elements.iter().map(|e| filter.matches(e, &kind)).collect();
    let matching: Vec<usize> = matched
        .iter()
        .enumerate()
        .filter(|(_, m)| **m)
        .map(|(i, _)| i)
        .collect();
    let result = (|| -> Result<Vec<usize>, PatchError> {
        if op == OpKind::Remove {
            if sub.is_none() {
                let mut matched = matched.iter();
                elements.retain(|_| !matched.next().copied().unwrap_or(false));
            }
            if let Some(sub) = sub {
                for i in &matching {
                    if let Some(object) = elements.get_mut(*i).and_then(Value::as_object_mut)
                        && let Some(k) = find_key(object, sub)
                    {
                        object.remove(&k);
                    }
                }
            }
            return Ok(Vec::new());
        }
        let value = require_value(value, op)?;
        let targets = if matching.is_empty() {
            // Entra sends `emails[type eq "work"].value` for a user with no work email yet
            // and expects the element to be created.
            let Some(fields) = equalities(filter) else {
                return Err(PatchError::NoTarget(format!(
                    "no element of `{path}` matches the filter"
                )));
            };
            elements.push(Value::Object(fields.into_iter().collect()));
            vec![elements.len() - 1]
        } else {
            matching.clone()
        };
        for &i in &targets {
            let Some(element) = elements.get_mut(i) else {
                continue;
            };
            match (sub, value) {
                (Some(sub), v) => {
                    if let Some(object) = element.as_object_mut() {
                        let sub_key = find_key(object, sub).unwrap_or_else(|| sub.to_owned());
                        object.insert(sub_key, v.clone());
                    }
                }
                (None, Value::Object(incoming)) => match element.as_object_mut() {
                    Some(object) if op == OpKind::Add => merge(object, incoming),
                    _ => *element = Value::Object(incoming.clone()),
                },
                (None, other) => *element = other.clone(),
            }
        }
        Ok(targets)
    })();
    let outcome = result.map(|touched| enforce_single_primary(&mut elements, &touched));
    if !elements.is_empty() {
        container.insert(key.to_owned(), Value::Array(elements));
    }
    outcome
}
