//! `tower::Service` for [`ScimService`] and [`ManagementService`] (feature `tower`), so
//! either mounts in axum, hyper (through `hyper_util::service::TowerToHyperService`),
//! tonic's router or anything else built on tower.
//!
//! The body is read up to the service's limit and no further: a larger one is answered
//! with 413 without buffering it. `Error` is [`Infallible`]: every failure is already a
//! response.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use super::ScimService;
use crate::sync::ManagementService;

/// A service that answers a fully read request.
trait AnswersBytes: Clone + Send + Sync + 'static {
    fn body_limit(&self) -> usize;
    fn too_large(&self) -> Response<Bytes>;
    fn unreadable(&self, detail: String) -> Response<Bytes>;
    fn answer(&self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send;
}

impl AnswersBytes for ScimService {
    fn body_limit(&self) -> usize {
        self.max_body_bytes()
    }
    fn too_large(&self) -> Response<Bytes> {
        self.payload_too_large()
    }
    fn unreadable(&self, detail: String) -> Response<Bytes> {
        super::http::error_response(&crate::ScimError::bad_request(
            crate::ScimType::InvalidSyntax,
            format!("the request body could not be read: {detail}"),
        ))
    }
    fn answer(&self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send {
        self.handle(request)
    }
}

impl AnswersBytes for ManagementService {
    fn body_limit(&self) -> usize {
        // The management API is read-only; a body is never needed.
        64 * 1024
    }
    fn too_large(&self) -> Response<Bytes> {
        self.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
    }
    fn unreadable(&self, detail: String) -> Response<Bytes> {
        self.error(
            StatusCode::BAD_REQUEST,
            &format!("the request body could not be read: {detail}"),
        )
    }
    fn answer(&self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send {
        self.handle(request)
    }
}

async fn serve<S, B>(service: S, request: Request<B>) -> Response<Full<Bytes>>
where
    S: AnswersBytes,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let response = match Limited::new(body, service.body_limit()).collect().await {
        Ok(collected) => {
            service
                .answer(Request::from_parts(parts, collected.to_bytes()))
                .await
        }
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => service.too_large(),
        Err(error) => service.unreadable(error.to_string()),
    };
    response.map(Full::new)
}

macro_rules! tower_service {
    ($service:ty) => {
        impl<B> tower_service::Service<Request<B>> for $service
        where
            B: http_body::Body + Send + 'static,
            B::Data: Send,
            B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        {
            type Response = Response<Full<Bytes>>;
            type Error = Infallible;
            type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: Request<B>) -> Self::Future {
                let service = self.clone();
                Box::pin(async move { Ok(serve(service, request).await) })
            }
        }
    };
}

tower_service!(ScimService);
tower_service!(ManagementService);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tower_service::Service;

    use super::*;
    use crate::Admin;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn reads_streamed_bodies_and_stops_at_the_limit() {
        let store = Arc::new(MemoryStore::new());
        let admin = Admin::new(store.clone(), store.clone());
        let org = admin.create_organization(None, vec![]).await.unwrap();
        let dir = admin.create_directory(&org.id, true).await.unwrap();
        let token = admin.issue_scim_token(&dir.id).await.unwrap().secret;
        let mut scim = ScimService::builder(store.clone(), store)
            .max_body_bytes(200)
            .build();
        let request = |body: String| {
            Request::post(format!("/scim/v2/{}/Users", dir.id))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/scim+json")
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        };
        let ok = scim
            .call(request(r#"{"userName":"a@x.com"}"#.into()))
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::CREATED);
        let big = scim
            .call(request(format!(
                r#"{{"userName":"{}@x.com"}}"#,
                "a".repeat(500)
            )))
            .await
            .unwrap();
        assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
