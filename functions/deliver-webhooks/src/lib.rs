//! Webhook delivery: sends the events a merchant's account records to the endpoint the merchant
//! set, signed as Omise signs its webhooks, and keeps trying while the endpoint fails.

pub mod deliver;
pub mod send;

pub use deliver::{Deliverer, SigningKeys};
