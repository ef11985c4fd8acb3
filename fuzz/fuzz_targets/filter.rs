//! The filter parser on any text; what parses is evaluated on a document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::protocol::filter::parse_filter;
use scimkit::schema::ResourceKind;

fuzz_target!(|input: &str| {
    if let Ok(filter) = parse_filter(input) {
        let doc = serde_json::json!({"userName": "a@acme.com", "emails": [{"value": "a@acme.com", "type": "work"}]});
        let _ = filter.matches(&doc, &ResourceKind::User);
        // What parses prints as a filter that parses again.
        assert!(parse_filter(&filter.to_string()).is_ok(), "{filter}");
    }
});
