//! A merchant's own data on a link, copied onto its charges: a JSON object, bounded by
//! `validate::metadata`. Its own module so that links and charges both carry it without
//! either depending on the other for it.

/// A link's (and its charges') metadata. Keys are kept sorted (serde_json's map), so the same
/// object given in any key order is stored, digested and answered alike.
pub type Metadata = serde_json::Map<String, serde_json::Value>;
