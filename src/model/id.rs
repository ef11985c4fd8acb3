//! Prefixed, opaque identifiers: a type prefix plus a UUID (v7, so ids sort by creation
//! time, which keyset paging relies on) in lower-case Crockford base32.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 128 bits in 5-bit digits.
const ENCODED_LEN: usize = 26;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {kind} id")]
pub struct IdParseError {
    input: String,
    kind: &'static str,
}

/// Encodes 16 bytes as 26 base32 digits, most significant first, so that the encoding
/// sorts like the bytes.
pub(crate) fn encode_base32(bytes: [u8; 16]) -> String {
    let mut value = u128::from_be_bytes(bytes);
    let mut out = [0u8; ENCODED_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    out.iter().map(|&b| b as char).collect()
}

fn decode_base32(text: &str) -> Option<[u8; 16]> {
    if text.len() != ENCODED_LEN {
        return None;
    }
    let mut value: u128 = 0;
    for (i, c) in text.bytes().enumerate() {
        let digit = ALPHABET.iter().position(|&a| a == c)? as u128;
        // 26 digits carry 130 bits; the first digit may only hold the top 3 bits.
        if i == 0 && digit > 0b111 {
            return None;
        }
        value = (value << 5) | digit;
    }
    Some(value.to_be_bytes())
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// The id for a UUID.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(format!("{}{}", $prefix, encode_base32(*uuid.as_bytes())))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                input
                    .strip_prefix($prefix)
                    .and_then(decode_base32)
                    .map(|_| Self(input.to_owned()))
                    .ok_or_else(|| IdParseError { input: input.chars().take(80).collect(), kind: $kind })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// An organization: `org_...`.
    OrganizationId, "org_", "organization"
);
prefixed_id!(
    /// A SCIM directory: `scim_directory_...`.
    DirectoryId, "scim_directory_", "directory"
);
prefixed_id!(
    /// A provisioned user: `scim_user_...`.
    UserId, "scim_user_", "user"
);
prefixed_id!(
    /// A provisioned group: `scim_group_...`.
    GroupId, "scim_group_", "group"
);
prefixed_id!(
    /// A bearer token or API key record (not the secret): `token_...`.
    TokenId, "token_", "token"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ids_round_trip_and_sort_like_their_uuids(a: u128, b: u128) {
            let ia = UserId::from_uuid(Uuid::from_u128(a));
            let ib = UserId::from_uuid(Uuid::from_u128(b));
            prop_assert_eq!(ia.as_str().len(), UserId::PREFIX.len() + ENCODED_LEN);
            prop_assert_eq!(&ia.to_string().parse::<UserId>().unwrap(), &ia);
            prop_assert_eq!(ia.cmp(&ib), a.cmp(&b));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = text.parse::<GroupId>();
        }
    }

    #[test]
    fn refuses_wrong_prefix_length_and_alphabet() {
        let good = GroupId::from_uuid(Uuid::from_u128(7)).to_string();
        assert!(good.parse::<GroupId>().is_ok());
        assert!(good.parse::<UserId>().is_err());
        assert!(format!("{good}0").parse::<GroupId>().is_err());
        assert!(good.replace('0', "u").parse::<GroupId>().is_err());
        assert!(
            "scim_group_zzzzzzzzzzzzzzzzzzzzzzzzzz"
                .parse::<GroupId>()
                .is_err()
        );
    }
}
