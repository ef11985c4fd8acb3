//! The filter parser on any text; what parses is evaluated on a document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::__private::Filter;
use scimkit::schema::ResourceKind;

fuzz_target!(|input: &str| {
    if let Ok(filter) = Filter::parse(input) {
        let doc = serde_json::json!({"userName": "a@acme.com", "emails": [{"value": "a@acme.com", "type": "work"}]});
        let _ = filter.matches(&doc, ResourceKind::User);
        // What parses prints as a filter that parses again.
        assert!(Filter::parse(&filter.to_string()).is_ok(), "{filter}");
    }
});
