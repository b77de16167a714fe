//! HTML, CSV, Markdown and the terminal table.

use super::*;

#[test]
fn html_is_self_contained_escaped_and_complete() {
    let r = report();
    let text = render(&r, Format::Html, true);
    assert!(text.starts_with("<!DOCTYPE html>\n"));
    assert!(!text.contains('\x1b'));
    let lower = text.to_lowercase();
    for banned in [
        "<script",
        "src=",
        "<link",
        "<img",
        "<iframe",
        "url(",
        "@import",
        "javascript:",
    ] {
        assert!(!lower.contains(banned), "the HTML contains {banned}");
    }
    assert!(text.contains("@media print"));

    let doc = scraper::Html::parse_document(&text);
    assert!(doc.errors.is_empty(), "parse errors: {:?}", doc.errors);
    let select = |css: &str| scraper::Selector::parse(css).expect("a valid selector");
    assert_eq!(doc.select(&select("[src], script, link")).count(), 0);
    // The only links are the table of contents' and the fleet table's, to sections of the
    // document itself: each names an id the document has.
    let ids: BTreeSet<&str> = doc
        .select(&select("[id]"))
        .filter_map(|e| e.value().attr("id"))
        .collect();
    let links: Vec<&str> = doc
        .select(&select("[href]"))
        .filter_map(|e| e.value().attr("href"))
        .collect();
    assert!(!links.is_empty());
    for href in links {
        let target = href
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{href} leaves the document"));
        assert!(ids.contains(target), "{href} names no element");
    }
    assert_eq!(doc.select(&select("style")).count(), 1);
    // The escrow role's name is text, not markup.
    assert_eq!(doc.select(&select("body b")).count(), 0);
    let body_text: String = doc.select(&select("body")).flat_map(|b| b.text()).collect();
    assert!(body_text.contains(ESCROW_ROLE));
    assert!(body_text.contains(OLD_ROLE));

    // Every unsuppressed finding is an article holding its exact privileges.
    let articles: Vec<_> = doc.select(&select("article.finding")).collect();
    // In report order: instances, then severities, most severe first.
    let shown: Vec<_> = r
        .instances
        .iter()
        .flat_map(crate::audit::render::by_severity)
        .flat_map(|(_, list)| list)
        .collect();
    assert_eq!(shown.len(), r.summary.total());
    assert_eq!(articles.len(), shown.len());
    for (article, finding) in articles.iter().zip(&shown) {
        let items: Vec<String> = article
            .select(&select("dd ul.items li"))
            .map(|li| li.text().collect())
            .collect();
        for p in &finding.evidence.privileges {
            assert!(items.iter().any(|i| i == p), "{} lacks {p}", finding.key());
        }
        let text: String = article.text().collect();
        assert!(text.contains(&finding.rule) && text.contains(&finding.fix));
    }
    // The evidence: versions, time, each instance's URL and catalogue.
    let catalogue = r.instances[0].catalogue.as_ref().expect("catalogue");
    for needle in [
        "2026-11-20T09:30:00Z",
        "0.1.0",
        r.rule_pack.as_str(),
        r.risk_catalogue.as_str(),
        "https://prod.example.com",
        "https://staging.example.com",
        catalogue.sha256.as_str(),
        "not audited: cannot reach Jamf Pro: connection refused",
    ] {
        assert!(body_text.contains(needle), "the HTML lacks {needle}");
    }
    // Every suppression is listed, the built-in and the expired one included.
    let rows: Vec<String> = doc
        .select(&select("#suppressions tbody tr"))
        .map(|tr| tr.text().collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].contains("built-in") && rows[0].contains(WARDEN_MANAGEMENT));
    assert!(rows[2].contains("expired") && rows[2].contains("2026-10-31"));
    // Each client's effective privileges.
    let clients: Vec<String> = doc
        .select(&select("div.client h4"))
        .map(|h| h.text().collect())
        .collect();
    assert_eq!(clients.len(), 5);
    assert!(
        clients.contains(&"Deploy Nightly".to_owned()),
        "{clients:?}"
    );
}

#[test]
fn csv_parses_back_one_row_per_finding() {
    let r = report();
    let text = render(&r, Format::Csv, true);
    assert!(text.ends_with("\r\n"));
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, crate::audit::render::csv::COLUMNS);
    let rows: Vec<::csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every row parses");
    let findings: Vec<_> = r.findings().collect();
    assert_eq!(rows.len(), findings.len());
    for (row, f) in rows.iter().zip(&findings) {
        assert_eq!(row.len(), crate::audit::render::csv::COLUMNS.len());
        assert_eq!(&row[0], "prod");
        assert_eq!(&row[1], "https://prod.example.com");
        assert_eq!(&row[2], f.rule);
        assert_eq!(&row[3], f.severity.as_str());
        assert_eq!(&row[5], f.subject.kind.as_str());
        assert_eq!(&row[7], f.evidence.privileges.join("; "));
        assert_eq!(
            &row[10],
            if f.suppressed_by.is_some() {
                "true"
            } else {
                "false"
            }
        );
        assert_eq!(&row[12], f.fix);
        let controls = &row[crate::audit::render::csv::COLUMNS.len() - 1];
        let expected: Vec<String> = r
            .controls_of(&f.rule)
            .iter()
            .map(|c| format!("{}:{}", c.framework, c.control))
            .collect();
        assert_eq!(controls, expected.join("; "), "{}", f.rule);
    }
    assert!(
        rows.iter()
            .any(|row| row[crate::audit::render::csv::COLUMNS.len() - 1].contains("soc2:CC6")),
        "the controls column carries the mapping"
    );
    // Names with a comma, quotes or a newline come back whole; one starting with `=` is
    // defused for spreadsheets.
    let subject = |rule: &str| -> String {
        rows.iter()
            .find(|row| &row[2] == rule)
            .map(|row| row[6].to_owned())
            .unwrap_or_default()
    };
    assert_eq!(subject("JW-DST-001"), format!("'{OLD_ROLE}"));
    assert_eq!(subject("JW-HYG-002"), NIGHTLY);
    assert_eq!(subject("JW-HYG-003"), "Escrow | Bot");
    let shared = rows
        .iter()
        .find(|row| &row[2] == "JW-HYG-001")
        .expect("the shared role");
    assert_eq!(&shared[8], format!("Deploy CI; {NIGHTLY}"));
    // Suppressed rows say so and why.
    let suppressed: Vec<_> = rows.iter().filter(|row| &row[10] == "true").collect();
    assert_eq!(suppressed.len(), r.summary.suppressed);
    assert!(suppressed.iter().all(|row| !row[11].is_empty()));
    // ... with the suppression's owner and, for a configured one, its expiry; every row has
    // the finding's stable key
    let col = |name: &str| header.iter().position(|h| h == name).expect("a column");
    for (row, f) in rows.iter().zip(&findings) {
        assert_eq!(&row[col("key")], f.key());
        let s = f.suppressed_by.map(|i| &r.suppressions[i]);
        assert_eq!(
            &row[col("suppression_owner")],
            s.map_or("", |s| s.owner.as_str())
        );
        assert_eq!(
            row[col("suppression_expires")].to_owned(),
            s.and_then(|s| s.expires)
                .map_or_else(String::new, |d| d.to_string())
        );
    }
    assert!(
        rows.iter()
            .any(|row| &row[col("suppression_expires")] == "2027-03-31"),
        "the configured suppression's expiry is shown"
    );
    assert!(
        text.contains(",\"'=Old, \"\"Wipe\"\"\","),
        "quoted as RFC 4180 says"
    );
}

#[test]
fn markdown_matches_its_snapshot() {
    let r = report();
    let text = render(&r, Format::Markdown, true);
    let path = repo_file("tests/snapshots/audit.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).expect("write the snapshot");
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert!(
        text == expected,
        "the Markdown differs from {}; if the change is intended, rerun with UPDATE_SNAPSHOTS=1 \
         and review the diff\n--- rendered ---\n{text}",
        path.display()
    );
    // What a reviewer relies on, checked outright as well.
    assert!(text.contains("| High | 2 |"));
    assert!(text.contains("## Instance prod"));
    assert!(
        text.contains("Escrow \\<b\\>\\&\\</b\\>"),
        "HTML in names is escaped"
    );
    assert!(
        text.contains("Escrow \\| Bot"),
        "pipes in names are escaped"
    );
    assert!(
        text.contains("Deploy Nightly"),
        "newlines in names become spaces"
    );
    assert!(text.contains("\\[\\[audit.classify\\]\\]"));
    assert!(text.contains("- **Privileges (1):** Send Computer Remote Wipe Command"));
    assert!(text.contains("**Not audited:** cannot reach Jamf Pro: connection refused"));
    assert!(text.contains("expired: no longer suppresses, reported as JW-SUP-001"));
    let catalogue = r.instances[0].catalogue.as_ref().expect("catalogue");
    assert!(text.contains(&format!("`{}`", catalogue.sha256)));
}

#[test]
fn table_fits_100_columns_and_colours_only_when_asked() {
    let r = report();
    let plain = render(&r, Format::Table, false);
    assert!(!plain.contains('\x1b'), "{plain}");
    for line in plain.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line:?}");
    }
    let mut lines = plain.lines();
    assert_eq!(
        lines.next(),
        Some(
            "0 critical, 2 high, 5 medium, 5 low (12 finding(s)); 2 suppressed; 1 instance(s) not audited"
        )
    );
    assert!(plain.contains("\n  SEVERITY  RULE        SUBJECT"));
    assert!(plain.contains("2 suppressed finding(s) not shown"));
    assert!(plain.contains("  not audited: cannot reach Jamf Pro: connection refused"));
    // A row, then its exact privileges under it.
    let rows: Vec<&str> = plain.lines().collect();
    let wipe = rows
        .iter()
        .position(|l| l.contains("JW-DST-001  role"))
        .expect("the wipe row");
    assert!(
        rows[wipe].starts_with("  high      JW-DST-001  role =Old, \"Wipe\""),
        "{}",
        rows[wipe]
    );
    assert!(rows[wipe].ends_with("Role can wipe, lock or unmanage devices"));
    assert_eq!(
        rows[wipe + 1],
        "            privileges: Send Computer Remote Wipe Command"
    );
    assert!(plain.contains("\n            privileges: Create Policies, Update Scripts\n"));
    // Suppressed findings are counted, not listed.
    assert!(!plain.lines().any(|l| l.contains("JW-SEC-001")));
    // A newline in a name does not break a row.
    assert!(plain.contains("client Deploy Nightly"));

    let colored = render(&r, Format::Table, true);
    assert!(colored.contains("\x1b[31mhigh    \x1b[0m"), "{colored}");
    assert!(colored.contains("\x1b[33mmedium  \x1b[0m"));
    assert!(colored.contains("\x1b[36mlow     \x1b[0m"));
    // Without the escape codes it is the same text.
    let stripped = strip_ansi(&colored);
    assert_eq!(stripped, plain);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn owner_and_purpose_show_next_to_client_findings_in_every_format() {
    let r = report();
    let prod = &r.instances[0];
    let deploy = prod.client("Deploy CI").expect("Deploy CI is live");
    assert_eq!(deploy.owner.as_deref(), Some(DEPLOY_OWNER));
    assert_eq!(deploy.purpose.as_deref(), Some(DEPLOY_PURPOSE));
    let bot = prod.client("Escrow | Bot").expect("the bot is live");
    assert_eq!(
        (bot.owner.as_deref(), bot.owner_label()),
        (None, "undeclared")
    );

    // JSON: declared clients carry both, undeclared ones neither
    let json: Value = serde_json::from_str(&render(&r, Format::Json, false)).expect("json");
    let views = json["instances"][0]["client_privileges"]
        .as_array()
        .expect("client views");
    let view = |name: &str| views.iter().find(|c| c["name"] == name).expect("a client");
    assert_eq!(view("Deploy CI")["owner"], DEPLOY_OWNER);
    assert_eq!(view("Deploy CI")["purpose"], DEPLOY_PURPOSE);
    assert!(view("Escrow | Bot").get("owner").is_none());

    // CSV: a client finding's row names its client's owner and purpose; a role's does not
    let text = render(&r, Format::Csv, false);
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect("a column");
    let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    let row = |rule: &str, subject: &str| {
        rows.iter()
            .find(|row| &row[col("rule")] == rule && &row[col("subject")] == subject)
            .unwrap_or_else(|| panic!("a {rule} row for {subject}"))
    };
    let stale = row("JW-HYG-008", "Deploy CI");
    assert_eq!(&stale[col("owner")], DEPLOY_OWNER);
    assert_eq!(&stale[col("purpose")], DEPLOY_PURPOSE);
    let undeclared = row("JW-HYG-007", "Escrow | Bot");
    assert_eq!(&undeclared[col("owner")], "undeclared");
    assert_eq!(&undeclared[col("purpose")], "undeclared");
    assert_eq!(&row("JW-EXE-001", "Deploy")[col("owner")], "");

    // SARIF: in the result's properties
    let sarif: Value = serde_json::from_str(&render(&r, Format::Sarif, false)).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let result = |rule: &str, subject: &str| {
        results
            .iter()
            .find(|x| x["ruleId"] == rule && x["properties"]["subject"] == subject)
            .unwrap_or_else(|| panic!("a {rule} result for {subject}"))
    };
    assert_eq!(
        result("JW-HYG-008", "Deploy CI")["properties"]["owner"],
        DEPLOY_OWNER
    );
    assert_eq!(
        result("JW-HYG-007", "Escrow | Bot")["properties"]["purpose"],
        "undeclared"
    );
    assert!(
        result("JW-EXE-001", "Deploy")["properties"]
            .get("owner")
            .is_none()
    );

    // Human formats: next to the finding and in the client's section
    let markdown = render(&r, Format::Markdown, false);
    assert!(markdown.contains(&format!(
        "- **Owner:** {DEPLOY_OWNER} · **Purpose:** {DEPLOY_PURPOSE}"
    )));
    assert!(markdown.contains("- **Owner:** undeclared · **Purpose:** undeclared"));
    let html = render(&r, Format::Html, false);
    assert!(html.contains(&format!("<dt>Owner</dt><dd>{DEPLOY_OWNER}</dd>")));
    assert!(html.contains("<dt>Purpose</dt><dd>undeclared</dd>"));
    let table = render(&r, Format::Table, false);
    assert!(table.contains(&format!(
        "owner: {DEPLOY_OWNER} · purpose: {DEPLOY_PURPOSE}"
    )));
    assert!(table.contains("owner: undeclared · purpose: undeclared"));
}

#[test]
fn managed_secrets_show_in_every_format() {
    let r = report();
    let json: Value = serde_json::from_str(&render(&r, Format::Json, false)).expect("json");
    let views = json["instances"][0]["client_privileges"]
        .as_array()
        .expect("client views");
    let view = |name: &str| views.iter().find(|c| c["name"] == name).expect("a client");
    let inventory = &view("Inventory Sync")["secret"];
    assert_eq!(inventory["age_days"], 10);
    assert_eq!(inventory["verified"], true);
    assert_eq!(inventory["strategy"], "single");
    assert_eq!(inventory["next_due"], "2027-02-08T09:30:00Z");
    assert_eq!(view("Deploy CI")["secret"]["strategy"], "alternating");
    assert!(view("Escrow | Bot").get("secret").is_none(), "not managed");

    // CSV and SARIF: on the findings about the client
    let text = render(&r, Format::Csv, false);
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect("a column");
    let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    let stale = rows
        .iter()
        .find(|row| &row[col("rule")] == "JW-HYG-008")
        .expect("Deploy CI's stale secret");
    assert_eq!(&stale[col("secret_strategy")], "alternating");
    assert_eq!(&stale[col("secret_state")], "managed");
    assert_eq!(&stale[col("secret_stale_scope")], "false");
    assert_eq!(&stale[col("secret_verified")], "", "never rotated");
    assert_eq!(&stale[col("secret_age_days")], "");
    let undeclared = rows
        .iter()
        .find(|row| &row[col("rule")] == "JW-HYG-007")
        .expect("an undeclared client");
    assert_eq!(&undeclared[col("secret_strategy")], "");
    let sarif: Value = serde_json::from_str(&render(&r, Format::Sarif, false)).expect("sarif");
    let result = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|x| x["ruleId"] == "JW-HYG-008")
        .expect("the stale secret");
    assert_eq!(result["properties"]["secret"]["strategy"], "alternating");

    // the human formats: one line per managed client
    let line = "single; rotated 2026-11-10 (10 days, verified); due 2027-02-08; managed";
    let table = render(&r, Format::Table, false);
    assert!(table.contains("MANAGED SECRETS"), "{table}");
    assert!(
        table.contains(&format!("Inventory Sync: {line}")),
        "{table}"
    );
    assert!(render(&r, Format::Markdown, false).contains(&format!("- **Secret:** {line}")));
    assert!(render(&r, Format::Html, false).contains(&format!("<dt>Secret</dt><dd>{line}</dd>")));
}

#[test]
fn human_formats_open_with_the_fleet_matrix_and_counts_per_rule() {
    let r = report();
    let s = &r.summary;
    let prod_row = format!(
        "| prod | {} | {} | {} | {} | {} |",
        s.critical, s.high, s.medium, s.low, s.suppressed
    );
    let fleet = "2 instance(s): 1 audited, 1 not audited; 5 client(s): 2 managed by Warden, \
                 3 not declared";
    let open = |rule: &str| {
        r.findings()
            .filter(|f| f.rule == rule && f.suppressed_by.is_none())
            .count()
    };
    assert_eq!(open("JW-HYG-007"), 2);

    let markdown = render(&r, Format::Markdown, false);
    let at = |needle: &str| markdown.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("## Fleet") < at("## Evidence"), "at the top");
    assert!(markdown.contains(&format!("{fleet}.")), "{markdown}");
    assert!(markdown.contains(&prod_row), "{markdown}");
    assert!(markdown.contains("| staging | not audited |"));
    assert!(
        markdown
            .contains("| JW-HYG-007 | medium | Client not declared in the desired state | 2 | 0 |")
    );
    assert!(markdown.contains("| JW-SEC-001 | high | Role can read device secrets | 0 | 1 |"));
    let section = &markdown[at("## Fleet")..at("## Evidence")];
    assert!(
        !section.contains("JW-HYG-004"),
        "rules without findings are left out"
    );

    let html = render(&r, Format::Html, false);
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).expect("a selector");
    let cells: Vec<Vec<String>> = doc
        .select(&sel("#fleet table.matrix tbody tr"))
        .map(|tr| {
            tr.select(&sel("td"))
                .map(|td| td.text().collect())
                .collect()
        })
        .collect();
    let counts = [s.critical, s.high, s.medium, s.low, s.suppressed].map(|n| n.to_string());
    let mut prod = vec!["prod".to_owned()];
    prod.extend(counts);
    assert_eq!(
        cells,
        vec![prod, vec!["staging".into(), "not audited".into()]]
    );
    assert!(html.find("id=\"fleet\"") < html.find("id=\"evidence\""));

    let table = render(&r, Format::Table, false);
    assert!(table.contains(fleet), "{table}");
    assert!(
        table.contains("INSTANCE  CRITICAL  HIGH  MEDIUM  LOW  SUPPRESSED"),
        "{table}"
    );
    let row = format!(
        "prod      {:>8}  {:>4}  {:>6}  {:>3}  {:>10}",
        s.critical, s.high, s.medium, s.low, s.suppressed
    );
    assert!(table.contains(&row), "{table}");
    assert!(table.contains("staging   not audited"), "{table}");
    assert!(table.contains("JW-HYG-007 2"), "{table}");
    assert!(
        !table.contains("JW-SEC-001"),
        "only suppressed: counted in the matrix"
    );
    assert!(
        table.find("INSTANCE") < table.find("prod  https://"),
        "before the instances"
    );
}

#[test]
fn every_format_shows_what_changed_since_the_last_audit_the_trend_and_when_data_was_gathered() {
    let r = report();
    let gathered =
        "Data gathered 2026-11-20T09:28:00Z by the scheduled audit (--last), not when generated";
    let since = "1 new, 1 resolved since the audit of 2026-11-19T09:30:00Z";

    let table = render(&r, Format::Table, false);
    assert!(table.contains(gathered), "{table}");
    assert!(table.contains(&format!("  {since}\n")), "{table}");
    assert!(
        table.contains("  trend (crit/high/med/low): 11-18 0/3/4/5, 11-20 0/2/5/5\n"),
        "{table}"
    );

    let markdown = render(&r, Format::Markdown, false);
    assert!(markdown.contains(&format!(
        "- **{}**",
        super::super::markdown::escape(gathered)
    )));
    assert!(markdown.contains(&format!("### Since the last audit\n\n{since}.\n")));
    assert!(markdown.contains("- **New (1):** JW-HYG-007/prod/client:Escrow \\| Bot"));
    assert!(markdown.contains("- **Resolved (1):** JW-HYG-004/prod/client:Gone"));
    assert!(markdown.contains("(the last 2 of 2 kept)"));
    assert!(markdown.contains("| 2026-11-18T09:30:00Z | 0 | 3 | 4 | 5 | 2 |"));

    let html = render(&r, Format::Html, false);
    assert!(html.contains(&format!("<strong>{gathered}</strong>")));
    assert!(html.contains("<dt>New (1)</dt>"));
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).expect("a selector");
    let rows: Vec<String> = doc
        .select(&sel("table.trend tbody tr"))
        .map(|tr| tr.text().collect::<Vec<_>>().join("|"))
        .collect();
    assert_eq!(rows[0], "2026-11-18T09:30:00Z|0|3|4|5|2");
    assert_eq!(rows.len(), 2);

    // CSV: whether each unsuppressed finding is new; SARIF: its baseline state
    let text = render(&r, Format::Csv, false);
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect("a column");
    for row in reader.records().map(|r| r.expect("a row")) {
        let expected = if &row[col("suppressed")] == "true" {
            ""
        } else if &row[col("key")] == NEW_KEY {
            "true"
        } else {
            "false"
        };
        assert_eq!(&row[col("new_since_last")], expected, "{row:?}");
    }
    let sarif: Value = serde_json::from_str(&render(&r, Format::Sarif, false)).expect("sarif");
    let run = &sarif["runs"][0];
    assert_eq!(run["properties"]["gatheredAt"], "2026-11-20T09:28:00Z");
    for result in run["results"].as_array().expect("results") {
        let key = &result["partialFingerprints"]["wardenFindingKey/v1"];
        let expected = if result.get("suppressions").is_some() {
            Value::Null
        } else if key == NEW_KEY {
            "new".into()
        } else {
            "unchanged".into()
        };
        assert_eq!(
            result.get("baselineState").cloned().unwrap_or(Value::Null),
            expected
        );
    }
    assert_eq!(
        run["properties"]["instance"]["sinceLast"]["resolved"][0],
        RESOLVED_KEY
    );
}
