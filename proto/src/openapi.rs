//! OpenAPI schemas for the types whose JSON shape is hand-made (money as
//! integer minor units, currencies and bid ids as strings, increment tables
//! as band lists), so the node's generated API document describes what is
//! really on the wire. Compiled only with the `openapi` feature.

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::auction::{BidId, IncrementBand, IncrementTable, MAX_BID_ID_LEN};
use crate::money::{Currency, Money};

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
            .maximum(Some(Money::MAX.minor()))
            .description(Some(
                "An amount in integer minor units of the sale's currency (1250 = 12.50 EUR).",
            ))
            .into()
    }
}

impl ToSchema for Money {}

impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("ISO 4217 currency code, e.g. EUR."))
            .examples(["EUR"])
            .into()
    }
}

impl ToSchema for Currency {}

impl PartialSchema for BidId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_BID_ID_LEN))
            .pattern(Some("^[A-Za-z0-9_.:-]+$"))
            .description(Some(
                "Client-chosen bid id; resending it never makes a second bid.",
            ))
            .into()
    }
}

impl ToSchema for BidId {}

impl PartialSchema for IncrementTable {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(IncrementBand::schema())
            .min_items(Some(1))
            .max_items(Some(64))
            .description(Some(
                "Price bands, lowest first: from `from` on, a bid must beat the price by `increment`.",
            ))
            .into()
    }
}

impl ToSchema for IncrementTable {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("IncrementTable")
    }
    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((IncrementBand::name().into(), IncrementBand::schema()));
    }
}
