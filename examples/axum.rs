//! scimkit inside an axum app: SCIM and the management API mounted next to the vendor's
//! own routes. Same flags and banner as `examples/server.rs`.
//!
//! ```text
//! cargo run --example axum --features tower
//! ```

mod common;

use std::process::ExitCode;

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> ExitCode {
    let (app, listen) = match common::boot().await {
        Ok(booted) => booted,
        Err(code) => return code,
    };
    // `route_service` keeps the full path, so the services' own prefixes route them and
    // `meta.location` comes out right.
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route_service("/scim/v2/{*rest}", app.scim.clone())
        .route_service("/api/v1/{*rest}", app.management.clone());
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    app.print_banner(listener.local_addr().unwrap_or(listen));
    // `axum::serve` sets no header-read timeout or connection cap; serve through hyper
    // with the limits a vendor's server should set (see `common::serve`).
    let service = hyper_util::service::TowerToHyperService::new(router);
    common::serve(listener, service, common::ServerLimits::default()).await;
    ExitCode::SUCCESS
}
