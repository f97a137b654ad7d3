//! Independent verification of our signatures with `xmlsec1` (Debian package `xmlsec1`).

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::*;

/// Runs `xmlsec1 --verify` on `xml` for the signature of the element `id_attr` names.
pub fn xmlsec_verify(dir: &Path, xml: &str, cert_pem: &Path, id_attr: &str, xpath: &str) -> bool {
    let file = dir.join(format!("resp-{}.xml", sso_bridge::random::token().unwrap()));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(cert_pem)
        .args(["--id-attr:ID", id_attr, "--node-xpath", xpath])
        .arg(&file)
        .output()
        .expect("xmlsec1 must be installed (apt-get install xmlsec1); scripts/test does it");
    out.status.success()
}

pub const ASSERTION_ID: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";
pub const ASSERTION_SIG: &str = "//*[local-name()='Assertion']/*[local-name()='Signature']";
const RESPONSE_ID: &str = "urn:oasis:names:tc:SAML:2.0:protocol:Response";
const RESPONSE_SIG: &str = "/*[local-name()='Response']/*[local-name()='Signature']";

async fn response_for(env: &TestEnv, user: &str) -> String {
    let cookie = env
        .login(json!({"x_user_id": user, "email": "x&y@example.com"}))
        .await;
    let res = env.fresh_sso(Some(&cookie)).await;
    res.saml_post().0
}

#[tokio::test]
async fn assertion_signature_verifies_and_tampering_fails() {
    let env = TestEnv::new(Backend::Memory).await;
    let cert = env.dir.path().join("idp.crt");
    for user in [
        "plain",
        "用户<&>]]><!---->\"'",
        "nbsp\u{a0}inside  two  spaces",
    ] {
        let xml = response_for(&env, user).await;
        assert!(
            xmlsec_verify(env.dir.path(), &xml, &cert, ASSERTION_ID, ASSERTION_SIG),
            "{user:?}"
        );
        let tampered = xml.replacen("x&amp;y@example.com", "x&amp;z@example.com", 1);
        assert_ne!(tampered, xml);
        assert!(!xmlsec_verify(
            env.dir.path(),
            &tampered,
            &cert,
            ASSERTION_ID,
            ASSERTION_SIG
        ));
    }
    // Another certificate does not verify it.
    let other = env.dir.path().join("other.crt");
    std::fs::write(&other, TestSp::new().cert.to_pem().unwrap()).unwrap();
    let xml = response_for(&env, "u").await;
    assert!(!xmlsec_verify(
        env.dir.path(),
        &xml,
        &other,
        ASSERTION_ID,
        ASSERTION_SIG
    ));
}

#[tokio::test]
async fn signed_response_option_verifies_both_signatures() {
    let mut o = EnvOptions::new(Backend::Memory);
    o.extra_idp = "sign_response = true".into();
    let env = TestEnv::with(o).await;
    let cert = env.dir.path().join("idp.crt");
    let xml = response_for(&env, "用户<&>").await;
    assert_eq!(xml.matches("<ds:Signature ").count(), 2);
    assert!(xmlsec_verify(
        env.dir.path(),
        &xml,
        &cert,
        RESPONSE_ID,
        RESPONSE_SIG
    ));
    assert!(xmlsec_verify(
        env.dir.path(),
        &xml,
        &cert,
        ASSERTION_ID,
        ASSERTION_SIG
    ));
    let tampered = xml.replacen(
        "urn:oasis:names:tc:SAML:2.0:status:Success</saml2p:StatusMessage>",
        "urn:oasis:names:tc:SAML:2.0:status:Succesz</saml2p:StatusMessage>",
        1,
    );
    assert!(!xmlsec_verify(
        env.dir.path(),
        &tampered,
        &cert,
        RESPONSE_ID,
        RESPONSE_SIG
    ));
}

#[test]
fn whitespace_and_markup_in_values_survive_canonicalization() {
    use saml::response::{self, HuaweiAttributes, ResponseParams};
    use saml::signer::XmlSigner;
    let dir = TempDir::new("c14n");
    let (key, cert) = sso_bridge::keys::generate(2048, 1, "c14n").unwrap();
    let cert_path = dir.path().join("c.pem");
    std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();
    let signer = XmlSigner::new(key, &cert).unwrap();
    // Values our API never accepts (control characters) still come out canonical: the signer
    // must not depend on input validation for correctness.
    let attributes = HuaweiAttributes {
        x_user_id: "tab\there\r\nCRLF\r<&>\"'".into(),
        bp_id: "bp\u{85}\u{2028}".into(),
        email: String::new(),
        name: "]]><!---->".into(),
        mobile: " ".into(),
    };
    for sign_response in [false, true] {
        let xml = response::build(
            &signer,
            &ResponseParams {
                idp_entity_id: "https://idp.test/?a=1&b=\"2\"",
                sp_entity_id: SP_ENTITY,
                acs_url: ACS,
                in_response_to: "_req",
                now: time::OffsetDateTime::now_utc(),
                authn_instant: time::OffsetDateTime::now_utc(),
                not_before_skew: time::Duration::minutes(2),
                lifetime: time::Duration::minutes(5),
                response_id: "_resp",
                assertion_id: "_assertion",
                name_id: "_name\tid",
                session_index: "_s",
                attributes: &attributes,
                sign_response,
            },
        )
        .unwrap();
        assert!(xmlsec_verify(
            dir.path(),
            &xml,
            &cert_path,
            ASSERTION_ID,
            ASSERTION_SIG
        ));
        if sign_response {
            assert!(xmlsec_verify(
                dir.path(),
                &xml,
                &cert_path,
                RESPONSE_ID,
                RESPONSE_SIG
            ));
        }
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
    /// 0–40 characters from a palette heavy in what XML must escape, plus non-ASCII text.
    fn value(&mut self) -> String {
        const PALETTE: &[&str] = &[
            "a", "Z", "0", " ", "<", ">", "&", "\"", "'", "]]>", "<!---->", "&amp;", "中", "文",
            "é", "\u{301}", "😀", "\u{a0}", "\u{2028}", "=", "/", ";", "#", "%",
        ];
        let len = self.below(41);
        (0..len)
            .map(|_| PALETTE[self.below(PALETTE.len())])
            .collect()
    }
}

#[test]
fn random_values_verify_and_every_single_byte_change_is_rejected() {
    use saml::response::{self, HuaweiAttributes, ResponseParams};
    use saml::signer::XmlSigner;
    let dir = TempDir::new("property");
    let (key, cert) = sso_bridge::keys::generate(2048, 1, "property").unwrap();
    let cert_path = dir.path().join("c.pem");
    std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();
    let signer = XmlSigner::new(key, &cert).unwrap();
    let seed = std::env::var("SSO_BRIDGE_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    let mut rng = Rng(seed);
    for case in 0..24 {
        let attributes = HuaweiAttributes {
            x_user_id: rng.value(),
            bp_id: rng.value(),
            email: rng.value(),
            name: rng.value(),
            mobile: rng.value(),
        };
        let xml = response::build(
            &signer,
            &ResponseParams {
                idp_entity_id: &format!("https://idp.test/{}", rng.value()),
                sp_entity_id: SP_ENTITY,
                acs_url: ACS,
                in_response_to: "_req",
                now: time::OffsetDateTime::now_utc(),
                authn_instant: time::OffsetDateTime::now_utc(),
                not_before_skew: time::Duration::minutes(2),
                lifetime: time::Duration::minutes(5),
                response_id: "_resp",
                assertion_id: "_assertion",
                name_id: &rng.value(),
                session_index: "_s",
                attributes: &attributes,
                sign_response: false,
            },
        )
        .unwrap();
        assert!(
            xmlsec_verify(dir.path(), &xml, &cert_path, ASSERTION_ID, ASSERTION_SIG),
            "seed {seed} case {case}: {attributes:?}"
        );
        // pysaml2 reads the same bytes back exactly (tests/it/pysaml2.rs); here the independent
        // verifier must refuse any one-byte change inside the signed Assertion (KeyInfo is not
        // signed, so it is left out).
        let start = xml.find("<saml2:Assertion ").unwrap();
        let end = xml.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
        let (ki_start, ki_end) = (
            xml.find("<ds:KeyInfo>").unwrap(),
            xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len(),
        );
        let mut bytes = xml.clone().into_bytes();
        let pos = loop {
            let p = start + rng.below(end - start);
            if !(ki_start..ki_end).contains(&p) {
                break p;
            }
        };
        let replacement = loop {
            const BYTES: &[u8] = b"abcXYZ019<>&\"'=/ :;#";
            let b = BYTES[rng.below(BYTES.len())];
            if b != bytes[pos] {
                break b;
            }
        };
        bytes[pos] = replacement;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        assert!(
            !xmlsec_verify(
                dir.path(),
                &mutated,
                &cert_path,
                ASSERTION_ID,
                ASSERTION_SIG
            ),
            "seed {seed} case {case}: byte {pos} ({:?} -> {:?}) still verifies",
            xml.as_bytes()[pos] as char,
            replacement as char
        );
    }
}
