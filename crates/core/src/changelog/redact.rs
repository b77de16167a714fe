//! Keeping secrets out of the change log and every other output.
//!
//! Two layers:
//! - [`redact_secrets`]: by key. A member whose key names a secret (`client_secret`,
//!   `password`, ...) loses its value in every change-log record.
//! - The **known secrets** ([`remember_secret`], [`scrub_text`], [`scrub_json`],
//!   [`scrub_value`]): by value. Every secret the process holds in play (client secrets it
//!   minted, read from Vault or sent to Jamf, Jamf user passwords, bearer tokens, the Vault
//!   token) is registered where it enters, under a *slot* naming what it is, and replaced when
//!   the slot gets a new value. Every sink (log writer, change-log append, control-socket
//!   answer, systemd status) passes its text through the scrubber, so a secret that an external
//!   server echoes back inside an error message is replaced by `[redacted]` wherever it would
//!   have been written.
//!
//! The registry keeps each secret in a [`SecretString`] (zeroized on drop) and never a plain
//! copy: the scan index holds only a keyed 64-bit mix of each secret's first eight bytes, a
//! one-bit-per-bucket filter of those mixes, and the secrets themselves (as `SecretString`s)
//! for the final comparison. Scanning is one pass over the text (a multiply and a bit test per
//! byte), whatever the number of secrets. Only secrets of at least [`MIN_KNOWN_SECRET_BYTES`]
//! bytes are registered (shorter values would match ordinary text); at most
//! [`MAX_KNOWN_SECRETS`] slots are kept, the oldest dropped first.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Value that [`redact_secrets`] puts in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// Key fragments that mark a value as secret (compared after lowercasing and dropping
/// everything but letters and digits, so `client_secret`, `clientSecret` and `Client-Secret`
/// all match).
pub const SECRET_KEY_FRAGMENTS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "privatekey",
    "apikey",
    "credential",
];

/// Endings that mark a key as metadata about a secret rather than the secret itself, e.g.
/// `secret_version`, `secret_path`, `accessTokenLifetimeSeconds`.
pub const SECRET_METADATA_SUFFIXES: &[&str] = &[
    "version",
    "versions",
    "path",
    "mount",
    "id",
    "ids",
    "name",
    "lifetime",
    "seconds",
    "ttl",
    "expiry",
    "expires",
    "expiresat",
    "rotatedat",
    "count",
    "length",
    "type",
    "kind",
];

/// Whether a JSON object key names a secret (see [`SECRET_KEY_FRAGMENTS`] and
/// [`SECRET_METADATA_SUFFIXES`]).
pub fn is_secret_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEY_FRAGMENTS.iter().any(|frag| norm.contains(frag))
        && !SECRET_METADATA_SUFFIXES
            .iter()
            .any(|suffix| norm.ends_with(suffix))
}

/// Replaces, recursively, the value of every object member whose key names a secret
/// ([`is_secret_key`]) with `"[redacted]"`; `null` values stay `null`.
///
/// This is a safety net applied on every append, not a licence to pass secrets: a secret under
/// an innocent key (`{"name": "client_secret", "value": "…"}`) is not recognised.
pub fn redact_secrets(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = if is_secret_key(&key) && !value.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact_secrets(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_secrets).collect()),
        other => other,
    }
}

/// Shortest secret the scrubber looks for, in bytes.
pub const MIN_KNOWN_SECRET_BYTES: usize = 8;
/// Most slots kept; registering beyond it drops the oldest.
pub const MAX_KNOWN_SECRETS: usize = 8192;
const FILTER_BITS: usize = 1 << 16;

struct Entry {
    seq: u64,
    /// The secret and, if different, its JSON-escaped form (how it appears in JSON text and,
    /// for the usual characters, in `{:?}` output).
    forms: Vec<SecretString>,
}

struct Known {
    slots: HashMap<String, Entry>,
    next: u64,
    key: u64,
    filter: Vec<u64>,
    /// Mix of the first eight bytes → the forms starting with them.
    candidates: HashMap<u64, Vec<SecretString>>,
}

static KNOWN: LazyLock<RwLock<Known>> = LazyLock::new(|| {
    RwLock::new(Known {
        slots: HashMap::new(),
        next: 0,
        key: rand::random::<u64>() | 1,
        filter: vec![0; FILTER_BITS / 64],
        candidates: HashMap::new(),
    })
});

fn mix(window: u64, key: u64) -> u64 {
    let x = (window ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

fn window(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

impl Known {
    fn rebuild(&mut self) {
        self.filter.iter_mut().for_each(|w| *w = 0);
        self.candidates.clear();
        for entry in self.slots.values() {
            for form in &entry.forms {
                let m = mix(window(form.expose_secret().as_bytes()), self.key);
                let bit = (m as usize) % FILTER_BITS;
                self.filter[bit / 64] |= 1 << (bit % 64);
                self.candidates.entry(m).or_default().push(form.clone());
            }
        }
    }

    /// Matches as `(start, len)`, left to right, not overlapping. With `json`, a match right
    /// after an odd run of backslashes is skipped: it starts inside an escape sequence, so the
    /// text there is not the secret.
    fn find(&self, hay: &[u8], json: bool) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.slots.is_empty() || hay.len() < MIN_KNOWN_SECRET_BYTES {
            return out;
        }
        let mut i = 0;
        while i + MIN_KNOWN_SECRET_BYTES <= hay.len() {
            let m = mix(window(&hay[i..]), self.key);
            let bit = (m as usize) % FILTER_BITS;
            if self.filter[bit / 64] & (1 << (bit % 64)) != 0
                && let Some(forms) = self.candidates.get(&m)
                && !(json && odd_backslashes_before(hay, i))
                && let Some(len) = forms
                    .iter()
                    .map(|f| f.expose_secret().as_bytes())
                    .filter(|f| hay[i..].starts_with(f))
                    .map(<[u8]>::len)
                    .max()
            {
                out.push((i, len));
                i += len;
                continue;
            }
            i += 1;
        }
        out
    }
}

fn odd_backslashes_before(hay: &[u8], i: usize) -> bool {
    hay[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
}

/// Registers `secret` under `slot` (e.g. `jamf:prod:client:<client id>`), replacing (and
/// zeroizing) what the slot held. Secrets shorter than [`MIN_KNOWN_SECRET_BYTES`] are not
/// registered (the slot is emptied).
pub fn remember_secret(slot: &str, secret: &SecretString) {
    let value = secret.expose_secret();
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    if value.len() < MIN_KNOWN_SECRET_BYTES {
        if known.slots.remove(slot).is_some() {
            known.rebuild();
        }
        return;
    }
    if let Some(e) = known.slots.get(slot)
        && e.forms[0].expose_secret() == value
    {
        return;
    }
    let mut forms = vec![secret.clone()];
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let escaped = escaped
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or_default();
    if escaped != value && escaped.len() >= MIN_KNOWN_SECRET_BYTES {
        forms.push(SecretString::from(escaped.to_owned()));
    }
    while known.slots.len() >= MAX_KNOWN_SECRETS && !known.slots.contains_key(slot) {
        let oldest = known
            .slots
            .iter()
            .min_by_key(|(_, e)| e.seq)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => known.slots.remove(&k),
            None => break,
        };
    }
    known.next += 1;
    let seq = known.next;
    known.slots.insert(slot.to_owned(), Entry { seq, forms });
    known.rebuild();
}

/// Forgets the secret under `slot`, if any.
pub fn forget_secret(slot: &str) {
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    if known.slots.remove(slot).is_some() {
        known.rebuild();
    }
}

/// How many secrets are registered.
pub fn known_secret_count() -> usize {
    KNOWN.read().unwrap_or_else(|p| p.into_inner()).slots.len()
}

fn replace(hay: &[u8], matches: &[(usize, usize)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut at = 0;
    for (start, len) in matches {
        out.extend_from_slice(&hay[at..*start]);
        out.extend_from_slice(REDACTED.as_bytes());
        at = start + len;
    }
    out.extend_from_slice(&hay[at..]);
    out
}

/// `text` with every known secret replaced by `[redacted]`.
pub fn scrub_text(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    let matches = known.find(text.as_bytes(), false);
    if matches.is_empty() {
        return Cow::Borrowed(text);
    }
    // matches start and end on secret boundaries, which are char boundaries
    Cow::Owned(String::from_utf8_lossy(&replace(text.as_bytes(), &matches)).into_owned())
}

/// JSON text (or a log line) with every known secret, raw or JSON-escaped, replaced by
/// `[redacted]`; the result is still valid JSON if the input was.
pub fn scrub_json(bytes: Vec<u8>) -> Vec<u8> {
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    let matches = known.find(&bytes, true);
    if matches.is_empty() {
        return bytes;
    }
    replace(&bytes, &matches)
}

/// Longest form of a known secret, in bytes (0 with none).
fn longest_known() -> usize {
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    known
        .slots
        .values()
        .flat_map(|e| e.forms.iter())
        .map(|f| f.expose_secret().len())
        .max()
        .unwrap_or(0)
}

/// A writer that scrubs every known secret (as [`scrub_json`]) from what passes through it,
/// for large documents written in a stream (a secret split over two writes is still found:
/// the last bytes that could start one are held back until more arrive or the writer is
/// flushed).
pub struct ScrubWriter<W: std::io::Write> {
    inner: W,
    buf: Vec<u8>,
}

/// Bytes a [`ScrubWriter`] collects before it scrubs and passes them on.
const SCRUB_CHUNK: usize = 64 * 1024;

impl<W: std::io::Write> ScrubWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        ScrubWriter {
            inner,
            buf: Vec::new(),
        }
    }

    /// Flushes everything held back and gives back the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        std::io::Write::flush(&mut self)?;
        let ScrubWriter { inner, .. } = self;
        Ok(inner)
    }

    /// Scrubs and writes out all but the bytes that may start a secret not yet complete
    /// (`keep`), or everything with `keep = 0`.
    fn pass_on(&mut self, keep: usize) -> std::io::Result<()> {
        let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
        let matches = known.find(&self.buf, true);
        drop(known);
        let mut cut = self.buf.len().saturating_sub(keep);
        // a match reaching past the cut is written whole, replaced
        for (start, len) in &matches {
            if *start < cut && start + len > cut {
                cut = start + len;
            }
        }
        let mut at = 0;
        for (start, len) in matches.iter().filter(|(s, _)| *s < cut) {
            self.inner.write_all(&self.buf[at..*start])?;
            self.inner.write_all(REDACTED.as_bytes())?;
            at = start + len;
        }
        self.inner.write_all(&self.buf[at..cut.max(at)])?;
        self.buf.drain(..cut.max(at));
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for ScrubWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= SCRUB_CHUNK {
            let keep = longest_known().saturating_sub(1);
            self.pass_on(keep)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.pass_on(0)?;
        self.inner.flush()
    }
}

/// Every string (and object key) of `value` scrubbed with [`scrub_text`].
pub fn scrub_value(value: Value) -> Value {
    if known_secret_count() == 0 {
        return value;
    }
    fn walk(value: Value) -> Value {
        match value {
            Value::String(s) => match scrub_text(&s) {
                Cow::Borrowed(_) => Value::String(s),
                Cow::Owned(o) => Value::String(o),
            },
            Value::Array(items) => Value::Array(items.into_iter().map(walk).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (scrub_text(&k).into_owned(), walk(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    walk(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_secrets_are_scrubbed_from_text_json_and_values() {
        let slot = "test:scrub:a";
        let secret = "Kq9-unique-secret-7Zx";
        remember_secret(slot, &SecretString::from(secret));
        let line =
            format!("token request refused: {{\"client_secret\":\"{secret}\"}} then {secret}!");
        let out = scrub_text(&line);
        assert!(!out.contains(secret), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 2, "{out}");
        assert!(out.starts_with("token request refused: "));

        // JSON: the escaped form of a secret with a quote and a backslash
        let odd = "ab\"cd\\ef-unique-9";
        remember_secret("test:scrub:b", &SecretString::from(odd));
        let doc = serde_json::to_vec(&json!({"error": format!("echo {odd} end"), "n": 1})).unwrap();
        let clean = scrub_json(doc);
        let parsed: Value = serde_json::from_slice(&clean).expect("still json");
        assert_eq!(parsed["error"], format!("echo {REDACTED} end"));

        let v = scrub_value(json!({"a": [format!("x{secret}y")], secret: 3}));
        let text = v.to_string();
        assert!(!text.contains(secret), "{text}");

        // replaced: the old value is no longer looked for, the new one is
        let newer = "Newer-secret-value-42";
        remember_secret(slot, &SecretString::from(newer));
        assert!(scrub_text(secret).contains(secret));
        assert_eq!(scrub_text(newer), REDACTED);
        forget_secret(slot);
        forget_secret("test:scrub:b");
        assert_eq!(scrub_text(newer), newer);
    }

    #[test]
    fn a_stream_is_scrubbed_even_across_write_boundaries() {
        use std::io::Write;
        let secret = "stream-secret-value-Zq81";
        remember_secret("test:stream", &SecretString::from(secret));
        let mut doc = Vec::new();
        for i in 0..20_000 {
            doc.extend_from_slice(format!("{{\"n\":{i},\"e\":\"x {secret} y\"}},").as_bytes());
        }
        let mut w = ScrubWriter::new(Vec::new());
        // odd-sized writes put secrets across every kind of boundary
        for piece in doc.chunks(7) {
            w.write_all(piece).unwrap();
        }
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(!out.contains(secret));
        assert_eq!(out.matches(REDACTED).count(), 20_000);
        forget_secret("test:stream");
    }

    #[test]
    fn short_secrets_and_escapes_are_left_alone() {
        remember_secret("test:short", &SecretString::from("short"));
        assert_eq!(scrub_text("a short word"), "a short word");
        // a match that starts inside an escape sequence is not the secret
        let s = "n-unique-secret-x1";
        remember_secret("test:esc", &SecretString::from(s));
        let doc = br#"{"a":"\n-unique-secret-x1","b":"x\\n-unique-secret-x1"}"#.to_vec();
        let out = String::from_utf8(scrub_json(doc)).unwrap();
        assert_eq!(out, r#"{"a":"\n-unique-secret-x1","b":"x\\[redacted]"}"#);
        forget_secret("test:esc");
    }

    #[test]
    fn secret_keys_are_recognised() {
        for key in [
            "secret",
            "client_secret",
            "clientSecret",
            "Client-Secret",
            "password",
            "vault_token",
            "X-Vault-Token",
            "access_token",
            "private_key",
            "credentials",
        ] {
            assert!(is_secret_key(key), "{key} should be secret");
        }
        for key in [
            "client_id",
            "clientId",
            "vault_path",
            "secret_path",
            "secret_version",
            "accessTokenLifetimeSeconds",
            "token_ttl",
            "displayName",
            "privileges",
        ] {
            assert!(!is_secret_key(key), "{key} should not be secret");
        }
    }

    #[test]
    fn redaction_is_recursive_and_keeps_metadata() {
        let value = json!({
            "client_id": "abc",
            "clientSecret": "hunter2",
            "nested": [{"password": "p", "vault_path": "kv/jamf/prod"}, {"token": null}],
            "secret_version": 4,
        });
        let redacted = redact_secrets(value);
        assert_eq!(
            redacted,
            json!({
                "client_id": "abc",
                "clientSecret": REDACTED,
                "nested": [{"password": REDACTED, "vault_path": "kv/jamf/prod"}, {"token": null}],
                "secret_version": 4,
            })
        );
    }
}
