//! A stored document read as text: its top-level members, each value left as the JSON
//! text it was stored as. Rendering one user from this copies the values into the
//! response instead of building and then serialising a parsed tree of each.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// The members of one stored JSON object, in stored order, values unparsed.
#[derive(Debug)]
pub(crate) struct TopLevel<'a> {
    pub(crate) members: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// `schemas`, parsed (rendering puts the core schema first).
    pub(crate) schemas: Vec<Value>,
}

impl<'a> TopLevel<'a> {
    /// The members of `text`, which must be one JSON object. Each value is checked to be
    /// JSON but not built.
    pub(crate) fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        let Members(members) = serde_json::from_str(text)?;
        let schemas = match members.iter().find(|(key, _)| key == "schemas") {
            Some((_, raw)) => match serde_json::from_str(raw.get())? {
                Value::Array(listed) => listed,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        Ok(Self { members, schemas })
    }
}

/// What one object deserialises to: its members, keys borrowed when they hold no escape.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// A member's key, borrowed from the text unless it had to be unescaped.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
            fn visit_string<E>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members<'de>, M::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_order_and_their_text() {
        let text = r#"{"userName":"ann@example.com","name":{"givenName":"Ann"},"a\"b":[1,2.50],"schemas":["urn:x"]}"#;
        let top = TopLevel::parse(text).expect("parse");
        let members: Vec<(&str, &str)> = top
            .members
            .iter()
            .map(|(k, v)| (k.as_ref(), v.get()))
            .collect();
        assert_eq!(
            members,
            [
                ("userName", r#""ann@example.com""#),
                ("name", r#"{"givenName":"Ann"}"#),
                ("a\"b", "[1,2.50]"),
                ("schemas", r#"["urn:x"]"#),
            ]
        );
        assert_eq!(top.schemas, [Value::from("urn:x")]);
    }

    #[test]
    fn text_that_is_not_one_object_is_refused() {
        for text in ["[1]", "\"x\"", "{\"a\":}", "{\"a\":1", ""] {
            assert!(TopLevel::parse(text).is_err(), "{text}");
        }
    }
}
