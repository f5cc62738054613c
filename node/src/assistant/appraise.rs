//! The appraiser: a title, a description, a low–high estimate and a start
//! price for a lot, suggested to the operator and never applied by itself.
//!
//! Two ways, in order: the model server looks at the photo (one vision
//! request) and answers JSON that is read strictly; or, without a model or
//! when it fails, the cluster's own results answer: sold lots whose titles
//! share words with this one (token Jaccard similarity), the estimate from
//! the 20th to 80th percentile of their hammer prices. Everything here except the request
//! itself is a pure function, tested on its own and measured by
//! `paddle appraise-eval`.

use std::collections::BTreeSet;

use paddle_proto::{Currency, Money};
use serde::{Deserialize, Serialize};

/// A title must share at least this much (Jaccard, in %) with the lot's
/// to count as a comparable.
pub const MIN_SIMILARITY_PCT: u32 = 25;
/// At most this many comparables make an estimate (the most similar,
/// then the most recent).
pub const MAX_COMPARABLES: usize = 40;
/// A model's estimate wider than this (high / low) is not an estimate.
const MAX_SPREAD: i64 = 10;

/// Words that say nothing about what a lot is.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "lot", "of", "on", "or", "the", "to",
    "with",
];

/// A sold lot of this cluster, as a comparable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comparable {
    pub sale: u64,
    pub lot: u64,
    pub title: String,
    /// Hammer price, minor units.
    pub hammer: Money,
    /// Title similarity with the appraised lot, 0–100.
    pub similarity_pct: u32,
}

/// Where a suggestion came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The model server, from the photo.
    Model,
    /// Comparable sold lots of this cluster.
    Comparables,
    /// Neither: no model, and no comparable (the lot's own terms are kept).
    NoComparables,
}

/// A suggestion for the operator to review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Appraisal {
    pub source: Source,
    /// Which path answered, and why (shown beside the suggestion).
    pub note: String,
    pub title: String,
    pub description: String,
    /// Minor units; `null` with no comparables.
    pub estimate_low: Option<Money>,
    pub estimate_high: Option<Money>,
    /// Suggested start price, minor units.
    pub start: Money,
    /// The comparable sold lots considered (also with a model answer).
    pub comparables: Vec<Comparable>,
}

/// The lot being appraised, as the catalogue has it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub title: String,
    pub description: String,
    pub start: Money,
    pub currency: Currency,
}

/// Lowercase words of a title without stop words and one-letter tokens.
pub fn tokens(title: &str) -> BTreeSet<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 1 && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// Jaccard similarity of two token sets, in whole percent.
pub fn similarity_pct(a: &BTreeSet<String>, b: &BTreeSet<String>) -> u32 {
    let union = a.union(b).count();
    if union == 0 {
        return 0;
    }
    (a.intersection(b).count() * 100 / union) as u32
}

/// The comparables of `title` among `sold` (in log order: later is more
/// recent): similar enough, most similar first, then most recent.
pub fn comparables(title: &str, sold: &[Comparable]) -> Vec<Comparable> {
    let own = tokens(title);
    let mut found: Vec<(usize, Comparable)> = sold
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let pct = similarity_pct(&own, &tokens(&c.title));
            (pct >= MIN_SIMILARITY_PCT).then(|| {
                let mut c = c.clone();
                c.similarity_pct = pct;
                (i, c)
            })
        })
        .collect();
    found.sort_by(|(ia, a), (ib, b)| b.similarity_pct.cmp(&a.similarity_pct).then(ib.cmp(ia)));
    found.truncate(MAX_COMPARABLES);
    found.into_iter().map(|(_, c)| c).collect()
}

/// The `q`-th quantile (q in 0..=100) of sorted values, interpolated.
fn quantile(sorted: &[i64], q: i64) -> i64 {
    let n = sorted.len() as i64;
    let pos = q * (n - 1);
    let (i, frac) = ((pos / 100) as usize, pos % 100);
    match sorted.get(i + 1) {
        Some(next) if frac > 0 => sorted[i] + (next - sorted[i]) * frac / 100,
        _ => sorted[i],
    }
}

/// The estimate from comparables' hammers: their 20th to 80th percentile
/// (one comparable: ±20 % around it). Chosen with `paddle appraise-eval`:
/// on the eBay log it holds the final price a little over half the time
/// (BENCHMARKS.md), as an auction house's estimate range roughly should.
pub fn estimate(comps: &[Comparable]) -> Option<(Money, Money)> {
    let mut h: Vec<i64> = comps.iter().map(|c| c.hammer.minor()).collect();
    h.sort_unstable();
    let (low, high) = match h.len() {
        0 => return None,
        1 => (h[0] * 8 / 10, h[0] * 12 / 10),
        _ => (quantile(&h, 20), quantile(&h, 80)),
    };
    Some((
        Money::clamped(low.max(1)),
        Money::clamped(high.max(low).max(1)),
    ))
}

/// The start price suggested for an estimate: half the low estimate.
pub fn start_for(low: Money) -> Money {
    Money::clamped((low.minor() / 2).max(1))
}

/// The deterministic appraisal: from the comparables, or "no comparables"
/// (the lot's own terms kept). `why` says why the model was not used.
pub fn fallback(subject: &Subject, sold: &[Comparable], why: &str) -> Appraisal {
    let comps = comparables(&subject.title, sold);
    let c = subject.currency;
    match estimate(&comps) {
        Some((low, high)) => Appraisal {
            source: Source::Comparables,
            note: format!(
                "From {} comparable sold lot{} of this cluster ({why}).",
                comps.len(),
                if comps.len() == 1 { "" } else { "s" }
            ),
            title: subject.title.clone(),
            description: if subject.description.trim().is_empty() {
                format!(
                    "Comparable lots sold here for {} to {}.",
                    c.format(low),
                    c.format(high)
                )
            } else {
                subject.description.clone()
            },
            estimate_low: Some(low),
            estimate_high: Some(high),
            start: start_for(low),
            comparables: comps,
        },
        None => Appraisal {
            source: Source::NoComparables,
            note: format!(
                "No comparables: no sold lot of this cluster has a title like this one ({why}). \
                 The lot's own terms are kept."
            ),
            title: subject.title.clone(),
            description: subject.description.clone(),
            estimate_low: None,
            estimate_high: None,
            start: subject.start,
            comparables: Vec::new(),
        },
    }
}

/// What the model is asked to answer, exactly (unknown fields refused).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelAppraisal {
    title: String,
    description: String,
    estimate_low: serde_json::Number,
    estimate_high: serde_json::Number,
    start: serde_json::Number,
}

/// Read a model's answer strictly: one JSON object with exactly the five
/// fields, amounts as plain decimal numbers in the sale's currency, and
/// values an auction could use (positive, start ≤ low ≤ high, a range no
/// wider than tenfold, within the largest bid). Anything else is an error
/// naming what was wrong.
pub fn read_model_answer(
    text: &str,
    currency: Currency,
    max: Money,
) -> Result<(String, String, Money, Money, Money), String> {
    let a: ModelAppraisal =
        serde_json::from_str(text.trim()).map_err(|e| format!("not the JSON asked for ({e})"))?;
    let amount = |field: &str, n: &serde_json::Number| -> Result<Money, String> {
        let text = n.to_string();
        if text.starts_with('-') {
            return Err(format!("{field} is negative ({text})"));
        }
        let m = currency.parse(&text).map_err(|e| {
            format!(
                "{field} = {text} is not an amount in {} ({e})",
                currency.code()
            )
        })?;
        if m.is_zero() || m > max {
            return Err(format!("{field} = {text} is not a price anyone could bid"));
        }
        Ok(m)
    };
    let low = amount("estimate_low", &a.estimate_low)?;
    let high = amount("estimate_high", &a.estimate_high)?;
    let start = amount("start", &a.start)?;
    if low > high {
        return Err(format!(
            "estimate_low {} is above estimate_high {}",
            low.minor(),
            high.minor()
        ));
    }
    if high.minor() > low.minor().saturating_mul(MAX_SPREAD) {
        return Err("the estimate spans more than tenfold".into());
    }
    if start > high {
        return Err("the start price is above the high estimate".into());
    }
    let title = a.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        return Err("the title is empty or longer than 200 characters".into());
    }
    if a.description.chars().count() > 4000 {
        return Err("the description is longer than 4000 characters".into());
    }
    Ok((title, a.description.trim().to_owned(), low, high, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sold(lot: u64, title: &str, hammer: i64) -> Comparable {
        Comparable {
            sale: 1,
            lot,
            title: title.into(),
            hammer: Money::from_minor(hammer).unwrap(),
            similarity_pct: 0,
        }
    }

    fn subject(title: &str) -> Subject {
        Subject {
            title: title.into(),
            description: String::new(),
            start: Money::from_minor(500).unwrap(),
            currency: Currency::USD,
        }
    }

    #[test]
    fn similar_titles_are_found_most_similar_then_most_recent_first() {
        let pool = [
            sold(1, "Victorian walnut mantel clock", 12_000),
            sold(2, "Oak dining table", 30_000),
            sold(3, "Walnut mantel clock, French", 20_000),
            sold(4, "Victorian walnut mantel clock", 16_000),
        ];
        let c = comparables("A Victorian Walnut Mantel Clock", &pool);
        let lots: Vec<u64> = c.iter().map(|c| c.lot).collect();
        assert_eq!(lots, [4, 1, 3], "{c:?}");
        assert_eq!(c[0].similarity_pct, 100);
        assert!(c[2].similarity_pct < 100 && c[2].similarity_pct >= MIN_SIMILARITY_PCT);
    }

    #[test]
    fn the_estimate_is_the_middle_sixty_percent_and_the_start_half_the_low() {
        let pool: Vec<Comparable> = [100, 200, 300, 400, 500]
            .iter()
            .enumerate()
            .map(|(i, h)| sold(i as u64, "Brass lamp", *h))
            .collect();
        let a = fallback(
            &subject("Brass lamp"),
            &pool,
            "no model server is configured",
        );
        assert_eq!(a.source, Source::Comparables);
        assert_eq!(a.estimate_low.unwrap().minor(), 180);
        assert_eq!(a.estimate_high.unwrap().minor(), 420);
        assert_eq!(a.start.minor(), 90);
        assert_eq!(a.comparables.len(), 5);
        assert!(
            a.note.contains("5 comparable sold lots") && a.note.contains("no model server"),
            "{}",
            a.note
        );
        assert_eq!(a.description, "Comparable lots sold here for 1.80 to 4.20.");
        // One comparable: ±20 %.
        let a = fallback(&subject("Brass lamp"), &pool[..1], "x");
        assert_eq!(
            (
                a.estimate_low.unwrap().minor(),
                a.estimate_high.unwrap().minor()
            ),
            (80, 120)
        );
    }

    #[test]
    fn no_comparables_keeps_the_lot_and_says_so() {
        let pool = [sold(1, "Oak dining table", 30_000)];
        let a = fallback(&subject("Brass lamp"), &pool, "the model timed out");
        assert_eq!(a.source, Source::NoComparables);
        assert_eq!(a.estimate_low, None);
        assert_eq!(a.start.minor(), 500);
        assert!(a.note.starts_with("No comparables") && a.note.contains("timed out"));
        // The same input gives the same answer: deterministic.
        assert_eq!(
            a,
            fallback(&subject("Brass lamp"), &pool, "the model timed out")
        );
    }

    #[test]
    fn the_model_answer_is_read_strictly() {
        let max = Money::from_minor(100_000_000).unwrap();
        let ok = r#"{"title":"Brass lamp","description":"Art deco.","estimate_low":80,"estimate_high":120.5,"start":40}"#;
        let (t, d, low, high, start) = read_model_answer(ok, Currency::USD, max).unwrap();
        assert_eq!((t.as_str(), d.as_str()), ("Brass lamp", "Art deco."));
        assert_eq!(
            (low.minor(), high.minor(), start.minor()),
            (8000, 12050, 4000)
        );
        for (bad, why) in [
            ("I think it is worth about $100", "not the JSON"),
            (
                r#"{"title":"x","description":"","estimate_low":"80","estimate_high":120,"start":40}"#,
                "not the JSON",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":80,"estimate_high":120,"start":40,"extra":1}"#,
                "not the JSON",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":-5,"estimate_high":120,"start":40}"#,
                "negative",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":80,"estimate_high":1e30,"start":40}"#,
                "estimate_high",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":80,"estimate_high":1000000000,"start":40}"#,
                "not a price",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":120,"estimate_high":80,"start":40}"#,
                "above",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":1,"estimate_high":80,"start":1}"#,
                "tenfold",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":80,"estimate_high":120,"start":400}"#,
                "start price",
            ),
            (
                r#"{"title":"x","description":"","estimate_low":80.001,"estimate_high":120,"start":40}"#,
                "estimate_low",
            ),
            (
                r#"{"title":" ","description":"","estimate_low":80,"estimate_high":120,"start":40}"#,
                "title",
            ),
        ] {
            let err = read_model_answer(bad, Currency::USD, max).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
