//! Adoption: a declared client that Warden has never rotated and whose current secret Vault
//! does not hold is *adopted*. Its consumers hold a secret Warden never saw, so rotating it
//! would break them: its rotation is held until an explicit cutover.
//!
//! - `[client.rotation] adopt = "hold"` (the default, and what `wardenctl import` writes):
//!   held until `wardenctl adopt INSTANCE/CLIENT --cutover now|at TIME`, recorded in Vault at
//!   [`adoption_path`] (`_warden/adopt/<instance>/<client-slug>`, JSON written with
//!   check-and-set) so every daemon sharing the Vault sees it.
//! - `adopt = "rotate"`: consent; the client rotates on its schedule like any other.
//! - With the `alternating` strategy the first rotation after the cutover mints the
//!   `(alternate)` twin (slot `b`) and leaves the declared client's secret untouched; the
//!   declared client's own rotation stays held ([`Adoption::AwaitingSwitch`]) until the owner
//!   confirms with `wardenctl adopt INSTANCE/CLIENT --switched` that the consumer reads Vault.
//!   Warden cannot see which secret a consumer uses, so a person confirms.
//!
//! A client whose secret Vault already holds (written by someone else) is not adopted: the
//! out-of-band check before every mint protects it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::marker::{Marker, SecretState, Slot, fmt_time};
use super::store::SecretStore;
use super::target::RotationTarget;
use crate::config::values::slug;
use crate::config::{AdoptPolicy, RotationStrategy};
use crate::vault::{VaultError, Versioned};

/// The adoption record path of a client (relative to the store's prefix).
pub fn adoption_path(instance: &str, client: &str) -> String {
    let or = |s: String, d: &str| if s.is_empty() { d.to_string() } else { s };
    format!(
        "_warden/adopt/{}/{}",
        or(slug(instance), "instance"),
        or(slug(client), "client")
    )
}

/// What `wardenctl adopt` recorded for a client. Holds no secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptionRecord {
    /// From when the client may be rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover_at: Option<DateTime<Utc>>,
    /// Who set the cutover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover_by: Option<String>,
    /// Alternating: when the owner confirmed that the consumer reads Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switched_at: Option<DateTime<Utc>>,
    /// Who confirmed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switched_by: Option<String>,
}

/// Reads the adoption record of `target`, with its version for check-and-set.
pub async fn read_adoption<S: SecretStore>(
    store: &S,
    target: &RotationTarget,
) -> Result<Option<Versioned<AdoptionRecord>>, VaultError> {
    let path = adoption_path(&target.instance, &target.client.name);
    let Some(found) = store.read_json(&path).await? else {
        return Ok(None);
    };
    // a record this Warden cannot read counts as none: the client stays held
    let record = serde_json::from_value(found.value).unwrap_or_default();
    Ok(Some(Versioned {
        version: found.version,
        value: record,
    }))
}

/// Writes the adoption record of `target` with check-and-set (`cas` = the version read, 0 when
/// there was none); returns the new version.
pub async fn write_adoption<S: SecretStore>(
    store: &S,
    target: &RotationTarget,
    record: &AdoptionRecord,
    cas: u64,
) -> Result<u64, VaultError> {
    let path = adoption_path(&target.instance, &target.client.name);
    let value = serde_json::to_value(record).unwrap_or_default();
    store.write_json_cas(&path, &value, cas).await
}

/// Why an adopted client's rotation is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Adoption {
    /// Never rotated by Warden, no secret in Vault, no cutover yet: never due.
    Held {
        /// Why, for people.
        reason: String,
    },
    /// A cutover is set for a later time: due from then on.
    CutoverAt {
        /// The cutover time.
        at: DateTime<Utc>,
        /// Why, for people.
        reason: String,
    },
    /// Alternating: the cutover rotated the twin; the declared client's own secret (which the
    /// consumer may still use) is not rotated until the owner confirms `--switched`.
    AwaitingSwitch {
        /// Why, for people.
        reason: String,
    },
}

impl Adoption {
    /// The reason, for people.
    pub fn reason(&self) -> &str {
        match self {
            Adoption::Held { reason }
            | Adoption::CutoverAt { reason, .. }
            | Adoption::AwaitingSwitch { reason } => reason,
        }
    }

    /// `held`, `cutover_at` or `awaiting_switch`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Adoption::Held { .. } => "held",
            Adoption::CutoverAt { .. } => "cutover_at",
            Adoption::AwaitingSwitch { .. } => "awaiting_switch",
        }
    }
}

/// The facts the adoption rule looks at.
#[derive(Debug, Clone, Copy)]
pub struct AdoptionFacts<'a> {
    /// `[client.rotation] adopt`.
    pub policy: AdoptPolicy,
    /// The declared strategy.
    pub strategy: RotationStrategy,
    /// Whether Vault holds a secret at `<vault_path>`.
    pub has_secret: bool,
    /// The adoption record, if `wardenctl adopt` wrote one.
    pub record: Option<&'a AdoptionRecord>,
    /// `INSTANCE/CLIENT`, for the hint in the reason.
    pub label: &'a str,
}

/// The adoption rule: `Some` while the client's rotation is held (never due), `None` when it
/// rotates normally.
pub(crate) fn adoption_state(
    facts: AdoptionFacts<'_>,
    marker: &Marker,
    now: DateTime<Utc>,
) -> Option<Adoption> {
    if facts.policy == AdoptPolicy::Rotate {
        return None;
    }
    let label = facts.label;
    let never_rotated = marker.state == SecretState::Never && marker.rotated_at.is_none();
    let cutover = facts.record.and_then(|r| r.cutover_at);
    if never_rotated && !facts.has_secret {
        return match cutover {
            None => Some(Adoption::Held {
                reason: format!(
                    "adopted: Warden has never rotated it and Vault does not hold its current secret, so its consumers hold a secret Warden never saw; held until cutover (`wardenctl adopt '{label}' --cutover now|at TIME`, or `adopt = \"rotate\"` in the desired state)"
                ),
            }),
            Some(at) if at > now => Some(Adoption::CutoverAt {
                at,
                reason: format!("adopted: held until the cutover at {}", fmt_time(at)),
            }),
            Some(_) => None,
        };
    }
    let switched = facts.record.and_then(|r| r.switched_at).is_some();
    if facts.strategy == RotationStrategy::Alternating
        && cutover.is_some_and(|at| at <= now)
        && !switched
        && marker.current == Some(Slot::B)
    {
        return Some(Adoption::AwaitingSwitch {
            reason: format!(
                "adopted: the cutover stored the `(alternate)` twin's secret in Vault; the client's own secret, which its consumers may still use, is not rotated until the owner confirms they read Vault (`wardenctl adopt '{label}' --switched`)"
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::keys;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap()
    }

    fn facts<'a>(
        policy: AdoptPolicy,
        strategy: RotationStrategy,
        has_secret: bool,
        record: Option<&'a AdoptionRecord>,
    ) -> AdoptionFacts<'a> {
        AdoptionFacts {
            policy,
            strategy,
            has_secret,
            record,
            label: "acme/Sync",
        }
    }

    fn rotated(current: Option<&str>) -> Marker {
        let mut m = BTreeMap::new();
        m.insert(keys::STATE.to_string(), "ok".to_string());
        m.insert(keys::ROTATED_AT.to_string(), fmt_time(t(1)));
        if let Some(c) = current {
            m.insert(keys::CURRENT.to_string(), c.to_string());
        }
        Marker::parse(&m)
    }

    #[test]
    fn never_rotated_without_a_secret_in_vault_is_held() {
        use AdoptPolicy::*;
        use RotationStrategy::*;
        let never = Marker::default();
        let held = adoption_state(facts(Hold, Single, false, None), &never, t(5)).unwrap();
        assert_eq!(held.as_str(), "held");
        assert!(held.reason().contains("--cutover now|at TIME"), "{held:?}");
        // consent, a secret in Vault, or a rotation by Warden: not adopted
        assert_eq!(
            adoption_state(facts(Rotate, Single, false, None), &never, t(5)),
            None
        );
        assert_eq!(
            adoption_state(facts(Hold, Single, true, None), &never, t(5)),
            None
        );
        assert_eq!(
            adoption_state(facts(Hold, Single, false, None), &rotated(None), t(5)),
            None
        );
    }

    #[test]
    fn a_cutover_releases_the_hold_at_its_time() {
        let record = AdoptionRecord {
            cutover_at: Some(t(6)),
            ..Default::default()
        };
        let f = facts(
            AdoptPolicy::Hold,
            RotationStrategy::Single,
            false,
            Some(&record),
        );
        let before = adoption_state(f, &Marker::default(), t(5)).unwrap();
        assert_eq!(before.as_str(), "cutover_at");
        assert!(before.reason().contains("2026-03-01T06:00:00Z"));
        assert_eq!(adoption_state(f, &Marker::default(), t(6)), None);
    }

    #[test]
    fn alternating_waits_for_the_owner_to_confirm_the_switch() {
        let mut record = AdoptionRecord {
            cutover_at: Some(t(1)),
            ..Default::default()
        };
        fn f(r: &AdoptionRecord) -> AdoptionFacts<'_> {
            facts(
                AdoptPolicy::Hold,
                RotationStrategy::Alternating,
                true,
                Some(r),
            )
        }
        let waiting = adoption_state(f(&record), &rotated(Some("b")), t(5)).unwrap();
        assert_eq!(waiting.as_str(), "awaiting_switch");
        assert!(waiting.reason().contains("--switched"));
        record.switched_at = Some(t(4));
        assert_eq!(adoption_state(f(&record), &rotated(Some("b")), t(5)), None);
        // without a cutover record (a client Warden always managed) nothing waits
        let plain = facts(AdoptPolicy::Hold, RotationStrategy::Alternating, true, None);
        assert_eq!(adoption_state(plain, &rotated(Some("b")), t(5)), None);
    }

    #[test]
    fn records_round_trip_and_paths_are_slugged() {
        assert_eq!(
            adoption_path("Acme Prod", "Inventory Sync"),
            "_warden/adopt/acme-prod/inventory-sync"
        );
        let r = AdoptionRecord {
            cutover_at: Some(t(1)),
            cutover_by: Some("uid 0".into()),
            ..Default::default()
        };
        let json = serde_json::to_value(&r).unwrap();
        assert!(json.get("switched_at").is_none());
        assert_eq!(serde_json::from_value::<AdoptionRecord>(json).unwrap(), r);
    }
}
