//! Format 1 → 2, on open.
//!
//! Format 2 keeps every format-1 tree as it was and adds state indexes (`user_active`,
//! `user_visible`, `group_live`) and per-directory counters (`dir_meta`). The migration
//! rebuilds those from the documents, then writes the new format version last: a crash
//! part-way leaves version 1 on disk, and the next open starts the migration over (the
//! derived trees are cleared first, so it is idempotent).

use std::collections::BTreeMap;

use ::sled::Tree;

use super::codec::decode_listed;
use super::keys::*;
use crate::model::{Group, User};

/// Rebuilds the format-2 trees from format-1 documents. An undecodable document is
/// skipped (and warned about), as in listings: it stays stored but is neither indexed
/// by state nor counted.
pub(super) fn v1_to_v2(trees: &[Tree]) -> Result<(), ::sled::Error> {
    let tree = |index: usize| {
        trees
            .get(index)
            .ok_or_else(|| ::sled::Error::Unsupported("missing tree".into()))
    };
    for derived in [USER_ACTIVE, USER_VISIBLE, GROUP_LIVE, DIR_META] {
        tree(derived)?.clear()?;
    }
    let mut counters: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for entry in tree(USERS)?.iter() {
        let (k, v) = entry?;
        let Some(user) = decode_listed::<User>("users", &k, &v) else {
            continue;
        };
        let id = entity(&user.directory_id, user.id.as_str());
        for state_tree in user_state_trees(user.state) {
            tree(*state_tree)?.insert(&id, Vec::new())?;
        }
        *counters
            .entry(meta_key(&user.directory_id, user_counter(user.state)))
            .or_default() += 1;
    }
    for entry in tree(GROUPS)?.iter() {
        let (k, v) = entry?;
        let Some(group) = decode_listed::<Group>("groups", &k, &v) else {
            continue;
        };
        if !group.deleted {
            tree(GROUP_LIVE)?.insert(entity(&group.directory_id, group.id.as_str()), Vec::new())?;
        }
        *counters
            .entry(meta_key(&group.directory_id, group_counter(group.deleted)))
            .or_default() += 1;
    }
    let meta = tree(DIR_META)?;
    for (key, count) in counters {
        meta.insert(key, count.to_be_bytes().to_vec())?;
    }
    Ok(())
}
