//! Bounds on the work one request may ask for, checked before anything is parsed deeply,
//! applied or stored: request-line and header sizes, JSON nesting, array lengths, PATCH
//! operations and `attributes` lists. Each refusal is a 4xx SCIM error naming the limit,
//! so a client (or the admin reading the request log) knows what to change.
//!
//! Why each exists: serde_json refuses to decode documents nested past 128 levels, so a
//! deeper stored document could never be read back (the depth limit leaves headroom for
//! the store's own wrapping); the PATCH engine and projection cost grows with operations ×
//! elements and names × attributes, so those counts are bounded where the request is
//! first seen.

use http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;

use crate::error::{ScimError, ScimType};

/// Default deepest JSON nesting of a request body (objects and arrays).
pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;
/// Default most operations in one PATCH request.
pub const DEFAULT_MAX_PATCH_OPERATIONS: usize = 1000;
/// Default most elements of a multi-valued attribute (`emails`, `roles`, ...). Group
/// `members` are a relation, not a stored array, and are bounded by the body size.
pub const DEFAULT_MAX_MULTI_VALUED: usize = 1000;
/// Default most names in `attributes` or `excludedAttributes`.
pub const DEFAULT_MAX_ATTRIBUTE_NAMES: usize = 200;
/// Default longest request URI (path and query), in bytes.
pub const DEFAULT_MAX_URI_BYTES: usize = 16 * 1024;
/// Default largest header block (names and values), in bytes.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;
/// Default most header fields: below hyper's own default cap of 100, so a request with
/// 65 to 100 fields gets this SCIM 431 from a server left at hyper's defaults. Real
/// clients, proxies included, send a few dozen at most.
pub const DEFAULT_MAX_HEADERS: usize = 64;

/// The limits of a [`crate::ScimService`]; set through its builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limits {
    pub max_json_depth: usize,
    pub max_patch_operations: usize,
    pub max_multi_valued: usize,
    pub max_attribute_names: usize,
    pub max_uri_bytes: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            max_patch_operations: DEFAULT_MAX_PATCH_OPERATIONS,
            max_multi_valued: DEFAULT_MAX_MULTI_VALUED,
            max_attribute_names: DEFAULT_MAX_ATTRIBUTE_NAMES,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

impl Limits {
    /// The request line and headers (RFC 9110 §15.5.15, RFC 6585 §5). A server in front
    /// usually refuses far larger ones itself, with an empty body; these answer first,
    /// with a SCIM error, when the server's own limits are set above them.
    pub(super) fn check_head(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), ScimError> {
        let uri_len = uri
            .path_and_query()
            .map_or(uri.path().len(), |p| p.as_str().len());
        if uri_len > self.max_uri_bytes {
            return Err(ScimError::status(
                StatusCode::URI_TOO_LONG,
                format!(
                    "the request URI is {uri_len} bytes, over the limit of {} bytes; send long filters in a POST .search body",
                    self.max_uri_bytes
                ),
            ));
        }
        if headers.len() > self.max_headers {
            return Err(ScimError::status(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request has {} header fields, over the limit of {}",
                    headers.len(),
                    self.max_headers
                ),
            ));
        }
        let bytes: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        if bytes > self.max_header_bytes {
            return Err(ScimError::status(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request headers are {bytes} bytes, over the limit of {} bytes",
                    self.max_header_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Scans a JSON body's bytes (without parsing it) for nesting deeper than
    /// `max_json_depth` and arrays longer than their limit: `Operations` has
    /// `max_patch_operations`, `members` and a PATCH `value` are left to the body size
    /// (members are a relation; a patched document is checked by
    /// [`Limits::check_document`]), every other array has `max_multi_valued`.
    ///
    /// `members` is exempt only where a group's members are listed (`groups`): at the top
    /// level of a body or of a path-less PATCH value.
    pub(super) fn check_body(&self, body: &[u8], groups: bool) -> Result<(), ScimError> {
        scan(body, self, groups)
    }

    /// The `attributes` / `excludedAttributes` lists of a query string.
    pub(super) fn check_query(&self, query: Option<&str>) -> Result<(), ScimError> {
        let Some(query) = query else {
            return Ok(());
        };
        // Split as `form::pairs` splits, but only the keys are decoded up front: a value
        // (a filter, on most list requests) is decoded only when it is an attribute list.
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = super::form::decode(key);
            if key.eq_ignore_ascii_case("attributes")
                || key.eq_ignore_ascii_case("excludedAttributes")
            {
                let value = super::form::decode(value);
                self.check_names(
                    &key,
                    value.split(',').filter(|s| !s.trim().is_empty()).count(),
                )?;
            }
        }
        Ok(())
    }

    /// The `attributes` / `excludedAttributes` of a SearchRequest body.
    pub(super) fn check_search(&self, body: &Value) -> Result<(), ScimError> {
        for key in ["attributes", "excludedAttributes"] {
            let count = match body.get(key) {
                Some(Value::Array(items)) => items.len(),
                Some(Value::String(list)) => {
                    list.split(',').filter(|s| !s.trim().is_empty()).count()
                }
                _ => 0,
            };
            self.check_names(key, count)?;
        }
        Ok(())
    }

    fn check_names(&self, key: &str, count: usize) -> Result<(), ScimError> {
        if count > self.max_attribute_names {
            return Err(invalid(format!(
                "`{key}` lists {count} names, over the limit of {}",
                self.max_attribute_names
            )));
        }
        Ok(())
    }

    /// A document about to be stored: every multi-valued attribute (top level and in
    /// extension objects) within `max_multi_valued`.
    pub(super) fn check_document(&self, doc: &Value) -> Result<(), ScimError> {
        let Some(object) = doc.as_object() else {
            return Ok(());
        };
        for (key, value) in object {
            match value {
                Value::Array(items) if items.len() > self.max_multi_valued => {
                    return Err(self.too_many_values(key, items.len()));
                }
                Value::Object(inner) if key.to_ascii_lowercase().starts_with("urn:") => {
                    for (name, v) in inner {
                        if let Value::Array(items) = v
                            && items.len() > self.max_multi_valued
                        {
                            return Err(self.too_many_values(&format!("{key}:{name}"), items.len()));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn too_many_values(&self, key: &str, count: usize) -> ScimError {
        invalid(format!(
            "`{key}` would hold {count} values, over the limit of {} per multi-valued attribute",
            self.max_multi_valued
        ))
    }
}

/// What an open array is bounded by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayKind {
    Operations,
    /// Group `members` and PATCH `value`: checked elsewhere.
    Unbounded,
    Values,
}

#[derive(Debug)]
enum Frame {
    Object {
        /// The last key read at this level, lower-cased if it is one of interest.
        key: KeyKind,
        expect_key: bool,
    },
    Array {
        kind: ArrayKind,
        elements: usize,
        empty: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Operations,
    Value,
    Members,
    Other,
}

fn key_kind(raw: &[u8]) -> KeyKind {
    if raw.eq_ignore_ascii_case(b"operations") {
        KeyKind::Operations
    } else if raw.eq_ignore_ascii_case(b"value") {
        KeyKind::Value
    } else if raw.eq_ignore_ascii_case(b"members") {
        KeyKind::Members
    } else {
        KeyKind::Other
    }
}

/// What an array opened with `stack` below it is bounded by.
fn array_kind(stack: &[Frame], groups: bool) -> ArrayKind {
    let key = match stack.last() {
        Some(Frame::Object { key, .. }) => *key,
        _ => return ArrayKind::Values,
    };
    // stack[1] is the `Operations` array when the body is a PatchOp.
    let in_operation = matches!(
        stack.get(1),
        Some(Frame::Array {
            kind: ArrayKind::Operations,
            ..
        })
    );
    match (key, stack.len()) {
        (KeyKind::Operations, 1) => ArrayKind::Operations,
        (KeyKind::Value, 3) if in_operation => ArrayKind::Unbounded,
        (KeyKind::Members, 1) if groups => ArrayKind::Unbounded,
        (KeyKind::Members, 4) if groups && in_operation => ArrayKind::Unbounded,
        _ => ArrayKind::Values,
    }
}

/// One pass over the bytes, tracking strings (so brackets inside them do not count),
/// the open objects and arrays, and each array's element count. Malformed JSON is left
/// to the parser; this only refuses what is too deep or too long.
fn scan(body: &[u8], limits: &Limits, groups: bool) -> Result<(), ScimError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0;
    for (i, &byte) in body.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut()
                    && *expect_key
                {
                    *key = key_kind(body.get(string_start..i).unwrap_or_default());
                    *expect_key = false;
                }
            }
            continue;
        }
        if byte.is_ascii_whitespace() {
            continue;
        }
        if let Some(Frame::Array { empty, .. }) = stack.last_mut()
            && byte != b']'
        {
            *empty = false;
        }
        match byte {
            b'"' => {
                in_string = true;
                string_start = i + 1;
            }
            b'{' | b'[' => {
                if stack.len() >= limits.max_json_depth {
                    return Err(invalid(format!(
                        "the request body nests objects and arrays deeper than the limit of {} levels",
                        limits.max_json_depth
                    )));
                }
                stack.push(if byte == b'{' {
                    Frame::Object {
                        key: KeyKind::Other,
                        expect_key: true,
                    }
                } else {
                    Frame::Array {
                        kind: array_kind(&stack, groups),
                        elements: 0,
                        empty: true,
                    }
                });
            }
            b'}' | b']' => {
                if let Some(Frame::Array {
                    kind,
                    elements,
                    empty: false,
                }) = stack.last()
                {
                    check_array(*kind, elements + 1, limits)?;
                }
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                Some(Frame::Array { kind, elements, .. }) => {
                    *elements += 1;
                    // Refuse as soon as the count is past the limit, not at the end.
                    check_array(*kind, *elements + 1, limits)?;
                }
                None => {}
            },
            _ => {}
        }
    }
    Ok(())
}

fn check_array(kind: ArrayKind, elements: usize, limits: &Limits) -> Result<(), ScimError> {
    match kind {
        ArrayKind::Operations if elements > limits.max_patch_operations => Err(invalid(format!(
            "the PATCH request has more than {} operations, the limit; split it into several requests",
            limits.max_patch_operations
        ))),
        ArrayKind::Values if elements > limits.max_multi_valued => Err(invalid(format!(
            "an array in the request body has more than {} elements, the limit per multi-valued attribute",
            limits.max_multi_valued
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!(
            "{{\"userName\":\"a@x.com\",\"x\":{}1{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        )
    }

    #[test]
    fn depth_counts_objects_and_arrays_but_not_brackets_in_strings() {
        let limits = Limits::default();
        assert!(limits.check_body(nested(63).as_bytes(), false).is_ok());
        let error = limits.check_body(nested(64).as_bytes(), false).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
        assert!(error.detail.contains("64 levels"), "{}", error.detail);
        let in_string = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert!(limits.check_body(in_string.as_bytes(), false).is_ok());
    }

    #[test]
    fn arrays_are_bounded_by_what_they_hold() {
        let limits = Limits {
            max_multi_valued: 3,
            max_patch_operations: 2,
            ..Limits::default()
        };
        assert!(limits.check_body(br#"{"emails":[1,2,3]}"#, false).is_ok());
        assert!(limits.check_body(br#"{"emails":[]}"#, false).is_ok());
        assert!(
            limits
                .check_body(br#"{"emails":[1,2,3,4]}"#, false)
                .is_err()
        );
        assert!(
            limits
                .check_body(br#"{"members":[1,2,3,4,5]}"#, true)
                .is_ok()
        );
        assert!(
            limits
                .check_body(br#"{"members":[1,2,3,4,5]}"#, false)
                .is_err()
        );
        assert!(
            limits
                .check_body(br#"{"value":[1,2,3,4,5]}"#, false)
                .is_err()
        );
        assert!(
            limits
                .check_body(br#"{"Operations":[{"value":{"members":[1,2,3,4]}}]}"#, true)
                .is_ok()
        );
        assert!(
            limits
                .check_body(br#"{"Operations":[{},{}]}"#, false)
                .is_ok()
        );
        let error = limits
            .check_body(br#"{"Operations":[{},{},{}]}"#, false)
            .unwrap_err();
        assert!(
            error.detail.contains("more than 2 operations"),
            "{}",
            error.detail
        );
        assert!(
            limits
                .check_body(br#"{"Operations":[{"op":"add","value":[1,2,3,4]}]}"#, false)
                .is_ok()
        );
        assert!(
            limits
                .check_body(
                    br#"{"Operations":[{"op":"add","value":{"emails":[1,2,3,4]}}]}"#,
                    false
                )
                .is_err()
        );
    }

    #[test]
    fn attribute_lists_and_documents_are_bounded() {
        let limits = Limits {
            max_attribute_names: 2,
            max_multi_valued: 2,
            ..Limits::default()
        };
        assert!(limits.check_query(Some("attributes=a,b")).is_ok());
        assert!(
            limits
                .check_query(Some("excludedAttributes=a,b,c"))
                .is_err()
        );
        // Encoded keys and separators are counted as decoded, other parameters never.
        for over in [
            "attribute%73=a,b,c",
            "ATTRIBUTES=a%2Cb%2Cc",
            "filter=x%3Dy&&attributes=a,b=c,d",
            "attributes=a,b&attributes=a,b,c",
        ] {
            assert!(limits.check_query(Some(over)).is_err(), "{over}");
        }
        for within in ["filter=a,b,c,d", "attributes=a+b,c", "=a,b,c", "attributes"] {
            assert!(limits.check_query(Some(within)).is_ok(), "{within}");
        }
        assert!(
            limits
                .check_search(&serde_json::json!({"attributes": ["a", "b", "c"]}))
                .is_err()
        );
        let doc = serde_json::json!({"emails": [1, 2, 3]});
        assert!(
            limits
                .check_document(&doc)
                .unwrap_err()
                .detail
                .contains("`emails`")
        );
        let ext = serde_json::json!({"urn:x:ext": {"roles": [1, 2, 3]}});
        assert!(limits.check_document(&ext).is_err());
    }

    #[test]
    fn head_limits_answer_with_the_status_http_names() {
        let limits = Limits {
            max_uri_bytes: 10,
            max_headers: 1,
            max_header_bytes: 20,
            ..Limits::default()
        };
        let long: Uri = "/scim/v2/abcdefghijk".parse().unwrap();
        assert_eq!(
            limits
                .check_head(&long, &HeaderMap::new())
                .unwrap_err()
                .status,
            StatusCode::URI_TOO_LONG
        );
        let short: Uri = "/a".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "b".repeat(30).parse().unwrap());
        assert_eq!(
            limits.check_head(&short, &headers).unwrap_err().status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        headers.insert("x-b", "c".parse().unwrap());
        assert!(
            limits
                .check_head(&short, &headers)
                .unwrap_err()
                .detail
                .contains("2 header fields")
        );
    }
}
