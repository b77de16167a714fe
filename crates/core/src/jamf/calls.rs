//! Typed request helpers shared by the roles, integrations and privileges calls.

use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::JamfClient;
use super::endpoint::Endpoint;
use super::error::{JamfError, Limit};
use super::paging::{StopReason, collect_pages};
use super::session::parse_body;
use super::transport::{Body, Call};
use super::types::Page;

/// Bodies of one listing, over all its pages, beyond which it stops with
/// [`Limit::ListBytes`]. Far above a real estate (100,000 roles of a few hundred bytes each),
/// and what bounds the memory a listing can take whatever the server sends.
pub const MAX_LIST_BYTES: usize = 128 * 1024 * 1024;

impl JamfClient {
    /// Sends an authenticated call and decodes its JSON answer.
    pub(crate) async fn fetch_json<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
    ) -> Result<T, JamfError> {
        let resp = self.execute(call).await?;
        parse_body(call, &resp)
    }

    /// Sends an authenticated call with a JSON body and decodes the answer.
    pub(crate) async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        mut call: Call<'_>,
        body: &B,
    ) -> Result<T, JamfError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| JamfError::Config(format!("cannot encode the request body: {e}")))?;
        call.body = Body::Json(bytes);
        self.fetch_json(&call).await
    }

    /// Sends an authenticated call whose answer has no body of interest (204).
    pub(crate) async fn send_no_content(&self, call: &Call<'_>) -> Result<(), JamfError> {
        self.execute(call).await.map(|_| ())
    }

    /// Lists every item of a `{totalCount, results}` endpoint, sorted by id, optionally with
    /// an RSQL `filter`. See [`collect_pages`] for the termination rules.
    ///
    /// Bounded whatever the server answers: at most
    /// [`max_list_objects`](super::JamfClientConfig::max_list_objects) items, at most
    /// [`MAX_LIST_BYTES`] of bodies over all pages, and at most
    /// [`list_timeout`](super::JamfClientConfig::list_timeout) in all (retries included);
    /// each exceeded bound is a [`JamfError::Limit`], inconsistent paging a
    /// [`JamfError::Paging`].
    pub(crate) async fn list_all<T, K>(
        &self,
        endpoint: Endpoint,
        filter: Option<String>,
        key: impl Fn(&T) -> K,
    ) -> Result<Vec<T>, JamfError>
    where
        T: DeserializeOwned,
        K: Eq + Hash,
    {
        let config = &self.inner.config;
        let op = || self.call(endpoint, &[]).op();
        let received = AtomicUsize::new(0);
        let fetch = |page: u32, size: u32| {
            let mut call = self.call(endpoint, &[]);
            call.query = vec![
                ("page", page.to_string()),
                ("page-size", size.to_string()),
                ("sort", "id:asc".to_owned()),
            ];
            if let Some(f) = &filter {
                call.query.push(("filter", f.clone()));
            }
            let received = &received;
            async move {
                let resp = self.execute(&call).await?;
                let so_far = received.fetch_add(resp.body.len(), Ordering::Relaxed);
                if so_far + resp.body.len() > MAX_LIST_BYTES {
                    return Err(JamfError::Limit {
                        op: call.op(),
                        limit: Limit::ListBytes {
                            max: MAX_LIST_BYTES,
                        },
                    });
                }
                parse_body::<Page<T>>(&call, &resp)
            }
        };
        let collect = collect_pages(config.page_size, config.max_list_objects, fetch, key);
        let collected = tokio::time::timeout(config.list_timeout, collect)
            .await
            .map_err(|_| JamfError::Limit {
                op: op(),
                limit: Limit::Deadline {
                    after: config.list_timeout,
                },
            })??;
        let (got, total, pages) = (
            collected.items.len(),
            collected.total_count,
            collected.pages,
        );
        let paging = |detail: String| JamfError::Paging { op: op(), detail };
        match collected.reason {
            StopReason::ReachedTotal => Ok(collected.items),
            StopReason::EmptyPage if got as u64 >= total => Ok(collected.items),
            StopReason::EmptyPage => Err(paging(format!(
                "page {pages} was empty while totalCount says {total} and only {got} were received"
            ))),
            StopReason::NoProgress => Err(paging(format!(
                "page {pages} brought no new item ({got} of {total} after {pages} pages)"
            ))),
            StopReason::PageLimit => Err(paging(format!(
                "{got} of {total} items after {pages} pages"
            ))),
            StopReason::OversizedPage => Err(paging(format!(
                "page {pages} held more items than the page size asked for"
            ))),
            StopReason::UnstableTotal => Err(paging(format!(
                "totalCount jumped to {total} on page {pages}"
            ))),
            StopReason::TooMany => Err(JamfError::Limit {
                op: op(),
                limit: Limit::Objects {
                    max: config.max_list_objects,
                },
            }),
        }
    }
}
