//! Where one SSO response's CPU goes, component by component, on one core:
//! `cargo bench --bench breakdown` (bench/run.sh runs it). Writes target/bench/breakdown.json.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use saml::{authn_request, redirect, response, signer, sp_metadata};

const N: usize = 3000;

/// Mean microseconds per call of `f` over `N` calls.
fn time(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..N {
        f();
    }
    t.elapsed().as_secs_f64() / N as f64 * 1e6
}

fn main() {
    let (sp_key, sp_cert) = sso_bridge::keys::generate(4096, 1, "sp").unwrap();
    let md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.bench/"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.bench/acs" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#,
        STANDARD.encode(sp_cert.to_der().unwrap())
    );
    let sp = sp_metadata::ServiceProvider::from_metadata(md.as_bytes(), true).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let xml = huawei_sim::messages::authn_request(
        "_abcdefabcdefabcdefabcdefabcdefabcdef",
        "https://sp.bench/",
        "https://sp.bench/acs",
        "http://x/saml/sso",
        now,
    );
    let q = redirect::encode_signed_query(redirect::MessageKind::Request, &xml, Some("r"), |d| {
        let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &sp_key)?;
        s.update(d)?;
        s.sign_to_vec()
    })
    .unwrap();
    let fresh = authn_request::Freshness {
        max_age: time::Duration::hours(1),
        skew: time::Duration::minutes(2),
    };
    let (key, cert) = sso_bridge::keys::generate(2048, 1, "idp").unwrap();
    let signer = signer::XmlSigner::new(key, &cert).unwrap();
    let attrs = response::HuaweiAttributes {
        x_user_id: "bench-user".into(),
        bp_id: "bp".into(),
        ..Default::default()
    };
    let params = response::ResponseParams {
        idp_entity_id: "http://x/saml/metadata",
        sp_entity_id: "https://sp.bench/",
        acs_url: "https://sp.bench/acs",
        in_response_to: "_abc",
        now,
        authn_instant: now,
        not_before_skew: time::Duration::minutes(2),
        lifetime: time::Duration::minutes(5),
        response_id: "_r",
        assertion_id: "_a",
        name_id: "_n",
        session_index: "_s",
        attributes: &attrs,
        sign_response: false,
    };
    let built = response::build(&signer, &params).unwrap();

    let rows = [
        (
            "raw RSA-2048 signature (OpenSSL, key parsed once)",
            time(|| drop(signer.sign_bytes(b"x").unwrap())),
        ),
        (
            "request: split query + base64 + raw inflate + strict XML parse",
            time(|| {
                let s = redirect::split_query(&q, redirect::MessageKind::Request).unwrap();
                authn_request::parse(&s.inflate().unwrap()).unwrap();
            }),
        ),
        (
            "request: RSA-4096 signature verification over the query",
            time(|| {
                redirect::split_query(&q, redirect::MessageKind::Request)
                    .unwrap()
                    .verify(&sp.signing_keys)
                    .unwrap();
            }),
        ),
        (
            "request: every step-3 check (verify_redirect)",
            time(|| {
                drop(
                    authn_request::verify_redirect(
                        &q,
                        std::slice::from_ref(&sp),
                        "http://x/saml/sso",
                        now,
                        fresh,
                    )
                    .unwrap(),
                )
            }),
        ),
        (
            "response: write canonical XML + digest + RSA-2048 signature",
            time(|| drop(response::build(&signer, &params).unwrap())),
        ),
        (
            "response: base64 + auto-POST page",
            time(|| {
                let saml_response = STANDARD.encode(&built);
                drop(sso_bridge::web::pages::auto_post(
                    sso_bridge::web::pages::Lang::En,
                    &sso_bridge::flow::AutoPost {
                        acs_url: "https://sp.bench/acs".into(),
                        saml_response,
                        relay_state: Some("r".into()),
                    },
                ));
            }),
        ),
        (
            "three random XML ids",
            time(|| {
                for _ in 0..3 {
                    drop(sso_bridge::random::xml_id().unwrap());
                }
            }),
        ),
    ];
    let mut results = serde_json::Map::new();
    for (name, us) in rows {
        println!("{us:8.1} us  {name}");
        results.insert(name.to_owned(), serde_json::json!(us));
    }
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("breakdown.json"),
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .unwrap();
}
