//! RFC 7644 §3.4.2.2, example by example, plus the grammar's corners and limits.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::protocol::path::AttrPath;

fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "loginCount": 42,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"},
        "meta": {"resourceType": "User", "lastModified": "2011-05-13T04:42:34Z"}
    })
}

fn matches(filter: &str, resource: &Value) -> bool {
    parse_filter(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(resource, &DefaultCaseRules)
}

#[test]
fn the_rfc_examples_parse_and_match_as_the_rfc_describes() {
    let user = bjensen();
    let cases = [
        (r#"userName Eq "bjensen@example.com""#, true),
        (r#"name.familyName co "O'Malley""#, true),
        (r#"userName sw "J""#, false),
        (r#"userName sw "B""#, true),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#,
            true,
        ),
        ("title pr", true),
        ("nickName pr", false),
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:35Z""#, true),
        (r#"meta.lastModified le "2011-05-13T06:42:34+02:00""#, true),
        (r#"title pr and userType eq "Employee""#, true),
        (r#"title pr or userType eq "Intern""#, true),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            true,
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            true,
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            false,
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            true,
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "home" and value co "@example.com"]"#,
            false,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#,
            true,
        ),
        ("loginCount gt 41", true),
        ("loginCount le 41.5", false),
        ("active eq true", true),
        ("active ne true", false),
        ("nickName eq null", true),
        (r#"nickName ne "x""#, true),
        (r#"unknownAttribute eq "x""#, false),
    ];
    for (filter, expected) in cases {
        assert_eq!(matches(filter, &user), expected, "{filter}");
    }
}

#[test]
fn case_exact_attributes_compare_exactly() {
    let user = bjensen();
    assert!(!matches(r#"externalId eq "BJENSEN""#, &user));
    assert!(matches(r#"externalId eq "bjensen""#, &user));
    assert!(matches(r#"USERNAME eq "BJENSEN@EXAMPLE.COM""#, &user));
}

#[test]
fn errors_say_what_is_wrong_and_where() {
    let cases = [
        ("userName", 8, "expected an operator"),
        (r#"userName equals "x""#, 9, "`equals` is not an operator"),
        ("userName eq", 11, "expected a value"),
        (r#"userName eq "x" and"#, 19, "expected an attribute name"),
        (r#"(userName eq "x""#, 16, "expected `)`"),
        (r#"userName eq "x"#, 12, "never closed"),
        (r#"emails[type eq "work"]] "#, 22, "expected `and`, `or`"),
        (r#"emails[type eq "a" and x[y eq "b"]]"#, 24, "cannot nest"),
        ("active gt true", 10, "compares strings, numbers and dates"),
        ("userName co 5", 12, "needs a string"),
        (r#"userName eq "x" # "#, 16, "unexpected character `#`"),
        ("", 0, "empty"),
        (r#"userName eq "a\qb""#, 12, "unknown escape"),
        ("userName eq \"a\tb\"", 12, "raw control character"),
        ("userName eq 1.2.3", 12, "`1.2.3` is not a number"),
        ("not userName pr", 4, "expected `(` after `not`"),
    ];
    for (filter, position, message) in cases {
        let error = parse_filter(filter).unwrap_err();
        assert_eq!(error.position, position, "{filter}: {error}");
        assert!(error.message.contains(message), "{filter}: {error}");
        let scim: crate::ScimError = error.into();
        assert_eq!(scim.scim_type, Some(crate::ScimType::InvalidFilter));
    }
}

#[test]
fn nesting_and_length_are_bounded() {
    let deep = format!("{}userName pr{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(parse_filter(&deep).is_err());
    let nested = format!(
        "{}userName pr{}",
        "not (".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(
        parse_filter(&nested)
            .unwrap_err()
            .message
            .contains("deeper")
    );
    let shallow = format!(
        "{}userName pr{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert!(parse_filter(&shallow).is_ok());
    let long_chain = vec!["userName pr"; 500].join(" and ");
    assert!(long_chain.len() < MAX_FILTER_LEN);
    assert!(
        parse_filter(&long_chain)
            .unwrap()
            .matches(&bjensen(), &DefaultCaseRules)
    );
}

#[test]
fn only_a_lone_indexed_equality_is_the_whole_filter() {
    let whole = |f: &str, r| {
        let filter = parse_filter(f).unwrap();
        indexed_equality(&filter, r).is_some_and(|pushed| is_whole_filter(&filter, &pushed))
    };
    let (user, group) = (IndexedResource::User, IndexedResource::Group);
    assert!(whole(r#"userName eq "Ann""#, user));
    assert!(whole(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Ann""#,
        user
    ));
    assert!(whole(r#"externalId eq "e1""#, user));
    assert!(whole(r#"id eq "scim_user_x""#, user));
    assert!(whole(r#"displayName eq "Sales""#, group));
    // Another condition, or an index that normalises differently, still needs the
    // evaluator.
    assert!(!whole(r#"userName eq "Ann" and active eq true"#, user));
    assert!(!whole(r#"emails.value eq "a@x.com""#, user));
    assert!(!whole(r#"emails[value eq "a@x.com"]"#, user));
    assert!(!whole(r#"userName co "Ann""#, user));
}

#[test]
fn pushdown_finds_indexed_equality_only_where_it_is_sound() {
    let user = IndexedResource::User;
    let find = |f: &str, r| indexed_equality(&parse_filter(f).unwrap(), r);
    assert_eq!(
        find(r#"userName eq "Ann""#, user),
        Some(IndexedEq {
            attribute: IndexedAttribute::UserName,
            value: "Ann".into()
        })
    );
    assert_eq!(
        find(
            r#"title pr and (active eq true and externalId eq "e1")"#,
            user
        )
        .map(|e| e.attribute),
        Some(IndexedAttribute::ExternalId)
    );
    assert_eq!(
        find(r#"emails[type eq "work" and value eq "a@x.com"]"#, user).map(|e| e.attribute),
        Some(IndexedAttribute::EmailValue)
    );
    assert_eq!(
        find(r#"emails.value eq "a@x.com""#, user).map(|e| e.attribute),
        Some(IndexedAttribute::EmailValue)
    );
    assert_eq!(
        find(r#"displayName eq "Sales""#, IndexedResource::Group).map(|e| e.attribute),
        Some(IndexedAttribute::DisplayName)
    );
    for unsound in [
        r#"userName eq "a" or title pr"#,
        r#"not (userName eq "a")"#,
        r#"userName ne "a""#,
        r#"userName co "a""#,
        r#"displayName eq "Sales""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "a""#,
    ] {
        assert_eq!(find(unsound, user), None, "{unsound}");
    }
}

#[test]
fn sorting_is_stable_typed_and_puts_missing_values_last() {
    let mut resources = vec![
        json!({"id": "1", "userName": "bob", "n": 10}),
        json!({"id": "2"}),
        json!({"id": "3", "userName": "Ann", "n": 9}),
        json!({"id": "4", "userName": "ann", "n": 100}),
    ];
    let ids = |r: &[Value]| {
        r.iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    sort_resources(
        &mut resources,
        &AttrPath::new("userName"),
        SortOrder::Ascending,
        &DefaultCaseRules,
    );
    assert_eq!(ids(&resources), ["3", "4", "1", "2"]);
    sort_resources(
        &mut resources,
        &AttrPath::new("userName"),
        SortOrder::Descending,
        &DefaultCaseRules,
    );
    assert_eq!(ids(&resources), ["1", "3", "4", "2"]);
    sort_resources(
        &mut resources,
        &AttrPath::new("n"),
        SortOrder::Ascending,
        &DefaultCaseRules,
    );
    assert_eq!(ids(&resources), ["3", "1", "4", "2"]);
    let mut by_email = vec![
        json!({"id": "a", "emails": [{"value": "z@x.com"}, {"value": "b@x.com", "primary": true}]}),
        json!({"id": "b", "emails": [{"value": "c@x.com"}]}),
    ];
    sort_resources(
        &mut by_email,
        &AttrPath::new("emails"),
        SortOrder::Ascending,
        &DefaultCaseRules,
    );
    assert_eq!(ids(&by_email), ["a", "b"], "the primary email is the key");
    assert!(SortOrder::parse("DESCENDING").is_ok());
    assert!(SortOrder::parse("down").is_err());
}

fn path_strategy() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::of(Just(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned(),
        )),
        "[a-zA-Z][a-zA-Z0-9_]{0,6}",
        prop::option::of("[a-zA-Z][a-zA-Z0-9]{0,5}"),
    )
        .prop_map(|(urn, attribute, sub_attribute)| AttrPath {
            urn,
            attribute,
            sub_attribute,
        })
        .prop_filter("keywords are not attribute names", |p| {
            !["and", "or", "not", "pr", "true", "false", "null"]
                .iter()
                .any(|k| {
                    p.attribute.eq_ignore_ascii_case(k)
                        && p.urn.is_none()
                        && p.sub_attribute.is_none()
                })
        })
}

fn value_strategy() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        ".{0,8}".prop_map(CompValue::String),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        (-1_000_000i32..1_000_000).prop_map(|n| {
            CompValue::Number(
                serde_json::Number::from_f64(f64::from(n) / 64.0).unwrap_or_else(|| 0.into()),
            )
        }),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn operator_strategy() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

/// Keeps to comparisons the grammar allows.
fn allowed(op: CompareOp, value: CompValue) -> CompValue {
    match (op, value) {
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, v)
            if !matches!(v, CompValue::String(_)) =>
        {
            CompValue::String("x".into())
        }
        (op, CompValue::Bool(_) | CompValue::Null) if op.is_ordering() => {
            CompValue::Number(1.into())
        }
        (_, v) => v,
    }
}

fn compare_strategy(paths: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    (paths, operator_strategy(), value_strategy()).prop_map(|(path, op, value)| Filter::Compare {
        path,
        op,
        value: allowed(op, value),
    })
}

fn boolean_tree(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// A filter inside `attr[...]`: paths relative to the element, no nested value paths.
fn element_filter_strategy() -> impl Strategy<Value = Filter> {
    let relative = path_strategy()
        .prop_map(|path| AttrPath::new(path.attribute))
        .boxed();
    boolean_tree(
        prop_oneof![
            compare_strategy(relative.clone()),
            relative.prop_map(Filter::Present)
        ]
        .boxed(),
    )
}

fn value_path_strategy() -> impl Strategy<Value = Filter> {
    (path_strategy(), element_filter_strategy()).prop_map(|(mut path, filter)| {
        path.sub_attribute = None;
        Filter::ValuePath {
            path,
            filter: Box::new(filter),
        }
    })
}

fn filter_strategy() -> impl Strategy<Value = Filter> {
    boolean_tree(
        prop_oneof![
            compare_strategy(path_strategy().boxed()),
            path_strategy().prop_map(Filter::Present),
            value_path_strategy(),
        ]
        .boxed(),
    )
}

/// Small flat resources whose names and values the small filters below can hit.
fn small_resource_strategy() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        "[a-cA-C]{0,2}".prop_map(Value::String),
        (0i64..4).prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    prop::collection::btree_map("[a-c]", value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn small_filter_strategy() -> impl Strategy<Value = Filter> {
    let path = "[a-cA-C]".prop_map(AttrPath::new);
    let value = prop_oneof![
        "[a-cA-C]{0,2}".prop_map(CompValue::String),
        (0i64..4).prop_map(|n| CompValue::Number(n.into())),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ];
    let compare =
        (path.clone(), operator_strategy(), value).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value: allowed(op, value),
        });
    boolean_tree(prop_oneof![compare, path.prop_map(Filter::Present)].boxed())
}

/// The evaluator's semantics for flat resources, written the plain way.
fn reference(filter: &Filter, resource: &Value) -> bool {
    let lookup = |path: &AttrPath| {
        resource.as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.to_lowercase() == path.attribute.to_lowercase())
                .map(|(_, v)| v)
        })
    };
    let present = |path: &AttrPath| match lookup(path) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    };
    match filter {
        Filter::Present(path) => present(path),
        Filter::Compare { path, op, value } => {
            let holds = |op: CompareOp| -> bool {
                match (lookup(path), value) {
                    (Some(Value::String(a)), CompValue::String(b)) => {
                        let (a, b) = (a.to_lowercase(), b.to_lowercase());
                        match op {
                            CompareOp::Eq => a == b,
                            CompareOp::Co => a.contains(&b),
                            CompareOp::Sw => a.starts_with(&b),
                            CompareOp::Ew => a.ends_with(&b),
                            CompareOp::Gt => a > b,
                            CompareOp::Ge => a >= b,
                            CompareOp::Lt => a < b,
                            CompareOp::Le => a <= b,
                            CompareOp::Ne => a != b,
                        }
                    }
                    (Some(Value::Number(a)), CompValue::Number(b)) => {
                        let (a, b) = (a.as_i64().unwrap(), b.as_i64().unwrap());
                        match op {
                            CompareOp::Eq => a == b,
                            CompareOp::Gt => a > b,
                            CompareOp::Ge => a >= b,
                            CompareOp::Lt => a < b,
                            CompareOp::Le => a <= b,
                            _ => false,
                        }
                    }
                    (Some(Value::Bool(a)), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
                    _ => false,
                }
            };
            match (op, value) {
                (CompareOp::Eq, CompValue::Null) => !present(path),
                (CompareOp::Ne, CompValue::Null) => present(path),
                (CompareOp::Ne, _) => !holds(CompareOp::Eq),
                (op, _) => holds(*op),
            }
        }
        Filter::And(a, b) => reference(a, resource) && reference(b, resource),
        Filter::Or(a, b) => reference(a, resource) || reference(b, resource),
        Filter::Not(a) => !reference(a, resource),
        Filter::ValuePath { .. } => unreachable!("small filters have no value paths"),
    }
}

fn sort_value_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-bA-B]{0,2}".prop_map(Value::String),
        prop_oneof![
            Just("2011-05-13T04:42:34Z"),
            Just("2011-05-13T06:42:34+02:00"),
            Just("2011-05-13T05:00:00Z"),
            Just("2011-05-13T05"),
        ]
        .prop_map(Value::from),
        (-2i64..3).prop_map(Value::from),
        prop_oneof![Just(-1.5), Just(0.5), Just(2.0)].prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        Just(json!([{"value": "b"}, {"value": "a", "primary": true}])),
    ]
    .prop_map(|v| json!({ "k": v }))
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_filter(filter in filter_strategy()) {
        let printed = filter.to_string();
        let parsed = parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(parsed, filter, "{}", printed);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,64}") {
        let _ = parse_filter(&text);
    }

    #[test]
    fn parsing_filter_like_text_never_panics(text in r#"[a-z\.\[\]\(\)" :0-9]{0,64}"#) {
        if let Ok(filter) = parse_filter(&text) {
            let _ = filter.matches(&bjensen(), &DefaultCaseRules);
        }
    }

    #[test]
    fn evaluation_agrees_with_a_reference(
        filter in small_filter_strategy(),
        resource in small_resource_strategy(),
    ) {
        prop_assert_eq!(
            filter.matches(&resource, &DefaultCaseRules),
            reference(&filter, &resource),
            "{} on {}", filter, resource
        );
    }

    #[test]
    fn sorting_order_is_total(
        a in sort_value_strategy(),
        b in sort_value_strategy(),
        c in sort_value_strategy(),
        descending in any::<bool>(),
    ) {
        use std::cmp::Ordering;
        let order = if descending { SortOrder::Descending } else { SortOrder::Ascending };
        let by = AttrPath::new("k");
        let cmp = |x: &Value, y: &Value| compare_resources(x, y, &by, order, &DefaultCaseRules);
        prop_assert_eq!(cmp(&a, &b), cmp(&b, &a).reverse(), "antisymmetric: {} {}", a, b);
        if cmp(&a, &b) != Ordering::Greater && cmp(&b, &c) != Ordering::Greater {
            prop_assert_ne!(cmp(&a, &c), Ordering::Greater, "transitive: {} {} {}", a, b, c);
        }
        if cmp(&a, &b) == Ordering::Equal && cmp(&b, &c) == Ordering::Equal {
            prop_assert_eq!(cmp(&a, &c), Ordering::Equal, "transitive ties: {} {} {}", a, b, c);
        }
    }
}

#[test]
fn sorting_mixed_types_is_a_total_order_not_a_panic() {
    // Before types were ranked, `5 == "x" == 3` but `3 < 5`: the standard sort panics on
    // such an order, and sortBy is client input.
    let mut resources: Vec<Value> = (0..40)
        .map(|i| match i % 4 {
            0 => json!({"id": i, "n": i}),
            1 => json!({"id": i, "n": format!("t{i}")}),
            2 => json!({"id": i, "n": "2011-05-13T04:42:34Z"}),
            _ => json!({"id": i, "n": i % 8 == 3}),
        })
        .chain([json!({"id": 99})])
        .collect();
    sort_resources(
        &mut resources,
        &AttrPath::new("n"),
        SortOrder::Ascending,
        &DefaultCaseRules,
    );
    let kinds: Vec<&str> = resources
        .iter()
        .map(|r| match r.get("n") {
            Some(Value::Bool(_)) => "bool",
            Some(Value::Number(_)) => "number",
            Some(Value::String(s)) if s.starts_with('2') => "date",
            Some(Value::String(_)) => "text",
            _ => "missing",
        })
        .collect();
    let mut ranked = kinds.clone();
    ranked.dedup();
    assert_eq!(ranked, ["bool", "number", "date", "text", "missing"]);
    let numbers: Vec<i64> = resources.iter().filter_map(|r| r["n"].as_i64()).collect();
    assert!(numbers.is_sorted(), "{numbers:?}");
}

#[test]
fn sorting_compares_dates_by_instant_and_big_numbers_exactly() {
    let mut resources = vec![
        json!({"id": "late", "t": "2011-05-13T06:42:35+02:00", "n": 9_007_199_254_740_993_u64}),
        json!({"id": "early", "t": "2011-05-13T04:42:34Z", "n": 9_007_199_254_740_992_u64}),
    ];
    let ids = |r: &[Value]| r.iter().map(|v| v["id"].to_string()).collect::<Vec<_>>();
    sort_resources(
        &mut resources,
        &AttrPath::new("t"),
        SortOrder::Ascending,
        &DefaultCaseRules,
    );
    assert_eq!(ids(&resources), [r#""early""#, r#""late""#]);
    sort_resources(
        &mut resources,
        &AttrPath::new("n"),
        SortOrder::Descending,
        &DefaultCaseRules,
    );
    assert_eq!(ids(&resources), [r#""late""#, r#""early""#]);
}

#[test]
fn printing_keeps_parentheses_minimal_so_long_chains_parse_back() {
    let chain = vec!["userName pr"; 500].join(" and ");
    let filter = parse_filter(&chain).unwrap();
    assert_eq!(filter.to_string(), chain);
    assert_eq!(parse_filter(&filter.to_string()).unwrap(), filter);
    let cases = [
        ("a pr or b pr and c pr", "a pr or b pr and c pr"),
        ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
        ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
        ("(a pr and b pr) and c pr", "a pr and b pr and c pr"),
        ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
        ("NOT(a PR)", "not (a pr)"),
        (r#"x eq "q\"\\\u00e9""#, r#"x eq "q\"\\é""#),
    ];
    for (input, printed) in cases {
        let filter = parse_filter(input).unwrap();
        assert_eq!(filter.to_string(), printed, "{input}");
        assert_eq!(parse_filter(printed).unwrap(), filter, "{input}");
    }
}

#[test]
fn null_and_presence_agree() {
    let user = bjensen();
    // A complex attribute is present even though it has no `value` to compare.
    assert!(!matches("name eq null", &user));
    assert!(matches("name ne null", &user));
    assert!(matches(r#"name ne "x""#, &user));
    let blank = json!({"nickName": "", "tags": [], "extra": {}, "nothing": null});
    for attribute in ["nickName", "tags", "extra", "nothing", "absent"] {
        assert!(
            matches(&format!("{attribute} eq null"), &blank),
            "{attribute}"
        );
        assert!(!matches(&format!("{attribute} pr"), &blank), "{attribute}");
        assert!(
            !matches(&format!("{attribute} ne null"), &blank),
            "{attribute}"
        );
    }
}

#[test]
fn numbers_compare_exactly() {
    let big = json!({"n": 9_007_199_254_740_993_u64, "f": 2.5, "neg": -3});
    assert!(!matches("n eq 9007199254740992", &big));
    assert!(matches("n gt 9007199254740992", &big));
    assert!(matches("n eq 9007199254740993", &big));
    assert!(matches("f gt 2", &big));
    assert!(matches("f lt 3", &big));
    assert!(matches("f eq 2.5", &big));
    assert!(matches("f eq 25e-1", &big));
    assert!(matches("neg lt -2.5", &big));
    assert!(matches("neg ge -3.0", &big));
    assert!(!matches(r#"n eq "9007199254740993""#, &big), "no coercion");
}

#[test]
fn every_operator_on_every_type() {
    let r = json!({"s": "Hello", "n": 10, "b": true, "d": "2020-01-01T00:00:00Z"});
    let cases = [
        (r#"s eq "hello""#, true),
        (r#"s ne "hello""#, false),
        (r#"s ne "bye""#, true),
        (r#"s co "ELL""#, true),
        (r#"s co "x""#, false),
        (r#"s sw "he""#, true),
        (r#"s sw "lo""#, false),
        (r#"s ew "LO""#, true),
        (r#"s ew "he""#, false),
        (r#"s gt "hello""#, false),
        (r#"s ge "hello""#, true),
        (r#"s lt "hellp""#, true),
        (r#"s le "HELLO""#, true),
        (r#"s gt "a""#, true),
        ("n eq 10", true),
        ("n ne 10", false),
        ("n gt 9", true),
        ("n ge 10", true),
        ("n lt 10", false),
        ("n le 10", true),
        (r#"n eq "10""#, false),
        ("b eq true", true),
        ("b ne false", true),
        ("b eq false", false),
        (r#"b eq "true""#, false),
        (r#"d eq "2020-01-01T01:00:00+01:00""#, true),
        (r#"d gt "2019-12-31T23:59:59-01:00""#, false),
        (r#"d lt "2019-12-31T23:59:59-01:00""#, true),
    ];
    for (filter, expected) in cases {
        assert_eq!(matches(filter, &r), expected, "{filter}");
    }
}

#[test]
fn multi_valued_and_complex_attributes() {
    let user = bjensen();
    assert!(matches(r#"emails eq "BABS@jensen.org""#, &user));
    assert!(matches(r#"emails.type eq "home""#, &user));
    assert!(!matches(r#"emails.type eq "other""#, &user));
    assert!(matches(r#"emails ne "nobody@x.com""#, &user));
    assert!(!matches(r#"emails ne "babs@jensen.org""#, &user));
    assert!(matches(r#"emails[not (type eq "work")]"#, &user));
    assert!(
        matches(r#"name[familyName sw "o'"]"#, &user),
        "single complex"
    );
    assert!(matches(r#"EMAILS[TYPE EQ "WORK"]"#, &user));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#,
        &user
    ));
    assert!(matches(
        r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:department co "tour""#,
        &user
    ));
    assert!(!matches(
        r#"urn:ietf:params:scim:schemas:extension:other:2.0:User:department pr"#,
        &user
    ));
    let group = json!({"displayName": "Sales", "members": [{"value": "ABC", "$ref": "x"}]});
    // members.value is case-exact, also when compared through `members` itself.
    assert!(matches(r#"members eq "ABC""#, &group));
    assert!(!matches(r#"members eq "abc""#, &group));
    assert!(!matches(r#"members[value eq "abc"]"#, &group));
    assert!(!matches(r#"members.value eq "abc""#, &group));
}

#[test]
fn default_case_rules_follow_rfc_7643() {
    let exact = |p: &str| DefaultCaseRules.case_exact(&AttrPath::parse(p).unwrap());
    for path in [
        "id",
        "externalId",
        "meta.location",
        "meta.version",
        "password",
        "members.value",
        "groups.value",
        "members.$ref",
        "x509Certificates.value",
        "ID",
    ] {
        assert!(exact(path), "{path}");
    }
    for path in [
        "userName",
        "emails.value",
        "displayName",
        "meta.created",
        "name.familyName",
    ] {
        assert!(!exact(path), "{path}");
    }
}

#[test]
fn grammar_corners() {
    let ok = [
        "  userName   pr  ",
        "userName pr and(title pr)",
        r#"userName eq "a"or title pr"#,
        "n eq -1.5e3",
        "n eq 0",
        "b eq TRUE",
        "x eq NULL",
        r#"emails[type eq "work"] and emails[type eq "home"]"#,
        "not (not (userName pr))",
        "$ref pr",
        "a-b_c pr",
    ];
    for filter in ok {
        assert!(parse_filter(filter).is_ok(), "{filter}");
    }
    let refused = [
        "userName pr 1",
        r#"userName pr "x""#,
        "not userName pr",
        "()",
        "userName eq x",
        "x gt null",
        "x le false",
        "emails.value[type pr]",
        "emails[type pr",
        "userName eq 1.2.3",
        r#"userName eq "tab	inside""#,
        r#"userName eq "\q""#,
        "1abc pr",
        "urn:x: pr",
    ];
    for filter in refused {
        assert!(parse_filter(filter).is_err(), "{filter}");
    }
    assert_eq!(
        parse_filter(r#"userName eq "a" OR title pr AND nickName pr"#).unwrap(),
        parse_filter(r#"userName eq "a" or (title pr and nickName pr)"#).unwrap(),
        "and binds tighter than or"
    );
}

#[test]
fn limit_errors_come_back_fast() {
    let started = std::time::Instant::now();
    let too_long = format!("{}userName pr", "(".repeat(100_000));
    let error = parse_filter(&too_long).unwrap_err();
    assert!(error.message.contains("longer than"), "{error}");
    let too_deep = format!("{}userName pr", "(".repeat(MAX_FILTER_LEN - 20));
    let error = parse_filter(&too_deep).unwrap_err();
    assert!(error.message.contains("deeper"), "{error}");
    assert_eq!(error.position, MAX_DEPTH);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn pushdown_respects_urns_and_timestamps() {
    let find = |f: &str| indexed_equality(&parse_filter(f).unwrap(), IndexedResource::User);
    assert_eq!(
        find(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[value eq "a@x.com"]"#),
        Some(IndexedEq {
            attribute: IndexedAttribute::EmailValue,
            value: "a@x.com".into()
        })
    );
    assert_eq!(
        find(r#"emails eq "a@x.com""#).map(|e| e.attribute),
        Some(IndexedAttribute::EmailValue)
    );
    assert_eq!(
        find(r#"title pr and (userType eq "E" and (active eq true and id eq "u1"))"#)
            .map(|e| e.attribute),
        Some(IndexedAttribute::Id)
    );
    // The evaluator would match the same instant written another way.
    assert_eq!(find(r#"userName eq "2011-05-13T04:42:34Z""#), None);
    assert_eq!(
        find(r#"emails[type eq "work" or value eq "a@x.com"]"#),
        None
    );
    assert_eq!(find(r#"ims[value eq "a@x.com"]"#), None);
    assert_eq!(
        indexed_equality(
            &parse_filter(r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "S""#)
                .unwrap(),
            IndexedResource::Group
        )
        .map(|e| e.attribute),
        Some(IndexedAttribute::DisplayName)
    );
}

/// Entra matches users on `emails[type eq "work"].value` (its "Tutorial: Develop and plan
/// provisioning for a SCIM endpoint" requires matching attributes to be filterable), a
/// sub-attribute after a value filter that RFC 7644's ABNF lacks.
#[test]
fn entra_sub_attribute_after_a_value_filter() {
    let user = bjensen();
    assert!(matches(
        r#"emails[type eq "work"].value eq "BJENSEN@example.com""#,
        &user
    ));
    assert!(!matches(
        r#"emails[type eq "home"].value eq "bjensen@example.com""#,
        &user
    ));
    assert!(matches(
        r#"emails[type eq "home"].value co "jensen.org""#,
        &user
    ));
    assert!(matches(r#"emails[type eq "work"].primary eq true"#, &user));
    assert!(matches(
        r#"emails[type eq "home"].value pr and userName sw "bj""#,
        &user
    ));
    assert!(!matches(r#"emails[type eq "other"].value pr"#, &user));
    let filter = parse_filter(r#"emails[type eq "work" or type eq "home"].value eq "x""#).unwrap();
    assert_eq!(
        parse_filter(&filter.to_string()).unwrap(),
        filter,
        "{filter}"
    );
    let pushed = indexed_equality(
        &parse_filter(r#"emails[type eq "work"].value eq "a@x.com""#).unwrap(),
        IndexedResource::User,
    );
    assert_eq!(
        pushed,
        Some(IndexedEq {
            attribute: IndexedAttribute::EmailValue,
            value: "a@x.com".into()
        })
    );
    for bad in [
        r#"emails[type eq "work"].value"#,
        r#"emails[type eq "work"].value.x eq "a""#,
        r#"emails[type eq "work"]. eq "a""#,
        r#"emails[type eq "work"].urn:x:y eq "a""#,
    ] {
        assert!(parse_filter(bad).is_err(), "{bad}");
    }
}
