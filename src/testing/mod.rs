//! IdP simulators for vendors' own test suites (feature `testing`).
//!
//! [`Entra`], [`Okta`] and [`OneLogin`] (and [`GenericClient`], an RFC 7644 client without quirks) drive a SCIM endpoint with the request sequences and shapes those
//! IdPs send (see [`crate::docs::identity_providers`]), and check each answer the way the
//! IdP would: a status it accepts and the fields it reads (`id` on a created resource,
//! `totalResults` on a lookup). A refusal is a [`SimulationError`] naming the step, the
//! status and the body, so a failing test says which request the endpoint got wrong.
//!
//! The transport is a [`Transport`]: [`InProcess`] calls a [`ScimService`] directly, with
//! no sockets, for fast tests; [`HttpTransport`] sends real requests to any SCIM base URL
//! (a smoke test for a deployment, including one that does not use scimkit): plain HTTP
//! with [`HttpTransport::new`], `https://` over the TLS connector you pass to
//! [`HttpTransport::with_connector`] (scimkit picks no TLS stack); or implement the trait
//! over your own client.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use scimkit::{Admin, DirectorySync, ScimService, store::MemoryStore};
//! use scimkit::sync::{DirectorySelector, ListUsers};
//! use scimkit::testing::{Entra, InProcess, SimUser};
//!
//! let store = Arc::new(MemoryStore::new());
//! let admin = Admin::new(store.clone());
//! let org = admin.create_organization(None, vec!["acme.com".into()]).await?;
//! let directory = admin.create_directory(&org.id, true).await?;
//! let token = admin.issue_scim_token(&directory.id).await?.secret;
//! let scim = ScimService::builder(store.clone()).build();
//!
//! let entra = Entra::new(InProcess::new(scim, &directory.id, token));
//! let ann = entra.provision(&SimUser::new("ann@acme.com")).await?;
//! entra.deprovision(&ann).await?;
//!
//! let sync = DirectorySync::new(store);
//! let page = sync
//!     .list_users(ListUsers::new(DirectorySelector::Directory(directory.id)))
//!     .await?;
//! assert!(page.items[0].deleted);
//! # Ok(()) }
//! ```

mod entra;
mod generic;
mod okta;
mod onelogin;
mod over_http;

pub use entra::{Entra, InitialCycle, SimGroup};
pub use generic::GenericClient;
pub use okta::Okta;
pub use onelogin::OneLogin;
pub use over_http::HttpTransport;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::ScimService;
use crate::model::DirectoryId;

/// One request as a simulator sends it: a method, a path relative to the directory's SCIM
/// base URL (`/Users?filter=...`), and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "what a Transport receives, field by field"
)]
pub struct SimRequest {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: http::Method,
    /// Path and query below the base URL, starting with `/`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

/// The answer to a [`SimRequest`].
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::exhaustive_structs, reason = "what a custom Transport builds")]
pub struct SimResponse {
    /// The status.
    pub status: StatusCode,
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
}

/// How a simulator reaches the endpoint under test.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends one request with the directory's bearer token and returns the answer.
    async fn send(&self, request: SimRequest) -> SimResponse;
}

/// Calls a [`ScimService`] in process: no sockets, no clock, as fast as the store.
#[derive(Debug, Clone)]
pub struct InProcess {
    service: ScimService,
    base: String,
    token: String,
}

impl InProcess {
    /// A transport to `directory` on `service`, authenticated with `token` (a SCIM token
    /// issued for that directory).
    pub fn new(service: ScimService, directory: &DirectoryId, token: impl Into<String>) -> Self {
        let base = format!("{}/{directory}", service.prefix());
        Self {
            service,
            base,
            token: token.into(),
        }
    }
}

#[async_trait]
impl Transport for InProcess {
    async fn send(&self, request: SimRequest) -> SimResponse {
        let body = request
            .body
            .map(|b| Bytes::from(b.to_string()))
            .unwrap_or_default();
        let built = Request::builder()
            .method(request.method)
            .uri(format!("{}{}", self.base, request.path))
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(http::header::CONTENT_TYPE, "application/scim+json")
            .header(http::header::USER_AGENT, "scimkit-simulator")
            .body(body);
        let Ok(built) = built else {
            return SimResponse {
                status: StatusCode::BAD_REQUEST,
                body: json!({"detail": "the simulator built an invalid request (bad path?)"}),
            };
        };
        let response = self.service.handle(built).await;
        let status = response.status();
        let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        SimResponse { status, body }
    }
}

/// Why a simulated IdP would give up: the endpoint answered a step in a way that IdP does
/// not accept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimulationError {
    /// The status was not one the IdP accepts for this step.
    #[error("{step}: expected {expected}, got {status}: {body}")]
    Status {
        /// What the simulator was doing (`"Entra: create user ann@acme.com"`).
        step: String,
        /// The statuses it accepts.
        expected: &'static str,
        /// What came back.
        status: StatusCode,
        /// The body that came back.
        body: Value,
    },
    /// The answer lacked a field the IdP reads.
    #[error("{step}: the answer has no {field}: {body}")]
    Missing {
        /// What the simulator was doing.
        step: String,
        /// The field it needed.
        field: &'static str,
        /// The body that came back.
        body: Value,
    },
}

/// A user as the IdP holds it, before provisioning.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimUser {
    /// `userName`.
    pub user_name: String,
    /// The work email; defaults to `userName`.
    pub email: Option<String>,
    /// `name.givenName`.
    pub given_name: String,
    /// `name.familyName`.
    pub family_name: String,
    /// `externalId` (Entra's object id, Okta's user id); generated from `userName` if unset.
    pub external_id: Option<String>,
}

impl SimUser {
    /// A user whose `userName` is `user_name` (usually an email address), with placeholder
    /// names.
    pub fn new(user_name: impl Into<String>) -> Self {
        Self {
            user_name: user_name.into(),
            email: None,
            given_name: "Test".into(),
            family_name: "User".into(),
            external_id: None,
        }
    }

    /// With this work email (when `userName` is not one).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// With these names.
    pub fn named(mut self, given: impl Into<String>, family: impl Into<String>) -> Self {
        self.given_name = given.into();
        self.family_name = family.into();
        self
    }

    /// With this `externalId`.
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }

    fn work_email(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.user_name)
    }

    fn external(&self) -> String {
        self.external_id
            .clone()
            .unwrap_or_else(|| format!("ext-{}", self.user_name))
    }
}

/// A PatchOp body.
fn patch_op(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

/// A filter as a query parameter value.
fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

/// A string literal in a filter.
fn literal(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// Sends a request and checks its status against `accepted`.
async fn expect(
    transport: &dyn Transport,
    step: impl Into<String>,
    request: SimRequest,
    accepted: &[StatusCode],
    expected: &'static str,
) -> Result<SimResponse, SimulationError> {
    let response = transport.send(request).await;
    if accepted.contains(&response.status) {
        Ok(response)
    } else {
        Err(SimulationError::Status {
            step: step.into(),
            expected,
            status: response.status,
            body: response.body,
        })
    }
}

fn field<'a>(
    response: &'a SimResponse,
    step: &str,
    name: &'static str,
) -> Result<&'a Value, SimulationError> {
    response
        .body
        .get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| SimulationError::Missing {
            step: step.to_owned(),
            field: name,
            body: response.body.clone(),
        })
}

fn id_of(response: &SimResponse, step: &str) -> Result<String, SimulationError> {
    field(response, step, "id")?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| SimulationError::Missing {
            step: step.to_owned(),
            field: "id",
            body: response.body.clone(),
        })
}

/// The id of the first resource of a ListResponse, after checking `totalResults`.
fn first_of_list(response: &SimResponse, step: &str) -> Result<Option<String>, SimulationError> {
    let total = field(response, step, "totalResults")?
        .as_u64()
        .unwrap_or_default();
    if total == 0 {
        return Ok(None);
    }
    let first = response
        .body
        .get("Resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    first.map(Some).ok_or_else(|| SimulationError::Missing {
        step: step.to_owned(),
        field: "Resources[0].id",
        body: response.body.clone(),
    })
}

/// The id of the user whose `userName` is `user_name`, if any: `GET /Users?filter=userName
/// eq ".."` followed by `paging` (the parameters an IdP adds, e.g. `&startIndex=1&count=100`).
async fn find_by_user_name(
    transport: &dyn Transport,
    step: &str,
    user_name: &str,
    paging: &str,
) -> Result<Option<String>, SimulationError> {
    let path = format!(
        "/Users?filter={}{paging}",
        encoded(&format!("userName eq {}", literal(user_name)))
    );
    let found = expect(
        transport,
        step,
        request(http::Method::GET, path, None),
        &[StatusCode::OK],
        "200",
    )
    .await?;
    first_of_list(&found, step)
}

/// POSTs `body` to `collection` (`/Users`, `/Groups`), expecting 201 and an `id`.
async fn create(
    transport: &dyn Transport,
    step: &str,
    collection: &str,
    body: Value,
) -> Result<String, SimulationError> {
    let created = expect(
        transport,
        step,
        request(http::Method::POST, collection.into(), Some(body)),
        &[StatusCode::CREATED],
        "201",
    )
    .await?;
    id_of(&created, step)
}

fn request(method: http::Method, path: String, body: Option<Value>) -> SimRequest {
    SimRequest { method, path, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_and_escaped_for_filters() {
        assert_eq!(literal("a\"b"), "\"a\\\"b\"");
        assert_eq!(encoded("userName eq \"a b\""), "userName+eq+%22a+b%22");
    }
}
