//! Which live daemon should own each instance: rendezvous (highest-random-weight) hashing with
//! bounded load. Pure: every daemon that sees the same live members computes the same answer,
//! with no message between them.
//!
//! Each daemon gets `n / m` instances, the first `n % m` daemons (by id) one more, so the spread
//! is even to one instance. Instances are placed in name order, each on the daemon that ranks
//! highest for it (a hash of daemon id and instance name) among those with room left. A daemon
//! joining or leaving moves about the share it takes or leaves, not the whole fleet, because an
//! instance's ranking of the daemons does not depend on the other daemons.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The rank of `daemon` for `instance`: higher wins.
pub fn score(daemon: &str, instance: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(daemon.as_bytes());
    h.update([0u8]);
    h.update(instance.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The owner each instance should have among `daemons` (live daemon ids). Empty when there is
/// no daemon. Duplicates in either list count once.
pub fn assign<'a>(instances: &[&'a str], daemons: &[&'a str]) -> BTreeMap<&'a str, &'a str> {
    let mut daemons: Vec<&str> = daemons.to_vec();
    daemons.sort_unstable();
    daemons.dedup();
    let mut instances: Vec<&str> = instances.to_vec();
    instances.sort_unstable();
    instances.dedup();
    let mut out = BTreeMap::new();
    if daemons.is_empty() {
        return out;
    }
    let (n, m) = (instances.len(), daemons.len());
    let mut room: Vec<usize> = (0..m).map(|i| n / m + usize::from(i < n % m)).collect();
    for instance in instances {
        let best = (0..m)
            .filter(|&i| room[i] > 0)
            .max_by_key(|&i| (score(daemons[i], instance), std::cmp::Reverse(i)));
        // total room equals the number of instances: there is always one
        if let Some(i) = best {
            room[i] -= 1;
            out.insert(instance, daemons[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i:03}")).collect()
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    fn loads<'a>(a: &BTreeMap<&'a str, &'a str>) -> BTreeMap<&'a str, usize> {
        let mut l = BTreeMap::new();
        for d in a.values() {
            *l.entry(*d).or_default() += 1;
        }
        l
    }

    proptest! {
        #[test]
        fn every_instance_has_one_owner_and_the_spread_is_even_to_one(
            n in 0usize..300, m in 1usize..12
        ) {
            let inst = names("site-", n);
            let daemons = names("host-", m);
            let a = assign(&refs(&inst), &refs(&daemons));
            prop_assert_eq!(a.len(), n);
            let l = loads(&a);
            for d in a.values() {
                prop_assert!(daemons.iter().any(|x| x == d));
            }
            let max = l.values().copied().max().unwrap_or(0);
            let min = if l.len() < m { 0 } else { l.values().copied().min().unwrap_or(0) };
            prop_assert!(max - min <= 1, "loads {:?}", l);
        }

        #[test]
        fn the_answer_does_not_depend_on_the_order_of_the_lists(
            n in 0usize..100, m in 1usize..8, seed in any::<u64>()
        ) {
            let inst = names("i", n);
            let daemons = names("d", m);
            let a = assign(&refs(&inst), &refs(&daemons));
            let mut i2 = refs(&inst);
            let mut d2 = refs(&daemons);
            // a deterministic shuffle
            let k = (seed as usize) % (n.max(1));
            let len = i2.len();
            i2.rotate_left(k.min(len));
            d2.reverse();
            prop_assert_eq!(a, assign(&i2, &d2));
        }
    }

    #[test]
    fn no_daemon_owns_nothing_assigned() {
        assert!(assign(&["a", "b"], &[]).is_empty());
    }

    /// A fourth daemon joining a fleet of 300 on three takes its share; most instances stay.
    #[test]
    fn a_daemon_joining_moves_about_its_share() {
        let inst = names("site-", 300);
        let three = ["host-a", "host-b", "host-c"];
        let four = ["host-a", "host-b", "host-c", "host-d"];
        let before = assign(&refs(&inst), &three);
        let after = assign(&refs(&inst), &four);
        let moved = inst
            .iter()
            .filter(|i| before[i.as_str()] != after[i.as_str()])
            .count();
        // host-d's share is 75; bounded load moves a few more than that
        assert!(moved >= 75, "{moved}");
        assert!(moved <= 75 * 2, "{moved} of 300 moved");
        // and a daemon leaving gives its instances to the others; the rest mostly stay
        let two = ["host-a", "host-b"];
        let after = assign(&refs(&inst), &two);
        let kept = inst
            .iter()
            .filter(|i| before[i.as_str()] != "host-c" && before[i.as_str()] == after[i.as_str()])
            .count();
        assert!(kept >= 150, "only {kept} of 200 stayed put");
    }
}
