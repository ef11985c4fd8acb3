//! PATCH paths (RFC 7644 §3.5.2): `attrPath`, `attrPath[valFilter]`,
//! `attrPath[valFilter].subAttr`, each optionally URN-qualified.

use super::PatchError;
use crate::protocol::filter::{Filter, parse_filter};
use crate::protocol::path::AttrPath;
use crate::schema::ResourceKind;

/// A parsed PATCH path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatchPath {
    /// A whole extension object, named by its URN.
    Extension(String),
    /// An attribute, with an optional element filter and sub-attribute.
    Attribute {
        /// The attribute (and, without a filter, possibly its sub-attribute).
        path: AttrPath,
        /// `[valFilter]`: which elements of a multi-valued attribute.
        filter: Option<Filter>,
        /// `.subAttr` after the filter.
        sub_attribute: Option<String>,
    },
}

impl PatchPath {
    /// Parses a path for a resource of `kind`.
    pub(crate) fn parse(text: &str, kind: ResourceKind) -> Result<Self, PatchError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PatchError::InvalidPath("the path is empty".into()));
        }
        if let Some(extension) = kind.extension(text) {
            return Ok(Self::Extension(extension.id.to_owned()));
        }
        if !text.contains('[') && kind.is_custom_extension_object(text) {
            return Ok(Self::Extension(text.to_owned()));
        }
        let invalid = |reason: String| PatchError::InvalidPath(format!("`{text}`: {reason}"));
        let Some(open) = text.find('[') else {
            let path = AttrPath::parse(text).map_err(|e| invalid(e.to_string()))?;
            return Ok(Self::Attribute {
                path,
                filter: None,
                sub_attribute: None,
            });
        };
        let close = text
            .rfind(']')
            .filter(|&c| c > open)
            .ok_or_else(|| invalid("`[` is never closed".into()))?;
        let path =
            AttrPath::parse(text.get(..open).unwrap_or("")).map_err(|e| invalid(e.to_string()))?;
        if path.sub_attribute.is_some() {
            return Err(invalid(
                "a value filter follows the multi-valued attribute itself".into(),
            ));
        }
        let filter = parse_filter(text.get(open + 1..close).unwrap_or(""))
            .map_err(|e| invalid(format!("in the value filter: {}", e.message)))?;
        let rest = text.get(close + 1..).unwrap_or("");
        let sub_attribute = match rest.strip_prefix('.') {
            None if rest.is_empty() => None,
            Some(sub)
                if AttrPath::parse(sub)
                    .is_ok_and(|p| p.sub_attribute.is_none() && p.urn.is_none()) =>
            {
                Some(sub.to_owned())
            }
            _ => {
                return Err(invalid(format!(
                    "unexpected `{rest}` after the value filter"
                )));
            }
        };
        Ok(Self::Attribute {
            path,
            filter: Some(filter),
            sub_attribute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let user = ResourceKind::User;
        assert!(matches!(
            PatchPath::parse("name.familyName", user),
            Ok(PatchPath::Attribute { filter: None, .. })
        ));
        let PatchPath::Attribute {
            path,
            filter,
            sub_attribute,
        } = PatchPath::parse(r#"emails[type eq "work"].value"#, user).unwrap()
        else {
            panic!("attribute path expected")
        };
        assert_eq!(path.attribute, "emails");
        assert!(filter.is_some());
        assert_eq!(sub_attribute.as_deref(), Some("value"));
        assert_eq!(
            PatchPath::parse(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                user
            )
            .unwrap(),
            PatchPath::Extension(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()
            )
        );
        let PatchPath::Attribute { path, .. } = PatchPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            user,
        )
        .unwrap() else {
            panic!("attribute path expected")
        };
        assert_eq!(path.attribute, "manager");
    }

    #[test]
    fn entra_custom_extension_paths_name_the_object_or_one_attribute() {
        let urn = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
        assert_eq!(
            PatchPath::parse(urn, ResourceKind::User).unwrap(),
            PatchPath::Extension(urn.into())
        );
        let PatchPath::Attribute { path, .. } =
            PatchPath::parse(&format!("{urn}:tag"), ResourceKind::User).unwrap()
        else {
            panic!("attribute path expected")
        };
        assert_eq!(path.urn.as_deref(), Some(urn));
        assert_eq!(path.attribute, "tag");
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in [
            "",
            "emails[type eq",
            "emails[type eq \"w\"]x",
            "name.givenName[x pr]",
            "1abc",
            "emails[type eq \"w\"].a.b",
        ] {
            assert!(PatchPath::parse(bad, ResourceKind::User).is_err(), "{bad}");
        }
    }
}
