//! Files and directories that only the daemon may control: the state directory (change log,
//! head anchor, job state, kept reports), the log directory and the socket's directory.
//!
//! Two rules close the class of attacks where another local user redirects Warden's writes:
//!
//! - **Directories** ([`check_private_dir`]): the directory must be owned by the user the
//!   daemon runs as (its effective uid) and not be writable by group or others; every
//!   ancestor must be owned by root or that user and not be writable by others unless it has
//!   the sticky bit (as `/tmp` does: others cannot rename or remove what is not theirs there).
//!   A group-writable ancestor is accepted when root owns it (Ubuntu's `/var/log` is
//!   `root:syslog 0775`): its group is a system group root chose. A directory that fails is
//!   refused with the exact `chmod`/`chown` to run.
//!   Symbolic links in the path are resolved first and the real directories are checked.
//! - **Files** ([`open_options`], [`read_file`], [`write_atomic`]): every file is opened with
//!   `O_NOFOLLOW | O_CLOEXEC`, so a symbolic link planted in place of a state file is refused
//!   (`ELOOP`, reported as [`symlink_refused`]) instead of being written through. Temporary
//!   files of atomic writes have unique random names and are created with `O_EXCL`, then
//!   renamed over the target: a rename replaces a link rather than following it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Flags added to every open of a file Warden owns.
fn no_follow_flags() -> i32 {
    (nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC).bits()
}

/// `OpenOptions` that refuse a symbolic link at the final path component (`O_NOFOLLOW`) and
/// do not leak the descriptor into child processes (`O_CLOEXEC`).
pub fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.custom_flags(no_follow_flags());
    options
}

/// Opens `options` at `path`; a symbolic link there becomes [`symlink_refused`].
pub fn open(options: &OpenOptions, path: &Path) -> io::Result<File> {
    options.open(path).map_err(|err| explain_loop(path, err))
}

/// Opens `path` for reading without following a link.
pub fn open_read(path: &Path) -> io::Result<File> {
    open(open_options().read(true), path)
}

/// Reads at most `max` bytes of the regular file at `path` without following a link. A file
/// larger than `max`, or something other than a regular file, is an error naming what it is;
/// the open is `O_NONBLOCK`, so a FIFO planted in its place never blocks the daemon. The type
/// and the cap are [`files`](crate::files)' own, so every capped read says the same.
pub fn read_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut options = open_options();
    options
        .read(true)
        .custom_flags(no_follow_flags() | libc::O_NONBLOCK | libc::O_NOCTTY);
    let mut file = open(&options, path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is {}, not a regular file; move it aside (wardend only reads regular files \
                 there)",
                path.display(),
                crate::files::describe(kind)
            ),
        ));
    }
    crate::files::read_to_end_capped(&mut file, max).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("{}: {err}; it is not a file wardend wrote", path.display()),
        )
    })
}

/// Replaces `path` atomically with what `fill` writes: a temporary file with a unique random
/// name in the same directory (`.<name>.<random>.tmp`, created with `O_EXCL` and `mode`, so a
/// link planted there is never written through and two writers never share one), fsynced,
/// renamed over `path` ([`tempfile::NamedTempFile::persist`]), then the directory fsynced. On
/// failure the temporary file is removed. Concurrent writers of one `path` each write their
/// own temporary file; the last rename wins and every rename succeeds.
pub fn write_atomic(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_else(|| "state".as_ref()));
    prefix.push(".");
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    fill(temp.as_file_mut())?;
    temp.as_file_mut().flush()?;
    temp.as_file().sync_all()?;
    // on failure the error gives the temporary file back; dropping it removes it
    temp.persist(path).map_err(|err| err.error)?;
    sync_parent_dir(path)
}

/// Fsyncs the directory holding `path`, so a rename or a new file in it is durable.
pub fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut options = OpenOptions::new();
    options
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC).bits());
    options.open(parent)?.sync_all()
}

/// The error for a symbolic link found where Warden keeps a file.
pub fn symlink_refused(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{0} is a symbolic link; wardend never writes or reads its files through a link \
             (someone may be redirecting them): remove the link (`rm {0}`) and restore the \
             file it replaced",
            path.display()
        ),
    )
}

/// Turns `ELOOP` from an `O_NOFOLLOW` open into [`symlink_refused`]; other errors pass.
fn explain_loop(path: &Path, err: io::Error) -> io::Error {
    if err.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
        return symlink_refused(path);
    }
    // Some systems report a link opened with O_NOFOLLOW as EMLINK or EFTYPE.
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return symlink_refused(path);
    }
    err
}

/// A directory the daemon must not use, and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    /// The directory or an ancestor lets another user change what is in it.
    #[error("refusing the {what} {}: {problem}; run `{fix}` (or configure another directory)", path.display())]
    Unsafe {
        /// Which directory (e.g. "state directory").
        what: &'static str,
        /// The directory that is unsafe (the configured one or one of its ancestors).
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// The command that fixes it.
        fix: String,
    },
    /// The directory cannot be examined.
    #[error("cannot check the {what} {}: {source}", path.display())]
    Io {
        /// Which directory.
        what: &'static str,
        /// The path that could not be examined.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Checks that `dir` (which must exist) is private to the user this process runs as, as the
/// [module docs](self) describe. `what` names the directory in the error.
pub fn check_private_dir(dir: &Path, what: &'static str) -> Result<(), PrivateDirError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| PrivateDirError::Io { what, path, source }
    };
    let real = fs::canonicalize(dir).map_err(io_err(dir))?;
    let euid = nix::unistd::geteuid().as_raw();
    let mut current = Some(real.as_path());
    let mut is_target = true;
    while let Some(path) = current {
        let meta = fs::metadata(path).map_err(io_err(path))?;
        let shown = if is_target && real != dir {
            format!("{} (the real path of {})", path.display(), dir.display())
        } else {
            path.display().to_string()
        };
        let unsafe_dir = |problem: String, fix: String| PrivateDirError::Unsafe {
            what,
            path: path.to_owned(),
            problem,
            fix,
        };
        if is_target && !meta.is_dir() {
            return Err(unsafe_dir(
                format!("{shown} is not a directory"),
                format!("mkdir -m 0700 {}", path.display()),
            ));
        }
        let owner = meta.uid();
        let owner_ok = if is_target {
            owner == euid
        } else {
            owner == euid || owner == 0
        };
        if !owner_ok {
            let expected = if is_target {
                format!("the user wardend runs as (uid {euid})")
            } else {
                format!("root or the user wardend runs as (uid {euid})")
            };
            return Err(unsafe_dir(
                format!(
                    "{shown} is owned by uid {owner}, not {expected}, so that user can replace \
                     wardend's files"
                ),
                format!("chown {euid} {}", path.display()),
            ));
        }
        let mode = meta.permissions().mode();
        let sticky = mode & 0o1000 != 0;
        let refused_bits = if is_target {
            0o022
        } else if sticky {
            0
        } else if owner == 0 {
            0o002
        } else {
            0o022
        };
        if mode & refused_bits != 0 {
            return Err(unsafe_dir(
                format!(
                    "{shown} has mode {:04o}: writable by {}, who could replace wardend's files \
                     or plant links",
                    mode & 0o7777,
                    if mode & 0o002 != 0 {
                        "every user"
                    } else {
                        "its group"
                    }
                ),
                format!("chmod go-w {}", path.display()),
            ));
        }
        current = path.parent();
        is_target = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_is_refused_for_reading_and_writing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"victim").unwrap();
        let link = dir.path().join("state.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();

        let err = read_file(&link, 1024).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        let err = open(open_options().append(true).create(true), &link).unwrap_err();
        assert!(err.to_string().contains("rm "), "{err}");
        assert_eq!(
            fs::read(&target).unwrap(),
            b"victim",
            "written through the link"
        );
    }

    #[test]
    fn atomic_write_replaces_a_planted_temp_link_and_never_writes_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let path = dir.path().join("jobs.json");
        // links planted at the old fixed temporary names
        let temp = dir.path().join("jobs.json.tmp");
        std::os::unix::fs::symlink(&victim, &temp).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(".jobs.json.tmp")).unwrap();
        write_atomic(&path, 0o600, |f| f.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.ends_with(".tmp") && n.starts_with(".jobs.json.") && n != ".jobs.json.tmp"
            })
            .collect();
        assert!(left.is_empty(), "temp file left behind: {left:?}");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn read_file_caps_the_size_and_refuses_non_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, vec![b'x'; 100]).unwrap();
        assert_eq!(read_file(&path, 100).unwrap().len(), 100);
        let err = read_file(&path, 99).unwrap_err();
        assert!(
            err.to_string()
                .contains("larger than the limit of 99 bytes"),
            "{err}"
        );
        let err = read_file(dir.path(), 10).unwrap_err();
        assert!(
            err.to_string()
                .contains("is a directory, not a regular file"),
            "{err}"
        );
        // A FIFO planted in place of a state file is named, and never blocks the read.
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(
            &fifo,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )
        .unwrap();
        let err = read_file(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("is a FIFO (named pipe)"), "{err}");
    }

    #[test]
    fn a_group_or_world_writable_dir_is_refused_with_the_fix() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("state");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        check_private_dir(&dir, "state directory").unwrap();

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_private_dir(&dir, "state directory").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("mode 0777"), "{text}");
        assert!(
            text.contains(&format!("chmod go-w {}", dir.display())),
            "{text}"
        );

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
        let text = check_private_dir(&dir, "log directory")
            .unwrap_err()
            .to_string();
        assert!(text.contains("writable by its group"), "{text}");

        // a sticky ancestor (like /tmp) is fine, a sticky target is not
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(base.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        check_private_dir(&dir, "state directory").unwrap();
        // a group-writable ancestor root owns is fine (Ubuntu's /var/log)
        fs::set_permissions(base.path(), fs::Permissions::from_mode(0o775)).unwrap();
        let owner = fs::metadata(base.path()).unwrap().uid();
        assert_eq!(
            check_private_dir(&dir, "state directory").is_ok(),
            owner == 0,
            "group-writable ancestor owned by uid {owner}"
        );
        fs::set_permissions(base.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let text = check_private_dir(&dir, "state directory")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains(&format!("chmod go-w {}", base.path().display())),
            "{text}"
        );
        fs::set_permissions(base.path(), fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn a_dir_of_another_user_is_refused_with_the_chown() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test chowns a directory to another user and must run as root (as CI does)"
        );
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("state");
        fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
        let text = check_private_dir(&dir, "state directory")
            .unwrap_err()
            .to_string();
        assert!(text.contains("owned by uid 65534"), "{text}");
        assert!(
            text.contains(&format!("chown 0 {}", dir.display())),
            "{text}"
        );
    }
}
