//! An account's settings, per mode: whether its card payments go through 3-D Secure, and which
//! gateway takes its payments, with its keys.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | settings | `ACCT#<account>#<mode>` | `SETTINGS` | `three_d_secure` BOOL, `gateway` S (`built-in` or `omise`), `omise_public_key` S, `omise_secret_key` B, `omise_webhook_secret` B, `time_zone` S (an IANA name), `time_zone_offsets` S (its offsets: see `domain::time_zone`) |
//!
//! In the account's own partition, so that the payment function reads it in the same
//! `BatchGetItem` as the link it pays; an account that never set anything has no item.
//! The Omise secret key and webhook secret are stored sealed (`crate::sealed`: envelope
//! encryption under the template's KMS key, bound to the account, mode and purpose); the public
//! key is public (it is in every live payment page) and stored as it is.

use super::item::{Item, account_partition, key};
use super::{Store, sdk_error};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::domain::time_zone::TimeZone;
use aws_sdk_dynamodb::types::AttributeValue;

/// What an account has set, in one mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Card payments wait for the buyer's 3-D Secure authentication (the built-in processor;
    /// at Omise, the merchant's Omise account decides).
    pub three_d_secure: bool,
    pub gateway: Gateway,
    /// The zone its pages show times in (set in both modes at once by `links-admin`).
    pub time_zone: TimeZone,
}

/// Which gateway takes an account's payments in one mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Gateway {
    /// Nothing set: the built-in test processor in test mode; in live mode, no payments.
    #[default]
    Unset,
    /// The built-in test processor (test mode only).
    BuiltIn,
    Omise(OmiseKeys),
}

/// A merchant's Omise keys for one mode, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct OmiseKeys {
    /// `pkey_…` or `pkey_test_…`: given to Omise.js in the buyer's browser.
    pub public_key: String,
    /// `skey_…`, sealed (see `crate::sealed`).
    pub secret_key: Vec<u8>,
    /// Omise's webhook secret, sealed, when the merchant set one.
    pub webhook_secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for OmiseKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmiseKeys")
            .field("public_key", &self.public_key)
            .field("webhook_secret", &self.webhook_secret.is_some())
            .finish_non_exhaustive()
    }
}

/// The names of the sealed values, as their KMS encryption context says.
pub const OMISE_SECRET_KEY_PURPOSE: &str = "omise-secret-key";
pub const OMISE_WEBHOOK_SECRET_PURPOSE: &str = "omise-webhook-secret";

/// The context `owner`'s value for `purpose` is sealed in.
pub fn sealed_context(owner: &Principal, purpose: &'static str) -> crate::sealed::Context {
    crate::sealed::Context {
        purpose,
        account: owner.account_id.clone(),
        mode: if owner.livemode { "live" } else { "test" },
    }
}

/// The settings item of `owner`.
pub fn settings_key(owner: &Principal) -> Item {
    key(account_partition(owner), "SETTINGS".into())
}

impl Settings {
    /// The settings an item holds (none: the defaults).
    pub fn from_item(item: Option<&Item>) -> Self {
        let text = |name: &str| {
            item.and_then(|i| i.get(name))
                .and_then(|v| v.as_s().ok())
                .cloned()
        };
        let bytes = |name: &str| {
            item.and_then(|i| i.get(name))
                .and_then(|v| v.as_b().ok())
                .map(|b| b.as_ref().to_vec())
        };
        let gateway = match text("gateway").as_deref() {
            Some("built-in") => Gateway::BuiltIn,
            Some("omise") => match (text("omise_public_key"), bytes("omise_secret_key")) {
                (Some(public_key), Some(secret_key)) => Gateway::Omise(OmiseKeys {
                    public_key,
                    secret_key,
                    webhook_secret: bytes("omise_webhook_secret"),
                }),
                // Never written so; read as nothing set, which takes no live payment.
                _ => Gateway::Unset,
            },
            _ => Gateway::Unset,
        };
        Self {
            three_d_secure: item
                .and_then(|i| i.get("three_d_secure"))
                .and_then(|v| v.as_bool().ok().copied())
                .unwrap_or(false),
            gateway,
            time_zone: TimeZone::of_setting(
                text("time_zone").as_deref(),
                text("time_zone_offsets").as_deref(),
            ),
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

    async fn require_account(&self, owner: &Principal) -> Result<(), ApiError> {
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
        Ok(())
    }

    /// Sets which gateway takes `owner`'s payments (values already sealed), if the account
    /// exists. Setting the built-in processor removes any Omise keys.
    pub async fn set_gateway(&self, owner: &Principal, gateway: &Gateway) -> Result<(), ApiError> {
        self.require_account(owner).await?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(settings_key(owner)));
        let update = match gateway {
            Gateway::Unset => update.update_expression(
                "REMOVE gateway, omise_public_key, omise_secret_key, omise_webhook_secret",
            ),
            Gateway::BuiltIn => update
                .update_expression(
                    "SET gateway = :g REMOVE omise_public_key, omise_secret_key, omise_webhook_secret",
                )
                .expression_attribute_values(":g", AttributeValue::S("built-in".into())),
            Gateway::Omise(keys) => {
                let blob = |b: &[u8]| AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(b));
                let update = update
                    .expression_attribute_values(":g", AttributeValue::S("omise".into()))
                    .expression_attribute_values(":pk", AttributeValue::S(keys.public_key.clone()))
                    .expression_attribute_values(":sk", blob(&keys.secret_key));
                match &keys.webhook_secret {
                    Some(secret) => update
                        .update_expression(
                            "SET gateway = :g, omise_public_key = :pk, omise_secret_key = :sk, omise_webhook_secret = :wh",
                        )
                        .expression_attribute_values(":wh", blob(secret)),
                    None => update.update_expression(
                        "SET gateway = :g, omise_public_key = :pk, omise_secret_key = :sk REMOVE omise_webhook_secret",
                    ),
                }
            }
        };
        update.send().await.map_err(sdk_error)?;
        Ok(())
    }

    /// Turns 3-D Secure on or off for `owner`'s card payments, if the account exists.
    pub async fn set_three_d_secure(&self, owner: &Principal, on: bool) -> Result<(), ApiError> {
        self.require_account(owner).await?;
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

    /// Sets the zone `owner`'s pages show times in, with its offsets, if the account exists.
    pub async fn set_time_zone(&self, owner: &Principal, zone: &TimeZone) -> Result<(), ApiError> {
        self.require_account(owner).await?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(settings_key(owner)))
            .update_expression("SET time_zone = :zone, time_zone_offsets = :offsets")
            .expression_attribute_values(":zone", AttributeValue::S(zone.name().into()))
            .expression_attribute_values(":offsets", AttributeValue::S(zone.offsets_text()))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
