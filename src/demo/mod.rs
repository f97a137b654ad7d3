//! `sso-bridge demo`: the bridge (in-memory store, generated keys), the Huawei simulator and a
//! demo partner platform on three localhost ports, wired together. One command, no
//! configuration, no Redis.
//!
//! The bridge runs on `127.0.0.1` and the other two on `localhost`: browsers treat these as
//! different sites, as a real bridge is to Huawei, so SameSite cookie rules apply as in production
//! (Huawei's bind-result POST arrives without the bridge's session cookie).

pub mod partner;
mod simulate;

pub use simulate::simulate;

use std::net::SocketAddr;
use std::sync::Arc;

use time::Duration;
use tokio::net::TcpListener;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::config::{Settings, Site};
use crate::flow::Bridge;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use huawei_sim::IdpDescriptor;
use huawei_sim::{self as simulator, PartnerLink, Simulator, SimulatorConfig};
use saml::sp_metadata::ServiceProvider;

/// The demo partner's xAccountType.
pub const DEMO_X_ACCOUNT_TYPE: &str = "demo-partner";

/// Ports of the three services (0 = any free port).
#[derive(Debug, Clone, Copy)]
pub struct DemoPorts {
    /// Demo partner platform (the page to open).
    pub partner: u16,
    /// The bridge.
    pub bridge: u16,
    /// The Huawei simulator.
    pub simulator: u16,
}

/// A running demo: the three base URLs and the partner API key of this run.
#[derive(Debug, Clone)]
pub struct Running {
    /// Demo partner platform (the page to open).
    pub partner: String,
    /// The bridge.
    pub bridge: String,
    /// The Huawei simulator.
    pub simulator: String,
    /// The partner API key, new for every run: no fixed demo key exists, so none can be copied
    /// into a production configuration.
    pub api_key: String,
}

/// Runs the demo until `shutdown`; calls `ready` once all three services listen.
pub async fn run(
    ports: DemoPorts,
    ticket_ttl: Option<u32>,
    ready: impl FnOnce(&Running),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let bind = |port: u16| async move {
        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))
    };
    let (partner_l, bridge_l, sim_l) = (
        bind(ports.partner).await?,
        bind(ports.bridge).await?,
        bind(ports.simulator).await?,
    );
    let port = |l: &TcpListener| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string());
    let partner_url = format!("http://localhost:{}", port(&partner_l)?);
    let bridge_addr = bridge_l.local_addr().map_err(|e| e.to_string())?;
    let bridge_url = format!("http://{bridge_addr}");
    let sim_url = format!("http://localhost:{}", port(&sim_l)?);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut sim = Simulator::new(
        SimulatorConfig {
            public_url: sim_url.clone(),
            partners: Vec::new(),
        },
        Arc::new(time::OffsetDateTime::now_utc),
    )?;
    let api_key = crate::random::token().map_err(|e| e.to_string())?;
    let settings = demo_settings(
        bridge_addr,
        &api_key,
        &sim.sp_metadata()?,
        &sim_url,
        &partner_url,
        ticket_ttl,
    )?;
    let bridge = Arc::new(
        Bridge::new(
            Arc::new(settings),
            Store::Memory(MemoryStore::new(Arc::clone(&clock))),
            clock,
        )
        .map_err(|e| e.to_string())?,
    );
    sim.register(PartnerLink {
        x_account_type: DEMO_X_ACCOUNT_TYPE.into(),
        idp: IdpDescriptor::from_metadata(bridge.metadata_xml.as_bytes())?,
        bind_result_url: format!("{bridge_url}/huawei/cn/bind-result"),
        payment_success_url: Some(format!("{bridge_url}/return/cn/payment-success")),
        recharge_url: Some(format!("{bridge_url}/return/cn/recharge")),
    });
    let partner = Arc::new(partner::PartnerDemo::new(
        bridge_url.clone(),
        api_key.clone(),
    ));

    ready(&Running {
        partner: partner_url,
        bridge: bridge_url,
        simulator: sim_url,
        api_key,
    });
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let servers = tokio::try_join!(
        axum::serve(partner_l, partner::router(partner))
            .with_graceful_shutdown(stop(rx.clone()))
            .into_future(),
        axum::serve(
            bridge_l,
            crate::web::router(bridge).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop(rx.clone()))
        .into_future(),
        axum::serve(sim_l, simulator::router(Arc::new(sim)))
            .with_graceful_shutdown(stop(rx))
            .into_future(),
        async move {
            shutdown.await;
            let _ = tx.send(true);
            Ok(())
        },
    );
    servers.map(drop).map_err(|e| e.to_string())
}

/// The bridge's settings for the demo: the embedded default, with the simulator as the China site
/// and the demo platform as the partner.
fn demo_settings(
    bridge: SocketAddr,
    api_key: &str,
    sim_metadata: &str,
    sim_url: &str,
    partner_url: &str,
    ticket_ttl: Option<u32>,
) -> Result<Settings, String> {
    let url = |s: String| Url::parse(&s).map_err(|e| e.to_string());
    let mut settings = Settings::embedded(bridge, api_key).map_err(|e| e.to_string())?;
    settings.partner_login_url = url(format!("{partner_url}/login"))?;
    settings.partner_landing_url = url(format!("{partner_url}/"))?;
    settings.partner_logout_url = url(format!("{partner_url}/"))?;
    if let Some(ttl) = ticket_ttl {
        settings.lifetimes.ticket = Duration::seconds(i64::from(ttl.clamp(1, 600)));
    }
    settings.warnings =
        vec!["demo: dev mode, in-memory store, generated keys, simulated Huawei Cloud".into()];
    settings.sites = vec![Site {
        name: crate::config::SiteName::parse("cn").ok_or("bad site name")?,
        x_account_type: DEMO_X_ACCOUNT_TYPE.into(),
        sp: Arc::new(
            ServiceProvider::from_metadata(sim_metadata.as_bytes(), true)
                .map_err(|e| e.to_string())?,
        ),
        login_url: url(format!("{sim_url}{}", simulator::messages::LOGIN_PATH))?,
        default_service: url(format!("{sim_url}/console"))?,
        allowed_service_hosts: vec!["localhost".into()],
        payment_success_url: Some(url(format!("{partner_url}/orders/paid"))?),
        recharge_url: Some(url(format!("{partner_url}/wallet"))?),
        return_params: vec!["orderId".into()],
    }];
    Ok(settings)
}
