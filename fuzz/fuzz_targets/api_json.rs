#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sso_bridge::fuzzing::api_json(data));
