//! Where a renderer writes: [`Out`] passes text straight to an [`io::Write`] (a file, a pipe,
//! the socket), so no renderer holds the whole document in memory.
//!
//! Renderers write with `push_str`, `push` and `write!` and do not check each write: the first
//! I/O error is kept, later writes are dropped, and [`Out::finish`] returns it. That keeps the
//! renderers' code about the document, not about error plumbing, and a full disk or a closed
//! pipe still ends the report with the error.

use std::fmt;
use std::io;

/// A streaming text sink for the renderers.
pub(super) struct Out<'a> {
    w: &'a mut dyn io::Write,
    error: Option<io::Error>,
    /// When set, trailing whitespace is held back until more text follows, and the document
    /// ends with exactly one newline ([`Out::trimming`]).
    trim_end: bool,
    held: String,
}

impl<'a> Out<'a> {
    /// Writes to `w`.
    pub(super) fn new(w: &'a mut dyn io::Write) -> Out<'a> {
        Out {
            w,
            error: None,
            trim_end: false,
            held: String::new(),
        }
    }

    /// Writes to `w`; the document ends with exactly one newline, however its last section
    /// ended (Markdown).
    pub(super) fn trimming(w: &'a mut dyn io::Write) -> Out<'a> {
        Out {
            trim_end: true,
            ..Out::new(w)
        }
    }

    /// Appends `s`.
    pub(super) fn push_str(&mut self, s: &str) {
        if self.error.is_some() || s.is_empty() {
            return;
        }
        if !self.trim_end {
            self.raw(s);
            return;
        }
        let body = s.trim_end();
        if body.is_empty() {
            self.held.push_str(s);
            return;
        }
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.raw(&held);
        }
        self.raw(body);
        self.held.push_str(&s[body.len()..]);
    }

    /// Appends `c`.
    pub(super) fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.push_str(c.encode_utf8(&mut buf));
    }

    fn raw(&mut self, s: &str) {
        if let Err(e) = self.w.write_all(s.as_bytes()) {
            self.error = Some(e);
        }
    }

    /// Ends the document: the final newline of a trimming sink, a flush, and the first error.
    pub(super) fn finish(mut self) -> io::Result<()> {
        if self.trim_end && self.error.is_none() {
            self.held.clear();
            self.raw("\n");
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.w.flush()
    }
}

impl fmt::Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// Lets serde write JSON through the same sink.
impl io::Write for Out<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(e) = &self.error {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        match std::str::from_utf8(buf) {
            Ok(s) => self.push_str(s),
            // serde_json writes whole UTF-8 sequences; anything else goes through unchanged
            Err(_) => {
                if let Err(e) = self.w.write_all(buf) {
                    self.error = Some(e);
                }
            }
        }
        match &self.error {
            Some(e) => Err(io::Error::new(e.kind(), e.to_string())),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn text_goes_straight_through() {
        let mut buf = Vec::new();
        let mut out = Out::new(&mut buf);
        out.push_str("a  ");
        out.push('b');
        let _ = write!(out, "{}\n\n", 1);
        out.finish().unwrap();
        assert_eq!(buf, b"a  b1\n\n");
    }

    #[test]
    fn a_trimming_sink_ends_with_exactly_one_newline() {
        let mut buf = Vec::new();
        let mut out = Out::trimming(&mut buf);
        out.push_str("# a\n\n");
        out.push_str("  \n");
        out.push_str("b  c\n\n\n");
        out.finish().unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "# a\n\n  \nb  c\n");
    }

    /// A writer that fails after `left` bytes.
    struct Full {
        left: usize,
    }

    impl io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.left {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_first_write_error_is_kept_and_returned() {
        let mut w = Full { left: 4 };
        let mut out = Out::new(&mut w);
        out.push_str("abc");
        out.push_str("defg");
        out.push_str("h");
        let err = out.finish().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }
}
