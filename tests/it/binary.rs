//! The real binary: served over a TCP socket, and its CLI commands.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_sso-bridge");

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_metadata_and_tickets_over_tcp() {
    let dir = TempDir::new("bin");
    let config = write_config(
        dir.path(),
        &TestSp::new().metadata(),
        "",
        Backend::Memory,
        "bin",
    );
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("binary exited before listening")
            .unwrap();
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };

    let md = http(
        &addr,
        "GET /saml/metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(md.starts_with("HTTP/1.1 200"), "{md}");
    assert!(md.contains("entityID=\"https://idp.test/saml/metadata\""));

    let body = r#"{"x_user_id":"tcp-user"}"#;
    let res = http(
        &addr,
        &format!(
            "POST /api/v1/login-tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(res.starts_with("HTTP/1.1 201"), "{res}");
    let json: serde_json::Value =
        serde_json::from_str(res.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let path = json["url"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();
    let start = http(
        &addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    // A first login: the customer is asked to confirm who they are (docs/security.md A16), with the
    // session set.
    assert!(start.starts_with("HTTP/1.1 200"), "{start}");
    assert!(start.contains("action=\"/sso/confirm\""), "{start}");
    assert!(
        start.contains("set-cookie: __Host-sso_bridge_session="),
        "{start}"
    );

    // Graceful shutdown on SIGTERM.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn keygen_refuses_to_overwrite_and_check_describes() {
    let dir = TempDir::new("cli");
    let key = dir.path().join("k.pem");
    let cert = dir.path().join("c.pem");
    let out = Command::new(BIN)
        .args(["keygen", "--key"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = Command::new(BIN)
        .args(["keygen", "--key"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    let cert_pem = std::fs::read(&cert).unwrap();
    let parsed = openssl::x509::X509::from_pem(&cert_pem).unwrap();
    assert_eq!(
        parsed.signature_algorithm().object().nid(),
        openssl::nid::Nid::SHA256WITHRSAENCRYPTION
    );
    assert!(
        openssl::asn1::Asn1Time::days_from_now(3649)
            .unwrap()
            .as_ref()
            < parsed.not_after()
    );

    let config = write_config(
        dir.path(),
        &TestSp::new().metadata(),
        "",
        Backend::Memory,
        "cli",
    );
    let check = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        text.contains("SSO URL         https://idp.test/saml/sso"),
        "{text}"
    );
    assert!(text.contains("xAccountType=partnerX"));

    let md = Command::new(BIN)
        .args(["metadata", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&md.stdout).contains("<md:SingleSignOnService"));

    std::fs::write(dir.path().join("idp.crt"), &cert_pem).unwrap();
    let bad = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("idp.cert_file:"));

    let mut hash = Command::new(BIN)
        .arg("hash-api-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    hash.stdin
        .take()
        .unwrap()
        .write_all(b"0123456789abcdef\n")
        .unwrap();
    let out = hash.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        sso_bridge::random::hex(&openssl::sha::sha256(b"0123456789abcdef"))
    );
}

#[test]
fn the_embedded_default_refuses_the_published_0_1_demo_key() {
    let out = Command::new(BIN)
        .arg("serve")
        .env("SSO_BRIDGE_DEV_API_KEY", "demo-partner-api-key-change-me")
        .env("SSO_BRIDGE_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SSO_BRIDGE_DEV_API_KEY"), "{err}");
}

/// `serve` refuses a Redis whose eviction policy could delete mappings or replay records, and
/// starts on `noeviction`.
#[test]
fn serve_refuses_an_evicting_redis() {
    use crate::redis_ops::PrivateRedis;
    for (policy, starts) in [
        ("allkeys-lru", false),
        ("volatile-lru", false),
        ("noeviction", true),
    ] {
        let redis = PrivateRedis::start(&["--maxmemory", "64mb", "--maxmemory-policy", policy]);
        let dir = TempDir::new("bin-policy");
        let config = write_config(
            dir.path(),
            &TestSp::new().metadata(),
            "",
            Backend::Redis,
            "policy",
        );
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, text.replace(&redis_url(), &redis.url())).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok);
        if starts {
            let addr = first
                .as_deref()
                .and_then(|l| l.strip_prefix("listening on "))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("{policy}: {first:?}"))
                .to_owned();
            // Served a request: the shutdown signal handler is in place before the TERM.
            let health = http(
                &addr,
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            assert!(health.starts_with("HTTP/1.1 200"), "{health}");
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(child.wait().unwrap().success());
        } else {
            assert_eq!(first, None, "{policy}: must not listen");
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(!child.wait().unwrap().success());
            assert!(
                err.contains(&format!("maxmemory-policy is {policy}"))
                    && err.contains("noeviction"),
                "{policy}: {err}"
            );
        }
    }
}

/// No fixed demo key exists any more: the binary does not carry the one 0.1 published (only its
/// digest, to refuse it), so it cannot leak into a production configuration from here.
#[test]
fn the_binary_carries_no_demo_api_key() {
    let binary = std::fs::read(BIN).unwrap();
    let published = b"demo-partner-api-key-change-me";
    assert!(
        !binary.windows(published.len()).any(|w| w == published),
        "the binary contains the published demo key"
    );
}
