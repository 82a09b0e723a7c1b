//! The domain layer: what the API is about, with no I/O and no HTTP. Everything above builds on
//! these types; nothing here imports from another layer.
//!
//! One module per thing: [`link`] (the payment link and its JSON), [`list`] (list queries and the
//! list object), [`principal`] (callers and their keys), [`ids`], [`currency`] and [`error`].
//! [`charge`] and [`card`] are what a buyer's payment leaves behind; [`event`] is what happened
//! to them and to links, and [`webhook`] signs what an event's deliveries carry. [`time_zone`]
//! is the zone an account's pages show times in.

pub mod attempt;
pub mod card;
pub mod charge;
pub mod currency;
pub mod error;
pub mod event;
pub mod ids;
pub mod link;
pub mod list;
pub mod metadata;
pub mod principal;
pub mod refund;
pub mod time_zone;
pub mod webhook;
