//! What every Links API function shares: the Link model, validation, ids, errors and their HTTP
//! responses, authentication, and the DynamoDB mapping.

pub mod auth;
pub mod context;
pub mod currency;
pub mod error;
pub mod http;
pub mod ids;
pub mod model;
pub mod routes;
pub mod store;
pub mod validate;

pub use context::{AppContext, serve, serve_without_context};
pub use error::ApiError;

/// Re-exported so every function uses the same clock type without its own dependency line.
pub use chrono;
