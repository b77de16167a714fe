//! Parsing of Jamf's two error body shapes: `{httpStatus, errors: [{code, field, description,
//! id}]}` and the OAuth token endpoint's `{error, error_description, error_uri}`. Any bytes are
//! accepted: HTML, empty or garbage bodies give [`ErrorBody::Unknown`], never a panic.

use serde::Deserialize;
use serde_json::Value;

/// One entry of Jamf's `errors` array. Every field is optional and may be `null`, a string or
/// a number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ApiErrorCause {
    /// Error code, e.g. `INVALID_PRIVILEGE`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: Option<String>,
    /// The offending field.
    #[serde(default, deserialize_with = "lenient_string")]
    pub field: Option<String>,
    /// Human-readable description.
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    /// Id of the object in error.
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
}

/// Jamf's error body `{httpStatus, errors: [...]}`; unknown fields (`traceId`) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    /// The status Jamf put in the body.
    #[serde(default)]
    pub http_status: Option<i64>,
    /// The causes (missing or `null` gives an empty list).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub errors: Vec<ApiErrorCause>,
}

/// The OAuth token endpoint's error body (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthErrorBody {
    /// Error code, e.g. `invalid_client`.
    pub error: String,
    /// Description.
    #[serde(default, deserialize_with = "lenient_string")]
    pub error_description: Option<String>,
    /// Link to documentation.
    #[serde(default, deserialize_with = "lenient_string")]
    pub error_uri: Option<String>,
}

/// A parsed error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorBody {
    /// Jamf's `ApiError` shape.
    Jamf(ApiErrorBody),
    /// The OAuth shape.
    OAuth(OAuthErrorBody),
    /// Empty, HTML, garbage or another JSON shape.
    Unknown,
}

const MAX_MESSAGES: usize = 10;
/// Largest error body parsed as JSON. Jamf's error bodies are well under 1 KiB; a bigger one
/// is read as [`ErrorBody::Unknown`], so a hostile server cannot make the client build a
/// document ~90 times the size of a body of up to the transport's cap (found by the fuzz
/// tests: 91 MiB of heap for a 1 MiB body of small objects).
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
pub(crate) const MAX_MESSAGE_CHARS: usize = 300;
pub(crate) const SNIPPET_CHARS: usize = 120;

impl ErrorBody {
    /// Parses any bytes; never fails and never panics.
    pub fn parse(body: &[u8]) -> ErrorBody {
        if body.len() > MAX_ERROR_BODY_BYTES {
            return ErrorBody::Unknown;
        }
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return ErrorBody::Unknown;
        };
        if map.get("error").is_some_and(Value::is_string)
            && let Ok(o) = serde_json::from_value(Value::Object(map.clone()))
        {
            return ErrorBody::OAuth(o);
        }
        if (map.contains_key("errors") || map.contains_key("httpStatus"))
            && let Ok(j) = serde_json::from_value(Value::Object(map))
        {
            return ErrorBody::Jamf(j);
        }
        ErrorBody::Unknown
    }

    /// Human-readable messages: Jamf's descriptions (or codes), the OAuth description.
    pub fn messages(&self) -> Vec<String> {
        let raw: Vec<String> = match self {
            ErrorBody::Jamf(j) => j
                .errors
                .iter()
                .filter_map(|c| {
                    c.description
                        .clone()
                        .filter(|d| !d.trim().is_empty())
                        .or_else(|| c.code.clone())
                })
                .collect(),
            ErrorBody::OAuth(o) => vec![
                o.error_description
                    .clone()
                    .unwrap_or_else(|| o.error.clone()),
            ],
            ErrorBody::Unknown => Vec::new(),
        };
        raw.into_iter()
            .filter(|m| !m.trim().is_empty())
            .take(MAX_MESSAGES)
            .map(|m| truncate_clean(&m, MAX_MESSAGE_CHARS))
            .collect()
    }

    /// The first Jamf error code, if any.
    pub fn first_code(&self) -> Option<&str> {
        match self {
            ErrorBody::Jamf(j) => j.errors.iter().find_map(|c| c.code.as_deref()),
            _ => None,
        }
    }
}

/// A short printable excerpt of a body: control characters replaced, truncated.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_CHARS * 4)]);
    truncate_clean(&text, SNIPPET_CHARS)
}

pub(crate) fn truncate_clean(s: &str, max_chars: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out.trim().to_owned()
}

/// Parses `x-required-privileges`: a JSON array or a comma-separated list.
pub(crate) fn parse_privileges_header(value: &str) -> Vec<String> {
    let value = value.trim();
    if value.starts_with('[')
        && let Ok(list) = serde_json::from_str::<Vec<String>>(value)
    {
        return list.into_iter().filter(|s| !s.is_empty()).collect();
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => Some(other.to_string()),
    })
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ApiErrorCause>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}
