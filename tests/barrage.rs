//! Hostile input over HTTP (issue #11 item 6): the example server, booted as a vendor
//! would run it, takes a barrage of bad requests. Every answer is a 4xx SCIM error (or a
//! close where HTTP says so), never a 5xx; the server stays up and keeps serving; nothing
//! from a refused request is stored.
//!
//! Requests go over raw TCP so the test controls every byte: malformed request lines,
//! invalid UTF-8, pipelining, half-sent requests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "barrage-test-token-0123456789";

struct Server {
    child: Child,
    port: u16,
    /// `/scim/v2/{directory}`.
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn boot() -> Server {
    let exe = std::env::current_exe().expect("test binary");
    let binary = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("examples")
        .join("server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(binary)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--bearer-token",
            TOKEN,
            "--domain",
            "acme.com",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server example runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut base = None;
    while base.is_none() {
        let line = lines.next().expect("banner line").expect("read");
        if let Some(url) = line.strip_prefix("SCIM base URL: ") {
            base = url
                .strip_prefix(&format!("http://127.0.0.1:{port}"))
                .map(str::to_owned);
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        port,
        base: base.expect("base path"),
    }
}

/// What came back on a connection.
#[derive(Debug)]
struct Answer {
    /// `None` when the server closed without answering.
    status: Option<u16>,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Parses every response in `bytes` (pipelined responses follow one another).
fn parse_all(mut bytes: &[u8]) -> Vec<Answer> {
    let mut answers = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok());
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let start = end + 4;
        let stop = (start + length).min(bytes.len());
        answers.push(Answer {
            status,
            head,
            body: bytes[start..stop].to_vec(),
        });
        bytes = &bytes[stop..];
    }
    answers
}

/// Sends `request` (all of it, unless the server stops reading) and reads until the
/// server closes the connection.
async fn exchange(port: u16, request: &[u8]) -> Vec<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the server accepts connections");
    let (mut read, mut write) = stream.split();
    let send = async {
        // A write error means the server stopped reading; what it answered is still read.
        let _ = write.write_all(request).await;
    };
    let receive = async {
        let mut bytes = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut bytes)).await;
        bytes
    };
    let ((), bytes) = tokio::join!(send, receive);
    parse_all(&bytes)
}

async fn one(port: u16, request: &[u8]) -> Answer {
    exchange(port, request)
        .await
        .into_iter()
        .next()
        .unwrap_or(Answer {
            status: None,
            head: String::new(),
            body: Vec::new(),
        })
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn authed(method: &str, target: &str, body: &[u8]) -> Vec<u8> {
    request(
        method,
        target,
        &[
            ("Authorization", &format!("Bearer {TOKEN}")),
            ("Content-Type", "application/scim+json"),
        ],
        body,
    )
}

/// One bad request and what it may be answered with.
struct Case {
    name: String,
    bytes: Vec<u8>,
    /// hyper itself may refuse it (malformed HTTP, headers past hyper's own limit),
    /// with an empty 4xx or by closing the connection.
    http_level: bool,
    /// A 2xx is a right answer too (a hostile but legal query, for instance).
    may_succeed: bool,
}

fn case(name: impl Into<String>, bytes: Vec<u8>) -> Case {
    Case {
        name: name.into(),
        bytes,
        http_level: false,
        may_succeed: false,
    }
}

/// Checks one answer: a 4xx SCIM error (or what the case also allows), never a 5xx.
fn check(case: &Case, answer: &Answer) -> Result<(), String> {
    let fail = |why: &str| {
        Err(format!(
            "{}: {why}: {:?} {} {}",
            case.name,
            answer.status,
            answer.head,
            String::from_utf8_lossy(&answer.body)
        ))
    };
    let Some(status) = answer.status else {
        return if case.http_level {
            Ok(())
        } else {
            fail("closed without an answer")
        };
    };
    if status >= 500 {
        return fail("server error");
    }
    if (200..300).contains(&status) {
        return if case.may_succeed {
            Ok(())
        } else {
            fail("accepted")
        };
    }
    if !(400..500).contains(&status) {
        return fail("not a 4xx");
    }
    if answer.body.is_empty() && case.http_level {
        return Ok(());
    }
    let error = answer.json();
    if error["schemas"][0] != "urn:ietf:params:scim:api:messages:2.0:Error"
        || error["status"].as_str().and_then(|s| s.parse::<u16>().ok()) != Some(status)
        || error["detail"].as_str().is_none_or(str::is_empty)
    {
        return fail("not a SCIM error document");
    }
    if !answer
        .head
        .to_ascii_lowercase()
        .contains("content-type: application/scim+json")
    {
        return fail("not application/scim+json");
    }
    Ok(())
}

fn nested(depth: usize, open: &str, close: &str) -> String {
    format!(
        r#"{{"userName":"deep@acme.com","displayName":"g","x":{}1{}}}"#,
        open.repeat(depth),
        close.repeat(depth)
    )
}

fn body_cases(targets: &[(&str, String)]) -> Vec<Case> {
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for depth in [64, 127, 128, 1000, 100_000] {
        bodies.push((
            format!("arrays nested {depth}"),
            nested(depth, "[", "]").into_bytes(),
        ));
        bodies.push((
            format!("objects nested {depth}"),
            nested(depth, "{\"a\":", "}").into_bytes(),
        ));
    }
    bodies.push(("unclosed nesting".into(), "[".repeat(50_000).into_bytes()));
    for (name, bytes) in [
        (
            "invalid UTF-8",
            &b"{\"userName\":\"\xff\xfe@acme.com\"}"[..],
        ),
        ("truncated UTF-8", b"{\"userName\":\"\xc3@acme.com\"}"),
        ("overlong UTF-8", b"{\"userName\":\"\xc0\xaf@acme.com\"}"),
        ("lone surrogate", br#"{"userName":"\ud800@acme.com"}"#),
        ("NUL byte", b"{\"userName\":\"a\x00@acme.com\"}"),
        (
            "huge exponent",
            br#"{"userName":"n@acme.com","x":1e999999}"#,
        ),
        (
            "negative huge",
            br#"{"userName":"n@acme.com","active":-1e400}"#,
        ),
        ("array", b"[]"),
        ("null", b"null"),
        ("string", b"\"text\""),
        ("unterminated", b"{\"userName\":"),
        ("trailing garbage", br#"{"userName":"t@acme.com"} x"#),
        ("duplicate comma", br#"{"userName":"t@acme.com",,}"#),
        ("bare word", b"userName=t@acme.com"),
    ] {
        bodies.push((name.into(), bytes.to_vec()));
    }
    let digits = format!(r#"{{"userName":"n@acme.com","x":{}}}"#, "9".repeat(100_000));
    bodies.push(("100k-digit number".into(), digits.into_bytes()));
    let mut cases = Vec::new();
    for (method, target) in targets {
        for (name, body) in &bodies {
            cases.push(case(
                format!("{method} {target} with {name}"),
                authed(method, target, body),
            ));
        }
        cases.push(case(
            format!("{method} {target} as text/plain"),
            request(
                method,
                target,
                &[
                    ("Authorization", &format!("Bearer {TOKEN}")),
                    ("Content-Type", "text/plain"),
                ],
                br#"{"userName":"plain@acme.com"}"#,
            ),
        ));
    }
    cases
}

fn wrong_type_cases(base: &str) -> Vec<Case> {
    // Every typed User attribute, each with values of the wrong type.
    let string_attributes = [
        "userName",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "externalId",
    ];
    let mut cases = Vec::new();
    let mut n = 0;
    let mut push = |cases: &mut Vec<Case>, attribute: &str, value: Value| {
        n += 1;
        let mut user = json!({"userName": format!("typed{n}@acme.com")});
        user[attribute] = value.clone();
        cases.push(case(
            format!("POST /Users with {attribute} = {value}"),
            authed(
                "POST",
                &format!("{base}/Users"),
                user.to_string().as_bytes(),
            ),
        ));
    };
    for attribute in string_attributes {
        for value in [
            json!(12),
            json!(true),
            json!({"a": 1}),
            json!(["x"]),
            json!(1.5e300),
        ] {
            push(&mut cases, attribute, value);
        }
    }
    for value in [
        json!("maybe"),
        json!(1),
        json!({}),
        json!(["true"]),
        json!(0.0),
    ] {
        push(&mut cases, "active", value);
    }
    for value in [
        json!("Ann"),
        json!(7),
        json!(false),
        json!([{"givenName": "a"}]),
    ] {
        push(&mut cases, "name", value);
    }
    for value in [json!({"givenName": 5}), json!({"familyName": ["x"]})] {
        push(&mut cases, "name", value);
    }
    for attribute in [
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "entitlements",
        "roles",
        "x509Certificates",
    ] {
        for value in [
            json!("x"),
            json!(3),
            json!(true),
            json!([[1]]),
            json!([{"primary": "yes"}]),
        ] {
            push(&mut cases, attribute, value);
        }
    }
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for value in [
        json!("x"),
        json!({"employeeNumber": 5}),
        json!({"manager": 5}),
    ] {
        push(&mut cases, enterprise, value);
    }
    for value in [
        json!(5),
        json!(null),
        json!(""),
        json!(["g"]),
        json!({"a": 1}),
    ] {
        let group = json!({"displayName": value.clone()});
        cases.push(case(
            format!("POST /Groups with displayName = {value}"),
            authed(
                "POST",
                &format!("{base}/Groups"),
                group.to_string().as_bytes(),
            ),
        ));
    }
    for value in [
        json!("scim_user_nope"),
        json!([{"value": 5}]),
        json!([{"value": "../x"}]),
        json!([{"value": "scim_user_0000000000000000000000"}]),
    ] {
        let group = json!({"displayName": "members", "members": value.clone()});
        cases.push(case(
            format!("POST /Groups with members = {value}"),
            authed(
                "POST",
                &format!("{base}/Groups"),
                group.to_string().as_bytes(),
            ),
        ));
    }
    cases
}

fn query_cases(base: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let get = |query: &str| authed("GET", &format!("{base}/Users?{query}"), b"");
    let bad_filters = [
        "userName%20eq",
        "userName%20eq%20%22unterminated",
        "((((((((((userName%20pr",
        "userName%20pr))))",
        "userName%20zz%20%22a%22",
        "%22a%22%20eq%20userName",
        "emails[type%20eq%20%22work%22",
        "emails[value%20eq%20%22a%22]]",
        "userName%20eq%20%22a%22%20and",
        "or%20or%20or",
        "userName%20gt%20true%20and%20not",
        "meta.lastModified%20gt%20%22not%20a%20date%22%20and%20(",
        "%00",
        "bad%20name!%20eq%201",
        "userName%20eq%20%22%5C%22",
    ];
    for filter in bad_filters {
        cases.push(case(
            format!("filter={filter}"),
            get(&format!("filter={filter}")),
        ));
    }
    let deep = format!("{}userName%20pr{}", "not(".repeat(2000), ")".repeat(2000));
    cases.push(case("2000 nested not()", get(&format!("filter={deep}"))));
    let long_or = vec!["userName%20eq%20%22a%22"; 1500].join("%20or%20");
    cases.push(case("1500-term or", get(&format!("filter={long_or}"))));
    let many = vec!["a"; 5000].join(",");
    for key in ["attributes", "excludedAttributes"] {
        cases.push(case(
            format!("{key} with 5000 names"),
            get(&format!("{key}={many}")),
        ));
        cases.push(case(
            format!("{key} with a bad name"),
            get(&format!("{key}=bad%20name")),
        ));
        cases.push(case(format!("{key} = !!"), get(&format!("{key}=!!"))));
    }
    for sort in ["bad%20name", "!!", "emails[type%20eq%20%22x%22]", "%00"] {
        cases.push(case(
            format!("sortBy={sort}"),
            get(&format!("sortBy={sort}")),
        ));
    }
    cases.push(case(
        "sortOrder=sideways",
        get("sortBy=userName&sortOrder=sideways"),
    ));
    for value in ["abc", "1e9", "99999999999999999999999", "1.5", "%00"] {
        cases.push(case(
            format!("count={value}"),
            get(&format!("count={value}")),
        ));
        cases.push(case(
            format!("startIndex={value}"),
            get(&format!("startIndex={value}")),
        ));
    }
    for cursor in [
        "garbage",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "%00%01%02",
        "....",
        "x",
    ] {
        cases.push(case(
            format!("cursor={cursor}"),
            get(&format!("cursor={cursor}")),
        ));
    }
    let long_cursor = "A".repeat(10_000);
    cases.push(case("10k cursor", get(&format!("cursor={long_cursor}"))));
    // Hostile but legal: answered 200 with a list (clamped or empty), never a 5xx.
    for query in [
        "count=-5",
        "count=0",
        "count=100000000",
        "startIndex=-3",
        "startIndex=0",
        "startIndex=18446744073709551615",
        "count=1&startIndex=99999999",
        "filter=userName%20eq%20%22%E2%80%8B%22",
        "attributes=nosuchattribute",
        "sortBy=nosuchattribute",
    ] {
        let mut legal = case(format!("legal {query}"), get(query));
        legal.may_succeed = true;
        cases.push(legal);
    }
    cases
}

fn id_cases(base: &str) -> Vec<Case> {
    let ids = [
        "..",
        "../../etc/passwd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..%2f..%2f",
        "%00",
        "scim_user_%00",
        "scim_user_",
        "scim_user_0000000000000000000000",
        "scim_group_0000000000000000000000",
        "~root",
        "%ff%fe",
        "\u{0}",
        "'%20OR%201=1--",
        "%3Cscript%3E",
        &"a".repeat(4000),
    ];
    let mut cases = Vec::new();
    for collection in ["Users", "Groups"] {
        for id in ids {
            let target = format!("{base}/{collection}/{id}");
            let raw_nul = id.contains('\u{0}');
            for (method, body) in [
                ("GET", &b""[..]),
                ("PUT", br#"{"userName":"put@acme.com","displayName":"g"}"#),
                (
                    "PATCH",
                    br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"x"}]}"#,
                ),
                ("DELETE", b""),
            ] {
                let mut c = case(
                    format!("{method} {collection}/{}", id.escape_debug()),
                    authed(method, &target, body),
                );
                // A raw NUL in the request line is malformed HTTP.
                c.http_level = raw_nul;
                cases.push(c);
            }
        }
    }
    cases
}

fn method_and_header_cases(base: &str, user: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for method in ["TRACE", "OPTIONS", "PROPFIND", "FOO", "MKCOL", "LINK"] {
        cases.push(case(
            format!("{method} /Users"),
            authed(method, &format!("{base}/Users"), b""),
        ));
    }
    for method in ["PUT", "PATCH", "DELETE"] {
        cases.push(case(
            format!("{method} on the collection"),
            authed(method, &format!("{base}/Users"), b"{}"),
        ));
    }
    for (name, value) in [
        ("no token", None),
        ("empty bearer", Some("Bearer ".to_owned())),
        (
            "wrong token",
            Some("Bearer wrong-token-0123456789".to_owned()),
        ),
        ("basic", Some("Basic YWRtaW46YWRtaW4=".to_owned())),
        (
            "40 KB token",
            Some(format!("Bearer {}", "t".repeat(40 * 1024))),
        ),
        (
            "token with NUL-like escapes",
            Some("Bearer %00%00".to_owned()),
        ),
        ("lower-case scheme, wrong", Some("bearer nope".to_owned())),
        ("token twice", Some(format!("Bearer {TOKEN} {TOKEN}"))),
    ] {
        let mut headers = vec![("Content-Type", "application/scim+json")];
        if let Some(value) = &value {
            headers.push(("Authorization", value.as_str()));
        }
        cases.push(case(
            format!("auth: {name}"),
            request("GET", &format!("{base}/Users/{user}"), &headers, b""),
        ));
    }
    let auth = format!("Bearer {TOKEN}");
    let big = "h".repeat(40 * 1024);
    cases.push(case(
        "a 40 KB header",
        request(
            "GET",
            &format!("{base}/Users"),
            &[("Authorization", &auth), ("X-Big", &big)],
            b"",
        ),
    ));
    // Past the service's 64 fields and within hyper's 100: scimkit's own SCIM 431;
    // past hyper's 100, hyper may refuse it itself.
    for (fields, http_level) in [(80, false), (150, true), (400, true)] {
        let names: Vec<String> = (0..fields).map(|i| format!("X-H{i}")).collect();
        let mut headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
        headers.push(("Authorization", &auth));
        let mut c = case(
            format!("{fields} headers"),
            request("GET", &format!("{base}/Users"), &headers, b""),
        );
        c.http_level = http_level;
        cases.push(c);
    }
    let huge = "h".repeat(200 * 1024);
    let mut c = case(
        "a 200 KB header",
        request(
            "GET",
            &format!("{base}/Users"),
            &[("Authorization", &auth), ("X-Big", &huge)],
            b"",
        ),
    );
    c.http_level = true;
    cases.push(c);
    let uri = format!("{base}/Users?filter={}", "a".repeat(20 * 1024));
    cases.push(case("a 20 KB URI", authed("GET", &uri, b"")));
    let uri = format!("{base}/Users?filter={}", "a".repeat(300 * 1024));
    let mut c = case("a 300 KB URI", authed("GET", &uri, b""));
    c.http_level = true;
    cases.push(c);
    for (name, bytes) in [
        ("garbage request line", b"\x16\x03\x01\x02\x00 hello\r\n\r\n".to_vec()),
        ("HTTP/9.9", format!("GET {base}/Users HTTP/9.9\r\n\r\n").into_bytes()),
        ("no version", format!("GET {base}/Users\r\n\r\n").into_bytes()),
        (
            "bad Content-Length",
            format!("POST {base}/Users HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n").into_bytes(),
        ),
        (
            "two Content-Lengths",
            format!("POST {base}/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}")
                .into_bytes(),
        ),
        (
            "bad chunk size",
            format!("POST {base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").into_bytes(),
        ),
        ("header without colon", format!("GET {base}/Users HTTP/1.1\r\nHost x\r\n\r\n").into_bytes()),
        ("CONNECT", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
    ] {
        let mut c = case(name, bytes);
        c.http_level = true;
        cases.push(c);
    }
    cases
}

fn oversized_cases(base: &str, group: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let twenty_mb = format!(
        r#"{{"userName":"big@acme.com","x":"{}"}}"#,
        "a".repeat(20 << 20)
    );
    cases.push(case(
        "a 20 MB body",
        authed("POST", &format!("{base}/Users"), twenty_mb.as_bytes()),
    ));
    let ops: Vec<Value> = (0..100_000)
        .map(|_| json!({"op": "add", "path": "members", "value": [{"value": "scim_user_x"}]}))
        .collect();
    let patch =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    cases.push(case(
        "a 100k-operation PATCH",
        authed(
            "PATCH",
            &format!("{base}/Groups/{group}"),
            patch.to_string().as_bytes(),
        ),
    ));
    let ops: Vec<Value> = (0..5000)
        .map(|i| json!({"op": "replace", "path": format!("emails[type eq \"t{i}\"].value"), "value": "x@acme.com"}))
        .collect();
    let patch =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    cases.push(case(
        "a 5000-operation PATCH within the body limit",
        authed(
            "PATCH",
            &format!("{base}/Groups/{group}"),
            patch.to_string().as_bytes(),
        ),
    ));
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "excludedAttributes": vec!["displayName"; 60_000],
    });
    cases.push(case(
        ".search with 60,000 excludedAttributes",
        authed(
            "POST",
            &format!("{base}/.search"),
            search.to_string().as_bytes(),
        ),
    ));
    let emails: Vec<Value> = (0..12_000)
        .map(|i| json!({"value": format!("e{i}@acme.com")}))
        .collect();
    let user = json!({"userName": "many@acme.com", "emails": emails});
    cases.push(case(
        "a user with 12,000 emails",
        authed(
            "POST",
            &format!("{base}/Users"),
            user.to_string().as_bytes(),
        ),
    ));
    // A declared length far past the limit and no body: answered at once.
    cases.push(case(
        "Content-Length: 10^12 and no body",
        format!(
            "POST {base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: 1000000000000\r\n\r\n"
        )
        .into_bytes(),
    ));
    let mut chunked = format!(
        "POST {base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..3 {
        chunked.extend_from_slice(b"100000\r\n");
        chunked.extend(std::iter::repeat_n(b' ', 0x100000));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    cases.push(case("a 3 MB chunked body", chunked));
    cases
}

async fn scim_get(port: u16, target: &str) -> Value {
    let answer = one(port, &authed("GET", target, b"")).await;
    assert_eq!(answer.status, Some(200), "{target}: {answer:?}");
    answer.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barrage_of_bad_requests_is_refused_and_the_server_stays_up() {
    let server = boot();
    let (port, base) = (server.port, server.base.clone());

    // What is stored before the barrage; it must be all that is stored after it.
    let user = one(
        port,
        &authed(
            "POST",
            &format!("{base}/Users"),
            br#"{"userName":"ann@acme.com","emails":[{"value":"ann@acme.com","type":"work"}]}"#,
        ),
    )
    .await;
    assert_eq!(user.status, Some(201), "{user:?}");
    let user = user.json();
    let user_id = user["id"].as_str().unwrap_or_default().to_owned();
    let group = one(
        port,
        &authed(
            "POST",
            &format!("{base}/Groups"),
            br#"{"displayName":"Sales"}"#,
        ),
    )
    .await;
    assert_eq!(group.status, Some(201), "{group:?}");
    let group_id = group.json()["id"].as_str().unwrap_or_default().to_owned();

    // An idle connection opened first: the header-read timeout must close it.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();

    let mut cases = Vec::new();
    let patch_user = format!("{base}/Users/{user_id}");
    let patch_group = format!("{base}/Groups/{group_id}");
    cases.extend(body_cases(&[
        ("POST", format!("{base}/Users")),
        ("PUT", patch_user.clone()),
        ("PATCH", patch_user.clone()),
        ("POST", format!("{base}/Groups")),
        ("PATCH", patch_group.clone()),
        ("POST", format!("{base}/.search")),
    ]));
    cases.extend(wrong_type_cases(&base));
    cases.extend(query_cases(&base));
    cases.extend(id_cases(&base));
    cases.extend(method_and_header_cases(&base, &user_id));
    cases.extend(oversized_cases(&base, &group_id));
    let total = cases.len();
    assert!(total >= 300, "only {total} cases");

    // A few at a time: the machine is small, and the point is the answers.
    let mut failures = Vec::new();
    let mut pending = tokio::task::JoinSet::new();
    let mut cases = cases.into_iter();
    loop {
        while pending.len() < 8 {
            let Some(case) = cases.next() else { break };
            pending.spawn(async move {
                let answer = one(port, &case.bytes).await;
                check(&case, &answer)
            });
        }
        let Some(done) = pending.join_next().await else {
            break;
        };
        if let Ok(Err(failure)) = done {
            failures.push(failure);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} answers were wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Pipelined: bad and good requests in one write, each answered in order.
    let mut pipelined = Vec::new();
    for i in 0..10 {
        let mut one_request = authed("GET", &format!("{base}/Users/nope{i}"), b"");
        // Keep the connection open for the next one; the last closes it.
        if i < 9 {
            one_request = String::from_utf8_lossy(&one_request)
                .replace("Connection: close\r\n", "")
                .into_bytes();
        }
        pipelined.extend(one_request);
    }
    let answers = exchange(port, &pipelined).await;
    assert_eq!(answers.len(), 10, "{answers:?}");
    assert!(answers.iter().all(|a| a.status == Some(404)), "{answers:?}");

    // Half-sent requests, abandoned: nothing answered, nothing stored.
    for partial in [
        format!("POST {base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"),
        format!(
            "POST {base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\":\"half@acme.com\""
        ),
        "GET /scim/v2".to_owned(),
    ] {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = stream.write_all(partial.as_bytes()).await;
        drop(stream);
    }

    // 500 idle connections, and a normal request is still served.
    let mut idlers = Vec::new();
    for _ in 0..500 {
        idlers.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    let listed = scim_get(port, &format!("{base}/Users")).await;
    assert_eq!(listed["totalResults"], 1, "{listed}");
    drop(idlers);

    // The idle connection from the start was closed by the server, unasked.
    let mut buffer = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(30), idle.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the idle connection is still open: {closed:?}"
    );

    // Nothing from a refused request was stored, and what was stored is unchanged.
    let users = scim_get(port, &format!("{base}/Users")).await;
    assert_eq!(users["totalResults"], 1, "{users}");
    let groups = scim_get(port, &format!("{base}/Groups")).await;
    assert_eq!(groups["totalResults"], 1, "{groups}");
    let after = scim_get(port, &patch_user).await;
    assert_eq!(after["meta"]["version"], user["meta"]["version"], "{after}");
    let group_after = scim_get(port, &patch_group).await;
    assert_eq!(group_after["displayName"], "Sales");
    assert!(
        group_after["members"]
            .as_array()
            .is_none_or(|m| m.is_empty()),
        "{group_after}"
    );

    let mut server = server;
    assert!(
        matches!(server.child.try_wait(), Ok(None)),
        "the server is still running"
    );
}
