//! `--framework`: the report grouped by control, and the control references in the report.

use std::collections::BTreeSet;

use super::report;
use crate::audit::compliance::{Status, by_control, render_json, render_markdown, render_text};
use crate::audit::{ControlMapping, Framework};

#[test]
fn every_rule_of_the_report_carries_its_control_references() {
    let r = report();
    assert!(r.control_mapping.is_some());
    for rule in &r.rules {
        assert!(
            !rule.controls.is_empty(),
            "{} has no control reference",
            rule.id
        );
    }
    let esc = r.controls_of("JW-ESC-001");
    assert!(
        esc.iter()
            .any(|c| c.framework == Framework::Cis8 && c.control == "5.4")
    );
    assert!(
        esc.iter()
            .any(|c| c.framework == Framework::Soc2 && c.control == "CC6.1")
    );
}

#[test]
fn controls_fail_exactly_where_an_unsuppressed_finding_of_their_rules_exists() {
    let r = report();
    let prod = &r.instances[0];
    for fw in Framework::ALL {
        let c = by_control(&r, fw);
        let listed = ControlMapping::builtin()
            .framework(fw)
            .unwrap()
            .controls
            .len();
        assert_eq!(c.controls.len(), listed, "{fw}");
        assert_eq!(
            c.passing + c.failing,
            listed,
            "{fw}: one instance is audited"
        );
        for control in &c.controls {
            let open: BTreeSet<String> = prod
                .findings
                .iter()
                .filter(|f| f.suppressed_by.is_none() && control.rules.contains(&f.rule))
                .map(|f| f.key())
                .collect();
            let expected = if open.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            };
            assert_eq!(control.status, expected, "{fw} {}", control.id);
            let p = &control.instances[0];
            assert_eq!(p.instance, "prod");
            assert_eq!(p.status, expected);
            // The evidence: when the data was gathered and against which catalogue.
            assert_eq!(p.gathered_at, prod.checked_at);
            assert_eq!(
                p.catalogue_sha256.as_deref(),
                prod.catalogue.as_ref().map(|c| c.sha256.as_str())
            );
            let shown: BTreeSet<String> = p
                .findings
                .iter()
                .filter(|f| !f.suppressed)
                .map(|f| f.key.clone())
                .collect();
            assert_eq!(shown, open, "{fw} {}", control.id);
            let staging = &control.instances[1];
            assert_eq!(staging.status, Status::NotAssessed);
            assert!(staging.error.is_some());
        }
    }
}

#[test]
fn a_control_without_failing_finding_passes_with_its_evidence() {
    let r = report();
    let c = by_control(&r, Framework::Soc2);
    // The fixture has no drift: nothing evidences a failure of CC7.2 (monitoring).
    let cc72 = c.controls.iter().find(|c| c.id == "CC7.2").unwrap();
    assert_eq!(cc72.status, Status::Pass);
    assert_eq!(cc72.rules, vec!["JW-HYG-009".to_owned()]);
    assert!(cc72.instances[0].gathered_at.is_some());
    // Escalation is found in the fixture: CC6.1 fails.
    let cc61 = c.controls.iter().find(|c| c.id == "CC6.1").unwrap();
    assert_eq!(cc61.status, Status::Fail);
    let text = render_text(&c);
    assert!(text.contains("PASS CC7.2"), "{text}");
    assert!(text.contains("FAIL CC6.1"), "{text}");
    assert!(text.contains(&format!("rule pack {}", r.rule_pack)));
    assert!(text.contains("prod: pass (gathered 2026-"), "{text}");
    assert!(text.contains("staging: not assessed"), "{text}");
    let md = render_markdown(&c);
    assert!(md.contains("| CC7.2 | "), "{md}");
    assert!(
        md.contains("| pass | prod | pass | JW-HYG-009 | 0 | gathered "),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&render_json(&c)).unwrap();
    assert_eq!(json["schema"], "warden.compliance/1");
    assert_eq!(json["framework"], "soc2");
    let back: crate::audit::compliance::ComplianceReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);
}

#[test]
fn each_finding_shows_its_controls_in_the_table_markdown_and_html() {
    use crate::audit::render::{Format, controls_line, render};

    let r = report();
    // compact, framework by framework, in the mapping's order (docs/audit.md's example)
    assert_eq!(
        controls_line(&r, "JW-DST-001"),
        "SOC2 CC6.3 · ISO 8.2 · NIST AC-6, AC-6(5) · CIS 6.8"
    );
    assert_eq!(controls_line(&r, "JW-NOPE-001"), "");
    let docs = std::fs::read_to_string(super::repo_file("../../docs/audit.md")).expect("docs");
    assert!(docs.contains("SOC2 CC6.3 · ISO 8.2 · NIST AC-6, AC-6(5) · CIS 6.8"));

    let open: Vec<_> = r.findings().filter(|f| f.suppressed_by.is_none()).collect();
    assert!(!open.is_empty());

    // HTML: every finding's article has its line
    let html = render(&r, Format::Html, false);
    let doc = scraper::Html::parse_document(&html);
    let select = |css: &str| scraper::Selector::parse(css).expect("a valid selector");
    let lines: Vec<String> = doc
        .select(&select("article.finding dd.controls"))
        .map(|d| d.text().collect())
        .collect();
    let articles = doc.select(&select("article.finding")).count();
    assert_eq!((lines.len(), articles), (open.len(), open.len()));
    for line in &lines {
        assert!(line.starts_with("SOC2 "), "{line}");
    }

    // Markdown: one `Controls` item per finding, after the finding's heading
    let md = render(&r, Format::Markdown, false);
    for f in &open {
        let line = format!("- **Controls:** {}", controls_line(&r, &f.rule));
        assert!(md.contains(&line), "{} lacks {line}", f.key());
    }
    assert_eq!(md.matches("- **Controls:** ").count(), open.len());

    // The table: a `controls:` line under each row, within 100 columns
    let table = render(&r, Format::Table, false);
    let rows: Vec<&str> = table.lines().collect();
    let controls: Vec<&str> = rows
        .iter()
        .copied()
        .filter(|l| l.trim_start().starts_with("controls: "))
        .collect();
    assert_eq!(controls.len(), open.len());
    for l in &controls {
        assert!(l.chars().count() <= 100, "too wide: {l:?}");
        assert!(l.starts_with("            controls: SOC2 "), "{l:?}");
    }
    let wipe = rows
        .iter()
        .position(|l| l.contains("JW-DST-001  role"))
        .expect("the wipe row");
    assert_eq!(
        rows[wipe + 2],
        "            controls: SOC2 CC6.3 · ISO 8.2 · NIST AC-6, AC-6(5) · CIS 6.8"
    );
}
