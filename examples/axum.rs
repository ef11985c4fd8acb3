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
    match axum::serve(listener, router).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}
