//! A request id for every request: generated here (never taken from the client, so logs cannot
//! be spoofed), put in the tracing span, the `x-request-id` response header, error pages and JSON
//! errors. It is also the task-local [`RequestId::current`] while the request is served, so an
//! API error built anywhere (a `?` on a flow error, an extractor's rejection) carries the id of
//! its request without every caller passing it along.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The id of the current request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

tokio::task_local! {
    /// The id of the request this task is serving, set by [`assign`] around the whole request.
    static CURRENT: RequestId;
}

impl RequestId {
    /// A fresh random id (16 hex characters).
    pub fn generate() -> Self {
        let bytes = crate::random::bytes::<8>().unwrap_or_default();
        Self(crate::random::hex(&bytes))
    }

    /// The id of the request being served, inside [`assign`] (every route of the router).
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Self::clone).ok()
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Middleware: assigns the id, runs the request inside a span, sets the response header and the
/// headers every response gets (no caching of anything personal, no referrer, no framing).
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = RequestId::generate();
    req.extensions_mut().insert(id.clone());
    // The route template, never the raw path: partner user ids are path segments and may be
    // e-mail addresses or phone numbers, which must not reach the log.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", |p| p.as_str())
        .to_owned();
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    let mut res = CURRENT
        .scope(id.clone(), next.run(req).instrument(span.clone()))
        .await;
    let status = res.status().as_u16();
    span.in_scope(|| tracing::debug!(status, "response"));
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id.as_str()) {
        h.insert("x-request-id", v);
    }
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    res
}

#[cfg(test)]
mod tests {
    use super::{CURRENT, RequestId};

    #[tokio::test]
    async fn the_current_id_is_the_one_of_the_request_being_served() {
        assert_eq!(RequestId::current(), None);
        let id = RequestId::generate();
        let seen = CURRENT
            .scope(id.clone(), async {
                tokio::task::yield_now().await;
                RequestId::current()
            })
            .await;
        assert_eq!(seen, Some(id));
        assert_eq!(RequestId::current(), None);
    }
}
