//! The crate boundaries of ARCHITECTURE.md, checked with `cargo tree` so they hold by compiler
//! and manifest rather than by convention: the SAML core stays free of async, HTTP and storage,
//! and the Huawei simulator (the oracle of these tests) never depends on the service it checks.

use std::process::Command;

/// Package names (`name vX.Y.Z` as `cargo tree --prefix none` prints them) that `package`
/// depends on through the given kinds of edges.
fn dependencies(package: &str, edges: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "--edges",
            edges,
            "-p",
        ])
        .arg(package)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_saml_core_has_no_async_http_or_storage_dependency() {
    let deps = dependencies("sso-bridge-saml", "normal,build");
    assert!(deps.iter().any(|d| d == "openssl"), "{deps:?}");
    let forbidden = |d: &str| {
        [
            "tokio",
            "mio",
            "futures",
            "async",
            "hyper",
            "http",
            "axum",
            "tower",
            "redis",
            "sso-bridge",
        ]
        .iter()
        .any(|f| d == *f || d.starts_with(&format!("{f}-")) || d.starts_with(&format!("{f}_")))
            && d != "sso-bridge-saml"
    };
    let found: Vec<&String> = deps.iter().filter(|d| forbidden(d)).collect();
    assert!(
        found.is_empty(),
        "crates/saml must stay pure, but depends on {found:?}"
    );
}

#[test]
fn the_simulator_does_not_depend_on_the_service() {
    let deps = dependencies("sso-bridge-huawei-sim", "normal,build,dev");
    assert!(deps.iter().any(|d| d == "sso-bridge-saml"), "{deps:?}");
    assert!(
        !deps.iter().any(|d| d == "sso-bridge"),
        "crates/huawei-sim must not depend on the service crate: {deps:?}"
    );
}
