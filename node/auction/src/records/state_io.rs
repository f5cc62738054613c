//! Writing the state as records (what one apply touched, or all of it)
//! and loading it back: the trees and encodings are in the parent module.

use super::*;

impl AuctionState {
    /// Write the records named in `touched` (current values).
    pub fn write_touched(&self, touched: &Touched, out: &mut (impl KvWrite + ?Sized)) {
        if touched.counters {
            put(out, tree::META, COUNTERS_KEY, &self.counters);
        }
        for id in &touched.sales {
            if let Some(s) = self.sales.get(id) {
                put(out, tree::SALES, &sale_key(*id), s);
            }
        }
        for id in &touched.new_lots {
            if let Some(l) = self.lots.get(id) {
                put_lot_terms(out, l);
            }
        }
        for id in &touched.lots {
            if let Some(l) = self.lots.get(id) {
                put_lot_live(out, l);
            }
        }
        for &(lot, seq) in &touched.bids {
            if let Some(b) = self.lots.get(&lot).and_then(|l| l.bids.get(seq as usize)) {
                put(out, tree::BIDS, &bid_key(lot, seq), b);
            }
        }
        for &(sale, paddle) in touched.bidders.iter().chain(&touched.tokens) {
            if let Some(b) = self.bidders.get(&(sale, paddle)) {
                put(out, tree::BIDDERS, &bidder_key(sale, paddle), b);
            }
        }
        for &(sale, paddle) in &touched.tokens {
            if let Some(b) = self.bidders.get(&(sale, paddle)) {
                put(out, tree::TOKENS, b.token_hash.as_bytes(), &(sale, paddle));
            }
        }
        for key in touched.outcome_keys() {
            if let Some(r) = self.outcomes.get(key) {
                put(out, tree::BID_IDS, key, r);
            }
        }
        self.write_room(touched, out);
    }

    /// The sale room's records: pauses, desk records and their sign-in
    /// codes, retired tokens and codes, bid notes.
    fn write_room(&self, touched: &Touched, out: &mut (impl KvWrite + ?Sized)) {
        // (A hash retired and indexed again in one batch stays.)
        for hash in touched
            .dead_tokens
            .iter()
            .filter(|h| !self.tokens.contains_key(*h))
        {
            out.delete(tree::TOKENS, hash.as_bytes());
        }
        for hash in touched
            .dead_codes
            .iter()
            .filter(|h| !self.sign_ins.contains_key(*h))
        {
            out.delete(tree::SIGN_INS, hash.as_bytes());
        }
        for sale in &touched.pauses {
            match self.pauses.get(sale) {
                Some(p) => put(out, tree::PAUSES, &sale_key(*sale), p),
                None => out.delete(tree::PAUSES, &sale_key(*sale)),
            }
        }
        for &(sale, paddle) in &touched.desk {
            if let Some(d) = self.desk.get(&(sale, paddle)) {
                put(out, tree::DESK, &bidder_key(sale, paddle), d);
                if let Some(code) = &d.code_hash {
                    put(out, tree::SIGN_INS, code.as_bytes(), &(sale, paddle));
                }
            }
        }
        for &(lot, seq) in &touched.bid_notes {
            if let Some(n) = self.bid_notes.get(&(lot, seq)) {
                put(out, tree::BID_NOTES, &bid_key(lot, seq), n);
            }
        }
        for sale in &touched.desk_only {
            match self.desk_only.contains(sale) {
                true => put(out, tree::DESK_ONLY, &sale_key(*sale), &()),
                false => out.delete(tree::DESK_ONLY, &sale_key(*sale)),
            }
        }
        for lot in &touched.intros {
            if let Some(i) = self.intros.get(lot) {
                put(out, tree::INTROS, &lot_key(*lot), i);
            }
        }
        for sale in &touched.no_rivals {
            match self.no_rivals.contains(sale) {
                true => put(out, tree::NO_RIVALS, &sale_key(*sale), &()),
                false => out.delete(tree::NO_RIVALS, &sale_key(*sale)),
            }
        }
        self.settle.write_touched(touched, out);
    }

    /// Write every record of the state (a full dump).
    pub fn write_all(&self, out: &mut (impl KvWrite + ?Sized)) {
        put(out, tree::META, COUNTERS_KEY, &self.counters);
        for s in self.sales.values() {
            put(out, tree::SALES, &sale_key(s.id), s);
        }
        for l in self.lots.values() {
            put_lot_terms(out, l);
            put_lot_live(out, l);
            for b in &l.bids {
                put(out, tree::BIDS, &bid_key(l.id, b.seq), b);
            }
        }
        for (&(sale, paddle), b) in &self.bidders {
            put(out, tree::BIDDERS, &bidder_key(sale, paddle), b);
            put(out, tree::TOKENS, b.token_hash.as_bytes(), &(sale, paddle));
        }
        for (k, r) in self.outcomes.iter() {
            put(out, tree::BID_IDS, k, r);
        }
        for (sale, p) in &self.pauses {
            put(out, tree::PAUSES, &sale_key(*sale), p);
        }
        for (&(sale, paddle), d) in &self.desk {
            put(out, tree::DESK, &bidder_key(sale, paddle), d);
            if let Some(code) = &d.code_hash {
                put(out, tree::SIGN_INS, code.as_bytes(), &(sale, paddle));
            }
        }
        for (&(lot, seq), n) in &self.bid_notes {
            put(out, tree::BID_NOTES, &bid_key(lot, seq), n);
        }
        for sale in &self.desk_only {
            put(out, tree::DESK_ONLY, &sale_key(*sale), &());
        }
        for (lot, i) in &self.intros {
            put(out, tree::INTROS, &lot_key(*lot), i);
        }
        for sale in &self.no_rivals {
            put(out, tree::NO_RIVALS, &sale_key(*sale), &());
        }
        self.settle.write_all(out);
    }

    /// Rebuild the state from its records (startup, snapshot install).
    pub fn load(store: &(impl KvRead + ?Sized)) -> Result<AuctionState, LoadError> {
        Self::load_keyed(store, HashKey::default())
    }

    /// [`AuctionState::load`] with the in-memory tables hashing with `key`.
    pub fn load_keyed(
        store: &(impl KvRead + ?Sized),
        key: HashKey,
    ) -> Result<AuctionState, LoadError> {
        let mut st = AuctionState::keyed(key);
        if let Some(v) = store.get(tree::META, COUNTERS_KEY) {
            st.counters = decode_at::<Counters>(tree::META, COUNTERS_KEY, &v)?;
        }
        for (_, s) in scan_all::<Sale>(store, tree::SALES, &[])? {
            let id = s.id;
            if !st.sales.push(id, s) {
                return Err(LoadError::Inconsistent(format!(
                    "sale ids are not dense at {id}"
                )));
            }
        }
        let terms = scan_all::<LotTerms>(store, tree::LOTS, &[])?;
        let live = scan_all::<LotLive>(store, tree::LOT_STATE, &[])?;
        if terms.len() != live.len() {
            return Err(LoadError::Inconsistent(
                "lot terms and lot states differ".into(),
            ));
        }
        for ((kt, t), (kl, l)) in terms.into_iter().zip(live) {
            let id = t.id;
            if kt != kl || !st.lots.push(id, assemble(t, l)) {
                return Err(LoadError::Inconsistent(format!(
                    "lot ids are not dense at {id}"
                )));
            }
        }
        for (k, b) in scan_all::<BidEntry>(store, tree::BIDS, &[])? {
            let (lot, _) = id_and_seq(tree::BIDS, &k)?;
            let lot = LotId(lot);
            let l = st
                .lots
                .get_mut(&lot)
                .ok_or_else(|| LoadError::Inconsistent(format!("bid of unknown lot {lot}")))?;
            if b.seq as usize != l.bids.len() {
                return Err(LoadError::Inconsistent(format!(
                    "lot {lot} has a gap in its bids"
                )));
            }
            l.bids.push(b);
        }
        for (_, b) in scan_all::<Bidder>(store, tree::BIDDERS, &[])? {
            st.tokens.insert(b.token_hash.clone(), (b.sale, b.paddle));
            st.bidders.insert((b.sale, b.paddle), b);
        }
        for (k, r) in scan_all(store, tree::BID_IDS, &[])? {
            st.outcomes.insert(&k, r);
        }
        for (k, p) in scan_all(store, tree::PAUSES, &[])? {
            st.pauses.insert(SaleId(key_id(tree::PAUSES, &k)?), p);
        }
        for (k, d) in scan_all::<DeskRecord>(store, tree::DESK, &[])? {
            let (sale, paddle) = id_and_seq(tree::DESK, &k)?;
            let (sale, paddle) = (SaleId(sale), Paddle(paddle));
            if let Some(code) = &d.code_hash {
                st.sign_ins.insert(code.clone(), (sale, paddle));
            }
            st.desk.insert((sale, paddle), d);
        }
        for (k, ()) in scan_all::<()>(store, tree::DESK_ONLY, &[])? {
            st.desk_only.insert(SaleId(key_id(tree::DESK_ONLY, &k)?));
        }
        for (k, i) in scan_all::<crate::state::Intro>(store, tree::INTROS, &[])? {
            let lot = LotId(u64::from_be_bytes(k[..8].try_into().expect("8-byte key")));
            st.intros.insert(lot, i);
        }
        for (k, ()) in scan_all::<()>(store, tree::NO_RIVALS, &[])? {
            st.no_rivals.insert(SaleId(u64::from_be_bytes(
                k[..8].try_into().expect("8-byte key"),
            )));
        }
        for (k, n) in scan_all::<BidNote>(store, tree::BID_NOTES, &[])? {
            let (lot, seq) = id_and_seq(tree::BID_NOTES, &k)?;
            let lot = LotId(lot);
            st.bid_notes.insert((lot, seq), n);
        }
        st.settle = crate::state::Settlement::load(store)?;
        Ok(st)
    }

    /// SHA-256 over every record of the state: equal on every node (and
    /// every engine) that applied the same commands.
    pub fn state_hash(&self) -> String {
        let mut m = MemStore::new();
        self.write_all(&mut m);
        m.state_hash()
    }
}
