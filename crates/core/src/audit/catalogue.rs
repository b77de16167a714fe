//! The risk catalogue: which privilege falls in which [`Category`], with the source of each
//! entry. Built in (`crates/core/data/risk-catalogue.toml`, versioned) and extended by
//! `[[audit.classify]]`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::settings::Classification;
use super::{AuditError, Category, InstanceAudit, Name};

const BUILTIN: &str = include_str!("../../data/risk-catalogue.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    jamf_versions: String,
    source: Vec<Source>,
    category: Vec<Entry>,
    known: Known,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    id: String,
    title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Category,
    source: String,
    privileges: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Known {
    source: String,
    privileges: Vec<String>,
}

/// The privilege names of the catalogue shipped in this binary (Jamf Pro 11.25 to 11.30), sorted:
/// what `wardend --check-config` and a reload check declared privileges against before any live
/// catalogue is at hand. Empty only if the shipped file is broken (a unit test proves it is not).
pub fn shipped_privileges() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        RiskCatalogue::builtin()
            .map(|c| c.names())
            .unwrap_or_default()
    })
}

/// The Jamf Pro versions the shipped catalogue was taken from.
pub fn shipped_jamf_versions() -> &'static str {
    static VERSIONS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSIONS.get_or_init(|| {
        RiskCatalogue::builtin()
            .map(|c| c.jamf_versions)
            .unwrap_or_default()
    })
}

/// How the catalogue classifies a privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class<'a> {
    /// Sensitive, in this category, according to this source.
    Risky(Category, &'a str),
    /// Known and not sensitive.
    Known,
    /// Not in the catalogue: reported as unclassified.
    Unclassified,
}

/// The catalogue in use.
#[derive(Clone, Debug)]
pub struct RiskCatalogue {
    version: String,
    jamf_versions: String,
    risky: BTreeMap<String, (Category, String)>,
    known: BTreeSet<String>,
    sources: BTreeMap<String, String>,
    site_entries: usize,
    /// Every privilege it lists, as the one shared copy reports hold ([`RiskCatalogue::name`]).
    names: BTreeSet<Name>,
}

impl RiskCatalogue {
    /// The built-in catalogue.
    pub fn builtin() -> Result<RiskCatalogue, AuditError> {
        Self::parse(BUILTIN)
    }

    /// Parses a catalogue file; every entry's source must be declared.
    pub fn parse(text: &str) -> Result<RiskCatalogue, AuditError> {
        let file: File =
            toml::from_str(text).map_err(|e| AuditError::Catalogue(e.message().to_owned()))?;
        let sources: BTreeMap<String, String> =
            file.source.into_iter().map(|s| (s.id, s.title)).collect();
        let check_source = |id: &str| {
            if sources.contains_key(id) {
                Ok(())
            } else {
                Err(AuditError::Catalogue(format!(
                    "source {id:?} is used but not declared"
                )))
            }
        };
        let mut risky = BTreeMap::new();
        for entry in file.category {
            check_source(&entry.source)?;
            for p in entry.privileges {
                if let Some((other, _)) =
                    risky.insert(p.clone(), (entry.name, entry.source.clone()))
                    && other != entry.name
                {
                    return Err(AuditError::Catalogue(format!(
                        "privilege {p:?} is in two categories"
                    )));
                }
            }
        }
        check_source(&file.known.source)?;
        let known: BTreeSet<String> = file.known.privileges.into_iter().collect();
        if let Some(both) = known.iter().find(|p| risky.contains_key(*p)) {
            return Err(AuditError::Catalogue(format!(
                "privilege {both:?} is both known-benign and classified"
            )));
        }
        let names = risky
            .keys()
            .chain(&known)
            .map(|p| Name::from(p.as_str()))
            .collect();
        Ok(RiskCatalogue {
            version: file.version,
            jamf_versions: file.jamf_versions,
            risky,
            known,
            sources,
            site_entries: 0,
            names,
        })
    }

    /// Adds (or overrides with) the site's classifications.
    #[must_use]
    pub fn with(mut self, extra: &[Classification]) -> RiskCatalogue {
        for c in extra {
            let id = format!("site: {}", c.source);
            self.sources.insert(id.clone(), c.source.clone());
            self.known.remove(&c.privilege);
            self.risky.insert(c.privilege.clone(), (c.category, id));
            self.names.insert(Name::from(c.privilege.as_str()));
        }
        self.site_entries = extra.len();
        self
    }

    /// The version, with the number of site entries when there are any
    /// (`2026.11.1+3 site entries`).
    pub fn version(&self) -> String {
        if self.site_entries == 0 {
            self.version.clone()
        } else {
            format!("{}+{} site entries", self.version, self.site_entries)
        }
    }

    /// The Jamf Pro versions the built-in entries were taken from.
    pub fn jamf_versions(&self) -> &str {
        &self.jamf_versions
    }

    /// `privilege` as a report holds it: the catalogue's shared copy when the catalogue lists
    /// it, so the clients and findings of every instance that name it share one allocation.
    pub fn name(&self, privilege: &str) -> Name {
        self.names
            .get(privilege)
            .cloned()
            .unwrap_or_else(|| Name::from(privilege))
    }

    /// Makes `audit`'s privilege names the catalogue's shared copies, as
    /// [`RiskCatalogue::name`] gives them: an audit read back from JSON holds one allocation per
    /// entry, a kept audit should not.
    pub fn share_names(&self, audit: &mut InstanceAudit) {
        let lists = audit
            .client_privileges
            .iter_mut()
            .flat_map(|c| std::iter::once(&mut c.privileges).chain(c.by_category.values_mut()))
            .chain(
                audit
                    .findings
                    .iter_mut()
                    .map(|f| &mut f.evidence.privileges),
            );
        for list in lists {
            for name in list.iter_mut() {
                *name = self.name(name);
            }
        }
    }

    /// How `privilege` is classified.
    pub fn class(&self, privilege: &str) -> Class<'_> {
        if let Some((category, source)) = self.risky.get(privilege) {
            Class::Risky(*category, source)
        } else if self.known.contains(privilege) {
            Class::Known
        } else {
            Class::Unclassified
        }
    }

    /// The title of a source id.
    pub fn source_title(&self, id: &str) -> Option<&str> {
        self.sources.get(id).map(String::as_str)
    }

    /// Every privilege name the catalogue lists (classified or known), sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.risky.keys().chain(&self.known).cloned().collect();
        names.sort();
        names.dedup();
        names
    }

    /// The privileges of `category`.
    pub fn privileges_of(&self, category: Category) -> impl Iterator<Item = &str> {
        self.risky
            .iter()
            .filter(move |(_, (c, _))| *c == category)
            .map(|(p, _)| p.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_covers_the_known_privilege_list() {
        let cat = RiskCatalogue::builtin().unwrap();
        assert!(matches!(
            cat.class("Update API Integrations"),
            Class::Risky(Category::PrivilegeEscalation, "notes-9-jamfhound")
        ));
        assert!(matches!(
            cat.class("View Disk Encryption Recovery Key"),
            Class::Risky(Category::SecretDisclosure, _)
        ));
        assert_eq!(cat.class("Read Computers"), Class::Known);
        assert_eq!(cat.class("Read Quantum Flux"), Class::Unclassified);
        let risky = Category::ALL
            .iter()
            .map(|c| cat.privileges_of(*c).count())
            .sum::<usize>();
        assert_eq!(
            risky + cat.known.len(),
            522,
            "every listed privilege is classified"
        );
        for (_, source) in cat.risky.values() {
            assert!(cat.source_title(source).is_some());
        }
    }

    #[test]
    fn shipped_privileges_are_the_522_names() {
        let names = shipped_privileges();
        assert_eq!(names.len(), 522);
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        assert!(names.iter().any(|n| n == "Read Computers"));
        assert_eq!(shipped_jamf_versions(), "11.25 to 11.30");
    }

    #[test]
    fn site_entries_override_and_are_versioned() {
        let cat = RiskCatalogue::builtin().unwrap().with(&[Classification {
            privilege: "Read Computers".into(),
            category: Category::SecretDisclosure,
            source: "inventory holds serials".into(),
        }]);
        assert_eq!(
            cat.class("Read Computers"),
            Class::Risky(Category::SecretDisclosure, "site: inventory holds serials")
        );
        assert!(cat.version().ends_with("+1 site entries"));
    }

    #[test]
    fn broken_catalogues_are_refused() {
        let bad = "version = \"x\"\njamf_versions = \"y\"\n[[source]]\nid = \"a\"\ntitle = \"t\"\n\
                   [[category]]\nname = \"destructive\"\nsource = \"b\"\nprivileges = [\"P\"]\n\
                   [known]\nsource = \"a\"\nprivileges = []\n";
        let e = RiskCatalogue::parse(bad).unwrap_err().to_string();
        assert!(e.contains("source \"b\" is used but not declared"), "{e}");
    }
}
