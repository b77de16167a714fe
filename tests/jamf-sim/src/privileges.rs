//! The privilege catalogue (Jamf Pro 11.25 to 11.30) and the order Jamf returns sets in.

use std::collections::HashSet;
use std::sync::OnceLock;

static RAW: &str = include_str!("../data/privileges-11.25-11.30.txt");

/// Every privilege name an API role may hold, in byte order (as in the catalogue file).
pub fn privilege_catalogue() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        RAW.lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Whether `name` is a known privilege (exact, case-sensitive match).
pub(crate) fn is_valid(name: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| privilege_catalogue().iter().copied().collect())
        .contains(name)
}

/// Whether an auditor account holds `name`: read-only privileges, i.e. names that start
/// with `Read ` or end with ` Read` (`Access Management Setting Read`).
pub(crate) fn auditor_has(name: &str) -> bool {
    name.starts_with("Read ") || name.ends_with(" Read")
}

/// The privileges of an auditor account, in catalogue order.
pub(crate) fn auditor_privileges() -> Vec<&'static str> {
    privilege_catalogue()
        .iter()
        .copied()
        .filter(|p| auditor_has(p))
        .collect()
}

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_hash(s: &str) -> u32 {
    s.encode_utf16()
        .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)))
}

/// Deduplicates `items` (first occurrence wins) and returns them in the iteration order
/// of a `java.util.HashSet` filled in that order. Jamf Pro stores role privileges in a
/// Java set, and this reproduces the reordering seen in its responses (for example the
/// `Create/Read/Update Static Computer Groups` role comes back as Create, Update, Read).
pub(crate) fn java_hashset_order(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    let unique: Vec<String> = items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect();
    let mut capacity = 16usize;
    while unique.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |s: &str| {
        let h = java_hash(s);
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut keyed: Vec<(usize, String)> = unique.into_iter().map(|s| (bucket(&s), s)).collect();
    keyed.sort_by_key(|(b, _)| *b);
    keyed.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_522_names() {
        assert_eq!(privilege_catalogue().len(), 522);
        assert!(is_valid("Read API Roles"));
        assert!(!is_valid("read api roles"));
    }

    #[test]
    fn java_order_matches_the_documented_example() {
        let req = vec![
            "Create Static Computer Groups".to_owned(),
            "Read Static Computer Groups".to_owned(),
            "Update Static Computer Groups".to_owned(),
        ];
        assert_eq!(
            java_hashset_order(req),
            vec![
                "Create Static Computer Groups",
                "Update Static Computer Groups",
                "Read Static Computer Groups"
            ]
        );
        assert_eq!(java_hash("a"), 97);
    }

    #[test]
    fn java_order_deduplicates() {
        let req = vec!["Read API Roles".to_owned(), "Read API Roles".to_owned()];
        assert_eq!(java_hashset_order(req), vec!["Read API Roles"]);
    }

    #[test]
    fn auditor_is_read_only() {
        assert!(auditor_has("Read API Roles"));
        assert!(auditor_has("Access Management Setting Read"));
        assert!(!auditor_has("Create API Roles"));
        assert_eq!(auditor_privileges().len(), 131);
    }
}
