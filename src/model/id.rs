//! Prefixed, opaque identifiers: a type prefix plus a UUID (v7, so ids sort by creation
//! time, which keyset paging relies on) in lower-case Crockford base32.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 128 bits in 5-bit digits.
const ENCODED_LEN: usize = 26;
/// Each byte's digit value, or `NOT_A_DIGIT`: every request parses an id or two, and a
/// table lookup per character is a fraction of a search through the alphabet.
const DIGIT_OF: [u8; 256] = digit_table();
const NOT_A_DIGIT: u8 = u8::MAX;

const fn digit_table() -> [u8; 256] {
    let mut table = [NOT_A_DIGIT; 256];
    let mut digit = 0;
    while digit < ALPHABET.len() {
        table[ALPHABET[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
}

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
    // Every byte is from the ASCII alphabet, so this never falls back.
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

fn decode_base32(text: &str) -> Option<[u8; 16]> {
    if text.len() != ENCODED_LEN {
        return None;
    }
    let mut value: u128 = 0;
    for (i, c) in text.bytes().enumerate() {
        let digit = match DIGIT_OF[usize::from(c)] {
            NOT_A_DIGIT => return None,
            digit => u128::from(digit),
        };
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

/// What a [`Change`](super::Change) is about: a user, a group or, for directory events
/// (`directory.activated`, `directory.disabled`, ...), the directory itself.
///
/// It is stored, sent and parsed as the plain id (`scim_user_...`, `scim_group_...`,
/// `scim_directory_...`): its [`Display`](fmt::Display), [`FromStr`] (which reads the
/// kind from the prefix) and serde forms are those of the id it holds. It orders like
/// that text. `#[non_exhaustive]`: a `match` on it needs a `_` arm.
///
/// ```
/// use scimkit::model::{ResourceId, UserId};
/// # let user = UserId::from_uuid(uuid::Uuid::now_v7());
/// let resource: ResourceId = user.as_str().parse()?;
/// assert_eq!(resource, ResourceId::User(user.clone()));
/// assert_eq!(resource.to_string(), user.to_string());
/// match &resource {
///     ResourceId::User(id) => assert_eq!(id, &user),
///     ResourceId::Group(_) | ResourceId::Directory(_) => unreachable!(),
///     _ => unreachable!("a kind of resource added later"),
/// }
/// assert!("scim_token_0".parse::<ResourceId>().is_err());
/// # Ok::<(), scimkit::model::IdParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceId {
    /// A user (`scim_user_...`).
    User(UserId),
    /// A group (`scim_group_...`).
    Group(GroupId),
    /// A directory (`scim_directory_...`), for the directory's own events.
    Directory(DirectoryId),
}

impl ResourceId {
    /// The id as text, as stored and sent.
    pub fn as_str(&self) -> &str {
        match self {
            ResourceId::User(id) => id.as_str(),
            ResourceId::Group(id) => id.as_str(),
            ResourceId::Directory(id) => id.as_str(),
        }
    }

    /// The user, if it is one.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            ResourceId::User(id) => Some(id),
            _ => None,
        }
    }

    /// The group, if it is one.
    pub fn group(&self) -> Option<&GroupId> {
        match self {
            ResourceId::Group(id) => Some(id),
            _ => None,
        }
    }

    /// The directory, if it is one.
    pub fn directory(&self) -> Option<&DirectoryId> {
        match self {
            ResourceId::Directory(id) => Some(id),
            _ => None,
        }
    }
}

impl From<UserId> for ResourceId {
    fn from(id: UserId) -> Self {
        ResourceId::User(id)
    }
}

impl From<GroupId> for ResourceId {
    fn from(id: GroupId) -> Self {
        ResourceId::Group(id)
    }
}

impl From<DirectoryId> for ResourceId {
    fn from(id: DirectoryId) -> Self {
        ResourceId::Directory(id)
    }
}

impl PartialEq<UserId> for ResourceId {
    fn eq(&self, other: &UserId) -> bool {
        self.user() == Some(other)
    }
}

impl PartialEq<GroupId> for ResourceId {
    fn eq(&self, other: &GroupId) -> bool {
        self.group() == Some(other)
    }
}

impl PartialEq<DirectoryId> for ResourceId {
    fn eq(&self, other: &DirectoryId) -> bool {
        self.directory() == Some(other)
    }
}

// The text decides the kind (the prefixes differ), so ordering by it agrees with `Eq`.
impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl FromStr for ResourceId {
    type Err = IdParseError;

    /// A user, group or directory id, told apart by its prefix.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.starts_with(UserId::PREFIX) {
            input.parse().map(ResourceId::User)
        } else if input.starts_with(GroupId::PREFIX) {
            input.parse().map(ResourceId::Group)
        } else if input.starts_with(DirectoryId::PREFIX) {
            input.parse().map(ResourceId::Directory)
        } else {
            Err(IdParseError {
                input: input.chars().take(80).collect(),
                kind: "user, group or directory",
            })
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

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

    proptest! {
        #[test]
        fn resource_ids_keep_their_text_and_kind(n: u128, kind in 0u8..3) {
            let uuid = Uuid::from_u128(n);
            let resource: ResourceId = match kind {
                0 => UserId::from_uuid(uuid).into(),
                1 => GroupId::from_uuid(uuid).into(),
                _ => DirectoryId::from_uuid(uuid).into(),
            };
            let text = resource.to_string();
            prop_assert_eq!(text.as_str(), resource.as_str());
            prop_assert_eq!(&text.parse::<ResourceId>().unwrap(), &resource);
            let json = serde_json::to_value(&resource).unwrap();
            prop_assert_eq!(&json, &serde_json::Value::String(text.clone()));
            prop_assert_eq!(&serde_json::from_value::<ResourceId>(json).unwrap(), &resource);
            prop_assert_eq!(resource.user().is_some(), kind == 0);
            prop_assert_eq!(resource.group().is_some(), kind == 1);
            prop_assert_eq!(resource.directory().is_some(), kind == 2);
        }

        #[test]
        fn resource_ids_sort_like_their_text(a: u128, b: u128, ka in 0u8..3, kb in 0u8..3) {
            let make = |n: u128, kind: u8| -> ResourceId {
                let uuid = Uuid::from_u128(n);
                match kind {
                    0 => UserId::from_uuid(uuid).into(),
                    1 => GroupId::from_uuid(uuid).into(),
                    _ => DirectoryId::from_uuid(uuid).into(),
                }
            };
            let (ra, rb) = (make(a, ka), make(b, kb));
            prop_assert_eq!(ra.cmp(&rb), ra.to_string().cmp(&rb.to_string()));
            prop_assert_eq!(ra == rb, ra.to_string() == rb.to_string());
        }

        #[test]
        fn parsing_arbitrary_text_as_a_resource_never_panics(text in "(scim_(user|group|directory)_)?.{0,30}") {
            let _ = text.parse::<ResourceId>();
        }
    }

    #[test]
    fn resource_ids_refuse_other_ids_and_malformed_text() {
        let user = UserId::from_uuid(Uuid::from_u128(9));
        let org = OrganizationId::from_uuid(Uuid::from_u128(9));
        let token = TokenId::from_uuid(Uuid::from_u128(9));
        assert!(org.as_str().parse::<ResourceId>().is_err());
        assert!(token.as_str().parse::<ResourceId>().is_err());
        assert!("scim_user_".parse::<ResourceId>().is_err());
        assert!(format!("{user}0").parse::<ResourceId>().is_err());
        assert!("".parse::<ResourceId>().is_err());
        assert!(serde_json::from_str::<ResourceId>("\"scim_group_nope\"").is_err());
        assert!(serde_json::from_str::<ResourceId>("7").is_err());
        assert_eq!(ResourceId::from(user.clone()), user);
        assert_ne!(
            ResourceId::from(user.clone()),
            GroupId::from_uuid(Uuid::from_u128(9))
        );
    }
}
