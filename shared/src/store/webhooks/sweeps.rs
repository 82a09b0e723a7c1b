//! A failing endpoint's next try (its `HOOKDUE` item), as the minute's sweep finds it, leases
//! it, puts it off, finishes or releases it.

use super::{DUE_PARTITION, due_key, endpoint_key, ms, owner_of_due};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::store::item::{n, s};
use crate::store::{Store, sdk_error};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

/// Logged when a sweep's write finds the endpoint's next try no longer leased to it.
const LEASE_LOST: &str = "a webhook sweep no longer holds the endpoint's next try (its lease \
    ran out and another sweep took it, or the endpoint was removed): left as it is";

/// A sweep's hold on one endpoint's next try, from [`Store::lease_webhook`]. Its expiry (to the
/// millisecond) is also its token: a later sweep can only take the endpoint once this has run
/// out, with a later expiry, so a sweep that outlived its lease finds a different value and
/// leaves the next try to the sweep that holds it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    until_ms: i64,
}

impl Store {
    /// The endpoints whose next try is due at `now` and not leased by another sweep.
    pub async fn due_webhooks(&self, now: DateTime<Utc>) -> Result<Vec<Principal>, ApiError> {
        let mut owners = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression("due <= :now AND (attribute_not_exists(lease) OR lease < :now)")
                .expression_attribute_values(":pk", s(DUE_PARTITION))
                .expression_attribute_values(":now", ms(now))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .return_consumed_capacity(self.capacity_report())
                .send()
                .await
                .map_err(sdk_error)?;
            self.usage.read(out.consumed_capacity());
            for item in out.items() {
                owners.push(owner_of_due(item)?);
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(owners),
            }
        }
    }

    /// Takes `owner`'s due try for this sweep until `until`, so that overlapping sweeps never
    /// send one endpoint's events side by side (which would break their order). `None` when
    /// another sweep holds it or it is no longer due.
    pub async fn lease_webhook(
        &self,
        owner: &Principal,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Lease>, ApiError> {
        let lease = Lease {
            until_ms: until.timestamp_millis(),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET lease = :until")
            .condition_expression("due <= :now AND (attribute_not_exists(lease) OR lease < :now)")
            .expression_attribute_values(":now", ms(now))
            .expression_attribute_values(":until", n(lease.until_ms))
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.write(out.consumed_capacity());
                Ok(Some(lease))
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(err)),
        }
    }

    /// Records that the oldest waiting event failed again (`failures` in a row now) and puts
    /// `owner`'s next try at `due`, releasing the sweep's `lease`. A sweep that no longer holds
    /// the lease writes nothing: the count and the next try are the holder's.
    pub async fn delay_webhook(
        &self,
        owner: &Principal,
        lease: Lease,
        failures: u32,
        due: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let endpoint = Update::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression("SET failures = :failures")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":failures", n(failures))
            .build()
            .map_err(ApiError::internal)?;
        let next = Update::builder()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET due = :due REMOVE lease")
            .condition_expression("lease = :lease")
            .expression_attribute_values(":due", ms(due))
            .expression_attribute_values(":lease", n(lease.until_ms))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(endpoint).build(),
            TransactWriteItem::builder().update(next).build(),
        ];
        match self.transact("webhook delay", items, &[1, 0]).await? {
            Some(1) => {
                tracing::warn!("{}", LEASE_LOST);
                Ok(())
            }
            // The endpoint was removed meanwhile: its next try goes with it.
            Some(_) => self.forget_due(owner, Some(lease)).await,
            None => Ok(()),
        }
    }

    /// Ends a sweep of `owner` whose queue it found empty (a strongly consistent read), with
    /// the endpoint's count as the sweep read it, `pending`: the count is set back to 0 (should
    /// it have drifted) and the next try goes, unless an event was queued meanwhile (the count
    /// changed), in which case the next try stays, due now.
    pub async fn finish_webhook(
        &self,
        owner: &Principal,
        lease: Lease,
        pending: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let endpoint = match pending {
            // Conditioned on the count read with the empty queue: nothing joined since.
            Some(pending) => TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(endpoint_key(owner)))
                        .update_expression("SET pending = :zero")
                        .condition_expression(if pending == 0 {
                            // An endpoint that never queued anything has no count yet.
                            "attribute_exists(pk) AND (attribute_not_exists(pending) OR pending = :read)"
                        } else {
                            "attribute_exists(pk) AND pending = :read"
                        })
                        .expression_attribute_values(":zero", n(0))
                        .expression_attribute_values(":read", n(pending))
                        .build()
                        .map_err(ApiError::internal)?,
                )
                .build(),
            // No endpoint when the sweep looked: still none.
            None => TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(endpoint_key(owner)))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(ApiError::internal)?,
                )
                .build(),
        };
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .condition_expression("lease = :lease")
            .expression_attribute_values(":lease", n(lease.until_ms))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            endpoint,
            TransactWriteItem::builder().delete(delete).build(),
        ];
        match self.transact("webhook finish", items, &[1, 0]).await? {
            Some(1) => {
                tracing::warn!("{}", LEASE_LOST);
                Ok(())
            }
            Some(_) => self.release_webhook(owner, lease, now).await,
            None => Ok(()),
        }
    }

    /// Leaves `owner`'s next try due at `due` and releases the sweep's `lease`: a sweep that
    /// ran out of time hands the rest to the next one. Nothing, if the lease is no longer this
    /// sweep's.
    pub async fn release_webhook(
        &self,
        owner: &Principal,
        lease: Lease,
        due: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)))
            .update_expression("SET due = :due REMOVE lease")
            .condition_expression("lease = :lease")
            .expression_attribute_values(":due", ms(due))
            .expression_attribute_values(":lease", n(lease.until_ms))
            .send()
            .await;
        lease_kept(result.map(|_| ()))
    }

    /// Drops `owner`'s next try (its endpoint is gone): if `lease` is given, only while this
    /// sweep still holds it.
    pub(super) async fn forget_due(
        &self,
        owner: &Principal,
        lease: Option<Lease>,
    ) -> Result<(), ApiError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(due_key(owner)));
        if let Some(lease) = lease {
            delete = delete
                .condition_expression("lease = :lease")
                .expression_attribute_values(":lease", n(lease.until_ms));
        }
        lease_kept(delete.send().await.map(|_| ()))
    }
}

/// A write conditioned on the sweep's lease: a failed condition means a later sweep holds the
/// endpoint now, and its state is that sweep's to write.
fn lease_kept<E>(result: Result<(), SdkError<E, HttpResponse>>) -> Result<(), ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
            tracing::warn!("{}", LEASE_LOST);
            Ok(())
        }
        Err(err) => Err(sdk_error(err)),
    }
}
