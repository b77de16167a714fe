//! The `wardenctl secrets` document (`warden.secrets/1`): one row per managed client's secret
//! as Vault records it (never the secret), what comes next for it, and the notes an operator
//! acts on. The daemon builds it; `wardenctl` prints it as a table or, with `--json`, as is.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::status::{SecretStatus, fmt_age};

/// The document's schema name.
pub const SECRETS_SCHEMA: &str = "warden.secrets/1";

/// Every managed client's secret of the instances asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsDocument {
    /// [`SECRETS_SCHEMA`].
    pub schema: String,
    /// One per managed client (Warden's own management client included), in config order.
    pub secrets: Vec<SecretRow>,
    /// What an operator acts on (a refused rotation and how to resume, why one is held).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Secrets with a problem: unreadable, a failed last attempt, or an interrupted rotation.
    pub problems: u64,
}

/// One client's secret. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRow {
    pub instance: String,
    pub client: String,
    /// The full Vault path consumers read (empty when the status could not be read).
    #[serde(default)]
    pub vault_path: String,
    /// `single` or `alternating`.
    #[serde(default)]
    pub strategy: String,
    /// `ok`, `pending`, `stored`, `never`.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub age_secs: Option<u64>,
    #[serde(default)]
    pub rotated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_due: Option<DateTime<Utc>>,
    /// Due now by its policy (never while held or refused).
    #[serde(default)]
    pub due: bool,
    /// What comes next, as the table's NEXT DUE column shows it (`now`, `held (adopted)`,
    /// `refused (out of band)`, a time, `never`, a recovery in progress).
    pub next: String,
    /// Adopted and held: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// The last rotation was refused out of band: when and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The last failure recorded for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Alternating: the slot the path holds (`primary`, `alternate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_slot: Option<String>,
    /// Its status could not be read from Vault: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SecretRow {
    /// The row of `s`; `next` as the daemon describes it (it knows about recoveries).
    pub fn of(s: &SecretStatus, next: String) -> SecretRow {
        SecretRow {
            instance: s.instance.clone(),
            client: s.client.clone(),
            vault_path: s.vault_path.clone(),
            strategy: format!("{:?}", s.strategy).to_lowercase(),
            state: s.state.as_str().to_owned(),
            version: s.version,
            age_secs: s.age.map(|a| a.as_secs()),
            rotated_at: s.rotated_at,
            next_due: s.next_due,
            due: s.due,
            next,
            held: s.adoption.as_ref().map(|a| a.reason().to_owned()),
            refused_at: s.refused.as_ref().map(|r| r.at),
            refused: s.refused.as_ref().map(|r| r.cause.clone()),
            last_error: s.last_error.clone(),
            current_slot: s.current_slot.map(|slot| slot.to_string()),
            error: None,
        }
    }

    /// A row for a secret whose status could not be read.
    pub fn unreadable(instance: &str, client: &str, error: String) -> SecretRow {
        SecretRow {
            instance: instance.to_owned(),
            client: client.to_owned(),
            vault_path: String::new(),
            strategy: String::new(),
            state: String::new(),
            version: None,
            age_secs: None,
            rotated_at: None,
            next_due: None,
            due: false,
            next: String::new(),
            held: None,
            refused_at: None,
            refused: None,
            last_error: None,
            current_slot: None,
            error: Some(error),
        }
    }

    /// Whether it counts as a problem.
    pub fn is_problem(&self) -> bool {
        self.error.is_some()
            || self.last_error.is_some()
            || matches!(self.state.as_str(), "pending" | "stored")
    }
}

/// `2026-05-01T10:00:00Z`, or `never`.
pub fn fmt_when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| "never".into())
}

/// The table `wardenctl secrets` prints, then the notes.
pub fn render_secrets(doc: &SecretsDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<32} {:<12} {:<8} {:>7} {:<10} {:<21} {:<21}",
        "INSTANCE", "CLIENT", "STRATEGY", "STATE", "VERSION", "AGE", "LAST ROTATION", "NEXT DUE"
    );
    for row in &doc.secrets {
        if let Some(error) = &row.error {
            let _ = writeln!(
                out,
                "{:<10} {:<32} error: {error}",
                row.instance, row.client
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{:<10} {:<32} {:<12} {:<8} {:>7} {:<10} {:<21} {:<21}",
            row.instance,
            row.client,
            row.strategy,
            row.state,
            row.version.map_or_else(|| "-".into(), |v| v.to_string()),
            row.age_secs.map_or_else(
                || "-".into(),
                |s| fmt_age(std::time::Duration::from_secs(s))
            ),
            fmt_when(row.rotated_at),
            row.next,
        );
    }
    if !doc.notes.is_empty() {
        out.push('\n');
        for note in &doc.notes {
            let _ = writeln!(out, "{note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(client: &str) -> SecretRow {
        SecretRow {
            strategy: "single".into(),
            state: "ok".into(),
            version: Some(3),
            age_secs: Some(90_000),
            next: "now".into(),
            error: None,
            ..SecretRow::unreadable("prod", client, String::new())
        }
    }

    #[test]
    fn renders_rows_errors_and_notes_and_round_trips() {
        let doc = SecretsDocument {
            schema: SECRETS_SCHEMA.into(),
            secrets: vec![
                row("Sync"),
                SecretRow::unreadable("prod", "Backup", "vault sealed".into()),
            ],
            notes: vec!["prod/Sync: held".into()],
            problems: 1,
        };
        let text = render_secrets(&doc);
        assert!(text.starts_with("INSTANCE   CLIENT"), "{text}");
        assert!(text.contains("prod       Sync"), "{text}");
        assert!(text.contains("never"), "{text}");
        assert!(
            text.contains("Backup                           error: vault sealed"),
            "{text}"
        );
        assert!(text.ends_with("\nprod/Sync: held\n"), "{text}");
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<SecretsDocument>(&json).unwrap(), doc);
        assert!(doc.secrets[1].is_problem() && !doc.secrets[0].is_problem());
    }
}
