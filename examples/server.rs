//! A SCIM server with one organization and one directory, for trying scimkit with curl or
//! an identity provider.
//!
//! ```text
//! cargo run --example server -- [--listen 127.0.0.1:8080] [--bearer-token T] [--api-key K]
//!     [--org-external-id ID] [--domain example.com ...] [--store memory|sled:PATH]
//! ```
//!
//! `--store sled:PATH` needs the `sled` feature and keeps everything across restarts:
//!
//! ```text
//! cargo run --example server --features sled -- --store sled:./scim-data --bearer-token T
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use scimkit::admin::{Admin, AdminError, IssuedToken};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::ChangeNotifier;
use scimkit::{Directory, DirectorySync, ManagementService, ScimService};
use tokio::net::TcpListener;

const USAGE: &str = "usage: server [--listen ADDR] [--bearer-token T] [--api-key K] \
[--org-external-id ID] [--domain D]... [--store memory|sled:PATH]";

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
    bearer: String,
    api_key: String,
}

/// A secret registered now, or already registered by an earlier run on the same store.
fn registered(result: Result<IssuedToken, AdminError>, secret: &str) -> Result<String, AdminError> {
    match result {
        Ok(token) => Ok(token.secret),
        Err(AdminError::TokenTaken) => Ok(secret.to_owned()),
        Err(error) => Err(error),
    }
}

/// Creates the organization, directory and credentials, or, restarting on a persistent
/// store, finds the ones the last run made (the flags stay authoritative for domains).
async fn set_up(admin: &Admin, args: &Args) -> Result<Setup, AdminError> {
    let external_id = Some(args.org_external_id.clone());
    let org = match admin
        .organization_by_external_id(&args.org_external_id)
        .await?
    {
        Some(org) => {
            admin
                .update_organization(&org.id, external_id, args.domains.clone())
                .await?
        }
        None => {
            admin
                .create_organization(external_id, args.domains.clone())
                .await?
        }
    };
    let directory = match admin.primary_directory(&org.id).await? {
        Some(directory) => directory,
        None => admin.create_directory(&org.id, true).await?,
    };
    let bearer = match &args.bearer_token {
        Some(secret) => registered(admin.add_scim_token(&directory.id, secret).await, secret)?,
        None => admin.issue_scim_token(&directory.id).await?.secret,
    };
    let api_key = match &args.api_key {
        Some(secret) => registered(admin.add_api_key(None, secret).await, secret)?,
        None => admin.issue_api_key(None).await?.secret,
    };
    Ok(Setup {
        directory,
        bearer,
        api_key,
    })
}

type Stores = (Arc<dyn DirectoryStore>, Arc<dyn TokenStore>);

/// `memory`, or `sled:PATH` (with the `sled` feature).
fn open_store(spec: &str) -> Result<Stores, String> {
    if spec == "memory" {
        let store = Arc::new(MemoryStore::new());
        return Ok((store.clone(), store));
    }
    let Some(path) = spec.strip_prefix("sled:").filter(|p| !p.is_empty()) else {
        return Err(format!(
            "--store: `{spec}` is neither `memory` nor `sled:PATH`"
        ));
    };
    #[cfg(feature = "sled")]
    {
        let store = Arc::new(scimkit::store::SledStore::open(path).map_err(|e| e.to_string())?);
        Ok((store.clone(), store))
    }
    #[cfg(not(feature = "sled"))]
    Err(format!(
        "--store sled:{path} needs the sled backend: cargo run --example server --features sled -- --store sled:{path}"
    ))
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
    let (store, tokens) = match open_store(&args.store) {
        Ok(stores) => stores,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let admin = Admin::new(store.clone(), tokens.clone());
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
    let scim = ScimService::builder(store.clone(), tokens.clone())
        .change_notifier(notifier.clone())
        .build();
    let sync = DirectorySync::new(store.clone()).with_notifier(notifier);
    let management = ManagementService::new(sync, store, tokens);
    let directory = &setup.directory.id;
    // A closed stdout (a supervisor that stopped reading) must not take the server down,
    // so the banner ignores write errors where `println!` would panic.
    let banner = format!(
        "SCIM base URL: http://{local}{}/{directory}\nSCIM bearer token: {}\nManagement base URL: http://{local}{}\nAPI key: {}\n",
        scim.prefix(),
        setup.bearer,
        management.prefix(),
        setup.api_key,
    );
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
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
