#!/usr/bin/env bash
# Creates the Python venv for the SAML test peers (tests/peers/) at
# ${CARGO_TARGET_DIR:-target}/peers/venv and installs tests/peers/requirements.txt.
# Idempotent: pip only runs when the requirements file's hash changed.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/peers/venv"
req="tests/peers/requirements.txt"
stamp="$venv/.requirements.sha256"

if ! command -v xmlsec1 >/dev/null 2>&1; then
    echo "setup-peers: warning: xmlsec1 not found on PATH (apt-get install xmlsec1); pysaml2 needs it" >&2
fi

want="$(sha256sum "$req" | cut -d' ' -f1)"
up_to_date() { [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; }
up_to_date && exit 0

# Serialize concurrent invocations (e.g. several test binaries at once).
mkdir -p "$target_dir/peers"
exec 9>"$target_dir/peers/.setup.lock"
flock 9
up_to_date && exit 0

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
echo "$want" > "$stamp"
echo "setup-peers: installed $req into $venv"
