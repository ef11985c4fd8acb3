//! The vendor's side of directory sync, against a toy user table: a full sync that pages
//! through everything (run it hourly, or on a "Force SCIM Sync" button), and a live hook
//! that ends a deprovisioned user's sessions at once.
//!
//! ```text
//! cargo run --example sync_job
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use scimkit::model::{ChangeKind, UserId};
use scimkit::store::MemoryStore;
use scimkit::sync::{ChangeNotifier, DirectorySelector, DirectorySync, ListUsers, SyncUser};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

/// The vendor's own user table, keyed by email.
#[derive(Debug, Default)]
struct VendorUsers {
    rows: HashMap<String, VendorUser>,
}

#[derive(Debug)]
struct VendorUser {
    scim_user_id: UserId,
    name: String,
    active: bool,
}

impl VendorUsers {
    /// Provisions or deprovisions one user, matching by SCIM id first, then by email.
    fn apply(&mut self, user: &SyncUser) {
        let existing = self
            .rows
            .iter()
            .find(|(_, row)| row.scim_user_id == user.id)
            .map(|(email, _)| email.clone())
            .unwrap_or_else(|| user.email.clone());
        let name = user.attributes["name"]["formatted"]
            .as_str()
            .unwrap_or(&user.email)
            .to_owned();
        self.rows.remove(&existing);
        self.rows.insert(
            user.email.clone(),
            VendorUser {
                scim_user_id: user.id.clone(),
                name,
                active: !user.deleted,
            },
        );
    }
}

/// The hourly job: page through every user until the page token is empty.
async fn full_sync(
    sync: &DirectorySync,
    table: &mut VendorUsers,
) -> Result<(), scimkit::sync::SyncError> {
    let mut page_token = String::new();
    loop {
        let page = sync
            .list_users(ListUsers {
                directory: DirectorySelector::OrganizationExternalId("acme".into()),
                page_size: Some(2),
                page_token,
                ..ListUsers::default()
            })
            .await?;
        for user in &page.items {
            table.apply(user);
        }
        if page.next_page_token.is_empty() {
            return Ok(());
        }
        page_token = page.next_page_token;
    }
}

/// What an identity provider would send; here, to have something to sync.
async fn idp(scim: &ScimService, token: &str, method: &str, path: &str, body: Value) -> Value {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body.to_string()))
        .expect("a well-formed request");
    let response = scim.handle(request).await;
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone(), store.clone());
    let org = admin
        .create_organization(Some("acme".into()), vec!["acme.com".into()])
        .await?;
    let directory = admin.create_directory(&org.id, true).await?;
    let token = admin.issue_scim_token(&directory.id).await?.secret;
    let notifier = ChangeNotifier::new();
    let scim = ScimService::builder(store.clone(), store.clone())
        .change_notifier(notifier.clone())
        .build();
    let sync = DirectorySync::new(store).with_notifier(notifier);

    let users = format!("/scim/v2/{}/Users", directory.id);
    let mut ids = Vec::new();
    for (user_name, name) in [
        ("ann@acme.com", "Ann Lee"),
        ("bob@acme.com", "Bob Ray"),
        ("cat@acme.com", "Cat Wu"),
    ] {
        let created = idp(
            &scim,
            &token,
            "POST",
            &users,
            json!({"userName": user_name, "name": {"formatted": name}}),
        )
        .await;
        ids.push(created["id"].as_str().unwrap_or_default().to_owned());
    }

    let mut table = VendorUsers::default();
    full_sync(&sync, &mut table).await?;
    println!(
        "after the full sync: {} users, all active: {}",
        table.rows.len(),
        table.rows.values().all(|u| u.active)
    );

    // Incremental: follow the change feed from where the full sync stood.
    let selector = DirectorySelector::Directory(directory.id.clone());
    let cursor = sync.changes(&selector, 0, 1000).await?.next_cursor;
    let mut feed = sync.subscribe(&selector, cursor).await?;
    let bob = ids.get(1).cloned().unwrap_or_default();
    idp(
        &scim,
        &token,
        "PATCH",
        &format!("{users}/{bob}"),
        json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
    )
    .await;

    let change = feed.next().await?;
    if change.kind == ChangeKind::UserDeleted {
        let user = sync
            .get_user(&selector, &change.resource_id.parse()?)
            .await?;
        table.apply(&user);
        println!(
            "{} deprovisioned: ending their sessions now (change #{})",
            user.email, change.seq
        );
    }
    for (email, row) in &table.rows {
        println!("  {email:<14} {:<8} active={}", row.name, row.active);
    }
    Ok(())
}
