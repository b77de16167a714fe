//! Desired-state files: per-file checks, merging with overrides, role references.

use warden_core::config::check_desired_file;

use crate::common::{Dir, assert_contains, with};

fn instance_with(files: &[&str]) -> String {
    let list: Vec<String> = files.iter().map(|f| format!("\"{f}\"")).collect();
    with(&format!(
        "[[instance]]\nname = \"acme\"\nurl = \"https://acme.example\"\ndesired = [{}]\n",
        list.join(", ")
    ))
}

const ROLE_A: &str =
    "version = 1\n[[role]]\nname = \"Reader\"\nprivileges = [\"Read Computers\"]\n";

#[test]
fn duplicate_role_across_files_needs_override() {
    let dir = Dir::new();
    dir.write("base.toml", ROLE_A);
    dir.write(
        "acme.toml",
        "version = 1\n\n[[role]]\nname = \"Reader\"\nprivileges = [\"Read Mobile Devices\"]\n",
    );
    let (msg, n) = dir.errors(&instance_with(&["base.toml", "acme.toml"]));
    assert_eq!(n, 1, "{msg}");
    let base = dir.path().join("base.toml");
    let acme = dir.path().join("acme.toml");
    assert_contains(
        &msg,
        &[
            &format!("{}:4:8: `role.name`", acme.display()),
            &format!("role `Reader` is already defined at {}:3:8", base.display()),
            "set `override = true` here",
        ],
    );
}

#[test]
fn override_replaces_the_earlier_definition() {
    let dir = Dir::new();
    dir.write("base.toml", ROLE_A);
    dir.write(
        "acme.toml",
        "version = 1\n[[role]]\nname = \"Reader\"\noverride = true\nprivileges = [\"Read Mobile Devices\"]\n",
    );
    let config = dir
        .load(&instance_with(&["base.toml", "acme.toml"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let state = &config.instances[0].desired_state;
    assert_eq!(state.roles.len(), 1);
    assert_eq!(state.roles[0].privileges, ["Read Mobile Devices"]);
    assert_eq!(*state.roles[0].source, *dir.path().join("acme.toml"));

    // `override = true` with nothing to override is a mistake.
    let (msg, _) = dir.errors(&instance_with(&["acme.toml"]));
    assert_contains(
        &msg,
        &[
            "no earlier desired file of this instance defines role `Reader`",
            "remove `override`",
        ],
    );
}

#[test]
fn client_roles_must_exist_or_be_external() {
    let dir = Dir::new();
    let client = "[[client]]\nname = \"Sync\"\nroles = [\"reader\", \"Jamf Reset\"]\nowner = \"o\"\npurpose = \"p\"\n";
    dir.write("a.toml", &format!("{ROLE_A}{client}"));
    let (msg, n) = dir.errors(&instance_with(&["a.toml"]));
    assert_eq!(n, 2, "{msg}");
    assert_contains(
        &msg,
        &[
            "client `Sync` references role `reader` (did you mean `Reader`?)",
            "client `Sync` references role `Jamf Reset`",
            "`external = true`",
        ],
    );
    dir.write(
        "a.toml",
        &format!(
            "{ROLE_A}[[role]]\nname = \"Jamf Reset\"\nexternal = true\n{}",
            client.replace("\"reader\"", "\"Reader\"")
        ),
    );
    let config = dir
        .load(&instance_with(&["a.toml"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let sync = config.instances[0]
        .desired_state
        .client("Sync")
        .expect("client");
    assert_eq!(sync.vault_path, None, "the default is the instance's");
    assert_eq!(sync.vault_path_in("acme"), "instances/acme/clients/sync");
    assert!(sync.enabled);
}

#[test]
fn names_differing_only_by_case_are_flagged() {
    let dir = Dir::new();
    dir.write("a.toml", ROLE_A);
    dir.write(
        "b.toml",
        "version = 1\n[[role]]\nname = \"READER\"\nprivileges = [\"Read Computers\"]\n",
    );
    let (msg, n) = dir.errors(&instance_with(&["a.toml", "b.toml"]));
    assert_eq!(n, 1, "{msg}");
    assert_contains(
        &msg,
        &[
            "role `READER` and role `Reader`",
            "differ only by case",
            "case-insensitively",
        ],
    );
}

#[test]
fn per_file_checks_collect_everything() {
    let dir = Dir::new();
    let path = dir.write(
        "bad.toml",
        r#"version = 1

[[role]]
name = "Empty"

[[role]]
name = "Twice"
privileges = ["Read Computers", "Read Computers"]

[[role]]
name = "Twice"
privileges = ["Read Computers"]

[[role]]
name = "Stub"
external = true
privileges = ["Read Computers"]

[[client]]
name = "C"
roles = []
owner = " "
purpose = "p"
token_lifetime = 0
vault_path = "/abs/path"

[client.rotation]
schedule = "0 3 * *"
max_age = "soon"
"#,
    );
    let errors = check_desired_file(&path).expect_err("invalid");
    let msg = errors.to_string();
    assert_eq!(errors.len(), 10, "{msg}");
    assert_contains(
        &msg,
        &[
            "bad.toml:4:8: `role.privileges`: role `Empty` has no privileges",
            "lists privilege `Read Computers` twice",
            "bad.toml:11:8: `role.name`: role `Twice` is already defined in this file (line 7)",
            "role `Stub` is external",
            "client `C` has no roles",
            "`client.owner`: client `C` needs a non-empty value",
            "`client.token_lifetime`",
            "`client.vault_path`",
            "`client.rotation.schedule`: schedule `0 3 * *` has 4 fields",
            "`client.rotation.max_age`: `soon` is not a duration",
        ],
    );
}

#[test]
fn schema_errors_in_desired_files_name_that_file() {
    let dir = Dir::new();
    let path = dir.write(
        "a.toml",
        "version = 1\n[[role]]\nname = \"R\"\nprivilege = [\"Read Computers\"]\n",
    );
    let (msg, _) = dir.errors(&instance_with(&["a.toml"]));
    assert_contains(
        &msg,
        &[
            &format!("{}:4:1", path.display()),
            "unknown field `privilege`",
        ],
    );
    dir.write("a.toml", "version = 3\n");
    let (msg, _) = dir.errors(&instance_with(&["a.toml"]));
    assert_contains(&msg, &["a.toml:1:11: unsupported version 3"]);
    dir.write(
        "a.toml",
        "[[client]]\nname = \"C\"\nroles = [\"R\"]\nowner = \"o\"\npurpose = \"p\"\n",
    );
    let (msg, _) = dir.errors(&instance_with(&["a.toml"]));
    assert_contains(&msg, &["a.toml: missing `version = 1`"]);
    dir.write(
        "a.toml",
        "version = 1\n[[client]]\nname = \"C\"\nroles = [\"R\"]\nowner = \"o\"\n",
    );
    let (msg, _) = dir.errors(&instance_with(&["a.toml"]));
    assert_contains(&msg, &["missing field `purpose`", "add it"]);
}

#[test]
fn a_shared_file_is_checked_once() {
    let dir = Dir::new();
    dir.write("base.toml", "version = 1\n[[role]]\nname = \"Empty\"\n");
    let text = with(
        "[[instance]]\nname = \"a\"\nurl = \"https://a.example\"\ndesired = [\"base.toml\"]\n\
         [[instance]]\nname = \"b\"\nurl = \"https://b.example\"\ndesired = [\"./base.toml\"]\n",
    );
    let (msg, n) = dir.errors(&text);
    assert_eq!(n, 1, "{msg}");
}

#[test]
fn client_vault_paths_must_not_collide() {
    let dir = Dir::new();
    dir.write(
        "a.toml",
        &format!(
            "{ROLE_A}[[client]]\nname = \"Sync A\"\nroles = [\"Reader\"]\nowner = \"o\"\npurpose = \"p\"\n\
             [[client]]\nname = \"Sync-a\"\nroles = [\"Reader\"]\nowner = \"o\"\npurpose = \"p\"\n"
        ),
    );
    let (msg, n) = dir.errors(&instance_with(&["a.toml"]));
    assert_eq!(n, 1, "{msg}");
    assert_contains(
        &msg,
        &[
            "client `Sync-a`",
            "`instances/acme/clients/sync-a`, which is already used",
        ],
    );
}

#[test]
fn merged_state_renders_as_a_desired_file() {
    let dir = Dir::new();
    dir.write(
        "a.toml",
        &format!("{ROLE_A}[[client]]\nname = \"Sync\"\nroles = [\"Reader\"]\nowner = \"o\"\npurpose = \"p\"\n"),
    );
    let config = dir
        .load(&instance_with(&["a.toml"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let rendered = config.instances[0].desired_state.render();
    assert_contains(
        &rendered,
        &[
            "version = 1",
            "[[role]]",
            "[[client]]",
            "token_lifetime = 300",
            "strategy = \"single\"",
        ],
    );
    // the instance's defaults stay implicit: the file fits any instance
    assert!(!rendered.contains("vault_path"), "{rendered}");
    assert!(!rendered.contains("schedule"), "{rendered}");
    let path = dir.write("rendered.toml", &rendered);
    check_desired_file(&path).unwrap_or_else(|e| panic!("{e}\n{rendered}"));
}

#[test]
fn instances_on_the_same_files_share_one_merged_state() {
    let dir = Dir::new();
    let client =
        "[[client]]\nname = \"Sync\"\nroles = [\"Reader\"]\nowner = \"o\"\npurpose = \"p\"\n";
    let scheduled = "[[client]]\nname = \"Nightly\"\nroles = [\"Reader\"]\nowner = \"o\"\npurpose = \"p\"\n[client.rotation]\nschedule = \"0 3 * * *\"\n";
    dir.write("base.toml", &format!("{ROLE_A}{client}{scheduled}"));
    dir.write(
        "extra.toml",
        "version = 1\n[[role]]\nname = \"Extra\"\nprivileges = [\"Read Users\"]\n",
    );
    let instance = |name: &str, files: &str, tz: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\nurl = \"https://{name}.example\"\ndesired = [{files}]\n{tz}"
        )
    };
    let config = dir
        .load(&with(
            &[
                instance("a", "\"base.toml\"", ""),
                instance("b", "\"base.toml\"", ""),
                instance("c", "\"base.toml\", \"extra.toml\"", ""),
                // a written schedule is read in the instance's time zone: not the same state
                instance(
                    "d",
                    "\"base.toml\"",
                    "[instance.schedules]\ntimezone = \"Europe/Berlin\"\n",
                ),
            ]
            .concat(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let state = |n: usize| &config.instances[n].desired_state;
    assert!(std::sync::Arc::ptr_eq(state(0), state(1)), "a and b share");
    assert!(!std::sync::Arc::ptr_eq(state(0), state(2)), "c has more");
    assert!(
        !std::sync::Arc::ptr_eq(state(0), state(3)),
        "d has another zone"
    );
    // the per-instance parts are filled in where they are used
    let sync = state(1).client("Sync").expect("client");
    assert_eq!(sync.vault_path_in("b"), "instances/b/clients/sync");
    assert_eq!(sync.rotation.schedule, None);
    assert_eq!(
        state(3)
            .client("Nightly")
            .unwrap()
            .rotation
            .schedule
            .as_ref()
            .unwrap()
            .timezone(),
        Some("Europe/Berlin")
    );
}

#[test]
fn a_file_listed_again_after_other_instances_is_still_merged_and_its_errors_reported_once() {
    // Parsed files are released after the last instance that lists them: a file listed by the
    // first and the third instance (spelt differently) must still be there for the third, and
    // a broken file listed twice is reported once.
    let dir = Dir::new();
    dir.write("base.toml", ROLE_A);
    dir.write(
        "extra.toml",
        "version = 1\n[[role]]\nname = \"Extra\"\nprivileges = [\"Read Users\"]\n",
    );
    let instance = |name: &str, files: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\nurl = \"https://{name}.example\"\ndesired = [{files}]\n"
        )
    };
    let good = [
        instance("a", "\"base.toml\""),
        instance("b", "\"extra.toml\""),
        instance("c", "\"./base.toml\""),
    ]
    .concat();
    let config = dir.load(&with(&good)).unwrap_or_else(|e| panic!("{e}"));
    let state = |n: usize| &config.instances[n].desired_state;
    assert_eq!(state(2).roles.len(), 1);
    assert_eq!(state(2).roles[0].name, "Reader");
    assert!(std::sync::Arc::ptr_eq(state(0), state(2)), "a and c share");
    assert_eq!(state(1).roles[0].name, "Extra");

    dir.write(
        "broken.toml",
        "version = 1\n[[role]]\nprivileges = [\"Read Users\"]\n",
    );
    let broken = [
        instance("a", "\"broken.toml\""),
        instance("b", "\"extra.toml\""),
        instance("c", "\"broken.toml\", \"base.toml\""),
    ]
    .concat();
    let (msg, n) = dir.errors(&with(&broken));
    assert_eq!(n, 1, "{msg}");
    assert_contains(&msg, &["broken.toml", "name"]);
}

#[test]
fn adopt_defaults_to_hold_and_unknown_values_are_located() {
    use warden_core::config::AdoptPolicy;
    let dir = Dir::new();
    let client = |rotation: &str| {
        format!(
            "{ROLE_A}[[client]]\nname = \"Sync\"\nroles = [\"Reader\"]\nowner = \"o\"\npurpose = \"p\"\n{rotation}"
        )
    };
    dir.write("default.toml", &client(""));
    let config = dir
        .load(&instance_with(&["default.toml"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let state = &config.instances[0].desired_state;
    assert_eq!(state.clients[0].rotation.adopt, AdoptPolicy::Hold);
    // the effective desired state shows it
    assert_contains(&state.render(), &["adopt = \"hold\""]);

    dir.write(
        "rotate.toml",
        &client("[client.rotation]\nadopt = \"rotate\"\n"),
    );
    let config = dir
        .load(&instance_with(&["rotate.toml"]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.instances[0].desired_state.clients[0].rotation.adopt,
        AdoptPolicy::Rotate
    );

    let bad = dir.write(
        "bad.toml",
        &client("[client.rotation]\nadopt = \"later\"\n"),
    );
    let (msg, _) = dir.errors(&instance_with(&["bad.toml"]));
    assert_contains(
        &msg,
        &[
            &format!("{}:11:9:", bad.display()),
            "unknown variant `later`",
            "hold",
            "rotate",
        ],
    );
}
