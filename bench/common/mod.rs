//! What the benchmarks share: processes stopped on drop, a private Redis, the bridge started from
//! a generated config, a keep-alive HTTP/1.1 client, logins and pre-signed AuthnRequests.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use saml::redirect::{MessageKind, encode_signed_query};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

pub const API_KEY: &str = "bench-api-key-0123456789";

pub fn target_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let t = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join("target"));
    if t.is_absolute() { t } else { repo.join(t) }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_redis(dir: &Path) -> (Proc, u16, u32) {
    let port = free_port();
    let child = Proc(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let pid = child.0.id();
            return (child, port, pid);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("redis did not start");
}

pub fn redis_used_memory(port: u16) -> f64 {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "info", "memory"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Writes keys, SP metadata and a config; returns the config path.
pub fn setup(
    dir: &Path,
    sp_cert_b64: &str,
    backend: &str,
    redis_port: u16,
    port: u16,
    extra: &str,
) -> PathBuf {
    let (key, cert) = sso_bridge::keys::generate(2048, 30, "bench idp").unwrap();
    sso_bridge::keys::write_new(&dir.join("idp.key"), &dir.join("idp.crt"), &key, &cert).unwrap();
    let md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.bench/"><md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{sp_cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.bench/acs" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    );
    std::fs::write(dir.join("sp.xml"), md).unwrap();
    let hash = sso_bridge::random::hex(&openssl::sha::sha256(API_KEY.as_bytes()));
    let config = format!(
        r#"listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
dev_mode = true
[idp]
key_file = "idp.key"
cert_file = "idp.crt"
bp_id = "bench-partner"
request_max_age_secs = 3600
[store]
backend = "{backend}"
redis_url = "redis://127.0.0.1:{redis_port}/0"
key_prefix = "bench"
[partner]
login_url = "https://partner.bench/login"
api_key_sha256 = ["{hash}"]
[[sites]]
name = "cn"
x_account_type = "bench"
sp_metadata_file = "sp.xml"
login_url = "https://auth.bench/authui/saml/login"
default_service = "https://console.bench/"
[sessions]
# The benchmark user logs in once, without the first-login page, and stays within the window.
first_login_confirmation = false
jump_window_secs = 3600
{extra}
"#
    );
    let path = dir.join(format!("config-{backend}.toml"));
    std::fs::write(&path, config).unwrap();
    path
}

pub fn start_bridge(config: &Path) -> (Proc, u32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sso-bridge"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("bridge exited").unwrap();
        if line.starts_with("listening on") {
            break;
        }
    }
    let pid = child.id();
    (Proc(child), pid)
}

/// A keep-alive HTTP/1.1 connection that reads responses by Content-Length.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn open(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends `req` and returns (status, body).
    pub async fn send(&mut self, req: &[u8]) -> (u16, Vec<u8>) {
        self.stream.write_all(req).await.unwrap();
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(split) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..split]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if self.buf.len() >= split + 4 + len {
                    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                    return (status, self.buf[split + 4..split + 4 + len].to_vec());
                }
            }
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

pub fn post(path: &str, body: &str, content_type: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {API_KEY}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

pub fn get(path: &str, cookie: Option<&str>) -> Vec<u8> {
    let cookie = cookie
        .map(|c| format!("Cookie: sso_bridge_session={c}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {API_KEY}\r\n{cookie}\r\n")
        .into_bytes()
}

/// Logs a user in and returns the session cookie.
pub async fn login(port: u16, user: &str) -> String {
    let mut c = Conn::open(port).await;
    let (status, body) = c
        .send(&post(
            "/api/v1/login-tickets",
            &json!({"x_user_id": user}).to_string(),
            "application/json",
        ))
        .await;
    assert_eq!(status, 201);
    let url: Value = serde_json::from_slice(&body).unwrap();
    let path = url["url"]
        .as_str()
        .unwrap()
        .split_once("/sso/start")
        .unwrap()
        .1
        .to_owned();
    c.stream
        .write_all(&get(&format!("/sso/start{path}"), None))
        .await
        .unwrap();
    let mut raw = vec![0u8; 4096];
    let n = c.stream.read(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw[..n]);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("cookie");
    line.split_once('=')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Pre-signs `n` distinct AuthnRequests with the SP key on all cores (before any timing).
pub fn presign(n: usize, sp_key: &PKey<Private>, sso_url: &str, tag: &str) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get());
    let per = n.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let key = sp_key.clone();
            let sso = sso_url.to_owned();
            let tag = tag.to_owned();
            std::thread::spawn(move || {
                (0..per)
                    .map(|i| {
                        let id = format!("_{tag}{t}x{i:08}xxxxxxxxxxxxxxxxxxxxxxx");
                        let xml = huawei_sim::messages::authn_request(
                            &id,
                            "https://sp.bench/",
                            "https://sp.bench/acs",
                            &sso,
                            time::OffsetDateTime::now_utc(),
                        );
                        encode_signed_query(MessageKind::Request, &xml, Some("bench"), |d| {
                            let mut s = Signer::new(MessageDigest::sha256(), &key)?;
                            s.update(d)?;
                            s.sign_to_vec()
                        })
                        .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .take(n)
        .collect()
}
