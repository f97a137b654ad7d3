//! [`NdjsonImport`]: the body of a mapping import, as an extractor. An import may be 4 MiB where
//! every other body is 16 KiB, so it is not read by axum's buffering extractors (bound by
//! [`crate::web::MAX_BODY_BYTES`]) but streamed here, with its own limits checked as it arrives.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use http_body_util::BodyExt as _;

use super::MAX_IMPORT_BYTES;
use super::extract::{media_type_is, unsupported_media_type};
use crate::flow::mappings::MAX_IMPORT_LINES;
use crate::web::error::ApiError;

/// The media types of an import.
const NDJSON: &[&str] = &["application/x-ndjson", "application/jsonl"];

/// An NDJSON import body as text: of an NDJSON media type (checked before anything is read), at
/// most [`MAX_IMPORT_BYTES`] and [`MAX_IMPORT_LINES`] non-blank lines, UTF-8. Its lines are
/// parsed by the flow, each on its own.
#[derive(Debug, Clone)]
pub struct NdjsonImport(pub String);

impl<S: Send + Sync> FromRequest<S> for NdjsonImport {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        if !media_type_is(req.headers(), NDJSON) {
            return Err(unsupported_media_type(NDJSON));
        }
        let body = read_ndjson(req.into_body()).await?;
        String::from_utf8(body).map(Self).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the import must be UTF-8 NDJSON",
            )
        })
    }
}

/// Reads an NDJSON body chunk by chunk, counting its non-blank lines as they arrive, and stops at
/// the first chunk that would pass [`MAX_IMPORT_BYTES`] or [`MAX_IMPORT_LINES`]: an oversized
/// import is refused before it is buffered, and nothing per line is allocated while reading.
async fn read_ndjson(mut body: Body) -> Result<Vec<u8>, ApiError> {
    let mut buffer = Vec::new();
    let (mut lines, mut in_line) = (0usize, false);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the request body could not be read",
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buffer.len() + data.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "an import is at most 4 MiB; split it",
            ));
        }
        for &b in data.iter() {
            if b == b'\n' {
                lines += usize::from(in_line);
                in_line = false;
            } else if !b.is_ascii_whitespace() {
                in_line = true;
            }
        }
        if lines + usize::from(in_line) > MAX_IMPORT_LINES {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("body: must have at most {MAX_IMPORT_LINES} lines; split the import"),
            ));
        }
        buffer.extend_from_slice(&data);
    }
    Ok(buffer)
}
