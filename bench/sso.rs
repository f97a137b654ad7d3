//! The SSO benchmark (not a timed test): `bench/run.sh` (or `cargo bench --bench sso`).
//!
//! In one run on one machine it measures the reference (`openssl speed` RSA-2048 signatures on one
//! core and on all cores), then the full SSO path over HTTP (a pre-signed, distinct HTTP-Redirect
//! AuthnRequest with an established IdP session → signed Response) against the Redis store and the
//! memory store, at saturation and at half of it; the bridge's CPU-seconds per 1,000 responses
//! (from /proc), its peak RSS, partner API mapping reads/writes per second, Redis memory per
//! session and per mapping, and bind-result verification throughput with an RSA-4096 SP key.
//! Results go to `target/bench/results.json`; `bench/report.py` turns them into RESULTS.md and
//! a chart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;
use saml::redirect::uri_component;
use serde_json::{Value, json};

mod common;
use common::*;

const SATURATION: Duration = Duration::from_secs(6);
const FIXED: Duration = Duration::from_secs(6);
const CONNECTIONS: usize = 16;

/// `openssl speed` RSA-2048 signatures per second (`multi` processes).
fn openssl_speed(multi: usize) -> f64 {
    let mut cmd = Command::new("openssl");
    cmd.args(["speed", "-seconds", "3"]);
    if multi > 1 {
        cmd.args(["-multi", &multi.to_string()]);
    }
    let out = cmd.arg("rsa2048").stderr(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("rsa") && l.contains("2048"))
        .expect("openssl speed output");
    let nums: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    // "rsa 2048 bits 0.000243s 0.000016s 4110.0 60692.9" (the multi table has the same shape).
    nums[nums.len() - 2]
}

/// utime + stime of a process (`None` = this process), in seconds.
fn cpu_of(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |p| format!("/proc/{p}/stat"),
    );
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    let after = stat.rsplit(')').next().unwrap();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn cpu_seconds(pid: u32) -> f64 {
    cpu_of(Some(pid))
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    kb / 1024.0
}

#[derive(Debug, Default, Clone)]
struct Run {
    responses: usize,
    errors: usize,
    seconds: f64,
    latencies_us: Vec<u64>,
    bridge_cpu: f64,
    loadgen_cpu: f64,
    redis_cpu: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.responses as f64 / self.seconds
    }
    fn pct(&self, p: f64) -> f64 {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        if l.is_empty() {
            return 0.0;
        }
        l[((l.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
    }
    fn json(&self) -> Value {
        json!({"responses_per_s": self.rate(), "errors": self.errors, "p50_ms": self.pct(0.5), "p99_ms": self.pct(0.99), "p999_ms": self.pct(0.999),
               "bridge_cpu_s_per_1000": self.bridge_cpu / self.responses.max(1) as f64 * 1000.0,
               "loadgen_cpu_s_per_1000": self.loadgen_cpu / self.responses.max(1) as f64 * 1000.0,
               "redis_cpu_s_per_1000": self.redis_cpu / self.responses.max(1) as f64 * 1000.0,
               "responses": self.responses, "seconds": self.seconds})
    }
}

/// Drives `requests` through `CONNECTIONS` keep-alive connections. `rate = None`: closed loop
/// (saturation) for `duration`; `Some(r)`: open loop at `r`/s, latency from the scheduled time.
async fn drive(
    port: u16,
    pids: (u32, Option<u32>),
    requests: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
    duration: Duration,
    rate: Option<f64>,
) -> Run {
    let (pid, redis_pid) = pids;
    let start = Instant::now();
    let cpu0 = cpu_seconds(pid);
    let (self0, redis0) = (cpu_of(None), redis_pid.map_or(0.0, |p| cpu_of(Some(p))));
    let base = next.load(Ordering::SeqCst);
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (requests, next) = (Arc::clone(&requests), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(req) = requests.get(i) else { break };
                let scheduled = match rate {
                    Some(r) => start + Duration::from_secs_f64((i - base) as f64 / r),
                    None => Instant::now(),
                };
                if scheduled.duration_since(start) >= duration {
                    break;
                }
                tokio::time::sleep_until(scheduled.into()).await;
                let (status, _) = conn.send(req).await;
                if status != 200 {
                    errors += 1;
                }
                lat.push(scheduled.elapsed().as_micros() as u64);
            }
            (lat, errors)
        }));
    }
    let mut run = Run::default();
    for t in tasks {
        let (lat, errors) = t.await.unwrap();
        run.responses += lat.len();
        run.errors += errors;
        run.latencies_us.extend(lat);
    }
    run.seconds = start.elapsed().as_secs_f64();
    run.bridge_cpu = cpu_seconds(pid) - cpu0;
    run.loadgen_cpu = cpu_of(None) - self0;
    run.redis_cpu = redis_pid.map_or(0.0, |p| cpu_of(Some(p))) - redis0;
    run
}

/// Closed-loop API load: `make(i)` builds request i.
async fn api_rate(
    port: u16,
    duration: Duration,
    make: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> f64 {
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (make, next) = (Arc::clone(&make), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            let mut ok = 0usize;
            while start.elapsed() < duration {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let (status, _) = conn.send(&make(i)).await;
                if status < 300 {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    ok as f64 / start.elapsed().as_secs_f64()
}

async fn backend_run(
    backend: &str,
    sp_cert: &str,
    requests: &Arc<Vec<Vec<u8>>>,
    work: &Path,
    port: u16,
) -> Value {
    let dir = work.join(backend);
    std::fs::create_dir_all(&dir).unwrap();
    let redis = (backend == "redis").then(|| start_redis(&dir));
    let redis_port = redis.as_ref().map_or(0, |r| r.1);
    let pids = (0, redis.as_ref().map(|r| r.2));
    let limits =
        "[limits]\nsaml_requests_per_minute_per_client = 0\napi_requests_per_minute_per_key = 0";
    let config = setup(&dir, sp_cert, backend, redis_port, port, limits);
    let (_bridge, pid) = start_bridge(&config);
    let pids = (pid, pids.1);
    let cookie = login(port, "bench-user").await;
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        requests
            .iter()
            .map(|q| {
                get(
                    &format!("/saml/sso?{}", String::from_utf8_lossy(q)),
                    Some(&cookie),
                )
            })
            .collect(),
    );
    // On a fresh Redis, before any load: memory per session and per mapping, API throughput.
    let redis_figures = match &redis {
        Some((_, rport, _)) => Some(redis_figures(port, *rport).await),
        None => None,
    };
    let next = Arc::new(AtomicUsize::new(0));
    // Warm-up, then saturation, then half of it.
    drive(
        port,
        pids,
        Arc::clone(&requests),
        Arc::clone(&next),
        Duration::from_secs(1),
        None,
    )
    .await;
    let profiler = start_profiler(pid, backend);
    let saturation = drive(
        port,
        pids,
        Arc::clone(&requests),
        Arc::clone(&next),
        SATURATION,
        None,
    )
    .await;
    stop_profiler(profiler, backend);
    let half = drive(
        port,
        pids,
        Arc::clone(&requests),
        Arc::clone(&next),
        FIXED,
        Some(saturation.rate() / 2.0),
    )
    .await;
    println!(
        "{backend}: saturation {:.0}/s p99 {:.2} ms; half load p99 {:.2} ms",
        saturation.rate(),
        saturation.pct(0.99),
        half.pct(0.99)
    );
    let mut out = json!({"saturation": saturation.json(), "half_load": half.json(), "peak_rss_mb": peak_rss_mb(pid)});
    if let Some(figures) = redis_figures {
        for (k, v) in figures {
            out[k] = v;
        }
        out["peak_rss_mb"] = json!(peak_rss_mb(pid));
    }
    out
}

/// Redis memory per session (ticket + `/sso/start`, 5,000 users) and per mapping (with its event),
/// and partner API mapping writes and reads per second.
async fn redis_figures(port: u16, rport: u16) -> Vec<(&'static str, Value)> {
    const USERS: usize = 5000;
    let before = redis_used_memory(rport);
    for i in 0..USERS {
        login(port, &format!("mem-user-{i}")).await;
    }
    let sessions = redis_used_memory(rport);
    let writes = api_rate(port, Duration::from_secs(3), |i| {
        post_put(
            &format!("/api/v1/sites/cn/mappings/user-{i}"),
            &json!({"domain_id": format!("d{i}"), "domain_name": format!("name_{i:06}")})
                .to_string(),
        )
    })
    .await;
    let mapped = redis_used_memory(rport);
    let count = Command::new("redis-cli")
        .args(["-p", &rport.to_string(), "hlen", "bench:map:cn"])
        .output()
        .unwrap();
    let mappings: f64 = String::from_utf8_lossy(&count.stdout)
        .trim()
        .parse()
        .unwrap_or(1.0);
    let reads = api_rate(port, Duration::from_secs(3), |i| {
        get(
            &format!("/api/v1/sites/cn/mappings/user-{}", i % 1000),
            None,
        )
    })
    .await;
    vec![
        (
            "redis_bytes_per_session",
            json!((sessions - before) / USERS as f64),
        ),
        (
            "redis_bytes_per_mapping",
            json!((mapped - sessions) / mappings),
        ),
        ("api_mapping_writes_per_s", json!(writes)),
        ("api_mapping_reads_per_s", json!(reads)),
    ]
}

/// With `SSO_BRIDGE_BENCH_PERF=1`, samples the bridge with `perf record` (cpu-clock) during the
/// saturation run only, so the profile shows the SSO path and nothing else.
fn start_profiler(pid: u32, backend: &str) -> Option<Child> {
    std::env::var("SSO_BRIDGE_BENCH_PERF").ok()?;
    let out = target_dir()
        .join("bench")
        .join(format!("perf-{backend}.data"));
    Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "1999",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn stop_profiler(child: Option<Child>, backend: &str) {
    let Some(mut child) = child else { return };
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let dir = target_dir().join("bench");
    let data = dir.join(format!("perf-{backend}.data"));
    let mut summary = String::new();
    for sort in ["dso", "dso,sym"] {
        let out = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--percent-limit",
                "1",
                "--sort",
                sort,
                "-i",
            ])
            .arg(&data)
            .output();
        if let Ok(out) = out {
            summary.push_str(&String::from_utf8_lossy(&out.stdout));
        }
    }
    let _ = std::fs::write(dir.join(format!("profile-{backend}.txt")), summary);
}

fn post_put(path: &str, body: &str) -> Vec<u8> {
    format!("PUT {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Bind-result verifications per second on one core with an RSA-4096 SP key.
fn bind_result_rate() -> f64 {
    use sso_bridge::huawei::bind_notification::{BindForm, verify};
    let (key, cert) = sso_bridge::keys::generate(4096, 1, "sp4096").unwrap();
    let keys = vec![cert.public_key().unwrap()];
    let b64 = STANDARD.encode(
        br#"{"domainName":"yongzhi","domainId":"yongzhiid","xUserId":"yongzhix","bindAction":"0"}"#,
    );
    let mut s = Signer::new(MessageDigest::sha256(), &key).unwrap();
    s.update(b64.as_bytes()).unwrap();
    let form = BindForm {
        bind_request: b64,
        sig_alg: saml::ns::RSA_SHA256.into(),
        signature: STANDARD.encode(s.sign_to_vec().unwrap()),
    };
    let n = 3000;
    let start = Instant::now();
    for _ in 0..n {
        verify(&form, &keys).unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let out_dir = target_dir().join("bench");
    let work = out_dir.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    println!("reference: openssl speed rsa2048 …");
    let one = openssl_speed(1);
    let all = openssl_speed(std::thread::available_parallelism().map_or(2, |p| p.get()));
    println!("  {one:.0} signs/s on 1 core, {all:.0} on all cores");
    let bind_rate = bind_result_rate();
    println!("bind-result verification (RSA-4096): {bind_rate:.0}/s on 1 core");

    let (sp_key, sp_cert) =
        sso_bridge::keys::generate(4096, 30, "bench sp (RSA-4096 like Huawei)").unwrap();
    let sp_cert_b64 = STANDARD.encode(sp_cert.to_der().unwrap());
    let port = free_port();
    let count = std::env::var("SSO_BRIDGE_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40_000);
    println!("pre-signing {count} AuthnRequests with the RSA-4096 SP key …");
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        presign(
            count,
            &sp_key,
            &format!("http://127.0.0.1:{port}/saml/sso"),
            "bench",
        )
        .into_iter()
        .map(String::into_bytes)
        .collect(),
    );
    let _ = uri_component;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = rt.block_on(backend_run("redis", &sp_cert_b64, &requests, &work, port));
    let memory = rt.block_on(backend_run("memory", &sp_cert_b64, &requests, &work, port));
    let cpu_per_sign = 1.0 / one;
    let ratio = |v: &Value| {
        v["saturation"]["bridge_cpu_s_per_1000"].as_f64().unwrap() / 1000.0 / cpu_per_sign
    };
    let results = json!({
        "machine": machine(),
        "openssl_rsa2048_signs_per_s": {"one_core": one, "all_cores": all},
        "redis": redis,
        "memory": memory,
        "cost_ratio": {"redis": ratio(&redis), "memory": ratio(&memory)},
        "throughput_vs_openssl_all_cores": {"redis": redis["saturation"]["responses_per_s"].as_f64().unwrap() / all, "memory": memory["saturation"]["responses_per_s"].as_f64().unwrap() / all},
        "bind_result_verifications_per_s_one_core": bind_rate,
    });
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&results).unwrap());
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total = mem.lines().next().unwrap_or_default().to_owned();
    let openssl = String::from_utf8_lossy(
        &Command::new("openssl")
            .arg("version")
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_owned();
    json!({"cpu": model, "cores": std::thread::available_parallelism().map_or(0, |p| p.get()), "memory": total, "openssl": openssl})
}
