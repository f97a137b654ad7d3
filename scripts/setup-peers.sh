#!/usr/bin/env bash
# Creates the Python venvs of the test peers under ${CARGO_TARGET_DIR:-target}/peers/:
#   venv     pysaml2 (tests/peers/pysaml2_sp.py), from tests/peers/requirements.txt
#   st-venv  schemathesis (tests/it/schemathesis.rs), from tests/peers/requirements-schemathesis.txt
# Separate venvs, so neither peer's pins constrain the other's. Idempotent: pip only runs when a
# requirements file's hash changed.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"

if ! command -v xmlsec1 >/dev/null 2>&1; then
    echo "setup-peers: warning: xmlsec1 not found on PATH (apt-get install xmlsec1); pysaml2 needs it" >&2
fi

# Serialize concurrent invocations (e.g. several test binaries at once).
mkdir -p "$target_dir/peers"
exec 9>"$target_dir/peers/.setup.lock"
flock 9

setup_venv() {
    local venv="$target_dir/peers/$1" req="$2"
    local stamp="$venv/.requirements.sha256"
    local want
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
    echo "$want" > "$stamp"
    echo "setup-peers: installed $req into $venv"
}

setup_venv venv tests/peers/requirements.txt
setup_venv st-venv tests/peers/requirements-schemathesis.txt
