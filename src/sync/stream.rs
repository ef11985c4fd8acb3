//! Listings as streams: the same keyset pages as `list_users` / `list_groups`, read one
//! page at a time as the stream is polled, so a vendor never writes the page loop.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::{TryStreamExt, stream};

use super::{Page, PageToken, SyncError};

/// The items of a listing, read page by page (one store page per
/// [`DEFAULT_PAGE_SIZE`](super::DEFAULT_PAGE_SIZE) items, or the request's `page_size`)
/// as the stream is polled. Returned by [`DirectorySync::users`](super::DirectorySync::users),
/// [`groups`](super::DirectorySync::groups) and [`members`](super::DirectorySync::members).
///
/// Every item present for the whole walk appears exactly once, as with the page
/// methods. The stream ends after the last page, or after the first error (yielded as
/// the last item): restart the walk, or resume it with the page methods.
#[must_use = "a stream reads nothing until it is polled"]
pub struct Items<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T, SyncError>> + Send>>,
}

impl<T> std::fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items").finish_non_exhaustive()
    }
}

impl<T> Stream for Items<T> {
    type Item = Result<T, SyncError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Pages with `fetch` from `first` (a page token, `None` for the start) until a page
/// comes back without a `next_page_token`.
pub(super) fn paged<T, F, Fut>(first: Option<PageToken>, mut fetch: F) -> Items<T>
where
    T: Send + 'static,
    F: FnMut(Option<PageToken>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, SyncError>> + Send + 'static,
{
    // The state is the token of the next page to read, or `None` once the last page has
    // been read: the walk is over.
    let pages = stream::try_unfold(Some(first), move |token: Option<Option<PageToken>>| {
        let page = token.map(&mut fetch);
        async move {
            let Some(page) = page else {
                return Ok::<_, SyncError>(None);
            };
            let page = page.await?;
            let next = page.next_page_token.map(Some);
            Ok(Some((
                stream::iter(page.items.into_iter().map(Ok::<T, SyncError>)),
                next,
            )))
        }
    });
    Items {
        inner: Box::pin(pages.try_flatten()),
    }
}
