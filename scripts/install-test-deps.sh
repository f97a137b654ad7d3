#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those missing:
#   xmlsec1 (independent signature verifier; pysaml2 calls it too), redis-server (+ redis-cli),
#   python3-venv (for the pysaml2 peer) when `python3 -m venv` does not work,
#   chromium + chromium-driver (the end-to-end browser tests; Debian's, never a downloaded one),
#   fonts-wqy-zenhei (Chinese text in their screenshots).
set -euo pipefail

missing=()
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
# CJK glyphs for the Chinese pages in the browser screenshots.
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-zenhei)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
echo "install-test-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-test-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
