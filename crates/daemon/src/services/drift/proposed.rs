//! `wardenctl plan --desired`: proposed desired-state files stand in for the loaded files of
//! the same name, on a copy of each instance that lists one; nothing is loaded or kept.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use warden_core::config::{
    Config, ConfigErrors, DesiredState, Instance, Location, ProposedText, merge_proposed,
};
use warden_core::drift::{self, ValidationError};
use warden_core::protocol::{ErrorCode, ProposedFile};

use crate::services::ServiceError;

/// Why proposed files cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum ProposedError {
    #[error(
        "two proposed files are both named {0}; an instance lists files by name, send one of them"
    )]
    Ambiguous(String),
    #[error("proposed file {0:?} has no file name; name a .toml file")]
    NoName(String),
    #[error(
        "no instance lists a file named {proposed}; the instances list: {lists} (a new file is \
         planned after it is added to an instance's `desired` list)"
    )]
    NoInstance { proposed: String, lists: String },
    #[error("the proposed desired state of {instance} is invalid (nothing was loaded):\n{errors}")]
    Invalid {
        instance: String,
        errors: ConfigErrors,
    },
}

impl ServiceError for ProposedError {
    fn code(&self) -> ErrorCode {
        match self {
            ProposedError::NoInstance { .. } => ErrorCode::NotFound,
            _ => ErrorCode::BadRequest,
        }
    }
}

/// An instance with its desired state replaced by the proposed one.
pub struct Substituted {
    /// The copy, `desired_state` proposed; everything else as loaded.
    pub instance: Instance,
    /// The proposed files it uses, as the operator named them (a file the instance does not
    /// list yet: `NAME (added)`).
    pub used: Vec<String>,
    /// The proposed texts by name, to place validation problems at a line.
    texts: BTreeMap<String, Arc<str>>,
}

impl Substituted {
    /// The desired state's problems against `catalogue`, each at `file:line:column` when the
    /// privilege is in a proposed file.
    pub fn validate(&self, catalogue: &[String]) -> Vec<String> {
        let state = &self.instance.desired_state;
        match drift::validate(state, catalogue) {
            Ok(()) => Vec::new(),
            Err(problems) => problems.iter().map(|p| self.locate(state, p)).collect(),
        }
    }

    fn locate(&self, state: &DesiredState, problem: &ValidationError) -> String {
        let ValidationError::UnknownPrivilege {
            role, privilege, ..
        } = problem
        else {
            return problem.to_string();
        };
        let Some(source) = state.role(role).map(|r| r.source.to_string_lossy()) else {
            return problem.to_string();
        };
        let Some(text) = self.texts.get(source.as_ref()) else {
            return problem.to_string();
        };
        // the role's own `name = "..."`, then the quoted privilege after it
        let quoted = |s: &str| format!("{s:?}");
        let start = text.find(&quoted(role)).unwrap_or(0);
        match text[start..].find(&quoted(privilege)) {
            Some(at) => format!(
                "{}: {problem}",
                Location::at(Path::new(source.as_ref()), text, start + at + 1)
            ),
            None => problem.to_string(),
        }
    }
}

/// Copies of the instances `names` asks for (every instance that lists a proposed file when
/// empty), each with the proposed files in place of its loaded files of the same file name. A
/// named instance that does not list a proposed file gets it as an added file (merged after its
/// own, as if appended to its `desired` list): a new file is reviewed before it is listed.
pub fn substitute(
    config: &Config,
    names: &[String],
    files: &[ProposedFile],
) -> Result<Vec<Substituted>, ProposedError> {
    let mut by_file_name: BTreeMap<String, &ProposedFile> = BTreeMap::new();
    for f in files {
        let name =
            file_name(Path::new(&f.name)).ok_or_else(|| ProposedError::NoName(f.name.clone()))?;
        if by_file_name.insert(name.clone(), f).is_some() {
            return Err(ProposedError::Ambiguous(name));
        }
    }
    let proposed = by_file_name.keys().cloned().collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    for inst in &config.instances {
        if !names.is_empty() && !names.contains(&inst.name) {
            continue;
        }
        let replace: BTreeMap<PathBuf, ProposedText> = inst
            .desired
            .iter()
            .filter_map(|path| {
                let f = by_file_name.get(&file_name(path)?)?;
                let text = ProposedText {
                    name: f.name.clone(),
                    text: f.text.clone(),
                };
                Some((path.clone(), text))
            })
            .collect();
        if replace.is_empty() && names.is_empty() {
            continue;
        }
        // named: the proposed files it does not list are added after its own
        let add: Vec<ProposedText> = if names.is_empty() {
            Vec::new()
        } else {
            let listed: BTreeSet<String> =
                inst.desired.iter().filter_map(|p| file_name(p)).collect();
            by_file_name
                .iter()
                .filter(|(name, _)| !listed.contains(*name))
                .map(|(_, f)| ProposedText {
                    name: f.name.clone(),
                    text: f.text.clone(),
                })
                .collect()
        };
        let state =
            merge_proposed(inst, &replace, &add).map_err(|errors| ProposedError::Invalid {
                instance: inst.name.clone(),
                errors,
            })?;
        let mut instance = inst.clone();
        instance.desired_state = Arc::new(state);
        let mut used: Vec<String> = replace.values().map(|p| p.name.clone()).collect();
        used.extend(add.iter().map(|p| format!("{} (added)", p.name)));
        let texts = replace
            .into_values()
            .chain(add)
            .map(|p| (p.name, Arc::from(p.text)))
            .collect::<BTreeMap<_, _>>();
        out.push(Substituted {
            instance,
            used,
            texts,
        });
    }
    if out.is_empty() {
        let lists = config
            .instances
            .iter()
            .map(|i| format!("{} ({})", i.name, listed(i)))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ProposedError::NoInstance { proposed, lists });
    }
    Ok(out)
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// The file names an instance lists, for messages.
fn listed(inst: &Instance) -> String {
    let names: BTreeSet<String> = inst.desired.iter().filter_map(|p| file_name(p)).collect();
    if names.is_empty() {
        "no desired files".to_owned()
    } else {
        names.into_iter().collect::<Vec<_>>().join(", ")
    }
}
