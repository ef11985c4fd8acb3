//! The discovery endpoints' documents (RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, true to what the service implements.

use serde_json::{Value, json};

use super::Schema;
use super::core::{ENTERPRISE_USER, GROUP, USER, all_schemas};
use super::{EmailPolicy, list_response};

/// What the service supports, as `/ServiceProviderConfig` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The resource types: User (with the enterprise extension) and Group.
fn resource_types(base: &str) -> [Value; 2] {
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
            json!([{"schema": ENTERPRISE_USER, "required": false}]),
        ),
        resource_type("Group", "/Groups", GROUP, json!([])),
    ]
}

/// `/ResourceTypes`.
pub fn resource_type_list(base: &str) -> Value {
    let all = resource_types(base).to_vec();
    let total = all.len();
    list_response(all, total, 1)
}

/// `/ResourceTypes/{name}`, matched case-insensitively.
pub fn resource_type(base: &str, name: &str) -> Option<Value> {
    resource_types(base).into_iter().find(|t| {
        t["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(name))
    })
}

/// `/Schemas`, as served under `policy`.
pub fn schema_list(base: &str, policy: EmailPolicy) -> Value {
    let all: Vec<Value> = all_schemas()
        .iter()
        .map(|s| served(s, base, policy))
        .collect();
    let total = all.len();
    list_response(all, total, 1)
}

/// `/Schemas/{urn}`, matched case-insensitively, as served under `policy`.
pub fn schema(base: &str, urn: &str, policy: EmailPolicy) -> Option<Value> {
    all_schemas()
        .iter()
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
