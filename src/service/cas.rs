//! Compare-and-swap writes: read the resource, check the request's preconditions, write
//! with the version read. A write that loses the race to a concurrent one is tried again
//! from a fresh read, unless the client pinned a version with `If-Match`.
//!
//! Each handler writes the loop; [`Retries`] holds the policy:
//!
//! ```text
//! let mut retries = Retries::new(&preconditions);
//! let stored = loop {
//!     retries.attempt()?;
//!     let old = load(...).await?;           // fresh read on every attempt
//!     ...
//!     if let Some(stored) = retries.settle(store.update_user(user, version).await, store_error)? {
//!         break stored;
//!     }
//! };
//! ```

use super::http::Preconditions;
use super::{CAS_ATTEMPTS, contended};
use crate::error::{ScimError, StoreError};

/// The retry budget and policy of one compare-and-swap write.
pub(super) struct Retries<'a> {
    preconditions: &'a Preconditions,
    left: usize,
}

impl<'a> Retries<'a> {
    pub(super) fn new(preconditions: &'a Preconditions) -> Self {
        Self {
            preconditions,
            left: CAS_ATTEMPTS,
        }
    }

    /// Starts another attempt, or gives up with 409 once the budget is spent.
    pub(super) fn attempt(&mut self) -> Result<(), ScimError> {
        if self.left == 0 {
            return Err(contended());
        }
        self.left -= 1;
        Ok(())
    }

    /// What a store write came to: written (`Some`), lost to a concurrent writer and to be
    /// tried again (`None`), or refused (mapped by `map_error`).
    pub(super) fn settle<T>(
        &self,
        written: Result<T, StoreError>,
        map_error: impl FnOnce(StoreError) -> ScimError,
    ) -> Result<Option<T>, ScimError> {
        match written {
            Ok(written) => Ok(Some(written)),
            Err(StoreError::Precondition { .. }) if !self.preconditions.has_if_match() => Ok(None),
            Err(error) => Err(map_error(error)),
        }
    }
}
