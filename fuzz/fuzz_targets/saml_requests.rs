#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sso_bridge::fuzzing::saml_requests(data));
