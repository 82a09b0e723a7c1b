//! The domain layer: what the API is about, with no I/O and no HTTP. Everything above builds on
//! these types; nothing here imports from another layer.
//!
//! One module per thing: [`link`] (the payment link and its JSON), [`list`] (list queries and the
//! list object), [`principal`] (callers and their keys), [`ids`], [`currency`] and [`error`].
//! Charges and events arrive as siblings (`charge`, `event`) beside `link`.

pub mod currency;
pub mod error;
pub mod ids;
pub mod link;
pub mod list;
pub mod principal;
