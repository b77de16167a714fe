//! Jamf Cloud node lag: a write is visible at once on the node that served it and on
//! the other node only `lag` later. Each pending write keeps the value before and after;
//! a node sees the latest write visible to it, or the value before the oldest pending write.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// A Jamf Cloud web-app node (the simulator runs at most two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Node {
    A,
    B,
}

impl Node {
    /// The value of the `jpro-ingress` cookie that pins a client to this node.
    pub fn cookie_value(self) -> &'static str {
        match self {
            Node::A => "node-a",
            Node::B => "node-b",
        }
    }

    /// The node a `jpro-ingress` cookie value names.
    pub fn from_cookie_value(v: &str) -> Option<Node> {
        match v {
            "node-a" => Some(Node::A),
            "node-b" => Some(Node::B),
            _ => None,
        }
    }

    /// `a` or `b` (the `x-sim-node` response header).
    pub fn label(self) -> &'static str {
        match self {
            Node::A => "a",
            Node::B => "b",
        }
    }
}

/// Where and when an operation happens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub node: Node,
    pub now_ms: i64,
}

#[derive(Debug, Clone)]
struct Pending<T> {
    at_ms: i64,
    node: Node,
    before: Option<T>,
    after: Option<T>,
}

/// Pending (not yet replicated) writes per entity id.
#[derive(Debug, Clone)]
pub(crate) struct LagLog<T> {
    pending: HashMap<u64, VecDeque<Pending<T>>>,
}

impl<T> Default for LagLog<T> {
    fn default() -> Self {
        Self {
            pending: HashMap::new(),
        }
    }
}

impl<T> LagLog<T> {
    pub(crate) fn record(&mut self, id: u64, at: At, before: Option<T>, after: Option<T>) {
        self.pending.entry(id).or_default().push_back(Pending {
            at_ms: at.now_ms,
            node: at.node,
            before,
            after,
        });
    }

    /// Drops writes that every node sees by now.
    pub(crate) fn prune(&mut self, now_ms: i64, lag_ms: i64) {
        self.pending.retain(|_, q| {
            while q
                .front()
                .is_some_and(|p| p.at_ms.saturating_add(lag_ms) <= now_ms)
            {
                q.pop_front();
            }
            !q.is_empty()
        });
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    pub(crate) fn has(&self, id: u64) -> bool {
        self.pending.contains_key(&id)
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending.keys().copied()
    }

    /// What `at.node` sees of entity `id`, given its current (authoritative) value.
    pub(crate) fn view<'a>(
        &'a self,
        id: u64,
        current: Option<&'a T>,
        at: At,
        lag_ms: i64,
    ) -> Option<&'a T> {
        let Some(q) = self.pending.get(&id) else {
            return current;
        };
        for p in q.iter().rev() {
            if p.node == at.node || p.at_ms.saturating_add(lag_ms) <= at.now_ms {
                return p.after.as_ref();
            }
        }
        q.front().and_then(|p| p.before.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: Node, now_ms: i64) -> At {
        At { node, now_ms }
    }

    #[test]
    fn other_node_sees_writes_after_the_lag() {
        let mut log: LagLog<&str> = LagLog::default();
        log.record(1, at(Node::A, 100), None, Some("v1"));
        let current = Some(&"v1");
        assert_eq!(log.view(1, current, at(Node::A, 100), 50), Some(&"v1"));
        assert_eq!(log.view(1, current, at(Node::B, 120), 50), None);
        assert_eq!(log.view(1, current, at(Node::B, 150), 50), Some(&"v1"));
        log.record(1, at(Node::A, 200), Some("v1"), Some("v2"));
        let current = Some(&"v2");
        assert_eq!(log.view(1, current, at(Node::B, 210), 50), Some(&"v1"));
        log.prune(260, 50);
        assert!(!log.has(1));
        assert_eq!(log.view(1, current, at(Node::B, 260), 50), Some(&"v2"));
    }
}
