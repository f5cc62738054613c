//! Settlement: what a sale's buyers owe and pay, and what its consignors
//! are owed.
//!
//! Only the inputs are in the log (a sale's terms, consignors, which lot
//! belongs to whom, payments, goods released); invoices and statements are
//! derived from them and the lots' results every time they are read, so a
//! reopened or re-sold lot changes the invoice without any command about it.
//!
//! Rounding: premium, tax and commission are computed per lot on integer
//! minor units, `amount × bp / 10 000` rounded half up
//! ([`Money::basis_points`]); totals are sums of the per-lot figures, so an
//! invoice total is always the sum of its lines, in every currency.

use serde::{Deserialize, Serialize};

use super::ids::{LotId, Paddle, SaleId};
use crate::money::{Currency, Money};

/// What a sale's tax is charged on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaxBasis {
    /// No tax on invoices.
    #[default]
    None,
    /// Tax on the buyer's premium only (the margin scheme).
    Premium,
    /// Tax on hammer and premium.
    HammerAndPremium,
}

/// A sale's settlement terms (the buyer's premium is in its `SaleSpec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SettlementTerms {
    /// Tax rate in basis points (2 000 = 20 %), at most 10 000.
    #[serde(default)]
    pub tax_bp: u32,
    /// What the tax applies to.
    #[serde(default)]
    pub tax_on: TaxBasis,
    /// Seller's commission in basis points of the hammer, unless the
    /// consignor has their own; at most 10 000.
    #[serde(default)]
    pub commission_bp: u32,
    /// The house's name on invoices and statements (up to 200 characters).
    #[serde(default)]
    pub house_name: String,
    /// The house's address, lines separated by `\n` (up to 500 characters).
    #[serde(default)]
    pub house_address: String,
}

/// Who consigned lots to the house (a seller the house pays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consignor {
    /// Assigned on creation: 1, 2, 3, ...
    pub id: u32,
    /// Unique (ignoring case and outer spaces), 1..=100 characters.
    pub name: String,
    /// Free text: phone, e-mail, bank details (up to 500 characters).
    pub contact: String,
    /// Their own commission rate; `None`: the sale's.
    pub commission_bp: Option<u32>,
}

/// A lot and the consignor it names (`None`: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotConsignor {
    pub lot: LotId,
    pub consignor: Option<u32>,
}

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    Transfer,
    Other,
}

/// A payment (or, negative, a refund) on a buyer's invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    /// The client's id for it: the same id again changes nothing.
    pub payment_id: String,
    /// Minor units; negative for a refund.
    pub amount: i64,
    pub method: PaymentMethod,
    /// Card slip, transfer reference (up to 100 characters).
    pub reference: String,
    /// Why (required for a refund; up to 500 characters).
    pub reason: String,
    /// The leader's stamp of the entry that recorded it.
    pub at_ms: u64,
}

/// A lot's goods released to its buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Collection {
    /// The buyer it was released to.
    pub paddle: Paddle,
    pub at_ms: u64,
    /// Set when the operator released it while the invoice had a balance.
    pub override_reason: Option<String>,
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Nothing paid yet, something owed.
    Unpaid,
    /// Some paid, some owed.
    PartPaid,
    /// Balance zero.
    Paid,
    /// Paid more than owed (the house owes the buyer).
    Credit,
}

/// One lot on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceLine {
    pub lot: LotId,
    /// Catalogue position, 0-based.
    pub position: u32,
    pub title: String,
    pub hammer: Money,
    pub premium: Money,
    pub tax: Money,
    /// hammer + premium + tax.
    pub total: Money,
    /// Goods released.
    pub collected: bool,
}

/// A buyer's invoice for one sale, derived from the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invoice {
    pub sale: SaleId,
    pub paddle: Paddle,
    /// The bidder's name (staff and the bidder only).
    pub name: String,
    pub currency: Currency,
    pub premium_bp: u32,
    pub tax_bp: u32,
    pub tax_on: TaxBasis,
    pub house_name: String,
    pub house_address: String,
    /// Lots won, in catalogue order.
    pub lines: Vec<InvoiceLine>,
    pub hammer: Money,
    pub premium: Money,
    pub tax: Money,
    /// Σ line totals.
    pub total: Money,
    /// Payments and refunds in the order recorded.
    pub payments: Vec<Payment>,
    /// Σ payment amounts (minor units, may be negative).
    pub paid: i64,
    /// total − paid (negative: a credit).
    pub balance: i64,
    pub status: InvoiceStatus,
}

/// One lot on a consignor's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatementLine {
    pub lot: LotId,
    pub position: u32,
    pub title: String,
    /// `sold`, `passed`, or where the lot still is.
    pub status: super::sale::LotStatus,
    /// Sold: the hammer (zero otherwise).
    pub hammer: Money,
    pub commission_bp: u32,
    pub commission: Money,
    /// hammer − commission.
    pub net: Money,
}

/// What a sale owes one consignor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Statement {
    pub sale: SaleId,
    pub consignor: Consignor,
    pub currency: Currency,
    pub house_name: String,
    pub house_address: String,
    pub lines: Vec<StatementLine>,
    pub sold: u32,
    pub passed: u32,
    pub hammer: Money,
    pub commission: Money,
    /// Net proceeds: hammer − commission.
    pub net: Money,
}

/// The operator's figures for a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementSummary {
    pub sale: SaleId,
    pub currency: Currency,
    pub lots: u32,
    pub sold: u32,
    pub passed: u32,
    /// Sold lots per 10 000 finished (sold or passed) lots; 0 when none.
    pub sell_through_bp: u32,
    pub hammer: Money,
    pub premium: Money,
    pub tax: Money,
    /// Σ invoice totals.
    pub invoiced: Money,
    /// Seller commission on sold lots that name a consignor.
    pub commission: Money,
    /// Σ payments (refunds subtracted).
    pub paid: i64,
    /// Σ positive balances.
    pub outstanding: i64,
    pub invoices: u32,
    pub invoices_paid: u32,
}
