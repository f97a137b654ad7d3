#!/usr/bin/env python3
"""Turns the benchmark's raw results into bench/RESULTS.md and bench/chart.png.

    python bench/report.py            (bench/run.sh calls it with target/bench/venv/bin/python)

Reads (in ${CARGO_TARGET_DIR:-target}/bench/ unless given as options):
  results.json   from the Rust harness (bench/sso.rs), required;
  peers.json     a JSON list of the peer outputs (bench/peers/*_idp.*), optional;
  breakdown.json per-component microseconds (bench/breakdown.rs), optional.
and bench/analysis.md (hand-written text for the "Analysis" section), optional.
Missing optional keys or files show as "n/a"; a target whose input is missing is "not measured".
Needs matplotlib (bench/setup-peers.sh installs it into target/bench/venv).
"""

import argparse
import datetime as dt
import json
import math
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKENDS = (("redis", "Redis store"), ("memory", "memory store"))
LOADS = (("saturation", "saturation"), ("half_load", "half load"))
KB = 1024  # "1 KB per session" is read as 1,024 bytes


def target_dir():
    t = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    return t if t.is_absolute() else REPO / t


# ---------------------------------------------------------------------------
# small helpers


def get(d, *path):
    """d[path0][path1]... as a float/str, or None when any step is missing."""
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return None
        d = d[p]
    return d


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def fmt(v, digits=None, unit=""):
    """Human formatting: thousands separators, sensible decimals."""
    v = num(v)
    if v is None:
        return "n/a"
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 1000 else 1 if a >= 100 else 2 if a >= 1 else 3 if a >= 0.01 else 4
    s = f"{v:,.{digits}f}"
    return f"{s} {unit}".rstrip() if unit else s


def ratio(a, b):
    a, b = num(a), num(b)
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(header, rows, text_columns=1):
    """Markdown table; the first `text_columns` columns left-aligned, the rest (numbers) right-aligned."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " if i < text_columns else " ---: " for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def memory_text(raw):
    """'MemTotal:       24684096 kB' -> '23.5 GiB (MemTotal 24,684,096 kB)'."""
    if not raw:
        return "n/a"
    m = re.search(r"(\d+)\s*kB", str(raw))
    if not m:
        return str(raw)
    kb = int(m.group(1))
    return f"{kb / 1024 / 1024:.1f} GiB (MemTotal {kb:,} kB)"


# ---------------------------------------------------------------------------
# the numbers


def bridge_ms_per_response(results, backend):
    """Bridge CPU ms per response at saturation (= bridge_cpu_s_per_1000)."""
    return num(get(results, backend, "saturation", "bridge_cpu_s_per_1000"))


def peer_by_name(peers, name):
    for p in peers:
        if isinstance(p, dict) and str(p.get("peer", "")).lower() == name:
            return p
    return None


def targets(results, peers):
    """[(target, subject, measured text, met: True/False/None)]"""
    rows = []

    def add(label, subject, value, text, ok):
        rows.append((label, subject, text if value is not None else "n/a", None if value is None else ok))

    for b, bname in BACKENDS:
        v = num(get(results, "cost_ratio", b))
        if v is None:  # same definition as bench/sso.rs
            one = num(get(results, "openssl_rsa2048_signs_per_s", "one_core"))
            ms = bridge_ms_per_response(results, b)
            v = ms * one / 1000.0 if ms is not None and one else None
        add("cost ratio ≤ 1.5 (bridge CPU per response ÷ CPU of one openssl RSA-2048 signature, 1 core)", bname, v, fmt(v, 2), v is not None and v <= 1.5)
    for b, bname in BACKENDS:
        v = num(get(results, "throughput_vs_openssl_all_cores", b))
        if v is None:
            v = ratio(get(results, b, "saturation", "responses_per_s"), get(results, "openssl_rsa2048_signs_per_s", "all_cores"))
        add("throughput ≥ 60 % of openssl RSA-2048 signs/s on all cores", bname, v, f"{fmt(100 * v, 1)} %" if v is not None else "", v is not None and v >= 0.60)
    for b, bname in BACKENDS:
        v = num(get(results, b, "half_load", "p99_ms"))
        add("p99 latency ≤ 10 ms at half of saturation", bname, v, fmt(v, 2, "ms"), v is not None and v <= 10.0)
    for peer, need in (("pysaml2", 10.0), ("samlify", 3.0)):
        p = peer_by_name(peers, peer)
        for b, bname in BACKENDS:
            v = ratio(p.get("cpu_ms_per_response") if p else None, bridge_ms_per_response(results, b))
            add(f"responses per CPU-second ≥ {need:g}× {peer}", bname, v, f"{fmt(v, 1)}×" if v is not None else "", v is not None and v >= need)
    for b, bname in BACKENDS:
        v = num(get(results, b, "peak_rss_mb"))
        add("bridge peak RSS ≤ 64 MB", bname, v, fmt(v, 1, "MB"), v is not None and v <= 64.0)
    v = num(get(results, "redis", "redis_bytes_per_session"))
    add("Redis memory ≤ 1 KB (1,024 bytes) per session", "Redis store", v, fmt(v, 0, "bytes"), v is not None and v <= KB)
    return rows


def verdict(ok):
    return "**met**" if ok is True else "**missed**" if ok is False else "not measured"


# ---------------------------------------------------------------------------
# the chart


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.6), gridspec_kw={"width_ratios": [1, 1.35]})

    # (a) throughput
    labels = ["openssl RSA-2048\nsigns/s, 1 core", "openssl RSA-2048\nsigns/s, all cores", "bridge + Redis\n(saturation)", "bridge + memory\n(saturation)"]
    values = [
        num(get(results, "openssl_rsa2048_signs_per_s", "one_core")),
        num(get(results, "openssl_rsa2048_signs_per_s", "all_cores")),
        num(get(results, "redis", "saturation", "responses_per_s")),
        num(get(results, "memory", "saturation", "responses_per_s")),
    ]
    colors = ["#9e9e9e", "#616161", "#c62828", "#1565c0"]
    xs = range(len(labels))
    bars = ax1.bar(xs, [v or 0 for v in values], color=colors)
    for bar, v in zip(bars, values):
        ax1.annotate(fmt(v, 0) if v is not None else "n/a", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                     ha="center", va="bottom", fontsize=9, xytext=(0, 2), textcoords="offset points")
    all_cores = values[1]
    if all_cores:
        ax1.axhline(0.6 * all_cores, color="#2e7d32", linestyle="--", linewidth=1,
                    label="target: 60 % of openssl all cores")
        ax1.legend(fontsize=8, loc="upper right")
    ax1.set_xticks(list(xs))
    ax1.set_xticklabels(labels, fontsize=8.5)
    ax1.set_ylabel("per second")
    ax1.set_title("(a) Throughput: signed SAML responses/s vs. RSA-2048 signatures/s", fontsize=10)
    ax1.margins(y=0.12)
    ax1.grid(axis="y", alpha=0.3)

    # (b) latency
    groups = [(b, l, f"{'Redis' if b == 'redis' else 'memory'}\n{lname}") for b, _ in BACKENDS for l, lname in LOADS]
    pcts = [("p50_ms", "p50", "#90caf9"), ("p99_ms", "p99", "#1e88e5"), ("p999_ms", "p99.9", "#0d47a1")]
    width = 0.26
    for k, (key, name, color) in enumerate(pcts):
        vals = [num(get(results, b, l, key)) for b, l, _ in groups]
        pos = [i + (k - 1) * width for i in range(len(groups))]
        bs = ax2.bar(pos, [v or 0 for v in vals], width, label=name, color=color)
        for bar, v in zip(bs, vals):
            ax2.annotate(fmt(v, 1) if v is not None else "n/a", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                         ha="center", va="bottom", fontsize=7.5, xytext=(0, 1), textcoords="offset points")
    ax2.axhline(10, color="#2e7d32", linestyle="--", linewidth=1, label="target: p99 ≤ 10 ms at half load")
    ax2.set_xticks(range(len(groups)))
    ax2.set_xticklabels([g[2] for g in groups], fontsize=9)
    ax2.set_ylabel("latency (ms)")
    ax2.set_title("(b) SSO response latency (HTTP, loopback)", fontsize=10)
    ax2.legend(fontsize=8, loc="upper right")
    ax2.margins(y=0.25)
    ax2.grid(axis="y", alpha=0.3)

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------
# RESULTS.md

SHOWN = {
    "machine", "openssl_rsa2048_signs_per_s", "cost_ratio", "throughput_vs_openssl_all_cores",
    "bind_result_verifications_per_s_one_core",
}
BACKEND_SHOWN = {"saturation", "half_load", "peak_rss_mb", "redis_bytes_per_session", "redis_bytes_per_mapping",
                 "api_mapping_writes_per_s", "api_mapping_reads_per_s"}
LOAD_COLUMNS = [
    ("responses_per_s", "responses/s", 0),
    ("responses", "responses", 0),
    ("seconds", "seconds", 2),
    ("errors", "errors", 0),
    ("p50_ms", "p50 ms", 2),
    ("p99_ms", "p99 ms", 2),
    ("p999_ms", "p99.9 ms", 2),
    ("bridge_cpu_s_per_1000", "bridge CPU s / 1,000", 3),
    ("loadgen_cpu_s_per_1000", "load generator CPU s / 1,000", 3),
    ("redis_cpu_s_per_1000", "Redis CPU s / 1,000", 3),
]


def flatten(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten(f"{prefix}.{k}" if prefix else k, x, out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            flatten(f"{prefix}[{i}]", x, out)
    else:
        out.append((prefix, v))


def shown_path(p):
    try:
        return str(Path(p).resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def flood_md(flood):
    """The flood section (bench/flood.rs): legitimate p99s beside each flood, store memory."""
    L = ["### Under a flood (`bench/flood.rs`, Redis store, one run)", ""]
    L.append(f"Legitimate SSO (20 customers with a session, 20/s) and `/healthz` (20/s), open loop, latency from "
             f"the scheduled time; the flood on 4 keep-alive connections as fast as answers come. "
             f"`max_parked_requests = {flood.get('max_parked_requests')}`, 60 SAML requests a minute per address. "
             f"Targets: legitimate p99 under 25 ms, and the store within the parked-request bound.")
    L.append("")
    rows = []
    for p in flood.get("phases", []):
        statuses = ", ".join(f"{k}: {v}" for k, v in (p.get("flood_statuses") or {}).items()) or "—"
        rows.append([md_escape(p.get("phase", "?")), fmt(p.get("legit_sso_p99_ms"), 1), str(p.get("legit_sso_not_answered")),
                     fmt(p.get("healthz_p99_ms"), 1), fmt(p.get("flood_per_s"), 0), statuses,
                     f"{fmt(p.get('redis_used_mb_before'), 1)} → {fmt(p.get('redis_used_mb_after'), 1)}", str(p.get("parked_after"))])
    L.append(table(["phase", "legit SSO p99 ms", "legit not answered", "/healthz p99 ms", "flood req/s",
                    "flood answers by status", "Redis MB before → after", "parked after"], rows, text_columns=1))
    L.append("")
    return "\n".join(L)


def results_md(results, peers, breakdown, analysis, results_path, peers_path, breakdown_path, chart_name, measured, flood=None):
    m = results.get("machine") or {}
    L = []
    L.append("# sso-bridge benchmark results")
    L.append("")
    L.append(f"Generated by `bench/report.py` from `{shown_path(results_path)}` (the Rust harness, `bench/sso.rs`)"
             + (f", `{shown_path(peers_path)}` (the peers, `bench/peers/`)" if peers else "")
             + (f" and `{shown_path(breakdown_path)}` (`bench/breakdown.rs`)" if breakdown else "")
             + ". Do not edit by hand; the analysis text lives in `bench/analysis.md`.")
    L.append("")
    L.append(f"- **Command:** `bench/run.sh` (everything on one machine, in one go)")
    L.append(f"- **Date:** {measured} (results.json written), report generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    L.append(f"- **CPU:** {md_escape(m.get('cpu') or 'n/a')}, {fmt(num(m.get('cores')), 0)} cores")
    L.append(f"- **Memory:** {memory_text(m.get('memory'))}")
    L.append(f"- **OpenSSL:** {md_escape(m.get('openssl') or 'n/a')}")
    extra = [k for k in m if k not in ("cpu", "cores", "memory", "openssl")]
    for k in extra:
        L.append(f"- **{md_escape(k)}:** {md_escape(m[k])}")
    L.append("")

    # targets
    L.append("## Targets")
    L.append("")
    rows = [(md_escape(t), s, v, verdict(ok)) for t, s, v, ok in targets(results, peers)]
    L.append(table(["target", "configuration", "measured", "result"], rows, text_columns=2))
    met = sum(1 for r in rows if r[3] == "**met**")
    missed = sum(1 for r in rows if r[3] == "**missed**")
    L.append("")
    L.append(f"{met} met, {missed} missed, {len(rows) - met - missed} not measured. The per-CPU-second comparison is "
             "the peer's CPU ms per response ÷ the bridge's CPU ms per response at saturation "
             "(`bridge_cpu_s_per_1000`); the bridge's figure is the bridge process alone (not the load generator, not Redis).")
    L.append("")
    L.append(f"![throughput and latency]({chart_name})")
    L.append("")

    # all numbers
    L.append("## All numbers")
    L.append("")
    L.append("### Reference: `openssl speed rsa2048`")
    L.append("")
    L.append(table(["", "RSA-2048 signatures/s"], [
        ["1 core", fmt(get(results, "openssl_rsa2048_signs_per_s", "one_core"), 1)],
        [f"all cores (`-multi {fmt(num(m.get('cores')), 0)}`)", fmt(get(results, "openssl_rsa2048_signs_per_s", "all_cores"), 1)],
    ]))
    L.append("")

    L.append("### SSO over HTTP: signed HTTP-Redirect AuthnRequest (RSA-4096 SP key) → signed Response (RSA-2048)")
    L.append("")
    cols = [c for c in LOAD_COLUMNS if any(num(get(results, b, l, c[0])) is not None for b, _ in BACKENDS for l, _ in LOADS)]
    extra_keys = sorted({k for b, _ in BACKENDS for l, _ in LOADS for k in (get(results, b, l) or {})} - {c[0] for c in cols})
    header = ["store, load"] + [c[1] for c in cols] + extra_keys
    body = []
    for b, bname in BACKENDS:
        for l, lname in LOADS:
            if get(results, b, l) is None:
                continue
            body.append([f"{bname}, {lname}"] + [fmt(get(results, b, l, c[0]), c[2]) for c in cols]
                        + [fmt(get(results, b, l, k)) if num(get(results, b, l, k)) is not None else md_escape(get(results, b, l, k)) for k in extra_keys])
    L.append(table(header, body) if body else "n/a")
    L.append("")
    L.append("Saturation: a closed loop over concurrent keep-alive connections, each sending its next request as soon as "
             "the previous response is read; half load: an open loop at half the saturation rate, latency counted from each "
             "request's scheduled send time (so queueing delay counts). Latency is measured by the load generator over "
             "loopback; CPU figures are per 1,000 responses, from /proc.")
    L.append("")

    L.append("### Per configuration")
    L.append("")
    rows = []
    for b, bname in BACKENDS:
        rows.append([f"bridge peak RSS, {bname}", fmt(get(results, b, "peak_rss_mb"), 1, "MB")])
    for b, bname in BACKENDS:
        rows.append([f"cost ratio, {bname}", fmt(get(results, "cost_ratio", b), 3)])
    for b, bname in BACKENDS:
        v = num(get(results, "throughput_vs_openssl_all_cores", b))
        rows.append([f"throughput ÷ openssl all cores, {bname}", f"{fmt(100 * v, 1)} %" if v is not None else "n/a"])
    for b, bname in BACKENDS:
        rows.append([f"bridge CPU per response at saturation, {bname}", fmt(bridge_ms_per_response(results, b), 3, "ms")])
    rows.append(["Redis memory per session", fmt(get(results, "redis", "redis_bytes_per_session"), 0, "bytes")])
    rows.append(["Redis memory per partner user mapping", fmt(get(results, "redis", "redis_bytes_per_mapping"), 0, "bytes")])
    rows.append(["partner API mapping writes/s (Redis)", fmt(get(results, "redis", "api_mapping_writes_per_s"), 0)])
    rows.append(["partner API mapping reads/s (Redis)", fmt(get(results, "redis", "api_mapping_reads_per_s"), 0)])
    for b, _ in BACKENDS:
        for k in sorted(set(get(results, b) or {}) - BACKEND_SHOWN):
            v = get(results, b, k)
            flat = []
            flatten(f"{b}.{k}", v, flat)
            rows += [[f"`{md_escape(name)}`", fmt(x) if num(x) is not None else md_escape(x)] for name, x in flat]
    rows.append(["bind-result verifications/s, 1 core (RSA-4096)", fmt(get(results, "bind_result_verifications_per_s_one_core"), 0)])
    flat = []
    for k in sorted(set(results) - SHOWN - {b for b, _ in BACKENDS}):
        flatten(k, results[k], flat)
    rows += [[f"`{md_escape(name)}`", fmt(x) if num(x) is not None else md_escape(x)] for name, x in flat]
    L.append(table(["figure", "value"], rows))
    L.append("")

    L.append("### Peers: the same job in other SAML libraries")
    L.append("")
    if peers:
        L.append("Each peer verifies N distinct signed HTTP-Redirect AuthnRequests (rsa-sha256, RSA-4096 SP key, "
                 "NameIDPolicy transient) and answers each with a Response carrying a signed Assertion (RSA-SHA256, "
                 "RSA-2048 IdP key), a transient NameID and the six attributes, base64-encoded for HTTP-POST; "
                 "in-process, no HTTP. CPU is the CPU time of the peer's process (and, for pysaml2, of the xmlsec1 "
                 "processes it runs to sign).")
        L.append("")
        rows = []
        for p in peers:
            if not isinstance(p, dict):
                continue
            r_redis = ratio(p.get("cpu_ms_per_response"), bridge_ms_per_response(results, "redis"))
            r_mem = ratio(p.get("cpu_ms_per_response"), bridge_ms_per_response(results, "memory"))
            rows.append([
                md_escape(p.get("peer", "?")), md_escape(p.get("version", "?")), fmt(num(p.get("responses")), 0),
                fmt(num(p.get("cpu_seconds")), 3), fmt(num(p.get("wall_seconds")), 3), fmt(num(p.get("cpu_ms_per_response")), 2),
                f"{fmt(r_redis, 1)}×" if r_redis is not None else "n/a", f"{fmt(r_mem, 1)}×" if r_mem is not None else "n/a",
            ])
        L.append(table(["peer", "version", "responses", "CPU s", "wall s", "CPU ms / response",
                        "bridge (Redis) is … more efficient", "bridge (memory) is … more efficient"], rows, text_columns=2))
        L.append("")
        for p in peers:
            if not isinstance(p, dict):
                continue
            skip = {"peer", "version", "responses", "cpu_seconds", "wall_seconds", "cpu_ms_per_response"}
            flat = []
            for k in p:
                if k not in skip:
                    flatten(k, p[k], flat)
            if flat:
                L.append(f"<details><summary>{md_escape(p.get('peer', '?'))}: all fields</summary>")
                L.append("")
                L.append(table(["field", "value"], [[f"`{md_escape(n)}`", fmt(x) if num(x) is not None else md_escape(x)] for n, x in flat], text_columns=2))
                L.append("")
                L.append("</details>")
                L.append("")
    else:
        L.append(f"Not measured (`{shown_path(peers_path)}` missing or empty).")
        L.append("")

    if breakdown:
        L.append("### Where one response's CPU goes (`bench/breakdown.rs`, one core)")
        L.append("")
        flat = []
        flatten("", breakdown, flat)
        L.append(table(["component", "µs per call"], [[md_escape(n), fmt(x, 1) if num(x) is not None else md_escape(x)] for n, x in flat]))
        L.append("")

    if flood:
        L.append(flood_md(flood))

    L.append("## Analysis")
    L.append("")
    if analysis is not None:
        text = analysis.strip()
        # drop a leading "# Analysis"/"## Analysis" heading; the section has one
        text = re.sub(r"\A#{1,6}\s*Analysis\s*\n", "", text, flags=re.IGNORECASE).strip()
        L.append(text)
    else:
        L.append("_Not written yet (`bench/analysis.md`)._")
    L.append("")
    return "\n".join(L)


def main(argv=None):
    tb = target_dir() / "bench"
    ap = argparse.ArgumentParser(description="Write bench/RESULTS.md and bench/chart.png from the benchmark's JSON.")
    ap.add_argument("--results", type=Path, default=tb / "results.json")
    ap.add_argument("--peers", type=Path, default=tb / "peers.json")
    ap.add_argument("--breakdown", type=Path, default=tb / "breakdown.json")
    ap.add_argument("--analysis", type=Path, default=REPO / "bench" / "analysis.md")
    ap.add_argument("--flood", type=Path, default=tb / "flood.json")
    ap.add_argument("--out-md", type=Path, default=REPO / "bench" / "RESULTS.md")
    ap.add_argument("--out-png", type=Path, default=REPO / "bench" / "chart.png")
    args = ap.parse_args(argv)

    try:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    except FileNotFoundError:
        sys.exit(f"report.py: {args.results} not found; run bench/run.sh first")
    peers = []
    if args.peers.is_file():
        loaded = json.loads(args.peers.read_text(encoding="utf-8") or "[]")
        peers = loaded if isinstance(loaded, list) else [loaded]
    breakdown = None
    if args.breakdown.is_file():
        breakdown = json.loads(args.breakdown.read_text(encoding="utf-8"))
    analysis = args.analysis.read_text(encoding="utf-8") if args.analysis.is_file() else None
    flood = json.loads(args.flood.read_text(encoding="utf-8")) if args.flood.is_file() else None
    measured = dt.datetime.fromtimestamp(args.results.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(results.get("date"), str):
        measured = results["date"]

    chart(results, args.out_png)
    md = results_md(results, peers, breakdown, analysis, args.results, args.peers, args.breakdown,
                    os.path.relpath(args.out_png, args.out_md.parent), measured, flood)
    args.out_md.write_text(md, encoding="utf-8")
    print(f"report.py: wrote {args.out_md} and {args.out_png}")


if __name__ == "__main__":
    main()
