//! The checks every command shares: the refusal type of the rules, the
//! bounds on amounts and text fields, a lot's terms, and the format of the
//! token and code hashes (with a token's tag). A leaf: the modules of the
//! rules import it, it imports none of them.

use paddle_proto::auction::{LotSpec, Paddle, RejectReason};
use paddle_proto::Money;

/// What a check gives: the value, or the rules' refusal (a value, not an
/// error: see the crate docs).
pub(crate) type Outcome<T> = Result<T, RejectReason>;

/// Largest amount a bid, start price, reserve, buy-now or limit may have:
/// 10^15 minor units. With a premium of at most 100 % every total stays far
/// below [`Money::MAX`], so nothing downstream can overflow.
pub const MAX_BID: Money = Money::clamped(1_000_000_000_000_000);

/// An `invalid_input` refusal for `field`.
pub(crate) fn invalid(field: &str) -> RejectReason {
    RejectReason::InvalidInput {
        field: field.to_string(),
    }
}

/// A bid-like amount: at least one minor unit, at most [`MAX_BID`].
pub(crate) fn check_amount(m: Money) -> Outcome<()> {
    if m.is_zero() || m > MAX_BID {
        Err(RejectReason::InvalidAmount)
    } else {
        Ok(())
    }
}

/// A text field a person typed and others read (titles, names, reasons,
/// desk details): `min..=max` characters, not blank when required, no
/// control characters but newlines, and no bidi embedding, override or
/// isolate controls (U+202A–U+202E, U+2066–U+2069), which would let a title
/// or a name show other text than it holds (a "Trojan Source" trick) on
/// every page, the results CSV included.
pub(crate) fn check_text(field: &str, s: &str, min: usize, max: usize) -> Outcome<()> {
    let n = s.chars().count();
    let blank = min > 0 && s.trim().is_empty();
    let refused = |c: char| (c.is_control() && c != '\n') || is_bidi_control(c);
    if n < min || n > max || blank || s.chars().any(refused) {
        return Err(invalid(field));
    }
    Ok(())
}

/// The explicit bidi formatting characters: embeddings and overrides
/// (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A lot's terms: title and description, amounts, and how reserve and
/// buy-now sit against the start (no buy-now in a live sale).
pub(crate) fn check_lot(spec: &LotSpec, live: bool) -> Outcome<()> {
    check_text("title", &spec.title, 1, 200)?;
    check_text("description", &spec.description, 0, 4_000)?;
    check_amount(spec.start)?;
    if spec.seller == Some(Paddle::HOUSE) {
        return Err(invalid("seller"));
    }
    if let Some(r) = spec.reserve {
        check_amount(r)?;
        if r < spec.start {
            return Err(invalid("reserve"));
        }
    }
    if let Some(b) = spec.buy_now {
        check_amount(b)?;
        if live || b < spec.start || spec.reserve.is_some_and(|r| b < r) {
            return Err(invalid("buy_now"));
        }
    }
    Ok(())
}

/// A hex SHA-256 (64 lowercase hex digits), as every token and code hash is.
pub(crate) fn check_hash(field: &str, h: &str) -> Outcome<()> {
    let ok = h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match ok {
        true => Ok(()),
        false => Err(invalid(field)),
    }
}

/// The tag of a token hash: its first 8 bytes. A bid carries its token's
/// tag so the engine can refuse one sent with a token replaced since.
pub fn token_tag(token_hash: &str) -> u64 {
    token_hash
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}
