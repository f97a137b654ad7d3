//! `sso-bridge simulate`: the Huawei IAM simulator on its own, for one partner platform whose
//! bridge runs elsewhere (a staging bridge, or one under test by hand).

use std::sync::Arc;

use huawei_sim::{IdpDescriptor, PartnerLink, Simulator, SimulatorConfig, http_client};

use crate::cli::SimulateArgs;

/// Runs the simulator until `shutdown`. The IdP metadata comes from a file or an `http://` URL.
pub async fn simulate(
    args: SimulateArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let listen = &args.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let source = &args.idp_metadata;
    let xml = if source.starts_with("http://") {
        http_client::request("GET", source, &[], b"")
            .await
            .map_err(|e| format!("--idp-metadata {source}: {e}"))?
            .body
    } else {
        std::fs::read(source).map_err(|e| format!("--idp-metadata {source}: {e}"))?
    };
    let idp = IdpDescriptor::from_metadata(&xml).map_err(|e| format!("--idp-metadata: {e}"))?;
    let config = SimulatorConfig {
        public_url: public_url.clone(),
        partners: vec![PartnerLink {
            x_account_type: args.x_account_type,
            idp,
            bind_result_url: args.bind_result_url,
            payment_success_url: args.payment_success_url,
            recharge_url: args.recharge_url,
        }],
    };
    let sim = Simulator::new(config, Arc::new(time::OffsetDateTime::now_utc))?;
    println!("Huawei Cloud IAM simulator on {public_url}");
    println!("  SP metadata for the bridge: {public_url}/authui/saml/metadata.xml");
    println!(
        "  login link: {public_url}/authui/saml/login?xAccountType=…&isFirstLogin=true&service=…"
    );
    axum::serve(listener, huawei_sim::router(Arc::new(sim)))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| e.to_string())
}
