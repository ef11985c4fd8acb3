//! The fuzz targets of `fuzz/` as proptests, so `cargo test` runs them on every change:
//! the filter parser, PATCH paths, the PATCH engine, the quirk normalisers and
//! `ScimService::handle` never panic on any input, and `handle` never answers 5xx.

mod common;

use bytes::Bytes;
use common::Fixture;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scimkit::__private::{
    Filter, apply_patch, normalise_document, normalise_patch, parse_patch_path,
};
use scimkit::schema::ResourceKind;
use serde_json::{Map, Value, json};

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "emails",
            "value",
            "type",
            "primary",
            "op",
            "path",
            "Operations",
            "schemas",
            "members",
            "name",
            "givenName",
            "active",
            "id",
            "meta",
            "displayName",
            "externalId",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "manager",
            "name.familyName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z.:$_-]{0,10}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "True",
            "False",
            "work",
            "a@acme.com",
            "add",
            "remove",
            "Replace"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn patch_path() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "emails[type eq \"work\"].value",
            "emails[value eq \"a@acme.com\" and primary eq true]",
            "members[value eq \"scim_user_x\"]",
            "name.givenName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "emails[type eq \"work\"",
            "emails[not(type pr)].display",
            "addresses[type eq \"work\"].streetAddress",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z.:\\[\\]\" =()]{0,30}",
        "\\PC{0,40}",
    ]
}

fn operation() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "add", "replace", "remove", "Add", "REMOVE", "delete", "",
        ]),
        prop::option::of(patch_path()),
        prop::option::of(json_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut operation = json!({"op": op});
            if let Some(path) = path {
                operation["path"] = json!(path);
            }
            if let Some(value) = value {
                operation["value"] = value;
            }
            operation
        })
}

fn kind() -> impl Strategy<Value = ResourceKind> {
    prop_oneof![Just(ResourceKind::User), Just(ResourceKind::Group)]
}

proptest! {
    #![proptest_config(Config::with_cases(512))]

    #[test]
    fn the_filter_parser_never_panics(input in prop_oneof![
        "\\PC{0,200}",
        "[a-zA-Z\\[\\]()\" .:]{0,200}",
        prop::collection::vec(prop::sample::select(vec![
            "userName", " eq ", " ne ", " co ", " sw ", " pr", " gt ", " and ", " or ", "not (",
            "(", ")", "[", "]", "\"x\"", "true", "null", "1e999", "-0", ".", "emails", "\\\"",
        ]), 0..40).prop_map(|parts| parts.concat()),
    ]) {
        if let Ok(filter) = Filter::parse(&input) {
            // Whatever parses can be evaluated on any document, and prints as text that
            // parses again.
            let _ = filter.matches(&json!({"userName": "a", "emails": [{"value": "x"}]}), ResourceKind::User);
            prop_assert!(Filter::parse(&filter.to_string()).is_ok(), "{}", filter);
        }
    }

    #[test]
    fn patch_paths_never_panic(path in patch_path(), kind in kind()) {
        let _ = parse_patch_path(&path, kind);
    }

    #[test]
    fn the_engine_never_panics_and_keeps_an_object(
        doc in json_value(),
        operations in prop::collection::vec(operation(), 0..8),
        kind in kind(),
        schemas in any::<bool>(),
    ) {
        let mut body = json!({"Operations": operations});
        if schemas {
            body["schemas"] = json!(["urn:ietf:params:scim:api:messages:2.0:PatchOp"]);
        }
        normalise_patch(kind, "scim_user_x", &mut body);
        if let Ok(patched) = apply_patch(&doc, &body, kind) {
            prop_assert!(patched.is_object());
        }
    }

    #[test]
    fn the_quirk_normalisers_never_panic(value in json_value(), kind in kind()) {
        let mut body = value.clone();
        normalise_patch(kind, "scim_user_x", &mut body);
        if let Value::Object(mut doc) = value {
            normalise_document(kind, &mut doc);
        }
    }
}

/// One request, in the pieces a hostile client controls.
#[derive(Debug, Clone)]
struct Hostile {
    method: String,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    authenticated: bool,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    let segment = prop_oneof![
        prop::sample::select(vec![
            "Users",
            "Groups",
            ".search",
            "Schemas",
            "ResourceTypes",
            "ServiceProviderConfig",
            "..",
            "%00",
            "%2e%2e",
            "scim_user_0000000000000000000000",
            "USERS",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9_%.-]{0,20}",
    ];
    let query = (
        prop::sample::select(vec![
            "filter",
            "attributes",
            "excludedAttributes",
            "sortBy",
            "sortOrder",
            "count",
            "startIndex",
            "cursor",
            "FILTER",
        ]),
        prop_oneof![
            "\\PC{0,40}",
            "[0-9-]{0,25}",
            Just("userName eq \"a@acme.com\"".to_owned()),
            Just("emails[type eq \"work\"]".to_owned()),
        ],
    )
        .prop_map(|(k, v)| (k.to_owned(), v));
    let header = (
        prop::sample::select(vec![
            "content-type",
            "if-match",
            "if-none-match",
            "accept",
            "x-anything",
        ]),
        prop_oneof![
            Just("application/scim+json".to_owned()),
            Just("text/plain".to_owned()),
            Just("W/\"1\"".to_owned()),
            Just("*".to_owned()),
            "[ -~]{0,30}",
        ],
    )
        .prop_map(|(k, v)| (k.to_owned(), v));
    let body = prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..64),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(operation(), 0..5).prop_map(|ops| {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
                .to_string()
                .into_bytes()
        }),
    ];
    (
        prop::sample::select(vec![
            "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
        ]),
        prop::collection::vec(segment, 0..4),
        prop::collection::vec(query, 0..3),
        prop::collection::vec(header, 0..3),
        body,
        prop::bool::weighted(0.9),
    )
        .prop_map(
            |(method, segments, query, headers, body, authenticated)| Hostile {
                method: method.to_owned(),
                segments,
                query,
                headers,
                body,
                authenticated,
            },
        )
}

#[test]
fn the_service_answers_any_request_without_a_server_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fx = runtime.block_on(async {
        let fx = Fixture::new(&["acme.com"]).await;
        fx.create_user("ann@acme.com").await;
        fx
    });
    let mut runner = TestRunner::new(Config::with_cases(768));
    let result = runner.run(&hostile(), |input| {
        let mut uri = fx.base.clone();
        for segment in &input.segments {
            uri.push('/');
            uri.push_str(segment);
        }
        if !input.query.is_empty() {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&input.query)
                .finish();
            uri.push('?');
            uri.push_str(&query);
        }
        let mut builder = http::Request::builder()
            .method(input.method.as_str())
            .uri(&uri);
        if input.authenticated {
            builder = builder.header("authorization", format!("Bearer {}", fx.token));
        }
        for (name, value) in &input.headers {
            builder = builder.header(name, value);
        }
        let Ok(request) = builder.body(Bytes::from(input.body.clone())) else {
            return Ok(());
        };
        let response = runtime.block_on(fx.scim.handle(request));
        prop_assert!(
            !response.status().is_server_error(),
            "{} {uri}: {}",
            input.method,
            String::from_utf8_lossy(response.body())
        );
        if response.status().is_client_error() {
            let error: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
            prop_assert_eq!(
                &error["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error",
                "{}",
                error
            );
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
