//! The state of a client's secret, for `wardenctl secrets`: read from Vault only.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use super::adopt::{Adoption, AdoptionFacts, adoption_state, read_adoption};
use super::marker::{Marker, SecretState, Slot};
use super::policy::next_due;
use super::scope::MintedScope;
use super::store::SecretStore;
use super::target::RotationTarget;
use crate::config::{AdoptPolicy, RotationStrategy};
use crate::vault::VaultError;

/// A client's secret as Vault records it. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretStatus {
    /// Instance name.
    pub instance: String,
    /// Declared client name.
    pub client: String,
    /// Full Vault path (prefix included) consumers read.
    pub vault_path: String,
    /// Its current version (`None`: nothing stored).
    pub version: Option<u64>,
    /// When Warden last rotated it (`None`: never).
    pub rotated_at: Option<DateTime<Utc>>,
    /// When it is due, from the declared policy (`None`: never by policy).
    pub next_due: Option<DateTime<Utc>>,
    /// Whether it is due now (never while adopted and held, or refused out of band).
    pub due: bool,
    /// Adopted and held (never due), with the reason; `None`: rotates normally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adoption: Option<Adoption>,
    /// The last rotation was refused because the secret in Vault no longer gets a token
    /// (changed out of band): when, and why. Not rotated again until an operator runs
    /// `wardenctl rotate --yes --accept-out-of-band`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
    /// `ok`, `pending`, `stored`, `never`, or a value from a newer Warden.
    pub state: SecretState,
    /// Declared strategy.
    pub strategy: RotationStrategy,
    /// Alternating: the slot `<vault_path>` holds.
    pub current_slot: Option<Slot>,
    /// Time since `rotated_at`.
    #[serde(rename = "age_secs", serialize_with = "ser_secs")]
    pub age: Option<Duration>,
    /// For `pending`/`stored`: since when, and which daemon.
    pub pending_since: Option<DateTime<Utc>>,
    /// The daemon that last wrote the marker.
    pub daemon: Option<String>,
    /// The last failure recorded, if the last attempt failed.
    pub last_error: Option<String>,
    /// The roles the current secret was minted with (`None`: rotated before Warden recorded
    /// them, or never rotated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<MintedScope>,
}

/// A rotation refused by the out-of-band check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// When.
    pub at: DateTime<Utc>,
    /// Why (no secret in it).
    pub cause: String,
}

fn ser_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_secs()),
        None => s.serialize_none(),
    }
}

/// Reads the status of `target`'s secret at `now`.
pub async fn secret_status<S: SecretStore>(
    store: &S,
    target: &RotationTarget,
    now: DateTime<Utc>,
) -> Result<SecretStatus, VaultError> {
    let meta = store.read_metadata(target.vault_path()).await?;
    let version = meta.as_ref().map(|m| m.current_version).filter(|v| *v > 0);
    let marker = Marker::parse(&meta.map(|m| m.custom).unwrap_or_default());
    let policy = &target.client.rotation;
    let due_at = next_due(policy, marker.rotated_at, now);
    // the record matters only to an adopted client, or to an alternating one whose twin
    // serves (waiting for `--switched`): one Vault read less for every other client
    let never = marker.state == SecretState::Never && marker.rotated_at.is_none();
    let may_matter = (never && version.is_none())
        || (policy.strategy == RotationStrategy::Alternating && marker.current == Some(Slot::B));
    let record = if policy.adopt == AdoptPolicy::Hold && may_matter {
        read_adoption(store, target).await?.map(|r| r.value)
    } else {
        None
    };
    let label = format!("{}/{}", target.instance, target.client.name);
    let facts = AdoptionFacts {
        policy: policy.adopt,
        strategy: policy.strategy,
        has_secret: version.is_some(),
        record: record.as_ref(),
        label: &label,
    };
    let adoption = adoption_state(facts, &marker, now);
    let refused = marker.refused_at.map(|at| Refusal {
        at,
        cause: marker.refused.clone().unwrap_or_default(),
    });
    let held = adoption.is_some() || refused.is_some();
    Ok(SecretStatus {
        instance: target.instance.clone(),
        client: target.client.name.clone(),
        vault_path: store.full_path(target.vault_path()),
        version,
        rotated_at: marker.rotated_at,
        next_due: due_at,
        due: marker.is_unfinished() || (!held && due_at.is_some_and(|d| d <= now)),
        adoption,
        refused,
        state: marker.state.clone(),
        strategy: policy.strategy,
        current_slot: match policy.strategy {
            RotationStrategy::Alternating => marker.current,
            RotationStrategy::Single => None,
        },
        age: marker.rotated_at.and_then(|t| (now - t).to_std().ok()),
        pending_since: marker
            .is_unfinished()
            .then_some(marker.pending_since)
            .flatten(),
        daemon: marker.daemon,
        last_error: marker.last_error,
        scope: marker.scope,
    })
}

/// `3d4h`, `5h12m`, `7m`, `42s`.
pub fn fmt_age(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if days > 0 {
        format!("{days}d{hours}h")
    } else if hours > 0 {
        format!("{hours}h{mins}m")
    } else if mins > 0 {
        format!("{mins}m")
    } else {
        format!("{s}s")
    }
}

fn fmt_opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

impl fmt::Display for SecretStatus {
    /// One line: `client  state  vN  rotated … (age)  next due …  strategy[/slot]  path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let strategy = match (self.strategy, self.current_slot) {
            (RotationStrategy::Single, _) => "single".to_string(),
            (RotationStrategy::Alternating, Some(slot)) => format!("alternating/{slot}"),
            (RotationStrategy::Alternating, None) => "alternating".to_string(),
        };
        write!(
            f,
            "{}  {}{}  {}  rotated {}{}  next due {}  {}  {}",
            self.client,
            self.state,
            if self.due { " (due)" } else { "" },
            self.version
                .map_or_else(|| "v-".to_string(), |v| format!("v{v}")),
            fmt_opt_time(self.rotated_at),
            self.age
                .map_or_else(String::new, |a| format!(" ({} ago)", fmt_age(a))),
            self.next_due
                .map_or_else(|| "never".to_string(), |t| fmt_opt_time(Some(t))),
            strategy,
            self.vault_path,
        )?;
        if let Some(since) = self.pending_since {
            write!(
                f,
                "  in progress since {} by {}",
                fmt_opt_time(Some(since)),
                self.daemon.as_deref().unwrap_or("?")
            )?;
        }
        if let Some(a) = &self.adoption {
            write!(f, "  {}", a.reason())?;
        }
        if let Some(r) = &self.refused {
            write!(
                f,
                "  rotation refused at {}: {}",
                fmt_opt_time(Some(r.at)),
                r.cause
            )?;
        }
        if let Some(e) = &self.last_error {
            write!(f, "  last error: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClientRotation, DesiredClient};
    use crate::rotation::{MemoryStore, keys};
    use crate::schedule::Schedule;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn target(strategy: RotationStrategy) -> RotationTarget {
        target_with(strategy, AdoptPolicy::Rotate)
    }

    fn target_with(strategy: RotationStrategy, adopt: AdoptPolicy) -> RotationTarget {
        RotationTarget::new(
            "acme",
            &Schedule::off(),
            DesiredClient {
                name: "Inventory Sync".into(),
                roles: vec!["Inventory Read".into()],
                enabled: true,
                token_lifetime: 300,
                owner: "o".into(),
                purpose: "p".into(),
                vault_path: None,
                rotation: ClientRotation {
                    schedule: Some(Schedule::parse("0 4 * * SUN", None).unwrap()),
                    max_age: Some(Duration::from_secs(3 * 86_400)),
                    strategy,
                    adopt,
                },
                source: std::path::Path::new("").into(),
            },
        )
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn never_rotated_is_due_and_renders() {
        let s = MemoryStore::new();
        let st = secret_status(&s, &target(RotationStrategy::Single), at(3, 12))
            .await
            .unwrap();
        assert_eq!(st.state, SecretState::Never);
        assert_eq!((st.version, st.rotated_at, st.age), (None, None, None));
        assert!(st.due);
        assert_eq!(st.next_due, Some(at(3, 12)));
        assert_eq!(
            st.to_string(),
            "Inventory Sync  never (due)  v-  rotated -  next due 2026-03-03T12:00:00Z  single  instances/acme/clients/inventory-sync"
        );
    }

    #[tokio::test]
    async fn adopted_clients_are_held_not_due() {
        use crate::rotation::{AdoptionRecord, write_adoption};
        let s = MemoryStore::new();
        let t = target_with(RotationStrategy::Single, AdoptPolicy::Hold);
        let st = secret_status(&s, &t, at(3, 12)).await.unwrap();
        assert!(!st.due, "an adopted client is held, not due");
        assert_eq!(st.adoption.as_ref().map(Adoption::as_str), Some("held"));
        let line = st.to_string();
        assert!(line.contains("never  v-"), "{line}");
        assert!(
            line.contains("adopted: Warden has never rotated it"),
            "{line}"
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["adoption"]["state"], "held");

        // a cutover later than now: still held; at or after it: due
        let record = AdoptionRecord {
            cutover_at: Some(at(3, 13)),
            ..Default::default()
        };
        write_adoption(&s, &t, &record, 0).await.unwrap();
        let st = secret_status(&s, &t, at(3, 12)).await.unwrap();
        assert_eq!(
            st.adoption.as_ref().map(Adoption::as_str),
            Some("cutover_at")
        );
        assert!(!st.due);
        let st = secret_status(&s, &t, at(3, 13)).await.unwrap();
        assert_eq!((st.adoption, st.due), (None, true));

        // a secret someone else wrote to Vault: not adopted (the out-of-band check protects it)
        let other = target_with(RotationStrategy::Single, AdoptPolicy::Hold);
        let s2 = MemoryStore::new();
        let mut data = crate::vault::SecretMap::new();
        data.insert("client_id", secrecy::SecretString::from("cid".to_string()));
        s2.write_secret_cas(other.vault_path(), &data, 0)
            .await
            .unwrap();
        let st = secret_status(&s2, &other, at(3, 12)).await.unwrap();
        assert_eq!((st.adoption, st.due), (None, true));
    }

    #[tokio::test]
    async fn a_refused_rotation_is_not_due_until_accepted() {
        let s = MemoryStore::new();
        let t = target(RotationStrategy::Single);
        let mut m = BTreeMap::new();
        m.insert(
            keys::REFUSED_AT.to_string(),
            "2026-03-03T11:00:00Z".to_string(),
        );
        m.insert(
            keys::REFUSED.to_string(),
            "the secret in vault was refused".to_string(),
        );
        s.write_custom_metadata(t.vault_path(), &m).await.unwrap();
        let st = secret_status(&s, &t, at(3, 12)).await.unwrap();
        assert!(!st.due);
        let line = st.to_string();
        assert!(
            line.ends_with(
                "rotation refused at 2026-03-03T11:00:00Z: the secret in vault was refused"
            ),
            "{line}"
        );
    }

    #[tokio::test]
    async fn ok_and_pending_states_render() {
        let s = MemoryStore::new();
        let t = target(RotationStrategy::Alternating);
        let mut m = BTreeMap::new();
        m.insert(keys::STATE.to_string(), "ok".to_string());
        m.insert(
            keys::ROTATED_AT.to_string(),
            "2026-03-02T10:00:00Z".to_string(),
        );
        m.insert(keys::CURRENT.to_string(), "b".to_string());
        m.insert(keys::DAEMON.to_string(), "d1".to_string());
        s.write_custom_metadata(t.vault_path(), &m).await.unwrap();
        let st = secret_status(&s, &t, at(3, 12)).await.unwrap();
        assert_eq!(st.state, SecretState::Ok);
        assert!(!st.due);
        // max_age (3 days) is before the schedule's next Sunday slot
        assert_eq!(st.next_due, Some(at(5, 10)));
        assert_eq!(st.current_slot, Some(Slot::B));
        assert_eq!(st.age, Some(Duration::from_secs(26 * 3600)));
        assert_eq!(
            st.to_string(),
            "Inventory Sync  ok  v-  rotated 2026-03-02T10:00:00Z (1d2h ago)  next due 2026-03-05T10:00:00Z  alternating/b  instances/acme/clients/inventory-sync"
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["age_secs"], 26 * 3600);
        assert_eq!(json["current_slot"], "b");

        m.insert(keys::STATE.to_string(), "pending".to_string());
        m.insert(
            keys::PENDING_SINCE.to_string(),
            "2026-03-03T11:59:00Z".to_string(),
        );
        m.insert(keys::LAST_ERROR.to_string(), "mint failed".to_string());
        s.write_custom_metadata(t.vault_path(), &m).await.unwrap();
        let st = secret_status(&s, &t, at(3, 12)).await.unwrap();
        assert!(st.due, "an unfinished rotation is due for recovery");
        let line = st.to_string();
        assert!(
            line.ends_with("in progress since 2026-03-03T11:59:00Z by d1  last error: mint failed"),
            "{line}"
        );
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(fmt_age(Duration::from_secs(42)), "42s");
        assert_eq!(fmt_age(Duration::from_secs(7 * 60 + 5)), "7m");
        assert_eq!(fmt_age(Duration::from_secs(5 * 3600 + 12 * 60)), "5h12m");
        assert_eq!(fmt_age(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3d4h");
    }
}
