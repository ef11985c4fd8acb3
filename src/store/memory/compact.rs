//! How the memory backend holds users and id sets small: a user's document as compact
//! JSON text (a parsed `serde_json::Value` with `preserve_order` costs about ten times
//! its text), change entries that share the stored record instead of copying it, and
//! id sets that hold a lone id inline (most index keys name one user).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use serde_json::Value;

use crate::model::{Change, DirectoryId, Meta, User, UserDocument, UserId, UserState};
use crate::store::StoreError;

/// Documents nested this deep stay parsed: text this deep would exceed the JSON
/// parser's recursion limit when read back.
const TEXT_DEPTH_LIMIT: usize = 100;

/// A user as the memory backend holds it. The directory is the map it sits in.
#[derive(Debug)]
pub(super) struct StoredUser {
    pub(super) id: UserId,
    pub(super) state: UserState,
    email: Option<Box<str>>,
    meta: Meta,
    document: Document,
}

#[derive(Debug)]
enum Document {
    Text(Box<str>),
    Tree(Value),
}

impl StoredUser {
    pub(super) fn new(user: &User) -> Self {
        let document = if depth(&user.attributes) < TEXT_DEPTH_LIMIT {
            Document::Text(user.attributes.to_string().into_boxed_str())
        } else {
            Document::Tree(user.attributes.clone())
        };
        Self {
            id: user.id.clone(),
            state: user.state,
            email: user.email.as_deref().map(Box::from),
            meta: user.meta.clone(),
            document,
        }
    }

    /// The user, its document parsed back.
    pub(super) fn to_user(&self, directory: &DirectoryId) -> Result<User, StoreError> {
        let attributes = match &self.document {
            Document::Text(text) => {
                serde_json::from_str(text).map_err(|e| StoreError::Backend(Box::new(e)))?
            }
            Document::Tree(tree) => tree.clone(),
        };
        Ok(User::new(
            self.id.clone(),
            directory.clone(),
            attributes,
            self.meta.clone(),
        )
        .with_email(self.email.as_deref().map(str::to_owned))
        .with_state(self.state))
    }

    /// The user with its document as text, copied rather than parsed.
    pub(super) fn to_document(&self) -> UserDocument {
        UserDocument {
            id: self.id.clone(),
            state: self.state,
            meta: self.meta.clone(),
            attributes: match &self.document {
                Document::Text(text) => String::from(&**text),
                Document::Tree(tree) => tree.to_string(),
            },
        }
    }

    /// Whether `user` is this very record (same user, version and state), so a change
    /// entry can share it rather than hold a copy.
    fn is_record_of(&self, user: &User) -> bool {
        self.id == user.id && self.meta == user.meta && self.state == user.state
    }
}

/// A change entry as the memory backend holds it: the user snapshot, if any, as a
/// stored record (usually the very one in the users map).
#[derive(Debug)]
pub(super) struct StoredChange {
    change: Change,
    user: Option<Arc<StoredUser>>,
}

impl StoredChange {
    /// `change`, its user snapshot shared with the record `stored` holds for that user
    /// when the snapshot is that record (as for every entry a write records of the user it
    /// just stored), else kept compact on its own.
    pub(super) fn new<'a>(
        mut change: Change,
        stored: impl FnOnce(&UserId) -> Option<&'a Arc<StoredUser>>,
    ) -> Self {
        let user = change
            .take_user_snapshot()
            .map(|snapshot| match stored(&snapshot.id) {
                Some(record) if record.is_record_of(&snapshot) => Arc::clone(record),
                _ => Arc::new(StoredUser::new(&snapshot)),
            });
        Self { change, user }
    }

    pub(super) fn to_change(&self, directory: &DirectoryId) -> Result<Change, StoreError> {
        let change = self.change.clone();
        Ok(match &self.user {
            Some(user) => change.with_user_snapshot(user.to_user(directory)?),
            None => change,
        })
    }
}

/// The nesting depth of a JSON value (a scalar is 0).
fn depth(value: &Value) -> usize {
    // Iterative, so a pathological document costs no stack.
    let mut deepest = 0;
    let mut pending = vec![(value, 0usize)];
    while let Some((value, level)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        if deepest >= TEXT_DEPTH_LIMIT {
            return deepest;
        }
        pending.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

/// An ordered set of ids that holds a single id without a tree node.
#[derive(Debug)]
pub(super) enum Ids<K> {
    One(K),
    Many(BTreeSet<K>),
}

impl<K: Ord + Clone> Ids<K> {
    pub(super) fn one(id: &K) -> Self {
        Ids::One(id.clone())
    }

    /// Adds `id`; whether it was new.
    pub(super) fn insert(&mut self, id: &K) -> bool {
        match self {
            Ids::One(only) if only == id => false,
            Ids::One(only) => {
                let set = BTreeSet::from([only.clone(), id.clone()]);
                *self = Ids::Many(set);
                true
            }
            Ids::Many(set) => set.insert(id.clone()),
        }
    }

    /// Removes `id`; whether it was there. A set left empty reports it through
    /// [`Ids::is_empty`].
    pub(super) fn remove(&mut self, id: &K) -> bool {
        match self {
            Ids::One(only) => {
                if only == id {
                    *self = Ids::Many(BTreeSet::new());
                    true
                } else {
                    false
                }
            }
            Ids::Many(set) => {
                let removed = set.remove(id);
                if let Some(last) = (set.len() == 1).then(|| set.pop_first()).flatten() {
                    *self = Ids::One(last);
                }
                removed
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Ids::Many(set) if set.is_empty())
    }

    pub(super) fn contains(&self, id: &K) -> bool {
        match self {
            Ids::One(only) => only == id,
            Ids::Many(set) => set.contains(id),
        }
    }

    /// Every id, in order.
    pub(super) fn iter(&self) -> IdsRange<'_, K> {
        self.range((Bound::Unbounded, Bound::Unbounded))
    }

    /// The ids within `bounds`, in order.
    pub(super) fn range(&self, bounds: (Bound<K>, Bound<K>)) -> IdsRange<'_, K> {
        match self {
            Ids::One(only) => IdsRange::One(bounds_contain(&bounds, only).then_some(only)),
            Ids::Many(set) => IdsRange::Many(set.range(bounds)),
        }
    }
}

fn bounds_contain<K: Ord>(bounds: &(Bound<K>, Bound<K>), id: &K) -> bool {
    let above = match &bounds.0 {
        Bound::Included(low) => id >= low,
        Bound::Excluded(low) => id > low,
        Bound::Unbounded => true,
    };
    let below = match &bounds.1 {
        Bound::Included(high) => id <= high,
        Bound::Excluded(high) => id < high,
        Bound::Unbounded => true,
    };
    above && below
}

/// The ids of an [`Ids`] within bounds.
pub(super) enum IdsRange<'a, K> {
    One(Option<&'a K>),
    Many(std::collections::btree_set::Range<'a, K>),
}

impl<'a, K> Iterator for IdsRange<'a, K> {
    type Item = &'a K;

    fn next(&mut self) -> Option<&'a K> {
        match self {
            IdsRange::One(only) => only.take(),
            IdsRange::Many(range) => range.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn id(n: u128) -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn user(attributes: Value) -> User {
        User::new(
            id(1),
            DirectoryId::from_uuid(uuid::Uuid::from_u128(9)),
            attributes,
            Meta::new(datetime!(2026-01-01 0:00 UTC)),
        )
        .with_email(Some("a@example.com".into()))
        .with_state(UserState::Deactivated)
    }

    #[test]
    fn a_stored_user_reads_back_as_it_was_stored() {
        let original = user(json!({
            "userName": "a@example.com",
            "z": 1, "a": [1.5, 0.1, 1e300, -0.0, 18446744073709551615u64, -9223372036854775808i64],
            "name": {"givenName": "Ä \u{1F600} \"quoted\" \\ \n"},
        }));
        let stored = StoredUser::new(&original);
        assert!(matches!(stored.document, Document::Text(_)));
        let back = stored.to_user(&original.directory_id).expect("parse");
        assert_eq!(back, original);
        // Key order is kept (preserve_order), as IdPs and clients see it.
        let keys: Vec<&String> = back
            .attributes
            .as_object()
            .expect("object")
            .keys()
            .collect();
        assert_eq!(keys, ["userName", "z", "a", "name"]);
    }

    #[test]
    fn a_document_too_deep_for_the_parser_stays_a_tree_and_reads_back() {
        let mut deep = json!("leaf");
        for _ in 0..200 {
            deep = json!({ "x": [deep] });
        }
        let original = user(json!({"userName": "a@example.com", "deep": deep}));
        let stored = StoredUser::new(&original);
        assert!(matches!(stored.document, Document::Tree(_)));
        assert_eq!(
            stored.to_user(&original.directory_id).expect("read"),
            original
        );
    }

    #[test]
    fn depth_counts_levels_of_nesting() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({"a": [{"b": 1}]})), 3);
    }

    #[test]
    fn a_change_shares_the_record_it_snapshots_and_copies_any_other() {
        let original = user(json!({"userName": "a@example.com"}));
        let dir = original.directory_id.clone();
        let stored = Arc::new(StoredUser::new(&original));
        let change = Change::new(
            1,
            dir.clone(),
            crate::model::ChangeKind::UserCreated,
            original.id.clone(),
            None,
            original.meta.created,
        )
        .with_user_snapshot(original.clone());
        let shared = StoredChange::new(change.clone(), |_| Some(&stored));
        assert!(
            shared
                .user
                .as_ref()
                .is_some_and(|u| Arc::ptr_eq(u, &stored))
        );
        assert_eq!(shared.to_change(&dir).expect("read"), change);

        let mut older = original.clone();
        older.meta.version = 0;
        let copied = StoredChange::new(change.clone().with_user_snapshot(older.clone()), |_| {
            Some(&stored)
        });
        assert!(
            copied
                .user
                .as_ref()
                .is_some_and(|u| !Arc::ptr_eq(u, &stored))
        );
        assert_eq!(copied.to_change(&dir).expect("read").user(), Some(&older));
    }

    #[test]
    fn ids_hold_one_inline_and_many_in_order() {
        let mut ids = Ids::one(&id(5));
        assert!(!ids.insert(&id(5)));
        assert!(ids.insert(&id(3)));
        assert!(ids.insert(&id(9)));
        let all: Vec<_> = ids
            .range((Bound::Unbounded, Bound::Unbounded))
            .cloned()
            .collect();
        assert_eq!(all, [id(3), id(5), id(9)]);
        let after: Vec<_> = ids
            .range((Bound::Excluded(id(3)), Bound::Unbounded))
            .cloned()
            .collect();
        assert_eq!(after, [id(5), id(9)]);
        assert!(ids.remove(&id(3)) && ids.remove(&id(9)));
        assert!(matches!(ids, Ids::One(_)) && ids.contains(&id(5)));
        assert!(
            ids.range((Bound::Excluded(id(5)), Bound::Unbounded))
                .next()
                .is_none()
        );
        assert!(!ids.remove(&id(1)));
        assert!(ids.remove(&id(5)) && ids.is_empty());
    }
}
