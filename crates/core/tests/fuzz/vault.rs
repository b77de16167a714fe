//! What Warden decodes itself from Vault answers (vaultrs parses the HTTP envelope): a
//! secret's data, rotation markers in custom metadata, rotation lock records. Anyone who can
//! write those paths in Vault controls these values.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::Value;
use warden_core::rotation::fuzzing::{check_lock, read_marker};
use warden_core::vault::fuzzing::decode_secret_data;

use crate::common::{assert_clear, cases, json, mutated_json};

use warden_core::rotation::keys;

const KEYS: &[&str] = &[
    keys::STATE,
    keys::DAEMON,
    keys::ATTEMPT,
    keys::PENDING_SINCE,
    keys::EXPIRES_AT,
    keys::BASE_VERSION,
    keys::SLOT,
    keys::STORED_VERSION,
    keys::VERSION,
    keys::ROTATED_AT,
    keys::NEXT_DUE,
];

fn marker_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("pending".to_owned()),
        Just("stored".to_owned()),
        Just("idle".to_owned()),
        Just("2026-12-06T04:00:00Z".to_owned()),
        Just("9999999999999999999999".to_owned()),
        Just("-1".to_owned()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("+275760-09-13T00:00:00Z".to_owned()),
        ".{0,24}",
    ]
}

fn lock_samples() -> Vec<Vec<u8>> {
    vec![br#"{"daemon":"host-a","since":"2026-12-06T04:00:00Z","attempt":1,"expires_at":"2026-12-06T04:05:00Z","token":"t","released":false}"#.to_vec()]
}

fn now() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..8_000_000_000).prop_map(|s| DateTime::from_timestamp(s, 0).expect("in range"))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn secret_data(data in json()) {
        if let Err(e) = decode_secret_data(data, "jamf/instances/prod/clients/backup") {
            assert_clear("vault data", &e);
        }
    }

    #[test]
    fn rotation_markers(
        custom in prop::collection::btree_map(
            prop_oneof![prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned), ".{0,12}"],
            marker_value(),
            0..14,
        ),
        now in now(),
    ) {
        let view = read_marker(&custom, "host-a", now);
        prop_assert!(!view.state.is_empty());
        if let Some((holder, _)) = &view.held_by_other {
            prop_assert!(view.unfinished && holder != "host-a");
        }
    }

    #[test]
    fn lock_records(
        record in prop_oneof![json(), mutated_json(lock_samples()).prop_filter_map("json", |b| serde_json::from_slice::<Value>(&b).ok())],
        now in now(),
    ) {
        if let Err(holder) = check_lock(&record, "host-b", now) {
            prop_assert!(holder.starts_with("held by "), "{}", holder);
        }
    }
}

#[test]
fn an_unreadable_marker_is_idle() {
    let mut custom = BTreeMap::new();
    custom.insert(keys::STATE.to_owned(), "\u{0}🦀".to_owned());
    let view = read_marker(
        &custom,
        "host-a",
        DateTime::from_timestamp(1_765_000_000, 0).unwrap(),
    );
    assert!(!view.unfinished);
}
