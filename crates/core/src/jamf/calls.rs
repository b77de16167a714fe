//! Typed request helpers shared by the roles, integrations and privileges calls.

use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::JamfClient;
use super::endpoint::Endpoint;
use super::error::JamfError;
use super::paging::{StopReason, collect_pages};
use super::session::parse_body;
use super::transport::{Body, Call};
use super::types::Page;

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
            async move { self.fetch_json::<Page<T>>(&call).await }
        };
        let collected = collect_pages(self.inner.config.page_size, fetch, key).await?;
        match collected.reason {
            StopReason::ReachedTotal | StopReason::EmptyPage => {
                if (collected.items.len() as u64) < collected.total_count {
                    tracing::warn!(
                        instance = %self.inner.config.instance,
                        got = collected.items.len(),
                        total_count = collected.total_count,
                        "jamf list ended on an empty page before totalCount (concurrent deletes?)"
                    );
                }
                Ok(collected.items)
            }
            StopReason::NoProgress | StopReason::PageLimit => {
                let call = self.call(endpoint, &[]);
                Err(JamfError::Decode {
                    op: call.op(),
                    status: 200,
                    detail: format!(
                        "paging did not converge ({:?}): {} of {} items after {} pages",
                        collected.reason,
                        collected.items.len(),
                        collected.total_count,
                        collected.pages
                    )
                    .to_lowercase(),
                    snippet: String::new(),
                })
            }
        }
    }
}
