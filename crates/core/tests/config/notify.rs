//! `[[notify]]` sinks and `[changelog_forward]`: defaults, every kind, located errors with
//! "did you mean", the effective config loading again, and what a reload sees as changed.

use std::time::Duration;

use warden_core::config::Config;
use warden_core::notify::{EventKind, Severity, SinkKind, SyslogTarget};

use crate::common::{Dir, assert_contains, with};

const INSTANCE: &str = "[[instance]]\nname = \"prod\"\nurl = \"https://prod.jamfcloud.com\"\n";

const SINKS: &str = "[[notify]]\nname = \"siem\"\nkind = \"webhook\"\n\
    url = \"https://alerts.example.com/warden\"\nsecret_file = \"hmac.key\"\n\
    events = [\"drift_appeared\", \"changelog\"]\nmin_severity = \"medium\"\ninstances = [\"prod\"]\n\
    retry_delay = \"1s\"\nmax_attempts = 3\n\n\
    [[notify]]\nname = \"chat\"\nkind = \"slack\"\nurl_file = \"slack.url\"\n\n\
    [[notify]]\nname = \"pager\"\nkind = \"exec\"\ncommand = [\"/usr/local/bin/page\", \"--team\", \"ops\"]\n\
    timeout = \"5s\"\n\n\
    [changelog_forward]\njournald = true\nsyslog = \"udp:logs.example.com:514\"\n";

#[test]
fn every_sink_kind_with_defaults_and_the_effective_config_loads_again() {
    let dir = Dir::new();
    let config = dir.load(&with(INSTANCE)).expect("valid");
    assert!(config.notify.is_empty() && config.changelog_forward.is_off());

    let config = dir
        .load(&with(&format!("{INSTANCE}\n{SINKS}")))
        .expect("valid");
    let [siem, chat, pager] = &config.notify[..] else {
        panic!("{:?}", config.notify)
    };
    assert!(matches!(&siem.kind, SinkKind::Webhook { url, secret_file }
        if url.as_str() == "https://alerts.example.com/warden" && secret_file == &dir.path().join("hmac.key")));
    assert_eq!(
        siem.events,
        [EventKind::DriftAppeared, EventKind::Changelog]
    );
    assert_eq!(siem.min_severity, Severity::Medium);
    assert_eq!(siem.instances, ["prod"]);
    assert_eq!(
        (siem.max_attempts, siem.retry_delay),
        (3, Duration::from_secs(1))
    );
    // defaults: every kind but the change log, all severities and instances
    assert_eq!(chat.events, EventKind::defaults());
    assert_eq!(chat.min_severity, Severity::Info);
    assert!(chat.instances.is_empty());
    assert_eq!((chat.queue, chat.max_attempts), (1000, 8));
    assert!(
        matches!(&pager.kind, SinkKind::Exec { command } if command[0] == "/usr/local/bin/page")
    );
    assert_eq!(pager.timeout, Duration::from_secs(5));
    let f = &config.changelog_forward;
    assert_eq!(
        f.journald.as_deref(),
        Some(std::path::Path::new("/run/systemd/journal/socket"))
    );
    assert_eq!(
        f.syslog,
        Some(SyslogTarget::Udp("logs.example.com:514".into()))
    );

    let effective = config.render_effective();
    let again = dir.load(&effective).expect("effective config loads");
    assert_eq!(again.notify, config.notify);
    assert_eq!(again.changelog_forward, config.changelog_forward);
    assert!(!Config::diff(&config, &again).notify_changed);
    let fewer = dir.load(&with(INSTANCE)).unwrap();
    assert!(Config::diff(&config, &fewer).notify_changed);
}

#[test]
fn every_bad_value_is_reported_with_what_to_do() {
    let dir = Dir::new();
    let text = with(&format!(
        "{INSTANCE}\n[[notify]]\nname = \"a\"\nkind = \"webhok\"\n\n\
         [[notify]]\nname = \"b\"\nkind = \"webhook\"\nurl = \"http://alerts.example.com/x\"\n\
         secret_file = \"k\"\nevents = [\"drift_apeared\"]\nmin_severity = \"urgent\"\n\
         instances = [\"prd\"]\nqueue = 0\ntimeout = \"1h\"\n\n\
         [[notify]]\nname = \"b\"\nkind = \"slack\"\n\n\
         [[notify]]\nname = \"c\"\nkind = \"exec\"\ncommand = [\"page\"]\nurl_file = \"u\"\n\n\
         [changelog_forward]\nsyslog = \"logs.example.com\"\n"
    ));
    let (msg, n) = dir.errors(&text);
    assert_contains(
        &msg,
        &[
            "`notify.kind`: unknown sink kind \"webhok\"; did you mean webhook?",
            "`notify.url`: `http://alerts.example.com/x` uses plain http to a remote host",
            "`notify.events`: unknown event kind \"drift_apeared\"; did you mean drift_appeared?",
            "`notify.min_severity`: unknown severity \"urgent\"",
            "`notify.instances`: no instance named \"prd\" is configured; did you mean prod?",
            "`notify.queue`: 0 is out of range",
            "`notify.timeout`",
            "`notify.name`: a sink named \"b\" is already defined",
            "`notify.url_file`: kind = \"slack\" needs `url_file`",
            "`notify.url_file`: does not apply to kind = \"exec\"; remove it",
            "`notify.command`: must start with the program's absolute path",
            "`changelog_forward.syslog`: `logs.example.com`: write \"unix:/dev/log\"",
        ],
    );
    assert_eq!(n, 12, "{msg}");
    let (msg, _) = dir.errors(&with(
        "[[notify]]\nname = \"x\"\nkind = \"exec\"\ncommand = [\"/bin/true\"]\nshell = true\n",
    ));
    assert_contains(&msg, &["unknown field `shell`"]);
}
