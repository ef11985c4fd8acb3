//! [`WebhookStore`] on sled: one tree, `webhooks`, outside the directory trees (so the
//! format and its migrations are untouched). Keys start with a tag byte and the
//! length-prefixed endpoint name, so an endpoint's entries are one prefix:
//! `c len endpoint dir` → cursor (u64 BE), `d len endpoint dir \0 seq (BE)` → a
//! [`DeadLetter`] as JSON. A dead letter and its cursor move are one batch; every write
//! waits for the group commit's flush, like directory writes.

use ::sled::{Batch, Tree};
use async_trait::async_trait;

use super::SledStore;
use super::codec::{backend, decode, decode_listed, decode_u64, encode};
use super::view::View;
use crate::model::DirectoryId;
use crate::store::StoreError;
use crate::store::webhooks::{DeadLetter, WebhookStore};

const TREE: &str = "webhooks";
const CURSOR: u8 = b'c';
const LETTER: u8 = b'd';

fn endpoint_prefix(tag: u8, endpoint: &str) -> Result<Vec<u8>, StoreError> {
    let len = u16::try_from(endpoint.len())
        .map_err(|_| StoreError::Backend("webhook endpoint name too long".into()))?;
    let mut key = vec![tag];
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(endpoint.as_bytes());
    Ok(key)
}

fn cursor_key(endpoint: &str, dir: &DirectoryId) -> Result<Vec<u8>, StoreError> {
    let mut key = endpoint_prefix(CURSOR, endpoint)?;
    key.extend_from_slice(dir.as_str().as_bytes());
    Ok(key)
}

fn letter_key(endpoint: &str, dir: &DirectoryId, seq: u64) -> Result<Vec<u8>, StoreError> {
    let mut key = endpoint_prefix(LETTER, endpoint)?;
    key.extend_from_slice(dir.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    Ok(key)
}

impl View {
    fn webhook_tree(&self) -> Result<Tree, StoreError> {
        self.db.open_tree(TREE).map_err(backend)
    }

    fn cursor_of(&self, tree: &Tree, key: &[u8]) -> Result<u64, StoreError> {
        match tree.get(key).map_err(backend)? {
            Some(bytes) => decode_u64(&bytes),
            None => Ok(0),
        }
    }
}

#[async_trait]
impl WebhookStore for SledStore {
    async fn webhook_cursor(&self, endpoint: &str, dir: &DirectoryId) -> Result<u64, StoreError> {
        let key = cursor_key(endpoint, dir)?;
        self.blocking(move |inner| inner.cursor_of(&inner.webhook_tree()?, &key))
            .await
    }

    async fn set_webhook_cursor(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<(), StoreError> {
        let key = cursor_key(endpoint, dir)?;
        self.blocking(move |inner| {
            inner.exclusive(|i| {
                i.webhook_tree()?
                    .insert(key, seq.to_be_bytes().to_vec())
                    .map(drop)
                    .map_err(backend)
            })
        })
        .await
    }

    async fn insert_dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        let cursor = cursor_key(&letter.endpoint, &letter.directory_id)?;
        let key = letter_key(&letter.endpoint, &letter.directory_id, letter.seq)?;
        let value = encode(&letter)?;
        self.blocking(move |inner| {
            inner.exclusive(|i| {
                let tree = i.webhook_tree()?;
                let mut batch = Batch::default();
                if i.cursor_of(&tree, &cursor)? < letter.seq {
                    batch.insert(cursor, letter.seq.to_be_bytes().to_vec());
                }
                batch.insert(key, value);
                tree.apply_batch(batch).map_err(backend)
            })
        })
        .await
    }

    async fn list_dead_letters(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let prefix = endpoint_prefix(LETTER, endpoint)?;
        self.blocking(move |inner| {
            let mut out = Vec::new();
            for entry in inner.webhook_tree()?.scan_prefix(&prefix) {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = entry.map_err(backend)?;
                out.extend(decode_listed::<DeadLetter>(TREE, &k, &v));
            }
            Ok(out)
        })
        .await
    }

    async fn get_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<Option<DeadLetter>, StoreError> {
        let key = letter_key(endpoint, dir, seq)?;
        self.blocking(move |inner| {
            inner
                .webhook_tree()?
                .get(key)
                .map_err(backend)?
                .map(|v| decode(TREE, &v))
                .transpose()
        })
        .await
    }

    async fn remove_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<bool, StoreError> {
        let key = letter_key(endpoint, dir, seq)?;
        self.blocking(move |inner| {
            inner.exclusive(|i| {
                i.webhook_tree()?
                    .remove(key)
                    .map(|old| old.is_some())
                    .map_err(backend)
            })
        })
        .await
    }
}
