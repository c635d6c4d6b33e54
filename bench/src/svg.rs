//! A hand-written SVG plot of latency distributions: a CDF with a logarithmic time axis and a
//! vertical axis stretched towards the tail (0, 90, 99, 99.9, 99.99 % equally spaced), where
//! servers differ most.
//!
//! Written directly rather than through a plotting crate so the report builds without font or
//! image libraries; text is left to the viewer's fonts.

use std::fmt::Write as _;

/// One curve: `(fraction, ms)` points, fraction ascending.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Second legend line (key figures).
    pub detail: String,
    /// Points of the CDF.
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 860.0;
const H: f64 = 500.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 260.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 6] = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
];

/// Renders the CDFs of `series` into a standalone SVG document.
pub fn cdf(title: &str, series: &[Series]) -> String {
    let values = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo_exp, hi_exp) = if lo <= hi {
        (lo.log10().floor() as i32, hi.log10().ceil() as i32)
    } else {
        (-1, 3)
    };
    let hi_exp = hi_exp.max(lo_exp + 1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |ms: f64| {
        let l = ms.max(10f64.powi(lo_exp)).log10();
        LEFT + (l - f64::from(lo_exp)) / f64::from(hi_exp - lo_exp) * plot_w
    };
    // -log10(1 - q): 0 at 0 %, 1 at 90 %, 2 at 99 % … capped at 99.99 %, where the max also sits.
    let stretch = |q: f64| -(1.0 - q).max(1e-4).log10() / 4.0;
    let y = |q: f64| TOP + (1.0 - stretch(q)) * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" font-size="16" font-weight="bold">{}</text>"#,
        LEFT,
        escape(title)
    );
    for e in lo_exp..=hi_exp {
        let px = x(10f64.powi(e));
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            s,
            r#"<text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            TOP + plot_h + 18.0,
            tick_label(e)
        );
    }
    for (q, text) in [
        (0.0, "0"),
        (0.5, "50"),
        (0.9, "90"),
        (0.99, "99"),
        (0.999, "99.9"),
        (0.9999, "99.99"),
    ] {
        let py = y(q);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{text}%</text>"#,
            LEFT - 6.0,
            py + 4.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">edit-to-delivery latency at the receivers (ms, log scale)</text>"#,
        LEFT + plot_w / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">deliveries at or below (%, tail stretched)</text>"#,
        TOP + plot_h / 2.0
    );
    for (i, series) in series.iter().enumerate() {
        let color = COLORS.get(i % COLORS.len()).copied().unwrap_or("#000");
        let mut path = String::new();
        // A step curve: each point holds its fraction until the next latency.
        let mut prev_q = 0.0;
        for (k, &(q, ms)) in series.points.iter().enumerate() {
            let (px, py0, py1) = (x(ms), y(prev_q), y(q));
            if k == 0 {
                let _ = write!(path, "M{px:.1},{py0:.1} ");
            }
            let _ = write!(path, "L{px:.1},{py0:.1} L{px:.1},{py1:.1} ");
            prev_q = q;
        }
        let _ = writeln!(
            s,
            r#"<path d="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.trim_end()
        );
        let ly = TOP + 20.0 + i as f64 * 40.0;
        let lx = LEFT + plot_w + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="3"/>"#,
            ly - 4.0,
            lx + 22.0,
            ly - 4.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{ly:.1}">{}</text>"#,
            lx + 28.0,
            escape(&series.name)
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#555">{}</text>"##,
            lx + 28.0,
            ly + 15.0,
            escape(&series.detail)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn tick_label(exp: i32) -> String {
    let v = 10f64.powi(exp);
    if exp < 0 {
        format!("{v}")
    } else if v >= 1000.0 {
        format!("{} s", v / 1000.0)
    } else {
        format!("{v}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_path_per_series_and_escapes_names() {
        let svg = cdf(
            "W1 <test>",
            &[
                Series {
                    name: "relay".into(),
                    detail: "p99 10 ms".into(),
                    points: vec![(0.5, 1.0), (0.99, 10.0), (1.0, 20.0)],
                },
                Series {
                    name: "a&b".into(),
                    detail: String::new(),
                    points: vec![(0.5, 3.0), (1.0, 2000.0)],
                },
            ],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("W1 &lt;test&gt;") && svg.contains("a&amp;b"));
        assert!(svg.contains(">1 s<"), "axis reaches the seconds");
    }

    #[test]
    fn empty_plot_is_still_valid() {
        let svg = cdf("none", &[]);
        assert!(svg.contains("</svg>") && !svg.contains("<path"));
    }
}
