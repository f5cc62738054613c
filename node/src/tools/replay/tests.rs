//! The replay's parsing, its causes and its report.

use super::*;

#[test]
fn times_and_durations_parse_exactly() {
    assert_eq!(days_to_ms("1"), Some(86_400_000));
    assert_eq!(days_to_ms("0.5"), Some(43_200_000));
    assert_eq!(days_to_ms("2.927373"), Some(252_925_027));
    assert_eq!(days_to_ms("-1"), None);
    assert_eq!(days_to_ms("1e3"), None);
    assert_eq!(parse_days("7 day auction"), Some(7));
    assert_eq!(parse_days("auction"), None);
    assert_eq!(split_csv(r#"a,"b,c","d""e""#), vec!["a", "b,c", "d\"e"]);
}

#[test]
fn a_small_log_replays() {
    let log = "auctionid,bid,bidtime,bidder,bidderrate,openbid,price,item,auction_type\n\
               1,95,2.9,a,0,95,117.5,x,3 day auction\n\
               1,115,2.91,b,0,95,117.5,x,3 day auction\n\
               1,100,2.92,c,0,95,117.5,x,3 day auction\n\
               1,117.5,2.99,d,0,95,117.5,x,3 day auction\n\
               2,10,0.1,a,0,10,10,x,3 day auction\n";
    let r = replay_csv(log.as_bytes(), IncrementTable::ebay_2005()).unwrap();
    assert_eq!(
        r.to_string(),
        "auctionid,predicted,logged,match,cause\n1,117.50,117.50,yes,\n2,10.00,10.00,yes,\n\
         matched 2/2, explained 0, unexplained 0"
    );
    let huge = "auctionid,bid,bidtime,bidder,openbid,price\n1,1,0.1,a,90071992547409.91,1\n";
    assert!(matches!(
        replay_csv(huge.as_bytes(), IncrementTable::ebay_2005()),
        Err(ReplayError::Auction { .. })
    ));
    let bad = "auctionid,bid\n1,2\n";
    assert!(matches!(
        replay_csv(bad.as_bytes(), IncrementTable::ebay_2005()),
        Err(ReplayError::MissingColumn("bidtime"))
    ));
}

fn causes(log: &str) -> Vec<(String, Option<&'static str>)> {
    let header = "auctionid,bid,bidtime,bidder,openbid,price,auction_type\n";
    let r = replay_csv(
        format!("{header}{log}").as_bytes(),
        IncrementTable::ebay_2005(),
    )
    .unwrap();
    r.rows
        .iter()
        .map(|row| (row.auction_id.clone(), row.cause().map(Cause::as_str)))
        .collect()
}

#[test]
fn every_mismatch_has_its_cause() {
    // 1: the winner's single 199 against 183: only a reserve (or a
    // buy-now) at 199 makes that price. 2: logged above every bid.
    // 3: logged below what the bids make (a retraction). 4: above the
    // prediction but not the winner's maximum. 5: matched.
    let log = "1,183,0.1,a,10,199,3 day auction\n\
               1,199,0.2,b,10,199,3 day auction\n\
               2,20,0.1,a,10,45,3 day auction\n\
               2,30,0.2,b,10,45,3 day auction\n\
               3,50,0.1,a,10,20,3 day auction\n\
               3,60,0.2,b,10,20,3 day auction\n\
               4,50,0.1,a,10,55,3 day auction\n\
               4,60,0.2,b,10,55,3 day auction\n\
               5,10,0.1,a,10,10,3 day auction\n";
    assert_eq!(
        causes(log),
        [
            ("1".to_string(), Some("reserve_or_buy_now")),
            ("2".to_string(), Some("truncated_log")),
            ("3".to_string(), Some("below_model")),
            ("4".to_string(), Some("unexplained")),
            ("5".to_string(), None),
        ]
    );
    let r = replay_csv(
        format!("auctionid,bid,bidtime,bidder,openbid,price,auction_type\n{log}").as_bytes(),
        IncrementTable::ebay_2005(),
    )
    .unwrap();
    assert_eq!(r.summary(), "matched 1/5, explained 3, unexplained 1");
    assert!(
        r.to_string().contains("\n4,51.00,55.00,no,unexplained\n"),
        "{r}"
    );
    let json = r.to_json();
    assert_eq!(json["explained"], 3);
    assert_eq!(json["rows"][0]["cause"], "reserve_or_buy_now");
    assert_eq!(json["rows"][4]["cause"], serde_json::Value::Null);
    // A raise of one's own maximum is the winner's maximum too.
    let m = |v| Money::from_minor(v).unwrap();
    assert_eq!(
        cause_of(Some(m(1_299)), m(2_800), Some(m(2_800)), Some(m(2_800))),
        Some(Cause::ReserveOrBuyNow)
    );
    assert_eq!(
        cause_of(None, m(100), None, None),
        Some(Cause::TruncatedLog)
    );
    let mut progress = Vec::new();
    replay_csv_with(
        format!("auctionid,bid,bidtime,bidder,openbid,price\n{log}").as_bytes(),
        IncrementTable::ebay_2005(),
        |done, total| progress.push((done, total)),
    )
    .unwrap();
    assert_eq!(progress, [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]);
}

proptest::proptest! {
    #[test]
    fn garbage_never_panics(body in "[0-9a-z.,\"\n -]{0,300}") {
        let log = format!("auctionid,bid,bidtime,bidder,openbid,price,auction_type\n{body}");
        let _ = replay_csv(log.as_bytes(), IncrementTable::ebay_2005());
    }
}
