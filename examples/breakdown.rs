use std::time::Instant;
use sso_bridge::saml::*;
fn main() {
    let (sp_key, sp_cert) = sso_bridge::keys::generate(4096, 1, "sp").unwrap();
    let md = format!(r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.bench/"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.bench/acs" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#, base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sp_cert.to_der().unwrap()));
    let sp = sp_metadata::ServiceProvider::from_metadata(md.as_bytes(), true).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let xml = sso_bridge::simulator::messages::authn_request("_abcdefabcdefabcdefabcdefabcdefabcdef", "https://sp.bench/", "https://sp.bench/acs", "http://x/saml/sso", now);
    let q = redirect::encode_signed_query(redirect::MessageKind::Request, &xml, Some("r"), |d| { let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &sp_key)?; s.update(d)?; s.sign_to_vec() }).unwrap();
    let n = 3000;
    let fr = authn_request::Freshness { max_age: time::Duration::hours(1), skew: time::Duration::minutes(2) };
    let t = Instant::now();
    for _ in 0..n { let s = redirect::split_query(&q, redirect::MessageKind::Request).unwrap(); let x = s.inflate().unwrap(); let _r = authn_request::parse(&x).unwrap(); }
    println!("split+inflate+parse: {:.1} us", t.elapsed().as_secs_f64()/n as f64*1e6);
    let t = Instant::now();
    for _ in 0..n { let s = redirect::split_query(&q, redirect::MessageKind::Request).unwrap(); s.verify(&sp.signing_keys).unwrap(); }
    println!("split+verify4096: {:.1} us", t.elapsed().as_secs_f64()/n as f64*1e6);
    let t = Instant::now();
    for _ in 0..n { authn_request::verify_redirect(&q, |_| Some(&sp), "http://x/saml/sso", now, fr).unwrap(); }
    println!("verify_redirect total: {:.1} us", t.elapsed().as_secs_f64()/n as f64*1e6);
    let (key, cert) = sso_bridge::keys::generate(2048, 1, "idp").unwrap();
    let signer = signer::XmlSigner::new(key, &cert).unwrap();
    let t = Instant::now();
    for _ in 0..n { signer.sign_bytes(b"hello").unwrap(); }
    println!("raw sign2048: {:.1} us", t.elapsed().as_secs_f64()/n as f64*1e6);
    let attrs = response::HuaweiAttributes { x_user_id: "bench-user".into(), bp_id: "bp".into(), ..Default::default() };
    let p = response::ResponseParams { idp_entity_id: "http://x/saml/metadata", sp_entity_id: "https://sp.bench/", acs_url: "https://sp.bench/acs", in_response_to: "_abc", now, authn_instant: now, not_before_skew: time::Duration::minutes(2), lifetime: time::Duration::minutes(5), response_id: "_r", assertion_id: "_a", name_id: "_n", session_index: "_s", attributes: &attrs, sign_response: false };
    let t = Instant::now();
    let mut x = String::new();
    for _ in 0..n { x = response::build(&signer, &p).unwrap(); }
    println!("response build+sign: {:.1} us", t.elapsed().as_secs_f64()/n as f64*1e6);
    let t = Instant::now();
    for _ in 0..n { let b = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &x); let _ = sso_bridge::web::pages::auto_post(sso_bridge::web::pages::Lang::En, &sso_bridge::flow::AutoPost { acs_url: "https://sp.bench/acs".into(), saml_response: b, relay_state: Some("r".into()) }); }
    println!("b64+page: {:.1} us", t.elapsed().as_secs_f64()/n as f64*1e6);
    let t = Instant::now();
    for _ in 0..n { let _ = sso_bridge::random::xml_id().unwrap(); }
    println!("xml_id: {:.1} us", t.elapsed().as_secs_f64()/n as f64*1e6);
}
