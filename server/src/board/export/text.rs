//! Text helpers shared by the renderers: control characters dropped, lines split, dates and
//! times formatted. Escaping for a target lives with that target's renderer.

use super::labels::Labels;

/// Drops control characters (keeping newlines and tabs, tabs as spaces).
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\t' => Some(' '),
            '\r' => None,
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Non-empty trimmed lines of a user text.
pub(crate) fn text_lines(s: &str) -> Vec<String> {
    clean(s)
        .split(['\n', '\u{2028}', '\u{2029}'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// User text on one line: its lines joined with spaces.
pub(crate) fn one_line(s: &str) -> String {
    text_lines(s).join(" ")
}

/// Whether a user text has anything visible.
pub(crate) fn is_blank(s: &str) -> bool {
    text_lines(s).is_empty()
}

/// "2023-05-09" → "9 mai 2023" (in the labels' language); anything else is returned trimmed.
pub fn long_date(date: &str, labels: &Labels) -> String {
    let parts: Vec<&str> = date.trim().split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        let month = m
            .parse::<usize>()
            .ok()
            .and_then(|m| m.checked_sub(1))
            .and_then(|i| labels.months.get(i));
        let day = d.parse::<u32>().ok().filter(|d| (1..=31).contains(d));
        let year_ok = y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit());
        if let (Some(month), Some(day), true) = (month, day, year_ok) {
            return (labels.long_date)(day, month, y);
        }
    }
    date.trim().to_owned()
}

/// Milliseconds since the epoch as `yyyy-mm-ddThh:mm:ssZ`; `""` for 0 or out-of-range values.
pub fn iso_time(ms: i64) -> String {
    if ms <= 0 || ms > 253_402_300_799_999 {
        return String::new();
    }
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
