//! The list algorithm this project had before the layered rewrite, replayed for the "before"
//! rows (see the crate documentation).

use crate::bench::Bench;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, Select};
use shared::domain::link::Link;
use std::collections::HashMap;

impl Bench {
    fn query(
        &self,
        pk: &str,
        low: &str,
        high: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.store()
            .client()
            .query()
            .table_name(self.store().table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .expression_attribute_values(":low", AttributeValue::S(low.into()))
            .expression_attribute_values(":high", AttributeValue::S(high.into()))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// The list page the previous algorithm served: it read `offset + limit` items, kept them all,
    /// skipped `offset`, and counted a filtered range item by item. Returns the page's size and
    /// the read units consumed.
    pub(crate) async fn old_page(
        &self,
        pk: &str,
        range: (&str, &str),
        offset: usize,
        limit: usize,
        filtered: bool,
    ) -> (usize, f64) {
        let mut read = 0.0;
        let wanted = offset + limit;
        let mut items: Vec<HashMap<String, AttributeValue>> = Vec::with_capacity(wanted.min(200));
        let mut start = None;
        loop {
            let out = self
                .query(pk, range.0, range.1)
                .limit(i32::try_from(wanted - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query");
            read += out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            start = out.last_evaluated_key;
            items.extend(out.items.unwrap_or_default());
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        let page: Vec<Link> = items
            .iter()
            .skip(offset)
            .map(|i| Link::try_from(i).expect("a link"))
            .collect();
        read += if filtered {
            self.old_count(pk, range).await
        } else {
            self.read_count_shards(pk).await
        };
        (page.len(), read)
    }

    async fn old_count(&self, pk: &str, range: (&str, &str)) -> f64 {
        let mut read = 0.0;
        let mut start = None;
        loop {
            let out = self
                .query(pk, range.0, range.1)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("count");
            read += out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return read;
            }
        }
    }

    async fn read_count_shards(&self, pk: &str) -> f64 {
        let out = self
            .query(pk, "COUNT#LINK#", "COUNT#LINK#~")
            .send()
            .await
            .expect("count shards");
        out.consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0)
    }

    /// Read units of reading the first k links in order, for every k: what the previous
    /// algorithm paid to skip k links. Measured by one sequential read in 1 MB pages; within a
    /// page, units are shared out in proportion to the links read.
    pub(crate) async fn prefix_read_units(&self, pk: &str, range: (&str, &str)) -> Vec<f64> {
        let mut prefix = vec![0.0];
        let mut start = None;
        loop {
            let out = self
                .query(pk, range.0, range.1)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query");
            let read = out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            let n = out.count.max(1) as f64;
            let base = *prefix.last().unwrap();
            prefix.extend((1..=out.count).map(|i| base + read * i as f64 / n));
            start = out.last_evaluated_key;
            if start.is_none() {
                return prefix;
            }
        }
    }
}
