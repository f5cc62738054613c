//! The checks every command shares: the refusal type of the rules and the
//! bounds on amounts and text fields.

use paddle_proto::auction::RejectReason;
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
