//! An account's settings, per mode: today whether its card payments go through 3-D Secure.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | settings | `ACCT#<account>#<mode>` | `SETTINGS` | `three_d_secure` BOOL |
//!
//! In the account's own partition, so that the payment function reads it in the same
//! `BatchGetItem` as the link it pays; an account that never set anything has no item.

use super::item::{Item, account_partition, key};
use super::{Store, sdk_error};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::types::AttributeValue;

/// What an account has set, in one mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// Card payments wait for the buyer's 3-D Secure authentication.
    pub three_d_secure: bool,
}

/// The settings item of `owner`.
pub fn settings_key(owner: &Principal) -> Item {
    key(account_partition(owner), "SETTINGS".into())
}

impl Settings {
    /// The settings an item holds (none: the defaults).
    pub fn from_item(item: Option<&Item>) -> Self {
        Self {
            three_d_secure: item
                .and_then(|i| i.get("three_d_secure"))
                .and_then(|v| v.as_bool().ok().copied())
                .unwrap_or(false),
        }
    }
}

impl Store {
    /// The settings of `owner`: one strongly consistent GetItem.
    pub async fn settings(&self, owner: &Principal) -> Result<Settings, ApiError> {
        Ok(Settings::from_item(
            self.get(settings_key(owner)).await?.as_ref(),
        ))
    }

    /// Turns 3-D Secure on or off for `owner`'s card payments, if the account exists.
    pub async fn set_three_d_secure(&self, owner: &Principal, on: bool) -> Result<(), ApiError> {
        if self
            .get(key(
                format!("ACCOUNT#{}", owner.account_id),
                "ACCOUNT".into(),
            ))
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound(format!("account {}", owner.account_id)));
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(settings_key(owner)))
            .update_expression("SET three_d_secure = :on")
            .expression_attribute_values(":on", AttributeValue::Bool(on))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
