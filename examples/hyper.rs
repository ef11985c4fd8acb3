//! scimkit as tower services under plain hyper 1.x, next to one of the vendor's own
//! routes. Same flags and banner as `examples/server.rs`.
//!
//! ```text
//! cargo run --example hyper --features tower
//! ```

mod common;

use std::convert::Infallible;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use scimkit::{ManagementService, ScimService};
use tower_service::Service;

async fn route(
    mut scim: ScimService,
    mut management: ManagementService,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    if path == "/healthz" {
        Ok(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
    } else if path.starts_with(management.prefix()) {
        management.call(request).await
    } else {
        scim.call(request).await
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let (app, listen) = match common::boot().await {
        Ok(booted) => booted,
        Err(code) => return code,
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    app.print_banner(listener.local_addr().unwrap_or(listen));
    let (scim, management) = (app.scim.clone(), app.management.clone());
    let service = service_fn(move |request| route(scim.clone(), management.clone(), request));
    // Limits and timeouts a vendor's server should set too: see `common::serve`.
    common::serve(listener, service, common::ServerLimits::default()).await;
    ExitCode::SUCCESS
}
