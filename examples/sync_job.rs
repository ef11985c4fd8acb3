//! The vendor's side of directory sync, against toy tables: a full sync of users (with
//! their roles under the directory's group-to-role mapping), groups and memberships (run
//! it hourly), then the change feed, which ends a deprovisioned user's sessions and
//! updates a user's roles as it happens. Accounts take their name and cost center from
//! mapped fields (`user.field_str("cost_center")`): the vendor declares its own
//! `costCenter` attribute and maps it once. Run it with `cargo run --example sync_job`.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use scimkit::model::{
    Change, ChangeKind, FieldMapping, GroupId, GroupMatch, ResourceId, RoleMapping, UserId,
};
use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension};
use scimkit::store::MemoryStore;
use scimkit::sync::{DirectorySelector, DirectorySync, ListGroups, ListUsers, LocalNotifier};
use scimkit::sync::{SyncError, SyncGroup, SyncUser};
use scimkit::{Admin, ScimService};
use serde_json::{Value, json};

/// The vendor's own tables. In this toy, every active account is signed in.
#[derive(Debug, Default)]
struct Vendor {
    /// (SCIM user id, email, active)
    accounts: Vec<(UserId, String, bool)>,
    /// The product's roles of each account, by email.
    roles: BTreeMap<String, BTreeSet<String>>,
    /// Display name and cost center, by email: the product's own profile fields.
    profiles: BTreeMap<String, (String, String)>,
    /// Team name and member ids, by SCIM group id.
    teams: BTreeMap<GroupId, (String, BTreeSet<UserId>)>,
    sessions: BTreeSet<String>,
}

impl Vendor {
    /// Matches by SCIM id, then by email (an account that predates SCIM), then creates,
    /// updates or soft-deletes.
    fn apply_user(&mut self, user: &SyncUser) {
        // The service runs the default `EmailPolicy::Required`: every user has an email.
        let Some(email) = user.email.clone() else {
            return;
        };
        // Mapped fields: the same names whatever the IdP sent them as. What the mapping
        // could not read for this user is said, never silently skipped.
        for error in user.field_errors() {
            println!("{email}: {error}");
        }
        let name = user.field_str("display_name").unwrap_or(&email).to_owned();
        let cost_center = user.field_str("cost_center").unwrap_or("none").to_owned();
        self.profiles.insert(email.clone(), (name, cost_center));
        let row = (user.id.clone(), email.clone(), !user.deleted);
        let by_id = self.accounts.iter().position(|a| a.0 == user.id);
        let found = by_id.or_else(|| self.accounts.iter().position(|a| a.1 == email));
        match found.and_then(|i| self.accounts.get_mut(i)) {
            Some(existing) => *existing = row,
            None if user.deleted => return,
            None => self.accounts.push(row),
        }
        if let Some(roles) = &user.roles {
            self.roles.insert(email.clone(), roles.clone());
        }
        if !user.deleted {
            self.sessions.insert(email);
        } else if self.sessions.remove(&email) {
            println!("{email} deprovisioned: sessions ended");
        }
    }

    /// A `user.roles_changed` change carries the roles after it: no read-back.
    fn apply_roles(&mut self, user: &UserId, roles: &BTreeSet<String>) {
        let email = self
            .accounts
            .iter()
            .find(|a| a.0 == *user)
            .map(|a| a.1.clone());
        if let Some(email) = email {
            println!("{email} roles: {roles:?}");
            self.roles.insert(email, roles.clone());
        }
    }
}

/// The sync job, for one customer's directory.
struct Job {
    sync: DirectorySync,
    dir: DirectorySelector,
}

impl Job {
    async fn apply_group(&self, group: &SyncGroup, vendor: &mut Vendor) -> Result<(), SyncError> {
        if group.deleted {
            vendor.teams.remove(&group.id);
        } else {
            // The stream pages under the hood; a member list longer than a page is
            // read one page at a time.
            let members = self.sync.members(&self.dir, &group.id);
            let members = members.map_ok(|u| u.id).try_collect().await?;
            let team = (group.display_name.clone(), members);
            vendor.teams.insert(group.id.clone(), team);
        }
        Ok(())
    }

    async fn full_sync(&self, vendor: &mut Vendor) -> Result<(), SyncError> {
        // Pages of two, small to show paging on three users.
        let listing = ListUsers::new(self.dir.clone()).with_page_size(2);
        // Each user with its effective roles: one extra store call per page.
        let mut users = self.sync.users(listing.with_roles());
        while let Some(user) = users.try_next().await? {
            vendor.apply_user(&user);
        }
        let mut groups = self.sync.groups(ListGroups::new(self.dir.clone()));
        while let Some(group) = groups.try_next().await? {
            self.apply_group(&group, vendor).await?;
        }
        Ok(())
    }

    /// One change from the feed: apply a roles change as it is, re-read what any other
    /// names and apply that.
    async fn apply(&self, change: &Change, vendor: &mut Vendor) -> Result<(), Box<dyn Error>> {
        match change.kind {
            ChangeKind::RolesChanged => {
                if let (Some(user), Some(roles)) = (change.user_id(), change.roles_after()) {
                    vendor.apply_roles(user, roles);
                }
            }
            ChangeKind::RoleMappingChanged => self.full_sync(vendor).await?,
            ChangeKind::DirectoryDisabled | ChangeKind::DirectoryDeleted => {
                println!("the customer's directory is {:?}", change.kind);
            }
            _ => match &change.resource_id {
                ResourceId::User(user) => {
                    vendor.apply_user(&self.sync.get_user(&self.dir, user).await?);
                }
                // Group changes and membership changes (which name the group).
                ResourceId::Group(group) => {
                    let group = self.sync.get_group(&self.dir, group).await?;
                    self.apply_group(&group, vendor).await?;
                }
                // The directory's other events, and kinds of resource added later.
                _ => {}
            },
        }
        Ok(())
    }
}

/// Sends what an identity provider would, to have something to sync.
async fn idp(scim: &ScimService, token: &str, method: &str, path: &str, body: Value) -> Value {
    let request = http::Request::builder().method(method).uri(path);
    let request = request.header("authorization", format!("Bearer {token}"));
    let request = request.header("content-type", "application/scim+json");
    let request = request
        .body(Bytes::from(body.to_string()))
        .expect("a valid request");
    serde_json::from_slice(scim.handle(request).await.body()).unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let store = Arc::new(MemoryStore::new());
    let admin = Admin::new(store.clone());
    let org = admin
        .create_organization(Some("acme".into()), vec![])
        .await?;
    let directory = admin.create_directory(&org.id, true).await?;
    // IdP group `Engineering` means the product's `developer`; everyone else is a `viewer`.
    let roles = RoleMapping::new()
        .map(GroupMatch::DisplayName("Engineering".into()), "developer")
        .with_default("viewer");
    admin.set_role_mapping(&directory.id, roles).await?;
    let token = admin.issue_scim_token(&directory.id).await?.secret;
    // The product's own attribute, declared so IdPs can discover it and send it typed,
    // then mapped to the product's field (on top of the defaults: `display_name`, ...).
    let acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    let extension = SchemaExtension::builder(ResourceKind::User, acme)
        .attribute(AttributeDef::string("costCenter"))
        .build()?;
    let cost_center = FieldMapping::new().map("cost_center", format!("{acme}:costCenter"));
    admin.set_field_mapping(&directory.id, cost_center).await?;
    // One notifier for both sides, so a SCIM write wakes the subscription at once.
    let notifier = Arc::new(LocalNotifier::new());
    let scim = ScimService::builder(store.clone()).schema_extension(extension);
    let scim = scim.change_notifier(notifier.clone()).build();
    let sync = DirectorySync::new(store).with_notifier(notifier);
    let job = Job {
        sync,
        dir: DirectorySelector::OrganizationExternalId("acme".into()),
    };

    let base = format!("/scim/v2/{}", directory.id);
    let mut ids = Vec::new();
    let people = [
        ("ann", "Ann Lee", "R&D"),
        ("bob", "Bob Ng", "Sales"),
        ("cat", "Cat Oh", "R&D"),
    ];
    for (login, name, cost_center) in people {
        // As Entra sends a custom extension attribute: flattened at the top level.
        let user = json!({
            "userName": format!("{login}@acme.com"),
            "displayName": name,
            format!("{acme}:costCenter"): cost_center,
        });
        let created = idp(&scim, &token, "POST", &format!("{base}/Users"), user).await;
        ids.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let group = json!({"displayName": "Engineering", "members": members});
    let group = idp(&scim, &token, "POST", &format!("{base}/Groups"), group).await;
    let group = group["id"].as_str().unwrap_or_default().to_owned();

    // Taken before the full sync, so a change made during it is replayed afterwards.
    let cursor = job.sync.latest_cursor(&job.dir).await?;
    let mut vendor = Vendor::default();
    job.full_sync(&mut vendor).await?;
    let teams: Vec<_> = vendor.teams.values().map(|(n, m)| (n, m.len())).collect();
    println!(
        "full sync: {} accounts, teams {teams:?}",
        vendor.accounts.len()
    );
    println!("roles: {:?}", vendor.roles);
    for (email, (name, cost_center)) in &vendor.profiles {
        println!("{email}: {name}, cost center {cost_center}");
    }

    let mut feed = job.sync.subscribe(&job.dir, cursor).await?;
    let bob = format!("{base}/Users/{}", ids[1]);
    let off = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
    idp(&scim, &token, "PATCH", &bob, off).await;
    // The IdP takes cat out of Engineering: one roles change, developer → viewer.
    let engineering = format!("{base}/Groups/{group}");
    let path = format!("members[value eq \"{}\"]", ids[2]);
    let out = json!({"Operations": [{"op": "remove", "path": path}]});
    idp(&scim, &token, "PATCH", &engineering, out).await;
    let viewer = BTreeSet::from(["viewer".to_owned()]);
    // The subscription is a `Stream` that never ends; stop once bob is signed out and
    // cat a viewer (a real job runs this for ever, in a `tokio::select!` with its
    // shutdown signal).
    while vendor.sessions.contains("bob@acme.com")
        || vendor.roles.get("cat@acme.com") != Some(&viewer)
    {
        let next = tokio::time::timeout(Duration::from_secs(5), feed.try_next()).await?;
        let change = next?.ok_or("the feed never ends")?;
        job.apply(&change, &mut vendor).await?;
    }
    println!("signed in now: {:?}", vendor.sessions);
    Ok(())
}
