//! The control socket: the daemon's security boundary.
//!
//! The socket file gets its mode (0600 or 0660) and group before `listen()` is called, so no
//! client can connect through a window with looser permissions. A socket file left behind by a
//! crashed daemon is detected by a connect attempt and replaced; a live one is never stolen.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};
use tokio::net::UnixListener;

/// Why the socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error(
        "another wardend is already listening on {0}; stop it first or configure another socket path"
    )]
    InUse(PathBuf),
    #[error("{path} exists and is not a socket; remove it or configure another socket path")]
    NotASocket { path: PathBuf },
    #[error(
        "cannot create the socket directory {path}: {source}; create it owned by the daemon's user with mode 0750 (systemd: RuntimeDirectory=; launchd: the install steps)"
    )]
    Dir { path: PathBuf, source: io::Error },
    #[error("cannot bind the control socket {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
    #[error("cannot set permissions on {path}: {source}")]
    Permissions { path: PathBuf, source: io::Error },
    #[error("socket group {0:?} does not exist; create it or fix daemon.socket_group")]
    UnknownGroup(String),
    /// Another user could replace the socket with an impostor's.
    #[error(transparent)]
    UnsafeDir(#[from] warden_core::private_fs::PrivateDirError),
}

/// Binds the control socket at `path` with `mode` (e.g. 0o660) and optional `group`, replacing a
/// stale socket file. The returned listener is already listening: permissions were set on the
/// bound-but-not-listening socket first.
///
/// The socket's directory must be private to the daemon's user (see
/// [`check_private_dir`](warden_core::private_fs::check_private_dir)): whoever can write
/// there could remove the socket and listen in its place, and receive what `wardenctl` sends.
pub fn bind(path: &Path, mode: u32, group: Option<&str>) -> Result<UnixListener, SocketError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        if !dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            // others need only to traverse it; the socket's own mode says who may connect
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .and_then(|()| {
                    // explicitly: the process umask (0027, see logging) would drop o+x
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                })
                .map_err(|source| SocketError::Dir {
                    path: dir.to_path_buf(),
                    source,
                })?;
        }
        warden_core::private_fs::check_private_dir(dir, "socket directory")?;
    }
    remove_if_stale(path)?;
    let gid = group.map(resolve_group).transpose()?;

    // bind() without listen(): nobody can connect yet.
    let std_sock = socket2_bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        SocketError::Permissions {
            path: path.to_path_buf(),
            source,
        }
    })?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid.as_raw())).map_err(|source| {
            SocketError::Permissions {
                path: path.to_path_buf(),
                source,
            }
        })?;
    }
    std_sock.listen(128).map_err(|source| SocketError::Bind {
        path: path.to_path_buf(),
        source,
    })?;
    let listener: std::os::unix::net::UnixListener = std_sock.into();
    listener
        .set_nonblocking(true)
        .map_err(|source| SocketError::Bind {
            path: path.to_path_buf(),
            source,
        })?;
    UnixListener::from_std(listener).map_err(|source| SocketError::Bind {
        path: path.to_path_buf(),
        source,
    })
}

fn socket2_bind(path: &Path) -> Result<socket2::Socket, SocketError> {
    let err = |source| SocketError::Bind {
        path: path.to_path_buf(),
        source,
    };
    let sock =
        socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).map_err(err)?;
    let addr = socket2::SockAddr::unix(path).map_err(err)?;
    sock.bind(&addr).map_err(err)?;
    Ok(sock)
}

/// Removes `path` if it is a socket nobody listens on. Errors when a daemon answers there, or
/// when the path is something other than a socket.
fn remove_if_stale(path: &Path) -> Result<(), SocketError> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(SocketError::Bind {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !meta.file_type().is_socket() {
        return Err(SocketError::NotASocket {
            path: path.to_path_buf(),
        });
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(SocketError::InUse(path.to_path_buf())),
        Err(_) => {
            tracing::warn!(socket = %path.display(), "replacing a stale control socket");
            std::fs::remove_file(path).map_err(|source| SocketError::Bind {
                path: path.to_path_buf(),
                source,
            })
        }
    }
}

fn resolve_group(name: &str) -> Result<Gid, SocketError> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Gid::from_raw(n));
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid),
        _ => Err(SocketError::UnknownGroup(name.to_string())),
    }
}

/// Who is on the other end of a connection: the credentials the connecting process held when
/// it called `connect()`, as the kernel reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// The user name, when the uid has one (for the log only, never for authorization).
    pub user: Option<String>,
    /// The groups the process held: its effective gid and its supplementary groups, sorted.
    groups: Vec<u32>,
}

impl Peer {
    /// Reads the peer credentials of an accepted connection: uid, gid and pid from
    /// `SO_PEERCRED` (`LOCAL_PEERCRED` on macOS), and the groups the process actually held, see
    /// [`peer_groups`].
    pub fn of(stream: &tokio::net::UnixStream) -> io::Result<Peer> {
        use std::os::fd::AsRawFd;
        let cred = stream.peer_cred()?;
        let user = User::from_uid(Uid::from_raw(cred.uid()))
            .ok()
            .flatten()
            .map(|u| u.name);
        let mut groups = match peer_groups(stream.as_raw_fd()) {
            Ok(groups) => groups,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    uid = cred.uid(),
                    "cannot read the groups of a connecting process; only its primary gid counts \
                     for daemon.admin_gids"
                );
                Vec::new()
            }
        };
        groups.push(cred.gid());
        groups.sort_unstable();
        groups.dedup();
        Ok(Peer {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
            user,
            groups,
        })
    }

    /// The groups the connecting process held: its effective gid plus the supplementary groups
    /// the kernel reported for it. Never the user's membership in `/etc/group`: a process that
    /// dropped a group (e.g. `setpriv --clear-groups`, `setgroups(2)`) no longer has it here.
    pub fn groups(&self) -> Vec<u32> {
        self.groups.clone()
    }

    /// Whether this peer may run changing requests (rotate, apply, reload, suppress).
    pub fn may_change(&self, admin_uids: &[u32], admin_gids: &[u32]) -> bool {
        admin_uids.contains(&self.uid) || self.groups().iter().any(|g| admin_gids.contains(g))
    }
}

/// The supplementary groups of the process at the other end of the connected Unix socket
/// `fd`, as the kernel recorded them when it connected.
///
/// - Linux: `getsockopt(SO_PEERGROUPS)` (kernel 4.13 and later). On an older kernel
///   (`ENOPROTOOPT`) the list is empty and only the primary gid of `SO_PEERCRED` counts.
/// - macOS: the `cr_groups` of `LOCAL_PEERCRED`'s `xucred` (at most 16 groups, the first being
///   the effective gid).
/// - Elsewhere: empty (only the primary gid counts).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)]
pub fn peer_groups(fd: std::os::fd::RawFd) -> io::Result<Vec<u32>> {
    #[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
    const SO_PEERGROUPS: libc::c_int = 0x003d;
    #[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
    const SO_PEERGROUPS: libc::c_int = 59;
    /// NGROUPS_MAX on Linux.
    const MAX_GROUPS: usize = 65536;
    const GID: usize = std::mem::size_of::<libc::gid_t>();

    let mut buf: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut len = libc::socklen_t::try_from(buf.len() * GID).unwrap_or(libc::socklen_t::MAX);
        // SAFETY: `buf` is valid for writes of `len` bytes, `len` is a valid socklen_t, and a
        // bad `fd` only makes getsockopt fail.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                SO_PEERGROUPS,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if rc == 0 {
            buf.truncate(len / GID);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // the kernel says how much room the list needs
            Some(libc::ERANGE) if len / GID > buf.len() && len / GID <= MAX_GROUPS => {
                buf.resize(len / GID, 0);
            }
            Some(libc::ENOPROTOOPT) => return Ok(Vec::new()),
            _ => return Err(err),
        }
    }
}

/// See the Linux version.
#[cfg(any(target_os = "macos", target_os = "ios"))]
#[allow(unsafe_code)]
pub fn peer_groups(fd: std::os::fd::RawFd) -> io::Result<Vec<u32>> {
    // SAFETY: xucred is plain data; all zeroes is a valid value.
    let mut cred: libc::xucred = unsafe { std::mem::zeroed() };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::xucred>())
        .unwrap_or(libc::socklen_t::MAX);
    // SAFETY: `cred` is valid for writes of `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_LOCAL,
            libc::LOCAL_PEERCRED,
            (&mut cred as *mut libc::xucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if cred.cr_version != libc::XUCRED_VERSION {
        return Err(io::Error::other("unknown xucred version"));
    }
    let n = usize::try_from(cred.cr_ngroups)
        .unwrap_or(0)
        .min(cred.cr_groups.len());
    Ok(cred.cr_groups[..n].to_vec())
}

/// See the Linux version.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
)))]
pub fn peer_groups(_fd: std::os::fd::RawFd) -> io::Result<Vec<u32>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    #[tokio::test]
    async fn binds_with_mode_and_replaces_stale_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sock");
        // a stale socket: bound, then the listener dropped
        {
            let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
            drop(l);
        }
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_socket()
        );
        let l = bind(&path, 0o600, None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // a live socket is never stolen
        let err = bind(&path, 0o600, None).unwrap_err();
        assert!(matches!(err, SocketError::InUse(_)), "{err}");
        drop(l);
    }

    #[tokio::test]
    async fn refuses_a_regular_file_and_unknown_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-socket");
        std::fs::write(&path, b"x").unwrap();
        assert!(matches!(
            bind(&path, 0o600, None).unwrap_err(),
            SocketError::NotASocket { .. }
        ));
        let path2 = dir.path().join("s.sock");
        assert!(matches!(
            bind(&path2, 0o660, Some("no-such-group-warden")).unwrap_err(),
            SocketError::UnknownGroup(_)
        ));
    }

    #[tokio::test]
    async fn peer_credentials_and_admin_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sock");
        let l = bind(&path, 0o600, None).unwrap();
        let client = tokio::net::UnixStream::connect(&path).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let peer = Peer::of(&server).unwrap();
        assert_eq!(peer.uid, nix::unistd::getuid().as_raw());
        assert_eq!(peer.pid, Some(std::process::id() as i32));
        assert!(peer.may_change(&[peer.uid], &[]));
        assert!(!peer.may_change(&[peer.uid + 12345], &[]));
        assert!(peer.may_change(&[], &[peer.gid]));
        // the groups this process holds, as the kernel knows them
        let mut mine: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        mine.push(nix::unistd::getegid().as_raw());
        mine.sort_unstable();
        mine.dedup();
        assert_eq!(peer.groups(), mine);
        drop(client);
    }
}
