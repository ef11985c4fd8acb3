//! Which identity provider a customer connected a directory to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The identity provider a customer chose for a directory. It selects the
/// attribute-mapping defaults and is shown in the management API; SCIM traffic is read
/// the same way whatever it says (the quirks are recognised per request, not per
/// directory). `#[non_exhaustive]`: more providers will be named.
///
/// ```
/// use scimkit::model::IdpKind;
///
/// let idp: IdpKind = "okta".parse()?;
/// assert_eq!(idp, IdpKind::Okta);
/// assert_eq!(idp.to_string(), "okta");
/// assert_eq!(IdpKind::default(), IdpKind::Other);
/// # Ok::<_, scimkit::model::UnknownIdp>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum IdpKind {
    /// Microsoft Entra ID (formerly Azure AD).
    Entra,
    /// Okta.
    Okta,
    /// OneLogin.
    OneLogin,
    /// JumpCloud.
    JumpCloud,
    /// Google Workspace.
    Google,
    /// Any other SCIM 2.0 client, or not said.
    #[default]
    Other,
}

impl IdpKind {
    /// Every provider, in the order a setup page lists them.
    pub const ALL: [IdpKind; 6] = [
        IdpKind::Entra,
        IdpKind::Okta,
        IdpKind::OneLogin,
        IdpKind::JumpCloud,
        IdpKind::Google,
        IdpKind::Other,
    ];

    /// The name used in JSON and URLs: `entra`, `okta`, `onelogin`, `jumpcloud`,
    /// `google`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdpKind::Entra => "entra",
            IdpKind::Okta => "okta",
            IdpKind::OneLogin => "onelogin",
            IdpKind::JumpCloud => "jumpcloud",
            IdpKind::Google => "google",
            IdpKind::Other => "other",
        }
    }
}

impl fmt::Display for IdpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name [`IdpKind`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown identity provider `{0}`: expected one of entra, okta, onelogin, jumpcloud, google, other"
)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a newtype over the name it could not read"
)]
pub struct UnknownIdp(pub String);

impl FromStr for IdpKind {
    type Err = UnknownIdp;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        IdpKind::ALL
            .into_iter()
            .find(|idp| idp.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownIdp(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_display_and_serde() {
        for idp in IdpKind::ALL {
            assert_eq!(idp.as_str().parse::<IdpKind>(), Ok(idp));
            let json = serde_json::to_string(&idp).unwrap();
            assert_eq!(json, format!("\"{idp}\""));
            assert_eq!(serde_json::from_str::<IdpKind>(&json).unwrap(), idp);
        }
        assert_eq!("Entra".parse::<IdpKind>(), Ok(IdpKind::Entra));
        assert!("azure".parse::<IdpKind>().is_err());
    }
}
