//! `tower::Service` for [`ScimService`] and [`ManagementService`] (feature `tower`), so
//! either mounts in axum, hyper (through `hyper_util::service::TowerToHyperService`),
//! tonic's router or anything else built on tower.
//!
//! The body is read up to the service's limit and no further: a larger one is answered
//! with 413 without buffering it, and a body that fails to arrive (a reset connection)
//! with a 400. `Error` is [`Infallible`]: every failure is already a response.
//!
//! Any service of the `handle(Request<Bytes>) -> Response<Bytes>` shape gets the same
//! impl by implementing the crate-internal `AnswersBytes` (its limit, its 413 and 400
//! answers, its `handle`) and one line, `tower_service!(TheService);`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use super::ManagementService;
use super::ScimService;

/// A service that answers a fully read request: all the tower impl needs to know.
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
    // A declared length past the limit is refused at once: waiting for a body that will
    // be refused anyway lets a client hold the request open by never sending it.
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = u64::try_from(service.body_limit()).unwrap_or(u64::MAX);
    if declared.is_some_and(|length| length > limit) || body.size_hint().lower() > limit {
        return service.too_large().map(Full::new);
    }
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
        #[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
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

    /// A body whose connection breaks before its first byte.
    struct Broken;

    impl http_body::Body for Broken {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset",
            ))))
        }
    }

    async fn body_json(response: Response<Full<Bytes>>) -> serde_json::Value {
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn is_always_ready() {
        let store = Arc::new(MemoryStore::new());
        let mut scim = ScimService::builder(store).build();
        let ready = std::future::poll_fn(|cx| {
            <ScimService as Service<Request<Full<Bytes>>>>::poll_ready(&mut scim, cx)
        })
        .await;
        assert_eq!(ready, Ok(()));
    }

    #[tokio::test]
    async fn a_body_that_fails_to_arrive_is_a_scim_400() {
        let store = Arc::new(MemoryStore::new());
        let mut scim = ScimService::builder(store).build();
        let request = Request::post("/scim/v2/d/Users").body(Broken).unwrap();
        let response = scim.call(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error = body_json(response).await;
        assert_eq!(error["scimType"], "invalidSyntax");
        assert!(
            error["detail"]
                .as_str()
                .is_some_and(|d| d.contains("connection reset")),
            "{error}"
        );
    }

    /// A body that never arrives.
    struct Never;

    impl http_body::Body for Never {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_declared_length_past_the_limit_is_refused_without_waiting_for_the_body() {
        let store = Arc::new(MemoryStore::new());
        let mut scim = ScimService::builder(store).max_body_bytes(100).build();
        let request = Request::post("/scim/v2/d/Users")
            .header("content-length", "101")
            .body(Never)
            .unwrap();
        // `Never` would hang the test if the body were read.
        let response = scim.call(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let error = body_json(response).await;
        assert!(
            error["detail"]
                .as_str()
                .is_some_and(|d| d.contains("100 bytes")),
            "{error}"
        );
    }

    #[tokio::test]
    async fn the_management_service_is_mounted_the_same_way() {
        let store = Arc::new(MemoryStore::new());
        let sync = crate::DirectorySync::new(store.clone());
        let mut management = ManagementService::new(sync, store);
        let unauthenticated = Request::get(format!("{}/scim/users", management.prefix()))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = management.call(unauthenticated).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let oversized = Request::post(format!("{}/scim/users", management.prefix()))
            .body(Full::new(Bytes::from(vec![b'x'; 64 * 1024 + 1])))
            .unwrap();
        let response = management.call(oversized).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn reads_streamed_bodies_and_stops_at_the_limit() {
        let store = Arc::new(MemoryStore::new());
        let admin = Admin::new(store.clone());
        let org = admin.create_organization(None, vec![]).await.unwrap();
        let dir = admin.create_directory(&org.id, true).await.unwrap();
        let token = admin.issue_scim_token(&dir.id).await.unwrap().secret;
        let mut scim = ScimService::builder(store).max_body_bytes(200).build();
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
