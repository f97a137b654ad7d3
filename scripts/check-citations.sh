#!/usr/bin/env bash
# Checks that comments and docs cite only requirement ids the repository defines.
#
# - Every `docs/protocol.md R4`, `docs/protocol.md Q2`, `docs/security.md A16, A23`,
#   `docs/protocol.md R1–R14` or `docs/protocol.md §Checks` must name an anchor
#   (`<a id="r4"></a>`, `<a id="checks"></a>`, …) that exists in that document; so must the
#   markdown links `protocol.md#…` / `security.md#…` / `#…` in the docs and the README.
# - Old-style citations of documents outside the repository are refused: bare ids (`(A16)`,
#   `(R4)`, `Huawei R10`, `Q-2`), `spec §4`, a bare `§10.1`, `issue step 3`, `security.md A12`
#   without `docs/`, and paths into ../shared/spec. A `§` is fine after a standard's name
#   (`saml-core §3.7.1`, `saml-bindings §3.4.4.1`, `exc-c14n §3`, `XML 1.0 §6.3`).
#
# Usage: scripts/check-citations.sh   (from anywhere in the repository; exits 1 on a finding)
set -euo pipefail
export LC_ALL=C.UTF-8
cd "$(dirname "$0")/.."

self=scripts/check-citations.sh
mapfile -t files < <(
    git ls-files --cached --others --exclude-standard -- \
        src crates tests bench fuzz scripts deploy openapi .ci docs README.md ARCHITECTURE.md |
        grep -vE '\.(png|lock)$|package-lock\.json$|^tests/fixtures/|^fuzz/corpus/' |
        grep -vxF "$self" |
        while read -r f; do [[ -f $f ]] && printf '%s\n' "$f"; done
)
status=0
fail() {
    printf '%s\n' "$*" >&2
    status=1
}

anchors() { # anchor ids defined in a doc, one per line
    grep -oE '<a id="[a-z0-9-]+"></a>' "$1" | sed -E 's/<a id="([^"]+)"><\/a>/\1/'
}
declare -A defined
for doc in protocol security; do
    [[ -f docs/$doc.md ]] || { fail "docs/$doc.md is missing"; continue; }
    while read -r id; do defined[$doc:$id]=1; done < <(anchors "docs/$doc.md")
done

# 1. Cited ids and sections must exist.
cite='docs/(protocol|security)\.md( [ARQ][0-9]+((, | and |–|-)[ARQ]?[0-9]+)*| §[A-Za-z][A-Za-z-]*)'
while IFS= read -r hit; do
    where=${hit%%:docs/*}
    text=docs/${hit#*:docs/}
    doc=${text#docs/}
    doc=${doc%%.md*}
    rest=${text#docs/"$doc".md }
    ids=()
    if [[ $rest == §* ]]; then
        name=${rest#§}
        name=${name%-}
        ids+=("${name,,}")
    else
        letter=
        for tok in $(sed -E 's/(, | and |–|-)/ /g' <<<"$rest"); do
            [[ $tok =~ ^([ARQ]?)([0-9]+)$ ]] || continue
            [[ -n ${BASH_REMATCH[1]} ]] && letter=${BASH_REMATCH[1]}
            ids+=("${letter,,}${BASH_REMATCH[2]}")
        done
    fi
    for id in "${ids[@]}"; do
        [[ -n ${defined[$doc:$id]:-} ]] || fail "$where: '$text' has no anchor #$id in docs/$doc.md"
    done
done < <(grep -HnoE "$cite" "${files[@]}" || true)

# Markdown links into the docs: README and docs/*.md.
for f in README.md docs/*.md tests/peers/README.md; do
    [[ -f $f ]] || continue
    while IFS= read -r hit; do
        where=${hit%%:\]*}
        link=${hit#*](}
        link=${link%)}
        target=${link%%#*}
        id=${link#*#}
        case $target in
            "") doc=$(basename "$f" .md) ;;
            *protocol.md) doc=protocol ;;
            *security.md) doc=security ;;
            *) continue ;;
        esac
        [[ $f == docs/* || $target == *docs/* ]] || continue
        [[ -n ${defined[$doc:$id]:-} ]] ||
            fail "$where: link '$link' has no anchor #$id in docs/$doc.md"
    done < <(grep -HnoE '\]\([./a-z]*(protocol|security)?(\.md)?#[a-z0-9-]+\)' "$f" || true)
done

# 2. No old-style citations outside docs/.
bad='\b[AR][0-9]{1,2}\b|\bQ-[0-9]+\b|spec §|§[0-9]|issue steps? [0-9]'
bad+='|(^|[^/])(security|protocol)\.md [ARQ§]|shared/spec|measurements\.md|huawei-partner-sso\.md'
# Standards whose sections may be cited with a bare §.
standard='(saml-(core|bindings|profiles|metadata)|xml-exc-c14n|exc-c14n|C14N 1\.0|XML 1\.0'
standard+='|RFC ?[0-9]+)'
for f in "${files[@]}"; do
    [[ $f == docs/* ]] && continue
    strip_strings=
    [[ $f == *.rs ]] && strip_strings='s/"([^"\\]|\\.)*"/""/g'
    while IFS= read -r hit; do
        line=${hit%%:*}
        fail "$f:$line: bare citation: $(sed -n "${line}p" "$f" | sed -E 's/^[[:space:]]+//')"
    done < <(
        sed -E \
            -e "s#$cite( steps? [0-9]+(( and |–|-)[0-9]+)?| [0-9]+(–[0-9]+)?)?##g" \
            -e "${strip_strings:-s/^//}" \
            -e 's/\\u\{[0-9A-Fa-f]+\}//g; s/U\+[0-9A-Fa-f]+//g' \
            -e "s/$standard §[0-9][0-9.]*//g" \
            "$f" | grep -nE "$bad" || true
    )
done

if ((status == 0)); then
    echo "citations OK (${#files[@]} files)"
fi
exit "$status"
