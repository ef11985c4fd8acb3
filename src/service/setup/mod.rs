//! A self-serve setup page for the customer's IT admin, served by [`ManagementService`]
//! behind a one-time, expiring link.
//!
//! The vendor makes a link per organization with [`Admin::setup_link`] and sends it to
//! the customer; opening it exchanges it (once) for a session cookie scoped to that
//! organization, and the page shows the SCIM base URL, issues and rotates the bearer
//! token (shown once), gives each IdP's steps with the field names that IdP uses, shows
//! the directory's state and its recent requests with the reason for any refusal, and
//! checks the connection from the admin's browser.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use scimkit::service::{RecentRequests, SetupPage};
//! use scimkit::{Admin, DirectorySync, ManagementService, ScimService, store::MemoryStore};
//!
//! let store = Arc::new(MemoryStore::new());
//! let recent = Arc::new(RecentRequests::new());
//! let scim = ScimService::builder(store.clone()).request_log(recent.clone()).build();
//! let management = ManagementService::new(DirectorySync::new(store.clone()), store.clone())
//!     .with_setup_page(
//!         SetupPage::new(&scim)
//!             .with_public_url("https://api.example.com")
//!             .with_product_name("Acme Analytics")
//!             .with_recent_requests(recent),
//!     );
//!
//! let admin = Admin::new(store);
//! let org = admin.create_organization(Some("globex".into()), vec!["globex.com".into()]).await?;
//! let link = admin.setup_link(&org.id, time::Duration::days(7)).await?;
//! let url = management.setup_url("https://api.example.com", &link.secret);
//! assert!(url.starts_with("https://api.example.com/api/v1/setup/scimkit_setup_link_"));
//! # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! **Security.** Every value the page shows is HTML-escaped; the page carries a strict
//! Content-Security-Policy (its one script and style run by nonce), `no-store`,
//! `no-referrer` (the link must not leak through a `Referer`) and `frame-ancestors
//! 'none'`. The session cookie is `HttpOnly`, `SameSite=Strict`, limited to the setup
//! path, and `Secure` when the public URL is `https`. State-changing calls also need a
//! custom header, which a cross-site form cannot send. A link, a session and the token
//! it issues open one organization only; a used, expired or unknown link gets the same
//! answer.

mod page;
mod recent;

pub use recent::{RecentRequest, RecentRequests};

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde_json::json;
use time::Duration;

use crate::admin::{Admin, AdminError};
use crate::model::{
    Clock, Directory, OrganizationId, RandomIds, SETUP_LINK_PREFIX, SETUP_SESSION_PREFIX,
    TokenHash, TokenScope, generate_secret,
};
use crate::service::ScimService;
use crate::store::{DirectoryStore, StoreError, TokenStore};

/// The cookie that carries a setup session.
const SESSION_COOKIE: &str = "scimkit_setup";
/// The header every state-changing setup call carries (a cross-site form cannot).
const CSRF_HEADER: &str = "x-scimkit-setup";

/// How [`ManagementService`](crate::ManagementService) serves the setup page: where the
/// SCIM endpoint is, what the product is called, and where recent requests come from.
/// Mount it with [`ManagementService::with_setup_page`](crate::ManagementService::with_setup_page).
#[derive(Clone)]
pub struct SetupPage {
    scim_prefix: String,
    public_url: Option<String>,
    product: String,
    recent: Option<Arc<RecentRequests>>,
    session_lifetime: Duration,
}

impl std::fmt::Debug for SetupPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupPage")
            .field("scim_prefix", &self.scim_prefix)
            .field("public_url", &self.public_url)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

impl SetupPage {
    /// A setup page for directories served by `scim` (its prefix makes the SCIM base
    /// URL). Sessions last an hour; without [`with_public_url`](Self::with_public_url)
    /// the base URL's origin comes from the request's `Host` (and `X-Forwarded-Proto`).
    pub fn new(scim: &ScimService) -> Self {
        Self {
            scim_prefix: scim.prefix().to_owned(),
            public_url: None,
            product: "this application".into(),
            recent: None,
            session_lifetime: Duration::hours(1),
        }
    }

    /// The public origin of the SCIM endpoint, e.g. `https://api.example.com`.
    pub fn with_public_url(mut self, origin: impl Into<String>) -> Self {
        self.public_url = Some(origin.into().trim_end_matches('/').to_owned());
        self
    }

    /// The vendor's product name, shown in the title and the text.
    pub fn with_product_name(mut self, name: impl Into<String>) -> Self {
        self.product = name.into();
        self
    }

    /// Where the page reads each directory's recent requests (the same
    /// [`RecentRequests`] given to the SCIM service's request log).
    pub fn with_recent_requests(mut self, recent: Arc<RecentRequests>) -> Self {
        self.recent = Some(recent);
        self
    }

    /// How long a session lasts after its link is opened (default one hour).
    pub fn with_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    fn secure(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    fn origin<B>(&self, request: &Request<B>) -> Option<String> {
        if let Some(url) = &self.public_url {
            return Some(url.clone());
        }
        let host = request.headers().get(header::HOST)?.to_str().ok()?;
        let scheme = request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .filter(|p| *p == "https")
            .unwrap_or("http");
        Some(format!("{scheme}://{host}"))
    }
}

/// What the setup routes need from the management service.
pub(crate) struct SetupContext<'a> {
    pub page: &'a SetupPage,
    pub store: &'a Arc<dyn DirectoryStore>,
    pub tokens: &'a Arc<dyn TokenStore>,
    pub clock: &'a Arc<dyn Clock>,
    /// The management prefix, e.g. `/api/v1`.
    pub prefix: &'a str,
}

/// Why a setup call could not be answered as asked.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("this setup link has expired, was already used, or is not valid")]
    BadLink,
    #[error("the setup session has expired; ask for a new setup link")]
    NoSession,
    #[error("the request lacks the setup page's header")]
    Forged,
    #[error("no setup page at this address")]
    NotFound,
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SetupContext<'_> {
    fn admin(&self) -> Admin {
        Admin::with_stores(self.store.clone(), self.tokens.clone())
            .with_sources(self.clock.clone(), Arc::new(RandomIds))
    }

    fn setup_path(&self) -> String {
        format!("{}/setup", self.prefix)
    }

    /// Answers a request whose path (below the management prefix) starts with `/setup`.
    pub(crate) async fn handle(&self, request: &Request<Bytes>, rest: &str) -> Response<Bytes> {
        match self.route(request, rest).await {
            Ok(response) => response,
            Err(error) => self.refusal(&error),
        }
    }

    async fn route(
        &self,
        request: &Request<Bytes>,
        rest: &str,
    ) -> Result<Response<Bytes>, SetupError> {
        let method = request.method();
        match (method, rest) {
            (&Method::GET, "/setup" | "/setup/") => self.show(request).await,
            (&Method::GET, "/setup/requests") => {
                let (_, directory) = self.session(request).await?;
                let recent = self.recent_of(directory.as_ref());
                Ok(json(StatusCode::OK, &page::rows_json(&recent)))
            }
            (&Method::POST, "/setup/token") => self.rotate(request).await,
            (&Method::GET, _) => match rest.strip_prefix("/setup/") {
                Some(link) if link.starts_with(SETUP_LINK_PREFIX) => self.open(link).await,
                _ => Err(SetupError::NotFound),
            },
            _ => Err(SetupError::NotFound),
        }
    }

    /// Exchanges a link for a session, once.
    async fn open(&self, link: &str) -> Result<Response<Bytes>, SetupError> {
        let org = self.live_token(link).await?.ok_or(SetupError::BadLink)?;
        let (org, token) = org;
        // Revoking first makes the link single-use even when opened twice at once: only
        // one revocation finds it.
        match self.tokens.revoke_token(&token).await {
            Ok(()) => {}
            Err(StoreError::NotFound { .. }) => return Err(SetupError::BadLink),
            Err(e) => return Err(e.into()),
        }
        let secret = generate_secret(SETUP_SESSION_PREFIX).map_err(AdminError::from)?;
        self.admin()
            .register_expiring(
                TokenScope::Setup(org),
                secret.clone(),
                self.page.session_lifetime,
            )
            .await?;
        let cookie = format!(
            "{SESSION_COOKIE}={secret}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Strict{secure}",
            path = self.setup_path(),
            age = self.page.session_lifetime.whole_seconds().max(0),
            secure = if self.page.secure() { "; Secure" } else { "" },
        );
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::SEE_OTHER;
        insert(&mut response, header::LOCATION, &self.setup_path());
        insert(&mut response, header::SET_COOKIE, &cookie);
        secure_headers(&mut response, None);
        Ok(response)
    }

    /// The organization and id of a live setup token with `secret`, if there is one.
    async fn live_token(
        &self,
        secret: &str,
    ) -> Result<Option<(OrganizationId, crate::model::TokenId)>, SetupError> {
        let Some(token) = self.tokens.find_token(&TokenHash::of(secret)).await? else {
            return Ok(None);
        };
        if token.is_expired(self.clock.now()) {
            return Ok(None);
        }
        match token.scope {
            TokenScope::Setup(org) => Ok(Some((org, token.id))),
            _ => Ok(None),
        }
    }

    /// The session's organization and its primary directory (if it has one yet).
    async fn session(
        &self,
        request: &Request<Bytes>,
    ) -> Result<(OrganizationId, Option<Directory>), SetupError> {
        let secret = session_cookie(request)
            .filter(|s| s.starts_with(SETUP_SESSION_PREFIX))
            .ok_or(SetupError::NoSession)?;
        let (org, _) = self
            .live_token(secret)
            .await?
            .ok_or(SetupError::NoSession)?;
        let directory = self
            .store
            .list_directories(&org)
            .await?
            .into_iter()
            .find(|d| d.primary);
        Ok((org, directory))
    }

    fn recent_of(&self, directory: Option<&Directory>) -> Vec<RecentRequest> {
        match (&self.page.recent, directory) {
            (Some(recent), Some(directory)) => recent.of(&directory.id),
            _ => Vec::new(),
        }
    }

    fn scim_base_url(&self, request: &Request<Bytes>, directory: &Directory) -> Option<String> {
        self.page
            .origin(request)
            .map(|origin| Admin::scim_base_url(&origin, &self.page.scim_prefix, &directory.id))
    }

    async fn show(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, SetupError> {
        let (org, directory) = self.session(request).await?;
        let organization = self
            .store
            .get_organization(&org)
            .await?
            .ok_or(SetupError::NoSession)?;
        let nonce = generate_secret("").map_err(AdminError::from)?;
        let recent = self.recent_of(directory.as_ref());
        let html = page::render(&page::PageData {
            product: &self.page.product,
            organization: &organization,
            directory: directory.as_ref(),
            scim_base_url: directory
                .as_ref()
                .and_then(|d| self.scim_base_url(request, d)),
            setup_path: &self.setup_path(),
            recent: &recent,
            nonce: &nonce,
        });
        let mut response = Response::new(Bytes::from(html));
        insert(
            &mut response,
            header::CONTENT_TYPE,
            "text/html; charset=utf-8",
        );
        secure_headers(&mut response, Some(&nonce));
        Ok(response)
    }

    /// Issues a new SCIM token for the organization's primary directory (creating the
    /// directory on first use) and revokes the earlier ones.
    async fn rotate(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, SetupError> {
        if !request.headers().contains_key(CSRF_HEADER) {
            return Err(SetupError::Forged);
        }
        let (org, directory) = self.session(request).await?;
        let admin = self.admin();
        let directory = match directory {
            Some(directory) => directory,
            None => admin.create_directory(&org, true).await?,
        };
        let issued = admin.rotate_scim_token(&directory.id).await?;
        Ok(json(
            StatusCode::OK,
            &json!({
                "token": issued.secret,
                "scim_base_url": self.scim_base_url(request, &directory),
            }),
        ))
    }

    fn refusal(&self, error: &SetupError) -> Response<Bytes> {
        let (status, message) = match error {
            SetupError::BadLink | SetupError::NoSession => {
                (StatusCode::UNAUTHORIZED, error.to_string())
            }
            SetupError::Forged => (StatusCode::FORBIDDEN, error.to_string()),
            SetupError::NotFound => (StatusCode::NOT_FOUND, error.to_string()),
            SetupError::Admin(_) | SetupError::Store(_) => {
                tracing::error!(error = %error, "setup page");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the setup page is unavailable; try again shortly".to_owned(),
                )
            }
        };
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Setup</title></head>\
             <body><h1>Setup</h1><p id=\"refusal\">{}.</p></body></html>",
            page::escape(&capitalised(&message))
        );
        let mut response = Response::new(Bytes::from(html));
        *response.status_mut() = status;
        insert(
            &mut response,
            header::CONTENT_TYPE,
            "text/html; charset=utf-8",
        );
        secure_headers(&mut response, None);
        response
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The value of the session cookie, if the request carries one.
fn session_cookie<B>(request: &Request<B>) -> Option<&str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then_some(value)
        })
}

fn insert(response: &mut Response<Bytes>, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Headers every setup response carries; with a nonce, the page's CSP allows its own
/// script and style, and `connect-src` lets the connection check reach the SCIM URL.
fn secure_headers(response: &mut Response<Bytes>, nonce: Option<&str>) {
    let csp = match nonce {
        Some(nonce) => format!(
            "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
             connect-src 'self' https: http:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        ),
        None => "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            .to_owned(),
    };
    insert(response, header::CONTENT_SECURITY_POLICY, &csp);
    insert(response, header::CACHE_CONTROL, "no-store");
    insert(response, header::REFERRER_POLICY, "no-referrer");
    insert(response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    insert(&mut response, header::CONTENT_TYPE, "application/json");
    secure_headers(&mut response, None);
    response
}
