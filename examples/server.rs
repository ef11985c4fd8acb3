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
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use scimkit::{ManagementService, ScimService};
use tokio::net::TcpListener;

/// Routes by prefix: SCIM for identity providers, management for the vendor's own code.
async fn serve(
    scim: &ScimService,
    management: &ManagementService,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = request.uri().path();
    let for_scim = path.starts_with(scim.prefix());
    if !for_scim && !path.starts_with(management.prefix()) {
        // The vendor's own routes would go here; anything else answers like SCIM does.
        let error = scimkit::ScimError::not_found(format!("no endpoint at `{path}`"));
        let mut response =
            hyper::Response::new(Full::new(Bytes::from(error.to_json().to_string())));
        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(scimkit::service::SCIM_JSON),
        );
        return response;
    }
    let (parts, body) = request.into_parts();
    // A declared length past the limit is answered at once (the connection then closes
    // lingeringly, see `common::serve`, so the client still reads the 413).
    if body
        .size_hint()
        .upper()
        .is_some_and(|length| length > scim.max_body_bytes() as u64)
    {
        return scim.payload_too_large().map(Full::new);
    }
    let response = match Limited::new(body, scim.max_body_bytes()).collect().await {
        Ok(collected) => {
            let request = hyper::Request::from_parts(parts, collected.to_bytes());
            if for_scim {
                scim.handle(request).await
            } else {
                management.handle(request).await
            }
        }
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            scim.payload_too_large()
        }
        // The body broke off (a reset connection): what arrived is not a request.
        Err(error) => {
            let error = scimkit::ScimError::bad_request(
                scimkit::ScimType::InvalidSyntax,
                format!("the request body could not be read: {error}"),
            );
            let mut response = hyper::Response::new(Bytes::from(error.to_json().to_string()));
            *response.status_mut() = error.status;
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(scimkit::service::SCIM_JSON),
            );
            response
        }
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
    // One reference count per request, not one per service and its parts.
    let services = std::sync::Arc::new((app.scim.clone(), app.management.clone()));
    let service = service_fn(move |request| {
        let services = services.clone();
        async move {
            let (scim, management) = &*services;
            Ok::<_, std::convert::Infallible>(serve(scim, management, request).await)
        }
    });
    common::serve(listener, service, common::ServerLimits::default()).await;
    ExitCode::SUCCESS
}
