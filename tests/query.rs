//! RFC 7644 §3.4.2 (filter, sort, paging) and §3.4.3 (.search), RFC 9865 cursors, through
//! the service.

mod common;

use common::Fixture;
use http::StatusCode;
use serde_json::{Value, json};

fn ids(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn people(fx: &Fixture) -> Vec<String> {
    let mut out = Vec::new();
    for (user_name, family, title, department) in [
        ("ann@acme.com", "Lee", Some("Engineer"), "R&D"),
        ("bob@acme.com", "Adams", None, "Sales"),
        ("cat@acme.com", "Zhou", Some("Manager"), "Sales"),
    ] {
        let mut user = json!({
            "userName": user_name,
            "externalId": format!("ext-{user_name}"),
            "name": {"familyName": family},
            "emails": [{"value": user_name.replace("@", ".work@"), "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": department}
        });
        if let Some(title) = title {
            user["title"] = json!(title);
        }
        let reply = fx.request("POST", "/Users", Some(user)).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        out.push(reply.id());
    }
    out
}

fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

#[tokio::test]
async fn entra_looks_users_up_by_user_name_filter() {
    let fx = Fixture::new(&[]).await;
    let ids_ = people(&fx).await;
    // Entra's first request for every user (its SCIM tutorial, "Get User by query").
    let reply = fx
        .request(
            "GET",
            &format!("/Users?filter={}", encoded(r#"userName eq "Bob@Acme.com""#)),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["totalResults"], 1);
    assert_eq!(ids(&reply.body), vec![ids_[1].clone()]);
    let none = fx
        .request(
            "GET",
            &format!(
                "/Users?filter={}",
                encoded(r#"userName eq "nobody@acme.com""#)
            ),
            None,
        )
        .await;
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));
}

#[tokio::test]
async fn filters_select_by_any_attribute() {
    let fx = Fixture::new(&[]).await;
    let id = people(&fx).await;
    let by_id = format!(r#"id eq "{}""#, id[1]);
    let cases: Vec<(&str, Vec<&String>)> = vec![
        (r#"externalId eq "ext-cat@acme.com""#, vec![&id[2]]),
        (
            r#"emails[type eq "work" and value eq "ann.work@acme.com"]"#,
            vec![&id[0]],
        ),
        (r#"emails.value eq "BOB.work@acme.com""#, vec![&id[1]]),
        ("title pr", vec![&id[0], &id[2]]),
        (
            r#"name.familyName sw "z" or title eq "engineer""#,
            vec![&id[0], &id[2]],
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales" and not (title pr)"#,
            vec![&id[1]],
        ),
        (&by_id, vec![&id[1]]),
        (
            r#"meta.created ge "2026-01-01T00:00:00Z""#,
            vec![&id[0], &id[1], &id[2]],
        ),
        (r#"nonexistent eq "x""#, vec![]),
    ];
    for (filter, expected) in cases {
        let reply = fx
            .request("GET", &format!("/Users?filter={}", encoded(filter)), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{filter}: {}", reply.body);
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(&reply.body), expected, "{filter}");
    }
}

#[tokio::test]
async fn invalid_filters_are_400_invalid_filter_with_a_pointer() {
    let fx = Fixture::new(&[]).await;
    let reply = fx
        .request(
            "GET",
            &format!("/Users?filter={}", encoded("userName equals \"x\"")),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.scim_type(), Some("invalidFilter"));
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("position 9"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn groups_filter_by_display_name() {
    let fx = Fixture::new(&[]).await;
    let ann = fx.create_user("ann@acme.com").await;
    let sales = fx
        .request(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": ann}]})),
        )
        .await
        .id();
    fx.request("POST", "/Groups", Some(json!({"displayName": "Support"})))
        .await;
    let reply = fx
        .request(
            "GET",
            &format!(
                "/Groups?filter={}&excludedAttributes=members",
                encoded(r#"displayName eq "sales""#)
            ),
            None,
        )
        .await;
    assert_eq!(ids(&reply.body), vec![sales.clone()]);
    assert!(reply.body["Resources"][0].get("members").is_none());
    let by_member = fx
        .request(
            "GET",
            &format!(
                "/Groups?filter={}",
                encoded(&format!(r#"members[value eq "{ann}"]"#))
            ),
            None,
        )
        .await;
    assert_eq!(ids(&by_member.body), vec![sales]);
}

#[tokio::test]
async fn sort_by_orders_results_with_missing_values_last() {
    let fx = Fixture::new(&[]).await;
    let id = people(&fx).await;
    let reply = fx
        .request("GET", "/Users?sortBy=name.familyName", None)
        .await;
    assert_eq!(
        ids(&reply.body),
        vec![id[1].clone(), id[0].clone(), id[2].clone()]
    );
    let reply = fx
        .request("GET", "/Users?sortBy=title&sortOrder=descending", None)
        .await;
    assert_eq!(
        ids(&reply.body),
        vec![id[2].clone(), id[0].clone(), id[1].clone()]
    );
    let reply = fx
        .request("GET", "/Users?sortBy=title&sortOrder=sideways", None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cursor_paging_walks_every_result_once() {
    let fx = Fixture::new(&[]).await;
    let mut all = Vec::new();
    for i in 0..7 {
        all.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    for sort in ["", "&sortBy=userName&sortOrder=descending"] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        let mut pages = 0;
        loop {
            let reply = fx
                .request(
                    "GET",
                    &format!("/Users?count=3&cursor={cursor}{sort}"),
                    None,
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["totalResults"], 7);
            assert!(reply.body.get("startIndex").is_none());
            seen.extend(ids(&reply.body));
            pages += 1;
            match reply.body["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let mut sorted = seen.clone();
        sorted.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(sorted, expected, "every user exactly once ({sort})");
    }
}

#[tokio::test]
async fn cursor_paging_survives_changes_between_pages() {
    let fx = Fixture::new(&[]).await;
    let mut all = Vec::new();
    for i in 0..6 {
        all.push(fx.create_user(&format!("u{i}@acme.com")).await);
    }
    let first = fx.request("GET", "/Users?count=3&cursor=", None).await;
    let next = first.body["nextCursor"].as_str().unwrap().to_owned();
    // Delete one already seen and add a new one before fetching the next page.
    fx.request("DELETE", &format!("/Users/{}", all[0]), None)
        .await;
    let late = fx.create_user("late@acme.com").await;
    let second = fx
        .request("GET", &format!("/Users?count=10&cursor={next}"), None)
        .await;
    let rest = ids(&second.body);
    assert_eq!(
        rest,
        vec![all[3].clone(), all[4].clone(), all[5].clone(), late]
    );
}

#[tokio::test]
async fn bad_cursors_are_400_invalid_cursor() {
    let fx = Fixture::new(&[]).await;
    for i in 0..3 {
        fx.create_user(&format!("u{i}@acme.com")).await;
    }
    let first = fx.request("GET", "/Users?count=1&cursor=", None).await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let mut tampered = cursor.clone();
    tampered.replace_range(0..2, if cursor.starts_with("00") { "01" } else { "00" });
    for bad in [tampered.as_str(), "garbage", "abc"] {
        let reply = fx
            .request("GET", &format!("/Users?count=1&cursor={bad}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.scim_type(), Some("invalidCursor"));
    }
    // A cursor is bound to its query: another filter or resource type refuses it.
    let other = fx
        .request(
            "GET",
            &format!("/Users?count=1&cursor={cursor}&filter=title%20pr"),
            None,
        )
        .await;
    assert_eq!(other.scim_type(), Some("invalidCursor"));
    let groups = fx
        .request("GET", &format!("/Groups?count=1&cursor={cursor}"), None)
        .await;
    assert_eq!(groups.scim_type(), Some("invalidCursor"));
    let both = fx
        .request("GET", &format!("/Users?cursor={cursor}&startIndex=2"), None)
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_posts_a_search_request() {
    let fx = Fixture::new(&[]).await;
    let id = people(&fx).await;
    let reply = fx
        .request(
            "POST",
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "title pr",
                "sortBy": "userName",
                "sortOrder": "descending",
                "startIndex": 1,
                "count": 10
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(ids(&reply.body), vec![id[2].clone(), id[0].clone()]);
    let bad = fx
        .request("POST", "/Users/.search", Some(json!({"filter": 5})))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let groups = fx
        .request(
            "POST",
            "/Groups/.search",
            Some(json!({"filter": "displayName pr"})),
        )
        .await;
    assert_eq!(groups.status, StatusCode::OK);
    assert_eq!(groups.body["totalResults"], 0);
}

#[tokio::test]
async fn sorting_on_an_attribute_of_mixed_types_answers_instead_of_panicking() {
    // Unknown attributes are kept as sent, so an IdP can store any JSON under one name.
    let fx = Fixture::new(&[]).await;
    let mut created = Vec::new();
    for (i, level) in [
        json!(5),
        json!("x"),
        json!(3),
        json!(true),
        json!("2020-01-01T00:00:00Z"),
        json!(null),
        json!("a"),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = fx
            .request(
                "POST",
                "/Users",
                Some(json!({"userName": format!("u{i}@acme.com"), "level": level})),
            )
            .await;
        created.push(reply.id());
    }
    for order in ["ascending", "descending"] {
        let reply = fx
            .request(
                "GET",
                &format!("/Users?sortBy=level&sortOrder={order}"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["totalResults"], 7);
        let sorted = ids(&reply.body);
        assert_eq!(
            sorted.last(),
            Some(&created[5]),
            "a missing value sorts last ({order})"
        );
    }
}

#[tokio::test]
async fn an_indexed_equality_alone_answers_as_the_full_evaluation_does() {
    let fx = Fixture::new(&[]).await;
    let ids_of_people = people(&fx).await;
    let deactivated = fx
        .request(
            "PATCH",
            &format!("/Users/{}", ids_of_people[1]),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]}),
            ),
        )
        .await;
    assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.body);
    for (filter, expected) in [
        // userName compares case-insensitively, externalId exactly.
        (
            r#"userName eq "ANN@acme.com""#,
            vec![ids_of_people[0].clone()],
        ),
        (
            r#"externalId eq "ext-cat@acme.com""#,
            vec![ids_of_people[2].clone()],
        ),
        (r#"externalId eq "EXT-cat@acme.com""#, vec![]),
        // A deactivated user is still listed.
        (
            r#"userName eq "bob@acme.com""#,
            vec![ids_of_people[1].clone()],
        ),
        (r#"userName eq "nobody@acme.com""#, vec![]),
        // With another condition the evaluator still decides.
        (r#"userName eq "bob@acme.com" and active eq true"#, vec![]),
    ] {
        let path = format!("/Users?filter={}", encoded(filter));
        let reply = fx.request("GET", &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{filter}: {}", reply.body);
        assert_eq!(ids(&reply.body), expected, "{filter}");
        assert_eq!(reply.body["totalResults"], expected.len(), "{filter}");
    }
}
