//! Lot introductions: when a lot opens, the leader composes a few words
//! (catalogue facts, the estimate from comparables, live interest) and
//! proposes them once as `IntroduceLot`; every node applies and publishes
//! the same `lot_introduced` event, which screens and phones show and
//! speak. The model writes them when there is one and it answers in time;
//! otherwise one of several templates does, picked by a hash of the lot id
//! so the choice is the same wherever and whenever it is made.

use std::sync::Arc;

use paddle_auction::{read, MAX_INTRO_CHARS};
use paddle_consensus::{Consensus, KvView};
use paddle_proto::auction::{AuctionCommand, AuctionEvent, LotId, SaleId};
use paddle_proto::{Command, Currency, Money};
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};

use super::model::Assistant;
use super::rival::mix;
use crate::machine::EventBatch;

/// What an introduction may say: public facts only (never the reserve).
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// 1-based catalogue number.
    pub number: u32,
    pub title: String,
    /// The start of the catalogue text (first sentence, ≤ 160 characters).
    pub description: String,
    pub start: String,
    /// "low to high" from comparable sold lots, if any.
    pub estimate: Option<String>,
    /// People watching the sale on every node.
    pub watchers: u64,
    /// Counted bids already (absentee bids apply at the opening).
    pub bids: u32,
    /// The price after them, if any.
    pub price: Option<String>,
}

impl Facts {
    /// Facts for a lot, with its estimate and watcher count worked out by
    /// the caller.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        number: u32,
        title: &str,
        description: &str,
        start: Money,
        estimate: Option<(Money, Money)>,
        watchers: u64,
        bids: u32,
        price: Option<Money>,
        currency: Currency,
    ) -> Facts {
        let first = description
            .split_inclusive(['.', '!', '?', '\n'])
            .next()
            .unwrap_or("")
            .trim();
        // A sentence of its own, however the catalogue ends it.
        let mut description: String = first.chars().take(160).collect();
        if !description.is_empty() && !description.ends_with(['.', '!', '?']) {
            description.push('.');
        }
        Facts {
            number,
            title: title.trim().trim_end_matches('.').to_owned(),
            description,
            start: currency.format(start),
            estimate: estimate
                .map(|(l, h)| format!("{} to {}", currency.format(l), currency.format(h))),
            watchers,
            bids,
            price: price.map(|p| currency.format(p)),
        }
    }
}

/// The template introduction of `lot`: the wording is chosen by a hash of
/// the lot id (deterministic), the facts fill it.
pub fn template(lot: LotId, f: &Facts) -> String {
    let estimate = f.estimate.as_ref().map_or(String::new(), |e| {
        format!(" Similar pieces have sold here for {e}.")
    });
    let interest = match (f.bids, &f.price, f.watchers) {
        (b, Some(p), _) if b > 0 => format!(
            " {b} bid{} already in hand, and we stand at {p}.",
            if b == 1 { "" } else { "s" }
        ),
        (_, _, w) if w > 1 => format!(" {w} of you are watching."),
        _ => String::new(),
    };
    let desc = if f.description.is_empty() {
        String::new()
    } else {
        format!(" {}", f.description)
    };
    let (n, t, s) = (f.number, &f.title, &f.start);
    let text = match mix(lot.0) % 5 {
        0 => format!("Lot {n}: {t}.{desc}{estimate}{interest} Who will start me at {s}?"),
        1 => format!("And now, lot {n}, {t}.{desc}{estimate}{interest} Bidding opens at {s}."),
        2 => format!("Here is lot {n}: {t}.{estimate}{desc}{interest} Let's begin at {s}."),
        3 => format!("Lot {n} takes the stage: {t}.{desc}{interest}{estimate} {s} to open."),
        _ => {
            format!("Ladies and gentlemen, lot {n}: {t}.{desc}{estimate}{interest} Do I hear {s}?")
        }
    };
    clip(&text)
}

/// At most [`MAX_INTRO_CHARS`], cut at a word.
fn clip(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX_INTRO_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_INTRO_CHARS - 1).collect();
    let cut = cut
        .rsplit_once(' ')
        .map_or(cut.as_str(), |(a, _)| a)
        .to_owned();
    format!("{cut}…")
}

/// Read the model's introduction: plain text, a few sentences, no markup.
pub fn read_model_intro(text: &str) -> Result<String, String> {
    let t = text.trim().trim_matches('"').trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    if t.starts_with('{') || t.starts_with('[') || t.contains("```") {
        return Err("markup instead of plain words".into());
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err("control characters".into());
    }
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > MAX_INTRO_CHARS {
        return Err(format!("longer than {MAX_INTRO_CHARS} characters"));
    }
    Ok(t)
}

/// The introduction and where it came from (`model` or `template`).
pub async fn compose(assistant: &Assistant, lot: LotId, facts: &Facts) -> (String, &'static str) {
    if let Some(model) = assistant.model() {
        let messages = json!([
            {"role": "system", "content":
                "You are the auctioneer at a live auction. Introduce the lot that has just opened \
                 in at most two short sentences (under 50 words): lively, warm and factual. Plain \
                 text only. Use only the facts given; name no person; mention no price but those given."},
            {"role": "user", "content": serde_json::to_string(facts).unwrap_or_default()},
        ]);
        match model
            .chat(messages, false)
            .await
            .map_err(|e| e.to_string())
            .and_then(|t| read_model_intro(&t))
        {
            Ok(text) => return (text, "model"),
            Err(why) => {
                tracing::warn!(lot = lot.0, %why, "lot introduction falls back to a template")
            }
        }
    }
    (template(lot, facts), "template")
}

/// The facts of `lot` in `sale` from `view`, with `watchers` counted by
/// the caller.
pub fn facts_of(view: &KvView, sale: SaleId, lot: LotId, watchers: u64) -> Option<Facts> {
    let s = read::sale_record(view, sale).ok()??;
    let l = read::get_lot(view, lot).ok()??;
    let currency = s.spec.currency;
    let sold = super::sold::sold_lots(view, currency, Some(lot));
    let estimate = super::appraise::estimate(&super::appraise::comparables(&l.title, &sold));
    Some(Facts::new(
        l.position + 1,
        &l.title,
        &l.description,
        l.start,
        estimate,
        watchers,
        l.bids,
        l.price,
        currency,
    ))
}

/// The leader's task: introduce each lot that opens, once, off the bid
/// path. Runs on every node; only the leader of the moment acts.
/// `watchers` counts the people watching a sale on every node (the API
/// knows; this module does not import it).
pub async fn run(
    consensus: Consensus,
    mut events: broadcast::Receiver<Arc<EventBatch>>,
    assistant: Arc<Assistant>,
    watchers: Arc<dyn Fn(SaleId) -> u64 + Send + Sync>,
) {
    if !assistant.enabled() {
        return;
    }
    loop {
        let batch = match events.recv().await {
            Ok(b) => b,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "lot introductions skipped batches");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if consensus.current_leader() != Some(consensus.id()) {
            continue;
        }
        for rec in &batch.events {
            if let AuctionEvent::LotOpened { sale, lot, .. } = rec.event {
                let (c, a) = (consensus.clone(), assistant.clone());
                let seen = watchers(sale);
                tokio::spawn(async move { introduce(c, a, sale, lot, seen).await });
            }
        }
    }
}

/// Compose and propose one lot's introduction.
async fn introduce(
    consensus: Consensus,
    assistant: Arc<Assistant>,
    sale: SaleId,
    lot: LotId,
    watchers: u64,
) {
    let Some(facts) = facts_of(&consensus.view(), sale, lot, watchers) else {
        return;
    };
    let (text, source) = compose(&assistant, lot, &facts).await;
    let cmd = AuctionCommand::IntroduceLot {
        sale,
        lot,
        text,
        source: source.to_owned(),
    };
    if let Err(e) = consensus.propose(Command::Auction(cmd)).await {
        tracing::warn!(lot = lot.0, error = %e, "could not propose a lot introduction");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(bids: u32, watchers: u64) -> Facts {
        Facts::new(
            3,
            "Walnut mantel clock",
            "Eight-day movement. Some wear to the base.",
            Money::from_minor(5_000).unwrap(),
            Some((
                Money::from_minor(12_000).unwrap(),
                Money::from_minor(16_000).unwrap(),
            )),
            watchers,
            bids,
            (bids > 0).then(|| Money::from_minor(7_000).unwrap()),
            Currency::USD,
        )
    }

    #[test]
    fn templates_are_varied_deterministic_and_factual() {
        let f = facts(0, 12);
        let texts: std::collections::BTreeSet<String> =
            (0..40).map(|l| template(LotId(l), &f)).collect();
        assert!(texts.len() >= 4, "several wordings: {texts:?}");
        for t in &texts {
            assert!(
                t.contains("Walnut mantel clock") && t.contains("50.00"),
                "{t}"
            );
            assert!(
                t.contains("120.00 to 160.00") && t.contains("12 of you"),
                "{t}"
            );
            assert!(
                t.contains("Eight-day movement.") && !t.contains("Some wear"),
                "{t}"
            );
        }
        assert_eq!(template(LotId(7), &f), template(LotId(7), &f));
        let with_bids = template(LotId(7), &facts(2, 12));
        assert!(
            with_bids.contains("2 bids already in hand, and we stand at 70.00"),
            "{with_bids}"
        );
        let long = Facts::new(
            1,
            &"Very long title ".repeat(60),
            "",
            Money::from_minor(1).unwrap(),
            None,
            0,
            0,
            None,
            Currency::USD,
        );
        assert!(template(LotId(1), &long).chars().count() <= MAX_INTRO_CHARS);
        // A description without a full stop still ends its sentence.
        let plain = Facts::new(
            1,
            "Clock.",
            "Walnut, as described in the catalogue",
            Money::from_minor(1).unwrap(),
            None,
            0,
            0,
            None,
            Currency::USD,
        );
        assert_eq!(plain.description, "Walnut, as described in the catalogue.");
        assert_eq!(plain.title, "Clock");
    }

    #[test]
    fn model_words_are_checked() {
        assert_eq!(
            read_model_intro("  \"Lot 3: a   fine clock!\"\n").unwrap(),
            "Lot 3: a fine clock!"
        );
        assert!(read_model_intro("{\"text\": \"hi\"}").is_err());
        assert!(read_model_intro("```hi```").is_err());
        assert!(read_model_intro(" ").is_err());
        assert!(read_model_intro(&"word ".repeat(200)).is_err());
    }
}
