//! The setup page's HTML: server-rendered, every dynamic value escaped, one inline script
//! (allowed by a per-response CSP nonce) for copying, rotating and testing.

use std::fmt::Write;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::recent::RecentRequest;
use crate::model::{Directory, DirectoryState, IdpKind, Organization};

/// Text made safe for HTML element content and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// What the page shows.
pub(super) struct PageData<'a> {
    pub product: &'a str,
    pub organization: &'a Organization,
    pub directory: Option<&'a Directory>,
    pub scim_base_url: Option<String>,
    pub setup_path: &'a str,
    pub recent: &'a [RecentRequest],
    pub nonce: &'a str,
}

fn state_line(directory: &Directory) -> (&'static str, String) {
    match directory.state {
        DirectoryState::Pending => (
            "pending",
            "Waiting for your identity provider's first request.".to_owned(),
        ),
        DirectoryState::Active => (
            "active",
            match directory.last_request_at {
                Some(at) => format!("Connected. Last request: {}.", timestamp(at)),
                None => "Connected.".to_owned(),
            },
        ),
        DirectoryState::Disabled => (
            "disabled",
            "Disabled: requests from your identity provider are refused until it is enabled again."
                .to_owned(),
        ),
        DirectoryState::Deleted => (
            "deleted",
            "Deleted: this connection no longer takes requests.".to_owned(),
        ),
    }
}

/// One identity provider's steps: where to go, and which value goes in which field.
fn instructions(idp: IdpKind) -> (&'static str, &'static [&'static str]) {
    match idp {
        IdpKind::Entra => (
            "Microsoft Entra ID",
            &[
                "In the Microsoft Entra admin center, open <b>Enterprise applications</b> and choose <b>New application</b>, then <b>Create your own application</b> (a non-gallery application).",
                "Open <b>Provisioning</b>, set <b>Provisioning Mode</b> to <b>Automatic</b>.",
                "Under <b>Admin Credentials</b>, paste the SCIM base URL into <b>Tenant URL</b> and the token into <b>Secret Token</b>, then choose <b>Test Connection</b>.",
                "Review <b>Mappings</b>, assign users and groups under <b>Users and groups</b>, set <b>Provisioning Status</b> to <b>On</b> and save.",
            ],
        ),
        IdpKind::Okta => (
            "Okta",
            &[
                "In the Okta Admin Console, open your app integration (or create one with <b>SCIM provisioning</b> enabled) and go to its <b>Provisioning</b> tab, <b>Integration</b>.",
                "Paste the SCIM base URL into <b>SCIM connector base URL</b>; set <b>Unique identifier field for users</b> to <code>userName</code>.",
                "Under <b>Supported provisioning actions</b>, choose <b>Push New Users</b>, <b>Push Profile Updates</b> and <b>Push Groups</b>.",
                "Set <b>Authentication Mode</b> to <b>HTTP Header</b> and paste the token into <b>Authorization</b> (as the Bearer token); choose <b>Test Connector Configuration</b>, then <b>Save</b>.",
                "Under <b>To App</b>, enable <b>Create Users</b>, <b>Update User Attributes</b> and <b>Deactivate Users</b>.",
            ],
        ),
        IdpKind::OneLogin => (
            "OneLogin",
            &[
                "In OneLogin, open <b>Applications</b>, <b>Add App</b>, and choose <b>SCIM Provisioner with SAML (SCIM v2 Enterprise)</b>.",
                "On <b>Configuration</b>, paste the SCIM base URL into <b>SCIM Base URL</b> and the token into <b>SCIM Bearer Token</b>; keep the default <b>SCIM JSON Template</b>. Choose <b>Enable</b> under <b>API Connection</b>.",
                "On <b>Provisioning</b>, check <b>Enable provisioning</b> and save.",
            ],
        ),
        IdpKind::JumpCloud => (
            "JumpCloud",
            &[
                "In the JumpCloud Admin Portal, open <b>SSO Applications</b>, add a custom application, and open its <b>Identity Management</b> tab.",
                "Choose <b>SCIM 2.0</b>, paste the SCIM base URL into <b>Base URL</b> and the token into <b>Token Key</b>.",
                "Choose <b>Test Connection</b>, then <b>Activate</b>, and bind user groups to the application.",
            ],
        ),
        IdpKind::Google => (
            "Google Workspace",
            &[
                "Google Workspace provisions over SCIM to the apps in its catalog that support it. In the Google Admin console, open <b>Apps</b>, <b>Web and mobile apps</b>, and the app.",
                "Open <b>Auto-provisioning</b>; where Google asks for the app's endpoint and access token, paste the SCIM base URL and the token.",
                "Choose the attributes and the groups to provision, and turn auto-provisioning <b>On</b>.",
            ],
        ),
        _ => (
            "Another SCIM 2.0 client",
            &[
                "Give your identity provider the SCIM base URL as the SCIM endpoint (base URL) and the token as a Bearer token in the <code>Authorization</code> header.",
                "Users are matched by <code>userName</code>; every user needs an email address in one of your organization's domains.",
            ],
        ),
    }
}

/// The whole page.
pub(super) fn render(data: &PageData<'_>) -> String {
    let product = escape(data.product);
    let organization = escape(
        data.organization
            .external_id
            .as_deref()
            .unwrap_or(data.organization.id.as_str()),
    );
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up SCIM provisioning for {product}</title>
<style nonce="{nonce}">
body{{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}}
code,.secret{{font-family:ui-monospace,monospace;background:#f2f2f5;padding:.1rem .3rem;border-radius:4px;word-break:break-all}}
section{{border:1px solid #ddd;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}}
.state{{font-weight:600}} .state.active{{color:#0a7a33}} .state.pending{{color:#8a5a00}} .state.disabled{{color:#b00020}}
table{{border-collapse:collapse;width:100%;font-size:13px}} td,th{{border-bottom:1px solid #eee;padding:.3rem;text-align:left;vertical-align:top}}
button{{font:inherit;padding:.3rem .8rem;margin:.2rem 0}} .warn{{color:#8a5a00}}
</style></head><body>
<h1>Set up SCIM provisioning for {product}</h1>
<p>Organization: <b id="organization">{organization}</b></p>
"#,
        nonce = escape(data.nonce),
    );
    match data.directory {
        Some(directory) => {
            let (class, text) = state_line(directory);
            let _ = write!(
                html,
                r#"<section><h2>Directory</h2>
<p>Status: <span id="state" class="state {class}">{state}</span> {text}</p>
"#,
                state = directory.state.as_str(),
                text = escape(&text),
            );
        }
        None => html.push_str(
            r#"<section><h2>Directory</h2>
<p>Status: <span id="state" class="state pending">not created</span> Generating a token creates it.</p>
"#,
        ),
    }
    match &data.scim_base_url {
        Some(url) => {
            let _ = writeln!(
                html,
                r#"<p>SCIM base URL: <code id="scim-base-url">{url}</code> <button type="button" data-copy="scim-base-url">Copy</button></p>"#,
                url = escape(url),
            );
        }
        None => html.push_str("<p>SCIM base URL: shown once the directory exists.</p>\n"),
    }
    html.push_str(
        r#"</section>
<section><h2>Token</h2>
<p>Your identity provider authenticates with a bearer token. Generating a new one revokes the earlier ones: update your identity provider right away.</p>
<button type="button" id="rotate">Generate a new token</button>
<p id="token-box" hidden>New token (shown once): <code id="token" class="secret"></code> <button type="button" data-copy="token">Copy</button></p>
<p id="rotate-error" class="warn" hidden></p>
</section>
<section><h2>Check the connection</h2>
<p>Sends a request to the SCIM base URL with a token, from this browser, as your identity provider will.</p>
<p><label>Token: <input id="test-token" type="password" autocomplete="off" size="40"></label>
<button type="button" id="test">Send a test request</button></p>
<p id="test-result" role="status"></p>
</section>
<section><h2>Configure your identity provider</h2>
"#,
    );
    let chosen = data.directory.map(|d| d.idp).unwrap_or_default();
    for idp in IdpKind::ALL {
        let (name, steps) = instructions(idp);
        let _ = write!(
            html,
            "<details id=\"idp-{key}\"{open}><summary>{name}</summary><ol>",
            key = idp.as_str(),
            open = if idp == chosen { " open" } else { "" },
        );
        for step in steps {
            // The steps are fixed text written above, with their own markup.
            let _ = write!(html, "<li>{step}</li>");
        }
        html.push_str("</ol></details>\n");
    }
    html.push_str(
        r#"</section>
<section><h2>Recent requests</h2>
<p>The last requests this directory received, newest first. <button type="button" id="refresh">Refresh</button></p>
<table><thead><tr><th>When</th><th>Request</th><th>Status</th><th>Client</th><th>Why it was refused</th></tr></thead>
<tbody id="requests">"#,
    );
    render_rows(&mut html, data.recent);
    let _ = write!(
        html,
        r#"</tbody></table></section>
<script nonce="{nonce}">
(() => {{
  const setup = {setup};
  const base = document.getElementById("scim-base-url");
  const $ = (id) => document.getElementById(id);
  document.querySelectorAll("[data-copy]").forEach((button) => button.addEventListener("click", () => {{
    navigator.clipboard && navigator.clipboard.writeText($(button.dataset.copy).textContent);
  }}));
  const post = (path) => fetch(setup + path, {{method: "POST", headers: {{"x-scimkit-setup": "1"}}, credentials: "same-origin"}});
  $("rotate").addEventListener("click", async () => {{
    $("rotate-error").hidden = true;
    const answer = await post("/token");
    if (!answer.ok) {{ $("rotate-error").textContent = "The token could not be generated (" + answer.status + "). Reload the page; if your session expired, ask for a new setup link."; $("rotate-error").hidden = false; return; }}
    const body = await answer.json();
    $("token").textContent = body.token;
    $("token-box").hidden = false;
    $("test-token").value = body.token;
    if (!base) {{ location.reload(); }}
  }});
  $("test").addEventListener("click", async () => {{
    const url = base ? base.textContent : null;
    if (!url) {{ $("test-result").textContent = "Generate a token first."; return; }}
    $("test-result").textContent = "Sending…";
    try {{
      const answer = await fetch(url + "/Users?count=1", {{headers: {{"authorization": "Bearer " + $("test-token").value}}}});
      $("test-result").textContent = answer.ok
        ? "Success: the SCIM endpoint answered " + answer.status + " and accepted the token."
        : "The SCIM endpoint answered " + answer.status + (answer.status === 401 ? ": the token is wrong, revoked or expired." : ".");
    }} catch (e) {{
      $("test-result").textContent = "The SCIM base URL could not be reached from this browser: " + e;
    }}
    refresh();
  }});
  const refresh = async () => {{
    const answer = await fetch(setup + "/requests", {{credentials: "same-origin"}});
    if (!answer.ok) return;
    const rows = await answer.json();
    const body = $("requests");
    body.replaceChildren(...rows.map((r) => {{
      const row = document.createElement("tr");
      for (const text of [r.at, r.method + " " + r.path, String(r.status), r.user_agent || "", r.reason || ""]) {{
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      }}
      return row;
    }}));
  }};
  $("refresh").addEventListener("click", refresh);
}})();
</script>
</body></html>
"#,
        nonce = escape(data.nonce),
        // A JSON string is a JavaScript string literal; `<` is escaped so that no text
        // can close the script element.
        setup = serde_json::Value::from(data.setup_path)
            .to_string()
            .replace('<', "\\u003c"),
    );
    html
}

fn render_rows(html: &mut String, recent: &[RecentRequest]) {
    if recent.is_empty() {
        html.push_str(r#"<tr><td colspan="5">No requests yet.</td></tr>"#);
    }
    for request in recent {
        let record = &request.record;
        let _ = write!(
            html,
            "<tr><td>{at}</td><td>{method} {path}</td><td>{status}</td><td>{agent}</td><td>{reason}</td></tr>",
            at = timestamp(request.at),
            method = escape(record.method.as_str()),
            path = escape(&record.path),
            status = record.status.as_u16(),
            agent = escape(record.user_agent.as_deref().unwrap_or("")),
            reason = escape(record.detail.as_deref().unwrap_or("")),
        );
    }
}

/// The recent requests as the page's script reads them.
pub(super) fn rows_json(recent: &[RecentRequest]) -> serde_json::Value {
    recent
        .iter()
        .map(|request| {
            let record = &request.record;
            serde_json::json!({
                "at": timestamp(request.at),
                "method": record.method.as_str(),
                "path": record.path,
                "status": record.status.as_u16(),
                "user_agent": record.user_agent,
                "reason": record.detail,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#x27;b&#x27;&lt;/script&gt;"
        );
    }
}
