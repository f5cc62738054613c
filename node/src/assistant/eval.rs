//! `paddle appraise-eval FILE`: the fallback appraiser measured on an eBay
//! bid log (auctionid,bid,bidtime,bidder,bidderrate,openbid,price,item,
//! auction_type). Leave-one-out over auctions: each auction is appraised
//! from all the others (its title is `item, auction_type`, its hammer the
//! final `price`), and we count how often the low–high estimate holds the
//! price it actually fetched.

use std::path::Path;

use paddle_proto::{Currency, Money};

use super::appraise::{self, Comparable, Subject};

/// What the evaluation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Auctions in the file.
    pub auctions: usize,
    /// Auctions that had comparables (an estimate was made).
    pub estimated: usize,
    /// Estimates that held the final price.
    pub held: usize,
    /// Final prices below the low estimate.
    pub below: usize,
    /// Final prices above the high estimate.
    pub above: usize,
    /// Median estimate width, as % of the final price.
    pub median_width_pct: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |n: usize| {
            if self.estimated == 0 {
                0.0
            } else {
                n as f64 * 100.0 / self.estimated as f64
            }
        };
        write!(
            f,
            "auctions {}, estimated {}, range held the final price {}/{} ({:.1} %), \
             below {} ({:.1} %), above {} ({:.1} %), median range width {} % of the price",
            self.auctions,
            self.estimated,
            self.held,
            self.estimated,
            pct(self.held),
            self.below,
            pct(self.below),
            self.above,
            pct(self.above),
            self.median_width_pct
        )
    }
}

/// The auctions of an eBay bid log: (title, final price), in file order.
pub fn auctions(path: &Path) -> anyhow::Result<Vec<(String, Money)>> {
    let mut rdr = csv::Reader::from_path(path)?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("{} has no column {name}", path.display()))
    };
    let (id, price, item, kind) = (
        col("auctionid")?,
        col("price")?,
        col("item")?,
        col("auction_type")?,
    );
    let mut out: Vec<(String, String, Money)> = Vec::new();
    for (n, row) in rdr.records().enumerate() {
        let row = row?;
        let auction = row.get(id).unwrap_or_default();
        if out.iter().any(|(a, ..)| a == auction) {
            continue;
        }
        let raw = row.get(price).unwrap_or_default().trim();
        let p = Currency::USD
            .parse(raw)
            .map_err(|e| anyhow::anyhow!("row {}: price {raw:?}: {e}", n + 2))?;
        let title = format!(
            "{}, {}",
            row.get(item).unwrap_or_default().trim(),
            row.get(kind).unwrap_or_default().trim()
        );
        out.push((auction.to_owned(), title, p));
    }
    Ok(out.into_iter().map(|(_, t, p)| (t, p)).collect())
}

/// Leave-one-out over `auctions`.
pub fn evaluate(auctions: &[(String, Money)]) -> Report {
    let pool: Vec<Comparable> = auctions
        .iter()
        .enumerate()
        .map(|(i, (title, price))| Comparable {
            sale: 0,
            lot: i as u64,
            title: title.clone(),
            hammer: *price,
            similarity_pct: 0,
        })
        .collect();
    let mut r = Report {
        auctions: auctions.len(),
        estimated: 0,
        held: 0,
        below: 0,
        above: 0,
        median_width_pct: 0,
    };
    let mut widths = Vec::new();
    for (i, (title, price)) in auctions.iter().enumerate() {
        let others: Vec<Comparable> = pool.iter().filter(|c| c.lot != i as u64).cloned().collect();
        let subject = Subject {
            title: title.clone(),
            description: String::new(),
            start: Money::clamped(1),
            currency: Currency::USD,
        };
        let a = appraise::fallback(&subject, &others, "evaluation");
        let (Some(low), Some(high)) = (a.estimate_low, a.estimate_high) else {
            continue;
        };
        r.estimated += 1;
        if *price < low {
            r.below += 1;
        } else if *price > high {
            r.above += 1;
        } else {
            r.held += 1;
        }
        widths.push(((high.minor() - low.minor()) * 100 / price.minor().max(1)) as u64);
    }
    widths.sort_unstable();
    r.median_width_pct = widths.get(widths.len() / 2).copied().unwrap_or(0);
    r
}

/// `paddle appraise-eval FILE`.
pub fn run(path: &Path) -> anyhow::Result<()> {
    let a = auctions(path)?;
    println!("{}: {}", path.display(), evaluate(&a));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leave_one_out_counts_what_the_range_holds() {
        let m = |v| Money::from_minor(v).unwrap();
        let a: Vec<(String, Money)> = [100, 200, 300, 400, 500, 10_000]
            .iter()
            .map(|p| ("Xbox game console, 7 day auction".to_owned(), m(*p)))
            .chain([("Oak table".to_owned(), m(50))])
            .collect();
        let r = evaluate(&a);
        assert_eq!(
            (r.auctions, r.estimated),
            (7, 6),
            "the table has no comparable"
        );
        assert_eq!(r.held + r.below + r.above, r.estimated);
        // 1.00 and 2.00 fall below the others' 20th percentile, 100.00
        // above their 80th; 3.00, 4.00 and 5.00 are held.
        assert_eq!((r.held, r.below, r.above), (3, 2, 1), "{r:?}");
    }
}
