//! A SCIM server with one organization and one directory, for trying scimkit with curl or
//! an identity provider.
//!
//! ```text
//! cargo run --example server -- [--listen 127.0.0.1:8080] [--bearer-token T] [--api-key K]
//!     [--org-external-id ID] [--domain example.com ...] [--store memory]
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use scimkit::admin::{Admin, IssuedToken};
use scimkit::store::MemoryStore;
use scimkit::sync::ChangeNotifier;
use scimkit::{Directory, DirectorySync, ManagementService, ScimService};
use tokio::net::TcpListener;

const USAGE: &str = "usage: server [--listen ADDR] [--bearer-token T] [--api-key K] \
[--org-external-id ID] [--domain D]... [--store memory]";

#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    bearer_token: Option<String>,
    api_key: Option<String>,
    org_external_id: String,
    domains: Vec<String>,
    store: String,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        bearer_token: None,
        api_key: None,
        org_external_id: "example-org".into(),
        domains: Vec::new(),
        store: "memory".into(),
    };
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--listen" => {
                let text = value()?;
                parsed.listen = text.parse().map_err(|_| {
                    format!("--listen: `{text}` is not an address like 127.0.0.1:8080")
                })?;
            }
            "--bearer-token" => parsed.bearer_token = Some(value()?),
            "--api-key" => parsed.api_key = Some(value()?),
            "--org-external-id" => parsed.org_external_id = value()?,
            "--domain" => parsed.domains.push(value()?),
            "--store" => parsed.store = value()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// The organization, directory and credentials the server runs with.
struct Setup {
    directory: Directory,
    bearer: IssuedToken,
    api_key: IssuedToken,
}

async fn set_up(admin: &Admin, args: &Args) -> Result<Setup, scimkit::admin::AdminError> {
    let org = admin
        .create_organization(Some(args.org_external_id.clone()), args.domains.clone())
        .await?;
    let directory = admin.create_directory(&org.id, true).await?;
    let bearer = match &args.bearer_token {
        Some(secret) => admin.add_scim_token(&directory.id, secret).await?,
        None => admin.issue_scim_token(&directory.id).await?,
    };
    let api_key = match &args.api_key {
        Some(secret) => admin.add_api_key(None, secret).await?,
        None => admin.issue_api_key(None).await?,
    };
    Ok(Setup {
        directory,
        bearer,
        api_key,
    })
}

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
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if args.store != "memory" {
        eprintln!(
            "--store: `{}` is not supported by this build (use `memory`)",
            args.store
        );
        return ExitCode::from(2);
    }
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone(), store.clone());
    let setup = match set_up(&admin, &args).await {
        Ok(setup) => setup,
        Err(error) => {
            eprintln!("setup failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(args.listen);
    let notifier = ChangeNotifier::new();
    let scim = ScimService::builder(store.clone(), store.clone())
        .change_notifier(notifier.clone())
        .build();
    let sync = DirectorySync::new(store.clone()).with_notifier(notifier);
    let management = ManagementService::new(sync, store.clone(), store);
    let directory = &setup.directory.id;
    println!("SCIM base URL: http://{local}{}/{directory}", scim.prefix());
    println!("SCIM bearer token: {}", setup.bearer.secret);
    println!("Management base URL: http://{local}{}", management.prefix());
    println!("API key: {}", setup.api_key.secret);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(error) => {
                eprintln!("accept failed: {error}");
                continue;
            }
        };
        let (scim, management) = (scim.clone(), management.clone());
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
