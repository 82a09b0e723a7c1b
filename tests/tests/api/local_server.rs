//! The local server (`links-local`) over real HTTP: each request becomes the API Gateway event the
//! deployed function would get, so its answers are the in-process (and deployed) answers.

use links_tests::{TestApp, basic_auth, spawn_app};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `app` over HTTP on a free port for the rest of the test.
async fn serve(app: TestApp) -> (&'static TestApp, u16) {
    let app: &'static TestApp = Box::leak(Box::new(app));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|req| tools::serve_http(&app.ctx, peer, req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (app, port)
}

/// Sends a raw HTTP/1.1 request and returns the status and the JSON body.
async fn http(port: u16, head: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "{head}\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn query_strings_reach_the_handler_as_deployed() {
    // Arrange
    let (app, port) = serve(spawn_app().await).await;
    let key = app.alice.test_key.clone();
    app.create_link(&key, TestApp::link_params("one")).await;
    app.create_link(&key, TestApp::link_params("two")).await;
    let auth = format!("Authorization: {}", basic_auth(&key));
    for query in [
        "limit=%zz",
        "limit=%31",
        "limit=+1",
        "limit=1&limit=2",
        "offset=%2B1",
        "order=reverse%5Fchronological&limit=1",
        "from=2026-01-01T00%3A00%3A00Z",
        "from=%E0%B8",
        "to=2026-01-01&from=2027-01-01",
    ] {
        // Act: the same request over HTTP and in-process.
        let (status, body) =
            http(port, &format!("GET /links?{query} HTTP/1.1\r\n{auth}"), b"").await;
        let in_process = app
            .call("GET", &format!("/links?{query}"))
            .key(&key)
            .send()
            .await;

        // Assert
        assert_eq!(status, in_process.status, "{query}: {body}");
        assert_eq!(body["code"], in_process.body["code"], "{query}");
        assert_eq!(body["limit"], in_process.body["limit"], "{query}");
        assert_eq!(body["total"], in_process.body["total"], "{query}");
    }
}

#[tokio::test]
async fn bodies_over_the_functions_limit_answer_413_over_http() {
    let (app, port) = serve(spawn_app().await).await;
    let auth = format!("Authorization: {}", basic_auth(&app.alice.test_key));
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(40_000));
    let (status, json) = http(
        port,
        &format!("POST /links HTTP/1.1\r\n{auth}\r\nContent-Type: application/json"),
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let form = "amount=2000&currency=thb&title=%E0%B8%84%E0%B9%88%E0%B8%B2&description=d";
    let (status, json) = http(
        port,
        &format!(
            "POST /links HTTP/1.1\r\n{auth}\r\nContent-Type: application/x-www-form-urlencoded"
        ),
        form.as_bytes(),
    )
    .await;
    assert_eq!((status, json["title"].as_str()), (200, Some("ค่า")));
}

#[tokio::test]
async fn a_malformed_chunked_body_is_answered_with_an_omise_error() {
    let (app, port) = serve(spawn_app().await).await;
    let auth = format!("Authorization: {}", basic_auth(&app.alice.test_key));
    for chunks in [
        // A chunk size that is not hexadecimal.
        "zz\r\n{}\r\n0\r\n\r\n",
        // A chunk longer than it said, then no terminating chunk.
        "2\r\n{\"amount\":1}\r\n",
    ] {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!(
            "POST /links HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\n{chunks}"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8(response).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();

        assert!(head.starts_with("HTTP/1.1 400"), "{chunks:?}: {text}");
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{text}"));
        assert_eq!(body["object"], "error", "{text}");
        assert_eq!(body["code"], "bad_request", "{text}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("could not be read")
        );
    }
    assert_eq!(
        app.call("GET", "/links")
            .key(&app.alice.test_key)
            .send()
            .await
            .body["total"],
        0
    );
}

#[tokio::test]
async fn a_body_over_api_gateways_limit_gets_api_gateways_own_json_answer() {
    // Arrange: one byte over the 10 MiB that API Gateway's HTTP API takes.
    let (app, port) = serve(spawn_app().await).await;
    let auth = format!("Authorization: {}", basic_auth(&app.alice.test_key));
    let body = vec![b'x'; tools::GATEWAY_MAX_BODY + 1];
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /links HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );

    // Act: the body is written beside the read, as the server may answer before taking it all.
    let sending = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut response = Vec::new();
    let mut buffer = [0; 4096];
    while let Ok(n) = reader.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..n]);
    }
    drop(sending.await);

    // Assert: API Gateway's own words, labelled as JSON as API Gateway labels them.
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(head.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        head.lines()
            .any(|line| line.eq_ignore_ascii_case("content-type: application/json")),
        "{head}"
    );
    assert_eq!(body, r#"{"message":"Request Entity Too Large"}"#);
}
