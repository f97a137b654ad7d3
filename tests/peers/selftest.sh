#!/usr/bin/env bash
# Self-test of the pysaml2 SP peer (not used by the Rust tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup-peers.sh
exec "${CARGO_TARGET_DIR:-target}/peers/venv/bin/python" tests/peers/selftest.py "$@"
