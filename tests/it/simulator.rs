//! The whole product against the Huawei simulator as the SP side: the demo's three services on
//! loopback, driven by a small scripted user agent (cookies per host, redirects, auto-submitted
//! forms). The real-browser version is in `chromium.rs`.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use huawei_sim::http_client::{self, HttpResponse};

use crate::support::form_value;

/// A scripted user agent: follows redirects, keeps cookies per host, submits forms.
#[derive(Default)]
pub struct Agent {
    cookies: HashMap<String, HashMap<String, String>>,
    pub last_url: String,
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

fn resolve(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| location.to_owned())
}

impl Agent {
    async fn send(&mut self, method: &str, url: &str, form: Option<&str>) -> HttpResponse {
        let host = host_of(url);
        let cookie = self
            .cookies
            .get(&host)
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let mut headers = vec![("Accept-Language", "en"), ("Cookie", cookie.as_str())];
        if form.is_some() {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let res = http_client::request(method, url, &headers, form.unwrap_or("").as_bytes())
            .await
            .unwrap();
        for (name, value) in &res.headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or("");
                if let Some((k, v)) = pair.split_once('=') {
                    let jar = self.cookies.entry(host.clone()).or_default();
                    if value.contains("Max-Age=0") {
                        jar.remove(k.trim());
                    } else {
                        jar.insert(k.trim().to_owned(), v.to_owned());
                    }
                }
            }
        }
        self.last_url = url.to_owned();
        res
    }

    /// Requests `url` and follows redirects and auto-submitting forms until a page stops.
    pub async fn go(&mut self, method: &str, url: &str, form: Option<&str>) -> (u16, String) {
        let (mut method, mut url, mut form) =
            (method.to_owned(), url.to_owned(), form.map(str::to_owned));
        for _ in 0..20 {
            let res = self.send(&method, &url, form.as_deref()).await;
            if matches!(res.status, 301 | 302 | 303 | 307) {
                url = resolve(&url, res.header("location").unwrap());
                method = "GET".into();
                form = None;
                continue;
            }
            let body = String::from_utf8_lossy(&res.body).into_owned();
            if body.contains("document.forms[0].submit()") {
                let (action, fields) = form_of(&body, None);
                url = resolve(&url, &action);
                method = "POST".into();
                form = Some(fields);
                continue;
            }
            return (res.status, body);
        }
        panic!("redirect loop at {url}");
    }

    /// Submits the form that contains the button with `id`.
    pub async fn click(&mut self, page: &str, id: &str) -> (u16, String) {
        let (action, fields) = form_of(page, Some(id));
        let base = self.last_url.clone();
        self.go("POST", &resolve(&base, &action), Some(&fields))
            .await
    }
}

/// `(action, urlencoded fields)` of the form holding button `id` (or the first form).
pub fn form_of(page: &str, button: Option<&str>) -> (String, String) {
    let forms: Vec<&str> = page
        .split("<form")
        .skip(1)
        .map(|f| f.split("</form>").next().unwrap())
        .collect();
    let form = match button {
        Some(id) => forms
            .iter()
            .find(|f| f.contains(&format!("id=\"{id}\"")))
            .unwrap_or_else(|| panic!("no form with #{id} in {page}")),
        None => forms.first().unwrap(),
    };
    let action = form
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let mut fields = url::form_urlencoded::Serializer::new(String::new());
    for input in form.split("<input").skip(1) {
        let attr = |n: &str| {
            input
                .split(&format!("{n}=\""))
                .nth(1)
                .map(|v| v.split('"').next().unwrap().to_owned())
        };
        if let Some(name) = attr("name") {
            let value = form_value(
                &format!(
                    "name=\"{name}\" value=\"{}\"",
                    attr("value").unwrap_or_default()
                ),
                &name,
            )
            .unwrap_or_default();
            fields.append_pair(&name, &value);
        }
    }
    if let Some(id) = button {
        let tag = form
            .split("<button")
            .find(|b| b.contains(&format!("id=\"{id}\"")))
            .unwrap();
        if let (Some(n), Some(v)) = (tag.split("name=\"").nth(1), tag.split("value=\"").nth(1)) {
            fields.append_pair(n.split('"').next().unwrap(), v.split('"').next().unwrap());
        }
    }
    (action, fields.finish())
}

/// Starts the demo on free ports; returns its URLs and API key.
pub async fn start_demo(ticket_ttl: Option<u32>) -> sso_bridge::demo::Running {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let ports = sso_bridge::demo::DemoPorts {
            partner: 0,
            bridge: 0,
            simulator: 0,
        };
        sso_bridge::demo::run(
            ports,
            ticket_ttl,
            |running| drop(tx.send(running.clone())),
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    rx.await.unwrap()
}

pub async fn api_get(demo: &sso_bridge::demo::Running, path: &str) -> serde_json::Value {
    let auth = format!("Bearer {}", demo.api_key);
    let bridge = &demo.bridge;
    let res = http_client::request(
        "GET",
        &format!("{bridge}{path}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await
    .unwrap();
    serde_json::from_slice(&res.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_binds_second_goes_straight_in_logout_ends_it() {
    let demo = start_demo(None).await;
    let (partner, bridge, sim) = (&demo.partner, &demo.bridge, &demo.simulator);
    let mut ua = Agent::default();
    let (_, page) = ua.go("GET", &format!("{partner}/"), None).await;
    let (_, home) = ua.click(&page, "login-demo-1001").await;
    assert!(home.contains("Welcome"), "{home}");

    // First jump: the bridge asks the customer to confirm who they are (docs/security.md A16), then
    // the simulator asks to create or link an account.
    let (status, confirm) = ua.click(&home, "open-console").await;
    assert_eq!(status, 200, "{}: {confirm}", ua.last_url);
    assert!(
        confirm.contains("Confirm sign-in to Huawei Cloud")
            && confirm.contains("张三 Zhang San")
            && confirm.contains("demo-1001")
            && confirm.contains("z***n@example.com")
            && confirm.contains("0086-138****0001")
            && !confirm.contains("zhangsan@example.com"),
        "{confirm}"
    );
    let (status, choice) = ua.click(&confirm, "confirm-continue").await;
    assert_eq!(status, 200, "{}: {choice}", ua.last_url);
    assert!(
        choice.contains("Create a new Huawei Cloud account"),
        "{choice}"
    );
    // Create: the bind-result notification goes through the "browser" to the bridge, then on to
    // the service (the simulated console).
    let (status, console) = ua.click(&choice, "create-account").await;
    assert_eq!(status, 200, "{console}");
    assert!(
        ua.last_url.starts_with(&format!("{sim}/console")),
        "{}",
        ua.last_url
    );
    assert!(console.contains("id=\"x-user-id\">demo-1001<"), "{console}");
    assert!(console.contains("isFirstLogin=true"));
    let mapping = api_get(&demo, "/api/v1/sites/cn/mappings/demo-1001").await;
    assert_eq!(mapping["source"], "bind_notification");
    assert_eq!(mapping["domain_name"], "zhang_san");

    // Second jump: no binding.
    let (_, home) = ua.go("GET", &format!("{partner}/"), None).await;
    let (_, console) = ua.click(&home, "open-console").await;
    assert!(console.contains("isFirstLogin=false"), "{console}");
    assert!(console.contains(&format!(
        "<code id=\"domain-id\">{}</code>",
        mapping["domain_id"].as_str().unwrap()
    )));

    // Return link to the partner platform through the bridge, with the order id passed along.
    let href = console
        .split("id=\"order-details\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(
        href.starts_with(&format!("{bridge}/return/cn/payment-success?orderId=CS")),
        "{href}"
    );
    let (status, paid) = ua.go("GET", &href, None).await;
    assert_eq!(status, 200);
    assert!(
        ua.last_url
            .starts_with(&format!("{partner}/orders/paid?orderId=CS")),
        "{}",
        ua.last_url
    );
    assert!(paid.contains("Order paid"));

    // Log out at the console: signed LogoutRequest → bridge → signed LogoutResponse.
    let (_, console) = ua.go("GET", &format!("{sim}/console"), None).await;
    let (status, out) = ua.click(&console, "logout").await;
    assert_eq!(status, 200, "{out}");
    assert!(out.contains("You have signed out"), "{out}");
    // The bridge session is gone: Huawei's next request is sent to the partner login page.
    let (_, next) = ua
        .go(
            "GET",
            &format!("{sim}/authui/saml/login?xAccountType=demo-partner&isFirstLogin=false"),
            None,
        )
        .await;
    assert!(
        ua.last_url.starts_with(&format!("{partner}/login?resume=")),
        "{}: {next}",
        ua.last_url
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_acs_rejects_a_tampered_assertion_precisely() {
    let demo = start_demo(None).await;
    let (partner, sim) = (&demo.partner, &demo.simulator);
    let mut ua = Agent::default();
    let (_, page) = ua.go("GET", &format!("{partner}/"), None).await;
    let (_, home) = ua.click(&page, "login-demo-1002").await;
    // Stop at the bridge's auto-POST page (confirming the first login on the way).
    let res = ua
        .send("POST", &format!("{partner}/open-console"), Some(""))
        .await;
    let mut url = res.header("location").unwrap().to_owned();
    let mut form: Option<String> = None;
    let post_page = loop {
        let method = if form.is_some() { "POST" } else { "GET" };
        let res = ua.send(method, &url, form.as_deref()).await;
        form = None;
        match res.header("location") {
            Some(l) => url = resolve(&url, l),
            None => {
                let page = String::from_utf8_lossy(&res.body).into_owned();
                if !page.contains("confirm-continue") {
                    break page;
                }
                let (action, fields) = form_of(&page, Some("confirm-continue"));
                url = resolve(&url, &action);
                form = Some(fields);
            }
        }
    };
    let _ = home;
    let saml = form_value(&post_page, "SAMLResponse").unwrap();
    let relay = form_value(&post_page, "RelayState").unwrap();
    let xml = String::from_utf8(STANDARD.decode(&saml).unwrap()).unwrap();
    let tampered = STANDARD.encode(xml.replacen(">demo-1002<", ">demo-1001<", 2));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &tampered)
        .append_pair("RelayState", &relay)
        .finish();
    let (status, checks) = ua
        .go(
            "POST",
            &format!("{sim}/authui/saml/SAMLAssertionConsumer"),
            Some(&body),
        )
        .await;
    assert_eq!(status, 400);
    assert!(checks.contains("SAML Response rejected"));
    assert!(checks.contains("<span class=\"fail\">FAIL</span> <strong>Assertion signature verifies with the IdP metadata certificate (R7, R8)</strong><br><span class=\"muted\">digest does not match"), "{checks}");
    assert!(checks.contains(
        "<span class=\"ok\">PASS</span> <strong>Response Destination = our ACS (R1)</strong>"
    ));
}

/// Each demo run makes its own partner API key; no key is shared between runs or published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_run_has_its_own_api_key() {
    let (one, two) = (start_demo(None).await, start_demo(None).await);
    assert_ne!(one.api_key, two.api_key);
    assert!(one.api_key.len() >= 32, "{}", one.api_key);
    let events = api_get(&one, "/api/v1/events").await;
    assert!(events.get("events").is_some(), "{events}");
    let auth = format!("Bearer {}", two.api_key);
    let res = http_client::request(
        "GET",
        &format!("{}/api/v1/events", one.bridge),
        &[("Authorization", &auth)],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(res.status, 401);
}
