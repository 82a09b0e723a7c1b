//! Records what each handler asks of DynamoDB, as IAM sees it: one line per item a request
//! touches, with the function, the action IAM evaluates and the item's partition key.
//! `scripts/check-iam` then checks that each function's policy in template.yaml allows exactly
//! what was recorded. (DynamoDB Local checks no IAM at all, so this is how the policies are
//! proven.)

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    batch_get_item::BatchGetItemInput, delete_item::DeleteItemInput, get_item::GetItemInput,
    put_item::PutItemInput, query::QueryInput, scan::ScanInput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
use aws_sdk_dynamodb::types::AttributeValue;
use shared::http::routes::ROUTES;
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use tools::Event;

tokio::task_local! {
    /// The template's logical id of the function whose handler is running.
    static FUNCTION: &'static str;
}

/// The function API Gateway would invoke for `event`, by its logical id in template.yaml.
pub fn function_of(event: &Event) -> &'static str {
    ROUTES
        .iter()
        .find(|r| format!("{} {}", r.method, r.path) == event.route_key())
        .map_or("NotFoundFunction", |r| r.function)
}

/// Runs `handler` as `function`: the DynamoDB requests it makes are recorded under that name.
pub async fn as_function<F: Future>(function: &'static str, handler: F) -> F::Output {
    FUNCTION.scope(function, handler).await
}

#[derive(Debug)]
pub struct RecordAccess;

fn pk(item: Option<&HashMap<String, AttributeValue>>) -> Option<String> {
    item?.get("pk")?.as_s().ok().cloned()
}

/// `(action, partition key)` for every item an operation's input touches.
fn accesses(
    context: &BeforeSerializationInterceptorContextRef<'_>,
) -> Vec<(&'static str, Option<String>)> {
    let input = context.input();
    if let Some(i) = input.downcast_ref::<GetItemInput>() {
        return vec![("dynamodb:GetItem", pk(i.key()))];
    }
    if let Some(i) = input.downcast_ref::<PutItemInput>() {
        return vec![("dynamodb:PutItem", pk(i.item()))];
    }
    if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
        return vec![("dynamodb:UpdateItem", pk(i.key()))];
    }
    if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
        return vec![("dynamodb:DeleteItem", pk(i.key()))];
    }
    if let Some(i) = input.downcast_ref::<QueryInput>() {
        // Every query here says `pk = :pk`.
        let key = i
            .expression_attribute_values()
            .and_then(|v| v.get(":pk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        return vec![("dynamodb:Query", key)];
    }
    if let Some(i) = input.downcast_ref::<BatchGetItemInput>() {
        // One line per key: the template grants a batch's prefixes in one statement, which is
        // right whether IAM weighs the keys one by one or all together.
        return i
            .request_items()
            .into_iter()
            .flat_map(|tables| tables.values())
            .flat_map(|keys| keys.keys())
            .map(|key| ("dynamodb:BatchGetItem", pk(Some(key))))
            .collect();
    }
    if input.downcast_ref::<ScanInput>().is_some() {
        return vec![("dynamodb:Scan", None)];
    }
    if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
        // IAM authorises a transaction item by item, by the action each performs.
        return i
            .transact_items()
            .iter()
            .map(|item| {
                if let Some(p) = item.put() {
                    ("dynamodb:PutItem", pk(Some(p.item())))
                } else if let Some(u) = item.update() {
                    ("dynamodb:UpdateItem", pk(Some(u.key())))
                } else if let Some(d) = item.delete() {
                    ("dynamodb:DeleteItem", pk(Some(d.key())))
                } else if let Some(c) = item.condition_check() {
                    ("dynamodb:ConditionCheckItem", pk(Some(c.key())))
                } else {
                    ("dynamodb:UnknownTransactItem", None)
                }
            })
            .collect();
    }
    // Anything else is recorded as such, so that the check fails until this learns it.
    vec![("dynamodb:Unrecognised", None)]
}

impl Intercept for RecordAccess {
    fn name(&self) -> &'static str {
        "RecordAccess"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Requests outside a handler (a test's own setup and checks) are not a function's.
        let Ok(function) = FUNCTION.try_with(|f| *f) else {
            return Ok(());
        };
        let mut lines = String::new();
        for (action, leading_key) in accesses(context) {
            let line = serde_json::json!({
                "function": function, "action": action, "leading_key": leading_key,
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        // One write per request with O_APPEND: test processes run in parallel, and appends of a
        // few hundred bytes do not interleave.
        let path = std::env::var("IAM_OBSERVED").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/iam-observed.jsonl").to_owned()
        });
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(lines.as_bytes())?;
        Ok(())
    }
}
