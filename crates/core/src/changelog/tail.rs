//! Reading the log backwards: the last complete line, `tail -n`, torn-tail detection.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::record::{MAX_RECORD_BYTES, Record};
use super::{ChangeLogError, io_err};

/// Bytes read per step when scanning backwards.
const CHUNK_BYTES: usize = 64 * 1024;

/// Iterates over the complete lines of a file from the last to the first, reading chunks from
/// the end, so the cost is proportional to what is returned, not to the file size.
pub(crate) struct ReverseLines<'a> {
    file: &'a mut File,
    /// File bytes `[buf_start, buf_start + buf.len())`; the last byte, if any, is a newline.
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> ReverseLines<'a> {
    /// Lines of `file` that end before `end`; the byte at `end - 1` must be a newline (use
    /// [`complete_len`]).
    pub(crate) fn new(file: &'a mut File, end: u64) -> Self {
        Self {
            file,
            buf: Vec::new(),
            buf_start: end,
        }
    }

    /// The previous line, without its newline, and its byte offset in the file.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        loop {
            if self.buf.is_empty() && self.buf_start == 0 {
                return Ok(None);
            }
            if !self.buf.is_empty() {
                // The last byte is this line's newline; look for the previous one.
                let body_end = self.buf.len() - 1;
                if let Some(at) = self.buf[..body_end].iter().rposition(|&b| b == b'\n') {
                    let line = self.buf[at + 1..body_end].to_vec();
                    self.buf.truncate(at + 1);
                    return Ok(Some((self.buf_start + at as u64 + 1, line)));
                }
                if self.buf_start == 0 {
                    let mut line = std::mem::take(&mut self.buf);
                    line.truncate(body_end);
                    return Ok(Some((0, line)));
                }
                if self.buf.len() > MAX_RECORD_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line ending at byte {} is longer than {MAX_RECORD_BYTES} bytes",
                            self.buf_start + self.buf.len() as u64
                        ),
                    ));
                }
            }
            self.read_previous_chunk()?;
        }
    }

    /// Prepends the chunk before `buf_start` to `buf`.
    fn read_previous_chunk(&mut self) -> io::Result<()> {
        let size = self.buf_start.min(CHUNK_BYTES as u64);
        let start = self.buf_start - size;
        let mut chunk = vec![0; size as usize];
        self.file.seek(SeekFrom::Start(start))?;
        self.file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&self.buf);
        self.buf = chunk;
        self.buf_start = start;
        Ok(())
    }
}

/// Length of the part of `file` made of complete (newline-terminated) lines: `len` itself if
/// the file is empty or ends with a newline, otherwise the offset just after the last newline
/// (0 if there is none). Bytes after it are a torn line.
pub(crate) fn complete_len(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut chunk = vec![0; CHUNK_BYTES];
    while end > 0 {
        let size = end.min(CHUNK_BYTES as u64) as usize;
        let start = end - size as u64;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..size])?;
        if let Some(at) = chunk[..size].iter().rposition(|&b| b == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The last `n` records of the log at `path`, oldest first (`wardenctl log tail -n N`).
///
/// Reads backwards from the end, so it is cheap on big files. A torn last line (crash
/// mid-write) is skipped; `verify` reports it. Records are parsed but not verified.
pub fn tail(path: &Path, n: usize) -> Result<Vec<Record>, ChangeLogError> {
    let mut file = crate::private_fs::open_read(path).map_err(io_err("open", path))?;
    let len = file.metadata().map_err(io_err("stat", path))?.len();
    let end = complete_len(&mut file, len).map_err(io_err("read", path))?;
    let mut lines = ReverseLines::new(&mut file, end);
    let mut records = Vec::with_capacity(n.min(1024));
    while records.len() < n {
        let Some((offset, line)) = lines.next_line().map_err(io_err("read", path))? else {
            break;
        };
        let record: Record =
            serde_json::from_slice(&line).map_err(|err| ChangeLogError::CorruptRecord {
                path: path.to_owned(),
                offset,
                detail: err.to_string(),
            })?;
        records.push(record);
    }
    records.reverse();
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(content: &[u8]) -> (u64, Vec<(u64, Vec<u8>)>) {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(content).unwrap();
        let len = content.len() as u64;
        let end = complete_len(&mut file, len).unwrap();
        let mut reader = ReverseLines::new(&mut file, end);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(line);
        }
        (end, out)
    }

    #[test]
    fn reverse_lines_across_chunks() {
        let mut content = Vec::new();
        let mut expected = Vec::new();
        for i in 0..5000 {
            let offset = content.len() as u64;
            let line = format!("line {i} {}", "x".repeat(i % 97));
            content.extend_from_slice(line.as_bytes());
            content.push(b'\n');
            expected.push((offset, line.into_bytes()));
        }
        content.extend_from_slice(b"torn");
        let (end, mut got) = lines_of(&content);
        assert_eq!(end, content.len() as u64 - 4);
        got.reverse();
        assert_eq!(got, expected);
    }

    #[test]
    fn empty_and_newline_only() {
        assert_eq!(lines_of(b""), (0, vec![]));
        assert_eq!(lines_of(b"\n"), (1, vec![(0, vec![])]));
        assert_eq!(lines_of(b"no newline"), (0, vec![]));
    }
}
