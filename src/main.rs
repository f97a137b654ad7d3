//! `sso-bridge`: parses the command line and hands over to the library.

use std::process::ExitCode;

use sso_bridge::app::{self, commands};
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
            println!("{}", commands::keygen(&key, &cert, days, bits, &cn)?);
            Ok(())
        }
        Command::HashApiKey { generate } => {
            println!(
                "{}",
                commands::hash_api_key(generate, &mut std::io::stdin())?
            );
            Ok(())
        }
        Command::Check { config } => {
            let config = config.ok_or("check needs --config FILE (or SSO_BRIDGE_CONFIG)")?;
            let settings = app::load(&config)?;
            print!("{}", commands::describe(&settings));
            Ok(())
        }
        Command::Urls { config } => {
            let settings = match config {
                Some(c) => app::load(&c)?,
                None => Settings::embedded(cli::embedded_listen()?, "unused-api-key")
                    .map_err(|e| e.to_string())?,
            };
            print!("{}", commands::partner_center_urls(&settings));
            Ok(())
        }
        Command::Metadata { config } => {
            let settings = match config {
                Some(c) => app::load(&c)?,
                None => Settings::embedded(cli::embedded_listen()?, "unused-api-key")
                    .map_err(|e| e.to_string())?,
            };
            let bridge = app::tokio_runtime()?.block_on(async { app::bridge(settings) })?;
            print!("{}", bridge.metadata_xml);
            Ok(())
        }
        Command::Serve { config } => serve(config),
        Command::Demo { ports, ticket_ttl } => demo(ports, ticket_ttl),
        Command::Simulate(args) => simulate(args),
    }
}

#[cfg(feature = "demo")]
fn demo(ports: (u16, u16, u16), ticket_ttl: Option<u32>) -> Result<(), String> {
    app::init_tracing();
    let ports = sso_bridge::demo::DemoPorts {
        partner: ports.0,
        bridge: ports.1,
        simulator: ports.2,
    };
    app::tokio_runtime()?.block_on(sso_bridge::demo::run(
        ports,
        ticket_ttl,
        |demo| {
            println!("sso-bridge demo is running:");
            println!("  partner platform   {}/   <- open this", demo.partner);
            println!("  sso-bridge         {}/saml/metadata", demo.bridge);
            println!("  Huawei simulator   {}/", demo.simulator);
            println!("  partner API key    {} (new for each run)", demo.api_key);
            println!("open {}/", demo.partner);
        },
        app::shutdown_signal(),
    ))
}

#[cfg(feature = "demo")]
fn simulate(args: cli::SimulateArgs) -> Result<(), String> {
    app::init_tracing();
    app::tokio_runtime()?.block_on(sso_bridge::demo::simulate(args, app::shutdown_signal()))
}

/// Why `demo` and `simulate` fail in a build without the `demo` feature.
#[cfg(not(feature = "demo"))]
const NO_DEMO: &str = "this build of sso-bridge has no demo and no simulator (it was built with --no-default-features); use a build with the default features";

#[cfg(not(feature = "demo"))]
fn demo(_ports: (u16, u16, u16), _ticket_ttl: Option<u32>) -> Result<(), String> {
    Err(NO_DEMO.into())
}

#[cfg(not(feature = "demo"))]
fn simulate(_args: cli::SimulateArgs) -> Result<(), String> {
    Err(NO_DEMO.into())
}

fn serve(config: Option<std::path::PathBuf>) -> Result<(), String> {
    app::init_tracing();
    let settings = match config {
        Some(c) => app::load(&c)?,
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
    app::tokio_runtime()?.block_on(app::serve(settings, app::shutdown_signal()))
}
