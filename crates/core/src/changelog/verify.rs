//! Full verification of a log file against its hash chain and, optionally, its head anchor.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::head::Head;
use super::mac::MacKey;
use super::record::{GENESIS_PREV, LineFault, MAX_RECORD_BYTES, check_line, mac_matches};

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// The file verified.
    pub path: PathBuf,
    /// Number of records that verified before the first problem (all of them if none).
    pub records: u64,
    /// The last record that verified.
    pub last: Option<Head>,
    /// The head anchor the file was compared with, if any.
    pub head: Option<Head>,
    /// When the file is consistent with the anchor but has records after it: how many. The
    /// daemon stores the anchor right after each append, so a small lag only means a crash or
    /// an anchor-store failure between the two; the daemon catches up on its next start.
    pub head_lag: Option<u64>,
    /// The first problem found, if any.
    pub problem: Option<Problem>,
    /// Records at the start of the file without a `mac`, written before MACs were introduced:
    /// verified by hash only. Every record after the first MAC'd one must carry a valid MAC.
    #[serde(default)]
    pub legacy_records: u64,
    /// Whether the MACs were checked with the daemon's key (false: only their presence was).
    #[serde(default)]
    pub macs_checked: bool,
    /// Where this file starts a new segment after `wardend --recover-state` (its first record
    /// continues the chain from the head anchored in Vault), with the check of the earlier
    /// segment. Empty for a log that starts at seq 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_points: Vec<super::segment::RecoveryPoint>,
}

impl VerifyReport {
    /// Whether the file verified without any problem.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// The first bad spot of a log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// 1-based line number (for `truncated`: the line where the missing records would start).
    pub line: u64,
    /// `seq` of the record concerned, when known.
    pub seq: Option<u64>,
    /// Classification.
    pub kind: ProblemKind,
    /// Human-readable explanation.
    pub message: String,
}

/// Classification of a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file could not be read.
    Unreadable,
    /// A line is not a well-formed record.
    Malformed,
    /// A record's content no longer matches its hash.
    Edited,
    /// Records are missing from the middle (a gap in `seq`).
    Deleted,
    /// Records are out of order or duplicated.
    Reordered,
    /// A record's `prev` is not the hash of the record before it (a record was edited and
    /// re-hashed, or replaced).
    ChainBroken,
    /// The last line has no newline: a crash in the middle of a write.
    TornLastLine,
    /// The file ends before the record named by the head anchor: records were cut.
    Truncated,
    /// The record at the anchor's `seq` has another hash: the file was rewritten.
    Rewritten,
    /// A record has no `mac` although an earlier record has one: it was not written by
    /// wardend (appended or replaced by someone who can write the file).
    MacMissing,
    /// A record's `mac` does not verify under the daemon's key: it was not written by this
    /// wardend (forged and re-chained), or the key in Vault was replaced.
    MacInvalid,
    /// A problem kind from a newer version of Warden.
    #[serde(other)]
    Other,
}

impl ProblemKind {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "unreadable",
            Self::Malformed => "malformed",
            Self::Edited => "edited",
            Self::Deleted => "deleted",
            Self::Reordered => "reordered",
            Self::ChainBroken => "chain_broken",
            Self::TornLastLine => "torn_last_line",
            Self::Truncated => "truncated",
            Self::Rewritten => "rewritten",
            Self::MacMissing => "mac_missing",
            Self::MacInvalid => "mac_invalid",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(problem) = &self.problem {
            write!(f, "FAILED: `{}` line {}", self.path.display(), problem.line)?;
            if let Some(seq) = problem.seq {
                write!(f, " (seq {seq})")?;
            }
            return write!(
                f,
                ": {}: {} ({} record(s) before it verified)",
                problem.kind.as_str(),
                problem.message,
                self.records
            );
        }
        write!(
            f,
            "ok: {} record(s) in `{}`",
            self.records,
            self.path.display()
        )?;
        if let Some(last) = &self.last {
            write!(f, ", last seq {} hash {}", last.seq, last.hash)?;
        }
        match (&self.head, self.head_lag) {
            (None, _) => write!(f, "; no head anchor to compare with"),
            (Some(_), Some(lag)) => write!(
                f,
                "; consistent with the head anchor, which is {lag} record(s) behind"
            ),
            (Some(_), None) => write!(f, "; matches the head anchor"),
        }?;
        if self.legacy_records > 0 {
            write!(
                f,
                "; the first {} record(s) predate MACs and were verified by hash only",
                self.legacy_records
            )?;
        }
        if self.records > self.legacy_records && !self.macs_checked {
            write!(f, "; MACs present but not checked (no key)")?;
        }
        for point in &self.recovery_points {
            write!(f, "; {point}")?;
        }
        Ok(())
    }
}

/// Earlier segments followed at most this deep (each recovery names the file before it).
const MAX_SEGMENT_DEPTH: usize = 16;

/// Checks the earlier segment `point` names against the head it continues from.
fn check_previous(point: &mut super::segment::RecoveryPoint, key: Option<&MacKey>, depth: usize) {
    point.previous = match (&point.previous_file, &point.continues_from) {
        (_, None) => "none (nothing was anchored before the recovery)".to_owned(),
        (None, Some(h)) => format!(
            "lost with the state directory: records 1 to {} cannot be checked here (the chain \
             continues from their head, which vault held)",
            h.seq
        ),
        (Some(path), Some(_)) if !path.exists() => format!(
            "`{}` is not present: records before the recovery cannot be checked here (restore \
             it there from a backup to check them)",
            path.display()
        ),
        (Some(_), Some(_)) if depth >= MAX_SEGMENT_DEPTH => {
            "not checked (too many segments)".to_owned()
        }
        (Some(path), Some(head)) => {
            let report = verify_at_depth(path, Some(head.clone()), key, depth + 1);
            report.to_string()
        }
    };
}

/// Only the `seq` of a line, for locating records that moved.
#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// Reads the whole log at `path` and checks, line by line: JSON, the hash member, that each
/// `hash` recomputes, `seq` contiguity from 1, and that each `prev` equals the previous `hash`
/// (the first one [`GENESIS_PREV`]). Then, if `head` is given, that the file reaches the
/// anchor's `seq` and that the record there has the anchor's hash.
///
/// Stops at the first problem. Pure reading; never modifies the file. MACs are not checked
/// (only that no record after a MAC'd one lacks a MAC); use [`verify_with`] and the key.
pub fn verify(path: &Path, head: Option<Head>) -> VerifyReport {
    verify_with(path, head, None)
}

/// [`verify`], and with `key`, every `mac` must verify under it. Records before the first one
/// with a `mac` are legacy records (verified by hash only, counted in
/// [`VerifyReport::legacy_records`]); a record without a `mac` after one with a `mac` is a
/// [`ProblemKind::MacMissing`], with or without a key.
///
/// A file whose first record is a `recover` record (a segment started by `wardend
/// --recover-state`) starts at that record's `seq`, chained to the head it cites; the
/// earlier segment it names is verified against that head when present
/// ([`VerifyReport::recovery_points`]).
pub fn verify_with(path: &Path, head: Option<Head>, key: Option<&MacKey>) -> VerifyReport {
    verify_at_depth(path, head, key, 0)
}

/// [`verify_with`] of a segment `depth` recoveries back.
fn verify_at_depth(
    path: &Path,
    head: Option<Head>,
    key: Option<&MacKey>,
    depth: usize,
) -> VerifyReport {
    let mut report = VerifyReport {
        path: path.to_owned(),
        records: 0,
        last: None,
        head,
        head_lag: None,
        problem: None,
        legacy_records: 0,
        macs_checked: key.is_some(),
        recovery_points: Vec::new(),
    };
    let mut mac_seen = false;
    let file = match crate::private_fs::open_read(path) {
        Ok(file) => file,
        Err(err) => {
            report.problem = Some(problem(0, None, ProblemKind::Unreadable, err.to_string()));
            return report;
        }
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut prev = GENESIS_PREV.to_owned();
    // Hash of the record at the anchor's seq, once seen.
    let mut anchored_hash: Option<String> = None;
    loop {
        buf.clear();
        let limit = MAX_RECORD_BYTES as u64 + 1;
        if let Err(err) = reader.by_ref().take(limit).read_until(b'\n', &mut buf) {
            let detail = format!("read failed: {err}");
            report.problem = Some(problem(line_no + 1, None, ProblemKind::Unreadable, detail));
            return report;
        }
        if buf.is_empty() {
            break;
        }
        line_no += 1;
        let mut expected = report.records + 1;
        if buf.last() != Some(&b'\n') {
            report.problem = Some(if buf.len() > MAX_RECORD_BYTES {
                let detail = format!("line is longer than {MAX_RECORD_BYTES} bytes");
                problem(line_no, None, ProblemKind::Malformed, detail)
            } else {
                let detail = format!(
                    "the last line ({} bytes) has no newline: a record torn by a crash in the \
                     middle of a write; wardend refuses to start until it is repaired",
                    buf.len()
                );
                problem(line_no, Some(expected), ProblemKind::TornLastLine, detail)
            });
            return report;
        }
        buf.pop();
        let link = match check_line(&buf) {
            Ok(link) => link,
            Err(LineFault::Malformed(detail)) => {
                let seq = serde_json::from_slice::<SeqOnly>(&buf).ok().map(|s| s.seq);
                report.problem = Some(problem(line_no, seq, ProblemKind::Malformed, detail));
                return report;
            }
            Err(LineFault::HashMismatch {
                seq,
                stored,
                computed,
            }) => {
                let detail = format!(
                    "the record was edited: its content hashes to {computed} but it says {stored}"
                );
                report.problem = Some(problem(line_no, Some(seq), ProblemKind::Edited, detail));
                return report;
            }
        };
        if line_no == 1
            && let Some(mut point) = super::segment::segment_start(&buf, &link)
        {
            // a segment: the chain continues from the head the recovery cites
            expected = link.seq;
            prev.clone_from(&link.prev);
            report.records = link.seq - 1;
            if let Some(from) = &point.continues_from {
                report.legacy_records = 0;
                if report.head.as_ref() == Some(from) {
                    anchored_hash = Some(from.hash.clone());
                }
            }
            check_previous(&mut point, key, depth);
            report.recovery_points.push(point);
        }
        if link.seq != expected {
            report.problem = Some(seq_problem(&mut reader, line_no, expected, link.seq));
            return report;
        }
        if link.prev != prev {
            let detail = format!(
                "`prev` is {} but the previous record's hash is {prev}: the previous record was \
                 edited and re-hashed, or records were replaced",
                link.prev
            );
            report.problem = Some(problem(
                line_no,
                Some(link.seq),
                ProblemKind::ChainBroken,
                detail,
            ));
            return report;
        }
        if let Some(problem) = check_mac(&buf, &link, key, line_no, &mut mac_seen) {
            report.problem = Some(problem);
            return report;
        }
        if !mac_seen {
            report.legacy_records = link.seq;
        }
        if report
            .head
            .as_ref()
            .is_some_and(|head| head.seq == link.seq)
        {
            anchored_hash = Some(link.hash.clone());
        }
        prev.clone_from(&link.hash);
        report.records = link.seq;
        report.last = Some(Head {
            seq: link.seq,
            hash: link.hash,
        });
    }
    check_head(&mut report, line_no, anchored_hash);
    report
}

/// The MAC rule for one record whose hash and chain verified.
fn check_mac(
    line: &[u8],
    link: &super::record::Link,
    key: Option<&MacKey>,
    line_no: u64,
    mac_seen: &mut bool,
) -> Option<Problem> {
    let seq = link.seq;
    if link.mac.is_none() {
        if !*mac_seen {
            return None;
        }
        let detail = format!(
            "record seq {seq} has no MAC although the records before it have one: wardend did \
             not write it (it was appended or replaced by someone who can write the log file); \
             keep the file for investigation, restore the log from a backup, and find out who \
             wrote to it"
        );
        return Some(problem(line_no, Some(seq), ProblemKind::MacMissing, detail));
    }
    *mac_seen = true;
    match key {
        Some(key) if !mac_matches(line, link, key) => {
            let detail = format!(
                "record seq {seq} carries a MAC that does not verify with the daemon's key in \
                 Vault: wardend did not write it (a forged record, chained correctly), or the \
                 key in Vault was replaced; keep the file for investigation, restore the log \
                 from a backup, and find out who wrote to it"
            );
            Some(problem(line_no, Some(seq), ProblemKind::MacInvalid, detail))
        }
        _ => None,
    }
}

/// Compares a fully verified file with the head anchor.
fn check_head(report: &mut VerifyReport, lines: u64, anchored_hash: Option<String>) {
    let Some(head) = &report.head else {
        return;
    };
    let last_seq = report.last.as_ref().map_or(0, |last| last.seq);
    if head.seq > last_seq {
        let detail = format!(
            "the file ends at seq {last_seq} but the head anchor says seq {}: the last {} \
             record(s) were cut or the file was replaced",
            head.seq,
            head.seq - last_seq
        );
        report.problem = Some(problem(
            lines + 1,
            Some(last_seq + 1),
            ProblemKind::Truncated,
            detail,
        ));
    } else if head.seq == 0 {
        // An anchor of an empty log: nothing to compare.
    } else if anchored_hash.as_deref() != Some(head.hash.as_str()) {
        let detail = format!(
            "the record has hash {} but the head anchor says {}: the file was rewritten with a \
             recomputed chain",
            anchored_hash.as_deref().unwrap_or("(none)"),
            head.hash
        );
        // Lines and seqs coincide in a file that verified this far.
        report.problem = Some(problem(
            head.seq,
            Some(head.seq),
            ProblemKind::Rewritten,
            detail,
        ));
    } else if head.seq < last_seq {
        report.head_lag = Some(last_seq - head.seq);
    }
}

/// Classifies an unexpected `seq`: a gap is a deletion unless a missing seq shows up later
/// (reordering); a seq going back is a reordering or a duplicate.
fn seq_problem(reader: &mut impl BufRead, line_no: u64, expected: u64, seq: u64) -> Problem {
    if seq < expected {
        let detail = format!(
            "expected seq {expected} but found seq {seq} again: records were reordered or \
             duplicated"
        );
        return problem(line_no, Some(seq), ProblemKind::Reordered, detail);
    }
    let mut later = line_no;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => later += 1,
        }
        let found = serde_json::from_slice::<SeqOnly>(buf.trim_ascii_end()).ok();
        if let Some(found) = found.filter(|found| (expected..seq).contains(&found.seq)) {
            let detail = format!(
                "expected seq {expected} but found seq {seq}; seq {} is further down at line \
                 {later}: records were reordered",
                found.seq
            );
            return problem(line_no, Some(seq), ProblemKind::Reordered, detail);
        }
    }
    let missing = if seq - expected == 1 {
        format!("seq {expected} is")
    } else {
        format!("seqs {expected} to {} are", seq - 1)
    };
    let detail =
        format!("expected seq {expected} but found seq {seq}: {missing} missing (deleted)");
    problem(line_no, Some(seq), ProblemKind::Deleted, detail)
}

fn problem(line: u64, seq: Option<u64>, kind: ProblemKind, message: String) -> Problem {
    Problem {
        line,
        seq,
        kind,
        message,
    }
}
