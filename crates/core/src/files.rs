//! Bounded, non-blocking reads of the files an operator points Warden at (configuration,
//! desired state, secret and CA files) and of its own state files.
//!
//! Every such read goes through [`read_capped`] (or [`open_regular`] plus [`read_to_end_capped`]):
//!
//! - **Only regular files.** The path is `stat`ed first and anything else is refused with what it
//!   is ("a FIFO (named pipe)", "a character device", …), never "does not exist". The file is
//!   then opened with `O_NONBLOCK` (a FIFO swapped in between the `stat` and the `open` cannot
//!   block the open) and `fstat`ed again, so the checks hold for the file actually read.
//! - **A size cap.** At most `limit + 1` bytes are read (`take`), and more than `limit` is
//!   refused, so `/dev/zero`, a growing file or a huge file can neither exhaust memory nor keep
//!   the reader busy.
//!
//! Errors are [`io::Error`]s so that callers keep their own error types; a refusal has kind
//! [`io::ErrorKind::InvalidInput`] (not a regular file) or [`io::ErrorKind::FileTooLarge`] and a
//! lowercase message that says what the file is and what to do.

use std::fs::{File, FileType, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest configuration, desired-state, secret or CA file read: 4 MiB. Real ones are a few KiB;
/// the TOML parser holds up to ~80 bytes per input byte while it reads a malformed file
/// (measured by the fuzz tests), so the cap also bounds start-up memory to a few hundred MiB.
pub const MAX_CONFIG_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Largest state file read (job states, kept drift and audit reports): 256 MiB. The kept reports
/// of a large fleet are megabytes; this only bounds a corrupt or substituted file.
pub const MAX_STATE_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// What a file type is, in words: "a directory", "a FIFO (named pipe)", "a socket", "a
/// character device", "a block device", "a symbolic link" or "a regular file".
pub fn describe(file_type: FileType) -> &'static str {
    if file_type.is_file() {
        "a regular file"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// The error for a file of type `file_type` where a regular file is needed. The message does
/// not repeat the path: callers' errors name it.
fn not_regular(file_type: FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {}, not a regular file", describe(file_type)),
    )
}

/// Checks that `path` (following symlinks) is a regular file, without opening it.
///
/// A missing file is an [`io::ErrorKind::NotFound`] error, as from `stat`.
pub fn check_regular(path: &Path) -> io::Result<Metadata> {
    let meta = std::fs::metadata(path)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    Ok(meta)
}

/// Opens `path` for reading if it is a regular file, without ever blocking on a FIFO or a
/// device: `stat`, open with `O_NONBLOCK`, `fstat` the opened file. Returns the file and the
/// metadata of the file actually opened (check permissions on that).
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    check_regular(path)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    Ok((file, meta))
}

/// Reads the rest of `file`, refusing more than `limit` bytes.
pub fn read_to_end_capped(file: &mut File, limit: u64) -> io::Result<Vec<u8>> {
    let hint = file.metadata().map_or(0, |m| m.len()).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("it is larger than the limit of {limit} bytes"),
        ));
    }
    Ok(bytes)
}

/// Reads the regular file at `path`, refusing anything else and more than `limit` bytes; see
/// the [module docs](self).
pub fn read_capped(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let (mut file, _) = open_regular(path)?;
    read_to_end_capped(&mut file, limit)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_to_string_capped(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_capped(&path, 10).unwrap(), b"0123456789");
        let err = read_capped(&path, 9).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn devices_directories_and_fifos_are_named() {
        let err = read_capped(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(err.to_string().contains("a character device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = read_capped(dir.path(), 1024).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_capped(&fifo, 1024).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        let missing = read_capped(&dir.path().join("missing"), 1024).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
