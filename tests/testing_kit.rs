//! The IdP simulators of `scimkit::testing`: they send Entra's, Okta's and OneLogin's request shapes,
//! succeed against a conforming endpoint and name the step an endpoint gets wrong.
#![cfg(feature = "testing")]

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::Fixture;
use http::Method;
use scimkit::store::DirectoryStore;
use scimkit::testing::{
    Entra, InProcess, Okta, OneLogin, SimGroup, SimRequest, SimResponse, SimUser, SimulationError,
    Transport,
};

/// Records what a simulator sends, on top of the in-process transport.
#[derive(Clone)]
struct Recording {
    inner: InProcess,
    sent: Arc<Mutex<Vec<SimRequest>>>,
}

impl Recording {
    fn new(fx: &Fixture) -> Self {
        Self {
            inner: InProcess::new(fx.scim.clone(), &fx.directory, fx.token.clone()),
            sent: Arc::default(),
        }
    }

    fn take(&self) -> Vec<SimRequest> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

#[async_trait]
impl Transport for Recording {
    async fn send(&self, request: SimRequest) -> SimResponse {
        self.sent.lock().unwrap().push(request.clone());
        self.inner.send(request).await
    }
}

fn decoded(path: &str) -> String {
    form_urlencoded::parse(path.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn entra_simulator_sends_entra_shapes_and_provisions() {
    let fx = Fixture::new(&["acme.com"]).await;
    let transport = Recording::new(&fx);
    let entra = Entra::new(transport.clone());
    let users = [SimUser::new("ann@acme.com"), SimUser::new("bob@acme.com")];
    let cycle = entra
        .run_initial_cycle(
            &users,
            &[SimGroup::new("Sales", &["ann@acme.com", "bob@acme.com"])],
        )
        .await
        .unwrap();
    let sent = transport.take();
    assert_eq!(sent[0].method, Method::GET);
    assert!(
        decoded(&sent[0].path).contains("filter=userName eq \"ann@acme.com\""),
        "{}",
        sent[0].path
    );
    assert_eq!(sent[1].method, Method::POST);
    let add = sent.iter().find(|r| r.method == Method::PATCH).unwrap();
    assert_eq!(add.body.as_ref().unwrap()["Operations"][0]["op"], "Add");
    let (ann, bob) = (&cycle.users["ann@acme.com"], &cycle.users["bob@acme.com"]);
    let sales = &cycle.groups["Sales"];
    assert!(entra.is_member(sales, ann).await.unwrap());
    let check = transport.take();
    assert!(decoded(&check[0].path).contains("excludedAttributes=members"));
    entra.remove_from_group(sales, &[ann]).await.unwrap();
    let removal = transport.take();
    let op = &removal[0].body.as_ref().unwrap()["Operations"][0];
    assert_eq!(
        (op["op"].as_str(), op["path"].as_str()),
        (Some("Remove"), Some("members"))
    );
    assert!(!entra.is_member(sales, ann).await.unwrap());
    assert!(entra.is_member(sales, bob).await.unwrap());
    // A second provisioning of the same user matches it instead of creating another.
    let again = entra
        .provision(&SimUser::new("ann@acme.com").named("Ann", "Lee"))
        .await
        .unwrap();
    assert_eq!(&again, ann);
    entra.deprovision(ann).await.unwrap();
    let disable = transport.take().pop().unwrap();
    assert_eq!(disable.body.unwrap()["Operations"][0]["value"], "False");
    let stored = fx
        .store
        .get_user(&fx.directory, &ann.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted());
    assert_eq!(stored.attributes["name"]["familyName"], "Lee");
    entra.restore(ann).await.unwrap();
    entra.delete(bob).await.unwrap();
    entra.delete(bob).await.unwrap();
}

#[tokio::test]
async fn okta_simulator_assigns_updates_deactivates_and_pushes_groups() {
    let fx = Fixture::new(&["acme.com"]).await;
    let transport = Recording::new(&fx);
    let okta = Okta::new(transport.clone());
    let ann = okta.provision(&SimUser::new("ann@acme.com")).await.unwrap();
    let bob = okta.provision(&SimUser::new("bob@acme.com")).await.unwrap();
    let sent = transport.take();
    assert!(decoded(&sent[0].path).contains("startIndex=1&count=100"));
    okta.update(&ann, &SimUser::new("ann@acme.com").named("Ann", "Lee"))
        .await
        .unwrap();
    assert_eq!(transport.take()[1].method, Method::PUT);
    okta.deactivate(&bob).await.unwrap();
    let deactivate = transport.take().pop().unwrap();
    assert_eq!(
        deactivate.body.unwrap()["Operations"][0],
        serde_json::json!({"op": "replace", "value": {"active": false}})
    );
    okta.reactivate(&bob).await.unwrap();
    let group = okta.push_group("Engineering", &[&ann]).await.unwrap();
    okta.update_pushed_group(&group, "Platform", &[&bob], &[&ann])
        .await
        .unwrap();
    let got = fx.request("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(got.body["displayName"], "Platform");
    assert_eq!(got.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(got.body["members"][0]["value"], bob.as_str());
    okta.delete_group(&group).await.unwrap();
}

#[tokio::test]
async fn onelogin_simulator_provisions_updates_suspends_and_maps_groups() {
    let fx = Fixture::new(&["acme.com"]).await;
    let transport = Recording::new(&fx);
    let onelogin = OneLogin::new(transport.clone());
    let ann = onelogin
        .provision(&SimUser::new("ann@acme.com"))
        .await
        .unwrap();
    let sent = transport.take();
    assert_eq!(sent.len(), 2, "a lookup, then the create");
    assert!(decoded(&sent[0].path).contains("userName eq \"ann@acme.com\""));
    assert_eq!(
        sent[1].body.as_ref().unwrap()["schemas"][1],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    // Provisioning a user who exists updates it instead of creating a second one.
    let again = onelogin
        .provision(&SimUser::new("ann@acme.com").named("Ann", "Lee"))
        .await
        .unwrap();
    assert_eq!(again, ann);
    assert_eq!(transport.take()[1].method, Method::PATCH);
    let got = fx.request("GET", &format!("/Users/{ann}"), None).await;
    assert_eq!(got.body["name"]["familyName"], "Lee");

    onelogin.suspend(&ann).await.unwrap();
    let got = fx.request("GET", &format!("/Users/{ann}"), None).await;
    assert_eq!(got.body["active"], false, "suspended, still listed");
    onelogin.unsuspend(&ann).await.unwrap();

    // OneLogin maps roles to groups that exist; it reads them, then pushes memberships.
    for n in 0..105 {
        let created = fx
            .request(
                "POST",
                "/Groups",
                Some(serde_json::json!({"displayName": format!("Team {n:03}")})),
            )
            .await;
        assert_eq!(created.status, http::StatusCode::CREATED);
    }
    let groups = onelogin.load_groups().await.unwrap();
    assert_eq!(groups.len(), 105, "every page of groups was read");
    let (group, _) = groups.iter().find(|(_, name)| name == "Team 007").unwrap();
    onelogin.add_to_group(group, &ann).await.unwrap();
    let got = fx.request("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(got.body["members"][0]["value"], ann.as_str());
    onelogin.remove_from_group(group, &ann).await.unwrap();
    let got = fx.request("GET", &format!("/Groups/{group}"), None).await;
    assert!(
        got.body["members"].as_array().is_none_or(Vec::is_empty),
        "removed by value: {}",
        got.body
    );
    onelogin.delete(&ann).await.unwrap();
    let got = fx.request("GET", &format!("/Users/{ann}"), None).await;
    assert_eq!(got.status, http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refused_step_is_named_with_its_status_and_body() {
    let fx = Fixture::new(&["acme.com"]).await;
    let entra = Entra::new(InProcess::new(
        fx.scim.clone(),
        &fx.directory,
        fx.token.clone(),
    ));
    let error = entra
        .provision(&SimUser::new("eve@evil.com"))
        .await
        .unwrap_err();
    let SimulationError::Status {
        step, status, body, ..
    } = &error
    else {
        panic!("a status error expected: {error}")
    };
    assert_eq!(step, "Entra: create user eve@evil.com");
    assert_eq!(*status, http::StatusCode::BAD_REQUEST);
    assert_eq!(body["scimType"], "invalidValue");
    assert!(error.to_string().contains("evil.com"), "{error}");
    let wrong_token = Entra::new(InProcess::new(fx.scim.clone(), &fx.directory, "nope"));
    let error = wrong_token
        .provision(&SimUser::new("ann@acme.com"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Entra: match user"), "{error}");
}

/// `examples/idp_simulation.rs`, the vendor's deprovisioning test, passes.
#[test]
fn the_idp_simulation_example_removes_the_leavers_access() {
    let exe = std::env::current_exe().expect("test binary");
    let binary = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("examples")
        .join("idp_simulation");
    let output = std::process::Command::new(binary)
        .output()
        .expect("idp_simulation runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("49 keep access"), "{stdout}");
}

/// The Okta simulator over real HTTP, against a hyper server mounting the service.
#[cfg(feature = "tower")]
#[tokio::test]
async fn okta_simulator_over_http() {
    use hyper::{body::Incoming, server::conn::http1, service::service_fn};
    use hyper_util::rt::TokioIo;
    use scimkit::testing::HttpTransport;
    use tower_service::Service;

    let fx = Fixture::new(&["acme.com"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let scim = fx.scim.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let scim = scim.clone();
            let service =
                service_fn(move |request: hyper::Request<Incoming>| scim.clone().call(request));
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    let base = format!("http://{address}{}", fx.base);
    let okta = Okta::new(HttpTransport::new(base, fx.token.clone()));
    let ann = okta.provision(&SimUser::new("ann@acme.com")).await.unwrap();
    okta.deactivate(&ann).await.unwrap();
    let stored = fx
        .store
        .get_user(&fx.directory, &ann.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.deleted());
    let tls = Okta::new(HttpTransport::new(
        "https://scim.example.com/scim/v2/d",
        "t",
    ));
    let error = tls
        .provision(&SimUser::new("ann@acme.com"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("plain http://"), "{error}");

    // A connector of the test's own (a TLS one, for an https:// deployment) carries the
    // requests: here one that counts the connections it opens.
    let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let connector = CountingConnector {
        inner: hyper_util::client::legacy::connect::HttpConnector::new(),
        opened: opened.clone(),
    };
    let base = format!("http://{address}{}", fx.base);
    let okta = Okta::new(HttpTransport::with_connector(
        base,
        fx.token.clone(),
        connector,
    ));
    okta.provision(&SimUser::new("bob@acme.com")).await.unwrap();
    assert!(
        opened.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the given connector opened the connections"
    );
}

/// An HTTP connector that counts the connections it opens.
#[derive(Clone)]
struct CountingConnector {
    inner: hyper_util::client::legacy::connect::HttpConnector,
    opened: Arc<std::sync::atomic::AtomicUsize>,
}

impl tower_service::Service<http::Uri> for CountingConnector {
    type Response = <hyper_util::client::legacy::connect::HttpConnector as tower_service::Service<
        http::Uri,
    >>::Response;
    type Error = <hyper_util::client::legacy::connect::HttpConnector as tower_service::Service<
        http::Uri,
    >>::Error;
    type Future = <hyper_util::client::legacy::connect::HttpConnector as tower_service::Service<
        http::Uri,
    >>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        self.opened
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.call(uri)
    }
}

/// The example server (`cargo run --example server`) process, killed on drop.
struct ExampleServer {
    child: std::process::Child,
    scim_base: String,
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn boot_example_server(token: &str) -> ExampleServer {
    use std::io::{BufRead, BufReader};
    let exe = std::env::current_exe().expect("test binary");
    let binary = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("examples")
        .join("server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = std::process::Command::new(binary)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--bearer-token",
            token,
            "--domain",
            "acme.com",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the example server starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let scim_base = loop {
        let line = lines.next().expect("a banner line").expect("readable");
        if let Some(url) = line.strip_prefix("SCIM base URL: ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    ExampleServer { child, scim_base }
}

/// The simulators against scimkit's own example server, over HTTP: what a vendor's CI
/// smoke test of a deployment looks like.
#[tokio::test]
async fn simulators_drive_the_example_server_over_http() {
    use scimkit::testing::HttpTransport;
    let token = "simulator-token-0123456789";
    let server = boot_example_server(token);
    let entra = Entra::new(HttpTransport::new(server.scim_base.clone(), token));
    let users: Vec<SimUser> = (0..10)
        .map(|i| SimUser::new(format!("u{i}@acme.com")))
        .collect();
    let cycle = entra
        .run_initial_cycle(
            &users,
            &[SimGroup::new("Sales", &["u0@acme.com", "u1@acme.com"])],
        )
        .await
        .unwrap();
    let (u0, u1) = (&cycle.users["u0@acme.com"], &cycle.users["u1@acme.com"]);
    let sales = &cycle.groups["Sales"];
    assert!(entra.is_member(sales, u0).await.unwrap());
    entra.remove_from_group(sales, &[u0]).await.unwrap();
    assert!(!entra.is_member(sales, u0).await.unwrap());
    entra.deprovision(u1).await.unwrap();
    entra.delete(u1).await.unwrap();
    let okta = Okta::new(HttpTransport::new(server.scim_base.clone(), token));
    let ann = okta.provision(&SimUser::new("ann@acme.com")).await.unwrap();
    let group = okta.push_group("Okta pushed", &[&ann]).await.unwrap();
    okta.update_pushed_group(&group, "Okta renamed", &[u0], &[&ann])
        .await
        .unwrap();
    okta.deactivate(&ann).await.unwrap();
}

#[tokio::test]
async fn the_generic_rfc_client_round_trips() {
    use scimkit::testing::GenericClient;
    let fx = Fixture::new(&["acme.com"]).await;
    let client = GenericClient::new(InProcess::new(
        fx.scim.clone(),
        &fx.directory,
        fx.token.clone(),
    ));
    assert_eq!(client.find_user("ann@acme.com").await.unwrap(), None);
    let ann = client
        .create_user(&SimUser::new("ann@acme.com"))
        .await
        .unwrap();
    let bob = client
        .create_user(&SimUser::new("bob@acme.com"))
        .await
        .unwrap();
    assert_eq!(
        client.find_user("ANN@acme.com").await.unwrap(),
        Some(ann.clone())
    );
    client
        .replace_user(
            &ann,
            &SimUser::new("ann@acme.com").named("Ann", "Lee"),
            true,
        )
        .await
        .unwrap();
    client.set_active(&bob, false).await.unwrap();
    client.set_active(&bob, true).await.unwrap();
    let group = client.create_group("G", &[&ann]).await.unwrap();
    client.add_members(&group, &[&bob]).await.unwrap();
    client.remove_member(&group, &ann).await.unwrap();
    let got = fx.request("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(got.body["members"][0]["value"], bob.as_str());
    let mut listed = client.list_user_ids(1).await.unwrap();
    listed.sort();
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    client.delete_user(&ann).await.unwrap();
    let error = client.delete_user(&ann).await.unwrap_err();
    assert!(
        error.to_string().contains("expected 204, got 404"),
        "{error}"
    );
}

/// The generic client and the simulators against a peer SCIM server that is not scimkit
/// (`scripts/peer.sh` starts the Python `scim2-server` and runs this with
/// `SCIMKIT_PEER_SCIM_URL` set): an honest check that the generic client speaks RFC 7644,
/// not only scimkit's dialect, and a report of the IdP shapes the peer refuses. Ignored by
/// default: it needs the peer running.
#[tokio::test]
#[ignore = "needs a peer SCIM server; run scripts/peer.sh"]
async fn clients_against_a_peer_server() {
    use scimkit::testing::{GenericClient, HttpTransport};
    let base = std::env::var("SCIMKIT_PEER_SCIM_URL").expect("SCIMKIT_PEER_SCIM_URL is set");
    let token = std::env::var("SCIMKIT_PEER_TOKEN").unwrap_or_default();
    let transport = HttpTransport::new(base, token);
    let mut failures = Vec::new();
    let generic = GenericClient::new(transport.clone());
    match generic
        .create_user(&SimUser::new("peer.ann@acme.com"))
        .await
    {
        Ok(ann) => {
            let steps: Vec<Result<(), SimulationError>> = vec![
                generic.find_user("peer.ann@acme.com").await.map(drop),
                generic
                    .replace_user(
                        &ann,
                        &SimUser::new("peer.ann@acme.com").named("Ann", "Lee"),
                        true,
                    )
                    .await,
                generic.set_active(&ann, false).await,
                match generic.create_group("Peer group", &[&ann]).await {
                    Ok(group) => generic.remove_member(&group, &ann).await,
                    Err(e) => Err(e),
                },
                generic.list_user_ids(10).await.map(drop),
                generic.delete_user(&ann).await,
            ];
            failures.extend(steps.into_iter().filter_map(Result::err));
        }
        Err(e) => failures.push(e),
    }
    // The IdP simulators send those IdPs' real shapes, which a strict peer may refuse
    // (Entra's group POST names Microsoft's ADSCIM schema): reported, not asserted.
    let mut dialect = Vec::new();
    let entra = Entra::new(transport.clone());
    if let Err(e) = entra
        .run_initial_cycle(
            &[SimUser::new("peer.bob@acme.com")],
            &[SimGroup::new("Peer Entra", &["peer.bob@acme.com"])],
        )
        .await
    {
        dialect.push(e);
    }
    let okta = Okta::new(transport.clone());
    match okta.provision(&SimUser::new("peer.cat@acme.com")).await {
        Ok(cat) => {
            if let Err(e) = okta.deactivate(&cat).await {
                dialect.push(e);
            }
        }
        Err(e) => dialect.push(e),
    }
    let onelogin = OneLogin::new(transport);
    match onelogin.provision(&SimUser::new("peer.dan@acme.com")).await {
        Ok(dan) => {
            for step in [
                onelogin.suspend(&dan).await,
                onelogin.load_groups().await.map(drop),
            ] {
                dialect.extend(step.err());
            }
        }
        Err(e) => dialect.push(e),
    }
    for refusal in &dialect {
        eprintln!("the peer refuses an IdP's real shape: {refusal}");
    }
    for failure in &failures {
        eprintln!("the peer refuses an RFC 7644 request: {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} RFC 7644 requests refused by the peer",
        failures.len()
    );
}
