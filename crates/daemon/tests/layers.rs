//! The daemon's layering rule, checked on its source (see `docs/architecture.md`):
//!
//! - `services` never import `handlers`, `jobs`, `server`, `scheduler` or `run`;
//! - `handlers` and `jobs` never import each other;
//! - `runtime` imports no service, handler, job or wiring module.
//!
//! A path is an import when non-comment code names `crate::<layer>` (in a `use` or inline), or
//! climbs out of its own layer with `super::super::`. The test fails with every offending line,
//! so a new back-import is caught the moment it is written.

use std::path::{Path, PathBuf};

/// Modules each layer must not name.
const RULES: &[(&str, &[&str])] = &[
    (
        "services",
        &["handlers", "jobs", "server", "scheduler", "run"],
    ),
    ("handlers", &["jobs", "server", "scheduler", "run"]),
    ("jobs", &["handlers", "server", "run"]),
    (
        "runtime",
        &["services", "handlers", "jobs", "server", "scheduler", "run"],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line without its `//` comment (string literals in this crate never hold
/// `crate::` paths; doc links in comments are not imports).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// Every `crate::<module>` the code of `text` names, with its line number.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = code(line);
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let module: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::{a, b}` groups: every name in the braces
            if module.is_empty() && after.starts_with('{') {
                let group = after[1..].split('}').next().unwrap_or_default();
                for name in group.split(',') {
                    let name = name.trim().split("::").next().unwrap_or_default().trim();
                    if !name.is_empty() {
                        out.push((n + 1, name.to_owned()));
                    }
                }
            } else if !module.is_empty() {
                out.push((n + 1, module));
            }
            rest = &rest[at + "crate::".len()..];
        }
    }
    out
}

#[test]
fn every_layer_imports_only_downwards() {
    let root = src();
    let mut violations = Vec::new();
    let mut checked = 0;
    for (layer, forbidden) in RULES {
        let dir = root.join(layer);
        assert!(
            dir.is_dir(),
            "the layer {layer} is missing: {}",
            dir.display()
        );
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        assert!(!files.is_empty(), "no source files in {layer}");
        for file in files {
            checked += 1;
            let text = std::fs::read_to_string(&file).expect("read source");
            let rel = file
                .strip_prefix(&root)
                .unwrap_or(&file)
                .display()
                .to_string();
            for (line, module) in crate_paths(&text) {
                if forbidden.contains(&module.as_str()) {
                    violations.push(format!("{rel}:{line}: {layer} imports crate::{module}"));
                }
            }
            for (n, l) in text.lines().enumerate() {
                if code(l).contains("super::super::") && rel.matches('/').count() < 3 {
                    violations.push(format!(
                        "{rel}:{}: climbs out of {layer} with super::super",
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} files checked: is the layout still there?"
    );
    assert!(
        violations.is_empty(),
        "imports against the layering rule (docs/architecture.md):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_imports_in_every_form() {
    let text = "use crate::jobs::run;\nlet x = crate::handlers::select(); // crate::run is a comment\nuse crate::{server, runtime::notify};\n";
    let found: Vec<String> = crate_paths(text).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["jobs", "handlers", "server", "runtime"]);
}
