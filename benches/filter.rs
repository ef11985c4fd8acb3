//! Filter parsing and evaluation against a realistic user.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use scimkit::__private::Filter;
use scimkit::schema::ResourceKind;
use serde_json::json;

fn filters(c: &mut Criterion) {
    let user = json!({
        "userName": "bjensen@example.com", "title": "Tour Guide", "userType": "Employee",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"},
        "meta": {"lastModified": "2011-05-13T04:42:34Z"}
    });
    let entra = r#"userName eq "bjensen@example.com""#;
    let complex = r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or name.familyName sw "J") and meta.lastModified gt "2010-01-01T00:00:00Z""#;
    c.bench_function("parse: userName eq", |b| {
        b.iter(|| Filter::parse(black_box(entra)))
    });
    c.bench_function("parse: complex", |b| {
        b.iter(|| Filter::parse(black_box(complex)))
    });
    let simple = Filter::parse(entra).expect("valid");
    let nested = Filter::parse(complex).expect("valid");
    c.bench_function("evaluate: userName eq", |b| {
        b.iter(|| simple.matches(black_box(&user), ResourceKind::User))
    });
    c.bench_function("evaluate: complex", |b| {
        b.iter(|| nested.matches(black_box(&user), ResourceKind::User))
    });
    // What a list request pays per filter: parse once, then evaluate.
    c.bench_function("parse+evaluate: userName eq", |b| {
        b.iter(|| {
            Filter::parse(black_box(entra))
                .is_ok_and(|f| f.matches(black_box(&user), ResourceKind::User))
        })
    });
    c.bench_function("parse+evaluate: complex", |b| {
        b.iter(|| {
            Filter::parse(black_box(complex))
                .is_ok_and(|f| f.matches(black_box(&user), ResourceKind::User))
        })
    });
}

criterion_group!(benches, filters);
criterion_main!(benches);
