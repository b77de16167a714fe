//! Alerts of the drift check: drift appeared, changed or resolved (names and kinds only).

use warden_core::drift::InstanceDrift;
use warden_core::notify::EventKind;

use super::Drift;
use super::state::Transition;

impl Drift {
    /// Alerts the drift transition `t` of `report` (names and kinds only, at most 50 items).
    pub(super) fn alert(&self, report: &InstanceDrift, t: Transition) {
        let kind = match t {
            Transition::Appeared => EventKind::DriftAppeared,
            Transition::Changed => EventKind::DriftChanged,
            Transition::Resolved => EventKind::DriftResolved,
        };
        let n = report.report.items.len();
        let summary = match t {
            Transition::Resolved => format!("drift of {} resolved", report.instance),
            _ => format!("{} drift item(s) on {}", n, report.instance),
        };
        let items: Vec<_> = report
            .report
            .items
            .iter()
            .take(50)
            .map(|i| serde_json::json!({"kind": i.kind.as_str(), "object": i.object, "name": i.name, "field": i.field}))
            .collect();
        let notifier = self.changes.notifier();
        notifier.emit(
            notifier
                .event(kind, summary)
                .instance(&report.instance)
                .details(serde_json::json!({
                    "status": t.as_str(),
                    "fingerprint": report.fingerprint(),
                    "items": items,
                    "item_count": n,
                    "invalid": report.invalid,
                })),
        );
    }
}
