//! The data model: organizations, directories, users, groups, memberships, the change log
//! and tokens, with their prefixed ids; plus the injected clock and id source.

pub(crate) mod accessors;
mod change;
mod clock;
mod directory;
mod entity;
mod id;
mod idp;
mod token;

pub use change::{Change, ChangeKind, RolesDelta};
pub use clock::{Clock, IdGenerator, ManualClock, RandomIds, SequentialIds, SystemClock};
pub use directory::{
    Directory, DirectoryState, FieldMapping, GroupFacts, GroupMatch, RoleMapping, RoleRule,
};
pub use entity::{Group, Meta, Organization, UniqueKey, User, UserDocument, UserState};
pub use id::{DirectoryId, GroupId, IdParseError, OrganizationId, ResourceId, TokenId, UserId};
pub use idp::{IdpKind, UnknownIdp};
pub use token::{
    ACCESS_TOKEN_PREFIX, API_KEY_PREFIX, BEARER_TOKEN_PREFIX, EntropyError,
    OAUTH_CLIENT_SECRET_PREFIX, SETUP_LINK_PREFIX, SETUP_SESSION_PREFIX, TokenHash, TokenRecord,
    TokenScope, generate_secret,
};
