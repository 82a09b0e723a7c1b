//! The test processor's own records: what a gateway keeps of the charges and refunds it made,
//! kept apart from the service's (its own partition, which only the functions that act as the
//! test processor may write), so that the service can ask it about an attempt as it will ask a
//! real gateway, and find an answer it lost.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | a charge | `TESTPSP#<account>#<mode>` | `CHRG#<processor charge id>` | `doc` S (the charge, JSON), `state` S, `on_authentication` S? |
//! | its key | `TESTPSP#<account>#<mode>` | `KEY#<gateway key>` | `charge` S |
//! | a refund | `TESTPSP#<account>#<mode>` | `RFND#<processor charge id>#<key>` | `doc` S |
//!
//! A charge and its key are written together, conditioned on the key being new, so that a
//! charge asked twice under one key is made once. A pending charge moves once, conditioned on
//! its state, so that a buyer paying and a deadline passing cannot both win.

use super::item::{Item, get_s, key, n, s};
use super::{Cancellation, Store, cancellation, sdk_error};
use crate::domain::charge::Status;
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::processor::{ProcessorCharge, ProcessorRefund};
use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

fn partition(owner: &Principal) -> String {
    let mode = if owner.livemode { "live" } else { "test" };
    format!("TESTPSP#{}#{mode}", owner.account_id)
}

fn charge_key(owner: &Principal, id: &str) -> Item {
    key(partition(owner), format!("CHRG#{id}"))
}

fn key_key(owner: &Principal, gateway_key: &str) -> Item {
    key(partition(owner), format!("KEY#{gateway_key}"))
}

fn refund_key(owner: &Principal, charge: &str, refund_key: &str) -> Item {
    key(partition(owner), format!("RFND#{charge}#{refund_key}"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

fn from_item<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, ApiError> {
    serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| super::item::corrupt(format!("test processor item has a bad document: {e}")))
}

/// A charge as the test processor keeps it, with what its 3-D Secure authentication will end
/// in (`successful` or a failure code) while it waits for one.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerCharge {
    pub charge: ProcessorCharge,
    pub on_authentication: Option<String>,
}

impl Store {
    /// Records `charge` under its key, or answers the charge already made under that key: one
    /// transaction of two puts.
    pub async fn ledger_create(
        &self,
        owner: &Principal,
        charge: &ProcessorCharge,
        on_authentication: Option<&str>,
    ) -> Result<ProcessorCharge, ApiError> {
        let mut key_item = key_key(owner, &charge.key);
        key_item.insert("charge".into(), s(&charge.id));
        let put_key = Put::builder()
            .table_name(&self.table)
            .set_item(Some(key_item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        let mut item = charge_key(owner, &charge.id);
        item.insert("doc".into(), s(to_json(charge)?));
        item.insert("state".into(), s(charge.status.as_str()));
        if let Some(outcome) = on_authentication {
            item.insert("on_authentication".into(), s(outcome));
        }
        let put_charge = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_key).build())
            .transact_items(TransactWriteItem::builder().put(put_charge).build())
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.write_all(out.consumed_capacity());
                Ok(charge.clone())
            }
            Err(err) => match cancellation(&err, &[0]) {
                Cancellation::ConditionFailed {
                    item: Some(existing),
                    ..
                } => {
                    let id = get_s(&existing, "charge")?;
                    self.ledger_charge(owner, id)
                        .await?
                        .map(|l| l.charge)
                        .ok_or_else(|| ApiError::internal("a test processor key names no charge"))
                }
                Cancellation::Transient => Err(ApiError::ServiceUnavailable(Box::new(err))),
                _ => Err(sdk_error(err)),
            },
        }
    }

    /// The charge made under `gateway_key`, if any: two reads (the key, then the charge).
    pub async fn ledger_find(
        &self,
        owner: &Principal,
        gateway_key: &str,
    ) -> Result<Option<ProcessorCharge>, ApiError> {
        let Some(item) = self.get(key_key(owner, gateway_key)).await? else {
            return Ok(None);
        };
        Ok(self
            .ledger_charge(owner, get_s(&item, "charge")?)
            .await?
            .map(|l| l.charge))
    }

    /// The charge `id`, if any: one read.
    pub async fn ledger_charge(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<Option<LedgerCharge>, ApiError> {
        let Some(item) = self.get(charge_key(owner, id)).await? else {
            return Ok(None);
        };
        Ok(Some(LedgerCharge {
            charge: from_item(&item)?,
            on_authentication: item
                .get("on_authentication")
                .and_then(|v| v.as_s().ok())
                .cloned(),
        }))
    }

    /// Replaces the charge with `updated`, if it is still in `from`: one conditional put.
    /// `false` when it had moved on.
    pub async fn ledger_move(
        &self,
        owner: &Principal,
        updated: &ProcessorCharge,
        from: Status,
    ) -> Result<bool, ApiError> {
        let mut item = charge_key(owner, &updated.id);
        item.insert("doc".into(), s(to_json(updated)?));
        item.insert("state".into(), s(updated.status.as_str()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":from", s(from.as_str()))
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.write(out.consumed_capacity());
                Ok(true)
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(sdk_error(err)),
        }
    }

    /// Records `refund` of its charge under its key, if the charge is successful and the refund
    /// fits in what remains of `charge_amount`; or answers the refund already made under that
    /// key. `Err(why)` inside when refused.
    pub async fn ledger_refund(
        &self,
        owner: &Principal,
        refund: &ProcessorRefund,
        charge_amount: i64,
    ) -> Result<Result<ProcessorRefund, String>, ApiError> {
        let mut item = refund_key(owner, &refund.charge, &refund.key);
        item.insert("doc".into(), s(to_json(refund)?));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(charge_key(owner, &refund.charge)))
            .update_expression("ADD refunded :amount")
            .condition_expression(
                "#state = :successful AND (attribute_not_exists(refunded) OR refunded <= :cap)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":successful", s(Status::Successful.as_str()))
            .expression_attribute_values(":amount", n(refund.amount))
            .expression_attribute_values(":cap", n(charge_amount - refund.amount))
            .build()
            .map_err(ApiError::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.write_all(out.consumed_capacity());
                Ok(Ok(refund.clone()))
            }
            Err(err) => match cancellation(&err, &[0, 1]) {
                Cancellation::ConditionFailed {
                    index: 0,
                    item: Some(existing),
                } => Ok(Ok(from_item(&existing)?)),
                Cancellation::ConditionFailed { .. } => Ok(Err(
                    "the charge is not successful, or the refund is more than remains".into(),
                )),
                Cancellation::Transient => Err(ApiError::ServiceUnavailable(Box::new(err))),
                Cancellation::Other => Err(sdk_error(err)),
            },
        }
    }

    /// The refund of `charge` made under `refund_key`, if any: one read.
    pub async fn ledger_find_refund(
        &self,
        owner: &Principal,
        charge: &str,
        key: &str,
    ) -> Result<Option<ProcessorRefund>, ApiError> {
        self.get(refund_key(owner, charge, key))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }
}
