//! What every example server shares: the DESIGN §6 flags, the organization, directory and
//! credentials they run with, the store, and the banner they print.
#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use scimkit::admin::{Admin, AdminError, IssuedToken};
use scimkit::schema::{AttributeDef, ResourceKind, SchemaError, SchemaExtension};
use scimkit::service::{RecentRequests, SetupPage};
use scimkit::store::{DirectoryStore, MemoryStore, TokenStore};
use scimkit::sync::{ChangeNotifier, LocalNotifier};
use scimkit::{Directory, DirectorySync, ManagementService, ScimService};

const USAGE: &str = "usage: server [--listen ADDR] [--bearer-token T] [--api-key K] \
[--org-external-id ID] [--domain D]... [--store memory|sled:PATH|postgres:URL] [--acme-extension]";

#[derive(Debug)]
pub struct Args {
    listen: SocketAddr,
    bearer_token: Option<String>,
    api_key: Option<String>,
    org_external_id: String,
    domains: Vec<String>,
    store: String,
    /// Declare the demo vendor extension (see [`acme_extension`]).
    acme_extension: bool,
}

pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        bearer_token: None,
        api_key: None,
        org_external_id: "example-org".into(),
        domains: Vec::new(),
        store: "memory".into(),
        acme_extension: false,
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
            "--acme-extension" => parsed.acme_extension = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// The schema extension `--acme-extension` declares: what a vendor's own attributes look
/// like (`scimkit::docs::schema_extensions`).
pub fn acme_extension() -> Result<SchemaExtension, SchemaError> {
    SchemaExtension::builder(
        ResourceKind::User,
        "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
    )
    .name("AcmeUser")
    .description("Attributes of Acme's own product")
    .attribute(
        AttributeDef::string("costCenter")
            .description("The cost center the user's seat is billed to."),
    )
    .attribute(
        AttributeDef::integer("seatLevel").description("The product tier of the user's seat."),
    )
    .attribute(AttributeDef::boolean("beta").description("Whether the user sees beta features."))
    .build()
}

/// The organization, directory and credentials the server runs with.
pub struct Setup {
    directory: Directory,
    bearer: String,
    api_key: String,
    setup_link: String,
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
/// store (or starting next to other replicas on a shared one), finds the ones already
/// made (the flags stay authoritative for domains).
pub async fn set_up(admin: &Admin, args: &Args) -> Result<Setup, AdminError> {
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
        None => match admin
            .create_organization(external_id, args.domains.clone())
            .await
        {
            Ok(org) => org,
            // Another replica created it between our lookup and our create: use theirs.
            Err(AdminError::ExternalIdTaken(taken)) => admin
                .organization_by_external_id(&args.org_external_id)
                .await?
                .ok_or(AdminError::ExternalIdTaken(taken))?,
            Err(error) => return Err(error),
        },
    };
    let directory = match admin.primary_directory(&org.id).await? {
        Some(directory) => directory,
        None => {
            admin.create_directory(&org.id, true).await?;
            // Replicas starting at once may each create one; the last made primary wins
            // and every replica reads which one that is, so all print the same URL.
            admin
                .primary_directory(&org.id)
                .await?
                .ok_or_else(|| AdminError::UnknownOrganization(org.id.clone()))?
        }
    };
    let bearer = match &args.bearer_token {
        Some(secret) => registered(admin.add_scim_token(&directory.id, secret).await, secret)?,
        None => admin.issue_scim_token(&directory.id).await?.secret,
    };
    let api_key = match &args.api_key {
        Some(secret) => registered(admin.add_api_key(None, secret).await, secret)?,
        None => admin.issue_api_key(None).await?.secret,
    };
    // A new link each start: each opens once, for a day.
    let setup_link = admin
        .setup_link(&directory.organization_id, time::Duration::days(1))
        .await?
        .secret;
    Ok(Setup {
        directory,
        bearer,
        api_key,
        setup_link,
    })
}

type Stores = (Arc<dyn DirectoryStore>, Arc<dyn TokenStore>);

/// An opened store and the notifier that wakes change-feed subscribers for its writes.
pub struct Opened {
    pub stores: Stores,
    pub notifier: Arc<dyn ChangeNotifier>,
}

/// `memory`, `sled:PATH` (with the `sled` feature) or `postgres:URL` (with `postgres`).
pub async fn open_store(spec: &str) -> Result<Opened, String> {
    let local = || -> Arc<dyn ChangeNotifier> { Arc::new(LocalNotifier::new()) };
    if spec == "memory" {
        let store = Arc::new(MemoryStore::new());
        return Ok(Opened {
            stores: (store.clone(), store),
            notifier: local(),
        });
    }
    if let Some(url) = spec.strip_prefix("postgres:").filter(|u| !u.is_empty()) {
        return open_postgres(url).await;
    }
    let Some(path) = spec.strip_prefix("sled:").filter(|p| !p.is_empty()) else {
        return Err(format!(
            "--store: `{spec}` is neither `memory`, `sled:PATH` nor `postgres:URL`"
        ));
    };
    #[cfg(feature = "sled")]
    {
        let store = Arc::new(scimkit::store::SledStore::open(path).map_err(|e| e.to_string())?);
        Ok(Opened {
            stores: (store.clone(), store),
            notifier: local(),
        })
    }
    #[cfg(not(feature = "sled"))]
    Err(format!(
        "--store sled:{path} needs the sled backend: cargo run --example server --features sled -- --store sled:{path}"
    ))
}

/// PostgreSQL, shared with every other server on the same database: the store migrates
/// the schema on connect, and the notifier hears the other servers' writes.
#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Opened, String> {
    use scimkit::store::{PostgresNotifier, PostgresOptions, PostgresStore};
    let store = PostgresStore::connect(url, PostgresOptions::default())
        .await
        .map_err(|e| format!("--store postgres: {e}"))?;
    let notifier = PostgresNotifier::connect(url, &store)
        .await
        .map_err(|e| format!("--store postgres: {e}"))?;
    let store = Arc::new(store);
    Ok(Opened {
        stores: (store.clone(), store),
        notifier: Arc::new(notifier),
    })
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(url: &str) -> Result<Opened, String> {
    Err(format!(
        "--store postgres:{url} needs the postgres backend: cargo run --example server --features postgres -- --store postgres:{url}"
    ))
}

/// The services an example mounts, ready to serve.
pub struct App {
    /// SCIM, for identity providers.
    pub scim: ScimService,
    /// The management API, for the vendor's own code.
    pub management: ManagementService,
    setup: Setup,
}

/// Parses the flags, opens the store and sets everything up; on failure, says why on
/// stderr and returns the exit code to end with.
pub async fn boot() -> Result<(App, SocketAddr), ExitCode> {
    let args = parse_args(std::env::args().skip(1)).map_err(|message| {
        eprintln!("{message}");
        ExitCode::from(2)
    })?;
    let opened = open_store(&args.store).await.map_err(|message| {
        eprintln!("{message}");
        ExitCode::from(2)
    })?;
    let (store, tokens) = opened.stores;
    let admin = Admin::with_stores(store.clone(), tokens.clone());
    let setup = set_up(&admin, &args).await.map_err(|error| {
        eprintln!("setup failed: {error}");
        ExitCode::FAILURE
    })?;
    let notifier = opened.notifier;
    // The setup page shows each directory's recent requests from this log.
    let recent = Arc::new(RecentRequests::new());
    let mut scim = ScimService::builder_with(store.clone(), tokens.clone())
        .change_notifier(notifier.clone())
        .request_log(recent.clone());
    if args.acme_extension {
        let extension = acme_extension().map_err(|error| {
            eprintln!("--acme-extension: {error}");
            ExitCode::FAILURE
        })?;
        scim = scim.schema_extension(extension);
    }
    let scim = scim.build();
    let sync = DirectorySync::new(store.clone()).with_notifier(notifier);
    let management = ManagementService::with_stores(sync, store, tokens).with_setup_page(
        SetupPage::new(&scim)
            .with_product_name("the scimkit example server")
            .with_recent_requests(recent),
    );
    Ok((
        App {
            scim,
            management,
            setup,
        },
        args.listen,
    ))
}

impl App {
    /// Prints the banner (DESIGN §6) for a server listening on `local`.
    pub fn print_banner(&self, local: SocketAddr) {
        let directory = &self.setup.directory.id;
        let banner = format!(
            "SCIM base URL: http://{local}{}/{directory}\nSCIM bearer token: {}\nManagement base URL: http://{local}{}\nAPI key: {}\nSetup link: {}\n",
            self.scim.prefix(),
            self.setup.bearer,
            self.management.prefix(),
            self.setup.api_key,
            self.management
                .setup_url(&format!("http://{local}"), &self.setup.setup_link),
        );
        // A closed stdout (a supervisor that stopped reading) must not take the server
        // down, so write errors are ignored where `println!` would panic.
        let mut stdout = std::io::stdout();
        let _ = stdout
            .write_all(banner.as_bytes())
            .and_then(|()| stdout.flush());
    }
}

/// Connection limits every example server sets, and what a vendor's own server should set
/// too (see `scimkit::docs::serving`): without them one client can hold every socket or
/// file descriptor by connecting and sending nothing, or a body that never ends.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Most open connections; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, counted from when the
    /// server starts waiting for them: closes half-sent requests and idle keep-alive
    /// connections alike.
    pub header_read_timeout: Duration,
    /// How long one request (reading its body and answering) may take; past it, 408.
    pub request_timeout: Duration,
    /// hyper's own cap on the request line and headers, above `ScimService`'s
    /// (16 KiB URI, 32 KiB headers) so clients get its SCIM 414/431 first; past this,
    /// hyper answers an empty 431.
    pub max_header_bytes: usize,
    /// After a response that ends the connection with request bytes still unread (a
    /// 413), how long and how much more to read and discard, so the client finishes
    /// sending and reads the answer instead of a reset.
    pub linger: Duration,
    /// See `linger`.
    pub linger_bytes: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
            linger: Duration::from_secs(10),
            linger_bytes: 64 * 1024 * 1024,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The service's own body, or the 408 this module answers; an enum rather than a boxed
/// body, so a response costs no allocation of its own.
type ResponseBody<B> = http_body_util::Either<B, http_body_util::Full<bytes::Bytes>>;

/// The SCIM error document for a request that ran out of time.
fn request_timeout<B>() -> hyper::Response<ResponseBody<B>> {
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "408",
        "detail": "the request took too long to arrive; send it again",
    });
    let mut response = hyper::Response::new(http_body_util::Either::Right(
        http_body_util::Full::new(bytes::Bytes::from(body.to_string())),
    ));
    *response.status_mut() = hyper::StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(scimkit::service::SCIM_JSON),
    );
    headers.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

/// Serves HTTP/1.1 on `listener` with `limits`, one `service` clone per connection.
/// Accept errors (out of file descriptors, most often) back off from 10 ms to 1 s and
/// are logged once per run of failures, not once per retry.
pub async fn serve<S, B>(listener: tokio::net::TcpListener, service: S, limits: ServerLimits)
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut backoff = Duration::ZERO;
    let mut failures = 0u64;
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                if failures > 0 {
                    eprintln!("accept works again after {failures} failures");
                }
                backoff = Duration::ZERO;
                failures = 0;
                stream
            }
            Err(error) => {
                if failures == 0 {
                    eprintln!("accept failed: {error}; retrying with backoff");
                }
                failures += 1;
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            connection(stream, service, limits).await;
            drop(permit);
        });
    }
}

async fn connection<S, B>(stream: tokio::net::TcpStream, service: S, limits: ServerLimits)
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
            Error = std::convert::Infallible,
        > + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let service = Arc::new(service);
    let timed = hyper::service::service_fn(move |request| {
        // Boxed once here, the service's future (every layer of the request, inlined) is
        // moved by pointer from now on instead of copied into the timeout and hyper's slot.
        let call = Box::pin(service.call(request));
        async move {
            match tokio::time::timeout(limits.request_timeout, call).await {
                Ok(Ok(response)) => {
                    Ok::<_, std::convert::Infallible>(response.map(http_body_util::Either::Left))
                }
                Ok(Err(never)) => match never {},
                Err(_) => Ok(request_timeout()),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // No `max_headers`: hyper's default cap (100 fields) sits above ScimService's 64,
        // so 65-100 fields get the SCIM 431; any explicit cap, even 100, makes hyper fill
        // a header array of that size on every request (~4k instructions at 256).
        .max_buf_size(limits.max_header_bytes.max(8192));
    // `without_shutdown` hands the socket back when hyper is done with it, so a request
    // it answered without reading (413) can be drained before the socket closes.
    let done = builder
        .serve_connection(hyper_util::rt::TokioIo::new(stream), timed)
        .without_shutdown()
        .await;
    if let Ok(parts) = done {
        linger(parts.io.into_inner(), limits).await;
    }
}

/// Closes lingeringly: ends our side, then reads and discards what the client still
/// sends (bounded in time and bytes) so it can finish writing and read the response. A
/// socket closed with unread input sends a reset, which discards the response too.
async fn linger(mut stream: tokio::net::TcpStream, limits: ServerLimits) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.shutdown().await.is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + limits.linger;
    let mut buffer = vec![0u8; 16 * 1024];
    let mut drained = 0u64;
    while drained < limits.linger_bytes {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => drained += n as u64,
            _ => break,
        }
    }
}
