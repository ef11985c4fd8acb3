//! Bearer-token authentication. Every failure looks the same from outside, so a caller
//! learns nothing about which directories or tokens exist.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{Request, StatusCode};

use super::{Ctx, Inner, store_error};
use crate::error::ScimError;
use crate::model::{Directory, DirectoryId, DirectoryState, TokenHash, TokenScope};
use crate::protocol::resource::Locations;

fn unauthorized() -> ScimError {
    ScimError::status(
        StatusCode::UNAUTHORIZED,
        "authentication failed: send `Authorization: Bearer <token>` with a token issued for this directory",
    )
}

/// How long a directory's `last_request_at` may lag: requests within it of the stored
/// time do not write (so a busy directory costs about one store write a minute).
pub(super) const LAST_REQUEST_PRECISION: time::Duration = time::Duration::minutes(1);

/// A valid token for a directory the vendor disabled: 403, after authentication, so it
/// tells nothing to a caller without a token.
fn disabled() -> ScimError {
    ScimError::status(
        StatusCode::FORBIDDEN,
        "this directory is disabled by the vendor: SCIM requests are refused until they enable it again",
    )
}

/// The `WWW-Authenticate` challenge sent with every 401.
pub(super) fn challenge() -> HeaderValue {
    HeaderValue::from_static("Bearer realm=\"SCIM\"")
}

/// The secret of an `Authorization: Bearer <secret>` header (scheme case-insensitive),
/// for both the SCIM service and the management API.
pub(crate) fn bearer_secret(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

/// Checks the bearer token against the directory named in the path and loads the
/// directory and its organization.
pub(super) async fn authenticate(
    inner: &Inner,
    request: &Request<Bytes>,
    directory_segment: &str,
) -> Result<Ctx, ScimError> {
    let secret = bearer_secret(request.headers()).ok_or_else(unauthorized)?;
    let directory_id: DirectoryId = directory_segment.parse().map_err(|_| unauthorized())?;
    let token = inner
        .tokens
        .find_token(&TokenHash::of(secret))
        .await
        .map_err(store_error)?
        .ok_or_else(unauthorized)?;
    if token.scope != TokenScope::Directory(directory_id.clone())
        || token.is_expired(inner.clock.now())
    {
        return Err(unauthorized());
    }
    let directory = inner
        .store
        .get_directory(&directory_id)
        .await
        .map_err(store_error)?
        .ok_or_else(unauthorized)?;
    let directory = lifecycle(inner, directory).await?;
    let organization = inner
        .store
        .get_organization(&directory.organization_id)
        .await
        .map_err(store_error)?
        .ok_or_else(unauthorized)?;
    // Built in one buffer: this runs on every request.
    let prefix = &inner.config.prefix;
    let directory_id = directory.id.as_str();
    let mut base = String::with_capacity(64 + prefix.len() + directory_id.len());
    match &inner.config.public_url {
        Some(url) => base.push_str(url),
        None => push_request_origin(&mut base, request),
    }
    base.push_str(prefix);
    base.push('/');
    base.push_str(directory_id);
    Ok(Ctx {
        locations: Locations { base },
        extensions: match directory.schema_extensions.as_slice() {
            [] => inner.config.extensions.clone(),
            declared => Arc::new(inner.config.extensions.with_directory(declared)),
        },
        directory,
        organization,
    })
}

/// Refuses a disabled directory (403) or a deleted one (401: its tokens are gone, and a
/// leftover one must look like any other bad token), and records the request on the
/// directory when it is due: a pending directory's first request activates it, and
/// `last_request_at` is moved at most once per [`LAST_REQUEST_PRECISION`]. The store's
/// `touch_directory` is atomic, so concurrent requests and replicas never undo a vendor's
/// edit; a failure to record is logged, not the client's problem.
async fn lifecycle(inner: &Inner, directory: Directory) -> Result<Directory, ScimError> {
    let refuse = |state: DirectoryState| match state {
        DirectoryState::Pending | DirectoryState::Active => Ok(()),
        DirectoryState::Disabled => Err(disabled()),
        _ => Err(unauthorized()),
    };
    refuse(directory.state)?;
    let now = inner.clock.now();
    let due = directory.state == DirectoryState::Pending
        || directory
            .last_request_at
            .is_none_or(|last| now - last >= LAST_REQUEST_PRECISION);
    if !due {
        return Ok(directory);
    }
    match inner.store.touch_directory(&directory.id, now).await {
        Ok(touched) => {
            refuse(touched.state)?;
            Ok(touched)
        }
        Err(error) => {
            tracing::warn!(directory = %directory.id, %error, "could not record the request on the directory");
            Ok(directory)
        }
    }
}

/// Appends `scheme://host` from an absolute request URI, else `http://` plus the `Host`
/// header.
fn push_request_origin(out: &mut String, request: &Request<Bytes>) {
    let uri = request.uri();
    if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(authority.as_str());
        return;
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or("localhost");
    let scheme = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(host);
}
