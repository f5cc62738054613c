//! What the venue's assistant writes into the log: a lot's spoken
//! introduction, and whether a sale allows rival profiles.
//!
//! The assistant itself (a model server or templates) runs in the node, off
//! the bid path; only its finished words come here, once per lot, so every
//! screen and phone shows and says the same thing.

use paddle_proto::auction::{Accepted, AuctionEvent, LotId, LotStatus, RejectReason, SaleId};

use crate::checks::Outcome;
use crate::effects::Effects;
use crate::state::{AuctionState, Intro};

/// Longest introduction accepted, in characters (a few spoken sentences).
pub const MAX_INTRO_CHARS: usize = 600;

/// Where an introduction's words came from.
pub const INTRO_SOURCES: [&str; 2] = ["model", "template"];

impl AuctionState {
    /// Does `sale` allow outbid bidders to ask about the leading paddle?
    pub fn rival_profiles(&self, sale: SaleId) -> bool {
        !self.no_rivals.contains(&sale)
    }

    /// The introduction of `lot`, once it has one.
    pub fn intro(&self, lot: LotId) -> Option<&Intro> {
        self.intros.get(&lot)
    }

    /// Store the first introduction of a lot that has opened; a repeat (a
    /// new leader proposing again, a retry) is accepted and changes nothing.
    pub(crate) fn introduce_lot(
        &mut self,
        sale: SaleId,
        lot: LotId,
        text: &str,
        source: &str,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (_, l) = self.lot_of(sale, lot)?;
        if matches!(l.status, LotStatus::Scheduled | LotStatus::Withdrawn) {
            return Err(RejectReason::WrongStatus { status: l.status });
        }
        let text = text.trim();
        if text.is_empty()
            || text.chars().count() > MAX_INTRO_CHARS
            || text.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(RejectReason::InvalidInput {
                field: "text".into(),
            });
        }
        if !INTRO_SOURCES.contains(&source) {
            return Err(RejectReason::InvalidInput {
                field: "source".into(),
            });
        }
        if self.intros.contains_key(&lot) {
            return Ok(Accepted::LotIntroduced {
                sale,
                lot,
                fresh: false,
            });
        }
        let intro = Intro {
            text: text.to_owned(),
            source: source.to_owned(),
        };
        fx.events.push(AuctionEvent::LotIntroduced {
            sale,
            lot,
            text: intro.text.clone(),
            source: intro.source.clone(),
        });
        self.intros.insert(lot, intro);
        fx.touched.intros.push(lot);
        Ok(Accepted::LotIntroduced {
            sale,
            lot,
            fresh: true,
        })
    }

    /// Allow or forbid rival profiles in a sale.
    pub(crate) fn set_rival_profiles(
        &mut self,
        sale: SaleId,
        on: bool,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        let changed = match on {
            true => self.no_rivals.remove(&sale),
            false => self.no_rivals.insert(sale),
        };
        if changed {
            fx.touched.no_rivals.push(sale);
            fx.events.push(AuctionEvent::RivalProfilesSet { sale, on });
        }
        Ok(Accepted::RivalProfilesSet { sale, on })
    }
}
