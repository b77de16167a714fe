//! JSON (against its schema) and SARIF (against SARIF 2.1.0).

use super::*;

#[test]
fn json_is_the_report_and_matches_its_schema() {
    let r = report();
    let text = render(&r, Format::Json, true);
    assert!(!text.contains('\x1b'), "colour never applies to JSON");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let schema = validator(&repo_file("../../docs/schemas/warden.audit-1.schema.json"));
    assert_eq!(errors(&schema, &doc), Vec::<String>::new());
    let back: AuditReport = serde_json::from_value(doc.clone()).expect("reads back");
    assert_eq!(back, r);

    // The schema is strict: a wrong enum value, a missing field, an unknown field and a bad
    // suppressed_by are refused.
    let mut bad = doc.clone();
    bad["instances"][0]["findings"][0]["severity"] = "severe".into();
    assert!(!schema.is_valid(&bad));
    let mut bad = doc.clone();
    bad.as_object_mut().map(|o| o.remove("rule_pack"));
    assert!(!schema.is_valid(&bad));
    let mut bad = doc.clone();
    bad["summary"]["info"] = 3.into();
    assert!(!schema.is_valid(&bad));
    let mut bad = doc.clone();
    bad["instances"][0]["findings"][0]["suppressed_by"] = (-1).into();
    assert!(!schema.is_valid(&bad));
    let mut bad = doc;
    bad["suppressions"][1]["state"] = "lapsed".into();
    assert!(!schema.is_valid(&bad));
}

#[test]
fn sarif_matches_the_sarif_2_1_0_schema() {
    let r = report();
    let text = render(&r, Format::Sarif, false);
    let log: Value = serde_json::from_str(&text).expect("valid JSON");
    let schema = sarif_validator();
    assert_eq!(errors(&schema, &log), Vec::<String>::new());

    // The validator is not vacuous: an unknown level is refused.
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!schema.is_valid(&bad));

    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .is_some_and(|s| s.ends_with("sarif-schema-2.1.0.json"))
    );
    // one run per instance: prod's findings, then staging, which could not be audited
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), r.instances.len());
    assert_eq!(runs.len(), 2);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "Jamf Warden");
    assert_eq!(driver["version"], "0.1.0");
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), r.rules.len());
    let esc = &rules[0];
    assert_eq!(esc["id"], "JW-ESC-001");
    assert_eq!(esc["name"], "RoleCanEscalatePrivileges");
    assert_eq!(esc["defaultConfiguration"]["level"], "error");
    assert_eq!(esc["properties"]["security-severity"], "9.5");
    assert_eq!(esc["fullDescription"]["text"], r.rules[0].rationale);
    assert_eq!(esc["help"]["text"], r.rules[0].fix);

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), r.findings().count());
    for (result, finding) in results.iter().zip(r.findings()) {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], finding.rule);
        assert_eq!(result["ruleId"], finding.rule);
        assert_eq!(
            result["partialFingerprints"]["wardenFindingKey/v1"],
            finding.key()
        );
        let location = &result["locations"][0]["logicalLocations"][0];
        assert_eq!(
            location["fullyQualifiedName"],
            format!("prod/{}", finding.subject.key())
        );
        assert_eq!(location["kind"], "object");
        let text = result["message"]["text"].as_str().expect("message");
        assert!(
            text.contains(&format!("{:?}", finding.subject.name)),
            "{text}"
        );
        for p in &finding.evidence.privileges {
            assert!(text.contains(p.as_str()), "{text} lacks {p}");
        }
        assert_eq!(
            result["suppressions"].is_array(),
            finding.suppressed_by.is_some()
        );
    }

    let wipe = results
        .iter()
        .find(|x| x["ruleId"] == "JW-DST-001")
        .expect("the wipe role's finding");
    assert_eq!(wipe["level"], "error");
    assert_eq!(
        wipe["properties"]["privileges"][0],
        "Send Computer Remote Wipe Command"
    );
    assert!(
        wipe.get("suppressions").is_none(),
        "an expired suppression hides nothing"
    );
    let expired = results
        .iter()
        .find(|x| x["ruleId"] == "JW-SUP-001")
        .expect("the expired suppression's finding");
    assert_eq!(expired["level"], "warning");
    let escrow = results
        .iter()
        .find(|x| x["ruleId"] == "JW-SEC-001")
        .expect("the escrow finding");
    assert_eq!(escrow["suppressions"][0]["kind"], "external");
    assert_eq!(escrow["suppressions"][0]["status"], "accepted");
    assert_eq!(
        escrow["suppressions"][0]["justification"],
        "escrow is this client's purpose, see ticket SEC-42"
    );
    let long_token = results
        .iter()
        .find(|x| x["ruleId"] == "JW-HYG-003")
        .expect("the long token finding");
    assert_eq!(long_token["level"], "warning");
    let unclassified = results
        .iter()
        .find(|x| x["ruleId"] == "JW-CAT-001")
        .expect("the unclassified finding");
    assert_eq!(unclassified["level"], "note");

    let props = &run["properties"];
    assert_eq!(props["generatedAt"], "2026-11-20T09:30:00Z");
    assert_eq!(props["rulePack"], r.rule_pack);
    let catalogue = r.instances[0].catalogue.as_ref().expect("catalogue");
    assert_eq!(props["instance"]["name"], "prod");
    assert_eq!(props["instance"]["catalogue"]["sha256"], catalogue.sha256);
    assert_eq!(props["instance"]["catalogue"]["size"], catalogue.size);
    assert_eq!(props["instance"]["url"], "https://prod.example.com");
    // the instance's own counts, and the fleet's summary kept on every run
    let open = |sev: Severity| {
        r.instances[0]
            .findings
            .iter()
            .filter(|f| f.severity == sev && f.suppressed_by.is_none())
            .count()
    };
    assert_eq!(props["instance"]["summary"]["high"], open(Severity::High));
    assert_eq!(
        props["instance"]["summary"]["suppressed"],
        r.summary.suppressed
    );
    assert_eq!(props["summary"]["critical"], r.summary.critical);
    assert_eq!(props["summary"]["errors"], 1);
    assert_eq!(props["fleetInstances"], 2);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"],
        serde_json::json!([])
    );
    let staging = &runs[1];
    assert_eq!(staging["results"], serde_json::json!([]));
    assert_eq!(staging["properties"]["instance"]["name"], "staging");
    assert_eq!(staging["properties"]["summary"], props["summary"]);
    assert_eq!(
        staging["tool"], run["tool"],
        "every run lists the rule pack"
    );
    let invocation = &staging["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let note = invocation["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .expect("notification");
    assert!(
        note.contains("staging") && note.contains("connection refused"),
        "{note}"
    );
}

#[test]
fn sarif_names_its_docs_rule_help_and_automation_run() {
    let r = report();
    let log: Value = serde_json::from_str(&render(&r, Format::Sarif, false)).expect("sarif");
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    let repository = env!("CARGO_PKG_REPOSITORY");
    assert!(!repository.is_empty());
    assert_eq!(driver["informationUri"], repository);
    assert_eq!(
        run["automationDetails"]["id"],
        "jamf-warden/audit/prod/2026-11-20T09:30:00Z"
    );
    // every rule's helpUri is an anchor of docs/audit.md, and its help has Markdown
    let docs = std::fs::read_to_string(repo_file("../../docs/audit.md")).expect("docs/audit.md");
    for (rule, info) in driver["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .zip(&r.rules)
    {
        let uri = rule["helpUri"].as_str().expect("helpUri");
        let anchor = uri
            .strip_prefix(&format!("{repository}/blob/main/docs/audit.md#"))
            .unwrap_or_else(|| panic!("{uri} is not in docs/audit.md"));
        assert!(
            docs.contains(&format!("<a id=\"{anchor}\"></a>{}", info.id)),
            "docs/audit.md has no anchor {anchor}"
        );
        let markdown = rule["help"]["markdown"].as_str().expect("help.markdown");
        assert!(markdown.contains(&info.rationale) && markdown.contains(&info.fix));
        assert!(markdown.contains(&format!("]({uri})")), "{markdown}");
        assert_eq!(rule["help"]["text"], info.fix);
    }
}

#[test]
fn each_sarif_run_has_its_own_automation_id_naming_its_instance() {
    let mut r = report();
    // a third instance, audited: three runs, three categories of the same report time
    let mut third = r.instances[0].clone();
    third.instance = "eu-west".into();
    for f in &mut third.findings {
        f.instance = "eu-west".into();
    }
    r.instances.push(third);
    let log: Value = serde_json::from_str(&render(&r, Format::Sarif, false)).expect("sarif");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    let ids: Vec<&str> = runs
        .iter()
        .map(|run| run["automationDetails"]["id"].as_str().expect("an id"))
        .collect();
    let distinct: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    for (run, inst) in runs.iter().zip(&r.instances) {
        let id = run["automationDetails"]["id"].as_str().expect("an id");
        assert_eq!(
            id,
            format!("jamf-warden/audit/{}/2026-11-20T09:30:00Z", inst.instance)
        );
        assert_eq!(
            run["properties"]["instance"]["name"],
            inst.instance.as_str()
        );
        // a run's results are its instance's findings, and only those
        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), inst.findings.len());
        assert!(
            results
                .iter()
                .all(|x| x["properties"]["instance"] == inst.instance.as_str()),
            "{id}"
        );
    }
    assert_eq!(errors(&sarif_validator(), &log), Vec::<String>::new());
}

/// `sarif` of sarif-tools: `WARDEN_SARIF_BIN`, else `.venv/bin/sarif` installed by
/// `scripts/install-sarif-tools.sh`. Missing: a failure under CI, else `None` (the caller
/// skips, said on stderr).
fn sarif_tools() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WARDEN_SARIF_BIN") {
        return Some(PathBuf::from(p));
    }
    let script = repo_file("../../scripts/install-sarif-tools.sh");
    let installed = std::process::Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output();
    if let Ok(out) = &installed
        && out.status.success()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if path.is_file() {
            return Some(path);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "sarif-tools is missing and {} could not install it ({installed:?}); check access to PyPI",
            script.display()
        );
    }
    eprintln!("SKIPPED: sarif-tools is not installed (scripts/install-sarif-tools.sh failed)");
    None
}

#[test]
fn sarif_tools_counts_exactly_the_unsuppressed_findings_by_level() {
    let Some(sarif) = sarif_tools() else { return };
    let r = report();
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("audit.sarif");
    std::fs::write(&file, render(&r, Format::Sarif, false)).expect("written");
    // sarif-tools counts every result unless told to leave suppressed ones out: the filter
    // Warden documents for it (docs/audit.md)
    let filter = repo_file("../../docs/sarif/open-findings.yaml");
    let summary = |filtered: bool| {
        let mut cmd = std::process::Command::new(&sarif);
        cmd.arg("summary");
        if filtered {
            cmd.arg("--filter").arg(&filter);
        }
        let out = cmd.arg(&file).output().expect("sarif runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let unfiltered = summary(false);
    let total = |text: &str| -> usize {
        ["error", "warning", "note"]
            .iter()
            .filter_map(|level| {
                text.lines()
                    .find_map(|l| l.trim().strip_prefix(&format!("{level}: ")))
                    .map(|n| n.trim().parse::<usize>().expect("a count"))
            })
            .sum()
    };
    assert_eq!(total(&unfiltered), r.findings().count(), "{unfiltered}");
    let text = summary(true);
    // sarif-tools prints `LEVEL: N` per level it found
    let count = |level: &str| -> usize {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{level}: ")))
            .map_or(0, |n| n.trim().parse().expect("a count"))
    };
    let s = &r.summary;
    let expected = [
        ("error", s.critical + s.high),
        ("warning", s.medium),
        ("note", s.low),
    ];
    for (level, n) in expected {
        assert_eq!(count(level), n, "{level} in:\n{text}");
    }
    assert!(
        s.suppressed > 0,
        "the fixture has suppressed findings, left uncounted"
    );
}
