//! SCIM schemas: core User, Group, EnterpriseUser, discovery documents, validation.
