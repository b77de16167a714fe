//! The global limit on rotations per minute (`daemon.max_rotations_per_minute`), on monotonic
//! time ([`clock::instant`]): a slot is a moment, and only how long ago it was matters.

use std::collections::VecDeque;
use std::time::Duration;

use std::time::Instant;

use warden_core::clock;

/// At most N rotations per minute over all instances.
#[derive(Debug, Default)]
pub struct RateLimit {
    recent: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl RateLimit {
    /// Gives back a slot taken by [`acquire`](Self::acquire) for an attempt that minted nothing.
    pub async fn release(&self, at: Instant) {
        let mut recent = self.recent.lock().await;
        if let Some(i) = recent.iter().position(|t| *t == at) {
            recent.remove(i);
        }
    }

    /// Waits for a slot under `per_minute` (0 means no limit); returns the slot's time stamp.
    pub async fn acquire(&self, per_minute: u32) -> Option<Instant> {
        if per_minute == 0 {
            return None;
        }
        loop {
            let wait = {
                let mut recent = self.recent.lock().await;
                let now = clock::instant();
                while recent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    recent.pop_front();
                }
                if recent.len() < per_minute as usize {
                    recent.push_back(now);
                    return Some(now);
                }
                recent
                    .front()
                    .map(|t| Duration::from_secs(60).saturating_sub(now.duration_since(*t)))
                    .unwrap_or(Duration::from_millis(100))
            };
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn released_slots_do_not_count() {
        let rl = RateLimit::default();
        let a = rl.acquire(2).await.expect("a slot");
        let _b = rl.acquire(2).await.expect("a slot");
        assert_eq!(rl.recent.lock().await.len(), 2);
        rl.release(a).await;
        assert_eq!(rl.recent.lock().await.len(), 1);
        // a third acquire fits again without waiting for the minute to pass
        assert!(rl.acquire(2).await.is_some());
        assert_eq!(rl.recent.lock().await.len(), 2);
        assert!(rl.acquire(0).await.is_none(), "0 means no limit");
    }
}
