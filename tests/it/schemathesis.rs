//! Schemathesis (property-based testing from the OpenAPI document, PyPI) against the real binary
//! on loopback: every operation, every check (no server error, status codes, content types,
//! headers and bodies as documented, schema-valid requests accepted and schema-violating ones
//! refused), a bounded number of examples. A longer run: raise SSO_BRIDGE_SCHEMATHESIS_EXAMPLES.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_sso-bridge");
const KEY: &str = "schemathesis-api-key-0123456789";

/// The bridge on the embedded default, stopped on drop (also when the test fails).
struct Bridge(Child);

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_api_matches_its_openapi_document() {
    let venv = peer_venv("st-venv");
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("SSO_BRIDGE_LISTEN", "127.0.0.1:0")
        .env("SSO_BRIDGE_DEV_API_KEY", KEY)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let bridge = Bridge(child);
    let addr = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("listening on ")
                .map(|r| r.split_whitespace().next().unwrap_or("").to_owned())
        })
        .expect("the bridge did not start");
    let base = format!("http://{addr}");
    let examples =
        std::env::var("SSO_BRIDGE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "15".into());
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    let out = Command::new(venv.join("bin/st"))
        .args([
            "run",
            &format!("{base}/api/v1/openapi.json"),
            "--url",
            &base,
        ])
        .args(["-H", &format!("Authorization: Bearer {KEY}")])
        .args(["--checks", "all", "--workers", "1", "--seed", "1"])
        .args(["--max-examples", &examples, "--max-time", "90"])
        // No stored examples from earlier runs: every run, local or CI, tests the same cases.
        .args(["--generation-database", "none"])
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", &peers)
        .current_dir(&peers)
        .output()
        .expect("run schemathesis");
    drop(bridge);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("Tested: 8"), "{report}");
}
