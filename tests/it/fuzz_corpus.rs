//! The fuzz corpus, replayed on stable in the normal suite: every seed and every regression
//! input found by `cargo fuzz` (fuzz/README.md) runs through the same entry point as its target,
//! and none may panic.

use std::path::Path;

#[test]
fn every_corpus_input_runs_without_panicking() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, entry) in sso_bridge::fuzzing::TARGETS {
        let target = fuzz.join("fuzz_targets").join(format!("{name}.rs"));
        assert!(target.exists(), "no fuzz target for {name}");
        let mut inputs = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(files) = std::fs::read_dir(fuzz.join(dir).join(name)) else {
                continue;
            };
            for file in files {
                let path = file.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                entry(&data);
                // Truncations too: cheap, and they reach the parsers' end-of-input paths.
                for cut in [1, data.len() / 2, data.len().saturating_sub(1)] {
                    entry(&data[..cut.min(data.len())]);
                }
                inputs += 1;
            }
        }
        assert!(inputs > 0, "{name}: empty seed corpus");
    }
}
