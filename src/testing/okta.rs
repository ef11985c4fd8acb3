//! Okta's SCIM 2.0 provisioning, as its "SCIM 2.0 protocol reference" shows the requests.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    SimUser, SimulationError, Transport, create, expect, find_by_user_name, id_of, literal,
    patch_op, request,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Okta's provisioning: a paged `userName eq` lookup before a create, whole-user PUTs for
/// updates, path-less `{"active": false}` to deactivate, and Group Push (POST with
/// members, renames carrying the group's `id`, member removal by filter).
#[derive(Debug, Clone)]
pub struct Okta<T> {
    transport: T,
}

impl<T: Transport> Okta<T> {
    /// A simulator over `transport`.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport, for requests of the test's own.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    fn user_body(user: &SimUser, id: Option<&str>, active: bool) -> Value {
        let mut body = json!({
            "schemas": [USER],
            "userName": user.user_name,
            "name": {"givenName": user.given_name, "familyName": user.family_name},
            "emails": [{"primary": true, "value": user.work_email(), "type": "work"}],
            "displayName": format!("{} {}", user.given_name, user.family_name),
            "externalId": user.external(),
            "groups": [],
            "active": active
        });
        if let (Some(id), Some(object)) = (id, body.as_object_mut()) {
            object.insert("id".into(), Value::from(id));
        }
        body
    }

    /// Assigns a user: `GET /Users?filter=userName eq ".."&startIndex=1&count=100`, then a
    /// POST (or, if it exists, a PUT that updates and activates it). Returns its id.
    pub async fn provision(&self, user: &SimUser) -> Result<String, SimulationError> {
        let step = format!("Okta: look up user {}", user.user_name);
        let paging = "&startIndex=1&count=100";
        if let Some(id) = find_by_user_name(&self.transport, &step, &user.user_name, paging).await?
        {
            self.put(&id, user, true).await?;
            return Ok(id);
        }
        let step = format!("Okta: create user {}", user.user_name);
        create(
            &self.transport,
            &step,
            "/Users",
            Self::user_body(user, None, true),
        )
        .await
    }

    /// Profile update: `GET /Users/{id}`, then a PUT of the whole user.
    pub async fn update(&self, id: &str, user: &SimUser) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("Okta: read user {id}"),
            request(Method::GET, format!("/Users/{id}"), None),
            &[StatusCode::OK],
            "200",
        )
        .await?;
        self.put(id, user, true).await
    }

    async fn put(&self, id: &str, user: &SimUser, active: bool) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("Okta: replace user {id}"),
            request(
                Method::PUT,
                format!("/Users/{id}"),
                Some(Self::user_body(user, Some(id), active)),
            ),
            &[StatusCode::OK],
            "200",
        )
        .await
        .map(drop)
    }

    /// Unassigns (deactivates) a user: a path-less `replace` of `{"active": false}`.
    pub async fn deactivate(&self, id: &str) -> Result<(), SimulationError> {
        self.set_active(id, false).await
    }

    /// Reassigns a deactivated user: `{"active": true}`.
    pub async fn reactivate(&self, id: &str) -> Result<(), SimulationError> {
        self.set_active(id, true).await
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("Okta: set active={active} on user {id}"),
            request(
                Method::PATCH,
                format!("/Users/{id}"),
                Some(patch_op(
                    json!([{"op": "replace", "value": {"active": active}}]),
                )),
            ),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
            "200 or 204",
        )
        .await
        .map(drop)
    }

    /// Group Push of a new group: a POST with its members. Returns its id.
    pub async fn push_group(
        &self,
        display_name: &str,
        members: &[&str],
    ) -> Result<String, SimulationError> {
        let step = format!("Okta: push group {display_name}");
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let created = expect(
            &self.transport,
            &step,
            request(
                Method::POST,
                "/Groups".into(),
                Some(json!({"schemas": [GROUP], "displayName": display_name, "members": members})),
            ),
            &[StatusCode::CREATED],
            "201",
        )
        .await?;
        id_of(&created, &step)
    }

    /// Group Push of a change: a rename carrying the group's `id`, then in one request the
    /// removals (`members[value eq ".."]`) and the additions.
    pub async fn update_pushed_group(
        &self,
        group: &str,
        display_name: &str,
        add: &[&str],
        remove: &[&str],
    ) -> Result<(), SimulationError> {
        self.patch_group(
            group,
            format!("Okta: rename pushed group {group}"),
            json!([{"op": "replace", "value": {"id": group, "displayName": display_name}}]),
        )
        .await?;
        let mut operations: Vec<Value> = remove
            .iter()
            .map(|m| json!({"op": "remove", "path": format!("members[value eq {}]", literal(m))}))
            .collect();
        if !add.is_empty() {
            let members: Vec<Value> = add.iter().map(|m| json!({"value": m})).collect();
            operations.push(json!({"op": "add", "path": "members", "value": members}));
        }
        if operations.is_empty() {
            return Ok(());
        }
        self.patch_group(
            group,
            format!("Okta: update members of pushed group {group}"),
            Value::Array(operations),
        )
        .await
    }

    /// Unlinks and deletes a pushed group.
    pub async fn delete_group(&self, group: &str) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("Okta: delete group {group}"),
            request(Method::DELETE, format!("/Groups/{group}"), None),
            &[StatusCode::NO_CONTENT],
            "204",
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
