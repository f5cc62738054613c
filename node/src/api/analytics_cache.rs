//! The last analytics figures computed per sale and audience (a leaf
//! module: `rest::analytics` fills it, the API state holds it).

use std::sync::Arc;

use paddle_auction::analytics::Audience;
use paddle_proto::auction::SaleAnalytics;

/// Sales whose last figures are kept, per audience.
const CACHED: usize = 64;

/// The last figures computed per sale and audience, with the index they
/// reflect: deriving them reads every event of the sale (about 0.2 s for
/// 10 000 bids on a debug build), and every dashboard on a node asks after
/// each event, so one computation per applied index serves them all. Exact:
/// the figures are a function of the state at that index.
#[derive(Default)]
pub struct AnalyticsCache {
    last: std::sync::Mutex<std::collections::HashMap<(u64, bool), (u64, Arc<SaleAnalytics>)>>,
}

impl AnalyticsCache {
    /// The figures kept for this sale and audience, if they are at `index`.
    pub fn get(&self, sale: u64, who: Audience, index: u64) -> Option<Arc<SaleAnalytics>> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.get(&(sale, who == Audience::Staff))
            .filter(|(i, _)| *i == index)
            .map(|(_, a)| a.clone())
    }

    /// Keep `a` as the figures at `index`.
    pub fn put(&self, sale: u64, who: Audience, index: u64, a: Arc<SaleAnalytics>) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() >= CACHED {
            last.clear();
        }
        last.insert((sale, who == Audience::Staff), (index, a));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddle_proto::auction::SaleId;

    #[test]
    fn figures_are_kept_for_their_index_and_audience_only() {
        let c = AnalyticsCache::default();
        let a = Arc::new(SaleAnalytics {
            sale: SaleId(1),
            summary: Default::default(),
            bids_over_time: Default::default(),
            lots: Vec::new(),
            bidders: Vec::new(),
            top_by_spend: Vec::new(),
            top_by_bids: Vec::new(),
        });
        c.put(1, Audience::Public, 10, a.clone());
        assert!(c.get(1, Audience::Public, 10).is_some());
        assert!(
            c.get(1, Audience::Public, 11).is_none(),
            "a later index derives again"
        );
        assert!(
            c.get(1, Audience::Staff, 10).is_none(),
            "staff figures have names"
        );
        assert!(c.get(2, Audience::Public, 10).is_none());
        for sale in 2..(2 + CACHED as u64) {
            c.put(sale, Audience::Public, 10, a.clone());
        }
        assert!(c.last.lock().unwrap().len() <= CACHED);
    }
}
