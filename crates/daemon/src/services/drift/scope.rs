//! Confirming stale scopes with Jamf: where the stored secret can be used, a drift check asks
//! Jamf what it covers (a token's `scope`) instead of trusting the roles recorded at mint. Only
//! for candidates ([`drift::scope_candidates`]: recorded as stale, or rotated with nothing
//! recorded), at most once per stored secret version, with the stored version re-read from
//! Vault at most every [`ROTATED_MAX_AGE`] (a rotation by this daemon drops the answer at once).

use std::collections::BTreeSet;

use warden_core::config::Instance;
use warden_core::drift::{self, ScopeEvidence};
use warden_core::rotation::ScopeCheck;

use super::{Checked, Drift, ROTATED_MAX_AGE};
use crate::services::rotation::targets;

impl Checked {
    /// The scope evidence for [`drift::stale_scopes`].
    pub fn evidence(&self) -> ScopeEvidence<'_> {
        ScopeEvidence {
            minted: Some(&self.scopes),
            tokens: Some(&self.tokens),
        }
    }
}

impl Drift {
    /// Fills `checked.tokens` for the candidates of `inst`: one Vault read and at most one
    /// token request (invalidated at once) each. A failure leaves the recorded evidence.
    pub(super) async fn confirm_scopes(&self, inst: &Instance, checked: &mut Checked) {
        let rotated: BTreeSet<String> = checked.rotated.keys().cloned().collect();
        let candidates = drift::scope_candidates(
            &inst.desired_state,
            &checked.live,
            &checked.scopes,
            &rotated,
        );
        if candidates.is_empty() {
            return;
        }
        let name = inst.name.as_str();
        let Ok(jamf) = self.instances.management_client(name).await else {
            return;
        };
        for target in targets(inst)
            .into_iter()
            .filter(|t| candidates.contains(&t.client.name))
        {
            let client = target.client.name.as_str();
            let known = self.instances.token_scope(name, client, ROTATED_MAX_AGE);
            if let Some((scope, true)) = &known {
                checked.tokens.insert(client.to_owned(), scope.clone());
                continue;
            }
            let known = known.map(|(scope, _)| scope);
            match self
                .rotation
                .token_scope(&jamf, &target, known.as_ref())
                .await
            {
                Ok(ScopeCheck::Confirmed(scope)) => {
                    self.instances
                        .remember_token_scope(name, client, Some(scope.clone()));
                    checked.tokens.insert(client.to_owned(), scope);
                }
                Ok(ScopeCheck::NothingStored) => {
                    self.instances.remember_token_scope(name, client, None);
                    checked.tokens.remove(client);
                }
                Ok(ScopeCheck::Refused { version, cause }) => {
                    self.instances.remember_token_scope(name, client, None);
                    checked.tokens.remove(client);
                    tracing::warn!(
                        instance = name,
                        client,
                        version,
                        cause = %cause,
                        "the stored secret no longer gets a token (changed out of band?): its scope cannot be confirmed, and its next rotation will be refused until an operator accepts it"
                    );
                }
                Err(e) => {
                    tracing::info!(instance = name, client, error = %e, "could not confirm the scope of the stored secret; the roles recorded at mint stand");
                }
            }
        }
    }
}
