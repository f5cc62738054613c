//! The registration desk: bidders registered in person, their contact
//! details (staff only), and sign-in codes.
//!
//! A bidder registered at the desk gets a short code (shown once, printed
//! or as a QR) instead of a token. Redeeming it on their phone replaces the
//! bidder's token with one the phone chose, and spends the code; a lost
//! phone is a reissue, which replaces the token again (the old one is
//! refused from that entry on: the tokens index drops it, and every bid a
//! node forwards carries its token's tag, checked here at apply) and issues
//! a new code. Only hashes are stored: of tokens and of codes.

use paddle_proto::auction::{Accepted, AuctionEvent, DeskDetails, Paddle, RejectReason, SaleId};
use paddle_proto::Money;

use crate::checks::{check_hash, check_text, invalid, Outcome};
use crate::effects::Effects;
use crate::state::{AuctionState, DeskRecord};

/// How long a sign-in code works after it was issued: a week (timed sales
/// register days ahead).
pub const SIGN_IN_VALID_MS: u64 = 7 * 24 * 60 * 60 * 1000;

fn check_details(d: &DeskDetails) -> Outcome<()> {
    check_text("details.phone", &d.phone, 0, 40)?;
    check_text("details.email", &d.email, 0, 200)?;
    check_text("details.deposit_note", &d.deposit_note, 0, 500)?;
    if d.phone.contains('\n') || d.email.contains('\n') {
        return Err(invalid("details"));
    }
    Ok(())
}

/// A desk registration's fields (the command's, borrowed).
pub(crate) struct DeskForm<'a> {
    pub name: &'a str,
    pub paddle: Option<Paddle>,
    pub token_hash: &'a str,
    pub limit: Option<Money>,
    pub approved: bool,
    pub details: &'a DeskDetails,
    pub code_hash: &'a str,
}

impl AuctionState {
    /// The desk's record of a bidder (staff only).
    pub fn desk_record(&self, sale: SaleId, paddle: Paddle) -> Option<&DeskRecord> {
        self.desk.get(&(sale, paddle))
    }

    /// The bidder whose live code is `code_hash` and token `token_hash`:
    /// a command that issued both has been applied already.
    fn issued_to(&self, code_hash: &str, token_hash: &str) -> Option<(SaleId, Paddle)> {
        let key = *self.sign_ins.get(code_hash)?;
        let b = self.bidders.get(&key)?;
        (b.token_hash == token_hash).then_some(key)
    }

    fn check_new_code(&self, code_hash: &str) -> Outcome<()> {
        check_hash("code_hash", code_hash)?;
        if self.sign_ins.contains_key(code_hash) || self.tokens.contains_key(code_hash) {
            return Err(RejectReason::Duplicate {
                what: "sign-in code".into(),
            });
        }
        Ok(())
    }

    /// Make `code_hash` the bidder's live sign-in code, retiring any other.
    fn issue_code(
        &mut self,
        stamp_ms: u64,
        key: (SaleId, Paddle),
        code_hash: &str,
        fx: &mut Effects,
    ) {
        let rec = self.desk.entry(key).or_default();
        if let Some(old) = rec.code_hash.replace(code_hash.to_string()) {
            self.sign_ins.remove(&old);
            fx.touched.dead_codes.push(old);
        }
        rec.code_expires_ms = stamp_ms.saturating_add(SIGN_IN_VALID_MS);
        self.sign_ins.insert(code_hash.to_string(), key);
        fx.touched.desk.push(key);
    }

    /// Replace a bidder's token: the old hash leaves the index.
    fn replace_token(&mut self, key: (SaleId, Paddle), token_hash: &str, fx: &mut Effects) {
        let b = self.bidders.get_mut(&key).expect("checked");
        let old = std::mem::replace(&mut b.token_hash, token_hash.to_string());
        self.tokens.remove(&old);
        self.tokens.insert(token_hash.to_string(), key);
        fx.touched.dead_tokens.push(old);
        fx.touched.tokens.push(key);
        fx.touched.bidders.push(key);
    }

    pub(crate) fn desk_register(
        &mut self,
        stamp_ms: u64,
        sale: SaleId,
        form: &DeskForm<'_>,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        // The same command again (a retry of an unknown outcome): the code
        // and the token it carries are already this bidder's.
        if let Some(key) = self.issued_to(form.code_hash, form.token_hash) {
            return Ok(Accepted::BidderRegistered {
                sale,
                paddle: key.1,
            });
        }
        check_details(form.details)?;
        self.check_new_code(form.code_hash)?;
        if form.code_hash == form.token_hash {
            return Err(invalid("code_hash"));
        }
        let accepted = self.register(
            sale,
            form.name,
            form.paddle,
            form.token_hash,
            form.limit,
            form.approved,
            fx,
        )?;
        let Accepted::BidderRegistered { paddle, .. } = accepted else {
            unreachable!("register answers BidderRegistered");
        };
        self.desk.entry((sale, paddle)).or_default().details = form.details.clone();
        self.issue_code(stamp_ms, (sale, paddle), form.code_hash, fx);
        Ok(accepted)
    }

    pub(crate) fn set_desk_details(
        &mut self,
        sale: SaleId,
        paddle: Paddle,
        details: &DeskDetails,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        self.bidder_mut(sale, paddle)?;
        check_details(details)?;
        self.desk.entry((sale, paddle)).or_default().details = details.clone();
        fx.touched.desk.push((sale, paddle));
        Ok(Accepted::BidderUpdated { sale, paddle })
    }

    /// A lost phone: a new token nobody is shown, and a new code.
    pub(crate) fn reissue(
        &mut self,
        stamp_ms: u64,
        sale: SaleId,
        paddle: Paddle,
        token_hash: &str,
        code_hash: &str,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        self.bidder_mut(sale, paddle)?;
        if self.issued_to(code_hash, token_hash) == Some((sale, paddle)) {
            return Ok(Accepted::SignIn { sale, paddle });
        }
        check_hash("token_hash", token_hash)?;
        if self.tokens.contains_key(token_hash) || self.sign_ins.contains_key(token_hash) {
            return Err(RejectReason::Duplicate {
                what: "token".into(),
            });
        }
        self.check_new_code(code_hash)?;
        if code_hash == token_hash {
            return Err(invalid("code_hash"));
        }
        self.replace_token((sale, paddle), token_hash, fx);
        self.issue_code(stamp_ms, (sale, paddle), code_hash, fx);
        fx.events
            .push(AuctionEvent::SignInReplaced { sale, paddle });
        Ok(Accepted::SignIn { sale, paddle })
    }

    /// A bidder redeems their code: their token becomes `token_hash`.
    /// Sending the same code with the same token again (a retry) answers
    /// as the first time did.
    pub(crate) fn redeem(
        &mut self,
        stamp_ms: u64,
        sale: SaleId,
        code_hash: &str,
        token_hash: &str,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        check_hash("code_hash", code_hash)?;
        check_hash("token_hash", token_hash)?;
        let Some(&key) = self.sign_ins.get(code_hash).filter(|k| k.0 == sale) else {
            return match self.tokens.get(token_hash) {
                Some(&(s, paddle))
                    if s == sale
                        && self
                            .desk
                            .get(&(s, paddle))
                            .and_then(|d| d.redeemed.as_deref())
                            == Some(code_hash) =>
                {
                    Ok(Accepted::SignIn { sale, paddle })
                }
                _ => Err(RejectReason::UnknownSignIn),
            };
        };
        if stamp_ms > self.desk[&key].code_expires_ms {
            return Err(RejectReason::SignInExpired);
        }
        if self.tokens.contains_key(token_hash) || self.sign_ins.contains_key(token_hash) {
            return Err(RejectReason::Duplicate {
                what: "token".into(),
            });
        }
        self.replace_token(key, token_hash, fx);
        self.sign_ins.remove(code_hash);
        let rec = self.desk.get_mut(&key).expect("indexed");
        rec.code_hash = None;
        rec.redeemed = Some(code_hash.to_string());
        fx.touched.dead_codes.push(code_hash.to_string());
        fx.touched.desk.push(key);
        fx.events.push(AuctionEvent::SignInReplaced {
            sale,
            paddle: key.1,
        });
        Ok(Accepted::SignIn {
            sale,
            paddle: key.1,
        })
    }

    /// Does `sale` take registrations from bidders themselves?
    pub fn self_registration(&self, sale: SaleId) -> bool {
        !self.desk_only.contains(&sale)
    }

    /// A bidder registering on their own: not approved until the desk
    /// approves, and only while the sale takes such registrations.
    pub(crate) fn self_register(
        &mut self,
        sale: SaleId,
        name: &str,
        token_hash: &str,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        if self.desk_only.contains(&sale) {
            return Err(RejectReason::RegistrationClosed);
        }
        self.register(sale, name, None, token_hash, None, false, fx)
    }

    pub(crate) fn set_self_registration(
        &mut self,
        sale: SaleId,
        open: bool,
        fx: &mut Effects,
    ) -> Outcome<Accepted> {
        if !self.sales.contains_key(&sale) {
            return Err(RejectReason::UnknownSale);
        }
        let changed = match open {
            true => self.desk_only.remove(&sale),
            false => self.desk_only.insert(sale),
        };
        if changed {
            fx.touched.desk_only.push(sale);
            fx.events
                .push(AuctionEvent::SelfRegistrationSet { sale, open });
        }
        Ok(Accepted::SelfRegistrationSet { sale, open })
    }
}
