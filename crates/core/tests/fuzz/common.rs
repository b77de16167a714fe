//! Case counts, input strategies (arbitrary bytes and structure-aware mutations of valid
//! inputs), the over-size inputs every parser meets, and the assertions.

use std::fmt::Display;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

use crate::alloc::peak_during;

/// Cases per property: `WARDEN_FUZZ_CASES` if set (e.g. 20000 for a long local run), else
/// `default` (sized so the whole binary stays well under the CI budget of two minutes).
pub fn cases(default: u32) -> Config {
    let cases = std::env::var("WARDEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Failures are reported with the shrunk input; nothing is written into the source tree.
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// Arbitrary bytes, biased towards JSON and TOML punctuation so parsers get past the first byte.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let punct: Vec<u8> = b"{}[]\":,=.0123456789eE+-tfnul\\ \n#'aZ\xc3\xa9\xff\x00".to_vec();
    prop::collection::vec(
        prop_oneof![3 => any::<u8>(), 5 => prop::sample::select(punct)],
        0..max,
    )
}

/// Values that are wrong in interesting ways wherever they land.
fn nasty_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String(String::new())),
        Just(Value::String("\u{0}\u{202e}\u{feff}🦀\r\n".into())),
        Just(Value::String("x".repeat(70_000))),
        Just(Value::String("1970-01-01T00:00:00Z".into())),
        Just(Value::String("99999-12-31T23:59:60.999999999+25:00".into())),
        Just(Value::String("-1".into())),
        Just(Value::String("18446744073709551616".into())),
    ]
}

/// Arbitrary JSON of small depth.
pub fn json() -> impl Strategy<Value = Value> {
    nasty_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Raw tokens that JSON serialisation cannot produce: huge and odd numbers, bad escapes.
const RAW_TOKENS: &[&str] = &[
    "1e999999",
    "-1e999999",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "0.0000000000000000000000000000001",
    "1.7976931348623157e309",
    "-0",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "NaN",
    "Infinity",
    "\u{feff}",
    "\"\\x\"",
    ",",
    "}",
    "]",
    "\"",
];

/// How a valid document is damaged.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Replace the node at a path by another value (often of the wrong type).
    Replace(Vec<u16>, Value),
    /// Remove the member or element at a path.
    Remove(Vec<u16>),
    /// Wrap the node at a path in this many arrays.
    Nest(Vec<u16>, u16),
    /// Insert a raw token at a byte offset of the serialised text.
    Raw(u16, usize),
    /// Cut the serialised text at a byte offset.
    Truncate(u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let path = || prop::collection::vec(any::<u16>(), 0..5);
    prop_oneof![
        4 => (path(), json()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        2 => path().prop_map(Mutation::Remove),
        1 => (path(), prop_oneof![1u16..8, Just(130u16), Just(1_000u16)])
            .prop_map(|(p, n)| Mutation::Nest(p, n)),
        2 => (any::<u16>(), 0..RAW_TOKENS.len()).prop_map(|(at, t)| Mutation::Raw(at, t)),
        2 => any::<u16>().prop_map(Mutation::Truncate),
    ]
}

fn node_at<'a>(v: &'a mut Value, path: &[u16]) -> &'a mut Value {
    let Some((&step, rest)) = path.split_first() else {
        return v;
    };
    let descend = match &*v {
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => false,
    };
    if !descend {
        return v;
    }
    match v {
        Value::Array(items) => {
            let i = usize::from(step) % items.len();
            node_at(&mut items[i], rest)
        }
        Value::Object(map) => {
            let i = usize::from(step) % map.len();
            let child = map.iter_mut().nth(i).map(|(_, c)| c).expect("in range");
            node_at(child, rest)
        }
        _ => v,
    }
}

fn remove_at(v: &mut Value, path: &[u16]) {
    let Some((&last, parent)) = path.split_last() else {
        *v = Value::Null;
        return;
    };
    match node_at(v, parent) {
        Value::Array(items) if !items.is_empty() => {
            let i = usize::from(last) % items.len();
            items.remove(i);
        }
        Value::Object(map) if !map.is_empty() => {
            let i = usize::from(last) % map.len();
            if let Some(key) = map.keys().nth(i).cloned() {
                map.remove(&key);
            }
        }
        _ => {}
    }
}

/// Applies mutations in order to a valid JSON document, returning the damaged bytes.
pub fn apply(valid: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(valid).expect("the sample is valid json");
    let mut raw: Vec<(u16, usize)> = Vec::new();
    let mut cut = None;
    for m in mutations {
        match m {
            Mutation::Replace(path, with) => *node_at(&mut doc, path) = with.clone(),
            Mutation::Remove(path) => remove_at(&mut doc, path),
            Mutation::Nest(path, n) => {
                let node = node_at(&mut doc, path);
                let mut v = node.take();
                for _ in 0..*n {
                    v = Value::Array(vec![v]);
                }
                *node = v;
            }
            Mutation::Raw(at, token) => raw.push((*at, *token)),
            Mutation::Truncate(at) => cut = Some(*at),
        }
    }
    // Deeply nested values are serialised iteratively enough by serde_json (no recursion limit
    // on the way out); the parsers must refuse them on the way in.
    let mut text = serde_json::to_vec(&doc).expect("serialisable");
    for (at, token) in raw {
        let at = usize::from(at) % (text.len() + 1);
        text.splice(at..at, RAW_TOKENS[token].bytes());
    }
    if let Some(at) = cut {
        text.truncate(usize::from(at) % (text.len() + 1));
    }
    text
}

/// Damaged versions of one of `samples` (each a valid JSON document).
pub fn mutated_json(samples: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(samples),
        prop::collection::vec(mutation(), 1..4),
    )
        .prop_map(|(sample, ms)| apply(&sample, &ms))
}

/// Line-level damage to a TOML document: a value replaced by one of the wrong type or size,
/// a line removed or repeated, the text cut.
pub fn mutated_toml(samples: Vec<&'static str>) -> impl Strategy<Value = Vec<u8>> {
    const VALUES: &[&str] = &[
        "1e999",
        "99999999999999999999",
        "-1",
        "0",
        "\"\"",
        "\"99999999999d\"",
        "\"-5s\"",
        "\"0s\"",
        "\"1 fortnight\"",
        "true",
        "[1, \"a\", { b = 2 }]",
        "{ a = 1 }",
        "\"\\u0000\\u202e🦀\"",
        "'''\nmulti\nline'''",
        "\"/dev/zero\"",
        "\"../../../../etc/passwd\"",
        "1979-05-27T07:32:00Z",
        "nan",
        "inf",
        "\"x",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    ];
    (
        prop::sample::select(samples),
        prop::collection::vec((any::<u16>(), 0u8..4, 0..VALUES.len()), 1..5),
        prop::option::of(any::<u16>()),
    )
        .prop_map(|(sample, edits, cut)| {
            let mut lines: Vec<String> = sample.lines().map(str::to_owned).collect();
            for (at, op, value) in edits {
                if lines.is_empty() {
                    break;
                }
                let i = usize::from(at) % lines.len();
                match op {
                    0 | 1 => {
                        if let Some((key, _)) = lines[i].split_once('=') {
                            lines[i] = format!("{key}= {}", VALUES[value]);
                        } else {
                            lines[i] = format!("{} = {}", lines[i].trim(), VALUES[value]);
                        }
                    }
                    2 => {
                        lines.remove(i);
                    }
                    _ => {
                        let line = lines[i].clone();
                        lines.insert(i, line);
                    }
                }
            }
            let mut text = lines.join("\n").into_bytes();
            if let Some(at) = cut {
                text.truncate(usize::from(at) % (text.len() + 1));
            }
            text
        })
}

/// Inputs of a few MiB that every parser gets once: they must be refused or parsed within the
/// memory bound, never crash the process (stack overflow) or allocate without limit.
pub fn oversize_inputs() -> Vec<(&'static str, Vec<u8>)> {
    const MIB: usize = 1024 * 1024;
    let mut noise = Vec::with_capacity(4 * MIB);
    let mut x: u32 = 0x9e37_79b9;
    while noise.len() < 4 * MIB {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    let mut long_string = b"{\"type\":\"".to_vec();
    long_string.extend(std::iter::repeat_n(b'a', 4 * MIB));
    long_string.extend_from_slice(b"\"}");
    let mut zeros = b"[".to_vec();
    zeros.extend(std::iter::repeat_n(b"0,".iter().copied(), MIB).flatten());
    zeros.extend_from_slice(b"0]");
    let mut objects = b"[".to_vec();
    objects.extend(std::iter::repeat_n(b"{\"a\":0},".iter().copied(), MIB / 8).flatten());
    objects.extend_from_slice(b"{}]");
    let deep_json = [vec![b'['; 2 * MIB], vec![b']'; 2 * MIB]].concat();
    let deep_toml = [b"a = ".to_vec(), vec![b'['; MIB], vec![b']'; MIB]].concat();
    let deep_table = [b"a = ".to_vec(), b"{ b = ".repeat(MIB / 6), b"1".to_vec()].concat();
    let long_line = [b"a = \"".to_vec(), vec![b'x'; 4 * MIB], b"\"".to_vec()].concat();
    let many_keys: Vec<u8> = (0..MIB / 16)
        .flat_map(|i| format!("k{i} = 1\n").into_bytes())
        .collect();
    vec![
        ("4 MiB of noise", noise),
        ("a 4 MiB string", long_string),
        ("a million zeros", zeros),
        ("131072 small objects", objects),
        ("2 MiB of nested arrays", deep_json),
        ("a TOML array nested a million deep", deep_toml),
        ("TOML inline tables nested 170000 deep", deep_table),
        ("a 4 MiB TOML string", long_line),
        ("65536 TOML keys", many_keys),
    ]
}

/// Largest heap a parser may hold for an input of `len` bytes: a constant factor of the input
/// (a parsed document is bigger than its text) plus a fixed allowance. Breaking it means
/// memory grows faster than the input, or without limit.
pub fn memory_bound(len: usize, factor: usize) -> usize {
    factor * len + 8 * 1024 * 1024
}

/// The factor of [`memory_bound`] for JSON parsers: serde_json builds a `Value` of up to ~87
/// times a document of small objects, typed decoding far less; 48 catches the former.
pub const MEMORY_FACTOR: usize = 48;

/// Runs `parse` on `input` under the counting allocator and checks the bound.
#[track_caller]
pub fn within_memory<R>(what: &str, input: &[u8], parse: impl FnOnce(&[u8]) -> R) -> R {
    within_memory_factor(what, input, MEMORY_FACTOR, parse)
}

/// [`within_memory`] with another factor.
#[track_caller]
pub fn within_memory_factor<R>(
    what: &str,
    input: &[u8],
    factor: usize,
    parse: impl FnOnce(&[u8]) -> R,
) -> R {
    let (out, peak) = peak_during(|| parse(input));
    let bound = memory_bound(input.len(), factor);
    assert!(
        peak <= bound,
        "{what}: {peak} bytes of heap for {} bytes of input (bound {bound})",
        input.len()
    );
    out
}

/// A clear error: non-empty, starts lowercase (or with a quote, digit or path), one line of
/// prose rather than a debug dump.
#[track_caller]
pub fn assert_clear(what: &str, err: &dyn Display) {
    let msg = err.to_string();
    let first = msg.chars().next();
    assert!(first.is_some(), "{what}: empty error message");
    assert!(
        !first.is_some_and(char::is_uppercase),
        "{what}: error message starts uppercase: {msg}"
    );
    assert!(
        !msg.contains("panicked") && !msg.contains("RUST_BACKTRACE"),
        "{what}: {msg}"
    );
}
