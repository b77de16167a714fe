//! Fault injection per endpoint: latency, random 500/503, "fail the next N", 429 with
//! `Retry-After`, and hanging requests. Faults apply before the request is processed,
//! unless the rule says `after_commit` (the action is performed, then the fault answers).

use std::time::Duration;

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Response header on every injected fault answer.
pub const FAULT_HEADER: &str = "x-sim-fault";

fn any_endpoint() -> String {
    "*".to_owned()
}

/// One fault rule.
///
/// `endpoint` is `*` (every API request), or `METHOD ROUTE` where `METHOD` may be `*`
/// and `ROUTE` is a route pattern such as `/api/v1/api-integrations/{id}/client-credentials`,
/// a concrete path (`/api/v1/api-roles/7`), or `*`. Paths are relative to the instance.
///
/// JSON: `{"endpoint":"POST /api/v1/api-roles","kind":"fail_next","count":1,"status":503,"after_commit":false}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(default = "any_endpoint")]
    pub endpoint: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Perform the action, then answer with the fault (for example "secret minted but
    /// the answer was lost"). Ignored by `latency`.
    #[serde(default)]
    pub after_commit: bool,
}

/// What a fault rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Adds latency to every matching request.
    Latency { ms: u64 },
    /// Answers this share (0..1) of matching requests with 500 or 503, at random.
    ErrorRate { rate: f64 },
    /// Answers the next `count` matching requests with `status`.
    FailNext { count: u32, status: u16 },
    /// Answers the next `count` matching requests with 429 and `Retry-After: retry_after_secs`.
    RateLimit { count: u32, retry_after_secs: u64 },
    /// Never answers the next `count` matching requests (all of them when `count` is null)
    /// until the client gives up or the simulator shuts down.
    Hang {
        #[serde(default)]
        count: Option<u32>,
    },
}

impl FaultRule {
    fn new(endpoint: &str, kind: FaultKind) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            kind,
            after_commit: false,
        }
    }

    /// Adds `latency` to matching requests.
    pub fn latency(endpoint: &str, latency: Duration) -> Self {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        Self::new(endpoint, FaultKind::Latency { ms })
    }

    /// Answers a share of matching requests with 500/503.
    pub fn error_rate(endpoint: &str, rate: f64) -> Self {
        Self::new(endpoint, FaultKind::ErrorRate { rate })
    }

    /// Answers the next `count` matching requests with `status`.
    pub fn fail_next(endpoint: &str, count: u32, status: u16) -> Self {
        Self::new(endpoint, FaultKind::FailNext { count, status })
    }

    /// Answers the next `count` matching requests with 429 and `Retry-After`.
    pub fn rate_limit(endpoint: &str, count: u32, retry_after_secs: u64) -> Self {
        Self::new(
            endpoint,
            FaultKind::RateLimit {
                count,
                retry_after_secs,
            },
        )
    }

    /// Hangs the next `count` matching requests (all of them with `None`).
    pub fn hang(endpoint: &str, count: Option<u32>) -> Self {
        Self::new(endpoint, FaultKind::Hang { count })
    }

    /// Performs the action first, then answers with the fault.
    pub fn after_commit(mut self) -> Self {
        self.after_commit = true;
        self
    }

    /// Checks the endpoint syntax and the parameters.
    pub(crate) fn validate(&self) -> Result<(), SimError> {
        let bad = |msg: String| SimError::invalid_field("endpoint", msg);
        let e = self.endpoint.trim();
        if e != "*" {
            let (method, route) = e.split_once(char::is_whitespace).ok_or_else(|| {
                bad(format!(
                    "endpoint '{e}' must be '*' or 'METHOD /route/pattern'"
                ))
            })?;
            let route = route.trim();
            if !(method == "*" || method.chars().all(|c| c.is_ascii_alphabetic())) {
                return Err(bad(format!("invalid method in endpoint '{e}'")));
            }
            if !(route == "*" || route.starts_with('/')) {
                return Err(bad(format!("invalid route in endpoint '{e}'")));
            }
        }
        match &self.kind {
            FaultKind::ErrorRate { rate } if !(0.0..=1.0).contains(rate) => Err(
                SimError::invalid_field("rate", "rate must be between 0 and 1"),
            ),
            FaultKind::FailNext { status, .. } if !(100..=599).contains(status) => Err(
                SimError::invalid_field("status", "status must be between 100 and 599"),
            ),
            _ => Ok(()),
        }
    }

    fn matches(&self, method: &str, pattern: &str, path: &str) -> bool {
        let e = self.endpoint.trim();
        if e == "*" {
            return true;
        }
        let Some((m, r)) = e.split_once(char::is_whitespace) else {
            return false;
        };
        let r = r.trim();
        (m == "*" || m.eq_ignore_ascii_case(method)) && (r == "*" || r == pattern || r == path)
    }

    fn exhausted(&self) -> bool {
        matches!(
            self.kind,
            FaultKind::FailNext { count: 0, .. }
                | FaultKind::RateLimit { count: 0, .. }
                | FaultKind::Hang { count: Some(0) }
        )
    }
}

/// How an injected fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Status(u16),
    RateLimited(u64),
    Hang,
}

/// The faults that apply to one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub answer: Option<Answer>,
    pub after_commit: bool,
}

/// The fault rules of an instance.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    pub(crate) fn rules(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    pub(crate) fn set(&mut self, rules: Vec<FaultRule>) -> Result<(), SimError> {
        rules.iter().try_for_each(FaultRule::validate)?;
        self.rules = rules;
        self.rules.retain(|r| !r.exhausted());
        Ok(())
    }

    pub(crate) fn add(&mut self, rule: FaultRule) -> Result<(), SimError> {
        rule.validate()?;
        if !rule.exhausted() {
            self.rules.push(rule);
        }
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Decides the faults for one request: latencies add up; the first matching rule
    /// that answers wins (its count goes down; exhausted rules are removed).
    pub(crate) fn plan(&mut self, method: &str, pattern: &str, path: &str) -> Plan {
        let mut plan = Plan::default();
        let mut rng = rand::rng();
        for rule in &mut self.rules {
            if !rule.matches(method, pattern, path) {
                continue;
            }
            let after_commit = rule.after_commit;
            let answer = match &mut rule.kind {
                FaultKind::Latency { ms } => {
                    plan.latency = plan.latency.saturating_add(Duration::from_millis(*ms));
                    None
                }
                _ if plan.answer.is_some() => None,
                FaultKind::ErrorRate { rate } => (rng.random::<f64>() < *rate)
                    .then(|| Answer::Status(if rng.random_bool(0.5) { 500 } else { 503 })),
                FaultKind::FailNext { count, status } => (*count > 0).then(|| {
                    *count -= 1;
                    Answer::Status(*status)
                }),
                FaultKind::RateLimit {
                    count,
                    retry_after_secs,
                } => (*count > 0).then(|| {
                    *count -= 1;
                    Answer::RateLimited(*retry_after_secs)
                }),
                FaultKind::Hang { count } => match count {
                    None => Some(Answer::Hang),
                    Some(c) if *c > 0 => {
                        *c -= 1;
                        Some(Answer::Hang)
                    }
                    Some(_) => None,
                },
            };
            if let Some(a) = answer {
                plan.answer = Some(a);
                plan.after_commit = after_commit;
            }
        }
        self.rules.retain(|r| !r.exhausted());
        plan
    }
}

/// The response of an injected status or 429 fault.
pub(crate) fn fault_response(answer: Answer) -> Response {
    let (status, retry_after) = match answer {
        Answer::Status(s) => (s, None),
        Answer::RateLimited(secs) => (429, Some(secs)),
        Answer::Hang => (503, None),
    };
    let mut resp =
        SimError::new(status, Some("SIM_INJECTED_FAULT"), "injected fault").into_response();
    resp.headers_mut()
        .insert(FAULT_HEADER, HeaderValue::from_static("injected"));
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "/api/v1/api-integrations/{id}/client-credentials";
    const PATH: &str = "/api/v1/api-integrations/3/client-credentials";

    #[test]
    fn fail_next_counts_down() {
        let mut f = Faults::default();
        f.add(FaultRule::fail_next(&format!("POST {P}"), 2, 503))
            .unwrap();
        assert_eq!(f.plan("GET", P, PATH).answer, None);
        assert_eq!(f.plan("POST", P, PATH).answer, Some(Answer::Status(503)));
        assert_eq!(f.plan("POST", P, PATH).answer, Some(Answer::Status(503)));
        assert_eq!(f.plan("POST", P, PATH).answer, None);
        assert!(f.rules().is_empty());
    }

    #[test]
    fn endpoints_match_patterns_paths_and_wildcards() {
        let r = FaultRule::hang("* /api/v1/api-integrations/3/client-credentials", None);
        assert!(r.matches("POST", P, PATH));
        let r = FaultRule::hang("POST *", None);
        assert!(r.matches("post", P, PATH));
        assert!(!r.matches("GET", P, PATH));
        assert!(FaultRule::hang("*", None).matches("DELETE", "/x", "/x"));
    }

    #[test]
    fn latencies_add_and_first_answer_wins() {
        let mut f = Faults::default();
        f.set(vec![
            FaultRule::latency("*", Duration::from_millis(5)),
            FaultRule::rate_limit("*", 1, 7),
            FaultRule::latency("GET *", Duration::from_millis(10)),
            FaultRule::fail_next("*", 1, 500).after_commit(),
        ])
        .unwrap();
        let p = f.plan("GET", "/a", "/a");
        assert_eq!(p.latency, Duration::from_millis(15));
        assert_eq!(p.answer, Some(Answer::RateLimited(7)));
        assert!(!p.after_commit);
        let p = f.plan("GET", "/a", "/a");
        assert_eq!(p.answer, Some(Answer::Status(500)));
        assert!(p.after_commit);
        assert_eq!(f.rules().len(), 2);
    }

    #[test]
    fn validation() {
        assert!(FaultRule::hang("GET", None).validate().is_err());
        assert!(FaultRule::hang("GET api", None).validate().is_err());
        assert!(FaultRule::error_rate("*", 1.5).validate().is_err());
        assert!(FaultRule::fail_next("*", 1, 42).validate().is_err());
        assert!(FaultRule::error_rate("* *", 0.5).validate().is_ok());
    }

    #[test]
    fn json_shape() {
        let r = FaultRule::fail_next("POST /api/v1/api-roles", 1, 503).after_commit();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"endpoint":"POST /api/v1/api-roles","kind":"fail_next","count":1,"status":503,"after_commit":true})
        );
        let back: FaultRule = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
        let h: FaultRule = serde_json::from_str(r#"{"kind":"hang"}"#).unwrap();
        assert_eq!(h, FaultRule::hang("*", None));
    }
}
