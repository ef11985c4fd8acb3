//! OneLogin's "SCIM Provisioner with SAML (SCIM v2 Enterprise)" connector, as OneLogin's SCIM
//! developer documentation describes its requests.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    SimUser, SimulationError, Transport, create, expect, find_by_user_name, patch_op, request,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// OneLogin's SCIM v2 connector: the body its default "SCIM JSON Template" renders (core
/// and enterprise schemas, `emails` with one work address), a `userName eq` lookup before
/// a create, profile updates as a path-less `replace` of the rendered template, suspension
/// as `replace` of `active` by path, and group membership by `add` / `remove` of
/// `members` with the member in `value` (OneLogin pushes memberships to groups it read
/// with `GET /Groups`; it does not create groups).
#[derive(Debug, Clone)]
pub struct OneLogin<T> {
    transport: T,
}

impl<T: Transport> OneLogin<T> {
    /// A simulator over `transport`.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport, for requests of the test's own.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The default SCIM JSON template, rendered for `user`.
    fn template(user: &SimUser) -> Value {
        json!({
            "schemas": [USER, ENTERPRISE],
            "userName": user.user_name,
            "name": {"givenName": user.given_name, "familyName": user.family_name},
            "emails": [{"value": user.work_email(), "type": "work", "primary": true}],
            "externalId": user.external(),
            ENTERPRISE: {"department": ""}
        })
    }

    /// Provisions a user: `GET /Users?filter=userName eq ".."`, then a POST of the
    /// template, or (when the lookup matched) an update of the matched user. Returns its id.
    pub async fn provision(&self, user: &SimUser) -> Result<String, SimulationError> {
        let step = format!("OneLogin: look up user {}", user.user_name);
        if let Some(id) = find_by_user_name(&self.transport, &step, &user.user_name, "").await? {
            self.update(&id, user).await?;
            return Ok(id);
        }
        let step = format!("OneLogin: create user {}", user.user_name);
        create(&self.transport, &step, "/Users", Self::template(user)).await
    }

    /// A profile update: a path-less `replace` whose value is the rendered template.
    pub async fn update(&self, id: &str, user: &SimUser) -> Result<(), SimulationError> {
        let mut value = Self::template(user);
        if let Some(object) = value.as_object_mut() {
            object.remove("schemas");
        }
        self.patch(
            "/Users",
            id,
            format!("OneLogin: update user {id}"),
            json!([{"op": "replace", "value": value}]),
        )
        .await
    }

    /// Suspends a user (the connector's "Suspend" deprovisioning action): `replace` of
    /// `active` by path.
    pub async fn suspend(&self, id: &str) -> Result<(), SimulationError> {
        self.set_active(id, false).await
    }

    /// Unsuspends a user.
    pub async fn unsuspend(&self, id: &str) -> Result<(), SimulationError> {
        self.set_active(id, true).await
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<(), SimulationError> {
        self.patch(
            "/Users",
            id,
            format!("OneLogin: set active={active} on user {id}"),
            json!([{"op": "replace", "path": "active", "value": active}]),
        )
        .await
    }

    /// Deletes a user (the connector's "Delete" deprovisioning action).
    pub async fn delete(&self, id: &str) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("OneLogin: delete user {id}"),
            request(Method::DELETE, format!("/Users/{id}"), None),
            &[StatusCode::NO_CONTENT],
            "204",
        )
        .await
        .map(drop)
    }

    /// Reads the groups an administrator can map roles to: `GET /Groups`, following
    /// `startIndex` until every group was seen. Returns `(id, displayName)` pairs.
    pub async fn load_groups(&self) -> Result<Vec<(String, String)>, SimulationError> {
        let mut groups = Vec::new();
        loop {
            let step = format!("OneLogin: load groups from {}", groups.len() + 1);
            let page = expect(
                &self.transport,
                &step,
                request(
                    Method::GET,
                    format!("/Groups?startIndex={}&count=100", groups.len() + 1),
                    None,
                ),
                &[StatusCode::OK],
                "200",
            )
            .await?;
            let total = page
                .body
                .get("totalResults")
                .and_then(Value::as_u64)
                .ok_or_else(|| SimulationError::Missing {
                    step: step.clone(),
                    field: "totalResults",
                    body: page.body.clone(),
                })?;
            let resources = page
                .body
                .get("Resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let before = groups.len();
            for group in resources {
                let id = group.get("id").and_then(Value::as_str);
                let name = group.get("displayName").and_then(Value::as_str);
                match (id, name) {
                    (Some(id), Some(name)) => groups.push((id.to_owned(), name.to_owned())),
                    _ => {
                        return Err(SimulationError::Missing {
                            step,
                            field: "Resources[].id and displayName",
                            body: group,
                        });
                    }
                }
            }
            // A page that adds nothing ends the walk even if the total says otherwise.
            if groups.len() as u64 >= total || groups.len() == before {
                return Ok(groups);
            }
        }
    }

    /// Adds a user to a group: `add` of `members` with the member in `value`.
    pub async fn add_to_group(&self, group: &str, user: &str) -> Result<(), SimulationError> {
        self.patch(
            "/Groups",
            group,
            format!("OneLogin: add {user} to group {group}"),
            json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
        )
        .await
    }

    /// Removes a user from a group: `remove` of `members` with the member in `value` (not
    /// a `members[value eq ..]` filter).
    pub async fn remove_from_group(&self, group: &str, user: &str) -> Result<(), SimulationError> {
        self.patch(
            "/Groups",
            group,
            format!("OneLogin: remove {user} from group {group}"),
            json!([{"op": "remove", "path": "members", "value": [{"value": user}]}]),
        )
        .await
    }

    async fn patch(
        &self,
        collection: &str,
        id: &str,
        step: String,
        operations: Value,
    ) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            step,
            request(
                Method::PATCH,
                format!("{collection}/{id}"),
                Some(patch_op(operations)),
            ),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
            "200 or 204",
        )
        .await
        .map(drop)
    }
}
