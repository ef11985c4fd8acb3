//! A SCIM server with one organization and one directory, for trying scimkit with curl or
//! an identity provider, on hyper 1.x.
//!
//! ```text
//! cargo run --example server -- [--listen 127.0.0.1:8080] [--bearer-token T] [--api-key K]
//!     [--org-external-id ID] [--domain example.com ...] [--store memory|sled:PATH|postgres:URL]
//! ```
//!
//! `--store sled:PATH` needs the `sled` feature and keeps everything across restarts:
//!
//! ```text
//! cargo run --example server --features sled -- --store sled:./scim-data --bearer-token T
//! ```
//!
//! `--store postgres:URL` needs the `postgres` feature; every server started on the same
//! database serves the same organization and directory (same SCIM base URL path) and
//! wakes the others' change-feed subscribers. On a throwaway local cluster:
//!
//! ```text
//! scripts/with-postgres.sh cargo run --example server --features postgres -- \
//!     --store 'postgres:$SCIMKIT_POSTGRES_URL' --bearer-token T
//! ```

mod common;

use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use scimkit::{ManagementService, ScimService};
use tokio::net::TcpListener;

/// Routes by prefix: SCIM for identity providers, management for the vendor's own code.
async fn serve(
    scim: ScimService,
    management: ManagementService,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = request.uri().path();
    let for_scim = path.starts_with(scim.prefix());
    if !for_scim && !path.starts_with(management.prefix()) {
        let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
        return response;
    }
    let (parts, body) = request.into_parts();
    let response = match Limited::new(body, scim.max_body_bytes()).collect().await {
        Ok(collected) => {
            let request = hyper::Request::from_parts(parts, collected.to_bytes());
            if for_scim {
                scim.handle(request).await
            } else {
                management.handle(request).await
            }
        }
        Err(_) => scim.payload_too_large(),
    };
    response.map(Full::new)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (app, listen) = match common::boot().await {
        Ok(booted) => booted,
        Err(code) => return code,
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    app.print_banner(listener.local_addr().unwrap_or(listen));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(error) => {
                eprintln!("accept failed: {error}");
                continue;
            }
        };
        let (scim, management) = (app.scim.clone(), app.management.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (scim, management) = (scim.clone(), management.clone());
                async move { Ok::<_, std::convert::Infallible>(serve(scim, management, request).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {error}");
            }
        });
    }
}
