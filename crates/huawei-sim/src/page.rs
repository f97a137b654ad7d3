//! The simulator's own HTML and HTTP answers. Deliberately not the bridge's page code: the
//! simulator is the oracle of the bridge's tests, so a defect in one must not hide in the other.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The page style: Huawei-red headings, so a screenshot shows at once which side is speaking.
const STYLE: &str = "body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}\
h1{color:#c7000b;font-size:1.25rem}.sim{background:#fff4e5;padding:.3rem .6rem;font-size:.85rem}\
.ok{color:#137333}.fail{color:#c7000b}.muted{color:#666}code{overflow-wrap:anywhere}";
/// The one script: submit the page's form (the HTTP-POST binding through the browser).
const SUBMIT: &str = "document.forms[0].submit()";

/// Language of a page: Chinese unless the browser's first zh/en preference is English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The first `zh*` or `en*` tag of `Accept-Language` in the order the browser lists them.
    pub fn of(headers: &HeaderMap) -> Self {
        let header = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        for tag in header.split(',') {
            let tag = tag.split(';').next().unwrap_or_default().trim();
            let tag = tag.to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Self::Zh;
            }
            if tag.starts_with("en") {
                return Self::En;
            }
        }
        Self::Zh
    }

    /// `zh` or `en` text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        if self == Self::Zh { zh } else { en }
    }
}

/// HTML-escapes text for element content and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            match c {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#x27;"),
                c => out.push(c),
            }
            out
        })
}

/// A page with the simulator banner; `body` is HTML the caller escaped.
pub fn page(lang: Lang, status: StatusCode, title: &str, body: &str) -> Response {
    let banner = escape(lang.pick(
        "华为云 IAM 模拟器（测试用，不是华为云）",
        "Huawei Cloud IAM simulator (for testing; not Huawei Cloud)",
    ));
    html(
        status,
        &document(
            lang,
            title,
            &format!("<p class=\"sim\">{banner}</p>{body}"),
            "",
        ),
        "",
    )
}

/// A page whose form of hidden `fields` posts itself to `action` on load (with a button for
/// browsers without script).
pub fn self_posting_form(
    lang: Lang,
    title: &str,
    message: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Response {
    let inputs: String = fields
        .iter()
        .map(|(n, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(n),
                escape(v)
            )
        })
        .collect();
    let body = format!(
        "<h1>{}</h1><p>{}</p><form method=\"post\" action=\"{}\">{inputs}<button>{}</button></form>",
        escape(title),
        escape(message),
        escape(action),
        escape(lang.pick("继续", "Continue")),
    );
    let script = format!("<script>{SUBMIT}</script>");
    html(
        StatusCode::OK,
        &document(lang, title, &body, &script),
        &format!(" script-src {};", csp_hash(SUBMIT)),
    )
}

/// A 302 to `location`, never cached (a 500 when it cannot be a header value).
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, value),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `url` with `pairs` added to its query, percent-encoded.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{}", query.finish())
}

fn document(lang: Lang, title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>{body}{script}</body></html>",
        lang.pick("zh-CN", "en"),
        escape(title)
    )
}

/// An HTML answer that is never cached, with a CSP allowing only our style (and `extra_csp`).
fn html(status: StatusCode, document: &str, extra_csp: &str) -> Response {
    let csp = format!(
        "default-src 'none'; style-src {};{extra_csp} base-uri 'none'; frame-ancestors 'none'",
        csp_hash(STYLE)
    );
    let mut res = (status, document.to_owned()).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

fn csp_hash(inline: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(openssl::sha::sha256(inline.as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn language_follows_the_first_zh_or_en_tag() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of(&h), Lang::Zh);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, en-GB;q=0.8, zh"),
        );
        assert_eq!(Lang::of(&h), Lang::En);
    }

    #[test]
    fn query_pairs_are_encoded_and_joined() {
        assert_eq!(
            with_query("https://p/x?a=1", &[("o", "A&B")]),
            "https://p/x?a=1&o=A%26B"
        );
        assert_eq!(with_query("https://p/x", &[("o", "1")]), "https://p/x?o=1");
    }
}
