//! RFC 9865 cursors: opaque, tamper-evident positions in a listing, bound to the query
//! they were issued for.

use sha2::{Digest, Sha256};

use crate::error::ScimType;
use crate::protocol::ProtocolError;
use crate::seal::Sealer;

const VERSION: u8 = 1;
const AFTER_ID: u8 = 0;
const OFFSET: u8 = 1;

/// Where the next page of a cursor-paged listing starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CursorPosition {
    /// After the resource with this id, in id order (stable while the directory changes).
    AfterId(String),
    /// After this many results, for sorted listings that have no keyset order.
    Offset(usize),
}

/// What a cursor is bound to: the directory, resource type, filter and sort of the query
/// that issued it. A cursor presented with a different query is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueryFingerprint([u8; 8]);

impl QueryFingerprint {
    /// The fingerprint of a query's defining parts.
    pub(crate) fn of(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(&digest[..8]);
        Self(out)
    }
}

/// Issues and reads cursors under one key.
#[derive(Debug, Clone)]
pub(crate) struct CursorCodec {
    sealer: Sealer,
}

fn invalid_cursor(detail: &str) -> ProtocolError {
    ProtocolError::new(
        ScimType::InvalidCursor,
        format!("{detail}; start again with `cursor=` (empty) to get the first page"),
    )
}

impl CursorCodec {
    /// A codec over a sealer.
    pub(crate) fn new(sealer: Sealer) -> Self {
        Self { sealer }
    }

    /// The cursor text for a position in a query's results.
    pub(crate) fn encode(&self, query: QueryFingerprint, position: &CursorPosition) -> String {
        let mut payload = vec![VERSION];
        payload.extend_from_slice(&query.0);
        match position {
            CursorPosition::AfterId(id) => {
                payload.push(AFTER_ID);
                payload.extend_from_slice(id.as_bytes());
            }
            CursorPosition::Offset(n) => {
                payload.push(OFFSET);
                payload.extend_from_slice(&(*n as u64).to_be_bytes());
            }
        }
        self.sealer.seal(&payload)
    }

    /// The position a cursor stands for, if this server issued it for this query.
    pub(crate) fn decode(
        &self,
        query: QueryFingerprint,
        cursor: &str,
    ) -> Result<CursorPosition, ProtocolError> {
        let payload = self.sealer.open(cursor).map_err(|_| {
            invalid_cursor("the cursor was not issued by this server or was altered")
        })?;
        let (header, rest) = payload
            .split_at_checked(10)
            .ok_or_else(|| invalid_cursor("the cursor is malformed"))?;
        if header.first() != Some(&VERSION) || header.get(1..9) != Some(&query.0[..]) {
            return Err(invalid_cursor(
                "the cursor belongs to a different query (filter, sort or resource type)",
            ));
        }
        match header.get(9) {
            Some(&AFTER_ID) => String::from_utf8(rest.to_vec())
                .map(CursorPosition::AfterId)
                .map_err(|_| invalid_cursor("the cursor is malformed")),
            Some(&OFFSET) => rest
                .try_into()
                .map(|bytes: [u8; 8]| CursorPosition::Offset(u64::from_be_bytes(bytes) as usize))
                .map_err(|_| invalid_cursor("the cursor is malformed")),
            _ => Err(invalid_cursor("the cursor is malformed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CursorCodec {
        CursorCodec::new(Sealer::new([3; 32]))
    }

    #[test]
    fn round_trips_both_positions() {
        let q = QueryFingerprint::of(&["dir", "User", "userName sw \"a\""]);
        for position in [
            CursorPosition::AfterId("scim_user_0123".into()),
            CursorPosition::Offset(40),
        ] {
            let text = codec().encode(q, &position);
            assert_eq!(codec().decode(q, &text).unwrap(), position);
        }
    }

    #[test]
    fn refuses_cursors_of_other_queries_keys_or_garbage() {
        let q = QueryFingerprint::of(&["dir", "User", ""]);
        let other = QueryFingerprint::of(&["dir", "Group", ""]);
        let text = codec().encode(q, &CursorPosition::Offset(1));
        for (query, cursor, codec) in [
            (other, text.clone(), codec()),
            (q, text.clone(), CursorCodec::new(Sealer::new([4; 32]))),
            (q, "zz".into(), codec()),
            (q, format!("{text}00"), codec()),
        ] {
            let err = codec.decode(query, &cursor).unwrap_err();
            assert_eq!(err.scim_type, ScimType::InvalidCursor, "{cursor}");
        }
    }
}
