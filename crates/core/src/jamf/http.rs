//! HTTP clients shared by every [`JamfClient`](super::JamfClient) with the same TLS and
//! connect settings.
//!
//! A `reqwest::Client` carries its own TLS root store (tens of kilobytes) and connection pool.
//! A daemon watching a fleet of Jamf instances needs neither per instance: the pool is keyed by
//! scheme, host and port anyway, so instances share one client per distinct
//! (connect timeout, extra CA bundle). Per-instance settings travel with each request instead:
//! the request timeout, the sticky-session cookies ([`super::StickyCookieStore`]) and the
//! concurrency limit ([`super::JamfClientConfig::max_in_flight`]).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use super::error::JamfError;

/// Idle keep-alive connections are closed after this long: a request sequence (token, lists,
/// the steps of an apply) reuses its connections, while a fleet checked every few minutes does
/// not hold thousands of idle sockets and their buffers in between.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Idle connections kept per host: one, for the next request of a sequence (token, list,
/// apply steps). Each idle connection holds its buffers; a fleet of a thousand instances with
/// two each held about 10 MiB more (bench-drift).
pub const POOL_MAX_IDLE_PER_HOST: usize = 1;

/// What makes two HTTP clients different: the connect timeout and the extra CA certificates
/// (the PEM bytes, so a changed file gets a new client).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    connect_timeout: Duration,
    ca_pem: Option<Vec<u8>>,
}

static CLIENTS: LazyLock<Mutex<HashMap<Key, reqwest::Client>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The shared client for these settings, built on first use. `ca` is the file's path (for
/// messages) and its PEM bytes.
pub(crate) fn client(
    connect_timeout: Duration,
    ca: Option<(&std::path::Path, Vec<u8>)>,
) -> Result<reqwest::Client, JamfError> {
    let key = Key {
        connect_timeout,
        ca_pem: ca.as_ref().map(|(_, pem)| pem.clone()),
    };
    let mut clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(client) = clients.get(&key) {
        return Ok(client.clone());
    }
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("jamf-warden/", env!("CARGO_PKG_VERSION")));
    if let Some((path, pem)) = &ca {
        builder = builder.tls_certs_merge(parse_ca(path, pem)?);
    }
    let client = builder.build().map_err(|e| {
        JamfError::Config(format!(
            "cannot build the http client: {e}; check ca_file and the system's ca certificates"
        ))
    })?;
    clients.insert(key, client.clone());
    Ok(client)
}

/// Reads a PEM bundle of extra trusted CA certificates.
pub(crate) fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>, JamfError> {
    crate::files::read_capped(path, crate::files::MAX_CONFIG_FILE_BYTES).map_err(|e| {
        JamfError::Config(format!(
            "cannot read ca_file {}: {e}; check the path and its permissions",
            path.display()
        ))
    })
}

fn parse_ca(path: &std::path::Path, pem: &[u8]) -> Result<Vec<reqwest::Certificate>, JamfError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        JamfError::Config(format!(
            "ca_file {} is not a valid pem bundle: {e}",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(JamfError::Config(format!(
            "ca_file {} contains no pem certificate",
            path.display()
        )));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_settings_share_one_client_and_a_bad_bundle_is_refused() {
        // timeouts no other test uses: other tests build clients in this process at the same
        // time, so only this test's keys are counted
        let (seven, eight) = (Duration::from_millis(7_007), Duration::from_millis(8_008));
        let entries = |t: Duration| {
            CLIENTS
                .lock()
                .unwrap()
                .keys()
                .filter(|k| k.connect_timeout == t)
                .count()
        };
        let a = client(seven, None).unwrap();
        let b = client(seven, None).unwrap();
        let c = client(eight, None).unwrap();
        assert_eq!(
            (entries(seven), entries(eight)),
            (1, 1),
            "two settings, two clients"
        );
        // reqwest::Client has no identity accessor; building the same key again adds nothing
        let _ = (a, b, c);
        client(seven, None).unwrap();
        assert_eq!(entries(seven), 1);

        let path = std::path::Path::new("bad.pem");
        let err = client(seven, Some((path, b"not a pem".to_vec()))).unwrap_err();
        assert!(err.to_string().contains("ca_file bad.pem"), "{err}");
    }
}
