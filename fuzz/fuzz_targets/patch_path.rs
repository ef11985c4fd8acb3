//! PATCH paths on any text, for both resource types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::__private::parse_patch_path;
use scimkit::schema::ResourceKind;

fuzz_target!(|input: &str| {
    let _ = parse_patch_path(input, ResourceKind::User);
    let _ = parse_patch_path(input, ResourceKind::Group);
});
