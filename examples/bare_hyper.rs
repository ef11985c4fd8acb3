//! The limit of the request shape `scripts/bench-load.sh` measures: a bare hyper 1.x
//! server that reads each request's body and answers every request with the same SCIM
//! User document. No routing, no auth, no store: what scimkit adds is the difference.
//!
//! ```text
//! cargo run --release --example bare_hyper -- --listen 127.0.0.1:8081
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"scim_user_01m8szxpyteb8bp94x551skvhd","userName":"user500@example.com","name":{"givenName":"Load"},"active":true,"meta":{"resourceType":"User","created":"2026-12-01T23:44:30.17Z","lastModified":"2026-12-01T23:44:30.17Z","location":"http://127.0.0.1/scim/v2/scim_directory_01m8szxk3yedzv1q7wp15xydqd/Users/scim_user_01m8szxpyteb8bp94x551skvhd","version":"W/\"1\""}}"#;

async fn answer(
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    // Read the body like a real handler would, so POST and PATCH cost what they carry.
    let _ = request.into_body().collect().await;
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(USER.as_bytes())));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/scim+json"),
    );
    Ok(response)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8081));
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next().map(|v| v.parse())) {
            ("--listen", Some(Ok(addr))) => listen = addr,
            _ => {
                eprintln!("usage: bare_hyper [--listen ADDR]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "listening on http://{}",
        listener.local_addr().unwrap_or(listen)
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Benchmark-only server: a failed accept is retried after a pause.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
