//! Config errors name the file, line and column, and say what to do.

use warden_core::config::{Config, ConfigError, LoadOptions};

use crate::common::{Dir, MINIMAL, assert_contains, with};

fn instance(name: &str, url: &str) -> String {
    format!("[[instance]]\nname = \"{name}\"\nurl = \"{url}\"\n")
}

#[test]
fn unknown_field_names_field_file_line_and_column() {
    let dir = Dir::new();
    let text = MINIMAL.replace("[vault]\n", "[vault]\nadress = \"https://x\"\n");
    let (msg, n) = dir.errors(&text);
    assert_eq!(n, 1);
    let file = dir.path().join("wardend.toml");
    // `adress` is on line 4, column 1.
    assert_contains(
        &msg,
        &[
            &format!("{}:4:1", file.display()),
            "unknown field `adress`",
            "remove it or fix its spelling",
        ],
    );
}

#[test]
fn unknown_field_in_a_nested_table() {
    let dir = Dir::new();
    let (msg, _) = dir.errors(&with(
        "[[instance]]\nname = \"a\"\nurl = \"https://a.example\"\n[instance.schedules]\n  drfit = \"@daily\"\n",
    ));
    assert_contains(
        &msg,
        &[
            "wardend.toml:14:3",
            "unknown field `drfit`",
            "expected one of",
        ],
    );
}

#[test]
fn wrong_or_missing_version() {
    let dir = Dir::new();
    let (msg, _) = dir.errors(&MINIMAL.replace("version = 1", "version = 2"));
    assert_contains(
        &msg,
        &[
            "wardend.toml:1:11",
            "unsupported version 2",
            "supports only `version = 1`",
        ],
    );
    let (msg, _) = dir.errors(&MINIMAL.replace("version = 1", "version = \"1\""));
    assert_contains(&msg, &["unsupported version \"1\""]);
    let (msg, _) = dir.errors(&MINIMAL.replace("version = 1\n", ""));
    assert_contains(&msg, &["wardend.toml: missing `version = 1`", "add it"]);
}

#[test]
fn toml_syntax_and_type_errors_are_located() {
    let dir = Dir::new();
    let (msg, _) = dir.errors(&with("[daemon\n"));
    assert_contains(&msg, &["wardend.toml:10:"]);
    let (msg, _) = dir.errors(&with(
        "[[instance]]\nname = \"a\"\nurl = \"https://a\"\nmax_in_flight = \"five\"\n",
    ));
    assert_contains(&msg, &["wardend.toml:13:17", "invalid type"]);
    let (msg, _) = dir.errors(&with("[daemon]\nlog_format = \"xml\"\n"));
    assert_contains(
        &msg,
        &["unknown variant `xml`", "use one of the listed values"],
    );
}

#[test]
fn bad_schedules() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with(&format!(
        "[defaults.schedules]\ndrift = \"*/15 * * *\"\ntimezone = \"Europe/Berln\"\n\n{}\
         [instance.schedules]\nrotation = \"0 25 * * *\"\naudit = \"@fortnightly\"\n",
        instance("a", "https://a.example")
    )));
    assert_eq!(n, 4, "{msg}");
    assert_contains(
        &msg,
        &[
            "wardend.toml:11:9: `defaults.schedules.drift`: schedule `*/15 * * *` has 4 fields",
            "wardend.toml:12:12: `defaults.schedules.timezone`: unknown time zone `Europe/Berln`",
            "`instance.schedules.rotation`: invalid schedule `0 25 * * *`",
            "`instance.schedules.audit`: unknown schedule alias `@fortnightly`",
        ],
    );
}

#[test]
fn bad_urls() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with(&format!(
        "{}{}{}",
        instance("a", "not a url"),
        instance("b", "ftp://jamf.example"),
        instance("c", "https://user:pw@jamf.example"),
    )));
    assert_eq!(n, 3, "{msg}");
    assert_contains(
        &msg,
        &[
            "`instance.url`: `not a url` is not a valid URL",
            "scheme `ftp`",
            "contains credentials",
        ],
    );
    let (msg, _) = dir.errors(&MINIMAL.replace("https://vault.example.com:8200", "vault:8200"));
    assert_contains(&msg, &["`vault.address`"]);
}

#[test]
fn http_to_a_remote_host_needs_an_explicit_opt_in() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with(&instance("a", "http://jamf.example.com")));
    assert_eq!(n, 1);
    assert_contains(
        &msg,
        &[
            "wardend.toml:12:7",
            "plain http to a remote host",
            "allow_insecure_http = true",
        ],
    );
    let opted_in = format!(
        "{}allow_insecure_http = true\n",
        instance("a", "http://jamf.example.com")
    );
    assert!(dir.load(&with(&opted_in)).is_ok());
    assert!(
        dir.load(&with(&instance("a", "http://127.0.0.1:18080/instances/a")))
            .is_ok()
    );
    let (msg, _) = dir.errors(&MINIMAL.replace(
        "https://vault.example.com:8200",
        "http://vault.example.com:8200",
    ));
    assert_contains(&msg, &["`vault.address`", "plain http"]);
}

#[test]
fn duplicate_and_unsafe_instance_names() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with(&format!(
        "{}{}{}",
        instance("acme", "https://a.example"),
        instance("acme", "https://b.example"),
        instance("Acme Prod", "https://c.example"),
    )));
    assert_eq!(n, 2, "{msg}");
    assert_contains(
        &msg,
        &[
            "instance `acme` is already defined at line 11",
            "not a valid instance name",
        ],
    );
}

#[test]
fn missing_desired_file() {
    let dir = Dir::new();
    let text = format!(
        "{}desired = [\"desired/nope.toml\"]\n",
        instance("a", "https://a.example")
    );
    let (msg, n) = dir.errors(&with(&text));
    assert_eq!(n, 1);
    let expected = dir.path().join("desired/nope.toml");
    assert_contains(
        &msg,
        &[
            "`instance.desired`",
            &expected.display().to_string(),
            "does not exist",
        ],
    );
}

#[test]
fn socket_mode_too_open_and_other_daemon_values() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with(
        "[daemon]\nsocket_mode = \"0666\"\nsocket_group = [1]\nlog_level = \"loud\"\nlog_retention_days = 0\nmax_rotations_per_minute = 0\n",
    ));
    assert_eq!(n, 5, "{msg}");
    assert_contains(
        &msg,
        &[
            "wardend.toml:11:15: `daemon.socket_mode`: mode 0666 is too open",
            "use \"0660\" (owner and group) or \"0600\" (owner only)",
            "`daemon.socket_group`",
            "`daemon.log_level`",
            "`daemon.log_retention_days`: 0 is out of range",
            "`daemon.max_rotations_per_minute`",
        ],
    );
    let config = dir
        .load(&with(
            "[daemon]\nsocket_mode = \"0600\"\nsocket_group = 4200\n",
        ))
        .expect("valid");
    assert_eq!(config.daemon.socket_mode, 0o600);
}

/// `daemon.recovery_delay`, `daemon.recovery_max_delay` and `daemon.store_retry_budget` are
/// range-checked (a huge or zero delay would stop the daemon from healing an interrupted
/// rotation), and the cap may not be below the first delay.
#[test]
fn recovery_settings_are_range_checked() {
    let dir = Dir::new();
    let (msg, n) = dir.errors(&with(
        "[daemon]\nrecovery_delay = \"99999999999d\"\nrecovery_max_delay = \"0s\"\nstore_retry_budget = \"2h\"\n",
    ));
    assert_eq!(n, 3, "{msg}");
    assert_contains(
        &msg,
        &[
            "`daemon.recovery_delay`",
            "`daemon.recovery_max_delay`: `0s` is out of range; use a duration from \"1s\" to \"1h\"",
            "`daemon.store_retry_budget`: `2h` is out of range; use a duration from \"1s\" to \"1h\"",
        ],
    );
    let (msg, n) = dir.errors(&with(
        "[daemon]\nrecovery_delay = \"2m\"\nrecovery_max_delay = \"1m\"\n",
    ));
    assert_eq!(n, 1, "{msg}");
    assert_contains(
        &msg,
        &["`daemon.recovery_max_delay`: must not be shorter than `daemon.recovery_delay`"],
    );
    let config = dir
        .load(&with(
            "[daemon]\nrecovery_delay = \"2s\"\nrecovery_max_delay = \"10s\"\nstore_retry_budget = \"5s\"\n",
        ))
        .expect("valid");
    let d = &config.daemon;
    assert_eq!(
        (d.recovery_delay, d.recovery_max_delay, d.store_retry_budget),
        (
            std::time::Duration::from_secs(2),
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(5)
        )
    );
}

#[test]
fn vault_auth_method_fields() {
    let dir = Dir::new();
    let (msg, _) = dir.errors(&MINIMAL.replace("token_file = \"vault-token\"", ""));
    assert_contains(
        &msg,
        &["`vault.auth.token_file`: method = \"token\" needs `token_file`"],
    );
    let text = MINIMAL.replace(
        "method = \"token\"",
        "method = \"approle\"\nrole_id_file = \"r\"",
    );
    let (msg, n) = dir.errors(&text);
    assert_eq!(n, 2, "{msg}");
    assert_contains(
        &msg,
        &[
            "`vault.auth.token_file`: only applies to method = \"token\"",
            "needs `secret_id_file`",
        ],
    );
    let (msg, _) = dir.errors(&MINIMAL.replace("method = \"token\"", "method = \"kerberos\""));
    assert_contains(&msg, &["unknown auth method `kerberos`"]);
    let (msg, _) = dir.errors(&MINIMAL.replace("\"vault-token\"", "\"credential:vault-token\""));
    assert_contains(&msg, &["CREDENTIALS_DIRECTORY"]);
}

#[test]
fn timeouts_concurrency_and_vault_paths() {
    let dir = Dir::new();
    let text = format!(
        "{}connect_timeout = \"0s\"\nrequest_timeout = \"30\"\nmax_in_flight = 21\ncredentials = \"/abs\"\n\
         {}max_in_flight = 0\ncredentials = \"instances/c/management\"\n{}",
        instance("a", "https://a.example"),
        instance("b", "https://b.example"),
        instance("c", "https://c.example"),
    );
    let (msg, n) = dir.errors(&with(&text));
    assert_eq!(n, 6, "{msg}");
    assert_contains(
        &msg,
        &[
            "`instance.connect_timeout`: `0s` is out of range; use a duration from \"100ms\" to \"5m\"",
            "`instance.request_timeout`: `30` has no unit",
            "`instance.max_in_flight`: 21 is out of range; use a value from 1 to 20",
            "`instance.max_in_flight`: 0 is out of range",
            "`instance.credentials`: `/abs` is not a valid Vault path",
            "the management credentials of instance `c` would be stored at Vault path `instances/c/management`, which is already used",
        ],
    );
}

#[test]
fn listing_bounds_are_range_checked() {
    let dir = Dir::new();
    let text = format!(
        "{}max_list_objects = 9\nlist_timeout = \"2d\"\n{}max_list_objects = 10000001\nlist_timeout = \"0s\"\n\
         {}max_list_objects = -1\n",
        instance("a", "https://a.example"),
        instance("b", "https://b.example"),
        instance("c", "https://c.example"),
    );
    let (msg, n) = dir.errors(&with(&text));
    assert_eq!(n, 5, "{msg}");
    assert_contains(
        &msg,
        &[
            "`instance.max_list_objects`: 9 is out of range; use a value from 10 to 10000000",
            "`instance.list_timeout`: `2d` is out of range; use a duration from \"1s\" to \"1d\"",
            "`instance.max_list_objects`: 10000001 is out of range",
            "`instance.list_timeout`: `0s` is out of range; use a duration from \"1s\" to \"1d\"",
            "`instance.max_list_objects`: -1 is out of range",
        ],
    );
}

#[test]
fn multiple_errors_are_reported_together() {
    let dir = Dir::new();
    dir.write("roles.toml", "version = 1\n[[client]]\nname = \"c\"\nroles = [\"ghost\"]\nowner = \"o\"\npurpose = \"p\"\n");
    let text = format!(
        "{MINIMAL}\n[daemon]\nsocket_mode = \"0777\"\n\n[defaults.schedules]\naudit = \"every day\"\n\n\
         {}desired = [\"roles.toml\"]\n{}",
        instance("a", "http://jamf.example.com"),
        instance("a", "https://b.example"),
    );
    let errors = dir.load(&text).expect_err("invalid");
    let msg = errors.to_string();
    assert_eq!(errors.len(), 5, "{msg}");
    assert!(msg.starts_with("5 configuration errors:\n  - "), "{msg}");
    assert_contains(
        &msg,
        &[
            "socket_mode",
            "defaults.schedules.audit",
            "plain http",
            "already defined",
            "references role `ghost`",
        ],
    );
    // Every error carries a location, and they come in file order (the config file first).
    let config = dir.path().join("wardend.toml");
    let keys: Vec<_> = errors
        .errors()
        .iter()
        .filter_map(|e| e.location())
        .map(|l| (l.file != config, l.line, l.column))
        .collect();
    assert!(keys.is_sorted(), "{keys:?}");
    for error in errors.errors() {
        let location = error.location().expect("located");
        assert!(location.line > 0, "{error}");
        assert!(matches!(error, ConfigError::Invalid { .. }));
    }
}

#[test]
fn unreadable_config_file() {
    let dir = Dir::new();
    let errors = Config::load_with(&dir.path().join("nope.toml"), &LoadOptions::default())
        .expect_err("missing");
    assert_contains(
        &errors.to_string(),
        &["cannot read", "nope.toml", "check the path"],
    );
}

#[test]
fn max_connections_is_range_checked() {
    let dir = Dir::new();
    for bad in ["3", "65537", "-1", "99999999999"] {
        let (msg, n) = dir.errors(&with(&format!("[daemon]\nmax_connections = {bad}\n")));
        assert_eq!(n, 1, "{msg}");
        assert_contains(
            &msg,
            &[&format!(
                "`daemon.max_connections`: {bad} is out of range; use a value from 4 to 65536"
            )],
        );
    }
    let config = dir.load(&with("")).expect("valid");
    assert_eq!(config.daemon.max_connections, 256);
    let config = dir
        .load(&with("[daemon]\nmax_connections = 4\n"))
        .expect("valid");
    assert_eq!(config.daemon.max_connections, 4);
}

#[test]
fn daemon_id_is_optional_and_path_safe() {
    let dir = Dir::new();
    let config = dir.load(&with("")).expect("valid");
    assert_eq!(config.daemon.id, None, "the implicit id stays the default");
    let config = dir
        .load(&with("[daemon]\nid = \"ops1.example.com-1a2b3c4d\"\n"))
        .expect("valid");
    assert_eq!(
        config.daemon.id.as_deref(),
        Some("ops1.example.com-1a2b3c4d")
    );
    assert!(
        config
            .render_effective()
            .contains("id = \"ops1.example.com-1a2b3c4d\"")
    );
    for bad in ["", "a/b", "..", ".hidden", "with space", &"x".repeat(129)] {
        let (msg, n) = dir.errors(&with(&format!("[daemon]\nid = \"{bad}\"\n")));
        assert_eq!(n, 1, "{msg}");
        assert_contains(&msg, &["`daemon.id`", "letters, digits"]);
    }
}
