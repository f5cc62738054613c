//! REST `/api/v1`: sales, lots, bidders, bids, clerk actions, results,
//! statistics and analytics, clerk tokens; the sale room: the desk and sign-in codes,
//! commission and phone bids, pause, resume, extend, lot edits. Every
//! statistics, clerk tokens; the sale room: the desk and sign-in codes,
//! commission and phone bids, pause, resume, extend, lot edits;
//! settlement: terms, consignors, invoices, payments, goods released,
//! statements and their CSV exports. Every
//! route is registered through utoipa's router, so the OpenAPI document is
//! built from the same list the server routes by and cannot forget one.
//!
//! Writes check everything first (role, ids, amounts) and then propose one
//! command: a refusal changes nothing. Reads answer from this node's state
//! (see [`super::reads`]) and say which index they reflect.

mod analytics;
mod assistant;
mod bidders;
mod bids;
mod clerk_tokens;
mod desk;
pub mod fields;
mod images;
mod invoices;
mod lots;
mod me;
mod office;
pub mod propose;
mod results;
mod room;
mod rostrum;
mod sales;
mod settle;
mod sign_in;
mod time;

#[cfg(test)]
mod fuzz;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::state::AppState;

/// Every `/api/v1` route of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sales::list, sales::create))
        .routes(routes!(sales::get_one))
        .routes(routes!(sales::schedule))
        .routes(routes!(lots::list, lots::create))
        .routes(routes!(lots::import))
        .routes(routes!(lots::get_one, room::edit_lot))
        .routes(routes!(images::put, images::delete, images::get))
        .routes(routes!(bids::history, bids::place))
        .routes(routes!(bids::own))
        .routes(routes!(bids::own_one))
        .routes(routes!(bidders::list, bidders::register))
        .routes(routes!(bidders::approve))
        .routes(routes!(bidders::limit))
        .routes(routes!(me::me))
        .routes(routes!(time::time))
        .routes(routes!(clerk_tokens::list, clerk_tokens::create))
        .routes(routes!(clerk_tokens::revoke))
        .routes(routes!(rostrum::open))
        .routes(routes!(rostrum::asking_increment))
        .routes(routes!(rostrum::floor_bid))
        .routes(routes!(rostrum::fair_warning))
        .routes(routes!(rostrum::sell))
        .routes(routes!(rostrum::pass))
        .routes(routes!(rostrum::reopen))
        .routes(routes!(rostrum::withdraw))
        .routes(routes!(rostrum::retract))
        .routes(routes!(office::commission))
        .routes(routes!(office::phone))
        .routes(routes!(room::pause))
        .routes(routes!(room::resume))
        .routes(routes!(room::extend))
        .routes(routes!(desk::search, desk::register))
        .routes(routes!(desk::details))
        .routes(routes!(desk::reissue))
        .routes(routes!(desk::self_registration))
        .routes(routes!(assistant::suggest))
        .routes(routes!(assistant::rival))
        .routes(routes!(assistant::rival_profiles))
        .routes(routes!(sign_in::redeem))
        .routes(routes!(results::results))
        .routes(routes!(results::results_csv))
        .routes(routes!(results::stats))
        .routes(routes!(results::events))
        .routes(routes!(analytics::analytics))
        .routes(routes!(analytics::analytics_csv))
        .routes(routes!(analytics::history))
        .routes(routes!(settle::set_terms, invoices::settlement))
        .routes(routes!(invoices::consignors, settle::create_consignor))
        .routes(routes!(settle::edit_consignor))
        .routes(routes!(settle::lot_consignors))
        .routes(routes!(invoices::list))
        .routes(routes!(invoices::one))
        .routes(routes!(settle::pay))
        .routes(routes!(settle::collected))
        .routes(routes!(invoices::statements))
        .routes(routes!(invoices::statement))
        .routes(routes!(invoices::invoices_csv))
        .routes(routes!(invoices::payments_csv))
        .routes(routes!(invoices::statements_csv))
}
