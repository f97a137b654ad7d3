//! Byte-exact golden files of what the bridge signs and publishes: the signed Response of one
//! fixed login and the IdP metadata. Time, XML ids and the signing key are fixed (RSA PKCS#1
//! v1.5 signatures are deterministic), so any change to a byte of our output — an attribute
//! order, an escaping, a namespace declaration — shows up here as a diff to review, not in
//! Huawei's logs.
//!
//! After an intended change, regenerate with `SSO_BRIDGE_UPDATE_GOLDEN=1 cargo nextest run
//! golden` and review the diff of `tests/golden/`. The key in `tests/fixtures/golden/` is public
//! and exists only for these files.

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sso_bridge::ids::SequentialIds;
use time::macros::datetime;

use crate::both_backends;
use crate::support::{Backend, EnvOptions, TestEnv};
use crate::xmlsec::{ASSERTION_ID, ASSERTION_SIG, xmlsec_verify};

const KEY: &str = include_str!("../fixtures/golden/idp.key.pem");
const CERT: &str = include_str!("../fixtures/golden/idp.crt.pem");

/// A bridge with the golden key, a fixed clock and counting ids.
async fn golden_env(backend: Backend) -> TestEnv {
    let mut o = EnvOptions::new(backend);
    // Within the golden certificate's validity (2026-12-03 to 2126).
    o.now = datetime!(2027-01-04 08:00:00 UTC);
    o.ids = Some(Arc::new(SequentialIds::default()));
    o.pre_load = Some(Box::new(|dir: &std::path::Path| {
        std::fs::write(dir.join("idp.key"), KEY).unwrap();
        std::fs::write(dir.join("idp.crt"), CERT).unwrap();
    }));
    TestEnv::with(o).await
}

/// Compares `actual` with `tests/golden/<name>`, or rewrites the file when
/// `SSO_BRIDGE_UPDATE_GOLDEN` is set.
fn assert_golden(name: &str, actual: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("SSO_BRIDGE_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != actual {
        let at = expected
            .iter()
            .zip(actual)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        let around = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(60)..(at + 60).min(b.len())]).into_owned()
        };
        panic!(
            "{} differs from our output at byte {at}:\n expected …{}…\n actual   …{}…\n\
             If the change is intended, regenerate with SSO_BRIDGE_UPDATE_GOLDEN=1 and review the diff.",
            path.display(),
            around(&expected),
            around(actual)
        );
    }
}

async fn signed_response_is_byte_exact(backend: Backend) {
    let env = golden_env(backend).await;
    let cookie = env
        .login(json!({
            "x_user_id": "golden-user-1001",
            "display_name": "张三 Zhang San",
            "name": "zhangsan_2026",
            "email": "zhang.san@example.com",
            "mobile": "0086-13800000001",
        }))
        .await;
    let mut request = env.authn();
    request.id = "_golden0000000000000000000000000000000001".into();
    let res = env
        .get(
            &format!("/saml/sso?{}", env.signed(&request, Some("golden-relay"))),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let xml = STANDARD.decode(res.saml_response_b64()).unwrap();
    assert_golden("response.xml", &xml);
    // The pinned bytes are a valid signature in the eyes of software we did not write.
    let xml = String::from_utf8(xml).unwrap();
    let cert = env.dir.path().join("idp.crt");
    assert!(xmlsec_verify(
        env.dir.path(),
        &xml,
        &cert,
        ASSERTION_ID,
        ASSERTION_SIG
    ));
}
both_backends!(signed_response_is_byte_exact);

#[tokio::test]
async fn idp_metadata_is_byte_exact() {
    let env = golden_env(Backend::Memory).await;
    let res = env.get("/saml/metadata", None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_golden("idp-metadata.xml", res.body.as_bytes());
}
