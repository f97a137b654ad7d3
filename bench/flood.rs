//! The flood benchmark (not a timed test): `cargo bench --bench flood`.
//!
//! One bridge (release build, Redis store, `max_parked_requests = 5000`) on loopback, measured
//! in one run: legitimate SSO (customers with a session, each from its own address, 20 requests
//! a second in all) and `/healthz` (20 a second) — their p99 alone, then while a bounded flood
//! runs on 4 connections as fast as they can send:
//! - junk: the reviewers' worst case, an unsigned query whose SAMLRequest inflates to one element
//!   with thousands of attributes;
//! - signed: distinct, validly signed, sessionless AuthnRequests (what anyone can make Huawei mint),
//!   each from a new address so the per-address limit does not stop them and the parked-request
//!   cap has to;
//! - signed from 4 addresses: the same flood as a few hosts would send it (the per-address limit).
//!
//! Client addresses come from a header the bench config trusts (`limits.client_address_header`).
//! Redis memory and the parked-request index are read before and after each flood. Results go to
//! `target/bench/flood.json` and are printed as a Markdown table for bench/RESULTS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use saml::redirect::uri_component;
use serde_json::{Value, json};

mod common;
use common::*;

const PHASE: Duration = Duration::from_secs(8);
const LEGIT_USERS: usize = 20;
const LEGIT_PER_S: f64 = 20.0;
const HEALTH_PER_S: f64 = 20.0;
const FLOOD_CONNECTIONS: usize = 4;
const MAX_PARKED: usize = 5000;

/// A GET of `/saml/sso?query` from `client`, with the session `cookie` when given.
fn saml_get(query: &str, cookie: Option<&str>, client: &str) -> Vec<u8> {
    let cookie = cookie
        .map(|c| format!("Cookie: sso_bridge_session={c}\r\n"))
        .unwrap_or_default();
    format!("GET /saml/sso?{query} HTTP/1.1\r\nHost: b\r\nX-Bench-Client: {client}\r\n{cookie}\r\n")
        .into_bytes()
}

fn p99(mut v: Vec<u64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * 0.99).round() as usize] as f64 / 1000.0
}

/// Open-loop requests at `per_s` from one connection per request stream; returns latencies in
/// microseconds (from the scheduled time, so waiting behind anything counts) and non-`ok` count.
async fn paced(
    port: u16,
    requests: Vec<Vec<u8>>,
    per_s: f64,
    ok: u16,
    streams: usize,
) -> (Vec<u64>, usize) {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..streams {
        let (requests, next) = (Arc::clone(&requests), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut bad = 0;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(req) = requests.get(i) else { break };
                let at = start + Duration::from_secs_f64(i as f64 / per_s);
                tokio::time::sleep_until(at.into()).await;
                // A connection per request: a legitimate browser's request never queues behind
                // another on its own connection here, so any wait is the bridge's.
                let mut conn = Conn::open(port).await;
                let (status, _) = conn.send(req).await;
                if status != ok {
                    bad += 1;
                }
                lat.push(at.elapsed().as_micros() as u64);
            }
            (lat, bad)
        }));
    }
    let (mut lat, mut bad) = (Vec::new(), 0);
    for t in tasks {
        let (l, b) = t.await.unwrap();
        lat.extend(l);
        bad += b;
    }
    (lat, bad)
}

/// Sends `make(i)` on `FLOOD_CONNECTIONS` keep-alive connections as fast as answers come,
/// until `stop`; returns the count of answers by status.
async fn flood(
    port: u16,
    make: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> BTreeMap<u16, usize> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..FLOOD_CONNECTIONS {
        let (make, next, stop) = (Arc::clone(&make), Arc::clone(&next), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut counts = BTreeMap::new();
            let mut conn = Conn::open(port).await;
            while !stop.load(Ordering::SeqCst) {
                let (status, _) = conn.send(&make(next.fetch_add(1, Ordering::SeqCst))).await;
                *counts.entry(status).or_insert(0) += 1;
            }
            counts
        }));
    }
    let mut all = BTreeMap::new();
    for t in tasks {
        for (k, v) in t.await.unwrap() {
            *all.entry(k).or_insert(0) += v;
        }
    }
    all
}

fn parked(rport: u16) -> usize {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &rport.to_string(), "zcard", "bench:parked-index"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

struct Setup {
    port: u16,
    rport: u16,
    cookies: Vec<String>,
    legit: Vec<String>,
}

/// One phase: legitimate SSO and health probes for `PHASE`, with `flood_with` running beside them.
async fn phase(
    s: &Setup,
    name: &str,
    offset: usize,
    flood_with: Option<Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>>,
) -> Value {
    let n = (LEGIT_PER_S * PHASE.as_secs_f64()) as usize;
    let legit: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let user = i % LEGIT_USERS;
            saml_get(
                &s.legit[offset + i],
                Some(&s.cookies[user]),
                &format!("10.0.0.{}", user + 1),
            )
        })
        .collect();
    let health: Vec<Vec<u8>> = (0..(HEALTH_PER_S * PHASE.as_secs_f64()) as usize)
        .map(|_| b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n".to_vec())
        .collect();
    let memory_before = redis_used_memory(s.rport);
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = flood_with.map(|make| tokio::spawn(flood(s.port, make, Arc::clone(&stop))));
    // Let the flood reach its pace before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (legit_run, health_run) = tokio::join!(
        paced(s.port, legit, LEGIT_PER_S, 200, 4),
        paced(s.port, health, HEALTH_PER_S, 200, 2),
    );
    stop.store(true, Ordering::SeqCst);
    let flood_counts = match flooding {
        Some(f) => f.await.unwrap(),
        None => BTreeMap::new(),
    };
    let memory_after = redis_used_memory(s.rport);
    let flood_total: usize = flood_counts.values().sum();
    let out = json!({
        "phase": name,
        "legit_sso_p99_ms": p99(legit_run.0),
        "legit_sso_not_answered": legit_run.1,
        "healthz_p99_ms": p99(health_run.0),
        "flood_requests": flood_total,
        "flood_per_s": flood_total as f64 / (PHASE.as_secs_f64() + 0.5),
        "flood_statuses": flood_counts.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "redis_used_mb_before": memory_before / 1e6,
        "redis_used_mb_after": memory_after / 1e6,
        "parked_after": parked(s.rport),
    });
    println!("{out}");
    out
}

fn main() {
    let out_dir = target_dir().join("bench");
    let work = out_dir.join("flood-work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let (sp_key, sp_cert) = sso_bridge::keys::generate(4096, 30, "bench sp").unwrap();
    let sp_cert_b64 = STANDARD.encode(sp_cert.to_der().unwrap());
    let port = free_port();
    let sso = format!("http://127.0.0.1:{port}/saml/sso");
    let legit_needed = (LEGIT_PER_S * PHASE.as_secs_f64()) as usize * 4;
    println!("pre-signing requests …");
    let legit = presign(legit_needed, &sp_key, &sso, "legit");
    let signed_flood: Arc<Vec<String>> = Arc::new(presign(60_000, &sp_key, &sso, "flood"));

    let (_redis, rport, _) = start_redis(&work);
    let extra = format!(
        "max_parked_requests = {MAX_PARKED}\n[limits]\nclient_address_header = \"x-bench-client\"\nsaml_requests_per_minute_per_client = 60\napi_requests_per_minute_per_key = 0"
    );
    let config = setup(&work, &sp_cert_b64, "redis", rport, port, &extra);
    let (_bridge, _pid) = start_bridge(&config);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let mut cookies = Vec::new();
        for u in 0..LEGIT_USERS {
            cookies.push(login(port, &format!("legit-{u}")).await);
        }
        let s = Setup {
            port,
            rport,
            cookies,
            legit,
        };
        let per_phase = (LEGIT_PER_S * PHASE.as_secs_f64()) as usize;
        // The reviewers' junk: one element with 2,500 attributes, deflated (fits the 16 KiB
        // query cap), with a signature no key made.
        let attrs: String = (0..2500).map(|i| format!(" a{i}=''")).collect();
        let junk_msg = {
            use std::io::Write as _;
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(format!("<samlp:AuthnRequest{attrs}/>").as_bytes())
                .unwrap();
            uri_component(&STANDARD.encode(e.finish().unwrap()))
        };
        let junk_query = format!(
            "SAMLRequest={junk_msg}&SigAlg={}&Signature={}",
            uri_component("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
            uri_component(&STANDARD.encode([7u8; 512]))
        );
        let junk: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
            saml_get(
                &junk_query,
                None,
                &format!("10.1.{}.{}", i / 250 % 250, i % 250),
            )
        });
        let flood_q = Arc::clone(&signed_flood);
        let distributed: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
            saml_get(
                &flood_q[i % flood_q.len()],
                None,
                &format!("10.2.{}.{}", i / 250 % 250, i % 250),
            )
        });
        let flood_q = Arc::clone(&signed_flood);
        let few_hosts: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
            saml_get(
                // Its own part of the pool: the distributed phase may use up to ~40,000.
                &flood_q[40_000 + i % 20_000],
                None,
                &format!("10.3.0.{}", i % 4 + 1),
            )
        });
        vec![
            phase(&s, "no flood", 0, None).await,
            phase(
                &s,
                "junk flood (unsigned, worst-case XML)",
                per_phase,
                Some(junk),
            )
            .await,
            phase(
                &s,
                "signed sessionless flood, a new address per request",
                2 * per_phase,
                Some(distributed),
            )
            .await,
            phase(
                &s,
                "signed sessionless flood from 4 addresses",
                3 * per_phase,
                Some(few_hosts),
            )
            .await,
        ]
    });
    let out = json!({"max_parked_requests": MAX_PARKED, "phases": results});
    std::fs::write(
        out_dir.join("flood.json"),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
    println!(
        "\n| phase | legit SSO p99 ms | /healthz p99 ms | flood req/s | flood answers | Redis MB before → after | parked after |"
    );
    println!("|---|---|---|---|---|---|---|");
    for p in out["phases"].as_array().unwrap() {
        println!(
            "| {} | {:.1} | {:.1} | {:.0} | {} | {:.1} → {:.1} | {} |",
            p["phase"].as_str().unwrap(),
            p["legit_sso_p99_ms"].as_f64().unwrap(),
            p["healthz_p99_ms"].as_f64().unwrap(),
            p["flood_per_s"].as_f64().unwrap(),
            p["flood_statuses"],
            p["redis_used_mb_before"].as_f64().unwrap(),
            p["redis_used_mb_after"].as_f64().unwrap(),
            p["parked_after"]
        );
    }
}
