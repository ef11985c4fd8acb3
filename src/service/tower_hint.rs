//! Without the `tower` feature, mounting a service in axum (or calling it as a
//! `tower::Service`) should say which feature is missing, not just that a trait bound
//! does not hold. So this build has a stand-in `tower_service::Service` impl for both
//! services, bounded on [`TowerFeature`], a trait nothing implements and whose
//! `on_unimplemented` message names the feature. The impl can never be used; its
//! methods exist only to satisfy the trait.

use std::convert::Infallible;
use std::future::Pending;
use std::task::{Context, Poll};

use http::{Request, Response};

use super::ScimService;
use crate::sync::ManagementService;

/// Holds only in a build of scimkit with its `tower` feature, where this trait does not
/// exist and both services implement `tower::Service` for real. It is here so that the
/// compiler error for mounting a service without the feature names the feature.
///
/// ```compile_fail,E0277
/// use std::sync::Arc;
/// fn mount<S: tower_service::Service<http::Request<String>>>(_: S) {}
/// let store = Arc::new(scimkit::store::MemoryStore::new());
/// // error: `ScimService` is a `tower::Service` only with scimkit's `tower` feature
/// mount(scimkit::ScimService::builder(store).build());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is a `tower::Service` only with scimkit's `tower` feature",
    label = "needs scimkit's `tower` feature",
    note = "enable it: `features = [\"tower\"]` on the scimkit dependency in Cargo.toml",
    note = "or, without tower: collect the request body into `Bytes` and call `handle`"
)]
pub trait TowerFeature<B> {}

macro_rules! tower_hint {
    ($service:ty) => {
        impl<B> tower_service::Service<Request<B>> for $service
        where
            $service: TowerFeature<B>,
        {
            // `String` is an `http_body::Body`, so frameworks find nothing else to
            // complain about than the missing feature.
            type Response = Response<String>;
            type Error = Infallible;
            type Future = Pending<Result<Response<String>, Infallible>>;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }

            // Unreachable in practice: `TowerFeature` has no impls, so no caller can
            // name this impl. A future that never resolves keeps it free of panics.
            fn call(&mut self, _: Request<B>) -> Self::Future {
                std::future::pending()
            }
        }
    };
}

tower_hint!(ScimService);
tower_hint!(ManagementService);
