//! Reading the day's reports back: an RFC 4180 CSV reader, a JSON comparison that names the
//! first differing field, and a line diff for Markdown — so a failing export says where.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{io, TestError, TestResult};

/// A checked-in file of tests/fixtures.
pub(crate) fn fixture(name: &str) -> TestResult<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))
}

/// Parses RFC 4180 CSV (quoted fields may hold commas, quotes and newlines) into records.
pub(crate) fn parse_csv(text: &str) -> TestResult<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => {
                return Err(TestError::Protocol(format!(
                    "CSV: a quote inside an unquoted field, record {}",
                    records.len() + 1
                )))
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(TestError::Protocol("CSV: unterminated quoted field".into()));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// CSV records as maps from header name to value (the header is the first record).
pub(crate) fn csv_rows(text: &str) -> TestResult<Vec<BTreeMap<String, String>>> {
    let records = parse_csv(text)?;
    let (header, rows) = records
        .split_first()
        .ok_or_else(|| TestError::Protocol("CSV without a header".into()))?;
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            if r.len() != header.len() {
                return Err(TestError::Protocol(format!(
                    "CSV row {} has {} fields, the header {}: {r:?}",
                    i + 1,
                    r.len(),
                    header.len()
                )));
            }
            Ok(header.iter().cloned().zip(r.iter().cloned()).collect())
        })
        .collect()
}

/// Compares two JSON values; on a difference, names its path and both values.
pub(crate) fn json_diff(expected: &Value, actual: &Value) -> Option<String> {
    diff_at("$", expected, actual)
}

fn diff_at(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let child = format!("{path}.{key}");
                match a.get(key) {
                    Some(av) => {
                        if let Some(d) = diff_at(&child, ev, av) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{child}: missing (expected {ev})")),
                }
            }
            a.keys()
                .find(|k| !e.contains_key(*k))
                .map(|k| format!("{path}.{k}: unexpected field"))
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                if let Some(d) = diff_at(&format!("{path}[{i}]"), ev, av) {
                    return Some(d);
                }
            }
            (e.len() != a.len())
                .then(|| format!("{path}: {} entries, expected {}", a.len(), e.len()))
        }
        (e, a) if e == a => None,
        (e, a) => Some(format!("{path}: {a}, expected {e}")),
    }
}

/// The first line where two texts differ, with its number, for a readable failure.
pub(crate) fn first_line_diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut e = expected.lines();
    let mut a = actual.lines();
    let mut n = 1;
    loop {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return Some("same lines, different line endings".into()),
            (x, y) => return Some(format!("line {n}:\n  expected {x:?}\n  actual   {y:?}")),
        }
    }
}

/// Replaces, anywhere in `value`, every string equal to a key of `renames` by its value.
pub(crate) fn rename_strings(value: &mut Value, renames: &BTreeMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(new) = renames.get(s.as_str()) {
                *s = new.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_strings(v, renames)),
        Value::Object(map) => map.values_mut().for_each(|v| rename_strings(v, renames)),
        _ => {}
    }
}

/// Occurrences of `needle` in Markdown not neutralised by a backslash before its first character.
pub(crate) fn unescaped(md: &str, needle: &str) -> usize {
    md.match_indices(needle)
        .filter(|(i, _)| {
            let before = md.get(..*i).unwrap_or_default();
            before.chars().rev().take_while(|c| *c == '\\').count() % 2 == 0
        })
        .count()
}
