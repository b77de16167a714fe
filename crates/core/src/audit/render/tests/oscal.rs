//! `oscal`: validated against NIST's OSCAL 1.1.1 assessment-results JSON schema (vendored in
//! `crates/core/tests/data/`, see its README), with its UUIDs, references and findings checked.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::super::oscal::{oscal_control_id, oscal_string};
use super::*;
use crate::audit::controls::Framework;

/// A finding's key as an OSCAL property holds it (on one line).
fn key_prop(f: &crate::audit::Finding) -> String {
    oscal_string(&f.key()).unwrap().into_owned()
}

const OSCAL_SCHEMA: &str = "tests/data/oscal_assessment-results_schema-1.1.1.json";
const OSCAL_SCHEMA_SHA256: &str =
    "8c3e00683f1f5e9be7fe7b9cff1e3ec6f25b53477a9d5262fa6d8e0d5b7b9f21";

/// The fixture with a second audited instance, `dev` (a copy of `prod`): three instances, one
/// of them not audited.
fn fleet() -> AuditReport {
    let mut r = report();
    let mut dev = r.instances[0].clone();
    dev.instance = "dev".into();
    dev.url = "https://dev.example.com".into();
    for f in &mut dev.findings {
        f.instance = "dev".into();
    }
    dev.since_last = None;
    r.instances.insert(1, dev);
    r.recount();
    r
}

fn oscal_validator() -> jsonschema::Validator {
    let path = repo_file(OSCAL_SCHEMA);
    let schema = read_json(&path);
    assert_eq!(
        schema["$id"],
        "http://csrc.nist.gov/ns/oscal/1.1.1/oscal-ar-schema.json"
    );
    compile(&schema, &path)
}

fn oscal(r: &AuditReport) -> Value {
    let text = render(r, Format::Oscal, true);
    assert!(!text.contains('\x1b'), "colour never applies to OSCAL");
    assert!(
        text.ends_with("}\n") && text.matches('\n').count() == 1,
        "compact: one line"
    );
    serde_json::from_str(&text).expect("valid JSON")
}

/// Property `name`'s values.
fn props<'v>(item: &'v Value, name: &str) -> Vec<&'v str> {
    item["props"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|p| p["name"] == name)
                .filter_map(|p| p["value"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn prop1<'v>(item: &'v Value, name: &str) -> &'v str {
    let list = props(item, name);
    assert_eq!(list.len(), 1, "{name} in {item}");
    list[0]
}

fn list<'v>(v: &'v Value, what: &str) -> &'v Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array"))
}

/// Every string value of `v` (not the keys), with the key that holds it.
fn strings_in<'v>(v: &'v Value, key: &'v str, out: &mut Vec<(&'v str, &'v str)>) {
    match v {
        Value::String(s) => out.push((key, s)),
        Value::Array(items) => items.iter().for_each(|i| strings_in(i, key, out)),
        Value::Object(map) => map.iter().for_each(|(k, i)| strings_in(i, k, out)),
        _ => {}
    }
}

#[test]
fn the_vendored_schema_is_the_published_file() {
    let bytes = std::fs::read(repo_file(OSCAL_SCHEMA)).expect("the vendored OSCAL schema");
    assert_eq!(bytes.len(), 133_015);
    assert_eq!(hex::encode(Sha256::digest(&bytes)), OSCAL_SCHEMA_SHA256);
    let readme = std::fs::read_to_string(repo_file("tests/data/README.md")).unwrap();
    assert!(
        readme.contains(OSCAL_SCHEMA_SHA256),
        "the README names its hash"
    );
}

#[test]
fn oscal_is_valid_against_nist_s_oscal_1_1_1_schema() {
    let schema = oscal_validator();
    for r in [report(), fleet()] {
        let doc = oscal(&r);
        assert_eq!(errors(&schema, &doc), Vec::<String>::new());
    }
    // The schema checks what it should: the token pattern (\p{L}), UUIDs, dates, enums.
    let doc = oscal(&fleet());
    let ar = "/assessment-results";
    for (pointer, bad) in [
        (format!("{ar}/uuid"), Value::from("not-a-uuid")),
        (format!("{ar}/metadata/last-modified"), "yesterday".into()),
        (
            format!("{ar}/results/0/observations/0/props/0/name"),
            "1 bad name".into(),
        ),
        (
            format!("{ar}/results/0/findings/0/target/status/state"),
            "passed".into(),
        ),
        (
            format!("{ar}/results/0/observations/0/props/0/value"),
            " padded".into(),
        ),
    ] {
        let mut broken = doc.clone();
        *broken
            .pointer_mut(&pointer)
            .unwrap_or_else(|| panic!("{pointer}")) = bad;
        assert!(!schema.is_valid(&broken), "{pointer} accepted");
    }
    let mut broken = doc.clone();
    broken["assessment-results"]
        .as_object_mut()
        .unwrap()
        .remove("import-ap");
    assert!(!schema.is_valid(&broken));
    // A token made of non-ASCII letters is one (the pattern's \p{L} is understood).
    let mut fine = doc;
    fine["assessment-results"]["metadata"]["props"][0]["name"] = "règle-équipe".into();
    assert_eq!(errors(&schema, &fine), Vec::<String>::new());
}

#[test]
fn oscal_uuids_are_version_5_unique_and_stable() {
    let r = fleet();
    assert_eq!(
        render(&r, Format::Oscal, false),
        render(&r, Format::Oscal, false)
    );
    let doc = oscal(&r);
    let mut all = Vec::new();
    strings_in(&doc, "", &mut all);
    let mut defined = BTreeSet::new();
    for (key, value) in &all {
        if key.ends_with("uuid") {
            let id = Uuid::parse_str(value).unwrap_or_else(|e| panic!("{key}: {value}: {e}"));
            assert_eq!(id.get_version_num(), 5, "{key}: {value}");
            if *key == "uuid" {
                assert!(defined.insert(*value), "uuid {value} defined twice");
            }
        }
    }
    // References point at something defined in the document.
    for (key, value) in &all {
        if key.ends_with("-uuid") {
            assert!(defined.contains(value), "{key} {value} refers to nothing");
        }
    }
    let ar = &doc["assessment-results"];
    let href = ar["import-ap"]["href"].as_str().unwrap();
    let pack = &ar["back-matter"]["resources"][0];
    assert_eq!(href, format!("#{}", pack["uuid"].as_str().unwrap()));
    assert!(pack["title"].as_str().unwrap().contains(&r.rule_pack));

    // Another run: the document, result and observations are new; the instances, clients
    // and roles keep their UUIDs.
    let mut later = r.clone();
    later.generated_at += Duration::days(1);
    let next = oscal(&later);
    let nar = &next["assessment-results"];
    assert_ne!(nar["uuid"], ar["uuid"]);
    assert_ne!(nar["results"][0]["uuid"], ar["results"][0]["uuid"]);
    assert_ne!(
        nar["results"][0]["observations"][0]["uuid"],
        ar["results"][0]["observations"][0]["uuid"]
    );
    let ld = |d: &Value| d["assessment-results"]["results"][0]["local-definitions"].clone();
    assert_eq!(ld(&next), ld(&doc));
    assert_eq!(nar["back-matter"], ar["back-matter"]);
}

#[test]
fn oscal_has_every_finding_and_marks_the_suppressed_ones() {
    let r = fleet();
    let doc = oscal(&r);
    let ar = &doc["assessment-results"];
    assert_eq!(ar["metadata"]["oscal-version"], "1.1.1");
    assert_eq!(ar["metadata"]["version"], r.warden_version);
    assert_eq!(ar["metadata"]["last-modified"], "2026-11-20T09:30:00Z");
    assert_eq!(prop1(&ar["metadata"], "rule-pack"), r.rule_pack);
    assert_eq!(prop1(&ar["metadata"], "risk-catalogue"), r.risk_catalogue);
    assert_eq!(
        prop1(&ar["metadata"], "control-mapping"),
        r.control_mapping.as_deref().unwrap()
    );
    let results = list(&ar["results"], "results");
    assert_eq!(results.len(), 1, "one result per audit run");
    let result = &results[0];
    // The data was gathered two minutes before the report was generated (`--last`).
    assert_eq!(result["start"], "2026-11-20T09:28:00Z");
    let observations = list(&result["observations"], "observations");
    let of_findings: Vec<&Value> = observations
        .iter()
        .filter(|o| !props(o, "finding-key").is_empty())
        .collect();
    assert_eq!(of_findings.len(), r.findings().count());
    let mut open = 0;
    for f in r.findings() {
        let key = key_prop(f);
        let matching: Vec<&&Value> = of_findings
            .iter()
            .filter(|o| prop1(o, "finding-key") == key)
            .collect();
        assert_eq!(matching.len(), 1, "{key}");
        let o = matching[0];
        assert_eq!(prop1(o, "rule"), f.rule);
        assert_eq!(prop1(o, "severity"), f.severity.as_str());
        assert_eq!(prop1(o, "instance"), f.instance);
        assert_eq!(o["methods"], serde_json::json!(["EXAMINE"]));
        assert_eq!(o["description"], f.rationale.as_str());
        assert_eq!(o["subjects"][0]["type"], "component");
        let controls = props(o, "control");
        assert_eq!(controls.len(), r.controls_of(&f.rule).len(), "{key}");
        if f.suppressed_by.is_some() {
            assert_eq!(prop1(o, "finding-status"), "suppressed");
            assert!(!prop1(o, "suppression-reason").is_empty());
            assert!(!prop1(o, "suppression-owner").is_empty());
        } else {
            assert_eq!(prop1(o, "finding-status"), "open");
            open += 1;
        }
        for p in &f.evidence.privileges {
            assert!(
                o["relevant-evidence"][0]["description"]
                    .as_str()
                    .unwrap()
                    .contains(p.as_str()),
                "{key}: {p}"
            );
        }
    }
    assert_eq!(open, r.summary.total());
    assert_eq!(r.summary.suppressed, 4, "two per audited instance");
    // The client finding names the client (a user subject with owner and purpose).
    let users = list(&result["local-definitions"]["users"], "users");
    let deploy = users
        .iter()
        .find(|u| u["title"] == "Deploy CI" && prop1(u, "instance") == "prod")
        .expect("Deploy CI of prod");
    assert_eq!(prop1(deploy, "owner"), DEPLOY_OWNER);
    assert_eq!(prop1(deploy, "purpose"), DEPLOY_PURPOSE);
    let nightly = users.iter().find(|u| u["title"] == NIGHTLY).unwrap();
    assert_eq!(
        prop1(nightly, "client"),
        "Deploy Nightly",
        "one line in a property"
    );
    let undeclared = of_findings
        .iter()
        .find(|o| prop1(o, "finding-key") == NEW_KEY)
        .unwrap();
    assert_eq!(prop1(undeclared, "new-since-last"), "true");
    assert_eq!(undeclared["subjects"][1]["type"], "user");
    assert_eq!(prop1(undeclared, "client-owner"), "undeclared");
}

#[test]
fn oscal_findings_are_nist_controls_per_instance() {
    let r = fleet();
    let doc = oscal(&r);
    let result = &doc["assessment-results"]["results"][0];
    let nist: BTreeSet<String> = r
        .rules
        .iter()
        .flat_map(|rule| rule.controls.iter())
        .filter(|c| c.framework == Framework::Nist80053)
        .map(|c| oscal_control_id(&c.control))
        .collect();
    assert!(nist.contains("ac-6.1") && nist.contains("ia-5"), "{nist:?}");
    let selected: BTreeSet<String> = list(
        &result["reviewed-controls"]["control-selections"][0]["include-controls"],
        "include-controls",
    )
    .iter()
    .map(|c| c["control-id"].as_str().unwrap().to_owned())
    .collect();
    assert_eq!(selected, nist);
    let findings = list(&result["findings"], "findings");
    let audited = ["prod", "dev"];
    assert_eq!(findings.len(), nist.len() * audited.len());
    let observation_key = |id: &Value| {
        let o = list(&result["observations"], "observations")
            .iter()
            .find(|o| &o["uuid"] == id)
            .expect("a related observation");
        prop1(o, "finding-key").to_owned()
    };
    for f in findings {
        let target = &f["target"];
        assert_eq!(target["type"], "objective-id");
        let control = target["target-id"]
            .as_str()
            .unwrap()
            .strip_suffix("_obj")
            .expect("an objective id");
        assert!(nist.contains(control), "{control}");
        let instance = prop1(f, "instance");
        assert!(audited.contains(&instance));
        let rules = props(f, "rule");
        let open = r
            .findings()
            .filter(|x| {
                x.instance == instance
                    && x.suppressed_by.is_none()
                    && rules.contains(&x.rule.as_str())
            })
            .count();
        let expected = if open > 0 {
            "not-satisfied"
        } else {
            "satisfied"
        };
        assert_eq!(
            target["status"]["state"], expected,
            "{control} on {instance}"
        );
        assert_eq!(prop1(f, "open-findings"), open.to_string());
        let related: Vec<String> = f["related-observations"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|o| observation_key(&o["observation-uuid"]))
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<String> = r
            .findings()
            .filter(|x| x.instance == instance && rules.contains(&x.rule.as_str()))
            .map(key_prop)
            .collect();
        assert_eq!(related, expected, "{control} on {instance}");
    }
    // The wipe role's JW-DST-001 (its suppression expired) is open: AC-6 fails on both.
    let state = |control: &str, inst: &str| {
        findings
            .iter()
            .find(|f| {
                f["target"]["target-id"] == format!("{control}_obj") && prop1(f, "instance") == inst
            })
            .map(|f| f["target"]["status"]["state"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(state("ac-6", "prod"), "not-satisfied");
    assert_eq!(state("ac-6", "dev"), "not-satisfied");
}

#[test]
fn oscal_says_which_instances_were_not_assessed() {
    let r = fleet();
    let doc = oscal(&r);
    let result = &doc["assessment-results"]["results"][0];
    assert_eq!(prop1(result, "instances-not-assessed"), "1");
    let staging = list(&result["observations"], "observations")
        .iter()
        .find(|o| props(o, "finding-status") == ["not-assessed"])
        .expect("an observation for staging");
    assert_eq!(prop1(staging, "instance"), "staging");
    assert!(
        staging["description"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    let risks = list(&result["risks"], "risks");
    assert_eq!(risks.len(), 1);
    assert_eq!(risks[0]["status"], "open");
    assert_eq!(
        risks[0]["related-observations"][0]["observation-uuid"],
        staging["uuid"]
    );
    let component = list(&result["local-definitions"]["components"], "components")
        .iter()
        .find(|c| c["title"] == "staging")
        .unwrap();
    assert_eq!(component["status"]["state"], "other");
    // No control finding claims anything about staging.
    assert!(
        list(&result["findings"], "findings")
            .iter()
            .all(|f| prop1(f, "instance") != "staging")
    );
    // A report whose every instance was audited has no risk.
    let mut clean = r.clone();
    clean.instances.retain(|i| i.error.is_none());
    clean.recount();
    let doc = oscal(&clean);
    assert!(
        doc["assessment-results"]["results"][0]
            .get("risks")
            .is_none()
    );
    assert_eq!(errors(&oscal_validator(), &doc), Vec::<String>::new());
}

#[test]
fn oscal_of_an_empty_report_is_valid() {
    let mut r = report();
    r.instances.retain(|i| i.error.is_some());
    r.recount();
    let doc = oscal(&r);
    assert_eq!(errors(&oscal_validator(), &doc), Vec::<String>::new());
    r.instances.clear();
    r.recount();
    let doc = oscal(&r);
    assert_eq!(errors(&oscal_validator(), &doc), Vec::<String>::new());
}

#[test]
fn oscal_holds_no_secret_looking_value() {
    let r = fleet();
    let text = render(&r, Format::Oscal, false);
    let doc: Value = serde_json::from_str(&text).unwrap();
    // The live clients' ids (`uuid-N`) are not in the report; nothing secret-shaped is.
    for id in 1..=5 {
        assert!(!text.contains(&format!("uuid-{id}")));
    }
    for word in ["client_secret", "clientSecret", "password\":", "token\":"] {
        assert!(!text.contains(word), "{word}");
    }
    let mut all = Vec::new();
    strings_in(&doc, "", &mut all);
    let hashes: BTreeSet<&str> = r
        .instances
        .iter()
        .filter_map(|i| i.catalogue.as_ref().map(|c| c.sha256.as_str()))
        .collect();
    for (key, value) in all {
        // A long unbroken token would be a credential: only UUIDs, hashes of the privilege
        // catalogue, URLs and times are.
        for word in value.split([' ', ',', ';']) {
            let word = word.trim_end_matches('.');
            if word.len() < 24 {
                continue;
            }
            let known = Uuid::parse_str(word).is_ok()
                || hashes.contains(word)
                || word.starts_with("http")
                || word.starts_with('#')
                || word.contains('/')
                || DateTime::parse_from_rfc3339(word).is_ok();
            assert!(known, "{key}: {word:?} looks like a secret");
        }
    }
}
