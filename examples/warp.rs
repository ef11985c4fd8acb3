//! scimkit inside a warp 0.4 app, next to one of the vendor's own routes. Same flags and
//! banner as `examples/server.rs`.
//!
//! warp 0.4 is built on hyper 1 and `http` 1, the same as scimkit, so no type needs
//! converting; but warp hands a filter the request in pieces, not as an
//! `http::Request`. The pieces are put back together with the body still a stream, and
//! the tower impl reads it: up to the limit (413 past it, with or without a
//! `Content-Length`), a broken body as a SCIM 400.
//!
//! ```text
//! cargo run --example warp --features tower
//! ```

mod common;

use std::process::ExitCode;

use bytes::{Buf, Bytes};
use futures_util::{Stream, TryStreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tower_service::Service;
use warp::Filter;
use warp::http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use warp::path::FullPath;

#[tokio::main]
async fn main() -> ExitCode {
    let (app, listen) = match common::boot().await {
        Ok(booted) => booted,
        Err(code) => return code,
    };
    let (scim, management) = (app.scim.clone(), app.management.clone());
    let health = warp::path!("healthz").map(|| "ok");
    let scimkit_routes = warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            move |method: Method, path: FullPath, query: String, headers: HeaderMap, body| {
                let (mut scim, mut management) = (scim.clone(), management.clone());
                async move {
                    let Ok(uri) = rebuild_uri(&path, &query) else {
                        return Response::builder()
                            .status(StatusCode::BAD_REQUEST)
                            .body(Bytes::from_static(b"invalid request URI"))
                            .unwrap_or_default();
                    };
                    let mut request = Request::new(StreamBody::new(frames(body)));
                    *request.method_mut() = method;
                    *request.uri_mut() = uri;
                    *request.headers_mut() = headers;
                    let Ok(response) = if path.as_str().starts_with(management.prefix()) {
                        management.call(request).await
                    } else {
                        scim.call(request).await
                    };
                    // A `Full` body is already in memory: collecting it cannot wait or fail.
                    let (parts, body) = response.into_parts();
                    let bytes = match body.collect().await {
                        Ok(collected) => collected.to_bytes(),
                        Err(never) => match never {},
                    };
                    Response::from_parts(parts, bytes)
                }
            },
        );
    let routes = health.or(scimkit_routes);
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    app.print_banner(listener.local_addr().unwrap_or(listen));
    // `warp::serve` sets no header-read timeout or connection cap; serve the filter
    // through hyper with the limits a vendor's server should set (see `common::serve`).
    let service = hyper_util::service::TowerToHyperService::new(warp::service(routes));
    common::serve(listener, service, common::ServerLimits::default()).await;
    ExitCode::SUCCESS
}

/// The path and query warp took apart, as one URI again.
fn rebuild_uri(path: &FullPath, query: &str) -> Result<Uri, warp::http::uri::InvalidUri> {
    if query.is_empty() {
        path.as_str().parse()
    } else {
        format!("{}?{query}", path.as_str()).parse()
    }
}

/// warp's body chunks as `http_body` frames.
fn frames<B: Buf>(
    chunks: impl Stream<Item = Result<B, warp::Error>>,
) -> impl Stream<Item = Result<Frame<Bytes>, warp::Error>> {
    chunks.map_ok(|mut chunk| Frame::data(chunk.copy_to_bytes(chunk.remaining())))
}
