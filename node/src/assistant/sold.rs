//! This cluster's own past results as the appraiser's comparables.

use paddle_auction::read;
use paddle_consensus::KvView;
use paddle_proto::auction::LotId;
use paddle_proto::Currency;

use super::appraise::Comparable;

/// Every sold lot of this cluster in `currency`, in lot order (later is
/// more recent), as comparables; `except` leaves the appraised lot out.
pub fn sold_lots(view: &KvView, currency: Currency, except: Option<LotId>) -> Vec<Comparable> {
    let mut out = Vec::new();
    for sale in read::list_sales(view, None).unwrap_or_default() {
        if sale.currency != currency {
            continue;
        }
        for l in read::lots(view, sale.sale)
            .ok()
            .flatten()
            .unwrap_or_default()
        {
            let hammer = l.result.as_ref().and_then(|r| r.hammer);
            if let (Some(hammer), false) = (hammer, Some(l.lot) == except) {
                out.push(Comparable {
                    sale: sale.sale.0,
                    lot: l.lot.0,
                    title: l.title,
                    hammer,
                    similarity_pct: 0,
                });
            }
        }
    }
    out.sort_by_key(|c| c.lot);
    out
}
