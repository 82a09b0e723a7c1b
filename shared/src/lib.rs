//! What every Links API function shares, in layers. Each layer uses only the layers above it in
//! this list, never one below, so each can be read and tested on its own:
//!
//! 1. [`domain`]: what the API is about (links, lists, principals and keys, ids, currencies,
//!    the error type), with no I/O and no HTTP.
//! 2. [`validate`]: raw request parameters into domain types, with the rules docs/api.md lists.
//! 3. [`store`]: DynamoDB, over domain types: the table layout, links, keys, idempotency records,
//!    and the list machinery every collection shares.
//!    [`processor`], beside it: the gateway boundary (test mode's built-in processor, and
//!    Omise); [`sealed`] and [`secrets`]: secrets at rest under KMS, and in Secrets Manager.
//! 4. [`auth`]: secret keys into principals, over a key lookup it is handed (the store, or a
//!    table in its unit tests), with its caches and failure budgets.
//! 5. [`http`]: the edge: request parsing, responses and Omise error objects, routes, and the
//!    Lambda runtime loop with its logs; [`page`], beside it: the buyer's payment page (HTML).
//!
//! A new feature takes one name through every layer, as links do: payments brought
//! `domain::charge` and `domain::card`, `validate::card`, `store::charges`, the `processor`
//! boundary, the `page` and their functions; events will do likewise.

pub mod auth;
pub mod domain;
pub mod http;
pub mod page;
pub mod payments;
pub mod processor;
pub mod sealed;
pub mod secrets;
pub mod store;
pub mod validate;

pub use domain::error::ApiError;
pub use http::serve::{AppContext, serve, serve_payments, serve_without_context};

/// Re-exported so every function uses the same clock type without its own dependency line.
pub use chrono;
