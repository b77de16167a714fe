//! `[audit]`: thresholds of the risk rules, site classifications (`[[audit.classify]]`) and
//! suppressions (`[[audit.suppression]]`), validated with located errors.

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::ctx::Ctx;
use crate::audit::{AuditSettings, Category, Classification, RULES, Suppression};
use crate::drift::suggest;

/// `[audit]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    pub(crate) breadth_share: Option<Spanned<f64>>,
    pub(crate) breadth_count: Option<Spanned<i64>>,
    pub(crate) near_admin_share: Option<Spanned<f64>>,
    pub(crate) crud_object_types: Option<Spanned<i64>>,
    pub(crate) max_token_lifetime: Option<Spanned<String>>,
    pub(crate) history: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) classify: Vec<RawClassify>,
    #[serde(default)]
    pub(crate) suppression: Vec<RawSuppression>,
}

/// `[[audit.classify]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClassify {
    pub(crate) privilege: Spanned<String>,
    pub(crate) category: Spanned<String>,
    pub(crate) source: Spanned<String>,
}

/// `[[audit.suppression]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSuppression {
    pub(crate) rule: Spanned<String>,
    pub(crate) instance: Spanned<String>,
    pub(crate) object: Spanned<String>,
    pub(crate) reason: Spanned<String>,
    pub(crate) owner: Spanned<String>,
    /// A TOML date (`2027-01-31`) or a string holding one.
    pub(crate) expires: Spanned<toml::Value>,
}

/// Validates `[audit]`; `instances` are the configured instance names.
pub(crate) fn audit(ctx: &mut Ctx<'_>, raw: &RawAudit, instances: &[&str]) -> AuditSettings {
    let defaults = AuditSettings::default();
    let share = |ctx: &mut Ctx<'_>, v: Option<&Spanned<f64>>, field: &str, default: f64| match v {
        None => default,
        Some(v) if *v.get_ref() > 0.0 && *v.get_ref() <= 1.0 => *v.get_ref(),
        Some(v) => {
            ctx.invalid(
                &v.span(),
                field,
                "must be a share of the catalogue above 0 and at most 1, e.g. 0.5",
            );
            default
        }
    };
    let breadth_share = share(
        ctx,
        raw.breadth_share.as_ref(),
        "audit.breadth_share",
        defaults.breadth_share,
    );
    let near_admin_share = share(
        ctx,
        raw.near_admin_share.as_ref(),
        "audit.near_admin_share",
        defaults.near_admin_share,
    );
    if let Some(v) = &raw.near_admin_share
        && near_admin_share < breadth_share
    {
        ctx.invalid(
            &v.span(),
            "audit.near_admin_share",
            format!("must not be below audit.breadth_share ({breadth_share})"),
        );
    }
    let breadth_count = raw
        .breadth_count
        .as_ref()
        .map(|v| ctx.int_in(Some(v), "audit.breadth_count", 1..=100_000, 1));
    let crud_object_types = ctx.int_in(
        raw.crud_object_types.as_ref(),
        "audit.crud_object_types",
        1..=1000,
        defaults.crud_object_types,
    );
    let lifetime = ctx.duration_in(
        raw.max_token_lifetime.as_ref(),
        "audit.max_token_lifetime",
        std::time::Duration::from_secs(1)
            ..=std::time::Duration::from_secs(
                crate::config::defaults::AUDIT_MAX_TOKEN_LIFETIME_MAX_SECS,
            ),
        std::time::Duration::from_secs(u64::from(defaults.max_token_lifetime)),
    );
    let max_token_lifetime = u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX);
    let day = std::time::Duration::from_secs(86_400);
    let history = ctx.duration_in(
        raw.history.as_ref(),
        "audit.history",
        day..=day * crate::config::defaults::AUDIT_HISTORY_MAX_DAYS,
        day * defaults.history_days,
    );
    let history_days = u32::try_from(history.as_secs() / 86_400)
        .unwrap_or(u32::MAX)
        .max(1);
    let classify = raw
        .classify
        .iter()
        .filter_map(|c| classification(ctx, c))
        .collect();
    let suppressions = raw
        .suppression
        .iter()
        .filter_map(|s| suppression(ctx, s, instances))
        .collect();
    AuditSettings {
        breadth_share,
        breadth_count,
        near_admin_share,
        crud_object_types,
        max_token_lifetime,
        history_days,
        classify,
        suppressions,
    }
}

fn non_empty(ctx: &mut Ctx<'_>, v: &Spanned<String>, field: &str, what: &str) -> Option<String> {
    let text = v.get_ref().trim();
    if text.is_empty() {
        ctx.invalid(&v.span(), field, format!("must not be empty: {what}"));
        return None;
    }
    Some(text.to_owned())
}

fn classification(ctx: &mut Ctx<'_>, raw: &RawClassify) -> Option<Classification> {
    let privilege = non_empty(
        ctx,
        &raw.privilege,
        "audit.classify.privilege",
        "the privilege's name as Jamf spells it",
    );
    let source = non_empty(
        ctx,
        &raw.source,
        "audit.classify.source",
        "say where the classification comes from",
    );
    let category = match raw.category.get_ref().parse::<Category>() {
        Ok(c) => Some(c),
        Err(message) => {
            ctx.invalid(&raw.category.span(), "audit.classify.category", message);
            None
        }
    };
    Some(Classification {
        privilege: privilege?,
        category: category?,
        source: source?,
    })
}

fn suppression(ctx: &mut Ctx<'_>, raw: &RawSuppression, instances: &[&str]) -> Option<Suppression> {
    let rule = raw.rule.get_ref().trim().to_owned();
    let mut ok = true;
    if !RULES.iter().any(|r| r.id == rule) {
        let ids: Vec<String> = RULES.iter().map(|r| r.id.to_owned()).collect();
        let hint = suggest(&rule, &ids);
        let hint = if hint.is_empty() {
            format!("the rules are {}", ids.join(", "))
        } else {
            format!("did you mean {}?", hint.join(" or "))
        };
        ctx.invalid(
            &raw.rule.span(),
            "audit.suppression.rule",
            format!("unknown rule {rule:?}; {hint}"),
        );
        ok = false;
    }
    let instance = raw.instance.get_ref().trim().to_owned();
    if instance != "*" && !instances.contains(&instance.as_str()) {
        ctx.invalid(
            &raw.instance.span(),
            "audit.suppression.instance",
            format!(
                "no instance named {instance:?} is configured; use one of {} or \"*\"",
                instances.join(", ")
            ),
        );
        ok = false;
    }
    let object = raw.object.get_ref().trim().to_owned();
    let object_ok = object == "*"
        || object
            .split_once(':')
            .is_some_and(|(kind, name)| matches!(kind, "role" | "client") && !name.is_empty());
    if !object_ok {
        ctx.invalid(
            &raw.object.span(),
            "audit.suppression.object",
            "must be \"role:NAME\", \"client:NAME\" or \"*\"",
        );
        ok = false;
    }
    let reason = non_empty(
        ctx,
        &raw.reason,
        "audit.suppression.reason",
        "say why the finding is accepted",
    );
    let owner = non_empty(
        ctx,
        &raw.owner,
        "audit.suppression.owner",
        "say who accepted it",
    );
    let expires = match raw.expires.get_ref() {
        toml::Value::Datetime(d) => d.to_string().parse::<NaiveDate>().ok(),
        toml::Value::String(s) => s.parse::<NaiveDate>().ok(),
        _ => None,
    };
    if expires.is_none() {
        ctx.invalid(
            &raw.expires.span(),
            "audit.suppression.expires",
            "must be a date such as 2027-01-31 (every suppression expires)",
        );
    }
    if !ok {
        return None;
    }
    Some(Suppression {
        rule,
        instance,
        object,
        reason: reason?,
        owner: owner?,
        expires: expires?,
    })
}

/// Serializes `[audit]` in the file's own shape (so the effective config loads again):
/// durations as strings, `suppression` entries with their dates.
pub(crate) fn ser_audit<S: serde::Serializer>(
    audit: &AuditSettings,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        breadth_share: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        breadth_count: Option<u32>,
        near_admin_share: f64,
        crud_object_types: u32,
        max_token_lifetime: String,
        history: String,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        classify: &'a [Classification],
        #[serde(skip_serializing_if = "Vec::is_empty")]
        suppression: Vec<OutSuppression<'a>>,
    }
    #[derive(serde::Serialize)]
    struct OutSuppression<'a> {
        rule: &'a str,
        instance: &'a str,
        object: &'a str,
        reason: &'a str,
        owner: &'a str,
        expires: String,
    }
    serde::Serialize::serialize(
        &Out {
            breadth_share: audit.breadth_share,
            breadth_count: audit.breadth_count,
            near_admin_share: audit.near_admin_share,
            crud_object_types: audit.crud_object_types,
            max_token_lifetime: format!("{}s", audit.max_token_lifetime),
            history: format!("{}d", audit.history_days),
            classify: &audit.classify,
            suppression: audit
                .suppressions
                .iter()
                .map(|x| OutSuppression {
                    rule: &x.rule,
                    instance: &x.instance,
                    object: &x.object,
                    reason: &x.reason,
                    owner: &x.owner,
                    expires: x.expires.to_string(),
                })
                .collect(),
        },
        s,
    )
}
