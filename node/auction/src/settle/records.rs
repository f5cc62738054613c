//! Settlement records: each kind in its own tree (see the table in
//! [`crate::records`]), written from what an apply touched, dumped whole,
//! and loaded back.

use paddle_proto::auction::{
    Collection, Consignor, LotId, Paddle, Payment, SaleId, SettlementTerms,
};
use paddle_proto::kv::{KvRead, KvWrite};

use crate::effects::Touched;
use crate::records::{lot_key, put, sale_key, scan_all, tree, LoadError};
use crate::state::Settlement;

/// Key of one payment: sale (8 B) · paddle (4 B) · seq (4 B).
pub fn payment_key(sale: SaleId, paddle: Paddle, seq: u32) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&sale.0.to_be_bytes());
    k[8..12].copy_from_slice(&paddle.0.to_be_bytes());
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Key of a consignor.
pub fn consignor_key(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

fn u64_at(k: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(k[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(k: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(k[at..at + 4].try_into().expect("4 bytes"))
}

impl Settlement {
    /// Write the records named in `touched`.
    pub(crate) fn write_touched(&self, t: &Touched, out: &mut (impl KvWrite + ?Sized)) {
        for sale in &t.settle_terms {
            if let Some(v) = self.terms.get(sale) {
                put(out, tree::SETTLE_TERMS, &sale_key(*sale), v);
            }
        }
        for id in &t.consignors {
            if let Some(c) = self.consignors.get(id) {
                put(out, tree::CONSIGNORS, &consignor_key(*id), c);
            }
        }
        for lot in &t.lot_consignors {
            match self.lot_consignors.get(lot) {
                Some(c) => put(out, tree::LOT_CONSIGNORS, &lot_key(*lot), c),
                None => out.delete(tree::LOT_CONSIGNORS, &lot_key(*lot)),
            }
        }
        for &(sale, paddle, seq) in &t.payments {
            if let Some(p) = self
                .payments
                .get(&(sale, paddle))
                .and_then(|v| v.get(seq as usize))
            {
                put(out, tree::PAYMENTS, &payment_key(sale, paddle, seq), p);
            }
        }
        for lot in &t.collected {
            if let Some(c) = self.collected.get(lot) {
                put(out, tree::COLLECTED, &lot_key(*lot), c);
            }
        }
    }

    /// Write every settlement record.
    pub(crate) fn write_all(&self, out: &mut (impl KvWrite + ?Sized)) {
        for (sale, v) in &self.terms {
            put(out, tree::SETTLE_TERMS, &sale_key(*sale), v);
        }
        for (id, c) in &self.consignors {
            put(out, tree::CONSIGNORS, &consignor_key(*id), c);
        }
        for (lot, c) in &self.lot_consignors {
            put(out, tree::LOT_CONSIGNORS, &lot_key(*lot), c);
        }
        for (&(sale, paddle), list) in &self.payments {
            for (seq, p) in list.iter().enumerate() {
                put(
                    out,
                    tree::PAYMENTS,
                    &payment_key(sale, paddle, seq as u32),
                    p,
                );
            }
        }
        for (lot, c) in &self.collected {
            put(out, tree::COLLECTED, &lot_key(*lot), c);
        }
    }

    /// Read every settlement record back.
    pub(crate) fn load(store: &(impl KvRead + ?Sized)) -> Result<Settlement, LoadError> {
        let mut st = Settlement::default();
        for (k, v) in scan_all::<SettlementTerms>(store, tree::SETTLE_TERMS, &[])? {
            st.terms.insert(SaleId(u64_at(&k, 0)), v);
        }
        for (_, c) in scan_all::<Consignor>(store, tree::CONSIGNORS, &[])? {
            st.consignors.insert(c.id, c);
        }
        for (k, c) in scan_all::<u32>(store, tree::LOT_CONSIGNORS, &[])? {
            st.lot_consignors.insert(LotId(u64_at(&k, 0)), c);
        }
        for (k, p) in scan_all::<Payment>(store, tree::PAYMENTS, &[])? {
            let (sale, paddle, seq) =
                (SaleId(u64_at(&k, 0)), Paddle(u32_at(&k, 8)), u32_at(&k, 12));
            let list = st.payments.entry((sale, paddle)).or_default();
            if list.len() != seq as usize {
                return Err(LoadError::Inconsistent(format!(
                    "payments of {sale}/{paddle} have a gap"
                )));
            }
            st.payment_ids
                .insert((sale, p.payment_id.clone()), (paddle, seq));
            list.push(p);
        }
        for (k, c) in scan_all::<Collection>(store, tree::COLLECTED, &[])? {
            st.collected.insert(LotId(u64_at(&k, 0)), c);
        }
        Ok(st)
    }
}
