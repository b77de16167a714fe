//! Issue 12 item 10: what the config loader refuses before parsing (files others may write,
//! files that are not regular files, files too large to be real) and range checks of every
//! duration and number.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use warden_core::config::{Config, ConfigError, LoadOptions, read_secret_file};

use crate::common::{Dir, MINIMAL, assert_contains, with};

fn load(path: &Path) -> Result<Config, String> {
    Config::load_with(path, &LoadOptions::default()).map_err(|e| e.to_string())
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

fn with_desired(desired: &str) -> String {
    with(&format!(
        "[[instance]]\nname = \"a\"\nurl = \"https://a.example\"\ndesired = [\"{desired}\"]\n"
    ))
}

#[test]
fn a_config_file_others_may_write_is_refused_with_the_chmod_to_run() {
    let dir = Dir::new();
    let path = dir.write("wardend.toml", MINIMAL);
    for mode in [0o666, 0o620, 0o602] {
        chmod(&path, mode);
        let errors = Config::load_with(&path, &LoadOptions::default()).expect_err("writable");
        assert!(
            matches!(errors.errors(), [ConfigError::WritableByOthers { .. }]),
            "{errors}"
        );
        let msg = errors.to_string();
        assert_contains(
            &msg,
            &[
                &format!("mode {mode:04o}"),
                &format!("chmod go-w {}", path.display()),
            ],
        );
    }
    // Readable by everyone is fine: the config holds no secret.
    chmod(&path, 0o644);
    load(&path).expect("0644 is accepted");
}

#[test]
fn a_desired_file_others_may_write_is_refused() {
    let dir = Dir::new();
    let desired = dir.write("desired.toml", "version = 1\n");
    chmod(&desired, 0o664);
    let (msg, n) = dir.errors(&with_desired("desired.toml"));
    assert_eq!(n, 1, "{msg}");
    assert_contains(
        &msg,
        &["mode 0664", &format!("chmod go-w {}", desired.display())],
    );
    chmod(&desired, 0o644);
    dir.load(&with_desired("desired.toml"))
        .expect("0644 is accepted");
}

#[test]
fn a_desired_file_that_is_not_a_regular_file_says_what_it_is() {
    let dir = Dir::new();
    mkfifo(&dir.path().join("fifo.toml"));
    std::fs::create_dir(dir.path().join("dir.toml")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock.toml")).unwrap();
    for (desired, what) in [
        ("/dev/zero", "a character device"),
        ("/dev/null", "a character device"),
        ("fifo.toml", "a FIFO (named pipe)"),
        ("dir.toml", "a directory"),
        ("sock.toml", "a socket"),
    ] {
        let (msg, n) = dir.errors(&with_desired(desired));
        assert_eq!(n, 1, "{msg}");
        assert_contains(
            &msg,
            &[
                "wardend.toml:13:",
                "`instance.desired`",
                &format!("it is {what}, not a regular file"),
            ],
        );
        assert!(!msg.contains("does not exist"), "{msg}");
    }
}

#[test]
fn a_config_that_is_a_device_or_fifo_fails_at_once_and_says_what_it_is() {
    let dir = Dir::new();
    let fifo = dir.path().join("wardend.toml");
    mkfifo(&fifo);
    // A FIFO without a writer would block a plain read forever; this returns.
    let msg = load(&fifo).expect_err("fifo");
    assert_contains(&msg, &["it is a FIFO (named pipe), not a regular file"]);
    let msg = load(Path::new("/dev/zero")).expect_err("/dev/zero");
    assert_contains(
        &msg,
        &[
            "`/dev/zero`",
            "it is a character device, not a regular file",
        ],
    );
}

#[test]
fn files_over_4_mib_are_refused_without_reading_them_whole() {
    let dir = Dir::new();
    let limit = warden_core::files::MAX_CONFIG_FILE_BYTES as usize;
    let mut big = String::from(MINIMAL);
    big.push('#');
    big.push_str(&"x".repeat(limit - big.len()));
    let path = dir.write("wardend.toml", &big);
    load(&path).expect("exactly 4 MiB is accepted");
    big.push_str("x\n");
    let path = dir.write("wardend.toml", &big);
    let msg = load(&path).expect_err("too large");
    assert_contains(&msg, &["larger than the limit of 4194304 bytes"]);
    // The same cap holds for desired-state files.
    dir.write("desired.toml", &big);
    let (msg, _) = dir.errors(&with_desired("desired.toml"));
    assert_contains(&msg, &["desired.toml", "larger than the limit"]);
}

#[test]
fn secret_files_must_be_regular_files() {
    let dir = Dir::new();
    let fifo = dir.path().join("token");
    mkfifo(&fifo);
    let err = read_secret_file(&fifo).expect_err("fifo");
    assert_contains(&err.to_string(), &["it is a FIFO (named pipe)"]);
    let err = read_secret_file(Path::new("/dev/zero")).expect_err("device");
    assert_contains(&err.to_string(), &["it is a character device"]);
}

#[test]
fn every_duration_is_range_checked_with_its_location() {
    let dir = Dir::new();
    let text = format!(
        "{MINIMAL}\n[defaults.schedules]\njitter = \"7h\"\n\n[audit]\nmax_token_lifetime = \"400d\"\n\n\
         [[instance]]\nname = \"a\"\nurl = \"https://a.example\"\nrequest_timeout = \"99999999999d\"\n\
         connect_timeout = \"50ms\"\n[instance.schedules]\njitter = \"99999999999999s\"\n"
    );
    let (msg, n) = dir.errors(&text);
    assert_eq!(n, 5, "{msg}");
    assert_contains(
        &msg,
        &[
            "wardend.toml:11:10: `defaults.schedules.jitter`: `7h` is out of range; use a duration from \"0s\" to \"6h\"",
            "wardend.toml:14:22: `audit.max_token_lifetime`: `400d` is out of range; use a duration from \"1s\" to \"365d\"",
            "wardend.toml:19:19: `instance.request_timeout`: `99999999999d` is out of range; use a duration from \"100ms\" to \"1h\"",
            "wardend.toml:20:19: `instance.connect_timeout`: `50ms` is out of range; use a duration from \"100ms\" to \"5m\"",
            "wardend.toml:22:10: `instance.schedules.jitter`: `99999999999999s` is out of range",
        ],
    );
    // Both ends of each range are accepted.
    let text = format!(
        "{MINIMAL}\n[defaults.schedules]\njitter = \"6h\"\n\n[audit]\nmax_token_lifetime = \"365d\"\n\n\
         [[instance]]\nname = \"a\"\nurl = \"https://a.example\"\nrequest_timeout = \"1h\"\n\
         connect_timeout = \"100ms\"\n[instance.schedules]\njitter = \"0s\"\n"
    );
    let config = dir.load(&text).expect("range ends are valid");
    assert_eq!(
        config.instances[0].request_timeout,
        std::time::Duration::from_secs(3600)
    );
}

#[test]
fn desired_numbers_and_durations_are_range_checked() {
    let dir = Dir::new();
    dir.write(
        "desired.toml",
        "version = 1\n[[role]]\nname = \"r\"\nexternal = true\n\n[[client]]\nname = \"c\"\nroles = [\"r\"]\nowner = \"o\"\npurpose = \"p\"\n\
         token_lifetime = 99999999999\n[client.rotation]\nmax_age = \"99999999999d\"\n\n\
         [[client]]\nname = \"d\"\nroles = [\"r\"]\nowner = \"o\"\npurpose = \"p\"\n\
         [client.rotation]\nmax_age = \"30s\"\n",
    );
    let (msg, n) = dir.errors(&with_desired("desired.toml"));
    assert_eq!(n, 3, "{msg}");
    assert_contains(
        &msg,
        &[
            "desired.toml:11:18: `client.token_lifetime`: 99999999999 is out of range; use a number of seconds from 1 to 31536000",
            "desired.toml:13:11: `client.rotation.max_age`: `99999999999d` is out of range; use a duration from \"1m\" to \"3650d\"",
            "desired.toml:21:11: `client.rotation.max_age`: `30s` is out of range",
        ],
    );
}
