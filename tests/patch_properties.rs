//! PATCH through the service, with random operations: never a server error, and a GET
//! afterwards returns exactly what the PATCH answered.

mod common;

use common::Fixture;
use proptest::prelude::*;
use serde_json::{Value, json};

fn path() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("title".to_owned()),
        Just("nickName".to_owned()),
        Just("name.givenName".to_owned()),
        Just("emails".to_owned()),
        Just("emails[type eq \"work\"].value".to_owned()),
        Just("emails[type eq \"home\"]".to_owned()),
        Just("active".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".to_owned()),
        Just("userName".to_owned()),
        Just("id".to_owned()),
        "[a-zA-Z.\\[\\]\" ]{0,10}",
    ])
}

fn value() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        "[a-z]{1,6}@acme\\.com".prop_map(Value::String),
        "[a-zA-Z]{0,6}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        Just(json!("False")),
        Just(json!([{"value": "w@acme.com", "type": "work", "primary": true}])),
        Just(json!({"givenName": "Zed"})),
        Just(json!({"title": "CTO", "name.familyName": "Q"})),
        Just(json!(null)),
        Just(json!(7)),
    ])
}

fn operation() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("add"),
            Just("replace"),
            Just("remove"),
            Just("Replace")
        ],
        path(),
        value(),
    )
        .prop_map(|(op, path, value)| {
            let mut o = serde_json::Map::new();
            o.insert("op".into(), json!(op));
            if let Some(p) = path {
                o.insert("path".into(), json!(p));
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn patch_never_fails_the_server_and_get_matches_the_answer(ops in prop::collection::vec(operation(), 1..5)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let fx = Fixture::new(&["acme.com"]).await;
            let id = fx.create_user("ann@acme.com").await;
            let before = fx.request("GET", &format!("/Users/{id}"), None).await.body;
            let reply = fx
                .request("PATCH", &format!("/Users/{id}"), Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": ops,
                })))
                .await;
            assert!(!reply.status.is_server_error(), "{}: {}", reply.status, reply.body);
            let after = fx.request("GET", &format!("/Users/{id}"), None).await;
            if reply.status.is_success() {
                assert_eq!(after.body, reply.body, "GET returns what PATCH answered");
            } else {
                assert_eq!(reply.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
                assert_eq!(after.body, before, "a refused PATCH changes nothing");
            }
        });
    }
}
