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
    #[error("cannot create the socket directory {path}: {source}")]
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

/// Who is on the other end of a connection (SO_PEERCRED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// The user name, when the uid has one.
    pub user: Option<String>,
}

impl Peer {
    /// Reads the peer credentials of an accepted connection.
    pub fn of(stream: &tokio::net::UnixStream) -> io::Result<Peer> {
        let cred = stream.peer_cred()?;
        let user = User::from_uid(Uid::from_raw(cred.uid()))
            .ok()
            .flatten()
            .map(|u| u.name);
        Ok(Peer {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
            user,
        })
    }

    /// The peer's groups: its primary gid plus its user's supplementary groups.
    pub fn groups(&self) -> Vec<u32> {
        let mut out = vec![self.gid];
        if let Some(name) = &self.user
            && let Ok(cname) = std::ffi::CString::new(name.as_str())
            && let Ok(groups) = nix::unistd::getgrouplist(&cname, Gid::from_raw(self.gid))
        {
            out.extend(groups.into_iter().map(|g| g.as_raw()));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether this peer may run changing requests (rotate, apply, reload, suppress).
    pub fn may_change(&self, admin_uids: &[u32], admin_gids: &[u32]) -> bool {
        admin_uids.contains(&self.uid) || self.groups().iter().any(|g| admin_gids.contains(g))
    }
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
        drop(client);
    }
}
