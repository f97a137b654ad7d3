//! The server's connection limits over real TCP: header and request deadlines, idle keep-alive,
//! and the cap on open connections.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::*;

/// A bridge served on loopback with 1 s for headers, 2 s per request and 3 connections.
async fn served() -> (TestEnv, std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let mut o = EnvOptions::new(Backend::Memory);
    o.edit = Some(Box::new(|c: String| {
        c.replace(
            "[partner]",
            "[limits]\nheader_read_timeout_secs = 1\nrequest_timeout_secs = 2\nmax_connections = 3\n\n[partner]",
        )
    }));
    let env = TestEnv::with(o).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bridge = env.bridge.clone();
    let server = tokio::spawn(async move {
        sso_bridge::web::serve(listener, bridge, std::future::pending())
            .await
            .unwrap();
    });
    (env, addr, server)
}

/// Reads until the server closes the connection (or `limit` passes); returns what came and
/// how long it took.
async fn until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), s.read(&mut buf)).await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_trickling_and_idle_connections_are_closed() {
    let (_env, addr, server) = served().await;
    // Sends nothing.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (_, took) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "{took:?}");
    // Trickles its headers, a byte every 200 ms.
    let mut trickle = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n" {
        if trickle.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if started.elapsed() > Duration::from_secs(5) {
            panic!("trickled headers kept the connection open");
        }
    }
    let (_, _) = until_closed(&mut trickle, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    // Kept alive after a request, then idle.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, took) = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_gets_408() {
    let (_env, addr, server) = served().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "PUT /api/v1/sites/cn/mappings/u1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"domain_id\":"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (answer, took) = until_closed(&mut s, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    // The API error's request id is the one in the response header.
    let id = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap();
    assert!(
        answer.contains(&format!("\"request_id\":\"{id}\"")),
        "{answer}"
    );
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let (_env, addr, server) = served().await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // A started request holds the connection without tripping the header deadline yet.
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        open.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let (answer, took) = until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(answer.is_empty(), "{answer}");
    assert!(took < Duration::from_millis(500), "{took:?}");
    // When the held ones are gone, new connections are served again.
    drop(open);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = TcpStream::connect(addr).await.unwrap();
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = until_closed(&mut again, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stop_reading_lose_their_connection() {
    let (_env, addr, server) = served().await;
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(1024).unwrap();
        let mut s = socket.connect(addr).await.unwrap();
        let many = "GET /saml/metadata HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2000);
        // Pipelined, never read: the answers fill both socket buffers and the writes stall.
        let _ = tokio::time::timeout(Duration::from_secs(1), s.write_all(many.as_bytes())).await;
        stalled.push(s);
    }
    // All three slots are held; within the stall limit (2 s) plus a margin they are freed.
    let started = Instant::now();
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = until_closed(&mut s, Duration::from_secs(5)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "stalled clients still hold every connection"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(stalled);
    server.abort();
}
