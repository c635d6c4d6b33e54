//! Fractional order keys (docs/board-schema.md §1.2): strings over `0-9A-Za-z` compared as plain
//! strings, so that moving an item only rewrites its own `order` field.

/// The digits of an order key, in ascending order (also generated into the TypeScript mirror).
pub const ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8; 62] = match ALPHABET.as_bytes().first_chunk::<62>() {
    Some(d) => d,
    None => panic!("the order alphabet has 62 digits"),
};
const BASE: u8 = 62;

/// Why two keys have no key between them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// A key is empty, ends with `0` or uses a character outside `0-9A-Za-z`.
    #[error("invalid order key")]
    InvalidKey,
    /// The lower key is not strictly below the upper key.
    #[error("order keys out of order")]
    OutOfOrder,
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

fn to_digits(key: &str) -> Result<Vec<u8>, OrderError> {
    let digits = key
        .bytes()
        .map(digit)
        .collect::<Option<Vec<u8>>>()
        .ok_or(OrderError::InvalidKey)?;
    match digits.last() {
        Some(&last) if last != 0 => Ok(digits),
        _ => Err(OrderError::InvalidKey),
    }
}

fn to_key(digits: &[u8]) -> String {
    digits
        .iter()
        .map(|&d| char::from(DIGITS[usize::from(d % BASE)]))
        .collect()
}

/// Whether `key` is a valid order key.
pub fn is_valid(key: &str) -> bool {
    to_digits(key).is_ok()
}

/// A key strictly between `a` and `b`; `None` stands for the start (`a`) or the end (`b`).
pub fn between(a: Option<&str>, b: Option<&str>) -> Result<String, OrderError> {
    let a = a.map(to_digits).transpose()?;
    let b = b.map(to_digits).transpose()?;
    if let (Some(a), Some(b)) = (&a, &b) {
        if a >= b {
            return Err(OrderError::OutOfOrder);
        }
    }
    match (a, b) {
        (None, None) => Ok("V".to_owned()),
        // Appending is the common case: bump the first digit that can grow so that keys stay short.
        (Some(mut a), None) => match a.iter().position(|&d| d + 1 < BASE) {
            Some(i) => {
                a.truncate(i + 1);
                if let Some(d) = a.get_mut(i) {
                    *d += 1;
                }
                Ok(to_key(&a))
            }
            None => {
                a.push(BASE / 2);
                Ok(to_key(&a))
            }
        },
        (a, Some(b)) => midpoint(a.as_deref().unwrap_or(&[]), &b).map(|d| to_key(&d)),
    }
}

/// Digit-by-digit midpoint of `a < b` (both without trailing zeros; `a` may be empty = start).
fn midpoint(mut a: &[u8], b: &[u8]) -> Result<Vec<u8>, OrderError> {
    let mut out = Vec::with_capacity(b.len() + 1);
    let mut upper = Some(b);
    loop {
        if let Some(b) = upper {
            let common = b
                .iter()
                .enumerate()
                .take_while(|&(i, &d)| a.get(i).copied().unwrap_or(0) == d)
                .count();
            out.extend_from_slice(b.get(..common).unwrap_or(&[]));
            a = a.get(common..).unwrap_or(&[]);
            let rest = b.get(common..).unwrap_or(&[]);
            if rest.is_empty() {
                return Err(OrderError::OutOfOrder);
            }
            upper = Some(rest);
        }
        let da = a.first().copied().unwrap_or(0);
        let db = upper.and_then(|b| b.first().copied()).unwrap_or(BASE);
        if db <= da {
            return Err(OrderError::OutOfOrder);
        }
        if db - da > 1 {
            out.push((da + db).div_ceil(2));
            return Ok(out);
        }
        if let Some(b) = upper {
            if b.len() > 1 {
                out.push(db);
                return Ok(out);
            }
        }
        out.push(da);
        a = a.get(1..).unwrap_or(&[]);
        upper = None;
    }
}

/// The key that puts a new or moved item at `index` of a list whose current keys, sorted as
/// displayed, are `sorted` (without the moved item). Never fails: equal keys left by concurrent
/// writers are stepped over, and invalid keys make it fall back to appending after the largest
/// valid key.
pub fn key_at(sorted: &[&str], index: usize) -> String {
    let index = index.min(sorted.len());
    let lower = index.checked_sub(1).and_then(|i| sorted.get(i)).copied();
    let upper = sorted
        .get(index..)
        .unwrap_or(&[])
        .iter()
        .copied()
        .find(|k| lower.is_none_or(|l| *k > l));
    between(lower, upper).unwrap_or_else(|_| append_key(sorted))
}

/// A key after every valid key of `keys`.
pub fn append_key(keys: &[&str]) -> String {
    let last = keys.iter().copied().filter(|k| is_valid(k)).max();
    between(last, None).unwrap_or_else(|_| "V".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn simple_cases() {
        assert_eq!(between(None, None).as_deref(), Ok("V"));
        assert_eq!(between(Some("V"), None).as_deref(), Ok("W"));
        assert_eq!(between(Some("z"), None).as_deref(), Ok("zV"));
        assert_eq!(between(Some("zV"), None).as_deref(), Ok("zW"));
        assert_eq!(between(None, Some("1")).as_deref(), Ok("0V"));
        assert_eq!(between(Some("V"), Some("W")).as_deref(), Ok("VV"));
        assert_eq!(between(Some("V"), Some("V1")).as_deref(), Ok("V0V"));
        assert_eq!(between(Some("W"), Some("V")), Err(OrderError::OutOfOrder));
        assert_eq!(between(Some("V"), Some("V")), Err(OrderError::OutOfOrder));
        assert_eq!(between(Some("V0"), None), Err(OrderError::InvalidKey));
        assert_eq!(between(Some("é"), None), Err(OrderError::InvalidKey));
        assert_eq!(between(Some(""), None), Err(OrderError::InvalidKey));
    }

    #[test]
    fn random_insertions_keep_order() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut keys: Vec<String> = Vec::new();
        for _ in 0..2000 {
            let i = rng.random_range(0..=keys.len());
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let k = key_at(&refs, i);
            assert!(is_valid(&k), "{k}");
            if let Some(prev) = i.checked_sub(1).and_then(|p| keys.get(p)) {
                assert!(prev < &k, "{prev} !< {k}");
            }
            if let Some(next) = keys.get(i) {
                assert!(&k < next, "{k} !< {next}");
            }
            keys.insert(i, k);
        }
        assert!(keys.iter().map(String::len).max().unwrap_or(0) < 40);
    }

    #[test]
    fn repeated_appends_and_prepends_stay_short() {
        let mut last = between(None, None).unwrap_or_default();
        let mut first = last.clone();
        for _ in 0..1000 {
            let next = between(Some(&last), None).unwrap_or_default();
            assert!(next > last);
            last = next;
            let prev = between(None, Some(&first)).unwrap_or_default();
            assert!(prev < first && is_valid(&prev));
            first = prev;
        }
        assert!(last.len() <= 40, "{}", last.len());
        assert!(first.len() <= 200, "{}", first.len());
    }

    #[test]
    fn key_at_steps_over_ties_and_survives_garbage() {
        let k = key_at(&["V", "V", "X"], 1);
        assert!(k.as_str() > "V" && k.as_str() < "X");
        let k = key_at(&["V", "W", "W"], 2);
        assert!(k.as_str() > "W");
        let k = key_at(&["<b>", "V"], 1);
        assert!(k.as_str() > "V");
        let k = key_at(&[], 5);
        assert_eq!(k, "V");
    }
}
