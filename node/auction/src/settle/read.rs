//! Settlement views from one consistent stored view (any [`KvRead`]): the
//! same builders as the engine's, over the records.

use std::collections::BTreeMap;

use paddle_proto::auction::{
    Collection, Consignor, Invoice, LotId, Paddle, Payment, SaleId, SettlementSummary,
    SettlementTerms, Statement,
};
use paddle_proto::kv::KvRead;
use paddle_proto::Money;

use super::invoice::{self, InvoiceOf};
use super::records::consignor_key;
use crate::read::{lots_of, sale_record};
use crate::records::{bidder_key, decode_at, lot_key, sale_key, scan_all, tree, LoadError};
use crate::state::{Bidder, Lot, Sale};

type R<T> = Result<T, LoadError>;

fn get<T: serde::de::DeserializeOwned>(
    s: &(impl KvRead + ?Sized),
    t: &'static str,
    k: &[u8],
) -> R<Option<T>> {
    s.get(t, k).map(|v| decode_at(t, k, &v)).transpose()
}

/// A sale's settlement terms (defaults when never set).
pub fn terms(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<SettlementTerms> {
    Ok(get(s, tree::SETTLE_TERMS, &sale_key(sale))?.unwrap_or_default())
}

/// Every consignor, by id.
pub fn consignors(s: &(impl KvRead + ?Sized)) -> R<Vec<Consignor>> {
    Ok(scan_all(s, tree::CONSIGNORS, &[])?
        .into_iter()
        .map(|(_, c)| c)
        .collect())
}

/// One consignor.
pub fn consignor(s: &(impl KvRead + ?Sized), id: u32) -> R<Option<Consignor>> {
    get(s, tree::CONSIGNORS, &consignor_key(id))
}

/// The consignor a lot names.
pub fn lot_consignor(s: &(impl KvRead + ?Sized), lot: LotId) -> R<Option<u32>> {
    get(s, tree::LOT_CONSIGNORS, &lot_key(lot))
}

/// Everything a sale's invoices are made from.
struct SaleBooks {
    sale: Sale,
    terms: SettlementTerms,
    lots: Vec<Lot>,
    collected: BTreeMap<LotId, Collection>,
    payments: BTreeMap<Paddle, Vec<Payment>>,
}

fn books(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<SaleBooks>> {
    let Some(sale) = sale_record(s, sale)? else {
        return Ok(None);
    };
    let lots = lots_of(s, &sale)?;
    let mut collected = BTreeMap::new();
    for l in &lots {
        if let Some(c) = get::<Collection>(s, tree::COLLECTED, &lot_key(l.id))? {
            collected.insert(l.id, c);
        }
    }
    let mut payments: BTreeMap<Paddle, Vec<Payment>> = BTreeMap::new();
    for (k, p) in scan_all::<Payment>(s, tree::PAYMENTS, &sale_key(sale.id))? {
        let paddle = Paddle(u32::from_be_bytes(
            k[8..12].try_into().expect("16-byte key"),
        ));
        payments.entry(paddle).or_default().push(p);
    }
    Ok(Some(SaleBooks {
        terms: terms(s, sale.id)?,
        sale,
        lots,
        collected,
        payments,
    }))
}

fn name_of(s: &(impl KvRead + ?Sized), sale: SaleId, paddle: Paddle) -> R<String> {
    let b: Option<Bidder> = get(s, tree::BIDDERS, &bidder_key(sale, paddle))?;
    Ok(b.map(|b| b.name).unwrap_or_default())
}

fn invoice_in(
    s: &(impl KvRead + ?Sized),
    b: &SaleBooks,
    lots: &[&Lot],
    paddle: Paddle,
) -> R<Option<Invoice>> {
    let name = name_of(s, b.sale.id, paddle)?;
    Ok(invoice::invoice(&InvoiceOf {
        sale: &b.sale,
        terms: &b.terms,
        lots,
        paddle,
        name: &name,
        payments: b.payments.get(&paddle).map(Vec::as_slice).unwrap_or(&[]),
        collected: &b.collected,
    }))
}

/// One buyer's invoice (`None`: no such sale, or they won and paid nothing).
pub fn invoice(s: &(impl KvRead + ?Sized), sale: SaleId, paddle: Paddle) -> R<Option<Invoice>> {
    let Some(b) = books(s, sale)? else {
        return Ok(None);
    };
    let lots: Vec<&Lot> = b.lots.iter().collect();
    invoice_in(s, &b, &lots, paddle)
}

/// Every invoice of a sale by paddle (`None`: no such sale).
pub fn invoices(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<Vec<Invoice>>> {
    let Some(b) = books(s, sale)? else {
        return Ok(None);
    };
    let lots: Vec<&Lot> = b.lots.iter().collect();
    let mut out = Vec::new();
    for (p, won) in invoice::buyers(&lots, b.payments.keys().copied()) {
        out.extend(invoice_in(s, &b, &won, p)?);
    }
    Ok(Some(out))
}

fn owners(s: &(impl KvRead + ?Sized), lots: &[Lot]) -> R<BTreeMap<LotId, u32>> {
    let mut out = BTreeMap::new();
    for l in lots {
        if let Some(c) = lot_consignor(s, l.id)? {
            out.insert(l.id, c);
        }
    }
    Ok(out)
}

/// One consignor's statement for a sale (`None`: no such sale or consignor).
pub fn statement(s: &(impl KvRead + ?Sized), sale: SaleId, id: u32) -> R<Option<Statement>> {
    let (Some(sale), Some(c)) = (sale_record(s, sale)?, consignor(s, id)?) else {
        return Ok(None);
    };
    let lots = lots_of(s, &sale)?;
    let owner = owners(s, &lots)?;
    let refs: Vec<&Lot> = lots.iter().collect();
    let terms = terms(s, sale.id)?;
    Ok(Some(invoice::statement(&sale, &terms, &refs, &c, |l| {
        owner.get(&l).copied()
    })))
}

/// The statements of every consignor with lots in the sale, by id.
pub fn statements(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<Vec<Statement>>> {
    let Some(sale) = sale_record(s, sale)? else {
        return Ok(None);
    };
    let lots = lots_of(s, &sale)?;
    let owner = owners(s, &lots)?;
    let refs: Vec<&Lot> = lots.iter().collect();
    let terms = terms(s, sale.id)?;
    let mut ids: Vec<u32> = owner.values().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        if let Some(c) = consignor(s, id)? {
            out.push(invoice::statement(&sale, &terms, &refs, &c, |l| {
                owner.get(&l).copied()
            }));
        }
    }
    Ok(Some(out))
}

/// The operator's summary of a sale (`None`: no such sale).
pub fn summary(s: &(impl KvRead + ?Sized), sale: SaleId) -> R<Option<SettlementSummary>> {
    let Some(invoices) = invoices(s, sale)? else {
        return Ok(None);
    };
    let Some(b) = books(s, sale)? else {
        return Ok(None);
    };
    let owner = owners(s, &b.lots)?;
    let mut rates = BTreeMap::new();
    for id in owner.values() {
        if let Some(c) = consignor(s, *id)? {
            rates.insert(*id, invoice::commission_bp(&b.terms, &c));
        }
    }
    let lots: Vec<&Lot> = b.lots.iter().collect();
    let commission = |l: &Lot| -> Money {
        let rate = owner.get(&l.id).and_then(|c| rates.get(c));
        match (rate, l.result.and_then(|r| r.hammer)) {
            (Some(&bp), Some(h)) => h.basis_points(bp).unwrap_or(Money::MAX),
            _ => Money::ZERO,
        }
    };
    Ok(Some(invoice::summary(
        &b.sale, &lots, &invoices, commission,
    )))
}
