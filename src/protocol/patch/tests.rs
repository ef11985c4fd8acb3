//! RFC 7644 §3.5.2 by example, and the PATCH payloads real IdPs send.

use serde_json::{Value, json};

use super::*;
use crate::protocol::quirks::{PatchTarget, normalise_patch};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch(doc: Value, body: Value) -> Result<Value, PatchError> {
    let mut body = body;
    normalise_patch(
        PatchTarget {
            kind: ResourceKind::User,
            id: "scim_user_1",
        },
        &mut body,
    );
    let ops = parse_request(&body, ResourceKind::User)?;
    apply_operations(&doc, &ops, ResourceKind::User)
}

fn ops(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
}

fn user() -> Value {
    json!({
        "userName": "ann@acme.com",
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [
            {"value": "ann@acme.com", "type": "work", "primary": true},
            {"value": "ann@home.org", "type": "home"}
        ]
    })
}

#[test]
fn add_sets_appends_and_merges() {
    // RFC 7644 §3.5.2.1.
    let out = patch(
        user(),
        ops(json!([
            {"op": "add", "path": "emails", "value": [{"value": "ann@other.org", "type": "other"}]},
            {"op": "add", "path": "nickName", "value": "Annie"},
            {"op": "add", "path": "name", "value": {"middleName": "Q"}},
            {"op": "add", "value": {"title": "CTO", "name.honorificPrefix": "Dr."}}
        ])),
    )
    .unwrap();
    assert_eq!(out["emails"].as_array().unwrap().len(), 3);
    assert_eq!(out["nickName"], "Annie");
    assert_eq!(
        out["name"],
        json!({"givenName": "Ann", "familyName": "Lee", "middleName": "Q", "honorificPrefix": "Dr."})
    );
    assert_eq!(out["title"], "CTO");
}

#[test]
fn adding_an_existing_element_changes_nothing() {
    let out = patch(
        user(),
        ops(json!([
            {"op": "add", "path": "emails", "value": [{"value": "ann@home.org", "type": "home"}]}
        ])),
    )
    .unwrap();
    assert_eq!(out["emails"], user()["emails"]);
}

#[test]
fn replace_with_value_filter_changes_only_matching_elements() {
    // RFC 7644 §3.5.2.3.
    let out = patch(
        user(),
        ops(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@acme.io"},
            {"op": "replace", "path": "name.familyName", "value": "Li"}
        ])),
    )
    .unwrap();
    assert_eq!(out["emails"][0]["value"], "ann@acme.io");
    assert_eq!(out["emails"][1]["value"], "ann@home.org");
    assert_eq!(out["name"]["familyName"], "Li");
}

#[test]
fn replace_of_a_complex_attribute_keeps_unnamed_sub_attributes() {
    let out = patch(
        user(),
        ops(json!([{"op": "replace", "path": "name", "value": {"givenName": "Anne"}}])),
    )
    .unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Anne", "familyName": "Lee"})
    );
}

#[test]
fn remove_by_path_filter_and_sub_attribute() {
    // RFC 7644 §3.5.2.2.
    let out = patch(
        user(),
        ops(json!([
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "remove", "path": "name.givenName"}
        ])),
    )
    .unwrap();
    assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    assert_eq!(out["name"], json!({"familyName": "Lee"}));
    let out = patch(user(), ops(json!([{"op": "remove", "path": "emails"}]))).unwrap();
    assert!(out.get("emails").is_none());
}

#[test]
fn setting_primary_clears_it_elsewhere() {
    let out = patch(
        user(),
        ops(json!([
            {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}
        ])),
    )
    .unwrap();
    assert_eq!(out["emails"][0]["primary"], false);
    assert_eq!(out["emails"][1]["primary"], true);
}

#[test]
fn operations_are_all_or_nothing() {
    let result = patch(
        user(),
        ops(json!([
            {"op": "replace", "path": "title", "value": "CTO"},
            {"op": "replace", "path": "id", "value": "x"}
        ])),
    );
    assert!(matches!(result, Err(PatchError::Mutability(_))));
}

#[test]
fn errors_carry_the_rfc_scim_types() {
    let cases = [
        (json!({"Operations": []}), ScimType::InvalidSyntax),
        (
            json!({"schemas": ["urn:x"], "Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            ScimType::InvalidSyntax,
        ),
        (
            ops(json!([{"op": "move", "path": "title"}])),
            ScimType::InvalidSyntax,
        ),
        (
            ops(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
            ScimType::InvalidPath,
        ),
        (ops(json!([{"op": "remove"}])), ScimType::NoTarget),
        (
            ops(json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "x"}])),
            ScimType::NoTarget,
        ),
        (
            ops(json!([{"op": "add", "path": "title"}])),
            ScimType::InvalidValue,
        ),
        (
            ops(json!([{"op": "replace", "path": "meta.created", "value": "x"}])),
            ScimType::Mutability,
        ),
        (
            ops(json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])),
            ScimType::Mutability,
        ),
        (json!("nope"), ScimType::InvalidSyntax),
    ];
    for (body, scim_type) in cases {
        let error: crate::ScimError = patch(user(), body.clone()).unwrap_err().into();
        assert_eq!(error.scim_type, Some(scim_type), "{body}: {}", error.detail);
    }
}

#[test]
fn entra_replaces_with_capitalised_ops_and_string_booleans() {
    // Microsoft Entra ID, "Tutorial: Develop and plan provisioning for a SCIM endpoint",
    // update-user request (string "False" is normalised after the engine, see quirks).
    let out = patch(user(), json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}
        ]
    })).unwrap();
    let Value::Object(mut doc) = out else {
        panic!()
    };
    crate::protocol::quirks::normalise_document(ResourceKind::User, &mut doc);
    assert_eq!(doc["active"], false);
    assert_eq!(doc[ENTERPRISE]["department"], "Sales");
}

#[test]
fn entra_creates_a_filtered_element_that_does_not_exist_yet() {
    // Entra ID sends `emails[type eq "work"].value` / `addresses[type eq "work"].x` to
    // users who have no such element and expects it to be created.
    let doc = json!({"userName": "bob@acme.com"});
    let out = patch(doc, ops(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "bob@acme.com"},
        {"op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
        {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}
    ]))).unwrap();
    assert_eq!(
        out["emails"],
        json!([{"type": "work", "value": "bob@acme.com"}])
    );
    assert_eq!(
        out["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main St"}])
    );
    assert_eq!(
        out["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555"}])
    );
}

#[test]
fn path_less_replace_takes_dotted_and_urn_keys() {
    // Entra ID and Okta both send path-less replaces keyed like this.
    let out = patch(
        user(),
        ops(json!([{"op": "replace", "value": {
            "name.givenName": "Anne",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"costCenter": "CC1"},
            "emails[type eq \"work\"].value": "anne@acme.com"
        }}])),
    )
    .unwrap();
    assert_eq!(out["name"]["givenName"], "Anne");
    assert_eq!(
        out[ENTERPRISE],
        json!({"employeeNumber": "42", "costCenter": "CC1"})
    );
    assert_eq!(out["emails"][0]["value"], "anne@acme.com");
}

#[test]
fn okta_deactivates_with_a_path_less_active_false() {
    // Okta, "SCIM 2.0 protocol reference", deactivate user.
    let out = patch(
        user(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        }),
    )
    .unwrap();
    assert_eq!(out["active"], false);
}

#[test]
fn entra_removes_listed_elements_with_a_value_list() {
    let out = patch(
        user(),
        ops(json!([
            {"op": "remove", "path": "emails", "value": [{"value": "ann@home.org"}]}
        ])),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([{"value": "ann@acme.com", "type": "work", "primary": true}])
    );
}

#[test]
fn extension_objects_are_added_merged_and_removed_whole() {
    let out = patch(user(), ops(json!([
        {"op": "add", "path": ENTERPRISE, "value": {"department": "R&D", "manager": {"value": "m1"}}},
        {"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": "m2"}
    ]))).unwrap();
    assert_eq!(
        out[ENTERPRISE],
        json!({"department": "R&D", "manager": {"value": "m2"}})
    );
    let out = patch(out, ops(json!([{"op": "remove", "path": ENTERPRISE}]))).unwrap();
    assert!(out.get(ENTERPRISE).is_none());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i16>().prop_map(|n| json!(n)),
            "[a-z\"]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::hash_map("[a-zA-Z]{1,6}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("emails".to_owned()),
            Just("emails[type eq \"work\"].value".to_owned()),
            Just("emails[value co \"a\"]".to_owned()),
            Just("name.givenName".to_owned()),
            Just("title".to_owned()),
            Just(ENTERPRISE.to_owned()),
            Just(format!("{ENTERPRISE}:manager")),
            Just("members[value eq \"x\"]".to_owned()),
            "[a-zA-Z\\[\\]\\. \"=]{0,12}",
        ]
    }

    fn operation() -> impl Strategy<Value = Value> {
        (
            prop_oneof![
                Just("add"),
                Just("replace"),
                Just("remove"),
                Just("Replace"),
                Just("bogus")
            ],
            prop::option::of(path()),
            prop::option::of(json_value()),
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
        #[test]
        fn random_operations_never_panic(doc in json_value(), operations in prop::collection::vec(operation(), 1..5)) {
            let _ = patch(doc, ops(Value::Array(operations)));
        }

        #[test]
        fn a_failed_request_reports_an_error_and_a_successful_one_is_deterministic(operations in prop::collection::vec(operation(), 1..4)) {
            let first = patch(user(), ops(Value::Array(operations.clone())));
            let second = patch(user(), ops(Value::Array(operations)));
            prop_assert_eq!(first, second);
        }
    }
}
