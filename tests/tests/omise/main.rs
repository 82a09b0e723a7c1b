//! Omise: the stand-in's answers against Omise's recorded fixtures, and the adapter
//! (`shared::processor::omise`) against the stand-in, faults included.

mod adapter;
mod fixtures;
mod gateways;
mod notices;
mod payments;
