//! OAuth 2.0 client credentials (RFC 6749 §4.4) for the SCIM endpoint: each directory's
//! token endpoint, `{prefix}/{directory}/oauth/token`, exchanges a client id and secret
//! (from [`Admin::issue_oauth_client`](crate::Admin::issue_oauth_client)) for a
//! short-lived bearer token that opens that directory.
//!
//! The client authenticates with HTTP Basic or with `client_id` / `client_secret` in the
//! form body (RFC 6749 §2.3.1; Entra sends the body form). Every client failure — an
//! unknown id, a wrong or revoked secret, a client of another directory — is the same 401
//! `invalid_client`, as every SCIM authentication failure is the same 401. Issued tokens
//! are stored hashed, like every other token; expired ones of the directory are dropped
//! as new ones are issued, so a client that asks hourly does not grow the store.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::ScimService;
use crate::model::{
    ACCESS_TOKEN_PREFIX, DirectoryId, TokenHash, TokenId, TokenRecord, TokenScope, generate_secret,
};
use crate::store::StoreError;

/// The path of a directory's token endpoint below its SCIM base URL.
pub(super) const TOKEN_PATH: [&str; 2] = ["oauth", "token"];

/// An answer in RFC 6749 §5.2's shape.
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
}

const INVALID_CLIENT: OAuthError = OAuthError {
    status: StatusCode::UNAUTHORIZED,
    code: "invalid_client",
    description: "client authentication failed",
};

impl OAuthError {
    fn bad_request(code: &'static str, description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description,
        }
    }

    fn response(&self) -> Response<Bytes> {
        let mut response = json_response(
            self.status,
            &json!({"error": self.code, "error_description": self.description}),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"scim\""),
            );
        }
        response
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // RFC 6749 §5.1: token responses must not be cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The client id and secret from the `Authorization: Basic` header or the form.
fn client_credentials(
    request: &Request<Bytes>,
    form: &[(String, String)],
) -> Option<(String, String)> {
    let from_form = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let basic = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, encoded) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("Basic")
                .then_some(encoded.trim())
        })
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            // RFC 6749 §2.3.1: both are form-urlencoded before they are joined.
            let decode = |text: &str| {
                form_urlencoded::parse(format!("x={text}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    basic.or_else(|| Some((from_form("client_id")?, from_form("client_secret")?)))
}

impl ScimService {
    /// Answers a request to a directory's token endpoint.
    pub(super) async fn oauth_token(
        &self,
        request: &Request<Bytes>,
        directory: &str,
    ) -> Response<Bytes> {
        match self.issue_access_token(request, directory).await {
            Ok(response) => response,
            Err(error) => error.response(),
        }
    }

    async fn issue_access_token(
        &self,
        request: &Request<Bytes>,
        directory: &str,
    ) -> Result<Response<Bytes>, OAuthError> {
        if request.method() != Method::POST {
            return Err(OAuthError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                code: "invalid_request",
                description: "the token endpoint takes a POST",
            });
        }
        if request.body().len() > self.inner.config.max_body_bytes {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "the request body is too large",
            ));
        }
        let form: Vec<(String, String)> = form_urlencoded::parse(request.body())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let grant = form
            .iter()
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.as_str());
        match grant {
            Some("client_credentials") => {}
            Some(_) => {
                return Err(OAuthError::bad_request(
                    "unsupported_grant_type",
                    "only the client_credentials grant is supported",
                ));
            }
            None => {
                return Err(OAuthError::bad_request(
                    "invalid_request",
                    "grant_type is missing (expected client_credentials, form-urlencoded)",
                ));
            }
        }
        let (client_id, secret) = client_credentials(request, &form).ok_or(INVALID_CLIENT)?;
        let directory: DirectoryId = directory.parse().map_err(|_| INVALID_CLIENT)?;
        let client = self
            .inner
            .tokens
            .find_token(&TokenHash::of(&secret))
            .await
            .map_err(unavailable)?
            .ok_or(INVALID_CLIENT)?;
        let now = self.inner.clock.now();
        if client.scope != TokenScope::OAuthClient(directory.clone())
            || client.id.as_str() != client_id
            || client.is_expired(now)
        {
            return Err(INVALID_CLIENT);
        }
        // A valid client of a directory the vendor disabled or deleted gets no token.
        let serving = self
            .inner
            .store
            .get_directory(&directory)
            .await
            .map_err(unavailable)?
            .map(|d| d.state.serves());
        match serving {
            Some(true) => {}
            Some(false) => {
                return Err(OAuthError::bad_request(
                    "unauthorized_client",
                    "this directory is disabled by the vendor: no access tokens are issued until they enable it again",
                ));
            }
            None => return Err(INVALID_CLIENT),
        }
        let lifetime = self.inner.config.access_token_lifetime;
        let access = generate_secret(ACCESS_TOKEN_PREFIX).map_err(|_| OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: "no token could be generated; try again",
        })?;
        let scope = TokenScope::Directory(directory);
        self.drop_expired_access_tokens(&scope, now).await?;
        let record = TokenRecord::new(
            TokenId::from_uuid(self.inner.ids.next_uuid()),
            scope,
            TokenHash::of(&access),
            now,
        )
        .with_expiry(now + lifetime);
        self.inner
            .tokens
            .insert_token(record)
            .await
            .map_err(unavailable)?;
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": lifetime.whole_seconds(),
            }),
        ))
    }

    async fn drop_expired_access_tokens(
        &self,
        scope: &TokenScope,
        now: time::OffsetDateTime,
    ) -> Result<(), OAuthError> {
        let tokens = self
            .inner
            .tokens
            .list_tokens(scope)
            .await
            .map_err(unavailable)?;
        for token in tokens.into_iter().filter(|t| t.is_expired(now)) {
            match self.inner.tokens.revoke_token(&token.id).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(())
    }
}

fn unavailable(error: StoreError) -> OAuthError {
    tracing::error!(%error, "token endpoint: store failed");
    OAuthError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "temporarily_unavailable",
        description: "the token store is unavailable; try again",
    }
}
