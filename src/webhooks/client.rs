//! How a delivery reaches the endpoint: the [`WebhookClient`] seam, and [`HyperClient`],
//! hyper-util's pooled client (the one the `testing` feature already uses).

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

/// A transport failure: the request got no HTTP response (refused, reset, a TLS error).
/// Its text is logged and kept in dead letters, so it carries no secret.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
#[allow(clippy::exhaustive_structs, reason = "a newtype over the error text")]
pub struct TransportError(pub String);

/// Sends one webhook request and reports the response status. Implement it to deliver
/// through another HTTP stack (reqwest, a proxy, a test double); the dispatcher applies
/// its own timeout around each call.
#[async_trait]
pub trait WebhookClient: Send + Sync {
    /// POSTs `request`, returning the response's status (its body is read and dropped).
    async fn send(&self, request: http::Request<Bytes>)
    -> Result<http::StatusCode, TransportError>;
}

/// hyper-util's legacy client: pooled HTTP/1.1 connections. [`HyperClient::http`] speaks
/// plain HTTP (an endpoint inside your network, or behind a TLS-terminating sidecar);
/// for `https://` endpoints pass a TLS connector, e.g. `hyper-rustls`'s
/// `HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build()`,
/// to [`HyperClient::with_connector`]. scimkit picks no TLS stack or root store for you.
pub struct HyperClient<C = HttpConnector> {
    client: Client<C, Full<Bytes>>,
}

impl<C> std::fmt::Debug for HyperClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperClient").finish_non_exhaustive()
    }
}

impl HyperClient<HttpConnector> {
    /// A plain-HTTP client.
    pub fn http() -> Self {
        Self::with_connector(HttpConnector::new())
    }
}

impl<C> HyperClient<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A client over `connector` (a TLS connector for `https://` endpoints).
    pub fn with_connector(connector: C) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

#[async_trait]
impl<C> WebhookClient for HyperClient<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::StatusCode, TransportError> {
        let (parts, body) = request.into_parts();
        let response = self
            .client
            .request(http::Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|e| TransportError(error_chain(&e)))?;
        let status = response.status();
        // Drain the body so the connection goes back to the pool.
        let _ = response.into_body().collect().await;
        Ok(status)
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
