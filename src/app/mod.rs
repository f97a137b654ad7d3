//! Application assembly: settings → store → [`Bridge`] → HTTP server, with the process-level
//! pieces (logging, runtime, shutdown signal). `main.rs` only dispatches the parsed command.

pub mod commands;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{Backend, Settings};
use crate::flow::Bridge;
use crate::store::{MemoryPolicy, Store, memory::MemoryStore, redis::RedisStore};

/// Loads settings from a file with process environment overrides.
pub fn load(config: &std::path::Path) -> Result<Settings, String> {
    Settings::load(config, &|k| std::env::var(k).ok()).map_err(|e| e.to_string())
}

/// Builds the store named by the settings.
pub fn store(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Store, String> {
    Ok(match &settings.backend {
        Backend::Memory => Store::Memory(
            MemoryStore::new(clock).with_event_log_max_len(settings.event_log_max_len),
        ),
        Backend::Redis(url) => Store::Redis(
            RedisStore::connect(url, &settings.key_prefix)
                .map_err(|e| format!("store.redis_url: {e}"))?
                .with_event_log_max_len(settings.event_log_max_len),
        ),
    })
}

/// Builds a bridge with the system clock.
pub fn bridge(settings: Settings) -> Result<Arc<Bridge>, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = store(&settings, Arc::clone(&clock))?;
    Bridge::new(Arc::new(settings), store, clock)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Start-up check of the store: refuses an evicting Redis, logs what it found otherwise.
pub async fn check_store(bridge: &Bridge) -> Result<(), String> {
    match bridge.store.check_memory_policy().await? {
        MemoryPolicy::NotRedis => {}
        MemoryPolicy::NoEviction { maxmemory: 0 } => tracing::warn!(
            "Redis maxmemory-policy is noeviction but maxmemory is not set: size it for the mappings plus the bounded session state (README, Production)"
        ),
        MemoryPolicy::NoEviction { maxmemory } => {
            tracing::info!(maxmemory, "Redis maxmemory-policy is noeviction")
        }
        MemoryPolicy::Unknown(why) => tracing::warn!(
            cause = %why,
            "could not read Redis maxmemory-policy; make sure it is noeviction (README, Production)"
        ),
    }
    Ok(())
}

/// Runs the bridge on `settings.listen` until `shutdown`: builds it, checks the store, binds,
/// then serves (see [`crate::web::serve`] for the connection limits).
pub async fn serve(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    let listen: SocketAddr = settings.listen;
    let public_url = settings.public_url.clone();
    let bridge = bridge(settings)?;
    check_store(&bridge).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("listen: cannot bind {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {addr} (public URL {public_url})");
    tracing::info!(%addr, "sso-bridge started");
    crate::web::serve(listener, bridge, shutdown)
        .await
        .map_err(|e| format!("server: {e}"))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

/// The multi-threaded runtime every long-running command uses.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes and compose send), for a graceful drain.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
