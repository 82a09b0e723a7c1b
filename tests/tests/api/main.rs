//! Every endpoint, in-process, against a real DynamoDB Local (see the harness in `tests/src`).

mod auth;
mod charges;
mod create;
mod destroy;
mod list;
mod retrieve;
mod routes;
mod storage;
