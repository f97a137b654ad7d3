#!/usr/bin/env bash
# The benchmark: one command, results in bench/RESULTS.md and bench/chart.png.
#   bench/run.sh
# Installs what it needs (Redis, the pysaml2 and samlify peers, matplotlib), runs the Rust
# harness (bench/sso.rs: openssl speed reference, the SSO path over HTTP with the Redis and memory
# stores, API and memory figures), then the peers doing the same job, then writes the report.
# Everything runs on this machine in one go so the ratios compare like with like.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="$target/bench"
mkdir -p "$out/keys"

scripts/install-test-deps.sh
bench/setup-peers.sh

cargo bench --bench breakdown
cargo bench --bench sso
cargo bench --bench flood | tee "$out/flood.md"

# Peers: the same job (verify a signed HTTP-Redirect AuthnRequest from an RSA-4096 SP key, sign an
# assertion with an RSA-2048 IdP key) in pysaml2 and samlify, CPU time per response.
keys="$out/keys"
[[ -f "$keys/idp.key" ]] || openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj /CN=bench-idp -keyout "$keys/idp.key" -out "$keys/idp.crt" 2>/dev/null
[[ -f "$keys/sp.key" ]] || openssl req -x509 -newkey rsa:4096 -nodes -sha256 -days 30 -subj /CN=bench-sp -keyout "$keys/sp.key" -out "$keys/sp.crt" 2>/dev/null
args=(--idp-key "$keys/idp.key" --idp-cert "$keys/idp.crt" --sp-key "$keys/sp.key" --sp-cert "$keys/sp.crt")
n="${SSO_BRIDGE_BENCH_PEER_REQUESTS:-400}"
"$out/venv/bin/python" bench/peers/pysaml2_idp.py --requests "$n" "${args[@]}" > "$out/pysaml2.json"
node bench/peers/samlify_idp.js --requests "$n" "${args[@]}" > "$out/samlify.json"
"$out/venv/bin/python" - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
peers = [json.loads(l) for f in ("pysaml2.json", "samlify.json") for l in (out / f).read_text().splitlines() if l.strip().startswith("{")]
(out / "peers.json").write_text(json.dumps(peers, indent=2))
PY
"$out/venv/bin/python" bench/report.py
echo "wrote bench/RESULTS.md and bench/chart.png"
