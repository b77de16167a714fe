//! Control references of the rule pack: which controls of SOC 2, ISO/IEC 27001:2022 Annex A,
//! NIST SP 800-53 Rev. 5 and CIS Controls v8.1 each rule evidences. Versioned data shipped with
//! Warden (`crates/core/data/control-mapping.toml`), with the publication of each framework and
//! the rationale of each rule's mapping.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const BUILTIN: &str = include_str!("../../data/control-mapping.toml");

/// A compliance framework the rules are mapped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    /// AICPA SOC 2 Trust Services Criteria.
    Soc2,
    /// ISO/IEC 27001:2022 Annex A.
    Iso27001,
    /// NIST SP 800-53 Rev. 5.
    Nist80053,
    /// CIS Critical Security Controls v8.1.
    Cis8,
}

impl Framework {
    /// Every framework, in the order reports list them.
    pub const ALL: [Framework; 4] = [
        Framework::Soc2,
        Framework::Iso27001,
        Framework::Nist80053,
        Framework::Cis8,
    ];

    /// `soc2`, `iso27001`, `nist80053` or `cis8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Soc2 => "soc2",
            Framework::Iso27001 => "iso27001",
            Framework::Nist80053 => "nist80053",
            Framework::Cis8 => "cis8",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Framework {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Framework::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!("unknown framework {s:?}: use soc2, iso27001, nist80053 or cis8")
            })
    }
}

/// A reference from a rule to a control of a framework.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ControlRef {
    /// The framework.
    pub framework: Framework,
    /// The control's id in it, e.g. `CC6.1`, `8.2`, `AC-6(5)`, `5.4`.
    pub control: String,
}

/// A control of a framework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Its id.
    pub id: String,
    /// Its title, as published (SOC 2: a short form of the criterion).
    pub title: String,
}

/// A framework's description and the controls the mapping uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkInfo {
    /// Which framework.
    pub id: Framework,
    /// Its full name and version.
    pub name: String,
    /// Where its control text is published.
    pub source: String,
    /// The controls rules are mapped to, in the framework's order.
    pub controls: Vec<Control>,
}

/// One rule's control references, with why they apply.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMapping {
    /// The rule's id.
    pub rule: String,
    /// SOC 2 criteria.
    #[serde(default)]
    pub soc2: Vec<String>,
    /// ISO/IEC 27001:2022 Annex A controls.
    #[serde(default)]
    pub iso27001: Vec<String>,
    /// NIST SP 800-53 Rev. 5 controls.
    #[serde(default)]
    pub nist80053: Vec<String>,
    /// CIS Controls v8.1 safeguards.
    #[serde(default)]
    pub cis8: Vec<String>,
    /// Why the rule evidences these controls.
    pub rationale: String,
}

impl RuleMapping {
    /// The control ids of `framework`.
    pub fn of(&self, framework: Framework) -> &[String] {
        match framework {
            Framework::Soc2 => &self.soc2,
            Framework::Iso27001 => &self.iso27001,
            Framework::Nist80053 => &self.nist80053,
            Framework::Cis8 => &self.cis8,
        }
    }

    /// Every reference, framework by framework.
    pub fn refs(&self) -> Vec<ControlRef> {
        Framework::ALL
            .into_iter()
            .flat_map(|fw| {
                self.of(fw).iter().map(move |c| ControlRef {
                    framework: fw,
                    control: c.clone(),
                })
            })
            .collect()
    }
}

/// The control mapping: frameworks and each rule's references.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlMapping {
    /// Version of the mapping.
    pub version: String,
    /// The frameworks.
    #[serde(rename = "framework")]
    pub frameworks: Vec<FrameworkInfo>,
    /// Each rule's references.
    #[serde(rename = "mapping")]
    pub mappings: Vec<RuleMapping>,
}

impl ControlMapping {
    /// Parses a mapping file.
    pub fn parse(text: &str) -> Result<ControlMapping, toml::de::Error> {
        toml::from_str(text)
    }

    /// The mapping shipped with Warden (its validity is checked by the tests).
    pub fn builtin() -> &'static ControlMapping {
        static MAPPING: OnceLock<ControlMapping> = OnceLock::new();
        MAPPING.get_or_init(|| {
            ControlMapping::parse(BUILTIN)
                .unwrap_or_else(|e| panic!("the shipped control mapping does not parse: {e}"))
        })
    }

    /// `framework`'s description, if the mapping has it.
    pub fn framework(&self, framework: Framework) -> Option<&FrameworkInfo> {
        self.frameworks.iter().find(|f| f.id == framework)
    }

    /// The mapping of rule `id`.
    pub fn rule(&self, id: &str) -> Option<&RuleMapping> {
        self.mappings.iter().find(|m| m.rule == id)
    }

    /// The references of rule `id` (empty for a rule the mapping does not know).
    pub fn refs(&self, id: &str) -> Vec<ControlRef> {
        self.rule(id).map(RuleMapping::refs).unwrap_or_default()
    }

    /// For each control of `framework`, the rules mapped to it, in the framework's order.
    pub fn rules_by_control(&self, framework: Framework) -> Vec<(&Control, Vec<&str>)> {
        let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in &self.mappings {
            for c in m.of(framework) {
                by_id.entry(c.as_str()).or_default().push(m.rule.as_str());
            }
        }
        self.framework(framework)
            .map(|f| {
                f.controls
                    .iter()
                    .map(|c| (c, by_id.remove(c.id.as_str()).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Problems with the mapping against the rule pack `rules`: a rule without a reference, a
    /// reference to an unknown rule or to a control its framework does not list, a framework
    /// missing, a control listed twice or used by no rule.
    pub fn check(&self, rules: &[&str]) -> Vec<String> {
        let mut problems = Vec::new();
        for fw in Framework::ALL {
            let Some(info) = self.framework(fw) else {
                problems.push(format!("framework {fw} is not described"));
                continue;
            };
            let mut seen = std::collections::BTreeSet::new();
            for c in &info.controls {
                if !seen.insert(c.id.as_str()) {
                    problems.push(format!("{fw} lists control {} twice", c.id));
                }
                if !self.mappings.iter().any(|m| m.of(fw).contains(&c.id)) {
                    problems.push(format!("{fw} control {} is used by no rule", c.id));
                }
            }
            for m in &self.mappings {
                for c in m.of(fw) {
                    if !info.controls.iter().any(|k| &k.id == c) {
                        problems.push(format!(
                            "{} names {fw} control {c}, which is not listed",
                            m.rule
                        ));
                    }
                }
            }
        }
        for id in rules {
            match self.rule(id) {
                None => problems.push(format!("rule {id} has no control mapping")),
                Some(m) if m.refs().is_empty() => {
                    problems.push(format!("rule {id} maps to no control"))
                }
                Some(m) if m.rationale.trim().is_empty() => {
                    problems.push(format!("rule {id}'s mapping has no rationale"))
                }
                Some(_) => {}
            }
        }
        for m in &self.mappings {
            if !rules.contains(&m.rule.as_str()) {
                problems.push(format!("the mapping names unknown rule {}", m.rule));
            }
            if self.mappings.iter().filter(|o| o.rule == m.rule).count() > 1 {
                problems.push(format!("rule {} is mapped twice", m.rule));
            }
        }
        problems
    }
}

impl ControlMapping {
    /// The mapping as a Markdown table, one row per rule (docs/audit.md shows it; a test keeps
    /// the two equal).
    pub fn markdown_table(&self) -> String {
        let mut out = String::from(
            "| Rule | SOC 2 | ISO/IEC 27001:2022 | NIST SP 800-53 r5 | CIS v8.1 | Why |\n\
             | --- | --- | --- | --- | --- | --- |\n",
        );
        for m in &self.mappings {
            let cell = |fw: Framework| {
                let list = m.of(fw);
                if list.is_empty() {
                    "—".to_owned()
                } else {
                    list.join(", ")
                }
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                m.rule,
                cell(Framework::Soc2),
                cell(Framework::Iso27001),
                cell(Framework::Nist80053),
                cell(Framework::Cis8),
                m.rationale.replace('|', "\\|")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::RULES;

    #[test]
    fn every_rule_is_mapped_to_listed_controls() {
        let mapping = ControlMapping::builtin();
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(mapping.check(&ids), Vec::<String>::new());
        assert_eq!(mapping.mappings.len(), RULES.len());
        assert!(!mapping.version.is_empty());
        for rule in RULES {
            assert!(
                !mapping.refs(rule.id).is_empty(),
                "{} has no reference",
                rule.id
            );
        }
    }

    #[test]
    fn the_check_finds_unmapped_rules_and_unknown_controls() {
        let text = r#"
version = "t"
[[framework]]
id = "soc2"
name = "s"
source = "u"
controls = [{ id = "CC6.1", title = "t" }, { id = "CC9.9", title = "unused" }]
[[mapping]]
rule = "JW-ESC-001"
soc2 = ["CC6.1", "CC6.9"]
rationale = "r"
[[mapping]]
rule = "JW-XXX-001"
soc2 = ["CC6.1"]
rationale = "r"
"#;
        let mapping = ControlMapping::parse(text).unwrap();
        let problems = mapping.check(&["JW-ESC-001", "JW-EXE-001"]);
        for expected in [
            "framework iso27001 is not described",
            "soc2 control CC9.9 is used by no rule",
            "JW-ESC-001 names soc2 control CC6.9, which is not listed",
            "rule JW-EXE-001 has no control mapping",
            "the mapping names unknown rule JW-XXX-001",
        ] {
            assert!(
                problems.iter().any(|p| p == expected),
                "{expected} missing from {problems:?}"
            );
        }
    }

    #[test]
    fn the_issue_s_named_controls_are_evidenced() {
        let mapping = ControlMapping::builtin();
        let has = |fw: Framework, id: &str| {
            mapping
                .mappings
                .iter()
                .any(|m| m.of(fw).iter().any(|c| c == id))
        };
        for id in ["CC6.1", "CC6.2", "CC6.3", "CC7.2"] {
            assert!(has(Framework::Soc2, id), "{id}");
        }
        for id in ["5.15", "5.17", "5.18", "8.2", "8.5"] {
            assert!(has(Framework::Iso27001, id), "{id}");
        }
        for id in [
            "AC-2", "AC-2(1)", "AC-5", "AC-6", "AC-6(1)", "AC-6(5)", "AC-6(10)", "IA-5(1)",
        ] {
            assert!(has(Framework::Nist80053, id), "{id}");
        }
        for id in ["5.3", "5.4", "6.8"] {
            assert!(has(Framework::Cis8, id), "{id}");
        }
        // Prowler's model mapping: an admin-level API credential evidences CIS 5.4.
        assert!(
            mapping
                .rule("JW-BRD-003")
                .unwrap()
                .cis8
                .contains(&"5.4".to_owned())
        );
    }

    #[test]
    fn docs_show_the_shipped_mapping() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/audit.md");
        let docs = std::fs::read_to_string(path).unwrap();
        let table = ControlMapping::builtin().markdown_table();
        assert!(
            docs.contains(&table),
            "docs/audit.md does not show the mapping of crates/core/data/control-mapping.toml; \
             replace its table with:\n{table}"
        );
        for f in &ControlMapping::builtin().frameworks {
            assert!(
                docs.contains(&f.source),
                "{} source missing from docs/audit.md",
                f.id
            );
        }
    }

    #[test]
    fn frameworks_parse_from_their_names() {
        for fw in Framework::ALL {
            assert_eq!(fw.as_str().parse::<Framework>(), Ok(fw));
        }
        assert!(
            "sox"
                .parse::<Framework>()
                .unwrap_err()
                .contains("soc2, iso27001")
        );
    }
}
