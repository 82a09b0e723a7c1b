//! Charges: how they are stored, finding a link from its payment page, retrieving and listing
//! charges. How a charge is made and moved is in [`super::attempts`]; refunds in
//! [`super::refunds`].
//!
//! A charge is stored twice, in the same transactions: under the account (`GET /charges/{id}`,
//! `GET /charges`) and under its link (`GET /links/{id}/charges`). Each copy holds the charge's
//! document (`doc`, JSON), its status (`state`, for the conditions that move it only forward),
//! and, beside the document, its refunds (`refunds`, a list of JSON documents, and `refunded`,
//! their sum), so that refunds add to a charge without rewriting it.

use super::collection::Collection;
use super::item::{
    Item, account_partition, corrupt, get_bool, get_n, get_s, key, link_charges_partition,
    payment_token_key, s,
};
use super::settings::{Settings, settings_key};
use super::{Store, sdk_error};
use crate::domain::attempt::Attempt;
use crate::domain::charge::{Charge, Status};
use crate::domain::error::ApiError;
use crate::domain::link::Link;
use crate::domain::list::{DEFAULT_LIMIT, ListQuery};
use crate::domain::principal::Principal;
use crate::domain::refund::Refund;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

/// One page of charges and the size of the whole list.
#[derive(Debug)]
pub struct ChargePage {
    pub charges: Vec<Charge>,
    pub total: u64,
}

pub(crate) fn charge_sk(id: &str) -> String {
    format!("CHRG#{id}")
}

/// The keys of a charge's two copies: under the account, and under its link.
pub(crate) fn charge_keys(owner: &Principal, charge: &Charge) -> [Item; 2] {
    [
        key(account_partition(owner), charge_sk(&charge.id)),
        key(
            link_charges_partition(owner, &charge.link),
            charge_sk(&charge.id),
        ),
    ]
}

/// A new charge's item under `pk`: its document and status (it has no refunds yet).
pub(crate) fn charge_item(pk: String, charge: &Charge) -> Result<Item, ApiError> {
    let mut item = key(pk, charge_sk(&charge.id));
    item.insert("doc".into(), s(charge_doc(charge)?));
    item.insert("state".into(), s(charge.status.as_str()));
    item.insert("link".into(), s(&charge.link));
    Ok(item)
}

/// The document of a charge (everything but its refunds).
pub(crate) fn charge_doc(charge: &Charge) -> Result<String, ApiError> {
    serde_json::to_string(charge).map_err(ApiError::internal)
}

impl TryFrom<&Item> for Charge {
    type Error = ApiError;

    fn try_from(item: &Item) -> Result<Self, ApiError> {
        let mut charge: Charge = serde_json::from_str(get_s(item, "doc")?)
            .map_err(|e| corrupt(format!("charge item has a bad document: {e}")))?;
        charge.status = match item.get("state").and_then(|v| v.as_s().ok()) {
            Some(state) => Status::parse(state)
                .ok_or_else(|| corrupt(format!("charge item has a bad state {state:?}")))?,
            // Written before charges had a status: final at once, as its failure code says.
            None if charge.failure_code.is_some() => Status::Failed,
            None => Status::Successful,
        };
        charge.refunded = get_n(item, "refunded")?.unwrap_or(0);
        charge.refunds = match item.get("refunds") {
            None => Vec::new(),
            Some(AttributeValue::L(docs)) => docs
                .iter()
                .map(|doc| {
                    doc.as_s()
                        .ok()
                        .and_then(|text| serde_json::from_str::<Refund>(text).ok())
                        .ok_or_else(|| corrupt("charge item has a bad refund".into()))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(corrupt("charge item's refunds are not a list".into())),
        };
        Ok(charge)
    }
}

/// What a payment page's token names: the link's owner (account and mode) and its id.
#[derive(Debug, Clone, PartialEq)]
pub struct PageTarget {
    pub owner: Principal,
    pub link_id: String,
}

/// What a payment reads about its link before it begins, in one round trip (see
/// [`Store::payment_reads`]).
#[derive(Debug)]
pub struct PaymentReads {
    pub link: Option<Link>,
    pub settings: Settings,
    /// The attempt's record, when the form was submitted before.
    pub attempt: Option<Attempt>,
    /// The failed-payment counters asked for, in their order.
    pub counters: Vec<Option<Item>>,
}

impl Store {
    /// What the payment page token `token` names, or `None`: one strongly consistent GetItem.
    pub async fn payment_target(&self, token: &str) -> Result<Option<PageTarget>, ApiError> {
        let Some(item) = self.get(payment_token_key(token)).await? else {
            return Ok(None);
        };
        Ok(Some(PageTarget {
            owner: Principal {
                account_id: get_s(&item, "account_id")?.clone(),
                livemode: get_bool(&item, "livemode")?,
            },
            link_id: get_s(&item, "link_id")?.clone(),
        }))
    }

    /// The link whose payment page token is `token`, or `None`: a strongly consistent GetItem of
    /// the token's item, then of the link (whose state, used or destroyed, the page shows).
    pub async fn link_by_payment_token(&self, token: &str) -> Result<Option<Link>, ApiError> {
        match self.payment_target(token).await? {
            Some(target) => self.get_link(&target.owner, &target.link_id).await,
            None => Ok(None),
        }
    }

    /// Everything a payment reads before it begins, in one `BatchGetItem`: the link, its
    /// account's settings, the attempt `attempt` (if one is named) and the failed-payment
    /// `counters`.
    pub async fn payment_reads(
        &self,
        target: &PageTarget,
        attempt: Option<&str>,
        counters: Vec<Item>,
    ) -> Result<PaymentReads, ApiError> {
        let owner = &target.owner;
        let mut keys = vec![
            key(
                account_partition(owner),
                super::item::link_sk(&target.link_id),
            ),
            settings_key(owner),
        ];
        if let Some(id) = attempt {
            keys.push(super::attempts::attempt_key(owner, id));
        }
        let fixed = keys.len();
        keys.extend(counters);
        let mut items = self.get_many(keys).await?;
        let counters = items.split_off(fixed);
        let mut items = items.into_iter();
        let link = items
            .next()
            .flatten()
            .as_ref()
            .map(Link::try_from)
            .transpose()?;
        let settings = Settings::from_item(items.next().flatten().as_ref());
        let attempt = items
            .next()
            .flatten()
            .as_ref()
            .map(Attempt::try_from)
            .transpose()?;
        Ok(PaymentReads {
            link,
            settings,
            attempt,
            counters,
        })
    }

    /// The caller's charge `id`, or `None`: one strongly consistent GetItem.
    pub async fn get_charge(
        &self,
        owner: &Principal,
        id: &str,
    ) -> Result<Option<Charge>, ApiError> {
        self.get(key(account_partition(owner), charge_sk(id)))
            .await?
            .as_ref()
            .map(Charge::try_from)
            .transpose()
    }

    /// A page of the caller's charges (`GET /charges`).
    pub async fn list_charges(
        &self,
        owner: &Principal,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<ChargePage, ApiError> {
        self.charge_page(&Collection::charges(owner), query, now)
            .await
    }

    /// A page of the charges made through the caller's link `link_id`.
    pub async fn list_link_charges(
        &self,
        owner: &Principal,
        link_id: &str,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<ChargePage, ApiError> {
        self.charge_page(&Collection::link_charges(owner, link_id), query, now)
            .await
    }

    async fn charge_page(
        &self,
        c: &Collection,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> Result<ChargePage, ApiError> {
        let page = Box::pin(self.page(c, query, now)).await?;
        Ok(ChargePage {
            charges: page
                .items
                .iter()
                .map(Charge::try_from)
                .collect::<Result<_, _>>()?,
            total: page.total,
        })
    }

    /// [`Store::embedded_charges`] of each of `links`, side by side.
    pub async fn embedded_charges_of(&self, links: &[Link]) -> Result<Vec<Vec<Charge>>, ApiError> {
        futures_util::future::try_join_all(links.iter().map(|link| self.embedded_charges(link)))
            .await
    }

    /// The charges a link embeds: its first (oldest) 20, in one Query, and no read at all for a
    /// link that has none. Their total is the link's own `charge_count`, written in the same
    /// transactions.
    pub async fn embedded_charges(&self, link: &Link) -> Result<Vec<Charge>, ApiError> {
        if link.charge_count == 0 {
            return Ok(Vec::new());
        }
        let owner = Principal {
            account_id: link.account_id.clone(),
            livemode: link.livemode,
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(link_charges_partition(&owner, &link.id)))
            .expression_attribute_values(":prefix", s("CHRG#"))
            .limit(DEFAULT_LIMIT as i32)
            .consistent_read(true)
            .return_consumed_capacity(self.capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.usage.read(out.consumed_capacity());
        out.items().iter().map(Charge::try_from).collect()
    }
}
