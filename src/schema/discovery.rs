//! The discovery endpoints' documents (RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, true to what the service implements.

use serde_json::{Value, json};

use super::core::{ENTERPRISE_USER, GROUP, USER, all_schemas};
use super::{EmailPolicy, list_response};
use super::{Schema, SchemaExtension};

/// What the service supports, as `/ServiceProviderConfig` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// PATCH is supported.
    pub patch: bool,
    /// Most results a list returns (`count` is capped here).
    pub max_results: usize,
    /// Page size when the client sends no `count`.
    pub default_page_size: usize,
}

/// The `/ServiceProviderConfig` document.
pub fn service_provider_config(base: &str, capabilities: &Capabilities) -> Value {
    json!({
        "schemas": [crate::urn::SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://docs.rs/scimkit",
        "patch": {"supported": capabilities.patch},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": capabilities.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": capabilities.default_page_size,
            "maxPageSize": capabilities.max_results,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the bearer token issued for this directory",
            "primary": true,
        }, {
            "type": "oauth2",
            "name": "OAuth 2.0 client credentials",
            "description": format!("Bearer tokens from the client-credentials grant at {base}/oauth/token, for a client registered for this directory"),
            "specUri": "https://www.rfc-editor.org/rfc/rfc6749#section-4.4",
            "primary": false,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// The resource types: User (with the enterprise extension) and Group, each with the
/// extensions the service declares.
fn resource_types(base: &str, declared: &[SchemaExtension]) -> [Value; 2] {
    let declared_for = |kind: super::ResourceKind| {
        declared
            .iter()
            .filter(move |e| e.resource() == kind)
            .map(|e| json!({"schema": e.schema().id, "required": e.required()}))
    };
    let resource_type = |name: &str, endpoint: &str, schema: &str, extensions: Value| {
        json!({
            "schemas": [crate::urn::RESOURCE_TYPE],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": name,
            "schema": schema,
            "schemaExtensions": extensions,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")},
        })
    };
    [
        resource_type(
            "User",
            "/Users",
            USER,
            Value::Array(
                std::iter::once(json!({"schema": ENTERPRISE_USER, "required": false}))
                    .chain(declared_for(super::ResourceKind::User))
                    .collect(),
            ),
        ),
        resource_type(
            "Group",
            "/Groups",
            GROUP,
            Value::Array(declared_for(super::ResourceKind::Group).collect()),
        ),
    ]
}

/// `/ResourceTypes`, with the `declared` extensions in `schemaExtensions`.
pub fn resource_type_list(base: &str, declared: &[SchemaExtension]) -> Value {
    let all = resource_types(base, declared).to_vec();
    let total = all.len();
    list_response(all, total, 1)
}

/// `/ResourceTypes/{name}`, matched case-insensitively.
pub fn resource_type(base: &str, name: &str, declared: &[SchemaExtension]) -> Option<Value> {
    resource_types(base, declared).into_iter().find(|t| {
        t["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(name))
    })
}

/// `/Schemas`, as served under `policy`: the core schemas, then the `declared` ones.
pub fn schema_list(base: &str, policy: EmailPolicy, declared: &[SchemaExtension]) -> Value {
    let all: Vec<Value> = all_schemas()
        .into_iter()
        .chain(declared.iter().map(SchemaExtension::schema))
        .map(|s| served(s, base, policy))
        .collect();
    let total = all.len();
    list_response(all, total, 1)
}

/// `/Schemas/{urn}`, matched case-insensitively, as served under `policy`.
pub fn schema(
    base: &str,
    urn: &str,
    policy: EmailPolicy,
    declared: &[SchemaExtension],
) -> Option<Value> {
    all_schemas()
        .into_iter()
        .chain(declared.iter().map(SchemaExtension::schema))
        .find(|s| s.id.eq_ignore_ascii_case(urn))
        .map(|s| served(s, base, policy))
}

/// A schema document, with the User schema's `emails` required only when the service
/// requires an email: schema-reading clients (scim2-tester among them) then send one
/// exactly when it is needed.
fn served(schema: &Schema, base: &str, policy: EmailPolicy) -> Value {
    let mut doc = schema.to_json(base);
    if schema.id == USER && policy == EmailPolicy::Optional {
        let emails = doc
            .get_mut("attributes")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
            .find(|a| a.get("name").and_then(Value::as_str) == Some("emails"));
        if let Some(emails) = emails {
            emails.insert("required".into(), Value::Bool(false));
            emails.insert(
                "description".into(),
                Value::from("Email addresses for the user."),
            );
            let subs = emails
                .get_mut("subAttributes")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut);
            for sub in subs {
                sub.insert("required".into(), Value::Bool(false));
            }
        }
    }
    doc
}
