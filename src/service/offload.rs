//! CPU-heavy request work off the async workers. A PATCH of 1,000 filtered operations on a
//! user with 1,000 emails costs ~0.5 s of CPU; run on an async worker it holds that
//! worker, and with two of them (two cores) every other request waits behind two such
//! PATCHes (`scripts/patch-starvation.sh` measured GETs falling from 40k to 1.5k req/s,
//! p99 1.3 s). On tokio's blocking pool it only shares the CPU.

use crate::error::ScimError;

/// Request bodies from this size up are parsed on the blocking pool: below it a parse
/// takes microseconds, less than the hand-off.
pub(super) const HEAVY_BODY_BYTES: usize = 64 * 1024;

/// PATCH requests with this many operations or more are applied on the blocking pool:
/// each operation may evaluate a filter over every element of a multi-valued attribute.
pub(super) const HEAVY_PATCH_OPERATIONS: usize = 64;

/// Runs `work` on tokio's blocking pool when `heavy` and a tokio runtime is running;
/// otherwise (light work, another executor) in place.
pub(super) async fn run<T, F>(heavy: bool, work: F) -> Result<T, ScimError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ScimError> + Send + 'static,
{
    let handle = match tokio::runtime::Handle::try_current() {
        Ok(handle) if heavy => handle,
        _ => return work(),
    };
    match handle.spawn_blocking(work).await {
        Ok(out) => out,
        // The work panicked: carry the panic on, as if it had run here.
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // The runtime is shutting down.
        Err(_) => Err(ScimError::status(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down; try again",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn heavy_work_runs_off_the_calling_thread_and_light_work_on_it() {
        let caller = std::thread::current().id();
        let heavy = run(true, || Ok(std::thread::current().id())).await.unwrap();
        assert_ne!(heavy, caller);
        let light = run(false, || Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_eq!(light, caller);
    }

    #[test]
    fn without_a_runtime_heavy_work_runs_in_place() {
        let caller = std::thread::current().id();
        let ran =
            futures_util::FutureExt::now_or_never(run(true, || Ok(std::thread::current().id())));
        assert_eq!(ran.map(|r| r.unwrap()), Some(caller));
    }
}
