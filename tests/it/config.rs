//! Start-up validation: every error names the key it is about.

use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::x509::{X509, X509NameBuilder};
use sso_bridge::config::Settings;

use crate::support::*;

fn setup() -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new("config");
    let sp = TestSp::new();
    let path = write_config(dir.path(), &sp.metadata(), "", Backend::Memory, "p");
    (dir, path)
}

fn load_err(path: &Path) -> String {
    Settings::load(path, &|_| None)
        .expect_err("config must be refused")
        .to_string()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_valid_config_loads_with_env_overrides() {
    let (_dir, path) = setup();
    let s = Settings::load(&path, &|k| {
        (k == "SSO_BRIDGE_PUBLIC_URL").then(|| "https://sso.example.cn/".to_owned())
    })
    .unwrap();
    assert_eq!(s.public_url, "https://sso.example.cn");
    assert_eq!(s.sso_url(), "https://sso.example.cn/saml/sso");
    assert_eq!(s.sites[0].sp.entity_id, SP_ENTITY);
    // The test config uses the memory store outside dev mode, which is worth a warning.
    assert!(
        s.warnings.iter().all(|w| w.starts_with("store.backend:")),
        "{:?}",
        s.warnings
    );
    assert_eq!(s.warnings.len(), 1);
}

#[test]
fn missing_and_unreadable_files_name_the_key() {
    let (dir, path) = setup();
    std::fs::remove_file(dir.path().join("idp.key")).unwrap();
    assert!(load_err(&path).starts_with("idp.key_file:"));
    let (dir, path) = setup();
    std::fs::remove_file(dir.path().join("sp.xml")).unwrap();
    assert!(load_err(&path).starts_with("sites[0].sp_metadata_file:"));
    let (_dir, path) = setup();
    edit(&path, "key_prefix", "key_prefx");
    assert!(load_err(&path).starts_with("config:"));
}

#[test]
fn key_and_certificate_must_match_be_valid_and_strong() {
    let (dir, path) = setup();
    let (_, other) = sso_bridge::keys::generate(2048, 10, "other").unwrap();
    std::fs::write(dir.path().join("idp.crt"), other.to_pem().unwrap()).unwrap();
    let e = load_err(&path);
    assert!(
        e.starts_with("idp.cert_file:") && e.contains("does not match"),
        "{e}"
    );

    let (dir, path) = setup();
    let key = sso_bridge::keys::load_key(&dir.path().join("idp.key")).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "old").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(1_500_000_000).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(1_600_000_000).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    std::fs::write(dir.path().join("idp.crt"), b.build().to_pem().unwrap()).unwrap();
    let e = load_err(&path);
    assert!(
        e.starts_with("idp.cert_file:") && e.contains("not valid now"),
        "{e}"
    );

    let (dir, path) = setup();
    let (k, c) = sso_bridge::keys::generate(1024, 10, "weak").unwrap();
    std::fs::remove_file(dir.path().join("idp.key")).unwrap();
    std::fs::remove_file(dir.path().join("idp.crt")).unwrap();
    sso_bridge::keys::write_new(
        &dir.path().join("idp.key"),
        &dir.path().join("idp.crt"),
        &k,
        &c,
    )
    .unwrap();
    let e = load_err(&path);
    assert!(e.starts_with("idp.key_file:") && e.contains("2048"), "{e}");
}

#[test]
fn sp_metadata_needs_signing_key_and_https_acs() {
    let (dir, path) = setup();
    let sp = TestSp::new();
    std::fs::write(
        dir.path().join("sp.xml"),
        sp.metadata()
            .replace("use=\"signing\"", "use=\"encryption\""),
    )
    .unwrap();
    let e = load_err(&path);
    assert!(
        e.starts_with("sites[0].sp_metadata_file:") && e.contains("signing"),
        "{e}"
    );
    std::fs::write(
        dir.path().join("sp.xml"),
        sp.metadata().replace(ACS, "http://sp.test/acs"),
    )
    .unwrap();
    let e = load_err(&path);
    assert!(
        e.starts_with("sites[0].sp_metadata_file:") && e.contains("https"),
        "{e}"
    );
    let no_acs: String = sp
        .metadata()
        .lines()
        .filter(|l| !l.contains("AssertionConsumerService"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("sp.xml"), no_acs).unwrap();
    let e = load_err(&path);
    assert!(e.contains("AssertionConsumerService"), "{e}");
}

#[test]
fn http_public_url_needs_dev_mode() {
    let (_dir, path) = setup();
    edit(&path, "https://idp.test", "http://idp.test");
    let e = load_err(&path);
    assert!(
        e.starts_with("public_url:") && e.contains("dev_mode"),
        "{e}"
    );
    edit(&path, "listen =", "dev_mode = true\nlisten =");
    assert!(Settings::load(&path, &|_| None).is_ok());
}

#[test]
fn group_readable_key_is_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, path) = setup();
    std::fs::set_permissions(
        dir.path().join("idp.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let s = Settings::load(&path, &|_| None).unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("idp.key_file:") && w.contains("chmod 600")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn bad_values_name_their_keys() {
    for (from, to, key) in [
        (
            "x_account_type = \"partnerX\"",
            "x_account_type = \"\"",
            "sites[0].x_account_type",
        ),
        (
            "default_service = \"https://console.sp.test/\"",
            "default_service = \"https://evil.test/\"",
            "sites[0].default_service",
        ),
        (
            "login_url = \"https://partner.test/login\"",
            "login_url = \"ftp://partner.test\"",
            "partner.login_url",
        ),
        (
            "backend = \"memory\"",
            "backend = \"etcd\"",
            "store.backend",
        ),
        ("listen = \"127.0.0.1:0\"", "listen = \"nowhere\"", "listen"),
    ] {
        let (_dir, path) = setup();
        edit(&path, from, to);
        let e = load_err(&path);
        assert!(e.starts_with(&format!("{key}:")), "{key}: {e}");
    }
    let (_dir, path) = setup();
    let text = std::fs::read_to_string(&path).unwrap();
    let hash_start = text.find("api_key_sha256 = [\"").unwrap() + 19;
    std::fs::write(
        &path,
        format!("{}zz{}", &text[..hash_start], &text[hash_start + 2..]),
    )
    .unwrap();
    assert!(load_err(&path).starts_with("partner.api_key_sha256[0]:"));
}

#[test]
fn the_example_config_is_valid() {
    // Lay out the example as a deployment would: deploy/config.toml, deploy/keys/, metadata/.
    let root = TempDir::new("example");
    let deploy = root.path().join("deploy");
    std::fs::create_dir_all(deploy.join("keys")).unwrap();
    std::fs::create_dir_all(root.path().join("metadata")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        repo.join("metadata/huawei-cn-sp-metadata.xml"),
        root.path().join("metadata/huawei-cn-sp-metadata.xml"),
    )
    .unwrap();
    std::fs::copy(
        repo.join("deploy/config.example.toml"),
        deploy.join("config.toml"),
    )
    .unwrap();
    let (k, c) = sso_bridge::keys::generate(2048, 365, "example").unwrap();
    sso_bridge::keys::write_new(
        &deploy.join("keys/idp.key"),
        &deploy.join("keys/idp.crt"),
        &k,
        &c,
    )
    .unwrap();
    let s = Settings::load(&deploy.join("config.toml"), &|_| None).unwrap();
    assert_eq!(s.sites[0].sp.entity_id, "https://auth.huaweicloud.com/");
    assert_eq!(s.sso_url(), "https://sso.partner.example.cn/saml/sso");
}

/// The fixed key release 0.1's demo used and published; the code keeps only its digest.
const PUBLISHED_0_1_DEMO_KEY: &str = "demo-partner-api-key-change-me";

#[test]
fn the_published_0_1_demo_key_is_refused_in_any_configuration() {
    // In a config file, as a hash.
    let (_dir, path) = setup();
    let text = std::fs::read_to_string(&path).unwrap();
    let ours = sso_bridge::random::hex(&openssl::sha::sha256(API_KEY.as_bytes()));
    let demo = sso_bridge::random::hex(&openssl::sha::sha256(PUBLISHED_0_1_DEMO_KEY.as_bytes()));
    std::fs::write(
        &path,
        text.replace(
            &format!("[\"{ours}\"]"),
            &format!("[\"{ours}\", \"{demo}\"]"),
        ),
    )
    .unwrap();
    let e = load_err(&path);
    assert!(e.starts_with("partner.api_key_sha256[1]:"), "{e}");
    assert!(e.contains("demo key"), "{e}");
    // As the embedded default's key.
    let listen = "127.0.0.1:0".parse().unwrap();
    let e = Settings::embedded(listen, PUBLISHED_0_1_DEMO_KEY)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("SSO_BRIDGE_DEV_API_KEY:"), "{e}");
    assert!(Settings::embedded(listen, "a-key-of-our-own-000").is_ok());
}

/// Even a bridge whose key list somehow holds the 0.1 demo key's hash (settings built in code)
/// refuses that key, while the other key on the same list works.
#[tokio::test]
async fn the_api_refuses_the_published_0_1_demo_key_whatever_the_key_list_says() {
    let listen = "127.0.0.1:0".parse().unwrap();
    let mut settings = Settings::embedded(listen, "a-key-of-our-own-000").unwrap();
    settings
        .api_key_hashes
        .push(openssl::sha::sha256(PUBLISHED_0_1_DEMO_KEY.as_bytes()));
    let clock = std::sync::Arc::new(sso_bridge::clock::FixedClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let store = make_store(&settings, Backend::Memory, clock.clone());
    let bridge = std::sync::Arc::new(
        sso_bridge::flow::Bridge::new(std::sync::Arc::new(settings), store, clock).unwrap(),
    );
    let router = sso_bridge::web::router(bridge);
    for (key, expected) in [(PUBLISHED_0_1_DEMO_KEY, 401), ("a-key-of-our-own-000", 200)] {
        let req = axum::http::Request::get("/api/v1/events")
            .header("authorization", format!("Bearer {key}"))
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(call(&router, req).await.status.as_u16(), expected, "{key}");
    }
}
