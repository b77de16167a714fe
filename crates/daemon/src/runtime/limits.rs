//! File descriptors and control connections.
//!
//! Every control connection holds a file descriptor. Without a cap, 1,100 idle connections
//! used up the default limit of 1,024: `status` hung and the state and head-anchor writes
//! failed. So: at start, [`raise_nofile`] raises the soft `RLIMIT_NOFILE` to the hard limit;
//! the connection cap is `daemon.max_connections`, lowered by [`connection_cap`] so that
//! [`FD_RESERVE`] descriptors always stay for Vault, Jamf, the logs and the state files; and
//! [`admin_reserve`] of the cap is kept for admins, so a crowd of read-only clients cannot lock
//! an admin out. A connection over the cap is answered "busy" and closed (see `server.rs`).

/// File descriptors kept free of control connections: Vault and Jamf connections, the change
/// log, head anchor, state files and their temporary files, log files, the runtime's own.
pub const FD_RESERVE: u64 = 256;

/// The smallest cap, whatever the limits say.
const MIN_CAP: u32 = 4;

/// Raises the soft limit on open files to the hard limit. Returns the soft limit in effect
/// afterwards (`None` if it cannot be read). Call once at start, before the runtime.
#[allow(unsafe_code)]
pub fn raise_nofile() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; failure (e.g. macOS's OPEN_MAX) leaves the
        // limit as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    nofile_soft_of(limit)
}

/// The current soft limit on open files.
#[allow(unsafe_code)]
pub fn nofile_soft() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    nofile_soft_of(limit)
}

// rlim_t is u64 on Linux and macOS, but not on every platform
#[allow(clippy::useless_conversion)]
fn nofile_soft_of(limit: libc::rlimit) -> Option<u64> {
    if limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    u64::try_from(limit.rlim_cur).ok()
}

/// The number of control connections served at once: `configured`, lowered so that
/// [`FD_RESERVE`] descriptors of `nofile` stay free, and never below 4.
pub fn connection_cap(configured: u32, nofile: Option<u64>) -> u32 {
    let fit = nofile
        .map(|n| u32::try_from(n.saturating_sub(FD_RESERVE)).unwrap_or(u32::MAX))
        .unwrap_or(u32::MAX);
    configured.min(fit).max(MIN_CAP)
}

/// How many of `cap` connections only admins may use: an eighth, at least 1, at most 32.
pub fn admin_reserve(cap: u32) -> u32 {
    (cap / 8).clamp(1, 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_for_everything_else() {
        assert_eq!(connection_cap(256, Some(1024)), 256);
        assert_eq!(connection_cap(2000, Some(1024)), 1024 - 256);
        assert_eq!(connection_cap(256, Some(300)), 44);
        assert_eq!(connection_cap(256, Some(100)), 4, "never below 4");
        assert_eq!(connection_cap(256, None), 256);
        assert_eq!(connection_cap(65536, Some(u64::MAX)), 65536);
    }

    #[test]
    fn admins_keep_an_eighth() {
        assert_eq!(admin_reserve(4), 1);
        assert_eq!(admin_reserve(8), 1);
        assert_eq!(admin_reserve(256), 32);
        assert_eq!(admin_reserve(100), 12);
        assert_eq!(admin_reserve(65536), 32);
        for cap in 4..1000 {
            assert!(admin_reserve(cap) < cap);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn raising_leaves_soft_at_hard() {
        let soft = raise_nofile();
        assert_eq!(soft, nofile_soft());
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        #[allow(unsafe_code)]
        // SAFETY: `limit` is a valid, writable rlimit.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        assert_eq!(rc, 0);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}
