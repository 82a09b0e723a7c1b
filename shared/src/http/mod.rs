//! The HTTP edge, the top layer: requests in ([`request`]), responses and Omise error objects out
//! ([`response`]), the route table ([`routes`]), and running as a Lambda ([`serve`]).

pub mod request;
pub mod response;
pub mod routes;
pub mod serve;
