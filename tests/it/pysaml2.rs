//! Cross-check with software we did not write: pysaml2 plays Huawei's SP. It produces the signed
//! HTTP-Redirect AuthnRequest, consumes our SP-side metadata view of itself, and validates our
//! Response with signed assertions required, reading all six attributes back.

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The peer's venv python, created on first use by `scripts/setup-peers.sh`.
fn python() -> PathBuf {
    peer_venv("venv").join("bin/python")
}

struct Peer {
    python: PathBuf,
    common: Vec<String>,
}

impl Peer {
    fn new(dir: &Path, sp: &TestSp, idp_metadata: Option<&Path>) -> Self {
        let key = dir.join("sp.key");
        let cert = dir.join("sp.crt");
        std::fs::write(&key, sp.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        std::fs::write(&cert, sp.cert.to_pem().unwrap()).unwrap();
        let mut common: Vec<String> = ["--entity-id", SP_ENTITY, "--acs", ACS, "--sp-key"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        common.push(key.display().to_string());
        common.push("--sp-cert".into());
        common.push(cert.display().to_string());
        if let Some(md) = idp_metadata {
            common.push("--idp-metadata".into());
            common.push(md.display().to_string());
        }
        Self {
            python: python(),
            common,
        }
    }

    fn run(&self, sub: &str, extra: &[&str]) -> Value {
        let out = Command::new(&self.python)
            .arg(repo().join("tests/peers/pysaml2_sp.py"))
            .arg(sub)
            .args(&self.common)
            .args(extra)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "peer output is not JSON ({e}): {} {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysaml2_sp_accepts_our_response_with_exact_attributes() {
    let scratch = TempDir::new("pysaml2");
    let sp = TestSp::new();
    let metadata = Peer::new(scratch.path(), &sp, None).run("sp-metadata", &[]);
    assert_eq!(metadata["ok"], true, "{metadata}");

    let mut o = EnvOptions::new(Backend::Memory);
    o.sp_metadata = Some(metadata["metadata"].as_str().unwrap().to_owned());
    o.sp_key = Some(sp);
    let env = TestEnv::with(o).await;
    let idp_md = scratch.path().join("idp.xml");
    std::fs::write(&idp_md, &env.bridge.metadata_xml).unwrap();
    let peer = Peer::new(scratch.path(), &env.sp, Some(&idp_md));

    let user = "用户<&>]]><!---->\"' 1";
    let cookie = env
        .login(json!({"x_user_id": user, "email": "a&b'c@example.com", "name": "zhang_san", "mobile": "0086-13812345678"}))
        .await;

    let request = peer.run("authn-request", &["--relay-state", "rs<&>"]);
    assert_eq!(request["ok"], true, "{request}");
    let url = request["url"].as_str().unwrap();
    let query = url
        .strip_prefix(&format!("{SSO_URL}?"))
        .unwrap_or_else(|| panic!("AuthnRequest not sent to our SSO URL: {url}"));
    let res = env.get(&format!("/saml/sso?{query}"), Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        form_value(&res.body, "RelayState").as_deref(),
        Some("rs<&>")
    );
    let b64 = res.saml_response_b64();
    let file = scratch.path().join("response.b64");
    std::fs::write(&file, &b64).unwrap();

    let parsed = peer.run(
        "parse-response",
        &[
            "--request-id",
            request["request_id"].as_str().unwrap(),
            "--saml-response-file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(parsed["ok"], true, "{parsed}");
    let attrs = &parsed["attributes"];
    assert_eq!(attrs["xUserId"], json!([user]));
    assert_eq!(attrs["xAccountId"], json!([user]));
    assert_eq!(attrs["bpId"], json!(["bp-<&>-伙伴"]));
    assert_eq!(attrs["email"], json!(["a&b'c@example.com"]));
    assert_eq!(attrs["name"], json!(["zhang_san"]));
    assert_eq!(attrs["mobile"], json!(["0086-13812345678"]));
    assert_eq!(parsed["issuer"], env.settings.idp.entity_id);
    assert_eq!(
        parsed["name_id_format"],
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    );
    assert_eq!(parsed["in_response_to"], request["request_id"]);

    // pysaml2 really checks: a one-character change inside the signed assertion is refused.
    let xml = String::from_utf8(STANDARD.decode(&b64).unwrap()).unwrap();
    let tampered = xml.replacen("zhang_san", "zhang_sam", 1);
    assert_ne!(tampered, xml);
    std::fs::write(&file, STANDARD.encode(tampered)).unwrap();
    let refused = peer.run(
        "parse-response",
        &[
            "--request-id",
            request["request_id"].as_str().unwrap(),
            "--saml-response-file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(refused["ok"], false, "{refused}");

    // And a response to another request id is refused too (InResponseTo is checked).
    std::fs::write(&file, &b64).unwrap();
    let wrong = peer.run(
        "parse-response",
        &[
            "--request-id",
            "_someone_else",
            "--saml-response-file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(wrong["ok"], false, "{wrong}");
}
