//! A plain RFC 7644 client: lower-case ops, explicit paths, JSON booleans, value-path
//! member removal, index paging. What an IdP that follows the RFC to the letter sends; a
//! check that an endpoint serves the RFC and not only the big IdPs' dialects.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    SimUser, SimulationError, Transport, create, expect, find_by_user_name, id_of, literal,
    patch_op, request,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// An RFC 7644 client without IdP quirks.
#[derive(Debug, Clone)]
pub struct GenericClient<T> {
    transport: T,
}

impl<T: Transport> GenericClient<T> {
    /// A client over `transport`.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport, for requests of the test's own.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    fn user_body(user: &SimUser, active: bool) -> Value {
        json!({
            "schemas": [USER],
            "userName": user.user_name,
            "externalId": user.external(),
            "name": {"givenName": user.given_name, "familyName": user.family_name},
            "emails": [{"value": user.work_email(), "type": "work", "primary": true}],
            "active": active
        })
    }

    /// RFC 7644 §3.3: POST a user; 201 with its `id`.
    pub async fn create_user(&self, user: &SimUser) -> Result<String, SimulationError> {
        let step = format!("RFC 7644: create user {}", user.user_name);
        create(
            &self.transport,
            &step,
            "/Users",
            Self::user_body(user, true),
        )
        .await
    }

    /// RFC 7644 §3.4.2.2: the id of the user with this `userName`, if any.
    pub async fn find_user(&self, user_name: &str) -> Result<Option<String>, SimulationError> {
        let step = format!("RFC 7644: find user {user_name}");
        find_by_user_name(&self.transport, &step, user_name, "").await
    }

    /// RFC 7644 §3.5.1: PUT the whole user.
    pub async fn replace_user(
        &self,
        id: &str,
        user: &SimUser,
        active: bool,
    ) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("RFC 7644: replace user {id}"),
            request(
                Method::PUT,
                format!("/Users/{id}"),
                Some(Self::user_body(user, active)),
            ),
            &[StatusCode::OK],
            "200",
        )
        .await
        .map(drop)
    }

    /// RFC 7644 §3.5.2.3: `replace` of `active` with a JSON boolean.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<(), SimulationError> {
        self.patch(
            &format!("/Users/{id}"),
            format!("RFC 7644: set active={active} on user {id}"),
            json!([{"op": "replace", "path": "active", "value": active}]),
        )
        .await
    }

    /// RFC 7644 §3.6: DELETE, then a GET that must be 404.
    pub async fn delete_user(&self, id: &str) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            format!("RFC 7644: delete user {id}"),
            request(Method::DELETE, format!("/Users/{id}"), None),
            &[StatusCode::NO_CONTENT],
            "204",
        )
        .await?;
        expect(
            &self.transport,
            format!("RFC 7644: read deleted user {id}"),
            request(Method::GET, format!("/Users/{id}"), None),
            &[StatusCode::NOT_FOUND],
            "404",
        )
        .await
        .map(drop)
    }

    /// POST a group with its members; 201 with its `id`.
    pub async fn create_group(
        &self,
        display_name: &str,
        members: &[&str],
    ) -> Result<String, SimulationError> {
        let step = format!("RFC 7644: create group {display_name}");
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

    /// RFC 7644 §3.5.2.1: `add` to `members`.
    pub async fn add_members(&self, group: &str, users: &[&str]) -> Result<(), SimulationError> {
        let members: Vec<Value> = users.iter().map(|m| json!({"value": m})).collect();
        self.patch(
            &format!("/Groups/{group}"),
            format!("RFC 7644: add members to group {group}"),
            json!([{"op": "add", "path": "members", "value": members}]),
        )
        .await
    }

    /// RFC 7644 §3.5.2.2: `remove` with `members[value eq ".."]`.
    pub async fn remove_member(&self, group: &str, user: &str) -> Result<(), SimulationError> {
        self.patch(
            &format!("/Groups/{group}"),
            format!("RFC 7644: remove member {user} from group {group}"),
            json!([{"op": "remove", "path": format!("members[value eq {}]", literal(user))}]),
        )
        .await
    }

    /// RFC 7644 §3.4.2.4: every user id, by `startIndex`/`count` pages of `page_size`.
    pub async fn list_user_ids(&self, page_size: usize) -> Result<Vec<String>, SimulationError> {
        let mut ids = Vec::new();
        let mut start = 1;
        loop {
            let step = format!("RFC 7644: list users from {start}");
            let page = expect(
                &self.transport,
                &step,
                request(
                    Method::GET,
                    format!("/Users?startIndex={start}&count={page_size}"),
                    None,
                ),
                &[StatusCode::OK],
                "200",
            )
            .await?;
            let resources = page
                .body
                .get("Resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if resources.is_empty() {
                return Ok(ids);
            }
            for resource in &resources {
                match resource.get("id").and_then(Value::as_str) {
                    Some(id) => ids.push(id.to_owned()),
                    None => {
                        return Err(SimulationError::Missing {
                            step,
                            field: "Resources[].id",
                            body: page.body.clone(),
                        });
                    }
                }
            }
            start += resources.len();
        }
    }

    async fn patch(
        &self,
        path: &str,
        step: String,
        operations: Value,
    ) -> Result<(), SimulationError> {
        expect(
            &self.transport,
            step,
            request(Method::PATCH, path.to_owned(), Some(patch_op(operations))),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
            "200 or 204",
        )
        .await
        .map(drop)
    }
}
