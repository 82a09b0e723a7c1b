//! The endpoint item: setting it, rotating and sealing its signing secret, reading it, and
//! removing it with its queue and its next try.

use super::endpoint_key;
use super::secrets::{StoredSecret, new_secret, seal};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use crate::sealed::Sealer;
use crate::store::item::{Item, corrupt, get_n, get_s, parse_time, s, time};
use crate::store::{Store, sdk_error};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long the previous secret still signs after a rotation: a day for the merchant to move
/// their receiver to the new one.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// A merchant's webhook endpoint in one mode. Its `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct WebhookEndpoint {
    pub owner: Principal,
    pub url: String,
    /// The current signing secret.
    secret: StoredSecret,
    /// The secret before the last rotation, and until when it still signs.
    previous: Option<(StoredSecret, DateTime<Utc>)>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Events waiting in the endpoint's queue. Signed: should it ever drift from the queue (a
    /// removal interrupted half-way, say), 0 or below reads as "nothing waits" and the next
    /// sweep that finds the queue empty sets it back to 0.
    pub pending: i64,
    /// Tries in a row that failed, for the oldest waiting event.
    pub failures: u32,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("owner", &self.owner)
            .field("url", &self.url)
            .field("created", &self.created)
            .field("pending", &self.pending)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl WebhookEndpoint {
    /// Whether events wait for this endpoint, so that a new one must queue behind them.
    pub fn backlogged(&self) -> bool {
        self.pending > 0
    }

    /// The secrets deliveries are signed with at `now`, as stored: the current one, and the
    /// previous one during the day after a rotation.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&StoredSecret> {
        let previous = self
            .previous
            .as_ref()
            .filter(|(_, until)| now < *until)
            .map(|(secret, _)| secret);
        std::iter::once(&self.secret).chain(previous).collect()
    }

    /// Whether every secret the item holds is sealed.
    pub fn sealed(&self) -> bool {
        self.secret.is_sealed() && self.previous.as_ref().is_none_or(|(p, _)| p.is_sealed())
    }

    /// Whether a previous secret still signs at `now`.
    pub fn rotating(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.previous
            .as_ref()
            .map(|(_, until)| *until)
            .filter(|until| now < *until)
    }
}

/// What was set.
#[derive(Debug)]
pub struct SetWebhook {
    pub endpoint: WebhookEndpoint,
    /// The new signing secret, when the endpoint is new: shown once, to the operator.
    pub new_secret: Option<String>,
}

/// An endpoint write conditioned on the secret it read: a failed condition means another
/// operator's write came first, to be read again, not a fault.
fn changed_meanwhile<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    err: SdkError<E, HttpResponse>,
) -> ApiError {
    if err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") {
        ApiError::BadRequest("the endpoint changed meanwhile; try again".into())
    } else {
        sdk_error(err)
    }
}

pub(super) fn endpoint_from(owner: &Principal, item: &Item) -> Result<WebhookEndpoint, ApiError> {
    let stored = |name| item.get(name).and_then(StoredSecret::from_attribute);
    let until = item.get("previous_until").and_then(|v| v.as_s().ok());
    let previous = match (stored("previous_secret"), until) {
        (Some(secret), Some(until)) => Some((secret, parse_time(until)?)),
        _ => None,
    };
    Ok(WebhookEndpoint {
        owner: owner.clone(),
        url: get_s(item, "url")?.clone(),
        secret: stored("secret")
            .ok_or_else(|| corrupt("webhook endpoint without a secret".into()))?,
        previous,
        created: parse_time(get_s(item, "created")?)?,
        updated: parse_time(get_s(item, "updated")?)?,
        pending: get_n(item, "pending")?.unwrap_or(0),
        failures: get_n(item, "failures")?.unwrap_or(0),
    })
}

impl Store {
    /// Sets `owner`'s endpoint to `url` (already checked with `validate::parse_endpoint`). A new
    /// endpoint gets a new signing secret, sealed with `sealer`; an existing one keeps its
    /// secret and its queue.
    pub async fn set_webhook(
        &self,
        owner: &Principal,
        url: &str,
        now: DateTime<Utc>,
        sealer: &Sealer,
    ) -> Result<SetWebhook, ApiError> {
        let secret = new_secret();
        let sealed = seal(sealer, owner, &secret).await?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .update_expression(
                "SET #url = :url, updated = :now, created = if_not_exists(created, :now), \
                 secret = if_not_exists(secret, :secret)",
            )
            .expression_attribute_names("#url", "url")
            .expression_attribute_values(":url", s(url))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":secret", sealed.attribute())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_error)?;
        let item = out
            .attributes
            .ok_or_else(|| ApiError::internal("UpdateItem returned no endpoint"))?;
        let endpoint = endpoint_from(owner, &item)?;
        let new_secret = (endpoint.secret == sealed).then_some(secret);
        Ok(SetWebhook {
            endpoint,
            new_secret,
        })
    }

    /// Gives `owner`'s endpoint a new secret; the old one keeps signing beside it for
    /// [`ROTATION_OVERLAP`]. Returns the new secret, or `None` when there is no endpoint.
    pub async fn rotate_webhook_secret(
        &self,
        owner: &Principal,
        now: DateTime<Utc>,
        sealer: &Sealer,
    ) -> Result<Option<String>, ApiError> {
        let Some(endpoint) = self.get_webhook(owner).await? else {
            return Ok(None);
        };
        let secret = new_secret();
        let sealed = seal(sealer, owner, &secret).await?;
        // A clear previous secret (an endpoint set before sealing) is sealed as it moves over.
        let old = match &endpoint.secret {
            StoredSecret::Clear(text) => seal(sealer, owner, text).await?,
            sealed => sealed.clone(),
        };
        let until =
            now + chrono::Duration::from_std(ROTATION_OVERLAP).map_err(ApiError::internal)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            // Against a concurrent rotation: each rotation replaces the secret it read.
            .condition_expression("secret = :old")
            .update_expression(
                "SET secret = :new, previous_secret = :previous, previous_until = :until, \
                 updated = :now",
            )
            .expression_attribute_values(":new", sealed.attribute())
            .expression_attribute_values(":old", endpoint.secret.attribute())
            .expression_attribute_values(":previous", old.attribute())
            .expression_attribute_values(":until", time(until))
            .expression_attribute_values(":now", time(now))
            .send()
            .await;
        result.map_err(changed_meanwhile)?;
        Ok(Some(secret))
    }

    /// Seals, in place and unchanged, the secrets of an endpoint set before secrets were sealed.
    /// `Ok(None)` when there is no endpoint, `Ok(Some(false))` when nothing was in clear.
    pub async fn seal_webhook_secrets(
        &self,
        owner: &Principal,
        now: DateTime<Utc>,
        sealer: &Sealer,
    ) -> Result<Option<bool>, ApiError> {
        let Some(endpoint) = self.get_webhook(owner).await? else {
            return Ok(None);
        };
        if endpoint.sealed() {
            return Ok(Some(false));
        }
        let sealed = |stored: &StoredSecret| {
            let stored = stored.clone();
            async move {
                match stored {
                    StoredSecret::Clear(text) => seal(sealer, owner, &text).await,
                    already => Ok(already),
                }
            }
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .expression_attribute_values(":old", endpoint.secret.attribute())
            .expression_attribute_values(":new", sealed(&endpoint.secret).await?.attribute())
            .expression_attribute_values(":now", time(now));
        // Against a rotation meanwhile: only the values read are replaced.
        let (expression, condition) = match &endpoint.previous {
            Some((previous, _)) => {
                update = update
                    .expression_attribute_values(":old_previous", previous.attribute())
                    .expression_attribute_values(":previous", sealed(previous).await?.attribute());
                (
                    "SET secret = :new, previous_secret = :previous, updated = :now",
                    "secret = :old AND previous_secret = :old_previous",
                )
            }
            None => ("SET secret = :new, updated = :now", "secret = :old"),
        };
        update
            .update_expression(expression)
            .condition_expression(condition)
            .send()
            .await
            .map_err(changed_meanwhile)?;
        Ok(Some(true))
    }

    /// `owner`'s endpoint, or `None`: one strongly consistent GetItem.
    pub async fn get_webhook(
        &self,
        owner: &Principal,
    ) -> Result<Option<WebhookEndpoint>, ApiError> {
        self.get(endpoint_key(owner))
            .await?
            .map(|item| endpoint_from(owner, &item))
            .transpose()
    }

    /// Removes `owner`'s endpoint, its waiting events and its next try. The events themselves
    /// stay (`GET /events`), with the deliveries they had. Returns whether there was one.
    ///
    /// The endpoint goes first: queueing is conditioned on it, so nothing can join the queue
    /// once it is gone, and the queue is then emptied. (Emptied queue first, an event queued in
    /// between would outlive the endpoint.)
    pub async fn remove_webhook(&self, owner: &Principal) -> Result<bool, ApiError> {
        let removed = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(owner)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        loop {
            let (_, waiting) = self.webhook_queue(owner, 25).await?;
            if waiting.is_empty() {
                break;
            }
            for w in waiting {
                self.drop_waiting(owner, &w.event_id).await?;
            }
        }
        // Whoever holds it: the endpoint is gone.
        self.forget_due(owner, None).await?;
        Ok(removed.attributes.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn owner(livemode: bool) -> Principal {
        Principal {
            account_id: "acct_1".into(),
            livemode,
        }
    }

    #[test]
    fn secrets_are_fresh_32_byte_base64_and_sign_during_the_overlap_only() {
        let a = new_secret();
        assert_ne!(a, new_secret());
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&a)
                .unwrap()
                .len(),
            32
        );
        let now = Utc::now();
        let sealed = StoredSecret::Sealed(vec![1, 2, 3]);
        let mut endpoint = WebhookEndpoint {
            owner: owner(false),
            url: "https://shop.example/hooks".into(),
            secret: sealed.clone(),
            previous: None,
            created: now,
            updated: now,
            pending: 0,
            failures: 0,
        };
        assert_eq!(endpoint.signing_secrets(now), vec![&sealed]);
        assert!(endpoint.sealed());
        let until = now + chrono::Duration::hours(24);
        let clear = StoredSecret::Clear(a.clone());
        endpoint.previous = Some((clear.clone(), until));
        assert!(!endpoint.sealed(), "a clear previous secret is not sealed");
        assert!(
            !format!("{endpoint:?}{clear:?}").contains(&a),
            "Debug leaves the secrets out"
        );
        assert_eq!(
            endpoint.signing_secrets(now),
            vec![&sealed, &clear],
            "the current secret signs first, the previous one during the overlap"
        );
        assert_eq!(endpoint.rotating(now), Some(until));
        assert_eq!(endpoint.signing_secrets(until), vec![&sealed]);
        assert_eq!(endpoint.rotating(until), None);
    }
}
