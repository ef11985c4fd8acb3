//! DESIGN §4 "Uniqueness" under random interleavings of create, delete, deactivate and
//! restore: at most one user per userName is ever active, and the service's answers agree
//! with a simple model of the rules.

mod common;

use std::collections::HashMap;

use common::Fixture;
use http::StatusCode;
use proptest::prelude::*;
use scimkit::model::UserState;
use scimkit::store::{DirectoryStoreExt, UserKey};
use serde_json::json;

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Delete(usize),
    Deactivate(usize),
    Reactivate(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0..3usize;
    prop_oneof![
        name.clone().prop_map(Op::Create),
        name.clone().prop_map(Op::Delete),
        name.clone().prop_map(Op::Deactivate),
        name.prop_map(Op::Reactivate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn at_most_one_active_user_per_user_name(ops in proptest::collection::vec(op(), 1..30)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let fx = Fixture::new(&[]).await;
            // The model: the id each userName resolves to over SCIM, and its state.
            let mut model: HashMap<usize, (String, UserState)> = HashMap::new();
            for op in ops {
                match op {
                    Op::Create(n) => {
                        let reply = fx.request("POST", "/Users", Some(json!({"userName": format!("u{n}@acme.com")}))).await;
                        match model.get(&n) {
                            Some((_, UserState::Active)) => assert_eq!(reply.status, StatusCode::CONFLICT),
                            Some((id, _)) => {
                                assert_eq!(reply.status, StatusCode::CREATED);
                                assert_eq!(&reply.id(), id, "a re-POST restores the same user");
                                model.insert(n, (id.clone(), UserState::Active));
                            }
                            None => {
                                assert_eq!(reply.status, StatusCode::CREATED);
                                model.insert(n, (reply.id(), UserState::Active));
                            }
                        }
                    }
                    Op::Delete(n) => {
                        let Some((id, state)) = model.get(&n).cloned() else { continue };
                        let reply = fx.request("DELETE", &format!("/Users/{id}"), None).await;
                        if state == UserState::Deleted {
                            assert_eq!(reply.status, StatusCode::NOT_FOUND);
                        } else {
                            assert_eq!(reply.status, StatusCode::NO_CONTENT);
                            model.insert(n, (id, UserState::Deleted));
                        }
                    }
                    Op::Deactivate(n) | Op::Reactivate(n) => {
                        let active = matches!(op, Op::Reactivate(_));
                        let Some((id, state)) = model.get(&n).cloned() else { continue };
                        let reply = fx.request("PUT", &format!("/Users/{id}"),
                            Some(json!({"userName": format!("u{n}@acme.com"), "active": active}))).await;
                        if state == UserState::Deleted {
                            assert_eq!(reply.status, StatusCode::NOT_FOUND);
                        } else {
                            assert_eq!(reply.status, StatusCode::OK);
                            let next = if active { UserState::Active } else { UserState::Deactivated };
                            model.insert(n, (id, next));
                        }
                    }
                }
            }
            for n in 0..3 {
                let users = fx.store
                    .find_users(&fx.directory, UserKey::UserName(format!("u{n}@acme.com")))
                    .await
                    .unwrap();
                let active = users.iter().filter(|u| u.state == UserState::Active).count();
                assert!(active <= 1, "{users:?}");
                assert!(users.len() <= 1, "restore-by-default never duplicates a user");
                if let Some((id, state)) = model.get(&n) {
                    assert_eq!(users[0].id.as_str(), id);
                    assert_eq!(users[0].state, *state);
                }
            }
        });
    }
}
