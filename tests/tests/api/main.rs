//! Every endpoint, in-process, against a real DynamoDB Local (see the harness in `tests/src`).

mod abuse;
mod after_payment;
mod auth;
mod bodies;
mod charges;
mod create;
mod destroy;
mod doubt;
mod events;
mod expiry;
mod failures;
mod idempotency;
mod list;
mod local_server;
mod metadata;
mod openapi;
mod paging;
mod payments;
mod promptpay;
mod refunds;
mod retrieve;
mod routes;
mod storage;
mod three_d_secure;
mod time_zone;
mod usage_limit;
