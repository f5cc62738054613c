//! The checker must be able to fail: hand-made histories, one fault each.

use super::*;

fn sent(id: &str, paddle: u32, lot: u64, max: i64, answer: Answer) -> Sent {
    Sent {
        bid_id: id.into(),
        paddle,
        lot,
        max,
        answer,
        node: "n1".into(),
    }
}

fn row(seq: u32, id: &str, paddle: u32, index: u64) -> Row {
    Row {
        seq,
        bid_id: id.into(),
        paddle,
        index,
        retracted: false,
    }
}

fn seen(price: Option<i64>, leader: Option<u32>, bids: u32) -> LotSeen {
    LotSeen {
        price,
        leader,
        bids,
    }
}

fn node(name: &str, history: Vec<Row>, end: LotSeen) -> NodeFinal {
    NodeFinal {
        name: name.into(),
        applied_index: 9,
        state_hash: "abc".into(),
        lots: BTreeMap::from([(1, LotFinal { seen: end, history })]),
    }
}

fn read(index: u64, s: LotSeen) -> Read {
    Read {
        node: "n2".into(),
        lot: 1,
        index,
        seen: s,
    }
}

/// A true history: paddle 1 bids 10.00 (the start), paddle 2 outbids with
/// a maximum of 10.50, so the price is 10.00 + 0.10; paddle 1's repeat of
/// 10.00 is refused; paddle 3's maximum of 12.00, whose answer was lost
/// (unknown) but which was placed, leads at 10.50 + 0.10; paddle 3's next
/// bid was not placed.
fn good() -> Audit {
    let history = vec![row(0, "a", 1, 5), row(1, "b", 2, 6), row(2, "d", 3, 8)];
    let end = seen(Some(1_060), Some(3), 3);
    Audit {
        sent: vec![
            sent("a", 1, 1, 1_000, Answer::Accepted(Some(5))),
            sent("b", 2, 1, 1_050, Answer::Accepted(Some(6))),
            sent("c", 1, 1, 1_000, Answer::Refused(7, "too_low".into())),
            sent("d", 3, 1, 1_200, Answer::Unknown),
            sent("e", 3, 1, 1_300, Answer::NotPlaced("no_quorum".into())),
        ],
        reads: vec![
            read(4, seen(None, None, 0)),
            read(5, seen(Some(1_000), Some(1), 1)),
            read(7, seen(Some(1_010), Some(2), 2)),
            read(9, seen(Some(1_060), Some(3), 3)),
        ],
        nodes: vec![
            node("n1", history.clone(), end.clone()),
            node("n2", history, end),
        ],
        terms: BTreeMap::from([(
            1,
            LotTerms {
                start: 1_000,
                increments: vec![(0, 10)],
            },
        )]),
    }
}

/// The check fails, naming `kind`.
fn fails(a: &Audit, kind: &str) {
    match a.check() {
        Ok(v) => panic!("a history with {kind} passed: {v:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("{kind}:")),
                "expected {kind}, got: {msg}"
            );
        }
    }
}

#[test]
fn a_true_history_passes_and_is_counted() {
    let v = good().check().expect("a true history");
    assert_eq!(
        (
            v.sent,
            v.accepted,
            v.refused,
            v.not_placed,
            v.unknown,
            v.unknown_placed
        ),
        (5, 2, 1, 1, 1, 1)
    );
    assert_eq!((v.in_history, v.reads, v.nodes), (3, 4, 2));
}

#[test]
fn an_acknowledged_bid_missing_on_one_node_is_lost() {
    let mut a = good();
    a.nodes[1].lots.get_mut(&1).unwrap().history.remove(1);
    fails(&a, "lost");
}

#[test]
fn an_acknowledgement_naming_an_index_before_the_bid_is_lost() {
    let mut a = good();
    a.sent[1].answer = Answer::Accepted(Some(5));
    fails(&a, "lost");
    // A later index is true: the bid is in the state there too (the answer
    // to a resend the node made itself).
    let mut a = good();
    a.sent[1].answer = Answer::Accepted(Some(7));
    a.check().expect("an acknowledgement at a later index");
}

#[test]
fn a_refused_or_not_placed_bid_in_the_history_is_a_lie() {
    let mut a = good();
    a.sent[1].answer = Answer::Refused(6, "too_low".into());
    fails(&a, "lies");
    let mut a = good();
    a.sent[3].answer = Answer::NotPlaced("no_quorum".into());
    fails(&a, "lies");
}

#[test]
fn a_bid_nobody_sent_is_a_phantom() {
    let mut a = good();
    for n in &mut a.nodes {
        n.lots.get_mut(&1).unwrap().history[2].bid_id = "zz".into();
    }
    fails(&a, "phantoms");
    let mut a = good();
    a.sent[3].paddle = 2;
    fails(&a, "phantoms");
}

#[test]
fn one_bid_id_making_two_bids_is_a_double() {
    let mut a = good();
    for n in &mut a.nodes {
        let l = n.lots.get_mut(&1).unwrap();
        l.history.push(row(3, "a", 1, 9));
    }
    fails(&a, "doubles");
}

#[test]
fn a_history_out_of_order_fails() {
    let mut a = good();
    for n in &mut a.nodes {
        n.lots.get_mut(&1).unwrap().history[2].index = 4;
    }
    fails(&a, "order");
}

#[test]
fn a_final_price_or_leader_the_rules_do_not_give_fails() {
    let mut a = good();
    for n in &mut a.nodes {
        n.lots.get_mut(&1).unwrap().seen = seen(Some(1_200), Some(3), 3);
    }
    fails(&a, "rules");
    let mut a = good();
    for n in &mut a.nodes {
        n.lots.get_mut(&1).unwrap().seen = seen(Some(1_060), Some(2), 3);
    }
    fails(&a, "rules");
    // The maximum the client sent decides: paddle 3 said 10.05, below
    // paddle 2's 10.50, so paddle 2 should lead.
    let mut a = good();
    a.sent[3].max = 1_005;
    fails(&a, "rules");
}

#[test]
fn nodes_that_disagree_fail() {
    let mut a = good();
    a.nodes[1].state_hash = "abd".into();
    fails(&a, "divergence");
    let mut a = good();
    a.nodes[1].applied_index = 10;
    fails(&a, "divergence");
}

#[test]
fn a_read_showing_older_state_than_its_index_fails() {
    let mut a = good();
    a.reads.push(read(8, seen(Some(1_010), Some(2), 2)));
    fails(&a, "stale reads");
    let mut a = good();
    a.reads.push(read(6, seen(Some(1_060), Some(3), 3)));
    fails(&a, "torn reads");
}

#[test]
fn a_price_that_falls_between_reads_fails() {
    let mut a = good();
    a.reads.push(read(10, seen(Some(1_010), Some(2), 2)));
    fails(&a, "price fell");
}
