//! HTTP plumbing: reading requests (query, JSON body, preconditions) and writing SCIM
//! responses. Everything HTTP-specific the handlers need, in one place.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, ETAG, HeaderValue, LOCATION};
use http::{HeaderMap, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ScimError, ScimType};
use crate::protocol::projection::Projection;
use crate::protocol::resource::Rendered;

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// A JSON response with the SCIM media type.
pub(super) fn json_response<T: Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
) -> Response<Bytes> {
    json_response_as(status, body, SCIM_JSON)
}

/// A JSON response with the given media type (the management API answers
/// `application/json`, SCIM `application/scim+json`).
pub(super) fn json_response_as<T: Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
    media_type: &'static str,
) -> Response<Bytes> {
    // Serialising cannot fail: every body is JSON values and documents whose map keys
    // are strings. Most resources fit the first allocation.
    let mut bytes = Vec::with_capacity(512);
    let _ = serde_json::to_writer(&mut bytes, body);
    let mut response = Response::new(Bytes::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// A resource response: JSON plus `ETag` (and `Location` on 201).
pub(super) fn resource_response(status: StatusCode, doc: &Value) -> Response<Bytes> {
    let meta = doc.get("meta");
    let header = |key: &str| meta.and_then(|m| m.get(key)).and_then(Value::as_str);
    with_resource_headers(
        json_response(status, doc),
        header("version"),
        header("location"),
    )
}

/// [`resource_response`] for a rendered resource, serialised from what it borrows.
pub(super) fn rendered_response(status: StatusCode, doc: &Rendered<'_>) -> Response<Bytes> {
    with_resource_headers(json_response(status, doc), doc.version(), doc.location())
}

/// `ETag` from `meta.version`, and on 201 `Location` from `meta.location`, when the
/// rendered resource carries them.
fn with_resource_headers(
    mut response: Response<Bytes>,
    version: Option<&str>,
    location: Option<&str>,
) -> Response<Bytes> {
    let header = |value: Option<&str>| value.and_then(|v| HeaderValue::from_str(v).ok());
    if let Some(etag) = header(version) {
        response.headers_mut().insert(ETAG, etag);
    }
    if response.status() == StatusCode::CREATED
        && let Some(location) = header(location)
    {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// A body-less response.
pub(super) fn empty_response(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// The SCIM error document for `error`.
pub(super) fn error_response(error: &ScimError) -> Response<Bytes> {
    json_response(error.status, &error.to_json())
}

/// Parses a JSON request body, refusing other media types and malformed JSON.
pub(super) fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ScimError> {
    if let Some(content_type) = headers.get(CONTENT_TYPE) {
        let media = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media != SCIM_JSON && media != "application/json" {
            return Err(ScimError::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("request bodies must be {SCIM_JSON} or application/json, not `{media}`"),
            ));
        }
    }
    serde_json::from_slice(body).map_err(|e| {
        ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("the request body is not valid JSON: {e}"),
        )
    })
}

/// [`json_body`] of a request, parsed on the blocking pool when the body is large (see
/// `offload`), so a megabyte of JSON does not hold an async worker.
pub(super) async fn request_json(request: &http::Request<Bytes>) -> Result<Value, ScimError> {
    let heavy = request.body().len() >= super::offload::HEAVY_BODY_BYTES;
    if !heavy {
        return json_body(request.headers(), request.body());
    }
    let content_type = request.headers().get(CONTENT_TYPE).cloned();
    let body = request.body().clone();
    super::offload::run(true, move || {
        let mut headers = HeaderMap::new();
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        json_body(&headers, &body)
    })
    .await
}

/// The `attributes` / `excludedAttributes` of a request's query string.
pub(super) fn projection_of<B>(request: &http::Request<B>) -> Result<Projection, ScimError> {
    projection_from(&Query::parse(request.uri().query()))
}

/// [`projection_of`] from a query already parsed (a list request reads it for both).
pub(super) fn projection_from(query: &Query) -> Result<Projection, ScimError> {
    Ok(Projection::from_params(
        query.get("attributes"),
        query.get("excludedAttributes"),
    )?)
}

/// Query parameters, percent-decoded. Later duplicates of a key are ignored.
#[derive(Debug, Default)]
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a URI's query string.
    pub(super) fn parse(query: Option<&str>) -> Self {
        Self(
            super::form::pairs(query.unwrap_or(""))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A parameter by name, matched case-insensitively (SCIM parameter names are).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A non-negative integer parameter; negative values read as 0 (RFC 7644 §3.4.2.4).
    pub(super) fn integer(&self, name: &str) -> Result<Option<usize>, ScimError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .map(|n| Some(usize::try_from(n.max(0)).unwrap_or(usize::MAX)))
                .map_err(|_| {
                    ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("query parameter `{name}` must be an integer, got `{text}`"),
                    )
                }),
        }
    }
}

/// The `If-Match` / `If-None-Match` preconditions of a request (RFC 7232, RFC 7644 §3.14).
#[derive(Debug, Default)]
pub(super) struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

impl Preconditions {
    /// Reads the headers.
    pub(super) fn from_headers(headers: &HeaderMap) -> Self {
        let read = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            if_match: read(http::header::IF_MATCH),
            if_none_match: read(http::header::IF_NONE_MATCH),
        }
    }

    /// Whether the request carries `If-Match` (the client wants no silent retry).
    pub(super) fn has_if_match(&self) -> bool {
        self.if_match.is_some()
    }

    /// The preconditions of a write (RFC 7232 §3.1–3.2): 412 unless `If-Match` is
    /// absent, `*` or lists `etag`, and unless `If-None-Match` is absent or does not.
    pub(super) fn check_if_match(&self, etag: &str) -> Result<(), ScimError> {
        match (&self.if_match, &self.if_none_match) {
            (Some(tags), _) if !lists_etag(tags, etag) => Err(ScimError::status(
                StatusCode::PRECONDITION_FAILED,
                format!("the resource has changed: its version is now {etag}"),
            )),
            (_, Some(tags)) if lists_etag(tags, etag) => Err(ScimError::status(
                StatusCode::PRECONDITION_FAILED,
                format!("If-None-Match: the resource is at version {etag}"),
            )),
            _ => Ok(()),
        }
    }

    /// Whether `If-None-Match` lists the resource's `etag` (a GET then answers 304); the
    /// tag is only made when the header was sent, which most GETs do not.
    pub(super) fn not_modified(&self, etag: impl FnOnce() -> String) -> bool {
        self.if_none_match
            .as_deref()
            .is_some_and(|tags| lists_etag(tags, &etag()))
    }
}

/// Weak comparison: `W/"3"` matches `"3"` and `W/"3"`.
fn lists_etag(tags: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let wanted = opaque(etag);
    tags.split(',')
        .any(|t| t.trim() == "*" || opaque(t) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly_and_star_matches_all() {
        assert!(lists_etag("W/\"3\"", "W/\"3\""));
        assert!(lists_etag("\"3\"", "W/\"3\""));
        assert!(lists_etag("\"1\", W/\"3\"", "W/\"3\""));
        assert!(lists_etag("*", "W/\"3\""));
        assert!(!lists_etag("W/\"2\"", "W/\"3\""));
    }

    #[test]
    fn query_decodes_and_clamps_negative_integers() {
        let q = Query::parse(Some(
            "filter=userName%20eq%20%22a%2Bb%40x.com%22&count=-5&startIndex=x",
        ));
        assert_eq!(q.get("FILTER"), Some("userName eq \"a+b@x.com\""));
        assert_eq!(q.integer("count").unwrap(), Some(0));
        assert!(q.integer("startIndex").is_err());
    }
}
