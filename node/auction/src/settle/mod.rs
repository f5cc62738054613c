//! Settlement: the commands that take the money and release the goods after
//! the hammer, and what they keep.
//!
//! Only inputs are kept (terms, consignors, lot → consignor, payments,
//! releases); invoices and statements are derived by [`invoice`] from them
//! and the lots' results, on the in-memory state here and on a stored view
//! in [`read`], so a reopened lot changes its invoice with no command
//! about it.

pub mod invoice;
pub mod read;
pub(crate) mod records;

use paddle_proto::auction::{
    Accepted, AuctionCommand, BidId, Collection, Consignor, Invoice, LotConsignor, LotId,
    LotStatus, Paddle, Payment, PaymentMethod, RejectReason, SaleId, SettlementTerms,
};

use crate::checks::{check_text, invalid, Outcome, MAX_BID};
use crate::effects::Effects;
use crate::engine::MAX_LOTS_PER_COMMAND;
use crate::state::{AuctionState, Lot};
use invoice::InvoiceOf;

/// Most consignors the house may have.
pub const MAX_CONSIGNORS: usize = 100_000;

/// A payment command's fields (borrowed).
pub(crate) struct PaymentForm<'a> {
    pub paddle: Paddle,
    pub payment_id: &'a str,
    pub amount: i64,
    pub method: PaymentMethod,
    pub reference: &'a str,
    pub reason: &'a str,
}

fn same_payment(p: &Payment, f: &PaymentForm<'_>) -> bool {
    p.amount == f.amount
        && p.method == f.method
        && p.reference == f.reference
        && p.reason == f.reason
}

fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn check_bp(field: &str, bp: u32) -> Outcome<()> {
    match bp <= 10_000 {
        true => Ok(()),
        false => Err(invalid(field)),
    }
}

impl AuctionState {
    /// A sale's settlement terms (defaults when never set).
    pub fn settlement_terms(&self, sale: SaleId) -> SettlementTerms {
        self.settle.terms.get(&sale).cloned().unwrap_or_default()
    }

    /// Every consignor, by id.
    pub fn consignors(&self) -> impl Iterator<Item = &Consignor> {
        self.settle.consignors.values()
    }

    /// The consignor a lot names, if any.
    pub fn lot_consignor(&self, lot: LotId) -> Option<u32> {
        self.settle.lot_consignors.get(&lot).copied()
    }

    fn sale_lots(&self, sale: SaleId) -> Vec<&Lot> {
        self.sales
            .get(&sale)
            .map(|s| s.lots.iter().filter_map(|id| self.lots.get(id)).collect())
            .unwrap_or_default()
    }

    /// A buyer's invoice, derived from the in-memory state.
    pub fn invoice(&self, sale: SaleId, paddle: Paddle) -> Option<Invoice> {
        self.invoice_among(sale, paddle, &self.sale_lots(sale))
    }

    /// A buyer's invoice from `lots`, which hold every lot they won.
    fn invoice_among(&self, sale: SaleId, paddle: Paddle, lots: &[&Lot]) -> Option<Invoice> {
        let s = self.sales.get(&sale)?;
        let terms = self.settlement_terms(sale);
        let payments = self.settle.payments.get(&(sale, paddle));
        let name = self
            .bidders
            .get(&(sale, paddle))
            .map(|b| b.name.as_str())
            .unwrap_or("");
        invoice::invoice(&InvoiceOf {
            sale: s,
            terms: &terms,
            lots,
            paddle,
            name,
            payments: payments.map(Vec::as_slice).unwrap_or(&[]),
            collected: &self.settle.collected,
        })
    }

    /// Every invoice of a sale, by paddle.
    pub fn invoices(&self, sale: SaleId) -> Vec<Invoice> {
        let lots = self.sale_lots(sale);
        let payers = self
            .settle
            .payments
            .range((sale, Paddle(0))..=(sale, Paddle(u32::MAX)))
            .map(|(k, _)| k.1);
        invoice::buyers(&lots, payers)
            .into_iter()
            .filter_map(|(p, won)| self.invoice_among(sale, p, &won))
            .collect()
    }

    /// Settlement commands (`None`: not one of them).
    pub(crate) fn settle_command(
        &mut self,
        stamp_ms: u64,
        cmd: &AuctionCommand,
        fx: &mut Effects,
    ) -> Option<Outcome<Accepted>> {
        use AuctionCommand::*;
        Some(match cmd {
            SetSettlementTerms { sale, terms } => self.set_settlement_terms(*sale, terms, fx),
            CreateConsignor {
                name,
                contact,
                commission_bp,
            } => self.create_consignor(name, contact, *commission_bp, fx),
            EditConsignor {
                id,
                name,
                contact,
                commission_bp,
            } => self.edit_consignor(*id, name, contact, *commission_bp, fx),
            SetLotConsignors { sale, lots } => self.set_lot_consignors(*sale, lots, fx),
            RecordPayment {
                sale,
                paddle,
                payment_id,
                amount,
                method,
                reference,
                reason,
            } => {
                let form = PaymentForm {
                    paddle: *paddle,
                    payment_id,
                    amount: *amount,
                    method: *method,
                    reference,
                    reason,
                };
                self.record_payment(stamp_ms, *sale, &form, fx)
            }
            MarkCollected {
                sale,
                lot,
                override_reason,
            } => self.mark_collected(stamp_ms, *sale, *lot, override_reason.as_deref(), fx),
            _ => return None,
        })
    }

    pub(crate) fn set_settlement_terms(
        &mut self,
        sale: SaleId,
        terms: &SettlementTerms,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        check_bp("tax_bp", terms.tax_bp)?;
        check_bp("commission_bp", terms.commission_bp)?;
        check_text("house_name", &terms.house_name, 0, 200)?;
        check_text("house_address", &terms.house_address, 0, 500)?;
        self.settle.terms.insert(sale, terms.clone());
        fx.touched.settle_terms.push(sale);
        Ok(Accepted::SettlementTermsSet { sale })
    }

    fn check_consignor(
        &self,
        id: Option<u32>,
        name: &str,
        contact: &str,
        commission_bp: Option<u32>,
    ) -> Outcome<()> {
        check_text("name", name, 1, 100)?;
        if name.contains('\n') {
            return Err(invalid("name"));
        }
        check_text("contact", contact, 0, 500)?;
        if let Some(bp) = commission_bp {
            check_bp("commission_bp", bp)?;
        }
        let key = name_key(name);
        let taken = self
            .settle
            .consignors
            .values()
            .any(|c| Some(c.id) != id && name_key(&c.name) == key);
        if taken {
            return Err(RejectReason::Duplicate {
                what: "consignor".into(),
            });
        }
        Ok(())
    }

    pub(crate) fn create_consignor(
        &mut self,
        name: &str,
        contact: &str,
        commission_bp: Option<u32>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        self.check_consignor(None, name, contact, commission_bp)?;
        if self.settle.consignors.len() >= MAX_CONSIGNORS {
            return Err(invalid("consignors"));
        }
        let id = self
            .settle
            .consignors
            .keys()
            .next_back()
            .map_or(1, |k| k + 1);
        self.settle.consignors.insert(
            id,
            Consignor {
                id,
                name: name.trim().to_string(),
                contact: contact.to_string(),
                commission_bp,
            },
        );
        fx.touched.consignors.push(id);
        Ok(Accepted::ConsignorSaved { consignor: id })
    }

    pub(crate) fn edit_consignor(
        &mut self,
        id: u32,
        name: &str,
        contact: &str,
        commission_bp: Option<u32>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.settle.consignors.contains_key(&id) {
            return Err(RejectReason::UnknownConsignor);
        }
        self.check_consignor(Some(id), name, contact, commission_bp)?;
        let c = self.settle.consignors.get_mut(&id).expect("checked");
        c.name = name.trim().to_string();
        c.contact = contact.to_string();
        c.commission_bp = commission_bp;
        fx.touched.consignors.push(id);
        Ok(Accepted::ConsignorSaved { consignor: id })
    }

    pub(crate) fn set_lot_consignors(
        &mut self,
        sale: SaleId,
        lots: &[LotConsignor],
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        if lots.is_empty() || lots.len() > MAX_LOTS_PER_COMMAND {
            return Err(invalid("lots"));
        }
        for LotConsignor { lot, consignor: c } in lots {
            self.lot_of(sale, *lot)?;
            if c.is_some_and(|c| !self.settle.consignors.contains_key(&c)) {
                return Err(RejectReason::UnknownConsignor);
            }
        }
        for LotConsignor { lot, consignor: c } in lots {
            match c {
                Some(c) => self.settle.lot_consignors.insert(*lot, *c),
                None => self.settle.lot_consignors.remove(lot),
            };
            fx.touched.lot_consignors.push(*lot);
        }
        Ok(Accepted::LotConsignorsSet {
            sale,
            lots: lots.len() as u32,
        })
    }

    pub(crate) fn record_payment(
        &mut self,
        stamp_ms: u64,
        sale: SaleId,
        f: &PaymentForm<'_>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        if BidId::new(f.payment_id).is_err() {
            return Err(invalid("payment_id"));
        }
        let key = (sale, f.payment_id.to_string());
        if let Some(&(paddle, seq)) = self.settle.payment_ids.get(&key) {
            let first = &self.settle.payments[&(sale, paddle)][seq as usize];
            return match paddle == f.paddle && same_payment(first, f) {
                true => Ok(Accepted::PaymentRecorded { sale, paddle, seq }),
                false => Err(RejectReason::Duplicate {
                    what: "payment_id".into(),
                }),
            };
        }
        if f.amount == 0 || f.amount.unsigned_abs() > MAX_BID.minor() as u64 {
            return Err(RejectReason::InvalidAmount);
        }
        check_text("reference", f.reference, 0, 100)?;
        check_text("reason", f.reason, 0, 500)?;
        if f.amount < 0 && f.reason.trim().is_empty() {
            return Err(invalid("reason"));
        }
        if !self.bidders.contains_key(&(sale, f.paddle)) {
            return Err(RejectReason::NotRegistered);
        }
        if self.invoice(sale, f.paddle).is_none() {
            return Err(RejectReason::NothingWon);
        }
        let list = self.settle.payments.entry((sale, f.paddle)).or_default();
        let seq = list.len() as u32;
        list.push(Payment {
            payment_id: f.payment_id.to_string(),
            amount: f.amount,
            method: f.method,
            reference: f.reference.to_string(),
            reason: f.reason.to_string(),
            at_ms: stamp_ms,
        });
        self.settle.payment_ids.insert(key, (f.paddle, seq));
        fx.touched.payments.push((sale, f.paddle, seq));
        Ok(Accepted::PaymentRecorded {
            sale,
            paddle: f.paddle,
            seq,
        })
    }

    pub(crate) fn mark_collected(
        &mut self,
        stamp_ms: u64,
        sale: SaleId,
        lot: LotId,
        override_reason: Option<&str>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        let (_, l) = self.lot_of(sale, lot)?;
        if l.status != LotStatus::Sold {
            return Err(RejectReason::WrongStatus { status: l.status });
        }
        let paddle = l
            .result
            .and_then(|r| r.winner)
            .ok_or(RejectReason::WrongStatus { status: l.status })?;
        if self.settle.collected.contains_key(&lot) {
            return Err(RejectReason::AlreadyCollected);
        }
        match override_reason {
            Some(r) => {
                check_text("override_reason", r, 1, 500)?;
            }
            None => {
                let balance = self.invoice(sale, paddle).map_or(0, |i| i.balance);
                if balance > 0 {
                    return Err(RejectReason::BalanceDue {
                        balance: paddle_proto::Money::clamped(balance),
                    });
                }
            }
        }
        self.settle.collected.insert(
            lot,
            Collection {
                paddle,
                at_ms: stamp_ms,
                override_reason: override_reason.map(str::to_string),
            },
        );
        fx.touched.collected.push(lot);
        Ok(Accepted::Collected { sale, lot, paddle })
    }
}
