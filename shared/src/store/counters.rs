//! Rebuilding what is derived from the links: their counters and list anchors. For operators
//! (`links-admin recount`), after an import or when upgrading a table written by an earlier
//! version (whose count shards were `COUNT#<n>`, with no day items): the functions never call
//! this, and their IAM roles do not allow it.

use super::collection::{COUNTER_SHARDS, Collection};
use super::item::{Item, account_partition, anchor_partition, key, n, s};
use super::{Store, sdk_error};
use crate::domain::error::ApiError;
use crate::domain::principal::Principal;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use std::collections::BTreeMap;

impl Store {
    /// The sort keys in `pk` that start with `prefix` (all of them with none), every one.
    async fn sort_keys(&self, pk: &str, prefix: Option<&str>) -> Result<Vec<String>, ApiError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(pk));
            let query = match prefix {
                Some(prefix) => query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix)),
                None => query.key_condition_expression("pk = :pk"),
            };
            let out = query
                .projection_expression("sk")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            keys.extend(
                out.items()
                    .iter()
                    .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned()),
            );
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(keys);
            }
        }
    }

    /// Writes `requests` in batches of 25, retrying what DynamoDB leaves unprocessed.
    pub(crate) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), ApiError> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    fn delete_request(pk: &str, sk: String) -> Result<WriteRequest, ApiError> {
        DeleteRequest::builder()
            .set_key(Some(key(pk.to_owned(), sk)))
            .build()
            .map(|d| WriteRequest::builder().delete_request(d).build())
            .map_err(ApiError::internal)
    }

    /// Forgets every list anchor of `owner`: after links were added behind existing ones (an
    /// import), positions have moved and anchors would lead pages astray.
    pub async fn forget_anchors(&self, owner: &Principal) -> Result<(), ApiError> {
        let pk = anchor_partition(owner);
        let requests = self
            .sort_keys(&pk, None)
            .await?
            .into_iter()
            .map(|sk| Self::delete_request(&pk, sk))
            .collect::<Result<_, _>>()?;
        self.batch_write(requests).await
    }

    /// Counts `owner`'s links again from the links themselves, replaces every counter item (those
    /// of earlier versions included) and forgets the anchors. Returns the number of links. Run it
    /// with no creates in flight for that account: a create meanwhile would be miscounted.
    pub async fn recount_links(&self, owner: &Principal) -> Result<u64, ApiError> {
        let pk = account_partition(owner);
        let links = Collection::links(owner);
        let members = self.sort_keys(&pk, Some("LINK#")).await?;
        let mut counters: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (i, sk) in members.iter().enumerate() {
            let created = links
                .created_ms(sk)
                .ok_or_else(|| ApiError::internal(format!("link item has a bad sk {sk:?}")))?;
            for (counter, attribute) in links.counters_of(created, i as u32 % COUNTER_SHARDS) {
                *counters
                    .entry(counter)
                    .or_default()
                    .entry(attribute)
                    .or_default() += 1;
            }
        }
        let mut requests = Vec::new();
        for old in [
            self.sort_keys(&pk, Some("COUNT#")).await?,
            self.sort_keys(&pk, Some("DAY#")).await?,
        ]
        .concat()
        {
            // Only link counters: the partition also holds the charges' (`COUNT#CHRG#…`), which
            // this must leave alone. Shards of the earliest layout were `COUNT#<n>`.
            let of_links = old.starts_with("COUNT#LINK#")
                || old.starts_with("DAY#LINK#")
                || old
                    .strip_prefix("COUNT#")
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            if of_links && !counters.contains_key(&old) {
                requests.push(Self::delete_request(&pk, old)?);
            }
        }
        for (sk, attributes) in counters {
            let mut item: Item = key(pk.clone(), sk);
            item.extend(attributes.into_iter().map(|(name, count)| (name, n(count))));
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(ApiError::internal)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(requests).await?;
        self.forget_anchors(owner).await?;
        Ok(members.len() as u64)
    }
}
