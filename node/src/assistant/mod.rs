//! The venue-local assistant: an appraiser for the operator's lot editor,
//! an auctioneer's introduction when a lot opens, and rival profiles for
//! outbid bidders.
//!
//! # Never on the bid path
//!
//! Nothing here runs while a bid is checked, proposed or applied. A
//! suggestion and a rival profile are REST reads answered by the node the
//! caller asked; an introduction is composed by a task on the leader after
//! the lot's opening was applied, and proposed as one ordinary command
//! afterwards. A model server that is slow, down or talking nonsense costs
//! at most `timeout_ms` of that task or request, and its answer is replaced
//! by a deterministic one (comparable sold lots, templates) with a note
//! saying why.
//!
//! # Layout
//!
//! - [`model`]: the assistant as configured ([`Assistant`]), and one
//!   chat-completions request to its endpoint, with its timeout, and the
//!   ways it can fail;
//! - [`sold`]: this cluster's sold lots, the appraiser's comparables;
//! - [`appraise`]: the appraiser (comparables by title, and the strict
//!   reading of a model's appraisal);
//! - [`intro`]: lot introductions (templates, the model's words) and the
//!   leader's task that proposes them (given the watcher count by the API,
//!   so this module never imports it);
//! - [`rival`]: a paddle's bidding style from the public history;
//! - [`eval`]: `paddle appraise-eval`, the appraiser measured on an eBay
//!   bid log.

pub mod appraise;
pub mod eval;
pub mod intro;
pub mod model;
pub mod rival;
pub mod sold;

pub use model::Assistant;
