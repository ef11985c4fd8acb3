//! What happened to each request: a `tracing` event per request (never tokens or bodies),
//! and a [`RequestLog`] hook a vendor can use to show a customer's admin the last SCIM
//! requests their IdP sent and why any was refused.

use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

use crate::error::ScimType;

/// One answered request.
#[derive(Debug, Clone)]
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

/// The body as text, with every `password` value replaced.
pub(super) fn redacted_body(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut json) => {
            redact(&mut json);
            json.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let mut end = text.len().min(MAX_LOGGED_BODY);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text.get(..end).unwrap_or("").to_owned())
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key.eq_ignore_ascii_case("password") {
                    *v = Value::String("[redacted]".into());
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
    use super::*;

    #[test]
    fn passwords_are_redacted_anywhere_in_the_body() {
        let body =
            br#"{"userName":"a","password":"hunter2","Operations":[{"value":{"PASSWORD":"x"}}]}"#;
        let logged = redacted_body(body).unwrap();
        assert!(
            !logged.contains("hunter2") && !logged.contains("\"x\""),
            "{logged}"
        );
        assert!(logged.contains("[redacted]"));
        assert_eq!(redacted_body(b""), None);
    }
}
