#!/usr/bin/env bash
# Installs what the benchmark's peers and report need (not the Rust bench itself):
#   - ${CARGO_TARGET_DIR:-target}/bench/venv: pysaml2 7.5.5 (tests/peers/requirements.txt,
#     for bench/peers/pysaml2_idp.py) + matplotlib (for bench/report.py), wheels only;
#   - bench/peers/node_modules: samlify and its dependencies from bench/peers/package-lock.json
#     (npm ci), for bench/peers/samlify_idp.js.
# Idempotent and quick when already done: each part only runs when its inputs' hash changed.
# Needs python3 (3.11) with venv, node + npm, and the xmlsec1 program (pysaml2 signs with it).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/bench/venv"
req="tests/peers/requirements.txt"
# matplotlib and its dependencies, pinned (all have CPython 3.11 manylinux wheels on PyPI).
# python-dateutil, which matplotlib needs too, is pinned in $req.
plot_pins=(
    matplotlib==3.11.2
    contourpy==1.3.3
    cycler==0.12.1
    fonttools==4.68.0
    kiwisolver==1.5.1
    numpy==2.4.6
    packaging==26.3
    pillow==13.0.0
    pyparsing==3.3.3
)
peers="bench/peers"
lock="$peers/package-lock.json"

if ! command -v xmlsec1 >/dev/null 2>&1; then
    echo "bench/setup-peers: warning: xmlsec1 not found on PATH (apt-get install xmlsec1); pysaml2 needs it" >&2
fi

py_want="$( { sha256sum "$req"; printf '%s\n' "${plot_pins[@]}"; } | sha256sum | cut -d' ' -f1)"
py_stamp="$venv/.requirements.sha256"
node_want="$( { sha256sum "$peers/package.json" "$lock"; node --version 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)"
node_stamp="$peers/node_modules/.bench-setup.sha256"

py_ok() { [[ -x "$venv/bin/python" && -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_want" ]]; }
node_ok() { [[ -d "$peers/node_modules/samlify" && -f "$node_stamp" && "$(cat "$node_stamp")" == "$node_want" ]]; }
py_ok && node_ok && exit 0

# Serialize concurrent invocations.
mkdir -p "$target_dir/bench"
exec 9>"$target_dir/bench/.setup-peers.lock"
flock 9

if ! py_ok; then
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --only-binary=:all: -r "$req" "${plot_pins[@]}"
    echo "$py_want" > "$py_stamp"
    echo "bench/setup-peers: installed $req + matplotlib into $venv" >&2
fi

if ! node_ok; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "bench/setup-peers: error: npm not found on PATH (Node.js >= 18 is needed for bench/peers/samlify_idp.js)" >&2
        exit 1
    fi
    if [[ -f "$lock" ]]; then
        (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
    else
        (cd "$peers" && npm install --no-audit --no-fund --loglevel=error)
    fi
    echo "$node_want" > "$node_stamp"
    echo "bench/setup-peers: installed $peers/node_modules" >&2
fi
