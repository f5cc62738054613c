//! The engine against real eBay bid logs: the committed copy of the Xbox
//! data set (149 auctions) must replay to eBay's own prices for at least
//! 147 of them. The two misses are explained in `auction::replay`'s docs:
//! 8214430396 and 8212190120 both show a price only a hidden reserve (or a
//! buy-now) explains, and the log format carries neither; the report
//! names that cause for both (`reserve_or_buy_now`).

use paddle_node::tools::replay::replay_csv;
use paddle_proto::auction::IncrementTable;

const XBOX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/ebay-xbox-bids.csv"
);

#[test]
fn xbox_log_replays_to_ebay_prices() {
    let file = std::fs::File::open(XBOX).expect("tests/data/ebay-xbox-bids.csv is committed");
    let report = replay_csv(file, IncrementTable::ebay_2005()).unwrap();
    assert_eq!(report.total(), 149);
    let misses: Vec<&str> = report
        .rows
        .iter()
        .filter(|r| !r.matched())
        .map(|r| r.auction_id.as_str())
        .collect();
    assert_eq!(misses, ["8214430396", "8212190120"], "\n{report}");
    assert!(report.matched() >= 147);
    let text = report.to_string();
    assert!(text.starts_with("auctionid,predicted,logged,match,cause\n"));
    // Both misses are a price only the winner's own maximum explains.
    assert!(text.ends_with("matched 147/149, explained 2, unexplained 0"));
    assert!(text.contains("\n8214430396,185.50,199.00,no,reserve_or_buy_now\n"));
    assert!(text.contains("\n8212190120,12.99,28.00,no,reserve_or_buy_now\n"));
    assert!(text.contains("\n8213034705,117.50,117.50,yes,\n"));
}
