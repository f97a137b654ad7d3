//! The HTML people see: the auto-POST page and error pages, small, readable on a phone, in
//! Chinese or English by `Accept-Language`. Every dynamic value is HTML-escaped here.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::sha::sha256;
use std::sync::LazyLock;

use crate::flow::{AutoPost, ConfirmReason, Confirmation};

/// The only inline script: submit the form as soon as the page loads.
const AUTO_SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

/// The only stylesheet.
const STYLE: &str = "body{font-family:system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2328;line-height:1.6}h1{font-size:1.3rem}button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#c7000b;color:#fff}code{background:#f3f3f3;padding:.1rem .3rem;border-radius:4px}.muted{color:#59636e;font-size:.9rem}code,.muted,td{overflow-wrap:anywhere}.ok{color:#1a7f37;font-weight:600}button.secondary{background:#e6e8eb;color:#1f2328}table.who{border-collapse:collapse;margin:1rem 0}table.who th{text-align:left;font-weight:400;color:#59636e;padding:.2rem 1rem .2rem 0}.fail{color:#c7000b;font-weight:600}ul.checks li{margin:.3rem 0}";

/// `'sha256-…'` sources for the CSP, computed once.
static SCRIPT_HASH: LazyLock<String> = LazyLock::new(|| csp_hash(AUTO_SUBMIT_SCRIPT));
static STYLE_HASH: LazyLock<String> = LazyLock::new(|| csp_hash(STYLE));

fn csp_hash(s: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(sha256(s.as_bytes())))
}

/// CSP for pages without script: styles by hash only.
pub fn csp_plain() -> String {
    format!(
        "default-src 'none'; style-src {}; base-uri 'none'; frame-ancestors 'none'",
        *STYLE_HASH
    )
}

/// CSP for the auto-POST page: exactly one inline script, allowed by its hash.
pub fn csp_auto_post() -> String {
    format!(
        "default-src 'none'; script-src {}; style-src {}; base-uri 'none'; frame-ancestors 'none'",
        *SCRIPT_HASH, *STYLE_HASH
    )
}

/// Page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Picks Chinese or English from `Accept-Language` by q-value; Chinese when the header is
    /// absent (most end customers of Huawei partners read Chinese), English for other languages.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Self::Zh;
        };
        let mut best: Option<(f32, Self)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Self::Zh
            } else if tag.starts_with("en") {
                Self::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::En, |(_, l)| l)
    }

    fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    // Copies runs of safe bytes at once: the SAMLResponse (several KB of base64) has none to escape.
    let mut out = String::with_capacity(s.len() + 16);
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(s.get(last..i).unwrap_or_default());
        out.push_str(entity);
        last = i + 1;
    }
    out.push_str(s.get(last..).unwrap_or_default());
    out
}

/// A whole page: the shared head, `body` (already escaped HTML) and, when `script` is set, the one
/// allowed auto-submit script (see [`csp_auto_post`]).
pub fn layout(lang: Lang, title: &str, body: &str, script: bool) -> String {
    let script = if script {
        format!("<script>{AUTO_SUBMIT_SCRIPT}</script>")
    } else {
        String::new()
    };
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{}</title><style>{STYLE}</style></head><body>{body}{script}</body></html>",
        lang.code(),
        escape(title)
    )
}

/// The HTTP-POST binding page: a form with `SAMLResponse` and `RelayState` that submits itself,
/// with a visible button for browsers without JavaScript.
pub fn auto_post(lang: Lang, post: &AutoPost) -> String {
    let mut fields = vec![("SAMLResponse", post.saml_response.as_str())];
    if let Some(r) = post.relay_state.as_deref() {
        fields.push(("RelayState", r));
    }
    auto_submit(
        lang,
        lang.pick("正在登录华为云", "Signing you in to Huawei Cloud"),
        lang.pick(
            "页面将自动跳转。如果没有跳转，请点击“继续”。",
            "You are being sent on automatically. If nothing happens, press Continue.",
        ),
        &post.acs_url,
        &fields,
    )
}

/// A form of hidden `fields` that POSTs itself to `action` as soon as the page loads, with a
/// visible button for browsers without JavaScript.
pub fn auto_submit(
    lang: Lang,
    title: &str,
    message: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> String {
    let inputs = hidden_inputs(fields);
    let body = format!(
        "<h1>{}</h1><p>{}</p><form method=\"post\" action=\"{}\">{inputs}<button type=\"submit\">{}</button></form>",
        escape(title),
        escape(message),
        escape(action),
        escape(lang.pick("继续", "Continue")),
    );
    layout(lang, title, &body, true)
}

/// A form's hidden inputs, escaped.
fn hidden_inputs(fields: &[(&str, &str)]) -> String {
    let mut inputs = String::new();
    for (name, value) in fields {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        ));
    }
    inputs
}

/// The sign-in confirmation page (docs/security.md A16, A23): who is signing in, what happens next,
/// and two buttons that POST to `/sso/confirm` with the session's anti-CSRF token. No script:
/// the customer must press a button, which a link elsewhere cannot do for them.
pub fn confirm_signin(lang: Lang, c: &Confirmation, partner_name: &str) -> String {
    let title = lang.pick("确认登录华为云", "Confirm sign-in to Huawei Cloud");
    let (lead, next) = match c.reason {
        ConfirmReason::FirstLogin => (
            lang.pick(
                "您即将以下面的合作伙伴账号首次进入华为云。",
                "You are about to open Huawei Cloud for the first time with this partner account.",
            ),
            lang.pick(
                "继续后，华为云会请您创建一个新的华为云账号，或关联一个已有的华为云账号。您选择的华为云账号将与上面的合作伙伴账号绑定，用于计费和管理。如果这不是您的账号，请不要继续。",
                "If you continue, Huawei Cloud will ask you to create a new Huawei Cloud account or link an existing one. The Huawei Cloud account you choose will be bound to the partner account above, for billing and management. If this is not your account, do not continue.",
            ),
        ),
        ConfirmReason::NotStartedHere => (
            lang.pick(
                "华为云请求以下面的合作伙伴账号为您登录，但这次登录不是刚刚从合作伙伴平台发起的。",
                "Huawei Cloud asks to sign you in with this partner account, but the sign-in was not just started from the partner platform.",
            ),
            lang.pick(
                "只有当您刚刚要求打开华为云时才继续。如果您没有这样做，请选择“这不是我”。",
                "Continue only if you just asked to open Huawei Cloud. If you did not, choose \u{201c}This is not me\u{201d}.",
            ),
        ),
    };
    let mut who = String::new();
    let mut row = |label: &str, value: &str| {
        who.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(label),
            escape(value)
        ));
    };
    if let Some(name) = &c.display_name {
        row(lang.pick("姓名", "Name"), name);
    }
    row(
        lang.pick("合作伙伴账号 ID", "Partner account ID"),
        &c.x_user_id,
    );
    if let Some(email) = &c.email {
        row(lang.pick("邮箱", "E-mail"), email);
    }
    if let Some(mobile) = &c.mobile {
        row(lang.pick("手机", "Mobile"), mobile);
    }
    let mut fields = vec![("csrf", c.csrf.as_str())];
    if let Some(state) = &c.state {
        fields.push(("state", state.as_str()));
    }
    let inputs = hidden_inputs(&fields);
    let body = format!(
        "<h1>{}</h1><p class=\"muted\">{} {}</p><p>{}</p><table class=\"who\">{who}</table><p>{}</p>\
         <form method=\"post\" action=\"/sso/confirm\">{inputs}\
         <p><button type=\"submit\" name=\"action\" value=\"continue\" id=\"confirm-continue\">{}</button></p>\
         <p><button type=\"submit\" name=\"action\" value=\"cancel\" id=\"confirm-cancel\" class=\"secondary\">{}</button></p></form>",
        escape(title),
        escape(lang.pick("合作伙伴平台：", "Partner platform:")),
        escape(partner_name),
        escape(lead),
        escape(next),
        escape(lang.pick(
            "是我，继续前往华为云",
            "This is me, continue to Huawei Cloud"
        )),
        escape(lang.pick("这不是我", "This is not me")),
    );
    layout(lang, title, &body, false)
}

/// The logout confirmation page (docs/security.md A20): a plain GET of `/saml/slo` ends nothing by
/// itself.
pub fn confirm_logout(lang: Lang, csrf: &str, back: &str) -> String {
    let title = lang.pick("退出登录", "Sign out");
    let body = format!(
        "<h1>{}</h1><p>{}</p><form method=\"post\" action=\"/saml/slo\">{}\
         <p><button type=\"submit\" id=\"logout-confirm\">{}</button></p></form><p><a href=\"{}\">{}</a></p>",
        escape(title),
        escape(lang.pick(
            "要结束您在本平台的华为云单点登录会话吗？",
            "Do you want to end your Huawei Cloud sign-in session with this platform?"
        )),
        hidden_inputs(&[("csrf", csrf)]),
        escape(lang.pick("退出登录", "Sign out")),
        escape(back),
        escape(lang.pick(
            "不退出，返回合作伙伴平台",
            "Stay signed in and go back to the partner platform"
        )),
    );
    layout(lang, title, &body, false)
}

/// Public wording of an error: title, what happened, what to do next.
pub struct ErrorText<'a> {
    /// Short title.
    pub title: &'a str,
    /// What happened.
    pub what: &'a str,
    /// What the person can do next.
    pub next: &'a str,
}

/// An error page with the request id, never reflecting input.
pub fn error_page(lang: Lang, text: &ErrorText<'_>, code: &str, request_id: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p>{}</p><p>{}</p><p class=\"muted\">{} <code>{}</code> · {} <code>{}</code></p>",
        escape(text.title),
        escape(text.what),
        escape(text.next),
        escape(lang.pick("错误代码", "Error code")),
        escape(code),
        escape(lang.pick("请求编号", "Request id")),
        escape(request_id),
    );
    layout(lang, text.title, &body, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn lang(v: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(v).unwrap());
        Lang::from_headers(&h)
    }

    #[test]
    fn negotiates_language() {
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Zh);
        assert_eq!(lang("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(lang("en-US,en;q=0.9,zh;q=0.5"), Lang::En);
        assert_eq!(lang("fr"), Lang::En);
        assert_eq!(lang("en;q=0.2, zh-TW;q=0.8"), Lang::Zh);
    }

    #[test]
    fn auto_post_escapes_everything() {
        let page = auto_post(
            Lang::En,
            &AutoPost {
                acs_url: "https://sp.example/acs?a=1&b=\"2\"".into(),
                saml_response: "PHg+".into(),
                relay_state: Some("\"><script>alert(1)</script>".into()),
            },
        );
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&quot;&gt;&lt;script&gt;"));
        assert!(page.contains("action=\"https://sp.example/acs?a=1&amp;b=&quot;2&quot;\""));
        assert_eq!(page.matches("<script>").count(), 1);
    }
}
