//! The context of one validation pass ([`Ctx`]): where errors and warnings collect, and how
//! paths, durations and numbers are checked. A leaf of `config`: `validate`, `instances` and
//! `audit` each check their part of the file with it, and `validate` calls the other two.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::LoadOptions;
use super::errors::{ConfigError, Source};
use super::values::{CREDENTIAL_PREFIX, check_duration_range, parse_duration, resolve_path};

/// The directory a form-only `credential:NAME` path is shown under.
const FORM_ONLY_DIR: &str = "$CREDENTIALS_DIRECTORY";

/// Shared state of one validation pass.
pub(crate) struct Ctx<'a> {
    pub(crate) src: &'a Source,
    base_dir: PathBuf,
    credentials_dir: Option<&'a Path>,
    credentials_form_only: bool,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<String>,
    pub(crate) notes: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// A pass over `src`: relative paths resolve against its directory, `credential:NAME`
    /// against `options`' credentials directory.
    pub(crate) fn new(src: &'a Source, options: &'a LoadOptions) -> Ctx<'a> {
        Ctx {
            src,
            base_dir: src.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            credentials_dir: options.credentials_directory.as_deref(),
            credentials_form_only: options.credentials_form_only,
            errors: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Ctx<'_> {
    /// Records an error at `span` of the config file.
    pub(crate) fn invalid(&mut self, span: &Range<usize>, field: &str, message: impl Into<String>) {
        let error = self.src.invalid(span, field, message);
        self.errors.push(error);
    }

    /// Records a warning at `span`.
    pub(crate) fn warn(&mut self, span: &Range<usize>, field: &str, message: &str) {
        let location = self.src.loc(span);
        self.warnings
            .push(format!("{location}: `{field}`: {message}"));
    }

    /// Resolves a non-credential path as [`Self::path`] does, without reporting an error.
    pub(crate) fn resolve(&self, raw: &str) -> Option<PathBuf> {
        resolve_path(&self.base_dir, raw, self.credentials_dir, false).ok()
    }

    /// Resolves a path value (see [`resolve_path`]).
    pub(crate) fn path(
        &mut self,
        value: &Spanned<String>,
        field: &str,
        allow_credential: bool,
    ) -> Option<PathBuf> {
        if self.form_only(value, allow_credential) {
            // Form only: a placeholder directory proves the name is a plain file name.
            let placeholder = Path::new(FORM_ONLY_DIR);
            let resolved = resolve_path(&self.base_dir, value.get_ref(), Some(placeholder), true);
            if resolved.is_ok() {
                let location = self.src.loc(&value.span());
                self.notes.push(format!(
                    "{location}: `{field}`: `{}` checked for form only: $CREDENTIALS_DIRECTORY \
                     is not set; pass `--credentials-dir DIR` to check the file itself",
                    value.get_ref()
                ));
            }
            return resolved
                .map_err(|message| self.invalid(&value.span(), field, message))
                .ok();
        }
        let resolved = resolve_path(
            &self.base_dir,
            value.get_ref(),
            self.credentials_dir,
            allow_credential,
        );
        resolved
            .map_err(|message| self.invalid(&value.span(), field, message))
            .ok()
    }

    /// Whether `value` is a `credential:NAME` path that can only be checked for form (no
    /// credentials directory, and the caller asked for form-only checks).
    fn form_only(&self, value: &Spanned<String>, allow_credential: bool) -> bool {
        allow_credential
            && self.credentials_dir.is_none()
            && self.credentials_form_only
            && value.get_ref().starts_with(CREDENTIAL_PREFIX)
    }

    /// Resolves a CA bundle path and checks that it exists and holds a PEM certificate.
    pub(crate) fn ca_file(
        &mut self,
        value: Option<&Spanned<String>>,
        field: &str,
    ) -> Option<PathBuf> {
        let value = value?;
        let form_only = self.form_only(value, true);
        let path = self.path(value, field, true)?;
        if form_only {
            return Some(path);
        }
        match crate::files::read_to_string_capped(&path, crate::files::MAX_CONFIG_FILE_BYTES) {
            Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => {}
            Ok(_) => self.invalid(
                &value.span(),
                field,
                format!(
                    "`{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`); point it at \
                     a PEM CA bundle",
                    path.display()
                ),
            ),
            Err(e) => self.invalid(
                &value.span(),
                field,
                format!("cannot read `{}`: {e}; check the path", path.display()),
            ),
        }
        Some(path)
    }

    /// Parses a duration in `range`, or returns `default` when absent; outside the range is a
    /// located error naming the range.
    pub(crate) fn duration_in(
        &mut self,
        value: Option<&Spanned<String>>,
        field: &str,
        range: std::ops::RangeInclusive<Duration>,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        let checked = parse_duration(value.get_ref())
            .and_then(|d| check_duration_range(d, &range).map(|()| d));
        match checked {
            Ok(d) => d,
            Err(message) => {
                self.invalid(&value.span(), field, message);
                default
            }
        }
    }

    /// An integer in `range`, or `default` when absent.
    pub(crate) fn int_in(
        &mut self,
        value: Option<&Spanned<i64>>,
        field: &str,
        range: std::ops::RangeInclusive<u32>,
        default: u32,
    ) -> u32 {
        let Some(value) = value else { return default };
        match u32::try_from(*value.get_ref()) {
            Ok(v) if range.contains(&v) => v,
            _ => {
                let (lo, hi) = (range.start(), range.end());
                self.invalid(
                    &value.span(),
                    field,
                    format!(
                        "{} is out of range; use a value from {lo} to {hi}",
                        value.get_ref()
                    ),
                );
                default
            }
        }
    }
}
