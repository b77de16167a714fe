//! A report answered in parts, so a fleet report of any size crosses the socket in frames the
//! caps allow and neither side encodes or buffers the whole document at once.
//!
//! # Wire
//!
//! A client that can reassemble says so in its request (`AuditRequest::stream`). The daemon
//! then answers with several frames instead of one [`Response::Report`](super::Response::Report):
//!
//! 1. [`Response::ReportStart`](super::Response::ReportStart): the report's kind and finding count, and the report itself
//!    with its `split` member (e.g. `instances`) empty;
//! 2. zero or more [`Response::ReportPart`](super::Response::ReportPart), numbered from 0, each a JSON array of items of
//!    that member, in order (at most [`PART_ITEMS`] items and about [`PART_BYTES`] bytes);
//! 3. [`Response::ReportEnd`](super::Response::ReportEnd) with the number of parts and items sent, which the client checks.
//!
//! A [`Response::Error`](super::Response::Error) in place of a part ends the answer: the daemon could not encode an
//! item; the client reports that error and the connection stays usable. Nothing else may
//! arrive between the start and the end.
//!
//! # Evolution
//!
//! A daemon that predates parts ignores `stream` and answers one `Report`; the client accepts
//! either. A client that does not ask never gets parts.

use serde::Serialize;

use super::{ReportBody, ReportEnd, ReportPart};

/// Most items (instances) in one part: a part decodes into a bounded buffer on the client.
pub const PART_ITEMS: usize = 64;

/// About the most bytes of one part (a single larger item still goes alone, up to the frame
/// cap).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Why an item could not be put into a part.
#[derive(Debug, thiserror::Error)]
pub enum PartError {
    /// serde refused the item (it holds a map with non-string keys, which no report type
    /// has): a bug to report.
    #[error("cannot encode item {index} of the report: {source}; report this as a bug")]
    Encode {
        /// Its position in the split member.
        index: usize,
        /// serde's reason.
        source: serde_json::Error,
    },
    /// One item alone is over the frame cap.
    #[error(
        "item {index} of the report is {mib} MiB encoded, over the control protocol's limit of \
         {max_mib} MiB; ask for that instance alone with --last, or fewer privileges in one report"
    )]
    TooLarge {
        /// Its position in the split member.
        index: usize,
        /// Its encoded size, rounded up.
        mib: usize,
        /// The cap, rounded up.
        max_mib: usize,
    },
}

/// Cuts `items` into parts of at most `max_items` items and about `max_bytes` bytes, encoding
/// each item only when its part is built and dropping it right after: the whole list is never
/// encoded at once. An item over `max_frame` bytes alone is an error (and ends the parts).
pub struct Parts<T> {
    items: std::iter::Enumerate<std::vec::IntoIter<T>>,
    max_items: usize,
    max_bytes: usize,
    max_frame: usize,
    /// An item encoded that did not fit the previous part.
    carry: Option<Vec<u8>>,
    parts: u64,
    sent: u64,
    failed: bool,
}

impl<T: Serialize> Parts<T> {
    /// Parts of `items` with the protocol's limits.
    pub fn new(items: Vec<T>) -> Parts<T> {
        Parts::with_limits(items, PART_ITEMS, PART_BYTES, super::MAX_RESPONSE_BYTES)
    }

    /// Parts with other limits (tests).
    pub fn with_limits(
        items: Vec<T>,
        max_items: usize,
        max_bytes: usize,
        max_frame: usize,
    ) -> Parts<T> {
        Parts {
            items: items.into_iter().enumerate(),
            max_items: max_items.max(1),
            max_bytes,
            // room for the part's envelope around the items
            max_frame: max_frame.saturating_sub(1024),
            carry: None,
            parts: 0,
            sent: 0,
            failed: false,
        }
    }

    /// The end marker, once every part was taken.
    pub fn end(&self) -> ReportEnd {
        ReportEnd {
            parts: self.parts,
            items: self.sent,
        }
    }

    fn encode(&self, index: usize, item: &T) -> Result<Vec<u8>, PartError> {
        let bytes =
            serde_json::to_vec(item).map_err(|source| PartError::Encode { index, source })?;
        if bytes.len() > self.max_frame {
            return Err(PartError::TooLarge {
                index,
                mib: bytes.len().div_ceil(1024 * 1024),
                max_mib: self.max_frame.div_ceil(1024 * 1024),
            });
        }
        Ok(bytes)
    }
}

impl<T: Serialize> Iterator for Parts<T> {
    type Item = Result<ReportPart, PartError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let mut json = Vec::new();
        let mut count = 0usize;
        json.push(b'[');
        if let Some(first) = self.carry.take() {
            json.extend_from_slice(&first);
            count = 1;
        }
        while count < self.max_items {
            let Some((index, item)) = self.items.next() else {
                break;
            };
            let bytes = match self.encode(index, &item) {
                Ok(b) => b,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            drop(item);
            if count > 0 && json.len() + 1 + bytes.len() > self.max_bytes {
                self.carry = Some(bytes);
                break;
            }
            if count > 0 {
                json.push(b',');
            }
            json.extend_from_slice(&bytes);
            count += 1;
        }
        if count == 0 {
            return None;
        }
        json.push(b']');
        let raw = match String::from_utf8(json)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::value::RawValue::from_string(s).map_err(|e| e.to_string()))
        {
            Ok(raw) => raw,
            // serde_json wrote each item: the array is JSON
            Err(_) => return None,
        };
        let part = ReportPart {
            index: self.parts,
            items: ReportBody::from_raw(raw),
        };
        self.parts += 1;
        self.sent += count as u64;
        Some(Ok(part))
    }
}

/// Why a streamed report could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A part arrived out of order, or the end's counts differ from what arrived: the answer
    /// was cut or mixed; ask again.
    #[error(
        "the daemon's answer arrived incomplete ({detail}); run the command again, and report it \
         if it repeats"
    )]
    Incomplete {
        /// What did not add up.
        detail: String,
    },
    /// A part is not an array of the expected items.
    #[error(
        "the daemon sent a report part this client cannot read: {0}; use the wardenctl that ships with this wardend"
    )]
    Decode(#[from] serde_json::Error),
}

/// Puts a streamed report back together on the client: feed it the parts in order, then the
/// end.
#[derive(Debug, Default)]
pub struct Assembler {
    parts: u64,
    items: u64,
}

impl Assembler {
    /// Decodes `part`'s items, checking its number.
    pub fn part<I: serde::de::DeserializeOwned>(
        &mut self,
        part: &ReportPart,
    ) -> Result<Vec<I>, AssembleError> {
        if part.index != self.parts {
            return Err(AssembleError::Incomplete {
                detail: format!(
                    "part {} arrived where part {} was due",
                    part.index, self.parts
                ),
            });
        }
        let items: Vec<I> = part.items.decode()?;
        self.parts += 1;
        self.items += items.len() as u64;
        Ok(items)
    }

    /// Checks the end marker against what arrived.
    pub fn end(&self, end: &ReportEnd) -> Result<(), AssembleError> {
        if end.parts != self.parts || end.items != self.items {
            return Err(AssembleError::Incomplete {
                detail: format!(
                    "{} part(s) with {} item(s) announced, {} with {} received",
                    end.parts, end.items, self.parts, self.items
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(parts: &mut Parts<String>) -> Vec<Vec<String>> {
        let mut asm = Assembler::default();
        let mut out = Vec::new();
        for part in parts.by_ref() {
            out.push(asm.part::<String>(&part.unwrap()).unwrap());
        }
        asm.end(&parts.end()).unwrap();
        out
    }

    #[test]
    fn items_are_cut_by_count_and_by_size_and_put_back_in_order() {
        let items: Vec<String> = (0..10).map(|i| format!("item-{i}")).collect();
        let got = all(&mut Parts::with_limits(items.clone(), 4, 1 << 20, 1 << 20));
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
        assert_eq!(got.concat(), items);

        // "item-0" encodes as 8 bytes: two per part of at most 20 bytes
        let got = all(&mut Parts::with_limits(items.clone(), 64, 20, 1 << 20));
        assert!(got.iter().all(|p| p.len() == 2), "{got:?}");
        assert_eq!(got.concat(), items);

        // an item bigger than a part goes alone
        let big = vec!["x".repeat(100), "y".into(), "z".into()];
        let got = all(&mut Parts::with_limits(big.clone(), 64, 20, 1 << 20));
        assert_eq!(got.concat(), big);
        assert_eq!(got[0].len(), 1);
    }

    #[test]
    fn no_items_make_no_parts() {
        let mut parts = Parts::with_limits(Vec::<String>::new(), 4, 100, 1 << 20);
        assert!(parts.next().is_none());
        assert_eq!(parts.end(), ReportEnd { parts: 0, items: 0 });
        Assembler::default().end(&parts.end()).unwrap();
    }

    #[test]
    fn an_item_over_the_frame_cap_is_an_error_that_ends_the_parts() {
        let items = vec!["a".to_owned(), "b".repeat(4000), "c".to_owned()];
        let mut parts = Parts::with_limits(items, 1, 1 << 20, 2048);
        assert!(parts.next().unwrap().is_ok());
        let err = parts.next().unwrap().unwrap_err();
        assert!(matches!(err, PartError::TooLarge { index: 1, .. }), "{err}");
        assert!(parts.next().is_none());
    }

    #[test]
    fn a_missing_part_or_a_short_end_is_refused() {
        let items: Vec<String> = (0..6).map(|i| i.to_string()).collect();
        let parts: Vec<ReportPart> = Parts::with_limits(items, 2, 1 << 20, 1 << 20)
            .map(Result::unwrap)
            .collect();
        let mut asm = Assembler::default();
        asm.part::<String>(&parts[0]).unwrap();
        let err = asm.part::<String>(&parts[2]).unwrap_err();
        assert!(
            err.to_string()
                .contains("part 2 arrived where part 1 was due"),
            "{err}"
        );

        let mut asm = Assembler::default();
        asm.part::<String>(&parts[0]).unwrap();
        asm.part::<String>(&parts[1]).unwrap();
        let err = asm.end(&ReportEnd { parts: 3, items: 6 }).unwrap_err();
        assert!(err.to_string().contains("incomplete"), "{err}");
    }

    #[test]
    fn a_part_of_the_wrong_shape_is_a_decode_error() {
        let part = ReportPart {
            index: 0,
            items: ReportBody::encode(&serde_json::json!({"not": "an array"})).unwrap(),
        };
        let err = Assembler::default().part::<String>(&part).unwrap_err();
        assert!(matches!(err, AssembleError::Decode(_)), "{err}");
    }
}
