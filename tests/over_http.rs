//! The service behind a real hyper server on 127.0.0.1, driven by a real HTTP client.

mod common;

use bytes::Bytes;
use common::Fixture;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[tokio::test]
async fn create_get_list_delete_over_http() {
    let fx = Fixture::new(&[]).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scim = fx.scim.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let scim = scim.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let scim = scim.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let bytes = body.collect().await?.to_bytes();
                        let response = scim.handle(hyper::Request::from_parts(parts, bytes)).await;
                        Ok::<_, hyper::Error>(response.map(Full::new))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let call = |method: &str, path: String, body: Option<Value>| {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{}{path}", fx.base))
            .header("authorization", format!("Bearer {}", fx.token))
            .header("content-type", "application/scim+json")
            .body(Full::new(
                body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
            ))
            .unwrap();
        let client = client.clone();
        async move {
            let response = client.request(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let body: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap()
            };
            (status, body)
        }
    };

    let (status, created) = call(
        "POST",
        "/Users".into(),
        Some(json!({"userName": "ann@acme.com"})),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, got) = call("GET", format!("/Users/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(got["userName"], "ann@acme.com");
    let (_, list) = call("GET", "/Users".into(), None).await;
    assert_eq!(list["totalResults"], 1);
    let (status, _) = call("DELETE", format!("/Users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = call("GET", format!("/Users/{id}"), None).await;
    assert_eq!(status, 404);
}
