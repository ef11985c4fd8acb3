//! PATCH paths on any text, for both resource types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::protocol::patch::PatchPath;
use scimkit::schema::ResourceKind;

fuzz_target!(|input: &str| {
    let _ = PatchPath::parse(input, ResourceKind::User);
    let _ = PatchPath::parse(input, ResourceKind::Group);
});
