//! The fleet overview the human formats open with: a summary of the fleet (instances audited,
//! clients managed and undeclared), the instance × severity matrix of unsuppressed findings,
//! and the findings per rule.

use super::stamp;
use crate::audit::{AuditReport, InstanceAudit, RuleInfo, Severity, TrendPoint};

/// One instance's row of the matrix.
pub(super) struct MatrixRow<'a> {
    pub instance: &'a str,
    /// Unsuppressed findings, most severe first (critical, high, medium, low).
    pub counts: [usize; 4],
    pub suppressed: usize,
    /// Why it could not be audited.
    pub error: Option<&'a str>,
}

/// A rule's findings over the fleet.
pub(super) struct RuleCount<'a> {
    pub rule: &'a RuleInfo,
    pub open: usize,
    pub suppressed: usize,
}

/// The overview of a report.
pub(super) struct Fleet<'a> {
    pub instances: usize,
    pub audited: usize,
    pub clients: usize,
    /// Clients whose secret Warden manages (declared).
    pub managed: usize,
    /// Clients the desired state does not declare.
    pub undeclared: usize,
    pub matrix: Vec<MatrixRow<'a>>,
    /// Rules with at least one finding (open or suppressed), in the rule pack's order.
    pub rules: Vec<RuleCount<'a>>,
}

/// Severities in the matrix's column order.
pub(super) const COLUMNS: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

pub(super) fn fleet(report: &AuditReport) -> Fleet<'_> {
    let matrix = report
        .instances
        .iter()
        .map(|i| {
            let mut counts = [0; 4];
            let mut suppressed = 0;
            for f in &i.findings {
                if f.suppressed_by.is_some() {
                    suppressed += 1;
                } else if let Some(col) = COLUMNS.iter().position(|s| *s == f.severity) {
                    counts[col] += 1;
                }
            }
            MatrixRow {
                instance: &i.instance,
                counts,
                suppressed,
                error: i.error.as_deref(),
            }
        })
        .collect();
    let rules = report
        .rules
        .iter()
        .map(|rule| {
            let (mut open, mut suppressed) = (0, 0);
            for f in report.findings().filter(|f| f.rule == rule.id) {
                if f.suppressed_by.is_some() {
                    suppressed += 1;
                } else {
                    open += 1;
                }
            }
            RuleCount {
                rule,
                open,
                suppressed,
            }
        })
        .filter(|c| c.open + c.suppressed > 0)
        .collect();
    let clients = report.instances.iter().flat_map(|i| &i.client_privileges);
    Fleet {
        instances: report.instances.len(),
        audited: report
            .instances
            .iter()
            .filter(|i| i.error.is_none())
            .count(),
        clients: clients.clone().count(),
        managed: clients.clone().filter(|c| c.secret.is_some()).count(),
        undeclared: clients.filter(|c| !c.declared).count(),
        matrix,
        rules,
    }
}

impl Fleet<'_> {
    /// `2 instance(s): 1 audited, 1 not audited; 5 client(s): 2 managed by Warden, 3 not declared`.
    pub(super) fn line(&self) -> String {
        let mut s = format!("{} instance(s): {} audited", self.instances, self.audited);
        if self.audited < self.instances {
            s.push_str(&format!(", {} not audited", self.instances - self.audited));
        }
        s.push_str(&format!(
            "; {} client(s): {} managed by Warden, {} not declared",
            self.clients, self.managed, self.undeclared
        ));
        s
    }
}

/// At most this many trend points in the human formats (JSON and SARIF carry them all).
pub(super) const TREND_SHOWN: usize = 30;

/// The last [`TREND_SHOWN`] points of `inst`'s trend.
pub(super) fn trend_tail(inst: &InstanceAudit) -> &[TrendPoint] {
    &inst.trend[inst.trend.len().saturating_sub(TREND_SHOWN)..]
}

/// For a report of kept audits: `Data gathered 2026-11-20T03:00:00Z by the scheduled audit
/// (--last), not when generated`.
pub(super) fn gathered(report: &AuditReport) -> Option<String> {
    report.gathered_at.as_ref().map(|at| {
        format!(
            "Data gathered {} by the scheduled audit (--last), not when generated",
            stamp(at)
        )
    })
}

/// `2 new, 1 resolved since the audit of 2026-11-19T03:00:00Z`.
pub(super) fn since_line(inst: &InstanceAudit) -> Option<String> {
    inst.since_last.as_ref().map(|s| {
        format!(
            "{} new, {} resolved since the audit of {}",
            s.new.len(),
            s.resolved.len(),
            stamp(&s.since)
        )
    })
}

/// Whether `key` is new since the last audit (`None`: nothing to compare with).
pub(super) fn is_new(inst: Option<&InstanceAudit>, key: &str) -> Option<bool> {
    inst?
        .since_last
        .as_ref()
        .map(|s| s.new.iter().any(|k| k == key))
}
