//! The customer's setup page: a one-time, expiring link opens a session for one
//! organization; the page issues and rotates the SCIM token, shows the directory's state
//! and its recent requests, and escapes everything it shows.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use scimkit::model::{ManualClock, SequentialIds};
use scimkit::service::{RecentRequests, SetupPage};
use scimkit::store::MemoryStore;
use scimkit::{Admin, DirectorySync, ManagementService, ScimService};
use serde_json::Value;
use time::Duration;
use time::macros::datetime;

struct Setup {
    admin: Admin,
    scim: ScimService,
    management: ManagementService,
    clock: Arc<ManualClock>,
    org: scimkit::model::OrganizationId,
}

async fn setup(external_id: &str) -> Setup {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-02 09:00 UTC)));
    let admin =
        Admin::new(store.clone()).with_sources(clock.clone(), Arc::new(SequentialIds::default()));
    let org = admin
        .create_organization(Some(external_id.into()), vec!["globex.com".into()])
        .await
        .unwrap();
    let recent = Arc::new(RecentRequests::new().with_clock(clock.clone()));
    let scim = ScimService::builder(store.clone())
        .clock(clock.clone())
        .request_log(recent.clone())
        .build();
    let management = ManagementService::new(DirectorySync::new(store.clone()), store)
        .with_clock(clock.clone())
        .with_setup_page(
            SetupPage::new(&scim)
                .with_public_url("https://api.example.com")
                .with_product_name("Acme <Analytics>")
                .with_recent_requests(recent),
        );
    Setup {
        admin,
        scim,
        management,
        clock,
        org: org.id,
    }
}

async fn get(m: &ManagementService, path: &str, cookie: Option<&str>) -> Response<Bytes> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    m.handle(request.body(Bytes::new()).unwrap()).await
}

async fn post(m: &ManagementService, path: &str, cookie: &str, csrf: bool) -> Response<Bytes> {
    let mut request = Request::post(path).header("cookie", cookie);
    if csrf {
        request = request.header("x-scimkit-setup", "1");
    }
    m.handle(request.body(Bytes::new()).unwrap()).await
}

fn text(response: &Response<Bytes>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

/// Opens a fresh link and returns the session cookie (`name=value`).
async fn session(s: &Setup) -> String {
    let link = s.admin.setup_link(&s.org, Duration::days(7)).await.unwrap();
    let opened = get(
        &s.management,
        &format!("/api/v1/setup/{}", link.secret),
        None,
    )
    .await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let cookie = opened.headers()["set-cookie"].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

async fn scim_status(scim: &ScimService, directory_base: &str, token: &str) -> StatusCode {
    let request = Request::get(format!("{directory_base}/Users?count=1"))
        .header("authorization", format!("Bearer {token}"))
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .body(Bytes::new())
        .unwrap();
    scim.handle(request).await.status()
}

#[tokio::test]
async fn a_setup_link_opens_once_and_gives_a_strict_session_cookie() {
    let s = setup("globex").await;
    let link = s.admin.setup_link(&s.org, Duration::days(7)).await.unwrap();
    let path = format!("/api/v1/setup/{}", link.secret);
    let opened = get(&s.management, &path, None).await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_eq!(opened.headers()["location"], "/api/v1/setup");
    let cookie = opened.headers()["set-cookie"].to_str().unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/api/v1/setup",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert_eq!(opened.headers()["referrer-policy"], "no-referrer");

    let again = get(&s.management, &path, None).await;
    assert_eq!(
        again.status(),
        StatusCode::UNAUTHORIZED,
        "a link opens once"
    );
    let unknown = get(&s.management, "/api/v1/setup/scimkit_setup_link_nope", None).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        text(&again),
        text(&unknown),
        "used and unknown links look the same"
    );

    let late = s
        .admin
        .setup_link(&s.org, Duration::minutes(10))
        .await
        .unwrap();
    s.clock.advance(Duration::minutes(10));
    let expired = get(
        &s.management,
        &format!("/api/v1/setup/{}", late.secret),
        None,
    )
    .await;
    assert_eq!(
        expired.status(),
        StatusCode::UNAUTHORIZED,
        "an expired link"
    );
    assert_eq!(text(&expired), text(&unknown));
}

#[tokio::test]
async fn the_session_expires_and_opens_nothing_but_the_page() {
    let s = setup("globex").await;
    let cookie = session(&s).await;
    assert_eq!(
        get(&s.management, "/api/v1/setup", Some(&cookie))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&s.management, "/api/v1/setup", None).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The session's secret is no API key and no SCIM token.
    let secret = cookie.split_once('=').unwrap().1;
    let api = s
        .management
        .handle(
            Request::get("/api/v1/scim/users?organizationExternalId=globex")
                .header("authorization", format!("Bearer {secret}"))
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let token = post(&s.management, "/api/v1/setup/token", &cookie, true).await;
    let body: Value = serde_json::from_slice(token.body()).unwrap();
    let base = body["scim_base_url"].as_str().unwrap();
    let directory_base = base.strip_prefix("https://api.example.com").unwrap();
    assert_eq!(
        scim_status(&s.scim, directory_base, secret).await,
        StatusCode::UNAUTHORIZED
    );

    s.clock.advance(Duration::hours(1));
    assert_eq!(
        get(&s.management, "/api/v1/setup", Some(&cookie))
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "sessions last an hour"
    );
}

#[tokio::test]
async fn the_page_issues_and_rotates_the_scim_token() {
    let s = setup("globex").await;
    let cookie = session(&s).await;
    let page = text(&get(&s.management, "/api/v1/setup", Some(&cookie)).await);
    assert!(
        page.contains("not created"),
        "no directory before the first token"
    );

    let forged = post(&s.management, "/api/v1/setup/token", &cookie, false).await;
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "a cross-site form cannot rotate"
    );

    let first = post(&s.management, "/api/v1/setup/token", &cookie, true).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = serde_json::from_slice(first.body()).unwrap();
    let base = first["scim_base_url"].as_str().unwrap().to_owned();
    assert!(
        base.starts_with("https://api.example.com/scim/v2/scim_directory_"),
        "{base}"
    );
    let directory_base = base.strip_prefix("https://api.example.com").unwrap();
    let first = first["token"].as_str().unwrap().to_owned();
    assert_eq!(
        scim_status(&s.scim, directory_base, &first).await,
        StatusCode::OK
    );

    let second = post(&s.management, "/api/v1/setup/token", &cookie, true).await;
    let second: Value = serde_json::from_slice(second.body()).unwrap();
    assert_eq!(second["scim_base_url"], base.as_str(), "the same directory");
    let second = second["token"].as_str().unwrap().to_owned();
    assert_eq!(
        scim_status(&s.scim, directory_base, &first).await,
        StatusCode::UNAUTHORIZED,
        "rotation revokes the earlier token"
    );
    assert_eq!(
        scim_status(&s.scim, directory_base, &second).await,
        StatusCode::OK
    );

    let page = text(&get(&s.management, "/api/v1/setup", Some(&cookie)).await);
    assert!(page.contains(&base), "the page shows the SCIM base URL");
    assert!(
        !page.contains(&second),
        "a token is shown once, never on the page"
    );
}

#[tokio::test]
async fn recent_requests_show_the_status_and_the_reason_for_a_refusal() {
    let s = setup("globex").await;
    let cookie = session(&s).await;
    let issued = post(&s.management, "/api/v1/setup/token", &cookie, true).await;
    let issued: Value = serde_json::from_slice(issued.body()).unwrap();
    let base = issued["scim_base_url"].as_str().unwrap();
    let directory_base = base
        .strip_prefix("https://api.example.com")
        .unwrap()
        .to_owned();
    let token = issued["token"].as_str().unwrap();
    assert_eq!(
        scim_status(&s.scim, &directory_base, "wrong").await,
        StatusCode::UNAUTHORIZED
    );
    let create = Request::post(format!("{directory_base}/Users"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Bytes::from(r#"{"userName": "eve@evil.com"}"#))
        .unwrap();
    assert_eq!(
        s.scim.handle(create).await.status(),
        StatusCode::BAD_REQUEST
    );

    let rows = get(&s.management, "/api/v1/setup/requests", Some(&cookie)).await;
    let rows: Value = serde_json::from_slice(rows.body()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["method"], "POST", "newest first");
    assert_eq!(rows[0]["status"], 400);
    assert!(
        rows[0]["reason"].as_str().unwrap().contains("globex.com"),
        "the refusal names the domain rule: {}",
        rows[0]["reason"]
    );
    assert_eq!(rows[1]["status"], 401);
    assert_eq!(rows[1]["user_agent"], "Okta SCIM Client 1.0.0");

    let page = text(&get(&s.management, "/api/v1/setup", Some(&cookie)).await);
    assert!(page.contains("Okta SCIM Client 1.0.0"));
}

#[tokio::test]
async fn everything_the_page_shows_is_escaped_and_its_script_runs_by_nonce() {
    let s = setup("<img src=x onerror=alert(1)>").await;
    let cookie = session(&s).await;
    let page = get(&s.management, "/api/v1/setup", Some(&cookie)).await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = text(&page);
    assert!(
        !html.contains("<img src=x"),
        "the organization's external id is escaped"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        html.contains("Acme &lt;Analytics&gt;"),
        "so is the product name"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one script, the page's own"
    );
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert_eq!(page.headers()["cache-control"], "no-store");
    for idp in [
        "Microsoft Entra ID",
        "Okta",
        "OneLogin",
        "JumpCloud",
        "Google Workspace",
    ] {
        assert!(html.contains(idp), "instructions for {idp}");
    }
    assert!(html.contains("Tenant URL") && html.contains("SCIM connector base URL"));
}

#[tokio::test]
async fn a_session_sees_its_own_organization_only() {
    let s = setup("globex").await;
    let other = s
        .admin
        .create_organization(Some("initech".into()), vec![])
        .await
        .unwrap();
    let other_directory = s.admin.create_directory(&other.id, true).await.unwrap();
    let cookie = session(&s).await;
    let page = text(&get(&s.management, "/api/v1/setup", Some(&cookie)).await);
    assert!(page.contains("globex") && !page.contains("initech"));
    assert!(!page.contains(other_directory.id.as_str()));
    let issued = post(&s.management, "/api/v1/setup/token", &cookie, true).await;
    let issued: Value = serde_json::from_slice(issued.body()).unwrap();
    assert!(
        !issued["scim_base_url"]
            .as_str()
            .unwrap()
            .contains(other_directory.id.as_str())
    );
}
