//! Human output in the manner of `terraform plan`: `+` create, `-` delete, `~` change.

use std::fmt::Write as _;

use serde_json::Value;

use super::{Action, DriftItem, DriftKind, DriftReport, Plan, PlanBody};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

fn paint(sign: char, color: bool) -> String {
    if !color {
        return sign.to_string();
    }
    let code = match sign {
        '+' => GREEN,
        '-' => RED,
        _ => YELLOW,
    };
    format!("{code}{sign}{RESET}")
}

/// The drift report, one block per object, then a summary line.
pub fn render_report(report: &DriftReport, color: bool) -> String {
    let mut out = String::new();
    // Group consecutive items about one object; detect() emits them together.
    let mut i = 0;
    let items = &report.items;
    while i < items.len() {
        let head = &items[i];
        let mut j = i;
        while j < items.len() && items[j].object == head.object && items[j].name == head.name {
            j += 1;
        }
        render_object(&mut out, &items[i..j], color);
        i = j;
    }
    for foreign in &report.foreign {
        let _ = writeln!(out, "  {foreign} (foreign: left alone)");
    }
    for held in &report.held {
        let _ = writeln!(out, "  client {:?} secret: {}", held.name, held.reason);
    }
    if items.is_empty() {
        out.push_str("No drift: the live state matches the desired state.\n");
    } else {
        let objects = count_objects(items);
        let _ = writeln!(
            out,
            "Drift: {} item(s) on {objects} object(s).",
            items.len()
        );
    }
    out
}

fn count_objects(items: &[DriftItem]) -> usize {
    let mut seen: Vec<(super::ObjectKind, &str)> =
        items.iter().map(|i| (i.object, i.name.as_str())).collect();
    seen.sort();
    seen.dedup();
    seen.len()
}

fn render_object(out: &mut String, items: &[DriftItem], color: bool) {
    let Some(head) = items.first() else { return };
    let object = head.object.as_str();
    let name = &head.name;
    match head.kind {
        DriftKind::Missing => {
            let tail = if head.managed {
                ""
            } else {
                " (external: not created)"
            };
            let _ = writeln!(out, "{} {object} {name:?}{tail}", paint('+', color));
            return;
        }
        DriftKind::Unmanaged => {
            let tail = if head.managed {
                " (unmanaged: prune deletes it)"
            } else {
                " (unmanaged: kept, prune is off)"
            };
            let _ = writeln!(out, "{} {object} {name:?}{tail}", paint('-', color));
            return;
        }
        _ => {}
    }
    let _ = writeln!(out, "{} {object} {name:?}", paint('~', color));
    for item in items {
        render_field(out, item, color);
    }
}

fn render_field(out: &mut String, item: &DriftItem, color: bool) {
    let member = match item.object {
        super::ObjectKind::Role => "privilege",
        super::ObjectKind::Client => "role",
    };
    match item.kind {
        DriftKind::PrivilegesAdded | DriftKind::RolesAdded => {
            for name in strings(item.after.as_ref()) {
                let _ = writeln!(out, "    {} {member} {name:?}", paint('+', color));
            }
        }
        DriftKind::PrivilegesRemoved | DriftKind::RolesRemoved => {
            for name in strings(item.before.as_ref()) {
                let _ = writeln!(out, "    {} {member} {name:?}", paint('-', color));
            }
        }
        DriftKind::NoSecret => {
            let _ = writeln!(out, "    {} secret: none (appType NONE)", paint('~', color));
        }
        DriftKind::NeverRotated => {
            let _ = writeln!(
                out,
                "    {} secret: never rotated by Warden",
                paint('~', color)
            );
        }
        DriftKind::ScopeStale => {
            let covers = match item.before.as_ref() {
                Some(Value::Array(_)) => format!("{:?}", strings(item.before.as_ref())),
                _ => "unknown roles (only a digest was recorded)".to_owned(),
            };
            let source = if item.evidence.as_deref() == Some(super::EVIDENCE_TOKEN) {
                "a token of the stored secret covers"
            } else {
                "minted for"
            };
            let _ = writeln!(
                out,
                "    {} secret: scope stale: {source} roles {covers}, does not cover {:?}; \
                 a new secret is needed",
                paint('~', color),
                strings(item.after.as_ref())
            );
        }
        _ => {
            let field = item.field.as_deref().unwrap_or("?");
            let _ = writeln!(
                out,
                "    {} {field}: {} -> {}",
                paint('~', color),
                show(item.before.as_ref()),
                show(item.after.as_ref())
            );
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().unwrap_or("?").to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "(none)".to_owned(), Value::to_string)
}

/// The plan, one numbered line per step (with its note and body summary), then a summary.
pub fn render_plan(plan: &Plan, color: bool) -> String {
    if plan.is_empty() {
        return "No changes: the live state matches the desired state.\n".to_owned();
    }
    let mut out = String::new();
    for (n, step) in plan.steps.iter().enumerate() {
        let (sign, verb, object) = match step.action {
            Action::CreateRole => ('+', "create", "role"),
            Action::UpdateRole => ('~', "update", "role"),
            Action::CreateClient => ('+', "create", "client"),
            Action::UpdateClient => ('~', "update", "client"),
            Action::RotateSecret => ('~', "rotate secret of", "client"),
            Action::DeleteClient => ('-', "delete", "client"),
            Action::DeleteRole => ('-', "delete", "role"),
        };
        let id = step
            .id
            .as_ref()
            .map(|id| format!(" (id {id})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:>3}. {} {verb} {object} {:?}{id}",
            n + 1,
            paint(sign, color),
            step.name
        );
        if let Some(diff) = &step.diff {
            let member = match step.body {
                Some(PlanBody::Role(_)) => "privilege",
                _ => "role",
            };
            for name in &diff.added {
                let _ = writeln!(out, "       {} {member} {name:?}", paint('+', color));
            }
            for name in &diff.removed {
                let _ = writeln!(out, "       {} {member} {name:?}", paint('-', color));
            }
        }
        match &step.body {
            Some(PlanBody::Role(r)) if step.diff.is_some() => {
                let _ = writeln!(out, "       ({} privilege(s) in all)", r.privileges.len());
            }
            Some(PlanBody::Role(r)) => {
                let _ = writeln!(out, "       privileges: {}", r.privileges.join(", "));
            }
            Some(PlanBody::Client(c)) => {
                let _ = writeln!(
                    out,
                    "       roles: {}; enabled: {}; token_lifetime: {}",
                    c.authorization_scopes.join(", "),
                    c.enabled.unwrap_or(false),
                    c.access_token_lifetime_seconds
                        .unwrap_or(super::DEFAULT_TOKEN_LIFETIME)
                );
            }
            None => {}
        }
        if let Some(note) = &step.note {
            let _ = writeln!(out, "       note: {note}");
        }
    }
    let count = |sign: char| {
        plan.steps
            .iter()
            .filter(|s| match s.action {
                Action::CreateRole | Action::CreateClient => sign == '+',
                Action::DeleteClient | Action::DeleteRole => sign == '-',
                _ => sign == '~',
            })
            .count()
    };
    let _ = writeln!(
        out,
        "Plan: {} to create, {} to change, {} to delete.",
        count('+'),
        count('~'),
        count('-')
    );
    out
}
