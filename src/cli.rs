//! Command-line interface: `serve` (default), `keygen`, `metadata`, `check`, `hash-api-key`.
//! Parsing is deliberately small (a handful of flags), so no argument-parsing dependency.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{Backend, Settings};
use crate::flow::Bridge;
use crate::store::{MemoryPolicy, Store, memory::MemoryStore, redis::RedisStore};
use crate::{keys, random};

/// Usage text.
pub const USAGE: &str = "\
sso-bridge: SAML identity provider for Huawei Cloud partner SSO

USAGE:
  sso-bridge demo [--ports 8080,8081,8082]
                                       run the bridge, a Huawei Cloud simulator and a demo partner
                                       platform together (no configuration, no Redis)
  sso-bridge [serve] [--config FILE]   run the service (without a config: embedded dev default)
  sso-bridge simulate --idp-metadata FILE|URL --x-account-type ID --bind-result-url URL
                      [--listen 127.0.0.1:8082] [--public-url URL]
                      [--payment-success-url URL] [--recharge-url URL]
                                       run only the Huawei Cloud IAM simulator (a stand-in SP)
  sso-bridge check --config FILE       validate a configuration and print what would be served
  sso-bridge metadata [--config FILE]  print the IdP metadata to upload to Huawei
  sso-bridge urls [--config FILE]      print every value to enter in Huawei's Partner Center
  sso-bridge keygen --key FILE --cert FILE [--days 3650] [--bits 2048] [--cn NAME]
                                       write a new RSA key and self-signed SHA-256 certificate
  sso-bridge hash-api-key [--generate] print the SHA-256 of a partner API key read from stdin
                                       (or of a newly generated one, printed too)

The config file can also be named by SSO_BRIDGE_CONFIG. See deploy/config.example.toml.
";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the service.
    Serve {
        /// Config file; `None` means the embedded default.
        config: Option<PathBuf>,
    },
    /// Validate and describe a config.
    Check {
        /// Config file.
        config: Option<PathBuf>,
    },
    /// Print the Partner Center values.
    Urls {
        /// Config file.
        config: Option<PathBuf>,
    },
    /// Print metadata.
    Metadata {
        /// Config file.
        config: Option<PathBuf>,
    },
    /// Generate a key pair.
    Keygen {
        /// Key path.
        key: PathBuf,
        /// Certificate path.
        cert: PathBuf,
        /// Validity.
        days: u32,
        /// RSA size.
        bits: u32,
        /// Certificate common name.
        cn: String,
    },
    /// Run the demo.
    Demo {
        /// Partner, bridge and simulator ports.
        ports: (u16, u16, u16),
        /// Login ticket lifetime override (tests).
        ticket_ttl: Option<u32>,
    },
    /// Run the simulator.
    Simulate {
        /// Listen address.
        listen: String,
        /// Public URL (default `http://<listen>`).
        public_url: Option<String>,
        /// IdP metadata file or http URL.
        idp_metadata: String,
        /// The partner's xAccountType.
        x_account_type: String,
        /// The partner's bind-result URL.
        bind_result_url: String,
        /// Return link targets.
        payment_success_url: Option<String>,
        /// Return link targets.
        recharge_url: Option<String>,
    },
    /// Hash an API key.
    HashApiKey {
        /// Generate a new key instead of reading one.
        generate: bool,
    },
    /// Print usage.
    Help,
}

/// Parses arguments (without the program name).
pub fn parse(args: &[String], env_config: Option<String>) -> Result<Command, String> {
    let mut it = args.iter().peekable();
    let sub = match it.peek().map(|s| s.as_str()) {
        Some(s) if !s.starts_with('-') => {
            it.next();
            s.to_owned()
        }
        _ => "serve".to_owned(),
    };
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--generate" => flags.push(("--generate".into(), None)),
            f if f.starts_with("--") => {
                let value = it.next().ok_or_else(|| format!("{f} needs a value"))?;
                flags.push((f.to_owned(), Some(value.clone())));
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let get = |name: &str| {
        flags
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    };
    let known = |allowed: &[&str]| -> Result<(), String> {
        match flags.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
            Some((n, _)) => Err(format!("{sub}: unknown option {n}")),
            None => Ok(()),
        }
    };
    let config = || {
        get("--config")
            .or_else(|| env_config.clone())
            .map(PathBuf::from)
    };
    let number = |name: &str, default: u32| -> Result<u32, String> {
        get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| format!("{name} must be a number"))
        })
    };
    match sub.as_str() {
        "serve" => known(&["--config"]).map(|()| Command::Serve { config: config() }),
        "check" => known(&["--config"]).map(|()| Command::Check { config: config() }),
        "metadata" => known(&["--config"]).map(|()| Command::Metadata { config: config() }),
        "urls" => known(&["--config"]).map(|()| Command::Urls { config: config() }),
        "keygen" => {
            known(&["--key", "--cert", "--days", "--bits", "--cn"])?;
            Ok(Command::Keygen {
                key: get("--key").ok_or("keygen: --key FILE is required")?.into(),
                cert: get("--cert")
                    .ok_or("keygen: --cert FILE is required")?
                    .into(),
                days: number("--days", 3650)?,
                bits: number("--bits", 2048)?,
                cn: get("--cn").unwrap_or_else(|| "sso-bridge".into()),
            })
        }
        "demo" => {
            known(&["--ports", "--ticket-ttl"])?;
            let ports = get("--ports").unwrap_or_else(|| "8080,8081,8082".into());
            let parsed: Vec<u16> = ports
                .split(',')
                .map(|p| {
                    p.trim().parse().map_err(|_| {
                        "--ports takes three port numbers, e.g. 8080,8081,8082".to_owned()
                    })
                })
                .collect::<Result<_, _>>()?;
            let [partner, bridge, simulator] = parsed.as_slice() else {
                return Err("--ports takes three port numbers, e.g. 8080,8081,8082".into());
            };
            Ok(Command::Demo {
                ports: (*partner, *bridge, *simulator),
                ticket_ttl: get("--ticket-ttl")
                    .map(|t| {
                        t.parse()
                            .map_err(|_| "--ticket-ttl must be a number".to_owned())
                    })
                    .transpose()?,
            })
        }
        "simulate" => {
            known(&[
                "--listen",
                "--public-url",
                "--idp-metadata",
                "--x-account-type",
                "--bind-result-url",
                "--payment-success-url",
                "--recharge-url",
            ])?;
            Ok(Command::Simulate {
                listen: get("--listen").unwrap_or_else(|| "127.0.0.1:8082".into()),
                public_url: get("--public-url"),
                idp_metadata: get("--idp-metadata")
                    .ok_or("simulate: --idp-metadata FILE|URL is required")?,
                x_account_type: get("--x-account-type")
                    .ok_or("simulate: --x-account-type is required")?,
                bind_result_url: get("--bind-result-url")
                    .ok_or("simulate: --bind-result-url is required")?,
                payment_success_url: get("--payment-success-url"),
                recharge_url: get("--recharge-url"),
            })
        }
        "hash-api-key" => known(&["--generate"]).map(|()| Command::HashApiKey {
            generate: flags.iter().any(|(n, _)| n == "--generate"),
        }),
        "help" => Ok(Command::Help),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Default listen address of the embedded default.
pub fn embedded_listen() -> Result<SocketAddr, String> {
    std::env::var("SSO_BRIDGE_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()
        .map_err(|e| format!("SSO_BRIDGE_LISTEN: {e}"))
}

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

/// Runs `keygen`.
pub fn keygen(
    key: &std::path::Path,
    cert: &std::path::Path,
    days: u32,
    bits: u32,
    cn: &str,
) -> Result<String, String> {
    if bits < keys::MIN_RSA_BITS {
        return Err(format!("--bits must be at least {}", keys::MIN_RSA_BITS));
    }
    let (k, c) = keys::generate(bits, days, cn).map_err(|e| e.to_string())?;
    keys::write_new(key, cert, &k, &c).map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {} (RSA-{bits}, mode 0600) and {} (self-signed, SHA-256, {days} days)",
        key.display(),
        cert.display()
    ))
}

/// Runs `hash-api-key`: returns the lines to print.
pub fn hash_api_key(generate: bool, stdin: &mut dyn std::io::Read) -> Result<String, String> {
    let key = if generate {
        random::token().map_err(|e| e.to_string())?
    } else {
        let mut s = String::new();
        stdin.read_to_string(&mut s).map_err(|e| e.to_string())?;
        s.trim().to_owned()
    };
    if key.len() < 16 {
        return Err("an API key must have at least 16 characters".into());
    }
    let hash = random::hex(&openssl::sha::sha256(key.as_bytes()));
    Ok(if generate {
        format!(
            "api key (give to the partner platform): {key}\napi_key_sha256 (put in the config): {hash}"
        )
    } else {
        hash
    })
}

/// The values to enter in Huawei's Partner Center, per site (for `urls`).
pub fn partner_center_urls(s: &Settings) -> String {
    let mut out = format!(
        "IdP metadata (upload the file; also served at):  {}\nSSO URL (in the metadata):                         {}\nSLO URL (in the metadata):                         {}\n",
        s.metadata_url(),
        s.sso_url(),
        s.slo_url()
    );
    for site in &s.sites {
        out.push_str(&format!(
            "\nsite {} (xAccountType {})\n  通知结果绑定地址 / bind-result notification URL:  {}\n  订单支付成功跳转地址 / payment-success return URL: {}\n  订单充值跳转地址 / recharge return URL:           {}\n",
            site.name,
            site.x_account_type,
            s.bind_result_url(&site.name),
            s.return_url(&site.name, "payment-success"),
            s.return_url(&site.name, "recharge"),
        ));
        if site.payment_success_url.is_none() || site.recharge_url.is_none() {
            out.push_str("  (a return URL answers 404 until sites[].payment_success_url / recharge_url is configured)\n");
        }
    }
    out
}

/// Describes what would be served (for `check`).
pub fn describe(s: &Settings) -> String {
    let mut out = format!(
        "configuration OK\n  public URL      {}\n  listen          {}\n  dev mode        {}\n  entityID        {}\n  metadata URL    {}\n  SSO URL         {}\n  SLO URL         {}\n  store           {}\n  partner login   {}\n  API keys        {}\n",
        s.public_url,
        s.listen,
        s.dev_mode,
        s.idp.entity_id,
        s.metadata_url(),
        s.sso_url(),
        s.slo_url(),
        match &s.backend {
            Backend::Memory => "memory".to_owned(),
            Backend::Redis(_) => format!("redis (prefix {})", s.key_prefix),
        },
        s.partner_login_url,
        s.api_key_hashes.len(),
    );
    for site in &s.sites {
        out.push_str(&format!(
            "  site {:<10} xAccountType={} SP={} ACS={} login={}\n",
            site.name,
            site.x_account_type,
            site.sp.entity_id,
            site.sp.default_acs().map_or("-", |a| a.location.as_str()),
            site.login_url,
        ));
    }
    for w in &s.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse(&[], None), Ok(Command::Serve { config: None }));
        assert_eq!(
            parse(&args("--config a.toml"), None),
            Ok(Command::Serve {
                config: Some("a.toml".into())
            })
        );
        assert_eq!(
            parse(&args("check"), Some("b.toml".into())),
            Ok(Command::Check {
                config: Some("b.toml".into())
            })
        );
        assert!(matches!(
            parse(&args("keygen --key k --cert c --days 5"), None),
            Ok(Command::Keygen {
                days: 5,
                bits: 2048,
                ..
            })
        ));
        assert!(parse(&args("keygen --key k"), None).is_err());
        assert!(parse(&args("serve --bogus 1"), None).is_err());
        assert!(parse(&args("launch"), None).is_err());
        assert_eq!(
            parse(&args("hash-api-key --generate"), None),
            Ok(Command::HashApiKey { generate: true })
        );
    }

    #[test]
    fn hashes_api_keys() {
        let out = hash_api_key(false, &mut "0123456789abcdef\n".as_bytes()).unwrap();
        assert_eq!(out.len(), 64);
        assert!(hash_api_key(false, &mut "short".as_bytes()).is_err());
    }
}
