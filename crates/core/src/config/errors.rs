//! Configuration errors: every one names the file (and line and column where there is one) and
//! says what to do.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position in a file: `path:line:column`, 1-based. Line and column are 0 when the error
/// concerns the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, or 0 for the whole file.
    pub line: usize,
    /// 1-based column (in characters), or 0 for the whole file.
    pub column: usize,
}

impl Location {
    /// The whole of `file`.
    pub fn file(file: &Path) -> Location {
        Location {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
        }
    }

    /// The position of byte `offset` of `text`, which is the content of `file`.
    pub fn at(file: &Path, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// One configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read `{}`: {source}; check the path and that wardend may read it", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not valid TOML or does not match the schema (unknown field, wrong type,
    /// missing field). Such a file cannot be checked further.
    #[error("{location}: {message}")]
    Parse {
        /// Where the problem is.
        location: Location,
        /// What is wrong and what to do.
        message: String,
    },
    /// The file has no `version` key.
    #[error("{location}: missing `version = {supported}`; add it as the first line of the file")]
    MissingVersion {
        /// The file.
        location: Location,
        /// The version this build supports.
        supported: i64,
    },
    /// The file declares a version this build does not read.
    #[error(
        "{location}: unsupported version {found}; this wardend supports only `version = {supported}`"
    )]
    UnsupportedVersion {
        /// Where the version is.
        location: Location,
        /// The version as written.
        found: String,
        /// The version this build supports.
        supported: i64,
    },
    /// A value is well-formed TOML but not acceptable.
    #[error("{location}: `{field}`: {message}")]
    Invalid {
        /// Where the value is.
        location: Location,
        /// The dotted key, e.g. `instance.url`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A secret file is empty.
    #[error("secret file `{}` is empty; write the secret into it", path.display())]
    SecretEmpty {
        /// The file.
        path: PathBuf,
    },
    /// A config or desired-state file that other users may change: they could change what
    /// wardend does (which clients exist, which roles they hold, where secrets go).
    #[error(
        "`{}` is writable by users other than its owner (mode {mode:04o}), who could change what \
         wardend does; run `chmod go-w {}` and check that its content is yours",
        path.display(),
        path.display()
    )]
    WritableByOthers {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A secret file may be read or replaced by any user on the host.
    #[error(
        "secret file `{}` is accessible to every user (mode {mode:04o}); run `chmod o-rwx` on it \
         (0600 or 0400 is best) and rotate the secret if others may have read it",
        path.display()
    )]
    SecretWorldAccessible {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

impl ConfigError {
    /// Where the error is, when it points into a file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ConfigError::Parse { location, .. }
            | ConfigError::MissingVersion { location, .. }
            | ConfigError::UnsupportedVersion { location, .. }
            | ConfigError::Invalid { location, .. } => Some(location),
            ConfigError::Read { .. }
            | ConfigError::WritableByOthers { .. }
            | ConfigError::SecretEmpty { .. }
            | ConfigError::SecretWorldAccessible { .. } => None,
        }
    }
}

/// Every problem found while loading a configuration, in file order.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (a `ConfigErrors` returned by a loader never is).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} configuration errors:", many.len())?;
                for error in many {
                    write!(f, "\n  - {error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigErrors {}

/// A file's path and text, to turn byte spans into [`Location`]s.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

impl Source {
    /// Reads the config or desired-state file at `path`: a regular file (never blocking on a
    /// FIFO or device), not writable by group or others, at most
    /// [`MAX_CONFIG_FILE_BYTES`](crate::files::MAX_CONFIG_FILE_BYTES), UTF-8.
    pub(crate) fn read(path: &Path) -> Result<Source, ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let (mut file, meta) = crate::files::open_regular(path).map_err(read_error)?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(ConfigError::WritableByOthers {
                path: path.to_path_buf(),
                mode,
            });
        }
        let bytes =
            crate::files::read_to_end_capped(&mut file, crate::files::MAX_CONFIG_FILE_BYTES)
                .map_err(read_error)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            read_error(io::Error::new(
                io::ErrorKind::InvalidData,
                "it is not UTF-8 text",
            ))
        })?;
        Ok(Source {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The location of a span's start.
    pub(crate) fn loc(&self, span: &Range<usize>) -> Location {
        Location::at(&self.path, &self.text, span.start)
    }

    /// An [`ConfigError::Invalid`] at `span`.
    pub(crate) fn invalid(
        &self,
        span: &Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            location: self.loc(span),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Parses the file as TOML into `T` after checking `version = 1`.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        #[derive(serde::Deserialize)]
        struct Probe {
            version: Option<toml::Spanned<toml::Value>>,
        }
        let probe: Probe = toml::from_str(&self.text).map_err(|e| self.parse_error(&e))?;
        let Some(version) = probe.version else {
            return Err(ConfigError::MissingVersion {
                location: Location::file(&self.path),
                supported: super::CONFIG_VERSION,
            });
        };
        if version.get_ref().as_integer() != Some(super::CONFIG_VERSION) {
            return Err(ConfigError::UnsupportedVersion {
                location: self.loc(&version.span()),
                found: version.get_ref().to_string(),
                supported: super::CONFIG_VERSION,
            });
        }
        toml::from_str(&self.text).map_err(|e| self.parse_error(&e))
    }

    fn parse_error(&self, error: &toml::de::Error) -> ConfigError {
        let location = match error.span() {
            Some(span) => self.loc(&span),
            None => Location::file(&self.path),
        };
        let message = error.message().trim().trim_end_matches('.').to_owned();
        let hint = if message.starts_with("unknown field") {
            "; remove it or fix its spelling"
        } else if message.starts_with("missing field") {
            "; add it"
        } else if message.starts_with("unknown variant") {
            "; use one of the listed values"
        } else {
            ""
        };
        ConfigError::Parse {
            location,
            message: format!("{message}{hint}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        let offset = text.find('2').unwrap();
        let loc = Location::at(Path::new("x.toml"), text, offset);
        assert_eq!((loc.line, loc.column), (2, 6));
        assert_eq!(loc.to_string(), "x.toml:2:6");
        assert_eq!(Location::file(Path::new("x.toml")).to_string(), "x.toml");
    }
}
