//! Serializers that write effective values back in the config file's own notation (`"30s"`,
//! `"0 3 * * MON"`, `"0660"`). A leaf of `config`: the effective types and the desired state
//! both serialize with them, so neither has to reach into the other for them.

use std::time::Duration;

use serde::Serializer;
use url::Url;

use super::values::format_duration;
use crate::schedule::Schedule;

pub(crate) fn ser_url<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_str())
}

pub(crate) fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

pub(crate) fn ser_schedule<S: Serializer>(schedule: &Schedule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(schedule.expr())
}

pub(crate) fn ser_mode<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}
