//! Plans for `wardenctl plan`: of the loaded desired state or of a proposed one
//! ([`Substituted`]), with the fingerprints a saved plan is checked against at apply, and the
//! desired-state fingerprint a person last applied (auto-remediation applies only that one).

use warden_core::config::Instance;
use warden_core::drift::{self, PLAN_SCHEMA, PlanDocument, PlanFingerprints};

use super::{Checked, Drift, DriftError, Substituted};

impl Drift {
    /// The plan of `inst` against its live state read now (the caller holds a check slot). With
    /// `proposed`, of the proposed desired state: nothing about it is cached or kept.
    pub async fn plan_doc(
        &self,
        inst: &Instance,
        refresh: bool,
        proposed: Option<&Substituted>,
    ) -> Result<PlanDocument, DriftError> {
        let inst = proposed.map_or(inst, |s| &s.instance);
        let checked = self
            .fetch_with(inst, refresh, false, proposed.is_none())
            .await?;
        let problems = match proposed {
            Some(s) => s.validate(&checked.live.privileges),
            None => Drift::validate(inst, &checked)
                .err()
                .map_or_else(Vec::new, |e| match e {
                    DriftError::Invalid { problems, .. } => problems,
                    other => vec![other.to_string()],
                }),
        };
        if !problems.is_empty() {
            return Err(DriftError::Invalid {
                instance: inst.name.clone(),
                problems,
            });
        }
        let used = proposed.map(|s| s.used.clone()).unwrap_or_default();
        Ok(self.document(inst, &checked, used))
    }

    /// The plan document of `inst` against `checked`.
    fn document(&self, inst: &Instance, checked: &Checked, proposed: Vec<String>) -> PlanDocument {
        let plan = Drift::plan(inst, checked);
        let mut report = Drift::detect(inst, checked);
        // adopted clients held until their cutover are what the desired state asks for
        report.hold_adopted(&checked.adopted);
        let unresolved = report
            .items
            .iter()
            .filter(|i| !i.managed || i.kind == drift::DriftKind::NeverRotated)
            .count();
        let fingerprints =
            PlanFingerprints::of(&inst.desired_state, inst.prune, &checked.live, &plan);
        let drift = (!proposed.is_empty()).then_some(report);
        PlanDocument {
            schema: PLAN_SCHEMA.to_owned(),
            instance: inst.name.clone(),
            checked_at: self.lifecycle.now(),
            plan,
            unresolved,
            fingerprints: Some(fingerprints),
            proposed,
            drift,
        }
    }

    /// Notes that a person applied `inst`'s desired state with this fingerprint: the automatic
    /// apply of `remediation = "auto"` may apply it from now on (kept in the state directory).
    pub fn approve(&self, instance: &str, desired: &str) {
        let mut state = self.state();
        state.approve(instance, desired);
        state.save();
    }

    /// Whether the automatic apply waits for a person: the desired state of `inst` is not the
    /// one a person last applied (or none ever was).
    pub fn awaits_review(&self, inst: &Instance) -> bool {
        let current = drift::desired_fingerprint(&inst.desired_state, inst.prune);
        self.state().approved(&inst.name) != Some(current.as_str())
    }
}

/// What `remediation = "auto"` waits for while the desired state is not one a person applied.
pub fn awaiting_review(instance: &str) -> String {
    format!(
        "automatic apply waits for `wardenctl apply {instance}` once: the desired state is not \
         the one a person last applied (e.g. after a reload)"
    )
}
