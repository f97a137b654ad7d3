//! The container build context: `deploy/Dockerfile` copies what the workspace needs to build,
//! and builds the IdP without the demo. No Docker daemon runs here, so the test lays out the
//! build stage's `COPY` sources in a temporary directory and asks cargo to resolve the
//! workspace there, offline and locked, as the image build would.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::TempDir;

const DOCKERFILE: &str = include_str!("../../deploy/Dockerfile");

/// The sources of the `COPY <src>… <dest>` lines of the build stage (the first `FROM`).
fn build_stage_copies() -> Vec<String> {
    DOCKERFILE
        .split("\nFROM ")
        .nth(1)
        .expect("a build stage")
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1]
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

#[test]
fn the_image_build_context_resolves_the_workspace_and_leaves_the_demo_out() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let context = TempDir::new("docker-context");
    for source in build_stage_copies() {
        copy_tree(&root.join(&source), &context.path().join(&source));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--offline",
            "--locked",
            "--format-version",
            "1",
            "--no-deps",
        ])
        .current_dir(context.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Dockerfile's build context does not hold the workspace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let build = DOCKERFILE
        .lines()
        .find(|l| l.starts_with("RUN cargo build"))
        .expect("a cargo build step");
    assert!(
        build.contains("--no-default-features") && build.contains("--locked"),
        "{build}"
    );
}
