//! Command-line parsing: `serve` (default), `keygen`, `metadata`, `check`, `urls`,
//! `hash-api-key`, `demo`, `simulate`. Parsing is deliberately small (a handful of flags), so no
//! argument-parsing dependency; what each command does lives in [`crate::app`].

use std::net::SocketAddr;
use std::path::PathBuf;

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
    Simulate(SimulateArgs),
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
            Ok(Command::Simulate(SimulateArgs {
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
            }))
        }
        "hash-api-key" => known(&["--generate"]).map(|()| Command::HashApiKey {
            generate: flags.iter().any(|(n, _)| n == "--generate"),
        }),
        "help" => Ok(Command::Help),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// What `simulate` runs: one simulated Huawei IAM for one partner platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulateArgs {
    /// Listen address.
    pub listen: String,
    /// Public URL (default `http://<listen>`).
    pub public_url: Option<String>,
    /// IdP metadata file or http URL.
    pub idp_metadata: String,
    /// The partner's xAccountType.
    pub x_account_type: String,
    /// The partner's bind-result URL.
    pub bind_result_url: String,
    /// Return link target for a paid order, if any.
    pub payment_success_url: Option<String>,
    /// Return link target for a top-up, if any.
    pub recharge_url: Option<String>,
}

/// Default listen address of the embedded default.
pub fn embedded_listen() -> Result<SocketAddr, String> {
    std::env::var("SSO_BRIDGE_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()
        .map_err(|e| format!("SSO_BRIDGE_LISTEN: {e}"))
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
}
