//! Webhook endpoints, and the events waiting for endpoints that failed.
//!
//! # Items
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | endpoint | `HOOK#<account>#<mode>` | `HOOK` | `url` S, `secret` B, `previous_secret` B?, `previous_until` S?, `created` S, `updated` S, `pending` N?, `failures` N? |
//! | a waiting event | `HOOK#<account>#<mode>` | `QUEUE#<event id>` | `doc` S (the event as first sent), `queued` S |
//! | a failing endpoint's next try | `HOOKDUE#0` | `<account>#<mode>` | `due` N (ms), `lease` N (ms)? |
//!
//! # How delivery uses them
//!
//! The stream hands each new event to the delivery function, which sends it at once when its
//! endpoint has nothing waiting (`pending` 0). When that first try fails, or something is already
//! waiting, the event joins its endpoint's queue (`QUEUE#<event id>`: event ids sort by time, so
//! the queue is in creation order) and the endpoint gets a "next try" item in the one `HOOKDUE`
//! partition. Every minute the delivery function reads that partition, takes a lease on each
//! endpoint that is due, and works through its queue oldest first: a success removes the event
//! and moves on, a failure puts the next try off by the [`RetrySchedule`]. So one merchant's
//! failing endpoint waits on its own and never holds up another's, and a receiver that was down
//! gets its events, once it is back, in the order they happened.
//!
//! The endpoint partition is written only by the admin tool and the delivery function: the API's
//! functions never touch it, and IAM says so.
//!
//! # Signing secrets at rest
//!
//! `secret` and `previous_secret` are sealed under the stack's KMS key (`crate::sealed`, purpose
//! [`WEBHOOK_SIGNING_SECRET_PURPOSE`], bound to the endpoint's account and mode), so the table,
//! its stream (which carries every endpoint write) and its backups hold nothing that signs. The
//! admin tool seals (it shows the secret once, in clear, to the operator); the delivery function
//! opens, and its IAM role may decrypt that purpose only. Endpoints written before secrets were
//! sealed hold them as strings: they still sign, and `links-admin webhook seal` seals them in
//! place without changing them.
//!
//! [`RetrySchedule`]: crate::domain::webhook::RetrySchedule

mod endpoints;
mod queue;
mod secrets;
mod sweeps;

pub use endpoints::{ROTATION_OVERLAP, SetWebhook, WebhookEndpoint};
pub use queue::Waiting;
pub use secrets::{StoredSecret, WEBHOOK_SIGNING_SECRET_PURPOSE};
pub use sweeps::Lease;

use super::Store;
use super::item::{Item, corrupt, get_s, key, n};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};

/// The partition of the failing endpoints' next tries. One partition: only failing endpoints
/// have an item there, so it stays small; a suffix leaves room to shard it.
const DUE_PARTITION: &str = "HOOKDUE#0";
const ENDPOINT_SK: &str = "HOOK";
/// Attempts at a queue transaction that DynamoDB cancelled for a conflict or throttling.
const QUEUE_ATTEMPTS: u32 = 5;

fn mode(owner: &Principal) -> &'static str {
    if owner.livemode { "live" } else { "test" }
}

fn endpoint_partition(owner: &Principal) -> String {
    format!("HOOK#{}#{}", owner.account_id, mode(owner))
}

fn endpoint_key(owner: &Principal) -> Item {
    key(endpoint_partition(owner), ENDPOINT_SK.into())
}

fn queue_sk(event_id: &str) -> String {
    format!("QUEUE#{event_id}")
}

fn due_key(owner: &Principal) -> Item {
    key(
        DUE_PARTITION.into(),
        format!("{}#{}", owner.account_id, mode(owner)),
    )
}

fn owner_of_due(item: &Item) -> Result<Principal, ApiError> {
    let sk = get_s(item, super::item::SK)?;
    match sk.rsplit_once('#') {
        Some((account, "test")) => Ok(Principal {
            account_id: account.into(),
            livemode: false,
        }),
        Some((account, "live")) => Ok(Principal {
            account_id: account.into(),
            livemode: true,
        }),
        _ => Err(corrupt(format!("webhook due item has a bad sk {sk:?}"))),
    }
}

fn ms(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp_millis())
}

impl Store {
    /// One `TransactWriteItems` of `items`, tried again (with growing, jittered pauses) while
    /// DynamoDB cancels it for a conflict with a concurrent one or for throttling: the stream's
    /// handler and a sweep write the same endpoint and next-try items. `Ok(Some(i))` when the
    /// condition of watched item `i` failed, which cancels the whole transaction.
    async fn transact(
        &self,
        what: &'static str,
        items: Vec<TransactWriteItem>,
        watched: &[usize],
    ) -> Result<Option<usize>, ApiError> {
        let failed = self
            .transact_with(what, QUEUE_ATTEMPTS, watched, || Ok(items.clone()))
            .await?;
        Ok(failed.map(|(index, _)| index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item::s;

    fn owner(livemode: bool) -> Principal {
        Principal {
            account_id: "acct_1".into(),
            livemode,
        }
    }

    #[test]
    fn partitions_separate_modes_and_the_due_items_name_their_endpoint() {
        assert_eq!(endpoint_partition(&owner(false)), "HOOK#acct_1#test");
        assert_eq!(endpoint_partition(&owner(true)), "HOOK#acct_1#live");
        for livemode in [false, true] {
            let due = due_key(&owner(livemode));
            assert_eq!(due["pk"], s("HOOKDUE#0"));
            assert_eq!(owner_of_due(&due).unwrap(), owner(livemode));
        }
        assert!(owner_of_due(&key("HOOKDUE#0".into(), "acct_1#neither".into())).is_err());
        assert!(
            ENDPOINT_SK < "QUEUE#",
            "the endpoint reads before its queue"
        );
    }
}
