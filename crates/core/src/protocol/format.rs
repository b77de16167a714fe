//! [`ReportFormat`]: how the daemon renders a report body. A plain leaf type of the protocol
//! (report responses carry it, the daemon and `wardenctl` render by it), so that the response
//! module no longer depends on the request module, which itself builds responses.

use serde::{Deserialize, Serialize};

/// How a report body is rendered by the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// Structured JSON, rendered by `wardenctl` or passed through by `--json`.
    #[default]
    Json,
    /// Plain text, ready to print.
    Text,
    /// Markdown, e.g. for a ticket.
    Markdown,
}

impl ReportFormat {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "text",
            Self::Markdown => "markdown",
        }
    }
}
