//! Every endpoint, in-process, against a real DynamoDB Local (see the harness in `tests/src`).

mod auth;
mod bodies;
mod charges;
mod create;
mod destroy;
mod events;
mod failures;
mod idempotency;
mod list;
mod local_server;
mod paging;
mod payments;
mod retrieve;
mod routes;
mod storage;
