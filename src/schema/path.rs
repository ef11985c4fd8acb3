//! Attribute paths (`userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`), shared by the
//! filter, PATCH and projection code.

use std::fmt;

/// Prefix shared by every SCIM schema URN.
pub const URN_PREFIX: &str = "urn:";

/// A reference to an attribute: an optional schema URN, an attribute name and an optional
/// sub-attribute name. Names are kept as written; comparisons are case-insensitive
/// (RFC 7643 §2.1), see [`AttrPath::eq_ignore_case`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_structs,
    reason = "the RFC 7644 attribute path grammar: urn, attribute, sub-attribute"
)]
pub struct AttrPath {
    /// The schema URN, when the path was fully qualified.
    pub urn: Option<String>,
    /// The attribute name.
    pub attribute: String,
    /// The sub-attribute name, for `name.givenName`.
    pub sub_attribute: Option<String>,
}

/// Why a string is not an attribute path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path was empty.
    #[error("the attribute path is empty")]
    Empty,
    /// A name held a character that RFC 7643 §2.1 does not allow.
    #[error("`{path}` is not a valid attribute path: {reason}")]
    Invalid {
        /// The offending path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl AttrPath {
    /// A path to a top-level attribute of the core schema.
    pub fn new(attribute: impl Into<String>) -> Self {
        Self {
            urn: None,
            attribute: attribute.into(),
            sub_attribute: None,
        }
    }

    /// The same path with a sub-attribute.
    pub fn with_sub(mut self, sub_attribute: impl Into<String>) -> Self {
        self.sub_attribute = Some(sub_attribute.into());
        self
    }

    /// Parses `attr`, `attr.sub`, `urn:...:attr` or `urn:...:attr.sub`.
    ///
    /// For a URN-qualified path the attribute is what follows the last `:`; the URN is
    /// everything before it.
    ///
    /// ```
    /// use scimkit::schema::path::AttrPath;
    /// let p = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
    /// assert_eq!(p.urn.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
    /// assert_eq!(p.attribute, "name");
    /// assert_eq!(p.sub_attribute.as_deref(), Some("givenName"));
    /// ```
    pub fn parse(input: &str) -> Result<Self, PathError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PathError::Empty);
        }
        let (urn, rest) = if starts_with_ignore_case(input, URN_PREFIX) {
            match input.rfind(':') {
                Some(i) if i + 1 < input.len() => (Some(&input[..i]), &input[i + 1..]),
                _ => {
                    return Err(PathError::Invalid {
                        path: input.to_owned(),
                        reason: "a schema URN must be followed by `:` and an attribute name",
                    });
                }
            }
        } else {
            (None, input)
        };
        let (attribute, sub_attribute) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        let invalid = |reason| PathError::Invalid {
            path: input.to_owned(),
            reason,
        };
        if !is_attr_name(attribute) {
            return Err(invalid(
                "names start with a letter and hold letters, digits, `_`, `-` or `$`",
            ));
        }
        if let Some(sub) = sub_attribute
            && !is_attr_name(sub)
        {
            return Err(invalid(
                "sub-attribute names start with a letter and hold letters, digits, `_`, `-` or `$`",
            ));
        }
        Ok(Self {
            urn: urn.map(str::to_owned),
            attribute: attribute.to_owned(),
            sub_attribute: sub_attribute.map(str::to_owned),
        })
    }

    /// Case-insensitive equality of attribute and sub-attribute names and URNs.
    pub fn eq_ignore_case(&self, other: &AttrPath) -> bool {
        fn opt_eq(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            }
        }
        self.attribute.eq_ignore_ascii_case(&other.attribute)
            && opt_eq(&self.sub_attribute, &other.sub_attribute)
            && opt_eq(&self.urn, &other.urn)
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attribute)?;
        if let Some(sub) = &self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Which attributes compare case-exactly (RFC 7643 `caseExact`). The schema module
/// implements it from its attribute definitions; filters and sorting consult it.
pub trait CaseExactness {
    /// True when values at `path` compare case-sensitively.
    fn case_exact(&self, path: &AttrPath) -> bool;
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// RFC 7643 §2.1 ATTRNAME = ALPHA *(nameChar); `$ref` is the one name starting with `$`.
pub(crate) fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_sub_and_urn_paths() {
        assert_eq!(
            AttrPath::parse("userName").unwrap(),
            AttrPath::new("userName")
        );
        assert_eq!(
            AttrPath::parse("name.familyName").unwrap(),
            AttrPath::new("name").with_sub("familyName")
        );
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in [
            "",
            "1abc",
            "a b",
            "name.",
            "urn:x:",
            "emails[type eq \"work\"]",
        ] {
            assert!(AttrPath::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn compares_names_case_insensitively() {
        let a = AttrPath::parse("NAME.givenname").unwrap();
        let b = AttrPath::parse("name.givenName").unwrap();
        assert!(a.eq_ignore_case(&b));
        assert!(!a.eq_ignore_case(&AttrPath::new("name")));
    }
}
