//! Paging through `{totalCount, results}` list endpoints, and RSQL filters.
//!
//! Jamf clamps `page-size` to 2000 without saying so, and `totalCount` counts all matches, so
//! a short page is not proof of the end. The pager keeps requesting until it holds `totalCount`
//! distinct items or an empty page arrives, removes duplicates by id, and stops with
//! [`StopReason::NoProgress`] if a page brings nothing new (a server ignoring `page`), which the
//! client turns into an error rather than loop forever or return a silently partial list.
//!
//! Whatever the server answers, the pager's memory and number of requests are bounded: it holds
//! at most `max_items` items, stops at a `totalCount` above that, at a page holding more items
//! than asked for, at a `totalCount` that moves by more than a page and a quarter of itself
//! between pages, and at a page that brings nothing new. The caller adds the byte budget and
//! the deadline (see `JamfClient::list_all`).

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;

use super::types::Page;

/// Absolute guard on the number of pages of one listing.
pub const MAX_PAGES: u32 = 10_000;

/// Why the pager stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Holds `totalCount` distinct items.
    ReachedTotal,
    /// The server answered an empty page.
    EmptyPage,
    /// A non-empty page contained only items already seen.
    NoProgress,
    /// [`MAX_PAGES`] pages fetched.
    PageLimit,
    /// More than `max_items` distinct items, or a `totalCount` above it.
    TooMany,
    /// A page held more items than the page size asked for.
    OversizedPage,
    /// `totalCount` moved by more than a page and a quarter of its first value.
    UnstableTotal,
}

/// The items of a listing and why it ended.
#[derive(Debug)]
pub struct Collected<T> {
    /// Distinct items, in the order received.
    pub items: Vec<T>,
    /// The last `totalCount` the server reported.
    pub total_count: u64,
    /// Why it stopped.
    pub reason: StopReason,
    /// Pages requested.
    pub pages: u32,
}

/// Fetches pages with `fetch(page, page_size)` until the listing is complete.
///
/// If the first page is shorter than requested yet below `totalCount`, the server clamped the
/// page size: later pages are requested with the observed size so page numbers line up
/// whichever size the server uses to compute offsets.
///
/// At most `max_items` items are held: a `totalCount` above it stops before the items are
/// stored ([`StopReason::TooMany`]).
pub async fn collect_pages<T, K, E, F, Fut>(
    page_size: u32,
    max_items: usize,
    mut fetch: F,
    key: impl Fn(&T) -> K,
) -> Result<Collected<T>, E>
where
    K: Eq + Hash,
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut size = page_size.max(1);
    let mut page = 0u32;
    let mut total_count = 0;
    let mut first_total: Option<u64> = None;
    loop {
        if page >= MAX_PAGES {
            return Ok(done(items, total_count, StopReason::PageLimit, page));
        }
        let Page {
            total_count: total,
            results,
        } = fetch(page, size).await?;
        total_count = total;
        let pages = page + 1;
        if total > max_items as u64 {
            return Ok(done(items, total_count, StopReason::TooMany, pages));
        }
        if results.len() as u64 > u64::from(size) {
            return Ok(done(items, total_count, StopReason::OversizedPage, pages));
        }
        let first = *first_total.get_or_insert(total);
        if total.abs_diff(first) > u64::from(size) + first / 4 {
            return Ok(done(items, total_count, StopReason::UnstableTotal, pages));
        }
        if results.is_empty() {
            return Ok(done(items, total_count, StopReason::EmptyPage, page + 1));
        }
        let received = results.len();
        let before = items.len();
        for item in results {
            if seen.insert(key(&item)) {
                if items.len() >= max_items {
                    return Ok(done(items, total_count, StopReason::TooMany, pages));
                }
                items.push(item);
            }
        }
        if items.len() as u64 >= total_count {
            return Ok(done(items, total_count, StopReason::ReachedTotal, page + 1));
        }
        if items.len() == before {
            return Ok(done(items, total_count, StopReason::NoProgress, page + 1));
        }
        if page == 0 && (received as u64) < u64::from(size) {
            size = u32::try_from(received).unwrap_or(size).max(1);
        }
        page += 1;
    }
}

fn done<T>(items: Vec<T>, total_count: u64, reason: StopReason, pages: u32) -> Collected<T> {
    Collected {
        items,
        total_count,
        reason,
        pages,
    }
}

/// Escapes a value for a double-quoted RSQL literal (`\` and `"`).
pub fn escape_rsql(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `displayName=="<escaped>"`. Jamf compares case-insensitively and treats `*` as a glob, so
/// callers must re-check the exact name on the results.
pub fn display_name_filter(name: &str) -> String {
    format!("displayName==\"{}\"", escape_rsql(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::convert::Infallible;

    /// A fake server: `n` items with ids 0..n, clamping the page size to `clamp`, computing the
    /// offset with `offset_size(requested, clamped)`.
    struct FakeServer {
        n: u64,
        clamp: u32,
        use_requested_for_offset: bool,
        calls: RefCell<Vec<(u32, u32)>>,
    }

    impl FakeServer {
        fn page(&self, page: u32, size: u32) -> Page<u64> {
            self.calls.borrow_mut().push((page, size));
            let clamped = size.min(self.clamp);
            let stride = if self.use_requested_for_offset {
                size
            } else {
                clamped
            };
            let start = u64::from(page) * u64::from(stride);
            let end = (start + u64::from(clamped)).min(self.n);
            Page {
                total_count: self.n,
                results: (start.min(self.n)..end).collect(),
            }
        }
    }

    async fn run(server: &FakeServer, size: u32) -> Collected<u64> {
        collect_pages(
            size,
            1_000_000,
            |p, s| {
                let page = server.page(p, s);
                async move { Ok::<_, Infallible>(page) }
            },
            |i| *i,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn pages_through_4500_items() {
        for (size, clamp, requested_offsets) in [
            (2000, 2000, false),
            (5000, 2000, false),
            (5000, 2000, true),
            (100, 2000, false),
            (7, 3, true),
        ] {
            let server = FakeServer {
                n: 4500,
                clamp,
                use_requested_for_offset: requested_offsets,
                calls: RefCell::default(),
            };
            let got = run(&server, size).await;
            assert_eq!(got.reason, StopReason::ReachedTotal, "{size}/{clamp}");
            assert_eq!(got.items, (0..4500).collect::<Vec<_>>(), "{size}/{clamp}");
        }
    }

    #[tokio::test]
    async fn exact_multiple_and_empty() {
        let server = FakeServer {
            n: 4000,
            clamp: 2000,
            use_requested_for_offset: false,
            calls: RefCell::default(),
        };
        let got = run(&server, 2000).await;
        assert_eq!(got.items.len(), 4000);
        assert_eq!(got.pages, 2);
        let empty = FakeServer { n: 0, ..server };
        let got = run(&empty, 2000).await;
        assert_eq!(got.reason, StopReason::EmptyPage);
        assert!(got.items.is_empty());
    }

    #[tokio::test]
    async fn short_pages_are_not_the_end() {
        // Pages of 3 although 10 were asked for, then the rest; total 8.
        let pages = RefCell::new(vec![
            Page {
                total_count: 8,
                results: vec![1, 2, 3],
            },
            Page {
                total_count: 8,
                results: vec![4, 5, 6],
            },
            Page {
                total_count: 8,
                results: vec![7, 8],
            },
        ]);
        let got = collect_pages(
            10,
            100,
            |_, _| {
                let p = pages.borrow_mut().remove(0);
                async move { Ok::<_, Infallible>(p) }
            },
            |i: &u64| *i,
        )
        .await
        .unwrap();
        assert_eq!(got.items, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(got.reason, StopReason::ReachedTotal);
    }

    #[tokio::test]
    async fn duplicates_removed_and_stuck_server_stops() {
        // The server ignores `page`: the same page forever.
        let calls = RefCell::new(0);
        let got = collect_pages(
            2,
            100,
            |_, _| {
                *calls.borrow_mut() += 1;
                async {
                    Ok::<_, Infallible>(Page {
                        total_count: 10,
                        results: vec![1u64, 2],
                    })
                }
            },
            |i| *i,
        )
        .await
        .unwrap();
        assert_eq!(got.reason, StopReason::NoProgress);
        assert_eq!(got.items, [1, 2]);
        assert_eq!(*calls.borrow(), 2);

        // Overlap (an item shifted by a concurrent delete) is deduplicated; an empty page ends it
        // even though totalCount is not reached.
        let pages = RefCell::new(vec![
            Page {
                total_count: 6,
                results: vec![1u64, 2, 3],
            },
            Page {
                total_count: 6,
                results: vec![3, 4, 5],
            },
            Page {
                total_count: 6,
                results: vec![],
            },
        ]);
        let got = collect_pages(
            3,
            100,
            |_, _| {
                let p = pages.borrow_mut().remove(0);
                async move { Ok::<_, Infallible>(p) }
            },
            |i| *i,
        )
        .await
        .unwrap();
        assert_eq!(got.items, [1, 2, 3, 4, 5]);
        assert_eq!(got.reason, StopReason::EmptyPage);
    }

    #[tokio::test]
    async fn errors_propagate() {
        let got = collect_pages(5, 100, |_, _| async { Err::<Page<u64>, _>("boom") }, |i| *i).await;
        assert_eq!(got.unwrap_err(), "boom");
    }

    /// A server that answers `pages[n]` for page `n` and, past the end, keeps inventing new
    /// items (ids from `next`) with the given `totalCount`.
    async fn hostile(
        size: u32,
        max: usize,
        total: impl Fn(u32) -> u64,
        len: impl Fn(u32) -> u64,
    ) -> (Collected<u64>, u32) {
        let calls = RefCell::new(0u32);
        let got = collect_pages(
            size,
            max,
            |p, _| {
                *calls.borrow_mut() += 1;
                let start = u64::from(p) * 1_000_000;
                let page = Page {
                    total_count: total(p),
                    results: (start..start + len(p)).collect(),
                };
                async move { Ok::<_, Infallible>(page) }
            },
            |i| *i,
        )
        .await
        .unwrap();
        let n = *calls.borrow();
        (got, n)
    }

    #[tokio::test]
    async fn endless_paging_stops_at_the_item_cap() {
        // totalCount just under the cap and never reached: every page brings new items
        let (got, calls) = hostile(100, 1000, |_| 1000, |_| 99).await;
        assert_eq!(got.reason, StopReason::TooMany);
        assert_eq!(got.items.len(), 1000, "never more than the cap held");
        assert_eq!(calls, 11);
        // a totalCount above the cap stops at the first page, before anything is stored
        let (got, calls) = hostile(100, 1000, |_| 1001, |_| 100).await;
        assert_eq!(
            (got.reason, got.items.len(), calls),
            (StopReason::TooMany, 0, 1)
        );
        let (got, _) = hostile(100, 1000, |_| u64::MAX, |_| 100).await;
        assert_eq!(got.reason, StopReason::TooMany);
    }

    #[tokio::test]
    async fn oversized_pages_and_unstable_totals_stop() {
        // asked for 100, got 5,000: stops at once
        let (got, calls) = hostile(100, 100_000, |_| 50_000, |_| 5000).await;
        assert_eq!(
            (got.reason, got.items.len(), calls),
            (StopReason::OversizedPage, 0, 1)
        );
        // totalCount grows by far more than a page each time
        let (got, calls) = hostile(100, 100_000, |p| 500 + u64::from(p) * 10_000, |_| 100).await;
        assert_eq!((got.reason, calls), (StopReason::UnstableTotal, 2));
        // a small drift (concurrent creates) is fine
        let (got, _) = hostile(100, 100_000, |p| 300 + u64::from(p), |_| 100).await;
        assert_eq!(got.reason, StopReason::ReachedTotal);
    }

    #[test]
    fn rsql_escaping() {
        assert_eq!(escape_rsql("plain name"), "plain name");
        assert_eq!(escape_rsql(r#"a"b"#), r#"a\"b"#);
        assert_eq!(escape_rsql(r"a\b"), r"a\\b");
        assert_eq!(escape_rsql(r#"\""#), r#"\\\""#);
        assert_eq!(
            display_name_filter(r#"Amend "Static" Groups\"#),
            r#"displayName=="Amend \"Static\" Groups\\""#
        );
    }
}
