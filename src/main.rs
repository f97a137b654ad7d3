//! `sso-bridge`: parses the command line and hands over to the library.

use std::process::ExitCode;
use std::sync::Arc;

use sso_bridge::cli::{self, Command};
use sso_bridge::config::Settings;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args, std::env::var("SSO_BRIDGE_CONFIG").ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Command::Keygen {
            key,
            cert,
            days,
            bits,
            cn,
        } => {
            println!("{}", cli::keygen(&key, &cert, days, bits, &cn)?);
            Ok(())
        }
        Command::HashApiKey { generate } => {
            println!("{}", cli::hash_api_key(generate, &mut std::io::stdin())?);
            Ok(())
        }
        Command::Check { config } => {
            let config = config.ok_or("check needs --config FILE (or SSO_BRIDGE_CONFIG)")?;
            let settings = cli::load(&config)?;
            print!("{}", cli::describe(&settings));
            Ok(())
        }
        Command::Urls { config } => {
            let settings = match config {
                Some(c) => cli::load(&c)?,
                None => Settings::embedded(cli::embedded_listen()?, "unused-api-key")
                    .map_err(|e| e.to_string())?,
            };
            print!("{}", cli::partner_center_urls(&settings));
            Ok(())
        }
        Command::Metadata { config } => {
            let settings = match config {
                Some(c) => cli::load(&c)?,
                None => Settings::embedded(cli::embedded_listen()?, "unused-api-key")
                    .map_err(|e| e.to_string())?,
            };
            let bridge = tokio_runtime()?.block_on(async { cli::bridge(settings) })?;
            print!("{}", bridge.metadata_xml);
            Ok(())
        }
        Command::Serve { config } => serve(config),
        Command::Demo { ports, ticket_ttl } => demo(ports, ticket_ttl),
        Command::Simulate {
            listen,
            public_url,
            idp_metadata,
            x_account_type,
            bind_result_url,
            payment_success_url,
            recharge_url,
        } => {
            init_tracing();
            tokio_runtime()?.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("--listen {listen}: {e}"))?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                let public_url = public_url.unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_owned();
                let xml = if idp_metadata.starts_with("http://") {
                    huawei_sim::http_client::request("GET", &idp_metadata, &[], b"").await.map_err(|e| e.to_string())?.body
                } else {
                    std::fs::read(&idp_metadata).map_err(|e| format!("--idp-metadata {idp_metadata}: {e}"))?
                };
                let idp = huawei_sim::IdpDescriptor::from_metadata(&xml).map_err(|e| format!("--idp-metadata: {e}"))?;
                let config = huawei_sim::SimulatorConfig {
                    public_url: public_url.clone(),
                    partners: vec![huawei_sim::PartnerLink { x_account_type, idp, bind_result_url, payment_success_url, recharge_url }],
                };
                let sim = huawei_sim::Simulator::new(config, Arc::new(time::OffsetDateTime::now_utc))?;
                println!("Huawei Cloud IAM simulator on {public_url}");
                println!("  SP metadata for the bridge: {public_url}/authui/saml/metadata.xml");
                println!("  login link: {public_url}/authui/saml/login?xAccountType=…&isFirstLogin=true&service=…");
                axum::serve(listener, huawei_sim::router(Arc::new(sim)))
                    .with_graceful_shutdown(shutdown_signal())
                    .await
                    .map_err(|e| e.to_string())
            })
        }
    }
}

fn demo(ports: (u16, u16, u16), ticket_ttl: Option<u32>) -> Result<(), String> {
    init_tracing();
    let ports = sso_bridge::demo::DemoPorts {
        partner: ports.0,
        bridge: ports.1,
        simulator: ports.2,
    };
    tokio_runtime()?.block_on(sso_bridge::demo::run(
        ports,
        ticket_ttl,
        |partner, bridge, simulator| {
            println!("sso-bridge demo is running:");
            println!("  partner platform   {partner}/   <- open this");
            println!("  sso-bridge         {bridge}/saml/metadata");
            println!("  Huawei simulator   {simulator}/");
            println!("  partner API key    {}", sso_bridge::demo::DEMO_API_KEY);
            println!("open {partner}/");
        },
        shutdown_signal(),
    ))
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn serve(config: Option<std::path::PathBuf>) -> Result<(), String> {
    init_tracing();
    let settings = match config {
        Some(c) => cli::load(&c)?,
        None => {
            let api_key = match std::env::var("SSO_BRIDGE_DEV_API_KEY") {
                Ok(k) if k.len() >= 16 => k,
                _ => sso_bridge::random::token().map_err(|e| e.to_string())?,
            };
            let settings =
                Settings::embedded(cli::embedded_listen()?, &api_key).map_err(|e| e.to_string())?;
            // Printed once to the terminal (not the log) so a developer can call the API.
            println!("dev partner API key: {api_key}");
            settings
        }
    };
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    let listen = settings.listen;
    let public_url = settings.public_url.clone();
    let runtime = tokio_runtime()?;
    runtime.block_on(async move {
        let bridge = cli::bridge(settings)?;
        cli::check_store(&bridge).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("listen: cannot bind {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr} (public URL {public_url})");
        tracing::info!(%addr, "sso-bridge started");
        sso_bridge::web::serve(listener, Arc::clone(&bridge), shutdown_signal())
            .await
            .map_err(|e| format!("server: {e}"))
    })
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

async fn shutdown_signal() {
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
