//! scimkit inside a warp 0.4 app, next to one of the vendor's own routes. Same flags and
//! banner as `examples/server.rs`. warp hands over method, path, headers and body; the
//! SCIM service answers with an `http::Response`, which warp sends as is.
//!
//! ```text
//! cargo run --example warp
//! ```

mod common;

use std::process::ExitCode;

use bytes::Bytes;
use warp::Filter;
use warp::http::{HeaderMap, Method};

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
        // Bodies are read up to the limit when their length is declared; requests
        // without one (a GET) get an empty body rather than an unbounded read.
        .and(
            warp::body::content_length_limit(scim.max_body_bytes() as u64)
                .and(warp::body::bytes())
                .or(warp::any().map(Bytes::new))
                .unify(),
        )
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: HeaderMap,
                  body: Bytes| {
                let (scim, management) = (scim.clone(), management.clone());
                async move {
                    let uri = if query.is_empty() {
                        path.as_str().to_owned()
                    } else {
                        format!("{}?{query}", path.as_str())
                    };
                    let mut request = http::Request::new(body);
                    *request.method_mut() = method;
                    *request.headers_mut() = headers;
                    match uri.parse() {
                        Ok(uri) => *request.uri_mut() = uri,
                        Err(_) => {
                            let mut bad =
                                http::Response::new(Bytes::from_static(b"invalid request URI"));
                            *bad.status_mut() = http::StatusCode::BAD_REQUEST;
                            return bad;
                        }
                    }
                    if path.as_str().starts_with(management.prefix()) {
                        management.handle(request).await
                    } else {
                        scim.handle(request).await
                    }
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
    warp::serve(routes).incoming(listener).run().await;
    ExitCode::SUCCESS
}
