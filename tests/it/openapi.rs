//! The OpenAPI document and the served API routes agree.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sso_bridge::web::api::{OPENAPI_JSON, operations};

use crate::support::*;

fn documented() -> BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

fn concrete(path: &str) -> String {
    path.replace("{site}", "cn").replace("{x_user_id}", "u1")
}

#[tokio::test]
async fn served_routes_match_the_document() {
    let env = TestEnv::new(Backend::Memory).await;
    let served: BTreeSet<(String, String)> = operations()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_owned()))
        .collect();
    assert_eq!(
        served,
        documented(),
        "operations() and openapi/openapi.json disagree"
    );

    // Every documented operation is routed (an unrouted one would answer the JSON 404/405).
    for (method, path) in &served {
        let req = Request::builder()
            .method(method.as_str())
            .uri(concrete(path))
            .body(Body::empty())
            .unwrap();
        let res = call(&env.router, req).await;
        assert!(
            !matches!(
                res.status,
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ) || res.error_code() != "not_found" && res.error_code() != "method_not_allowed",
            "{method} {path} is documented but not served: {} {}",
            res.status,
            res.body
        );
    }
    // And no other method is served on those paths.
    for path in served.iter().map(|(_, p)| p).collect::<BTreeSet<_>>() {
        for method in [
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
        ] {
            if served.contains(&(method.to_string(), path.clone())) {
                continue;
            }
            let req = Request::builder()
                .method(method.clone())
                .uri(concrete(path))
                .body(Body::empty())
                .unwrap();
            let res = call(&env.router, req).await;
            assert_eq!(
                res.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
    }

    let doc = env.get("/api/v1/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json()["openapi"], "3.1.0");
    // The repository's document, with this bridge's sites and service hosts filled in.
    let mut expected: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let ticket = &mut expected["components"]["schemas"]["TicketRequest"]["properties"];
    ticket["site"]["enum"] = serde_json::json!(["cn", null, ""]);
    ticket["service"]["pattern"] = serde_json::json!(
        "^(?:https://(?:activity\\.sp\\.test|console\\.sp\\.test)(?:[/?#][!-\\[\\]-~]*)?)?$"
    );
    assert_eq!(doc.json(), expected);
}
