//! Microsoft Entra ID's provisioning service, as its SCIM tutorial and its known-issues page
//! describe the requests.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    SimUser, SimulationError, Transport, create, encoded, expect, find_by_user_name, first_of_list,
    id_of, literal, patch_op, request,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A group as Entra holds it: a name and its members' `userName`s.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimGroup {
    /// `displayName`.
    pub display_name: String,
    /// The `userName`s of its members (users of the same cycle).
    pub members: Vec<String>,
}

impl SimGroup {
    /// A group with these members.
    pub fn new(display_name: impl Into<String>, members: &[&str]) -> Self {
        Self {
            display_name: display_name.into(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

/// What an initial cycle provisioned: SCIM ids by `userName` and by group name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitialCycle {
    /// User ids, by `userName`.
    pub users: BTreeMap<String, String>,
    /// Group ids, by `displayName`.
    pub groups: BTreeMap<String, String>,
}

/// Microsoft Entra ID's provisioning service: matching lookups before creates, capitalised
/// PATCH ops, booleans as `"True"`/`"False"`, member removal as `path: "members"` plus the
/// members, and membership checks with `excludedAttributes=members`.
#[derive(Debug, Clone)]
pub struct Entra<T> {
    transport: T,
}

impl<T: Transport> Entra<T> {
    /// A simulator over `transport`.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport, for requests of the test's own.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Provisions a user as Entra does: `GET /Users?filter=userName eq ".."`, then POST
    /// (or, when the lookup matched, a PATCH that updates the matched user). Returns its id.
    pub async fn provision(&self, user: &SimUser) -> Result<String, SimulationError> {
        let step = format!("Entra: match user {}", user.user_name);
        if let Some(id) = find_by_user_name(&self.transport, &step, &user.user_name, "").await? {
            self.update(&id, user).await?;
            return Ok(id);
        }
        let step = format!("Entra: create user {}", user.user_name);
        create(
            &self.transport,
            &step,
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": user.external(),
                "userName": user.user_name,
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": user.work_email()}],
                "meta": {"resourceType": "User"},
                "name": {
                    "formatted": format!("{} {}", user.given_name, user.family_name),
                    "familyName": user.family_name,
                    "givenName": user.given_name
                },
                "roles": []
            }),
        )
        .await
    }

    /// Updates a provisioned user with Entra's PATCH: capitalised `Replace` ops on single
    /// paths, the work email through `emails[type eq "work"].value`.
    pub async fn update(&self, id: &str, user: &SimUser) -> Result<(), SimulationError> {
        let operations = json!([
            {"op": "Replace", "path": "userName", "value": user.user_name},
            {"op": "Replace", "path": "externalId", "value": user.external()},
            {"op": "Replace", "path": "name.givenName", "value": user.given_name},
            {"op": "Replace", "path": "name.familyName", "value": user.family_name},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": user.work_email()}
        ]);
        self.patch_user(id, format!("Entra: update user {id}"), operations)
            .await
    }

    /// Disables a user (unassigned, or blocked from sign-in): `Replace active "False"`.
    pub async fn deprovision(&self, id: &str) -> Result<(), SimulationError> {
        self.patch_user(
            id,
            format!("Entra: disable user {id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await
    }

    /// Enables a disabled user again: `Replace active "True"`.
    pub async fn restore(&self, id: &str) -> Result<(), SimulationError> {
        self.patch_user(
            id,
            format!("Entra: enable user {id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await
    }

    /// Deletes a user (soft-deleted in Entra past its retention). A 404 is accepted: the
    /// user is gone either way.
    pub async fn delete(&self, id: &str) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("Entra: delete user {id}"),
            request(Method::DELETE, format!("/Users/{id}"), None),
            &[StatusCode::NO_CONTENT, StatusCode::NOT_FOUND],
            "204 (or 404)",
        )
        .await
        .map(drop)
    }

    /// Creates a group as Entra does: a lookup by `displayName` with
    /// `excludedAttributes=members`, then a POST without members. Returns its id.
    pub async fn create_group(&self, display_name: &str) -> Result<String, SimulationError> {
        let step = format!("Entra: match group {display_name}");
        let lookup = expect(
            &self.transport,
            &step,
            request(
                Method::GET,
                format!(
                    "/Groups?excludedAttributes=members&filter={}",
                    encoded(&format!("displayName eq {}", literal(display_name)))
                ),
                None,
            ),
            &[StatusCode::OK],
            "200",
        )
        .await?;
        if let Some(id) = first_of_list(&lookup, &step)? {
            return Ok(id);
        }
        let step = format!("Entra: create group {display_name}");
        let created = expect(
            &self.transport,
            &step,
            request(
                Method::POST,
                "/Groups".into(),
                Some(json!({
                    "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                    "externalId": format!("ext-{display_name}"),
                    "displayName": display_name,
                    "meta": {"resourceType": "Group"}
                })),
            ),
            &[StatusCode::CREATED],
            "201",
        )
        .await?;
        id_of(&created, &step)
    }

    /// Adds members: `Add` on `members` with `"$ref": null` values, as Entra sends them.
    pub async fn add_to_group(&self, group: &str, users: &[&str]) -> Result<(), SimulationError> {
        let members: Vec<Value> = users
            .iter()
            .map(|u| json!({"$ref": null, "value": u}))
            .collect();
        self.patch_group(
            group,
            format!("Entra: add members to group {group}"),
            json!([{"op": "Add", "path": "members", "value": members}]),
        )
        .await
    }

    /// Removes members Entra's way: `Remove` with `path: "members"` and the members as the
    /// value (not a filter).
    pub async fn remove_from_group(
        &self,
        group: &str,
        users: &[&str],
    ) -> Result<(), SimulationError> {
        let members: Vec<Value> = users
            .iter()
            .map(|u| json!({"$ref": null, "value": u}))
            .collect();
        self.patch_group(
            group,
            format!("Entra: remove members from group {group}"),
            json!([{"op": "Remove", "path": "members", "value": members}]),
        )
        .await
    }

    /// Entra's membership check: `filter=id eq "g" and members eq "u"` with
    /// `excludedAttributes=members`.
    pub async fn is_member(&self, group: &str, user: &str) -> Result<bool, SimulationError> {
        let step = format!("Entra: is {user} a member of {group}");
        let found = expect(
            &self.transport,
            &step,
            request(
                Method::GET,
                format!(
                    "/Groups?excludedAttributes=members&filter={}",
                    encoded(&format!(
                        "id eq {} and members eq {}",
                        literal(group),
                        literal(user)
                    ))
                ),
                None,
            ),
            &[StatusCode::OK],
            "200",
        )
        .await?;
        Ok(first_of_list(&found, &step)?.is_some())
    }

    /// An initial cycle: every user provisioned (lookup, then create), then every group
    /// created and its members added.
    pub async fn run_initial_cycle(
        &self,
        users: &[SimUser],
        groups: &[SimGroup],
    ) -> Result<InitialCycle, SimulationError> {
        let mut cycle = InitialCycle::default();
        for user in users {
            let id = self.provision(user).await?;
            cycle.users.insert(user.user_name.clone(), id);
        }
        for group in groups {
            let id = self.create_group(&group.display_name).await?;
            let members: Vec<&str> = group
                .members
                .iter()
                .filter_map(|name| cycle.users.get(name).map(String::as_str))
                .collect();
            if !members.is_empty() {
                self.add_to_group(&id, &members).await?;
            }
            cycle.groups.insert(group.display_name.clone(), id);
        }
        Ok(cycle)
    }

    async fn patch_user(
        &self,
        id: &str,
        step: String,
        operations: Value,
    ) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            step,
            request(
                Method::PATCH,
                format!("/Users/{id}"),
                Some(patch_op(operations)),
            ),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
            "200 or 204",
        )
        .await
        .map(drop)
    }

    async fn patch_group(
        &self,
        id: &str,
        step: String,
        operations: Value,
    ) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            step,
            request(
                Method::PATCH,
                format!("/Groups/{id}"),
                Some(patch_op(operations)),
            ),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
            "200 or 204",
        )
        .await
        .map(drop)
    }
}
