//! The IdP quirk normalisers on any JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::__private::{normalise_document, normalise_patch};
use scimkit::schema::ResourceKind;

fuzz_target!(|input: &str| {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(input) else {
        return;
    };
    let mut body = value.clone();
    normalise_patch(ResourceKind::User, "scim_user_fuzz", &mut body);
    if let serde_json::Value::Object(doc) = value {
        normalise_document(ResourceKind::User, &mut doc.clone());
        normalise_document(ResourceKind::Group, &mut doc.clone());
    }
});
