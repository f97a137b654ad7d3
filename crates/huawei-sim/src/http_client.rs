//! A deliberately tiny HTTP/1.1 client for `http://` URLs: the demo partner platform calling the
//! bridge's API and the simulator fetching IdP metadata, both over loopback. Not for the
//! internet (no TLS, no redirects, bounded responses).

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use url::Url;

/// Largest response accepted.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;
/// Time allowed for a whole exchange.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Only plain `http://host:port` URLs are supported.
    #[error("unsupported URL {0}")]
    Url(String),
    /// Network or protocol failure.
    #[error("HTTP exchange failed: {0}")]
    Io(String),
}

/// A response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request and reads the whole response (`Connection: close`).
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, HttpError> {
    tokio::time::timeout(TIMEOUT, exchange(method, url, headers, body))
        .await
        .map_err(|_| HttpError::Io("timed out".into()))?
}

async fn exchange(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, HttpError> {
    let parsed = Url::parse(url).map_err(|_| HttpError::Url(url.to_owned()))?;
    let host = parsed
        .host_str()
        .filter(|_| parsed.scheme() == "http")
        .ok_or_else(|| HttpError::Url(url.to_owned()))?;
    let port = parsed.port().unwrap_or(80);
    let mut target = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    let io = |e: std::io::Error| HttpError::Io(e.to_string());
    let mut stream = TcpStream::connect((host, port)).await.map_err(io)?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(body).await.map_err(io)?;
    // Read until the response is complete by its own framing (Content-Length or the last
    // chunk): some servers keep the connection open despite `Connection: close`.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await.map_err(io)?;
        raw.extend_from_slice(buf.get(..n).unwrap_or_default());
        if n == 0 || complete(&raw) {
            break;
        }
        if raw.len() > MAX_RESPONSE {
            return Err(HttpError::Io("response too large".into()));
        }
    }
    parse_response(&raw)
}

/// True when `raw` holds a whole response according to its headers.
fn complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(raw.get(..split).unwrap_or_default()).to_ascii_lowercase();
    let body_len = raw.len() - split - 4;
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body_len >= len;
    }
    if head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"))
    {
        return raw.ends_with(b"0\r\n\r\n");
    }
    false
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, HttpError> {
    let bad = || HttpError::Io("malformed response".into());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(raw.get(..split).ok_or_else(bad)?).map_err(|_| bad())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = raw.get(split + 4..).unwrap_or_default();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body = if chunked {
        dechunk(rest).ok_or_else(bad)?
    } else if let Some(len) = length {
        rest.get(..len).ok_or_else(bad)?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(rest.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{}")
            .unwrap();
        assert_eq!(
            (r.status, r.header("content-type"), r.body.as_slice()),
            (201, Some("application/json"), &b"{}"[..])
        );
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, b"abcde");
        assert!(parse_response(b"garbage").is_err());
    }
}
