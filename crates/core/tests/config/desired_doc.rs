//! Every example of `docs/desired-state.md` means what the page says: blocks marked
//! `toml desired` load (as an instance's only desired file, or after the last unmarked block
//! with `after-previous`), `invalid="TEXT"` blocks are refused with TEXT in the error, and
//! `warning="TEXT"` blocks load with that warning; the others load without warnings.

use std::path::{Path, PathBuf};

use warden_core::config::values::normalize;

use crate::common::{Dir, with};

struct Block {
    line: usize,
    after_previous: bool,
    invalid: Option<String>,
    warning: Option<String>,
    text: String,
}

fn attr(info: &str, key: &str) -> Option<String> {
    let start = info.find(&format!("{key}=\""))? + key.len() + 2;
    let end = info[start..].find('"')? + start;
    Some(info[start..end].to_owned())
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in doc.lines().enumerate() {
        if let Some(block) = current.as_mut() {
            if line.trim_end() == "```" {
                out.push(current.take().expect("open block"));
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
        } else if let Some(info) = line.strip_prefix("```toml desired") {
            current = Some(Block {
                line: i + 1,
                after_previous: info.contains("after-previous"),
                invalid: attr(info, "invalid"),
                warning: attr(info, "warning"),
                text: String::new(),
            });
        }
    }
    assert!(current.is_none(), "an example block is not closed");
    out
}

fn doc_path() -> PathBuf {
    normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/desired-state.md"))
}

#[test]
fn every_example_of_the_desired_state_reference_means_what_it_says() {
    let doc = std::fs::read_to_string(doc_path()).expect("docs/desired-state.md");
    let blocks = blocks(&doc);
    assert!(blocks.len() >= 15, "found only {} examples", blocks.len());
    assert!(blocks.iter().filter(|b| b.invalid.is_some()).count() >= 8);
    let mut base: Option<&Block> = None;
    for block in &blocks {
        let dir = Dir::new();
        let mut files = Vec::new();
        if block.after_previous {
            let base = base.unwrap_or_else(|| panic!("line {}: no block before", block.line));
            dir.write("base.toml", &base.text);
            files.push("\"base.toml\"");
        }
        dir.write("example.toml", &block.text);
        files.push("\"example.toml\"");
        let config = with(&format!(
            "[[instance]]\nname = \"acme\"\nurl = \"https://acme.example\"\ndesired = [{}]\n",
            files.join(", ")
        ));
        let here = format!("docs/desired-state.md line {}", block.line);
        match (dir.load(&config), &block.invalid) {
            (Ok(loaded), None) => match &block.warning {
                Some(text) => assert!(
                    loaded.warnings.iter().any(|w| w.contains(text.as_str())),
                    "{here}: expected a warning with `{text}`, got {:?}",
                    loaded.warnings
                ),
                None => assert!(
                    loaded.warnings.is_empty(),
                    "{here}: unexpected warnings {:?}",
                    loaded.warnings
                ),
            },
            (Ok(_), Some(text)) => panic!("{here}: expected an error with `{text}`, it loaded"),
            (Err(errors), Some(text)) => {
                let message = errors.to_string();
                assert!(
                    message.contains(text.as_str()),
                    "{here}: expected `{text}` in:\n{message}"
                );
            }
            (Err(errors), None) => {
                panic!("{here}: expected to load:\n{errors}");
            }
        }
        if !block.after_previous {
            base = Some(block);
        }
    }
}
