//! The PATCH engine: a stored document and a PatchOp body, both any JSON, through the
//! quirk normaliser and the parser as the service runs them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::__private::{apply_patch, normalise_patch};
use scimkit::schema::ResourceKind;

fuzz_target!(|input: (&str, &str, bool)| {
    let (doc, body, group) = input;
    let (Ok(doc), Ok(mut body)) = (
        serde_json::from_str::<serde_json::Value>(doc),
        serde_json::from_str::<serde_json::Value>(body),
    ) else {
        return;
    };
    let kind = if group {
        ResourceKind::Group
    } else {
        ResourceKind::User
    };
    normalise_patch(kind, "scim_user_fuzz", &mut body);
    if let Ok(patched) = apply_patch(&doc, &body, kind) {
        assert!(patched.is_object());
    }
});
