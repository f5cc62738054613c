//! `--plot FILE.svg`: a latency distribution as a hand-written SVG.
//!
//! The classic HdrHistogram picture: latency (log axis, ms) against the
//! percentile, whose axis is `log10(1 / (1 - q))` so 50 %, 90 %, 99 %,
//! 99.9 % and 99.99 % are evenly spaced and the tail gets the room. One
//! line per series; a series without samples is named "not measured" in
//! the legend. Plain SVG text, no crate: a few lines and a polyline each
//! (plotters would bring fonts and a drawing backend for this).

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// One line of the plot: its name and `(quantile, ms)` points.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Quantiles drawn for each series.
pub const QUANTILES: &[f64] = &[
    0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999,
];

/// Highest quantile on the axis (the last tick, 99.99 %).
const TOP_Q: f64 = 0.9999;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLOURS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// The `(quantile, ms)` points of a histogram of microseconds (none when
/// it holds no samples).
pub fn points_of(h: Option<&Histogram<u64>>) -> Vec<(f64, f64)> {
    match h {
        Some(h) if !h.is_empty() => QUANTILES
            .iter()
            .map(|&q| (q, h.value_at_quantile(q).max(1) as f64 / 1000.0))
            .collect(),
        _ => Vec::new(),
    }
}

fn x_of(q: f64) -> f64 {
    let span = (1.0 / (1.0 - TOP_Q)).log10();
    let v = (1.0 / (1.0 - q.min(TOP_Q))).log10();
    LEFT + v / span * (WIDTH - LEFT - RIGHT)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SVG document.
pub fn latency_svg(title: &str, series: &[Series]) -> String {
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Whole decades around the data (1 ms to 10 ms when there is none).
    let (lo_exp, hi_exp) = if lo <= hi {
        let lo_exp = lo.max(1e-3).log10().floor() as i32;
        (lo_exp, (hi.max(1e-3).log10().ceil() as i32).max(lo_exp + 1))
    } else {
        (0, 1)
    };
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y_of = |ms: f64| {
        let v = (ms.max(1e-3).log10() - lo_exp as f64) / (hi_exp - lo_exp) as f64;
        TOP + plot_h * (1.0 - v)
    };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    // Horizontal grid: one line per decade.
    for e in lo_exp..=hi_exp {
        let y = y_of(10f64.powi(e));
        let label = if e >= 0 {
            format!("{}", 10u64.pow(e as u32))
        } else {
            format!("{}", 10f64.powi(e))
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    // Vertical grid: the percentile ticks.
    for (q, label) in [
        (0.0, "0%"),
        (0.9, "90%"),
        (0.99, "99%"),
        (0.999, "99.9%"),
        (0.9999, "99.99%"),
    ]
    .into_iter()
    .chain(std::iter::once((0.5, "50%")))
    {
        let x = x_of(q);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 14.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">latency (ms, log)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if !s.points.is_empty() {
            let pts: Vec<String> = s
                .points
                .iter()
                .map(|&(q, ms)| format!("{:.1},{:.1}", x_of(q), y_of(ms)))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                pts.join(" ")
            );
        }
        let name = if s.points.is_empty() {
            format!("{} (not measured)", s.name)
        } else {
            s.name.clone()
        };
        let y = TOP + 14.0 + 16.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + 10.0,
            y - 4.0,
            LEFT + 30.0,
            y - 4.0,
            LEFT + 36.0,
            y,
            escape(&name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values_us: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 120_000_000, 3).unwrap();
        for &v in values_us {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn points_follow_the_quantiles_and_are_empty_without_samples() {
        let h = hist(&(1..=10_000).collect::<Vec<_>>());
        let pts = points_of(Some(&h));
        assert_eq!(pts.len(), QUANTILES.len());
        assert!(pts.windows(2).all(|w| w[0].1 <= w[1].1), "non-decreasing");
        let p50 = pts.iter().find(|p| p.0 == 0.5).unwrap().1;
        assert!(
            (4.9..=5.1).contains(&p50),
            "p50 of 1..10 ms is ~5 ms: {p50}"
        );
        assert!(points_of(Some(&hist(&[]))).is_empty());
        assert!(points_of(None).is_empty());
    }

    #[test]
    fn the_svg_draws_each_measured_series_and_names_the_missing_one() {
        let result = Series {
            name: "bid -> bid_result".into(),
            points: vec![(0.0, 0.8), (0.5, 3.0), (0.99, 45.0), (0.9999, 120.0)],
        };
        let watcher = Series {
            name: "bid -> watcher <all nodes>".into(),
            points: Vec::new(),
        };
        let svg = latency_svg("paddle bench api & co", &[result, watcher]);
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains("bid -&gt; watcher &lt;all nodes&gt; (not measured)"));
        assert!(svg.contains("paddle bench api &amp; co"));
        // Decades from 0.1 ms to 1000 ms cover 0.8..120 ms.
        for label in [">0.1<", ">1<", ">10<", ">100<", ">1000<"] {
            assert!(svg.contains(label), "axis label {label}");
        }
        for label in ["50%", "99%", "99.9%", "99.99%"] {
            assert!(svg.contains(&format!(">{label}<")), "tick {label}");
        }
        // Every coordinate is a finite number inside the picture.
        let pts = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for xy in pts.split(' ') {
            let (x, y) = xy.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((LEFT..=WIDTH - RIGHT).contains(&x), "x {x}");
            assert!((TOP..=HEIGHT - BOTTOM).contains(&y), "y {y}");
        }
    }

    #[test]
    fn an_empty_plot_is_still_a_picture() {
        let svg = latency_svg("nothing", &[]);
        assert!(svg.contains("</svg>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
