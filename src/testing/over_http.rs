//! The simulators over HTTP, against any SCIM base URL: a smoke test for a deployed
//! endpoint, scimkit's or not.

use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::{SimRequest, SimResponse, Transport};

/// Sends each request over HTTP/1.1 to `{base_url}{path}` with the bearer token.
///
/// Plain `http://` only: scimkit carries no TLS stack. For an `https://` deployment,
/// implement [`Transport`] over the HTTP client your tests already use (a dozen lines
/// with `reqwest`), or run the simulators against a local instance.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: Client<HttpConnector, Full<Bytes>>,
    base_url: String,
    token: String,
}

impl HttpTransport {
    /// A transport to the directory whose SCIM base URL is `base_url`
    /// (`http://localhost:8080/scim/v2/scim_directory_...`), authenticated with `token`.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: token.into(),
        }
    }

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
impl Transport for HttpTransport {
    async fn send(&self, request: SimRequest) -> SimResponse {
        let url = format!("{}{}", self.base_url, request.path);
        if !url.starts_with("http://") {
            return Self::failure(format!(
                "`{url}`: HttpTransport speaks plain http:// only; implement Transport over a TLS-capable client for https"
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
