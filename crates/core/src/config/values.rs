//! Small value checks and parsers shared by the config and desired-state validation. Each returns
//! a lowercase message that says what to do.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use url::{Host, Url};

/// Prefix of a `*_file` value naming a systemd credential: `credential:NAME` means
/// `$CREDENTIALS_DIRECTORY/NAME` (see `LoadCredential=` in systemd.exec(5)).
pub const CREDENTIAL_PREFIX: &str = "credential:";

/// Parses a duration written as an integer and one unit: `ms`, `s`, `m`, `h`, `d` or `w`
/// (`"1500ms"`, `"5s"`, `"30m"`, `"12h"`, `"90d"`, `"2w"`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let hint = "write an integer and a unit, e.g. \"5s\", \"30m\", \"12h\" or \"90d\"";
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; {hint}"))?;
    let unit_secs: u64 = match unit {
        "ms" => return Ok(Duration::from_millis(value)),
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        "" => return Err(format!("`{text}` has no unit; {hint}")),
        other => return Err(format!("unknown unit `{other}` in `{text}`; {hint}")),
    };
    value
        .checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long; {hint}"))
}

/// Checks that `duration` lies in `range`; the message names both ends, as written in a config
/// file (`"100ms"`, `"5m"`).
pub fn check_duration_range(
    duration: Duration,
    range: &std::ops::RangeInclusive<Duration>,
) -> Result<(), String> {
    if range.contains(&duration) {
        return Ok(());
    }
    Err(format!(
        "`{}` is out of range; use a duration from \"{}\" to \"{}\"",
        format_duration(duration),
        format_duration(*range.start()),
        format_duration(*range.end())
    ))
}

/// Formats a duration in the largest unit that represents it exactly (`"90d"`, `"30s"`,
/// `"1500ms"`), so that [`parse_duration`] reads it back unchanged.
pub fn format_duration(duration: Duration) -> String {
    if duration.subsec_nanos() != 0 {
        // Sub-millisecond parts cannot be written; they are rounded down.
        return format!("{}ms", duration.as_millis());
    }
    let secs = duration.as_secs();
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs != 0 && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// Resolves a path from a config file: absolute paths stay, relative ones are taken from
/// `base_dir` (the config file's directory), and with `credentials` allowed, `credential:NAME`
/// becomes `$CREDENTIALS_DIRECTORY/NAME` using `credentials_dir`. The result is lexically
/// normalised (no `.` or `..` components).
pub fn resolve_path(
    base_dir: &Path,
    raw: &str,
    credentials_dir: Option<&Path>,
    allow_credential: bool,
) -> Result<PathBuf, String> {
    if raw.trim().is_empty() {
        return Err("path is empty; give an absolute path or one relative to this file".into());
    }
    if let Some(name) = raw.strip_prefix(CREDENTIAL_PREFIX) {
        if !allow_credential {
            return Err(format!(
                "`{raw}`: `{CREDENTIAL_PREFIX}NAME` is only allowed for secret and CA files"
            ));
        }
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(format!(
                "`{raw}`: a credential name must be a plain file name, as in \
                 `LoadCredential=NAME:/path`"
            ));
        }
        let Some(dir) = credentials_dir else {
            return Err(format!(
                "`{raw}` needs $CREDENTIALS_DIRECTORY, which is not set; run wardend under \
                 systemd with `LoadCredential={name}:/path/to/file`, or give a file path instead"
            ));
        };
        return Ok(normalize(&dir.join(name)));
    }
    if raw.starts_with('~') {
        return Err(format!("`{raw}`: `~` is not expanded; write the full path"));
    }
    Ok(normalize(&base_dir.join(raw)))
}

/// Removes `.` components and folds `..` into its parent, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether `url`'s host is the loopback interface (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Parses an http(s) base URL with no credentials, query or fragment. Plain `http://` is only
/// accepted for a loopback host or with `allow_insecure_http`.
pub fn parse_http_url(raw: &str, allow_insecure_http: bool, example: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim())
        .map_err(|e| format!("`{raw}` is not a valid URL ({e}); write it like `{example}`"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) || allow_insecure_http => {}
        "http" => {
            return Err(format!(
                "`{raw}` uses plain http to a remote host, which exposes tokens and secrets; \
                 use https, or set `allow_insecure_http = true` for a lab setup"
            ));
        }
        other => return Err(format!("`{raw}` has scheme `{other}`; use https (or http)")),
    }
    if url.host().is_none() {
        return Err(format!("`{raw}` has no host; write it like `{example}`"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{raw}` contains credentials; remove them (secrets only come from `*_file` paths \
             and Vault)"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` has a query or fragment; remove it"));
    }
    Ok(url)
}

/// Checks an instance name: `[a-z0-9][a-z0-9_-]*`, at most 63 characters (it is used in file
/// and Vault paths).
pub fn check_instance_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !first_ok || !rest_ok || name.len() > 63 {
        return Err(format!(
            "`{name}` is not a valid instance name; use lowercase letters, digits, `_` and `-`, \
             starting with a letter or digit, at most 63 characters"
        ));
    }
    Ok(())
}

/// Checks a Vault path relative to a mount or prefix: non-empty `/`-separated segments of
/// letters, digits, `.`, `_` and `-`, with no `.` or `..` segment and no leading or trailing `/`.
pub fn check_vault_path(path: &str) -> Result<(), String> {
    let ok = !path.is_empty()
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a valid Vault path; use segments of letters, digits, `.`, `_` and \
             `-` separated by `/`, without leading or trailing `/`"
        ))
    }
}

/// A lowercase slug of a client name for its default Vault path: ASCII letters and digits kept
/// (lowercased), every other run of characters turned into one `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Parses a socket mode such as `"0660"`. Only owner read-write plus optionally group access
/// is accepted: other users must never be able to connect.
pub fn parse_socket_mode(raw: &str) -> Result<u32, String> {
    let hint = "use \"0660\" (owner and group) or \"0600\" (owner only)";
    let digits = raw.trim().trim_start_matches("0o");
    let mode = u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("`{raw}` is not an octal file mode; {hint}"))?;
    if mode & !0o660 != 0 {
        return Err(format!(
            "mode {mode:04o} is too open (other users or execute bits); {hint}"
        ));
    }
    if mode & 0o600 != 0o600 {
        return Err(format!(
            "mode {mode:04o} does not let wardend's own user connect; {hint}"
        ));
    }
    Ok(mode)
}

/// Checks a log filter: comma-separated `LEVEL` or `target=LEVEL`, with levels `trace`,
/// `debug`, `info`, `warn`, `error` or `off`.
pub fn check_log_level(raw: &str) -> Result<(), String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let valid_directive = |directive: &str| {
        let (target, level) = match directive.split_once('=') {
            Some((target, level)) => (Some(target), level),
            None => (None, directive),
        };
        LEVELS.contains(&level.trim())
            && target.is_none_or(|t| {
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c))
            })
    };
    if !raw.trim().is_empty() && raw.split(',').all(|d| valid_directive(d.trim())) {
        Ok(())
    } else {
        Err(format!(
            "`{raw}` is not a log filter; use a level (trace, debug, info, warn, error, off), \
             optionally with per-target levels like \"info,warden_core=debug\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_round_trip() {
        for (text, secs) in [
            ("5s", 5),
            ("30m", 1800),
            ("12h", 43_200),
            ("90d", 7_776_000),
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d, Duration::from_secs(secs));
            assert_eq!(format_duration(d), text);
        }
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(1_209_600)), "2w");
        for bad in ["", "5", "s", "5 x", "-5s", "5y", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn paths_resolve_against_the_config_directory() {
        let base = Path::new("/etc/jamf-warden");
        let got = resolve_path(base, "../lib/x", None, false).unwrap();
        assert_eq!(got, PathBuf::from("/etc/lib/x"));
        assert_eq!(
            resolve_path(base, "/abs", None, false).unwrap(),
            PathBuf::from("/abs")
        );
        let creds = Path::new("/run/credentials/wardend.service");
        let got = resolve_path(base, "credential:role-id", Some(creds), true).unwrap();
        assert_eq!(got, creds.join("role-id"));
        let err = resolve_path(base, "credential:role-id", None, true).unwrap_err();
        assert!(err.contains("CREDENTIALS_DIRECTORY"), "{err}");
        assert!(resolve_path(base, "credential:../x", Some(creds), true).is_err());
        assert!(resolve_path(base, "credential:x", Some(creds), false).is_err());
        assert!(resolve_path(base, "", None, false).is_err());
    }

    #[test]
    fn urls_require_https_except_on_loopback() {
        let ex = "https://acme.jamfcloud.com";
        assert!(parse_http_url("https://acme.jamfcloud.com", false, ex).is_ok());
        assert!(parse_http_url("http://127.0.0.1:18080/instances/clean", false, ex).is_ok());
        assert!(parse_http_url("http://[::1]:8080", false, ex).is_ok());
        assert!(parse_http_url("http://localhost:8080", false, ex).is_ok());
        assert!(parse_http_url("http://jamf.example.com", false, ex).is_err());
        assert!(parse_http_url("http://jamf.example.com", true, ex).is_ok());
        assert!(parse_http_url("ftp://jamf.example.com", true, ex).is_err());
        assert!(parse_http_url("https://u:p@jamf.example.com", false, ex).is_err());
        assert!(parse_http_url("https://jamf.example.com/?a=b", false, ex).is_err());
        assert!(parse_http_url("jamf.example.com", false, ex).is_err());
    }

    #[test]
    fn names_paths_slugs_modes_levels() {
        assert!(check_instance_name("acme-prod_2").is_ok());
        for bad in ["", "-x", "Acme", "a b", "a/b", "ä"] {
            assert!(check_instance_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_vault_path("instances/acme/management").is_ok());
        for bad in ["", "/a", "a/", "a//b", "a/../b", "a b"] {
            assert!(check_vault_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            slug("Inventory Sync (read-only)"),
            "inventory-sync-read-only"
        );
        assert_eq!(slug("!!!"), "");
        assert_eq!(parse_socket_mode("0660").unwrap(), 0o660);
        assert_eq!(parse_socket_mode("0600").unwrap(), 0o600);
        assert_eq!(parse_socket_mode("0640").unwrap(), 0o640);
        for bad in ["0666", "0777", "0670", "0400", "abc", "99999"] {
            assert!(parse_socket_mode(bad).is_err(), "{bad:?}");
        }
        assert!(check_log_level("info").is_ok());
        assert!(check_log_level("warn,warden_core=debug").is_ok());
        assert!(check_log_level("loud").is_err());
        assert!(check_log_level("").is_err());
    }
}
