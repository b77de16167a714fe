//! An instance's desired state with some of its files replaced by proposed texts, for
//! `wardenctl plan --desired` (review before load): the proposed files are parsed and merged
//! exactly as a reload would, with errors at `name:line:column`; nothing is loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::file::{DesiredFile, load_file, load_source};
use super::{DesiredState, MergeContext, merge};
use crate::config::Instance;
use crate::config::errors::{ConfigError, ConfigErrors, Source};

/// A proposed desired-state file: the name its errors are reported under and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposedText {
    /// The name the operator gave (e.g. `proposed/legacy.toml`).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// The merged desired state of `instance` with each file of `replace` (a path the instance
/// lists) read from the proposed text instead of the disk, and the files of `add` (new files
/// the instance does not list yet) merged after its own, as if appended to its `desired` list.
/// The instance's other files are read from disk as they are now, as a reload would read them.
/// `Err` with every problem, each at the proposed file's name, line and column.
pub fn merge_proposed(
    instance: &Instance,
    replace: &BTreeMap<PathBuf, ProposedText>,
    add: &[ProposedText],
) -> Result<DesiredState, ConfigErrors> {
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut files: Vec<Option<DesiredFile>> = instance
        .desired
        .iter()
        .map(|path| match replace.get(path) {
            Some(p) => load_source(
                Source {
                    path: Path::new(&p.name).to_path_buf(),
                    text: p.text.clone(),
                },
                &mut errors,
            ),
            None => load_file(path, &mut errors),
        })
        .collect();
    for p in add {
        files.push(load_source(
            Source {
                path: Path::new(&p.name).to_path_buf(),
                text: p.text.clone(),
            },
            &mut errors,
        ));
    }
    let loaded: Vec<&DesiredFile> = files.iter().flatten().collect();
    let ctx = MergeContext {
        instance: &instance.name,
        timezone: instance.schedules.timezone.as_deref(),
    };
    let (state, _) = merge(&ctx, &loaded, &mut errors);
    if errors.is_empty() {
        Ok(state)
    } else {
        Err(ConfigErrors(errors))
    }
}
