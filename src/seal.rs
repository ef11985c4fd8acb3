//! Tamper-evident tokens: a payload plus an HMAC-SHA256 tag under a server key. Used for
//! SCIM cursors (RFC 9865) and sync page tokens, which clients must hand back unchanged.

use sha2::{Digest, Sha256};

const BLOCK: usize = 64;
/// Bytes of the tag kept in a token: 128 bits is ample against forgery.
const TAG_LEN: usize = 16;

/// Why a sealed token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnsealError {
    /// Not hex, or too short to hold a tag.
    #[error("the token is malformed")]
    Malformed,
    /// The tag does not match: tampered with, or sealed under another key.
    #[error("the token was not issued by this server or was altered")]
    Forged,
}

/// Seals and opens tokens under one secret key.
#[derive(Clone)]
pub(crate) struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer with the given key. Tokens survive restarts only if the key does.
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A sealer with a fresh random key (tokens die with the process), or `None` if the
    /// operating system has no randomness to give.
    pub(crate) fn random() -> Option<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).ok()?;
        Some(Self { key })
    }

    fn tag(&self, payload: &[u8]) -> [u8; 32] {
        let mut inner_key = [0x36u8; BLOCK];
        let mut outer_key = [0x5cu8; BLOCK];
        for (i, k) in self.key.iter().enumerate() {
            inner_key[i] ^= k;
            outer_key[i] ^= k;
        }
        let inner = Sha256::new()
            .chain_update(inner_key)
            .chain_update(payload)
            .finalize();
        Sha256::new()
            .chain_update(outer_key)
            .chain_update(inner)
            .finalize()
            .into()
    }

    /// `payload` with its tag, as lower-case hex.
    pub(crate) fn seal(&self, payload: &[u8]) -> String {
        let tag = self.tag(payload);
        let mut out = String::with_capacity((payload.len() + TAG_LEN) * 2);
        for byte in payload.iter().chain(tag.iter().take(TAG_LEN)) {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// The payload of a token made by [`Sealer::seal`] with the same key.
    pub(crate) fn open(&self, token: &str) -> Result<Vec<u8>, UnsealError> {
        if !token.len().is_multiple_of(2) || token.len() < TAG_LEN * 2 {
            return Err(UnsealError::Malformed);
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| {
                token
                    .get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or(UnsealError::Malformed)?;
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let expected = self.tag(payload);
        let diff = tag
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            Ok(payload.to_vec())
        } else {
            Err(UnsealError::Forged)
        }
    }
}

/// A key for cursors when the operating system gives no randomness: unpredictable enough
/// from outside (time and addresses), never a constant.
pub(crate) fn fallback_key() -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let marker = 0u8;
    let seed = format!(
        "{:?}{:p}{}",
        std::time::SystemTime::now(),
        &marker,
        std::process::id()
    );
    Sha256::digest(seed.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_the_rfc_4231_test_vector() {
        // RFC 4231 test case 2 uses a 4-byte key; zero-padding to 32 bytes is the same key
        // for HMAC (keys shorter than the block are zero-padded).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let tag = Sealer::new(key).tag(b"what do ya want for nothing?");
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    proptest! {
        #[test]
        fn sealed_payloads_open_and_altered_ones_do_not(payload: Vec<u8>, flip in 0usize..64) {
            let sealer = Sealer::new([7; 32]);
            let token = sealer.seal(&payload);
            prop_assert_eq!(sealer.open(&token).unwrap(), payload);
            let mut chars: Vec<char> = token.chars().collect();
            let i = flip % chars.len();
            chars[i] = if chars[i] == '0' { '1' } else { '0' };
            let altered: String = chars.into_iter().collect();
            prop_assert!(sealer.open(&altered).is_err());
            prop_assert_eq!(Sealer::new([8; 32]).open(&token), Err(UnsealError::Forged));
        }

        #[test]
        fn opening_arbitrary_text_never_panics(text in ".{0,80}") {
            let _ = Sealer::new([1; 32]).open(&text);
        }
    }
}
