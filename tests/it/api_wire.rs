//! The partner API on the wire, pinned byte for byte: every error's status, code, message and
//! headers, and the exact JSON of the mapping and event bodies. A refactoring of the handlers,
//! their extractors or the view types must leave all of it as it is.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::support::*;

/// An API request: method, URI, `Authorization` (None = absent), content type and body.
fn request(
    method: &str,
    uri: &str,
    key: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    if let Some(t) = content_type {
        b = b.header(header::CONTENT_TYPE, t);
    }
    b.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn error_answers_are_pinned() {
    let env = TestEnv::new(Backend::Memory).await;
    let key = Some(API_KEY);
    let json_type = Some("application/json");
    let ndjson = Some("application/x-ndjson");
    let tickets = "/api/v1/login-tickets";
    let imports = "/api/v1/sites/cn/mapping-imports";
    let big = json!({"x_user_id": "u", "name": "x".repeat(20_000)}).to_string();
    let cases: Vec<(Request<Body>, u16, &str, &str)> = vec![
        (
            request("GET", "/api/v1/events", None, None, vec![]),
            401,
            "unauthorized",
            "send a valid partner API key as `Authorization: Bearer <key>`",
        ),
        (
            request("GET", "/api/v1/nothing-here", key, None, vec![]),
            404,
            "not_found",
            "no such API endpoint; see /api/v1/openapi.json",
        ),
        (
            request("POST", "/api/v1/events", key, None, vec![]),
            405,
            "method_not_allowed",
            "this endpoint does not accept that method; see /api/v1/openapi.json",
        ),
        (
            request("GET", "/api/v1/sites/%FF/mappings/u1", key, None, vec![]),
            400,
            "invalid_path",
            "path: Invalid UTF-8 in `site`",
        ),
        (
            request("DELETE", "/api/v1/users/%C3/sessions", key, None, vec![]),
            400,
            "invalid_path",
            "path: Invalid UTF-8 in `x_user_id`",
        ),
        (
            request(
                "GET",
                "/api/v1/sites/cn/mappings?bogus=1",
                key,
                None,
                vec![],
            ),
            422,
            "invalid_field",
            "query: unknown field `…`, expected one of `domain_id`, `cursor`, `limit`",
        ),
        (
            request("GET", "/api/v1/events?limit=x", key, None, vec![]),
            422,
            "invalid_field",
            "query: invalid digit found in string",
        ),
        (
            request(
                "GET",
                "/api/v1/sites/cn/mappings?domain_id=d-1&limit=0",
                key,
                None,
                vec![],
            ),
            422,
            "invalid_field",
            "limit: must be between 1 and 1000",
        ),
        (
            request("GET", "/api/v1/events?after=xyz", key, None, vec![]),
            422,
            "invalid_field",
            "after: must be a next_cursor value from a previous page",
        ),
        (
            request("POST", tickets, key, Some("text/plain"), b"{}".to_vec()),
            415,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        (
            request("POST", tickets, key, None, b"{}".to_vec()),
            415,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        (
            request("POST", tickets, key, json_type, b"{not json".to_vec()),
            400,
            "invalid_json",
            "request body: key must be a string at line 1 column 2",
        ),
        (
            request("POST", tickets, key, json_type, b"\"a@b.example\"".to_vec()),
            422,
            "invalid_field",
            "request body: invalid type: string \"…\", expected struct TicketRequest at line 1 column 13",
        ),
        (
            request("POST", tickets, key, json_type, big.clone().into_bytes()),
            413,
            "body_too_large",
            "request body is too large",
        ),
        // The size comes before the media type, as it always has.
        (
            request("POST", tickets, key, Some("text/plain"), big.into_bytes()),
            413,
            "body_too_large",
            "request body is too large",
        ),
        (
            request(
                "PUT",
                "/api/v1/sites/mars/mappings/u1",
                key,
                json_type,
                json!({"domain_id": "d-1", "domain_name": "name_01"})
                    .to_string()
                    .into_bytes(),
            ),
            404,
            "unknown_site",
            "unknown site",
        ),
        (
            request(
                "PUT",
                "/api/v1/sites/cn/mappings/u1",
                key,
                json_type,
                b"{}".to_vec(),
            ),
            422,
            "invalid_field",
            "request body: missing field `domain_id` at line 1 column 2",
        ),
        (
            request("GET", "/api/v1/sites/cn/mappings/nobody", key, None, vec![]),
            404,
            "mapping_not_found",
            "mapping not found",
        ),
        (
            request("POST", imports, key, json_type, b"{}\n".to_vec()),
            415,
            "unsupported_media_type",
            "send the body as application/x-ndjson or application/jsonl",
        ),
        (
            request("POST", imports, key, ndjson, vec![b'{', 0xff, b'}', b'\n']),
            400,
            "invalid_body",
            "the import must be UTF-8 NDJSON",
        ),
    ];
    for (req, status, code, message) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let res = call(&env.router, req).await;
        let body = res.json();
        assert_eq!(res.status.as_u16(), status, "{what}: {}", res.body);
        assert_eq!(body["error"]["code"], code, "{what}");
        assert_eq!(body["error"]["message"], message, "{what}");
        // One shape, nothing more; the id in the body is the one in the header.
        assert_eq!(body.as_object().unwrap().len(), 1, "{what}");
        assert_eq!(body["error"].as_object().unwrap().len(), 3, "{what}");
        let id = body["error"]["request_id"].as_str().unwrap();
        assert_eq!(id.len(), 16, "{what}");
        assert_eq!(res.header("x-request-id").as_deref(), Some(id), "{what}");
        assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            res.header("content-type").as_deref(),
            Some("application/json"),
            "{what}"
        );
        assert_eq!(
            res.header("www-authenticate").as_deref(),
            (status == 401).then_some("Bearer"),
            "{what}"
        );
        assert_eq!(res.header("retry-after"), None, "{what}");
    }
}

#[tokio::test]
async fn bodies_are_pinned_byte_for_byte() {
    let env = TestEnv::new(Backend::Memory).await;
    let now = env.now().unix_timestamp();
    let fingerprint = &sso_bridge::random::hex(&openssl::sha::sha256(API_KEY.as_bytes()))[..8];

    let put = env.put_mapping("u1", "d-1", "name_01").await;
    assert_eq!(put.status, StatusCode::CREATED);
    assert_eq!(put.header("cache-control").as_deref(), Some("no-store"));
    let mapping = format!(
        r#"{{"site":"cn","x_user_id":"u1","domain_id":"d-1","domain_name":"name_01","user_id":null,"user_name":null,"source":"api","created_at":{now},"updated_at":{now}}}"#
    );
    assert_eq!(put.body, mapping);
    let got = env.api("GET", "/api/v1/sites/cn/mappings/u1", None).await;
    assert_eq!(got.body, mapping);
    let list = env.api("GET", "/api/v1/sites/cn/mappings", None).await;
    assert_eq!(
        list.body,
        format!(r#"{{"mappings":[{mapping}],"next_cursor":null}}"#)
    );
    let by_domain = env
        .api("GET", "/api/v1/sites/cn/mappings?domain_id=d-1", None)
        .await;
    assert_eq!(by_domain.body, list.body);

    let events = env.api("GET", "/api/v1/events", None).await;
    let id = events.json()["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        events.body,
        format!(
            r#"{{"events":[{{"id":"{id}","kind":"bound","site":"cn","x_user_id":"u1","domain_id":"d-1","domain_name":"name_01","source":"api","actor":"api:{fingerprint}","at":{now}}}],"next_cursor":"{id}"}}"#
        )
    );
    let deleted = env
        .api("DELETE", "/api/v1/sites/cn/mappings/u1", None)
        .await;
    assert_eq!(deleted.body, mapping);
    let sessions = env.api("DELETE", "/api/v1/users/u1/sessions", None).await;
    assert_eq!(sessions.body, r#"{"ended":0}"#);

    let import = env
        .api(
            "POST",
            "/api/v1/sites/cn/mapping-imports",
            Some((
                "application/jsonl",
                "{\"x_user_id\":\"u2\",\"domain_id\":\"d-2\",\"domain_name\":\"name_02\"}\nnope\n",
            )),
        )
        .await;
    assert_eq!(
        import.body,
        r#"{"summary":{"created":1,"invalid":1},"results":[{"line":1,"x_user_id":"u2","status":"created","error":null},{"line":2,"x_user_id":null,"status":"invalid","error":"not a JSON mapping object: expected ident at line 1 column 2"}]}"#
    );
    let events = env.api("GET", "/api/v1/events", None).await.json();
    assert_eq!(
        events["events"][2]["actor"],
        format!("import:{fingerprint}")
    );
}

#[tokio::test]
async fn the_rate_limit_answer_is_pinned() {
    let mut o = EnvOptions::new(Backend::Memory);
    o.edit = Some(Box::new(|c: String| {
        c.replace(
            "[partner]",
            "[limits]\napi_requests_per_minute_per_key = 1\n\n[partner]",
        )
    }));
    let env = TestEnv::with(o).await;
    assert_eq!(
        env.api("GET", "/api/v1/events", None).await.status,
        StatusCode::OK
    );
    let res = env
        .api("DELETE", "/api/v1/sites/cn/mappings/u1", None)
        .await;
    assert_rate_limited(&res);
    let retry = res.header("retry-after").unwrap();
    let body = res.json();
    assert_eq!(
        body["error"]["message"],
        format!("too many requests (requests with this API key); retry after {retry} s")
    );
    assert_eq!(
        res.header("x-request-id").as_deref(),
        body["error"]["request_id"].as_str()
    );
    // A wrong key is refused before the allowance is consulted.
    let wrong = call(
        &env.router,
        request(
            "GET",
            "/api/v1/events",
            Some("wrong-key-0123456789"),
            None,
            vec![],
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

/// Every operation but the OpenAPI document authenticates first: without a valid key, a bad path,
/// a bad query and a bad body all get the 401, so a handler that forgot its `Partner` (or took it
/// after another extractor) is caught here.
#[tokio::test]
async fn every_operation_authenticates_before_anything_else() {
    let env = TestEnv::new(Backend::Memory).await;
    for (method, path, _) in sso_bridge::web::api::operations() {
        if path == "/api/v1/openapi.json" {
            continue;
        }
        let uri = format!(
            "{}?bogus=1&limit=x",
            path.replace("{site}", "%FF").replace("{x_user_id}", "%C3")
        );
        for key in [None, Some("wrong-key-0123456789")] {
            let req = request(
                method.as_str(),
                &uri,
                key,
                Some("text/plain"),
                b"\xff{".to_vec(),
            );
            let res = call(&env.router, req).await;
            assert_eq!(
                (res.status, res.error_code().as_str()),
                (StatusCode::UNAUTHORIZED, "unauthorized"),
                "{method} {path} {key:?}"
            );
        }
    }
}
