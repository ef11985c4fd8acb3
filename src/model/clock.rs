//! Time and id sources, injected so that the protocol core reads no clock and draws no
//! randomness of its own: tests replay exactly.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use uuid::Uuid;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, truncated to milliseconds (what SCIM timestamps carry).
#[derive(Debug, Default, Clone, Copy)]
#[allow(clippy::exhaustive_structs, reason = "a unit struct: nothing to add")]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_millisecond(now.millisecond()).unwrap_or(now)
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A source of fresh UUIDs for new ids.
pub trait IdGenerator: Send + Sync {
    /// A UUID never returned before by this generator.
    fn next_uuid(&self) -> Uuid;
}

/// Time-ordered random UUIDs (v7): ids sort by creation time.
#[derive(Debug, Default, Clone, Copy)]
#[allow(clippy::exhaustive_structs, reason = "a unit struct: nothing to add")]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn next_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Ascending UUIDs 1, 2, 3, ...; for tests that compare exact output.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdGenerator for SequentialIds {
    fn next_uuid(&self) -> Uuid {
        Uuid::from_u128(u128::from(self.0.fetch_add(1, Ordering::Relaxed) + 1))
    }
}
