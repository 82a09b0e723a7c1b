//! Records what each handler asks of DynamoDB, as IAM sees it: one line per item a request
//! touches, with the function, the action IAM evaluates and the item's partition key, and for
//! an update also the top-level attributes it names (IAM's `dynamodb:Attributes`) and its
//! `ReturnValues` (`dynamodb:ReturnValues`).
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

/// What IAM sees of one item a request touches.
struct Access {
    action: &'static str,
    leading_key: Option<String>,
    /// An update's `dynamodb:Attributes`: the key's attribute names and every top-level name
    /// its update and condition expressions use, sorted.
    attributes: Option<Vec<String>>,
    /// An update's `dynamodb:ReturnValues`, when it sets one.
    return_values: Option<String>,
}

impl From<(&'static str, Option<String>)> for Access {
    fn from((action, leading_key): (&'static str, Option<String>)) -> Self {
        Self {
            action,
            leading_key,
            attributes: None,
            return_values: None,
        }
    }
}

/// The words of update and condition expressions that are not attribute names.
const EXPRESSION_WORDS: &[&str] = &[
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "if_not_exists",
    "list_append",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
];

/// The top-level attribute names an update names: its key's, and those of its expressions
/// (`#name` placeholders resolved; `a.b[0]` is `a`), as IAM's `dynamodb:Attributes` lists them.
fn update_attributes(
    key: &HashMap<String, AttributeValue>,
    expressions: &[Option<&str>],
    names: Option<&HashMap<String, String>>,
) -> Vec<String> {
    let mut found: std::collections::BTreeSet<String> = key.keys().cloned().collect();
    for expression in expressions.iter().flatten() {
        let mut rest = *expression;
        while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '#' || c == ':')
        {
            let tail = &rest[start..];
            let end = tail[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(tail.len(), |i| i + 1);
            let word = &tail[..end];
            // A word right after `.` is a nested field, not a top-level attribute.
            let nested = rest[..start].ends_with('.');
            if !nested && !word.starts_with(':') && !EXPRESSION_WORDS.contains(&word) {
                let name = match word.strip_prefix('#') {
                    Some(_) => names
                        .and_then(|n| n.get(word))
                        .cloned()
                        .unwrap_or_else(|| word.to_owned()),
                    None => word.to_owned(),
                };
                found.insert(name);
            }
            rest = &tail[end..];
        }
    }
    found.into_iter().collect()
}

/// What IAM sees of every item an operation's input touches.
fn accesses(context: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<Access> {
    accesses_of(context).unwrap_or_else(|| {
        // Anything else is recorded as such, so that the check fails until this learns it.
        vec![("dynamodb:Unrecognised", None).into()]
    })
}

fn accesses_of(context: &BeforeSerializationInterceptorContextRef<'_>) -> Option<Vec<Access>> {
    let input = context.input();
    if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
        let key = i.key()?;
        return Some(vec![Access {
            action: "dynamodb:UpdateItem",
            leading_key: pk(Some(key)),
            attributes: Some(update_attributes(
                key,
                &[i.update_expression(), i.condition_expression()],
                i.expression_attribute_names(),
            )),
            return_values: i.return_values().map(|r| r.as_str().to_owned()),
        }]);
    }
    if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
        // IAM authorises a transaction item by item, by the action each performs.
        return Some(
            i.transact_items()
                .iter()
                .map(|item| {
                    if let Some(p) = item.put() {
                        ("dynamodb:PutItem", pk(Some(p.item()))).into()
                    } else if let Some(u) = item.update() {
                        Access {
                            action: "dynamodb:UpdateItem",
                            leading_key: pk(Some(u.key())),
                            attributes: Some(update_attributes(
                                u.key(),
                                &[Some(u.update_expression()), u.condition_expression()],
                                u.expression_attribute_names(),
                            )),
                            return_values: None,
                        }
                    } else if let Some(d) = item.delete() {
                        ("dynamodb:DeleteItem", pk(Some(d.key()))).into()
                    } else if let Some(c) = item.condition_check() {
                        ("dynamodb:ConditionCheckItem", pk(Some(c.key()))).into()
                    } else {
                        ("dynamodb:UnknownTransactItem", None).into()
                    }
                })
                .collect(),
        );
    }
    accesses_by_key(context).map(|all| all.into_iter().map(Access::from).collect())
}

/// `(action, partition key)` for every item an operation's input touches.
fn accesses_by_key(
    context: &BeforeSerializationInterceptorContextRef<'_>,
) -> Option<Vec<(&'static str, Option<String>)>> {
    let input = context.input();
    if let Some(i) = input.downcast_ref::<GetItemInput>() {
        return Some(vec![("dynamodb:GetItem", pk(i.key()))]);
    }
    if let Some(i) = input.downcast_ref::<PutItemInput>() {
        return Some(vec![("dynamodb:PutItem", pk(i.item()))]);
    }
    if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
        return Some(vec![("dynamodb:DeleteItem", pk(i.key()))]);
    }
    if let Some(i) = input.downcast_ref::<QueryInput>() {
        // Every query here says `pk = :pk`.
        let key = i
            .expression_attribute_values()
            .and_then(|v| v.get(":pk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        return Some(vec![("dynamodb:Query", key)]);
    }
    if let Some(i) = input.downcast_ref::<BatchGetItemInput>() {
        // One line per key: the template grants a batch's prefixes in one statement, which is
        // right whether IAM weighs the keys one by one or all together.
        return Some(
            i.request_items()
                .into_iter()
                .flat_map(|tables| tables.values())
                .flat_map(|keys| keys.keys())
                .map(|key| ("dynamodb:BatchGetItem", pk(Some(key))))
                .collect(),
        );
    }
    if input.downcast_ref::<ScanInput>().is_some() {
        return Some(vec![("dynamodb:Scan", None)]);
    }
    None
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
        for access in accesses(context) {
            let mut line = serde_json::json!({
                "function": function, "action": access.action, "leading_key": access.leading_key,
            });
            if let Some(attributes) = access.attributes {
                line["attributes"] = attributes.into();
                line["return_values"] = access.return_values.into();
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_names_its_key_and_the_top_level_attributes_of_its_expressions() {
        let key = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("ACCT#a#test".into())),
            ("sk".to_owned(), AttributeValue::S("EVT#1".into())),
        ]);
        let names = HashMap::from([("#s".to_owned(), "status".to_owned())]);
        let attributes = update_attributes(
            &key,
            &[
                Some(
                    "SET deliveries = list_append(if_not_exists(deliveries, :none), :one), #s = :s REMOVE doc.card[0].number ADD n :one",
                ),
                Some(
                    "attribute_exists(pk) AND (attribute_not_exists(deliveries) OR size(deliveries) < :max)",
                ),
            ],
            Some(&names),
        );
        assert_eq!(attributes, ["deliveries", "doc", "n", "pk", "sk", "status"]);
    }
}
