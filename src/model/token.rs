//! Bearer tokens and API keys: issued once as a secret, stored only as a SHA-256 hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::id::{DirectoryId, OrganizationId, TokenId, encode_base32};

/// What a token grants. `#[non_exhaustive]`: scopes may grow (say, read-only keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenScope {
    /// A SCIM bearer token: an IdP may provision this one directory.
    Directory(DirectoryId),
    /// An API key for the management API, limited to one organization.
    Organization(OrganizationId),
    /// An API key for the management API, for every organization.
    Global,
    /// A setup-page link or session for one organization's IT admin: it opens that
    /// organization's setup page and grants nothing else (not SCIM, not the management
    /// API). Always issued with an expiry.
    Setup(OrganizationId),
    /// An OAuth 2.0 client of one directory: its secret is exchanged at the directory's
    /// token endpoint for short-lived SCIM access tokens, and opens nothing itself. The
    /// client id is the record's id.
    OAuthClient(DirectoryId),
}

/// The SHA-256 of a token secret: the only form in which a secret is stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a newtype over the SHA-256 digest"
)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The hash of a presented secret.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Equality that takes the same time wherever the hashes differ.
    pub fn constant_time_eq(&self, other: &TokenHash) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A stored token: what it grants, the hash of its secret, and when it expires.
/// `#[non_exhaustive]`: read its fields; build one with [`TokenRecord::new`] (a backend
/// decoding a row, a test double) and [`TokenRecord::with_expiry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenRecord {
    /// `token_...`: names the token for listing and revocation; not a secret.
    pub id: TokenId,
    /// What it grants.
    pub scope: TokenScope,
    /// SHA-256 of the secret.
    pub hash: TokenHash,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it stops being accepted; `None` for tokens valid until revoked (SCIM bearer
    /// tokens and API keys). Setup links and sessions always have one.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<OffsetDateTime>,
}

impl TokenRecord {
    /// A token valid until revoked.
    pub fn new(id: TokenId, scope: TokenScope, hash: TokenHash, created: OffsetDateTime) -> Self {
        Self {
            id,
            scope,
            hash,
            created,
            expires: None,
        }
    }

    /// One that stops being accepted at `expires`.
    pub fn with_expiry(mut self, expires: OffsetDateTime) -> Self {
        self.expires = Some(expires);
        self
    }

    /// Whether it is past its expiry at `now` (never, without one).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

/// Prefix of issued SCIM bearer tokens (lets secret scanners recognise them).
pub const BEARER_TOKEN_PREFIX: &str = "scimkit_bearer_";
/// Prefix of setup-page links (one-time, expiring).
pub const SETUP_LINK_PREFIX: &str = "scimkit_setup_link_";
/// Prefix of setup-page sessions (the cookie a setup link is exchanged for).
pub const SETUP_SESSION_PREFIX: &str = "scimkit_setup_session_";
/// Prefix of OAuth 2.0 client secrets.
pub const OAUTH_CLIENT_SECRET_PREFIX: &str = "scimkit_client_secret_";
/// Prefix of OAuth 2.0 access tokens (short-lived SCIM bearer tokens).
pub const ACCESS_TOKEN_PREFIX: &str = "scimkit_access_";
/// Prefix of issued API keys.
pub const API_KEY_PREFIX: &str = "scimkit_api_key_";

/// Why a secret could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct EntropyError(getrandom::Error);

/// A new secret with 256 bits from the operating system's random source.
pub fn generate_secret(prefix: &str) -> Result<String, EntropyError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(EntropyError)?;
    let (high, low) = bytes.split_at(16);
    let mut halves = [[0u8; 16]; 2];
    halves[0].copy_from_slice(high);
    halves[1].copy_from_slice(low);
    Ok(format!(
        "{prefix}{}{}",
        encode_base32(halves[0]),
        encode_base32(halves[1])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secrets_are_prefixed_distinct_and_long() {
        let a = generate_secret(BEARER_TOKEN_PREFIX).unwrap();
        let b = generate_secret(BEARER_TOKEN_PREFIX).unwrap();
        assert!(a.starts_with(BEARER_TOKEN_PREFIX));
        assert_eq!(a.len(), BEARER_TOKEN_PREFIX.len() + 52);
        assert_ne!(a, b);
    }

    proptest! {
        #[test]
        fn hash_equality_matches_secret_equality(a in "[a-z0-9_]{1,40}", b in "[a-z0-9_]{1,40}") {
            prop_assert_eq!(TokenHash::of(&a).constant_time_eq(&TokenHash::of(&b)), a == b);
        }
    }
}
