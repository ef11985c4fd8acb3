//! A vendor's deprovisioning test, driven by scimkit's Entra simulator (feature `testing`):
//! Entra provisions 50 users, disables one, and the vendor's own sync code must take that
//! user's access away. Run it with `cargo run --example idp_simulation --features testing`.

use std::collections::BTreeSet;
use std::error::Error;
use std::sync::Arc;

use futures_util::TryStreamExt;
use scimkit::store::MemoryStore;
use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
use scimkit::testing::{Entra, InProcess, SimUser};
use scimkit::{Admin, ScimService};

/// The vendor's sync code under test: who may sign in, after a full sync.
async fn users_with_access(
    sync: &DirectorySync,
    directory: &DirectorySelector,
) -> Result<BTreeSet<String>, Box<dyn Error>> {
    let mut access = BTreeSet::new();
    // The stream pages under the hood.
    let mut users = sync.users(ListUsers::new(directory.clone()));
    while let Some(user) = users.try_next().await? {
        if !user.deleted {
            access.extend(user.email);
        }
    }
    Ok(access)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // The vendor's SCIM endpoint, as in production but on the memory store.
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone());
    let org = admin
        .create_organization(None, vec!["acme.com".into()])
        .await?;
    let directory = admin.create_directory(&org.id, true).await?;
    let token = admin.issue_scim_token(&directory.id).await?.secret;
    let scim = ScimService::builder(store.clone()).build();

    // The test: Entra provisions 50 users, then disables one of them.
    let entra = Entra::new(InProcess::new(scim, &directory.id, token));
    let users: Vec<SimUser> = (0..50)
        .map(|i| SimUser::new(format!("user{i}@acme.com")))
        .collect();
    let cycle = entra.run_initial_cycle(&users, &[]).await?;
    let leaver = cycle
        .users
        .get("user7@acme.com")
        .ok_or("user7 was not provisioned")?;
    entra.deprovision(leaver).await?;

    let sync = DirectorySync::new(store);
    let access = users_with_access(&sync, &DirectorySelector::Directory(directory.id)).await?;
    assert_eq!(access.len(), 49);
    assert!(
        !access.contains("user7@acme.com"),
        "the leaver keeps access"
    );
    println!(
        "50 users provisioned by the Entra simulator; user7@acme.com deprovisioned; 49 keep access"
    );
    Ok(())
}
