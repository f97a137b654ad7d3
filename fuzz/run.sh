#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, JOBS (default 2) at a time, with the
# nightly toolchain, and prints each target's last libFuzzer status line. Outside CI: the suite
# only replays the corpus (tests/it/fuzz_corpus.rs). Usage: fuzz/run.sh [SECONDS] [JOBS]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
jobs="${2:-2}"
targets=(redirect_query inbound_xml saml_requests sp_metadata bind_notification api_json)
mkdir -p logs
cargo +nightly fuzz build -O
run() {
    local t="$1"
    cargo +nightly fuzz run -O "$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -print_final_stats=1 > "logs/$t.log" 2>&1 || echo "$t: FAILED (see fuzz/logs/$t.log)"
    echo "$t: $(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)"
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "logs/$t.log" | sed "s/^/$t: /"
}
export -f run
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run {}'
