//! Invoices, statements and the sale summary as pure functions of the
//! records: the engine uses them on its in-memory state (is there a
//! balance before goods leave?) and the read helpers on a stored view, so
//! both always agree.
//!
//! Rounding (documented in docs/protocol.md): premium, tax and commission
//! are per lot, `amount × bp / 10 000` rounded half up on integer minor
//! units ([`Money::basis_points`]); every total is the sum of its lines.

use std::collections::BTreeMap;

use paddle_proto::auction::{
    Collection, Consignor, Invoice, InvoiceLine, InvoiceStatus, LotId, LotStatus, Paddle, Payment,
    SettlementSummary, SettlementTerms, Statement, StatementLine, TaxBasis,
};
use paddle_proto::Money;

use crate::state::{Lot, Sale};

/// `m × bp / 10 000`, half up (amounts are bounded well below overflow).
fn bp(m: Money, bp: u32) -> Money {
    m.basis_points(bp).unwrap_or(Money::MAX)
}

/// The tax on one lot.
pub fn lot_tax(terms: &SettlementTerms, hammer: Money, premium: Money) -> Money {
    match terms.tax_on {
        TaxBasis::None => Money::ZERO,
        TaxBasis::Premium => bp(premium, terms.tax_bp),
        TaxBasis::HammerAndPremium => bp(hammer.saturating_add(premium), terms.tax_bp),
    }
}

/// The sold lots of `paddle` among `lots`, as invoice lines.
fn lines(
    terms: &SettlementTerms,
    lots: &[&Lot],
    paddle: Paddle,
    collected: &BTreeMap<LotId, Collection>,
) -> Vec<InvoiceLine> {
    let mut out = Vec::new();
    for lot in lots {
        let Some(r) = lot.result.filter(|_| lot.status == LotStatus::Sold) else {
            continue;
        };
        if r.winner != Some(paddle) {
            continue;
        }
        let hammer = r.hammer.unwrap_or(Money::ZERO);
        let premium = r.premium.unwrap_or(Money::ZERO);
        let tax = lot_tax(terms, hammer, premium);
        out.push(InvoiceLine {
            lot: lot.id,
            position: lot.position,
            title: lot.spec.title.clone(),
            hammer,
            premium,
            tax,
            total: hammer.saturating_add(premium).saturating_add(tax),
            collected: collected.get(&lot.id).is_some_and(|c| c.paddle == paddle),
        });
    }
    out
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Where an invoice of `total` stands after `paid`.
pub fn status_of(total: Money, paid: i64) -> InvoiceStatus {
    let balance = total.minor() as i128 - paid as i128;
    match balance {
        b if b < 0 => InvoiceStatus::Credit,
        0 => InvoiceStatus::Paid,
        _ if paid > 0 => InvoiceStatus::PartPaid,
        _ => InvoiceStatus::Unpaid,
    }
}

/// The buyers of a sale whose invoice exists, each with the lots they won
/// (in catalogue order): they won a lot, or have payments on record (a
/// reopened lot may leave payments without lots). One pass over the lots,
/// so every invoice of a sale costs O(lots + buyers), not their product.
pub fn buyers<'a>(
    lots: &[&'a Lot],
    payers: impl IntoIterator<Item = Paddle>,
) -> BTreeMap<Paddle, Vec<&'a Lot>> {
    let mut out: BTreeMap<Paddle, Vec<&'a Lot>> =
        payers.into_iter().map(|p| (p, Vec::new())).collect();
    for l in lots.iter().filter(|l| l.status == LotStatus::Sold) {
        if let Some(w) = l.result.and_then(|r| r.winner) {
            out.entry(w).or_default().push(l);
        }
    }
    out
}

/// The invoice inputs of one buyer.
pub struct InvoiceOf<'a> {
    pub sale: &'a Sale,
    pub terms: &'a SettlementTerms,
    /// The sale's lots in catalogue order.
    pub lots: &'a [&'a Lot],
    pub paddle: Paddle,
    pub name: &'a str,
    pub payments: &'a [Payment],
    pub collected: &'a BTreeMap<LotId, Collection>,
}

/// One buyer's invoice. `None` when they won nothing and paid nothing.
pub fn invoice(i: &InvoiceOf<'_>) -> Option<Invoice> {
    let lines = lines(i.terms, i.lots, i.paddle, i.collected);
    if lines.is_empty() && i.payments.is_empty() {
        return None;
    }
    let sum = |f: fn(&InvoiceLine) -> Money| {
        lines
            .iter()
            .fold(Money::ZERO, |acc, l| acc.saturating_add(f(l)))
    };
    let (hammer, premium, tax, total) = (
        sum(|l| l.hammer),
        sum(|l| l.premium),
        sum(|l| l.tax),
        sum(|l| l.total),
    );
    let paid = clamp(i.payments.iter().map(|p| p.amount as i128).sum());
    Some(Invoice {
        sale: i.sale.id,
        paddle: i.paddle,
        name: i.name.to_string(),
        currency: i.sale.spec.currency,
        premium_bp: i.sale.spec.premium_bp,
        tax_bp: i.terms.tax_bp,
        tax_on: i.terms.tax_on,
        house_name: i.terms.house_name.clone(),
        house_address: i.terms.house_address.clone(),
        lines,
        hammer,
        premium,
        tax,
        total,
        payments: i.payments.to_vec(),
        paid,
        balance: clamp(total.minor() as i128 - paid as i128),
        status: status_of(total, paid),
    })
}

/// The commission rate of a consignor in a sale.
pub fn commission_bp(terms: &SettlementTerms, c: &Consignor) -> u32 {
    c.commission_bp.unwrap_or(terms.commission_bp)
}

/// One consignor's statement for a sale: every lot of the sale that names
/// them (`owner` gives a lot's consignor id).
pub fn statement(
    sale: &Sale,
    terms: &SettlementTerms,
    lots: &[&Lot],
    consignor: &Consignor,
    owner: impl Fn(LotId) -> Option<u32>,
) -> Statement {
    let rate = commission_bp(terms, consignor);
    let mut st = Statement {
        sale: sale.id,
        consignor: consignor.clone(),
        currency: sale.spec.currency,
        house_name: terms.house_name.clone(),
        house_address: terms.house_address.clone(),
        lines: Vec::new(),
        sold: 0,
        passed: 0,
        hammer: Money::ZERO,
        commission: Money::ZERO,
        net: Money::ZERO,
    };
    for lot in lots.iter().filter(|l| owner(l.id) == Some(consignor.id)) {
        let hammer = match lot.status {
            LotStatus::Sold => lot.result.and_then(|r| r.hammer).unwrap_or(Money::ZERO),
            _ => Money::ZERO,
        };
        match lot.status {
            LotStatus::Sold => st.sold += 1,
            LotStatus::Passed => st.passed += 1,
            _ => {}
        }
        let commission = bp(hammer, rate);
        let net = hammer.saturating_sub(commission);
        st.hammer = st.hammer.saturating_add(hammer);
        st.commission = st.commission.saturating_add(commission);
        st.net = st.net.saturating_add(net);
        st.lines.push(StatementLine {
            lot: lot.id,
            position: lot.position,
            title: lot.spec.title.clone(),
            status: lot.status,
            hammer,
            commission_bp: rate,
            commission,
            net,
        });
    }
    st
}

/// The operator's summary of a sale from its invoices and lots.
pub fn summary(
    sale: &Sale,
    lots: &[&Lot],
    invoices: &[Invoice],
    commission: impl Fn(&Lot) -> Money,
) -> SettlementSummary {
    let sold = lots.iter().filter(|l| l.status == LotStatus::Sold).count() as u32;
    let passed = lots
        .iter()
        .filter(|l| l.status == LotStatus::Passed)
        .count() as u32;
    let finished = (sold + passed) as u64;
    let sum = |f: fn(&Invoice) -> Money| {
        invoices
            .iter()
            .fold(Money::ZERO, |acc, i| acc.saturating_add(f(i)))
    };
    let commission = lots
        .iter()
        .filter(|l| l.status == LotStatus::Sold)
        .fold(Money::ZERO, |acc, l| acc.saturating_add(commission(*l)));
    SettlementSummary {
        sale: sale.id,
        currency: sale.spec.currency,
        lots: lots.len() as u32,
        sold,
        passed,
        sell_through_bp: match finished {
            0 => 0,
            f => ((sold as u64 * 10_000 + f / 2) / f) as u32,
        },
        hammer: sum(|i| i.hammer),
        premium: sum(|i| i.premium),
        tax: sum(|i| i.tax),
        invoiced: sum(|i| i.total),
        commission,
        paid: clamp(invoices.iter().map(|i| i.paid as i128).sum()),
        outstanding: clamp(invoices.iter().map(|i| i.balance.max(0) as i128).sum()),
        invoices: invoices.len() as u32,
        invoices_paid: invoices
            .iter()
            .filter(|i| i.status == InvoiceStatus::Paid)
            .count() as u32,
    }
}
