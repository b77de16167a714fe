//! Adoption: `wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME` and `--switched`. The
//! record lives in Vault (`_warden/adopt/<instance>/<client>`, written with check-and-set) so
//! every daemon sharing the Vault sees it; each change is recorded in the change log. The
//! rule that holds an adopted client is `warden_core::rotation`'s ([`SecretStatus::adoption`]).
//!
//! [`SecretStatus::adoption`]: warden_core::rotation::SecretStatus

use chrono::{DateTime, Utc};
use serde_json::json;
use warden_core::changelog::{Action, Actor, ChangeEntry, ObjectKind, ObjectRef, Outcome};
use warden_core::config::{AdoptPolicy, RotationStrategy};
use warden_core::protocol::ErrorCode;
use warden_core::rotation::{
    Adoption, AdoptionRecord, RotationTarget, read_adoption, write_adoption,
};
use warden_core::vault::VaultError;

use super::Rotation;
use crate::services::ServiceError;
use crate::services::changes::ChangesError;
use crate::services::errors::vault_code;

/// What `wardenctl adopt` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdoptChange {
    /// Release the hold from this time on.
    Cutover(DateTime<Utc>),
    /// The owner confirms that the consumers read Vault (alternating).
    Switched,
}

/// Why an adoption change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error(
        "`{label}` is not adopted ({why}); there is nothing to cut over: Warden rotates it on its schedule"
    )]
    NotAdopted { label: String, why: String },
    #[error(
        "`{label}` is not waiting for its consumers to switch (it is {state}); `--switched` only follows a cutover of an alternating client whose twin now serves the consumers"
    )]
    NotAwaitingSwitch { label: String, state: String },
    #[error("cannot read or write the adoption record of `{label}` in vault: {source}; retry")]
    Vault {
        label: String,
        #[source]
        source: VaultError,
    },
    #[error(transparent)]
    Record(#[from] ChangesError),
}

impl ServiceError for AdoptError {
    fn code(&self) -> ErrorCode {
        match self {
            AdoptError::NotAdopted { .. } | AdoptError::NotAwaitingSwitch { .. } => {
                ErrorCode::Conflict
            }
            AdoptError::Vault { source, .. } => vault_code(source),
            AdoptError::Record(e) => e.code(),
        }
    }
}

impl Rotation {
    /// Records a cutover or a confirmed switch for `target` (Vault, then the change log);
    /// answers the record written.
    pub async fn adopt(
        &self,
        target: &RotationTarget,
        change: AdoptChange,
        actor: Actor,
    ) -> Result<AdoptionRecord, AdoptError> {
        let label = format!("{}/{}", target.instance, target.client.name);
        let vault = |source| AdoptError::Vault {
            label: label.clone(),
            source,
        };
        let status = self.status(target).await.map_err(vault)?;
        let store = self.engine.store();
        let found = read_adoption(store, target).await.map_err(vault)?;
        let (cas, mut record) =
            found.map_or((0, AdoptionRecord::default()), |r| (r.version, r.value));
        let who = actor_name(&actor);
        match change {
            AdoptChange::Cutover(at) => {
                match &status.adoption {
                    Some(Adoption::Held { .. } | Adoption::CutoverAt { .. }) => {}
                    other => {
                        return Err(AdoptError::NotAdopted {
                            label,
                            why: not_adopted_why(target, other.as_ref(), status.rotated_at),
                        });
                    }
                }
                record.cutover_at = Some(at);
                record.cutover_by = Some(who);
            }
            AdoptChange::Switched => {
                if !matches!(status.adoption, Some(Adoption::AwaitingSwitch { .. })) {
                    let state = status
                        .adoption
                        .as_ref()
                        .map_or("not held", Adoption::as_str)
                        .to_owned();
                    return Err(AdoptError::NotAwaitingSwitch { label, state });
                }
                record.switched_at = Some(self.lifecycle.now());
                record.switched_by = Some(who);
            }
        }
        write_adoption(store, target, &record, cas)
            .await
            .map_err(vault)?;
        self.instances.forget_adopted(&target.instance);
        let entry = ChangeEntry::new(
            actor,
            ObjectRef::named(ObjectKind::Secret, &target.client.name),
            Action::Adopt,
            Outcome::Ok,
        )
        .instance(&target.instance)
        .after(json!({
            "change": match change { AdoptChange::Cutover(_) => "cutover", AdoptChange::Switched => "switched" },
            "cutover_at": record.cutover_at,
            "switched_at": record.switched_at,
            "strategy": target.client.rotation.strategy,
            "vault_path": self.full_path(target),
        }));
        self.changes.record(entry).await?;
        Ok(record)
    }
}

fn not_adopted_why(
    target: &RotationTarget,
    adoption: Option<&Adoption>,
    rotated_at: Option<DateTime<Utc>>,
) -> String {
    if target.client.rotation.adopt == AdoptPolicy::Rotate {
        return "its desired state says `adopt = \"rotate\"`".into();
    }
    if let Some(a) = adoption {
        return a.reason().to_owned();
    }
    match (rotated_at, target.client.rotation.strategy) {
        (Some(_), RotationStrategy::Alternating) => {
            "Warden has rotated it already; it is cut over".into()
        }
        (Some(_), RotationStrategy::Single) => "Warden has rotated it already".into(),
        (None, _) => "Vault already holds a secret for it, or its cutover time has passed".into(),
    }
}

fn actor_name(actor: &Actor) -> String {
    match actor {
        Actor::User { uid, user, .. } => user.clone().unwrap_or_else(|| format!("uid {uid}")),
        Actor::Schedule { job } => job.clone(),
        Actor::Daemon => "daemon".into(),
    }
}
