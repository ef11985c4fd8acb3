//! The simulators over HTTP, against any SCIM base URL: a smoke test for a deployed
//! endpoint, scimkit's or not.

use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::{SimRequest, SimResponse, Transport};

/// Sends each request over HTTP/1.1 to `{base_url}{path}` with the bearer token.
///
/// [`HttpTransport::new`] speaks plain `http://`: scimkit picks no TLS stack for you. For
/// an `https://` deployment, pass the TLS connector your tests already use to
/// [`HttpTransport::with_connector`], e.g. `hyper-rustls`'s
/// `HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build()`.
#[derive(Clone)]
pub struct HttpTransport<C = HttpConnector> {
    client: Client<C, Full<Bytes>>,
    base_url: String,
    token: String,
    any_scheme: bool,
}

impl<C> std::fmt::Debug for HttpTransport<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpTransport<HttpConnector> {
    /// A transport to the directory whose SCIM base URL is `base_url`
    /// (`http://localhost:8080/scim/v2/scim_directory_...`), authenticated with `token`,
    /// over plain HTTP.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: token.into(),
            any_scheme: false,
        }
    }
}

impl<C> HttpTransport<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A transport over `connector`: a TLS connector makes `https://` base URLs work
    /// (the connector decides which schemes it accepts).
    pub fn with_connector(
        base_url: impl Into<String>,
        token: impl Into<String>,
        connector: C,
    ) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: token.into(),
            any_scheme: true,
        }
    }
}

impl<C> HttpTransport<C> {
    /// A response standing for a request that never got an HTTP answer, so a simulator
    /// reports it like any refusal (status 599 is outside what any IdP accepts).
    fn failure(detail: String) -> SimResponse {
        SimResponse {
            status: StatusCode::from_u16(599).unwrap_or(StatusCode::BAD_GATEWAY),
            body: json!({"detail": detail}),
        }
    }
}

#[async_trait]
impl<C> Transport for HttpTransport<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    async fn send(&self, request: SimRequest) -> SimResponse {
        let url = format!("{}{}", self.base_url, request.path);
        if !self.any_scheme && !url.starts_with("http://") {
            return Self::failure(format!(
                "`{url}`: HttpTransport::new speaks plain http:// only; pass a TLS connector to HttpTransport::with_connector for https"
            ));
        }
        let body = request
            .body
            .map(|b| Bytes::from(b.to_string()))
            .unwrap_or_default();
        let built = http::Request::builder()
            .method(request.method)
            .uri(&url)
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(http::header::CONTENT_TYPE, "application/scim+json")
            .header(http::header::ACCEPT, "application/scim+json")
            .header(http::header::USER_AGENT, "scimkit-simulator")
            .body(Full::new(body));
        let built = match built {
            Ok(built) => built,
            Err(e) => return Self::failure(format!("`{url}` is not a valid request: {e}")),
        };
        let response = match self.client.request(built).await {
            Ok(response) => response,
            Err(e) => return Self::failure(format!("`{url}` did not answer: {e}")),
        };
        let status = response.status();
        let bytes = match response.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => return Self::failure(format!("`{url}`: the body broke off: {e}")),
        };
        SimResponse {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}
