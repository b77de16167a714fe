//! The access review: `review-csv` parsed back with the `csv` crate, `grc-json` validated
//! against `docs/schemas/warden.access-review-1.schema.json`.

use super::*;

fn rows(text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("a valid CSV record"))
        .collect()
}

#[test]
fn review_csv_has_one_row_per_client_with_a_blank_decision() {
    let r = report();
    let text = render(&r, Format::ReviewCsv, true);
    assert!(!text.contains('\x1b'));
    let rows = rows(&text);
    let header: Vec<&str> = rows[0].iter().collect();
    assert_eq!(
        header,
        [
            "instance",
            "client",
            "enabled",
            "owner",
            "purpose",
            "roles",
            "effective_privileges",
            "risky_privileges",
            "secret_age_days",
            "last_rotation",
            "findings",
            "reviewer_decision",
        ]
    );
    let prod = &r.instances[0];
    // One row per prod client, then one saying staging was not audited.
    assert_eq!(rows.len(), 1 + prod.client_privileges.len() + 1);
    for (row, c) in rows[1..].iter().zip(&prod.client_privileges) {
        assert_eq!(&row[0], "prod");
        assert_eq!(row[1], c.name);
        assert_eq!(row[6], c.privileges.len().to_string(), "{}", c.name);
        assert_eq!(&row[11], "", "the reviewer decides");
    }
    let row = |name: &str| {
        rows.iter()
            .find(|r| &r[1] == name)
            .unwrap_or_else(|| panic!("no row for {name}"))
    };
    // Declared: owner and purpose from the desired state; Warden rotated it 10 days before the
    // report, the data was gathered 2 minutes before it.
    let sync = row("Inventory Sync");
    assert_eq!(&sync[3], "it@example.com");
    assert_eq!(&sync[4], "tests");
    assert_eq!(&sync[5], "Inventory");
    assert_eq!(&sync[8], "9");
    assert_eq!(&sync[9], "2026-11-10T09:30:00Z");
    let deploy = row("Deploy CI");
    assert_eq!(&deploy[9], "never");
    assert!(
        deploy[7].contains("Create Policies (code_execution)"),
        "{}",
        &deploy[7]
    );
    assert!(
        deploy[10].contains("JW-EXE-001 high role:Deploy"),
        "{}",
        &deploy[10]
    );
    // Undeclared: said so, its findings (about it and its roles) listed.
    let nightly = row(NIGHTLY);
    assert_eq!(&nightly[3], "undeclared");
    assert_eq!(&nightly[4], "undeclared");
    assert_eq!(&nightly[5], "Deploy; Inventory");
    assert_eq!(&nightly[9], "not managed by Warden");
    assert!(nightly[10].contains("JW-HYG-007 medium client:Deploy\nNightly"));
    assert!(nightly[10].contains("JW-EXE-001 high role:Deploy"));
    let warden = row(WARDEN_MANAGEMENT);
    assert!(warden[10].contains("JW-ESC-001 critical role:Jamf Warden (suppressed)"));
    let staging = rows.last().unwrap();
    assert_eq!(&staging[0], "staging");
    assert!(staging[10].starts_with("instance not audited: cannot reach Jamf Pro"));
}

#[test]
fn grc_json_matches_its_schema_and_lists_every_client_as_a_resource() {
    let r = report();
    let text = render(&r, Format::GrcJson, true);
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let schema = validator(&repo_file(
        "../../docs/schemas/warden.access-review-1.schema.json",
    ));
    assert_eq!(errors(&schema, &doc), Vec::<String>::new());
    assert_eq!(doc["schema"], "warden.access-review/1");
    let resources = doc["resources"].as_array().unwrap();
    let prod = &r.instances[0];
    assert_eq!(resources.len(), prod.client_privileges.len());
    let ids: BTreeSet<&str> = resources
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), resources.len(), "ids are unique");
    let find = |name: &str| {
        resources
            .iter()
            .find(|r| r["display_name"] == name)
            .unwrap()
    };
    let sync = find("Inventory Sync");
    assert_eq!(sync["id"], "prod/Inventory Sync");
    assert_eq!(sync["owner"], "it@example.com");
    assert_eq!(sync["secret_age_days"], 9);
    assert_eq!(sync["secret_last_rotated_at"], "2026-11-10T09:30:00Z");
    let nightly = find(NIGHTLY);
    assert_eq!(nightly["owner"], "undeclared");
    assert_eq!(nightly["declared"], false);
    assert!(nightly.get("secret_age_days").is_none());
    let open = nightly["open_findings"].as_u64().unwrap();
    assert!(open >= 2);
    assert_eq!(nightly["highest_severity"], "high");
    let undeclared = nightly["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "JW-HYG-007")
        .unwrap();
    assert!(
        undeclared["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["framework"] == "cis8" && c["control"] == "5.5")
    );
    // Warden's own client: its escalation finding is an accepted risk, not open.
    let warden = find(WARDEN_MANAGEMENT);
    assert!(
        warden["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["suppressed"] == true)
    );
    assert_eq!(
        doc["instances"][1]["error"],
        "cannot reach Jamf Pro: connection refused"
    );

    // The schema is strict.
    let mut bad = doc.clone();
    bad["resources"][0]["owner"] = "".into();
    assert!(!schema.is_valid(&bad));
    let mut bad = doc;
    bad["resources"][0]["findings"] = serde_json::json!([{"rule": "JW-ESC-001"}]);
    assert!(!schema.is_valid(&bad));
}
