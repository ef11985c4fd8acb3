//! What happened to each request: a `tracing` span per request (never tokens or bodies),
//! and a [`RequestLog`] hook a vendor can use to show a customer's admin the last SCIM
//! requests their IdP sent and why any was refused.
//!
//! [`ScimService::handle`] is `observed(answer)`: everything here wraps the request from
//! outside, so routing and the handlers know nothing of logging.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tracing::Instrument;
use tracing::field::Empty;

use super::ScimService;
use super::route::Route;
use crate::error::ScimType;

/// One answered request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: Method,
    /// The path (with the directory id; never the query, which may carry filters on
    /// personal data).
    pub path: String,
    /// The answer's status.
    pub status: StatusCode,
    /// The IdP's `User-Agent`, which names it (e.g. `Azure AD SCIM Client`, `Okta SCIM Client`).
    pub user_agent: Option<String>,
    /// The `scimType` of a refusal.
    pub scim_type: Option<ScimType>,
    /// The `detail` of a refusal.
    pub detail: Option<String>,
    /// How long the request took.
    pub duration: Duration,
    /// The request body with passwords redacted, when body logging is enabled
    /// (`ScimServiceBuilder::log_request_bodies`).
    pub body: Option<String>,
}

/// Receives a [`RequestRecord`] for every request. Runs on the request's task: keep it
/// quick (push to a bounded buffer, a channel, ...).
pub trait RequestLog: Send + Sync {
    /// Called once per request, after it is answered.
    fn record(&self, record: RequestRecord);
}

impl<F: Fn(RequestRecord) + Send + Sync> RequestLog for F {
    fn record(&self, record: RequestRecord) {
        self(record)
    }
}

/// Longest logged body, in bytes.
const MAX_LOGGED_BODY: usize = 16 * 1024;

/// What replaces a secret in a logged body.
const REDACTED: &str = "[redacted]";

impl ScimService {
    /// Answers `request` inside a `scim_request` span (directory id, method, resource
    /// type, operation, then status and duration) and hands the request log its record.
    pub(super) async fn observed(&self, request: Request<Bytes>) -> Response<Bytes> {
        let started = Instant::now();
        let method = request.method().clone();
        // The route borrows the path while `answer` takes the request: a clone of the
        // URI shares its bytes, where an owned path would be an allocation per request.
        let uri = request.uri().clone();
        let path = uri.path();
        let user_agent = match self.inner.request_log {
            Some(_) => request
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            None => None,
        };
        let body = match (&self.inner.request_log, self.inner.log_bodies) {
            (Some(_), true) => redacted_body(request.body()),
            _ => None,
        };
        let route = Route::parse(self.prefix(), path);
        let target = describe(&route, &method);
        let span = tracing::info_span!(
            "scim_request",
            method = %method,
            directory = target.directory,
            resource = target.resource,
            operation = target.operation,
            status = Empty,
            duration_ms = Empty,
        );
        let (response, refusal) = self.answer(request, &route).instrument(span.clone()).await;
        let duration = started.elapsed();
        let status = response.status();
        let scim_type = refusal.as_ref().and_then(|e| e.scim_type);
        span.record("status", status.as_u16());
        span.record("duration_ms", duration.as_secs_f64() * 1000.0);
        // Spans are invisible to many subscribers until they close with span events on;
        // one event per request makes the outcome show up in a plain `fmt` log too.
        span.in_scope(|| {
            tracing::info!(
                status = status.as_u16(),
                scim_type = scim_type.map(ScimType::as_str),
                duration_ms = duration.as_secs_f64() * 1000.0,
                "answered"
            )
        });
        if let Some(log) = &self.inner.request_log {
            log.record(RequestRecord {
                method,
                path: path.to_owned(),
                status,
                user_agent,
                scim_type,
                detail: refusal.map(|e| e.detail),
                duration,
                body,
            });
        }
        response
    }
}

/// The directory, resource type and operation a request names, for its span.
#[derive(Debug, PartialEq, Eq)]
struct Target<'p> {
    directory: &'p str,
    resource: &'p str,
    operation: &'static str,
}

/// Reads the target off the parsed path alone: it runs before authentication and must not
/// fail.
fn describe<'p>(route: &Route<'p>, method: &Method) -> Target<'p> {
    Target {
        directory: route.directory(),
        resource: route.endpoint(),
        operation: route.operation(method),
    }
}

/// The body as text for the request log, with every password redacted. A body that is
/// not JSON is not logged at all: there is no telling where a secret sits in it.
fn redacted_body(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        return Some(format!("[{} bytes, not JSON: not logged]", body.len()));
    };
    redact(&mut json);
    let mut text = json.to_string();
    if text.len() > MAX_LOGGED_BODY {
        let mut end = MAX_LOGGED_BODY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Some(text)
}

/// Whether an attribute name or PATCH path names a secret: `password`, any case, bare or
/// URN-qualified (`urn:...:User:password`), or an OAuth `client_secret` (sent as JSON to
/// the token endpoint by a misconfigured client).
fn names_password(name: &str) -> bool {
    let last = name.rsplit([':', '.']).next().unwrap_or(name);
    last.eq_ignore_ascii_case("password") || last.eq_ignore_ascii_case("client_secret")
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // A PATCH operation carries the password as `{"path": "password", "value": ..}`.
            let patches_password = map.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("path") && v.as_str().is_some_and(names_password)
            });
            for (key, v) in map.iter_mut() {
                if names_password(key) || (patches_password && key.eq_ignore_ascii_case("value")) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn logged(body: Value) -> String {
        redacted_body(body.to_string().as_bytes()).unwrap_or_default()
    }

    #[test]
    fn passwords_are_redacted_anywhere_in_the_body() {
        let body = logged(json!({
            "userName": "a",
            "password": "hunter2",
            "urn:ietf:params:scim:schemas:core:2.0:User:password": "qualified",
            "Operations": [
                {"op": "add", "value": {"PASSWORD": "nested"}},
                {"op": "replace", "path": "password", "value": "by-path"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "value": "by-urn-path"},
                {"op": "replace", "path": "displayName", "value": "Ann"}
            ]
        }));
        for secret in ["hunter2", "qualified", "nested", "by-path", "by-urn-path"] {
            assert!(!body.contains(secret), "{secret} leaked: {body}");
        }
        assert!(body.contains("Ann") && body.contains(REDACTED), "{body}");
    }

    #[test]
    fn empty_and_unparseable_bodies_are_not_logged_verbatim() {
        assert_eq!(redacted_body(b""), None);
        let truncated = br#"{"userName":"a","password":"hunter2""#;
        let logged = redacted_body(truncated).unwrap_or_default();
        assert!(!logged.contains("hunter2"), "{logged}");
        assert!(logged.contains("not JSON"), "{logged}");
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let body = logged(json!({"displayName": "é".repeat(MAX_LOGGED_BODY)}));
        assert!(body.len() <= MAX_LOGGED_BODY && body.len() > MAX_LOGGED_BODY - 4);
    }

    #[test]
    fn requests_are_described_for_their_tracing_span() {
        let cases = [
            (Method::GET, "/scim/v2/d1/Users", ("d1", "Users", "list")),
            (
                Method::GET,
                "/scim/v2/d1/Groups/g1",
                ("d1", "Groups", "get"),
            ),
            (Method::POST, "/scim/v2/d1/Users", ("d1", "Users", "create")),
            (
                Method::POST,
                "/scim/v2/d1/Users/.search",
                ("d1", "Users", "search"),
            ),
            (
                Method::POST,
                "/scim/v2/d1/.search",
                ("d1", ".search", "search"),
            ),
            (
                Method::PUT,
                "/scim/v2/d1/Users/u1",
                ("d1", "Users", "replace"),
            ),
            (
                Method::PATCH,
                "/scim/v2/d1/Users/u1",
                ("d1", "Users", "patch"),
            ),
            (
                Method::DELETE,
                "/scim/v2/d1/Users/u1",
                ("d1", "Users", "delete"),
            ),
            (Method::HEAD, "/scim/v2/d1/Users", ("d1", "Users", "other")),
            (Method::GET, "/elsewhere", ("", "", "list")),
        ];
        for (method, path, (directory, resource, operation)) in cases {
            let expected = Target {
                directory,
                resource,
                operation,
            };
            assert_eq!(
                describe(&Route::parse("/scim/v2", path), &method),
                expected,
                "{method} {path}"
            );
        }
    }
}
