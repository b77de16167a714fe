//! Opening an existing log: torn-tail repair and reconciliation with the head anchor.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde_json::json;

use super::head::Head;
use super::record::{check_line, sha256_hex};
use super::tail::ReverseLines;
use super::{ChangeLogError, ChangeLogOptions, io_err};
use crate::private_fs;

/// Saves the torn bytes `[end, len)` next to the log, truncates the log to `end`, and returns
/// the `after` value of the repair record.
pub(super) fn cut_torn_tail(
    file: &mut File,
    path: &Path,
    end: u64,
    len: u64,
) -> Result<serde_json::Value, ChangeLogError> {
    let mut torn = Vec::new();
    file.seek(SeekFrom::Start(end))
        .and_then(|_| Read::take(&mut *file, len - end).read_to_end(&mut torn))
        .map_err(io_err("read the torn tail of", path))?;
    let mut saved_name = path.file_name().unwrap_or_default().to_owned();
    saved_name.push(format!(".torn-at-{end}"));
    let saved = path.with_file_name(saved_name);
    let mut copy = private_fs::open(
        private_fs::open_options()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600),
        &saved,
    )
    .map_err(io_err("create the torn-tail copy of", path))?;
    copy.write_all(&torn)
        .and_then(|()| copy.sync_all())
        .map_err(io_err("write the torn-tail copy of", path))?;
    file.set_len(end)
        .and_then(|()| file.sync_all())
        .map_err(io_err("truncate the torn tail of", path))?;
    tracing::warn!(path = %path.display(), bytes = torn.len(), saved = %saved.display(), "cut a torn change-log tail");
    Ok(json!({
        "torn_bytes": torn.len(),
        "torn_sha256": sha256_hex(&torn),
        "saved_to": saved.display().to_string(),
        "truncated_to": end,
    }))
}

/// Checks the complete lines ending at `end` against `anchor` and returns the last record.
pub(super) fn reconcile(
    file: &mut File,
    path: &Path,
    end: u64,
    anchor: Option<&Head>,
    options: ChangeLogOptions,
) -> Result<Option<Head>, ChangeLogError> {
    let corrupt = |detail: String| ChangeLogError::CorruptTail {
        path: path.to_owned(),
        detail,
    };
    let mismatch = |detail: String| ChangeLogError::HeadMismatch {
        path: path.to_owned(),
        detail,
    };
    let mut lines = ReverseLines::new(file, end);
    let next_link = |lines: &mut ReverseLines<'_>| -> Result<Option<_>, ChangeLogError> {
        let Some((offset, line)) = lines.next_line().map_err(|err| corrupt(err.to_string()))?
        else {
            return Ok(None);
        };
        check_line(&line)
            .map(Some)
            .map_err(|fault| corrupt(format!("record at byte {offset}: {fault}")))
    };
    let Some(last) = next_link(&mut lines)? else {
        return match anchor {
            Some(anchor) if anchor.seq > 0 => Err(mismatch(format!(
                "the log is empty but the head anchor says seq {}: the file was truncated or replaced",
                anchor.seq
            ))),
            _ => Ok(None),
        };
    };
    let last_head = Head {
        seq: last.seq,
        hash: last.hash.clone(),
    };
    let Some(anchor) = anchor else {
        if options.accept_missing_head {
            tracing::warn!(path = %path.display(), seq = last.seq, "re-anchoring a change log that had no head anchor");
            return Ok(Some(last_head));
        }
        return Err(ChangeLogError::HeadMissing {
            path: path.to_owned(),
            records: last.seq,
        });
    };
    if anchor.seq > last.seq {
        return Err(mismatch(format!(
            "the log ends at seq {} but the head anchor says seq {}: records were cut from the end",
            last.seq, anchor.seq
        )));
    }
    // Walk back from the end to the anchored record, checking the chain on the way.
    let mut link = last;
    while link.seq > anchor.seq {
        let Some(before) = next_link(&mut lines)? else {
            return Err(mismatch(format!(
                "no record with the anchored seq {}",
                anchor.seq
            )));
        };
        if before.seq + 1 != link.seq || before.hash != link.prev {
            return Err(corrupt(format!(
                "the chain breaks between seq {} and seq {}",
                before.seq, link.seq
            )));
        }
        link = before;
    }
    if link.hash != anchor.hash {
        return Err(mismatch(format!(
            "record seq {} has hash {} but the head anchor says {}: the file was rewritten",
            link.seq, link.hash, anchor.hash
        )));
    }
    Ok(Some(last_head))
}
