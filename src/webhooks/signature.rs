//! Standard Webhooks signatures (the scheme Svix and Stripe made common): HMAC-SHA256 of
//! `{webhook-id}.{webhook-timestamp}.{body}` under the endpoint's secret, sent as
//! `webhook-signature: v1,<base64>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const BLOCK: usize = 64;
/// The `whsec_` prefix of a secret's text form.
const PREFIX: &str = "whsec_";

/// The header carrying the message id (stable across retries of one change).
pub const WEBHOOK_ID: &str = "webhook-id";
/// The header carrying the attempt's Unix time in seconds.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying `v1,<base64 signature>` (several, space-separated, during a
/// secret rotation).
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// How far a `webhook-timestamp` may be from the receiver's clock in [`verify`]: five
/// minutes, as Standard Webhooks recommends, against replays of captured requests.
pub const DEFAULT_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// An endpoint's signing secret: at least 16 random bytes, written `whsec_<base64>` (the
/// form Standard Webhooks libraries take, so a receiver can use any of them). `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// A secret that is not `whsec_<base64>` of at least 16 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is `whsec_` followed by the base64 of at least 16 bytes")]
#[allow(clippy::exhaustive_structs, reason = "a unit error: nothing to add")]
pub struct InvalidSecret;

impl WebhookSecret {
    /// A new random secret (32 bytes from the OS). `None` if the OS has no randomness.
    pub fn generate() -> Option<Self> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).ok()?;
        Some(Self(key))
    }

    /// A secret from its raw bytes (at least 16).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, InvalidSecret> {
        let bytes = bytes.into();
        if bytes.len() < 16 {
            return Err(InvalidSecret);
        }
        Ok(Self(bytes))
    }

    /// A secret from its text form `whsec_<base64>` (the prefix may be left out).
    pub fn parse(text: &str) -> Result<Self, InvalidSecret> {
        let encoded = text.strip_prefix(PREFIX).unwrap_or(text);
        let bytes = STANDARD.decode(encoded).map_err(|_| InvalidSecret)?;
        Self::from_bytes(bytes)
    }

    /// The text form, `whsec_<base64>`: give it to the receiving side once.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `v1,<base64>` signature of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.tag(id, timestamp, body);
        format!("v1,{}", STANDARD.encode(tag))
    }

    fn tag(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let stamp = timestamp.to_string();
        hmac_sha256(
            &self.0,
            &[id.as_bytes(), b".", stamp.as_bytes(), b".", body],
        )
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner.finalize())
        .finalize()
        .into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why [`verify`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A `webhook-id`, `webhook-timestamp` or `webhook-signature` header is missing or
    /// not text.
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a Unix time in seconds.
    #[error("the `webhook-timestamp` header is not a Unix time")]
    BadTimestamp,
    /// The timestamp is further from now than the tolerance (a replayed or delayed
    /// request).
    #[error("the `webhook-timestamp` is outside the tolerance")]
    Expired,
    /// No `v1` signature matches the body under the secret.
    #[error("no signature matches")]
    NoMatch,
}

/// Verifies a webhook request on the receiving side: the headers scimkit sent, the body
/// exactly as received (before any JSON parsing), the secret, and the receiver's clock
/// (`OffsetDateTime::now_utc()`); a timestamp more than [`DEFAULT_TOLERANCE`] away is
/// refused. Any Standard Webhooks library verifies the same requests.
///
/// ```
/// use scimkit::webhooks::{WebhookSecret, verify};
///
/// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let body = br#"{"type":"user.created"}"#;
/// let now = time::OffsetDateTime::now_utc();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("webhook-id", "msg_1".parse()?);
/// headers.insert("webhook-timestamp", now.unix_timestamp().to_string().parse()?);
/// let signature = secret.sign("msg_1", now.unix_timestamp(), body);
/// headers.insert("webhook-signature", signature.parse()?);
/// verify(&secret, &headers, body, now)?;
/// assert!(verify(&secret, &headers, b"{}", now).is_err(), "another body does not verify");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub fn verify(
    secret: &WebhookSecret,
    headers: &http::HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), VerifyError> {
    verify_with_tolerance(secret, headers, body, now, DEFAULT_TOLERANCE)
}

/// [`verify`] with another timestamp tolerance.
pub fn verify_with_tolerance(
    secret: &WebhookSecret,
    headers: &http::HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
    tolerance: time::Duration,
) -> Result<(), VerifyError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(VerifyError::MissingHeader(name))
    };
    let id = header(WEBHOOK_ID)?;
    let timestamp: i64 = header(WEBHOOK_TIMESTAMP)?
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let signatures = header(WEBHOOK_SIGNATURE)?;
    let sent =
        OffsetDateTime::from_unix_timestamp(timestamp).map_err(|_| VerifyError::BadTimestamp)?;
    if (now - sent).abs() > tolerance {
        return Err(VerifyError::Expired);
    }
    let expected = secret.tag(id, timestamp, body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|tag| constant_time_eq(&tag, &expected));
    if matches {
        Ok(())
    } else {
        Err(VerifyError::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let tag = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_long_key_is_hashed_first_as_rfc_4231_test_case_6_says() {
        let key = [0xaau8; 131];
        let tag = hmac_sha256(
            &key,
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The Standard Webhooks spec's example (also Svix's): this secret, id, timestamp
        // and body give this signature.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verification_refuses_stale_timestamps_missing_headers_and_other_secrets() {
        let secret = WebhookSecret::generate().unwrap();
        let other = WebhookSecret::generate().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let body = b"{}";
        let mut headers = http::HeaderMap::new();
        headers.insert(WEBHOOK_ID, "m".parse().unwrap());
        assert_eq!(
            verify(&secret, &headers, body, now),
            Err(VerifyError::MissingHeader(WEBHOOK_TIMESTAMP))
        );
        headers.insert(WEBHOOK_TIMESTAMP, "1800000000".parse().unwrap());
        let both = format!(
            "{} {}",
            other.sign("m", 1_800_000_000, body),
            secret.sign("m", 1_800_000_000, body)
        );
        headers.insert(WEBHOOK_SIGNATURE, both.parse().unwrap());
        assert_eq!(
            verify(&secret, &headers, body, now),
            Ok(()),
            "one matching signature among several (a rotation) verifies"
        );
        assert_eq!(
            verify(&other, &headers, b"{ }", now),
            Err(VerifyError::NoMatch)
        );
        let later = now + time::Duration::minutes(6);
        assert_eq!(
            verify(&secret, &headers, body, later),
            Err(VerifyError::Expired)
        );
        assert_eq!(
            WebhookSecret::parse(&secret.expose()).as_ref(),
            Ok(&secret),
            "the text form round-trips"
        );
        assert_eq!(WebhookSecret::parse("whsec_c2hvcnQ="), Err(InvalidSecret));
    }
}
