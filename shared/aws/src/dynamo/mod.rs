//! DynamoDB adapters. All `AttributeValue` mapping of flexbridge lives in this module.

pub mod licenses;
pub mod log;
pub mod state;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use chrono::{DateTime, SecondsFormat, Utc};
use engine::ports::StoreError;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// DynamoDB accepts at most 25 requests per BatchWriteItem.
const BATCH_WRITE_MAX: usize = 25;
/// Unprocessed batch items (throttling) are re-sent with the shared jittered backoff, 8
/// attempts in all, before the write fails.
const BATCH_WRITE_BACKOFF: retry::Backoff = retry::Backoff::new(
    std::time::Duration::from_millis(25),
    std::time::Duration::from_millis(1600),
    7,
);

/// True when `e` is a refused condition (`ConditionalCheckFailedException`) of any operation.
pub(crate) fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

/// BatchWriteItem of `requests` (puts and deletes) in `table`, in chunks of 25, retrying the
/// unprocessed items (throttling) with backoff; `what` names the items in errors. The caller
/// keeps keys unique (DynamoDB refuses a batch naming one key twice).
pub(crate) async fn batch_write(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<WriteRequest>,
    what: &str,
) -> Result<(), StoreError> {
    let context = format!("dynamodb BatchWriteItem {what}");
    for chunk in requests.chunks(BATCH_WRITE_MAX) {
        until_processed(chunk.to_vec(), &context, |pending| async {
            let out = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| StoreError::backend(context.clone(), e))?;
            let left = out.unprocessed_items.and_then(|mut m| m.remove(table));
            Ok((Vec::<()>::new(), left.unwrap_or_default()))
        })
        .await?;
    }
    Ok(())
}

/// DynamoDB accepts at most 100 keys per BatchGetItem.
const BATCH_GET_MAX: usize = 100;

/// Consistent BatchGetItem of `keys` in `table`, in chunks of 100, retrying the unprocessed
/// keys (throttling) as [`batch_write`] does; the items found, in no order.
pub(crate) async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
    what: &str,
) -> Result<Vec<Item>, StoreError> {
    use aws_sdk_dynamodb::types::KeysAndAttributes;
    let context = format!("dynamodb BatchGetItem {what}");
    let mut out = Vec::new();
    for chunk in keys.chunks(BATCH_GET_MAX) {
        let found = until_processed(chunk.to_vec(), &context, |pending| async {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::backend(context.clone(), e))?;
            let answer = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| StoreError::backend(context.clone(), e))?;
            let got = answer.responses.and_then(|mut m| m.remove(table));
            let left = answer.unprocessed_keys.and_then(|mut m| m.remove(table));
            Ok((
                got.unwrap_or_default(),
                left.map(|k| k.keys).unwrap_or_default(),
            ))
        })
        .await?;
        out.extend(found);
    }
    Ok(out)
}

/// Sends `pending` with `send` — which answers what it got and what was left unprocessed
/// (throttling) — until nothing is left, with the shared jittered backoff between attempts.
async fn until_processed<T, R, F, Fut>(
    mut pending: Vec<T>,
    context: &str,
    send: F,
) -> Result<Vec<R>, StoreError>
where
    F: Fn(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<R>, Vec<T>), StoreError>>,
{
    let mut retrier = BATCH_WRITE_BACKOFF.start(None);
    let mut out = Vec::new();
    loop {
        let (got, left) = send(pending).await?;
        out.extend(got);
        pending = left;
        if pending.is_empty() {
            return Ok(out);
        }
        if !retrier.again().await {
            return Err(StoreError::backend(
                context.to_owned(),
                format!(
                    "{} still unprocessed after {} attempts",
                    pending.len(),
                    retrier.attempt() + 1
                ),
            ));
        }
    }
}

/// Consistent GetItem of `key` in `table`; `what` names the item in errors.
pub(crate) async fn get_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: Item,
    what: &str,
) -> Result<Option<Item>, StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| StoreError::backend(format!("dynamodb GetItem {what}"), e))?;
    Ok(out.item)
}

/// Unconditional PutItem of `item` in `table`; `what` names the item in errors.
pub(crate) async fn put_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
    what: &str,
) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| StoreError::backend(format!("dynamodb PutItem {what}"), e))?;
    Ok(())
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Fixed-width UTC time (nanoseconds), so string order is time order in sort keys.
pub(crate) fn time_key(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn corrupt(key: &str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        detail: detail.into(),
    }
}

/// Optional string attribute: absent or NULL → None; any other type → Corrupt.
pub(crate) fn opt_s(item: &Item, name: &str, key: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(corrupt(key, format!("attribute {name} is not a string"))),
    }
}

pub(crate) fn req_s(item: &Item, name: &str, key: &str) -> Result<String, StoreError> {
    opt_s(item, name, key)?.ok_or_else(|| corrupt(key, format!("attribute {name} is missing")))
}

pub(crate) fn opt_n<T: FromStr>(
    item: &Item,
    name: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse::<T>()
            .map(Some)
            .map_err(|_| corrupt(key, format!("attribute {name} is not a valid number"))),
        Some(_) => Err(corrupt(key, format!("attribute {name} is not a number"))),
    }
}

pub(crate) fn req_n<T: FromStr>(item: &Item, name: &str, key: &str) -> Result<T, StoreError> {
    opt_n(item, name, key)?.ok_or_else(|| corrupt(key, format!("attribute {name} is missing")))
}

pub(crate) fn opt_time(
    item: &Item,
    name: &str,
    key: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    match opt_s(item, name, key)? {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(&v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| corrupt(key, format!("attribute {name} is not an RFC 3339 time"))),
    }
}

pub(crate) fn req_time(item: &Item, name: &str, key: &str) -> Result<DateTime<Utc>, StoreError> {
    opt_time(item, name, key)?.ok_or_else(|| corrupt(key, format!("attribute {name} is missing")))
}

/// A JSON value stored as a string attribute.
pub(crate) fn opt_json(
    item: &Item,
    name: &str,
    key: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    match opt_s(item, name, key)? {
        None => Ok(None),
        Some(v) => serde_json::from_str(&v).map(Some).map_err(|e| {
            corrupt(
                key,
                format!(
                    "attribute {name} is not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        }),
    }
}

/// A map of strings (absent → empty), e.g. line item id → activation id; `what` names a value
/// in errors.
pub(crate) fn map_of_s(
    item: &Item,
    name: &str,
    key: &str,
    what: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(BTreeMap::new()),
        Some(AttributeValue::M(m)) => m
            .iter()
            .map(|(k, v)| match v {
                AttributeValue::S(x) => Ok((k.clone(), x.clone())),
                _ => Err(corrupt(key, format!("{what} of {k} is not a string"))),
            })
            .collect(),
        Some(_) => Err(corrupt(key, format!("attribute {name} is not a map"))),
    }
}

/// The string map attribute written by [`map_of_s`]'s counterpart.
pub(crate) fn s_map(m: &BTreeMap<String, String>) -> AttributeValue {
    AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

/// Inserts `name` only when `value` is Some (DynamoDB items carry no nulls here).
pub(crate) fn put_opt(item: &mut Item, name: &str, value: Option<AttributeValue>) {
    if let Some(v) = value {
        item.insert(name.to_owned(), v);
    }
}

/// Wire name of a serde enum (e.g. `RunKind::Scheduled` → "scheduled"), so the stored names
/// are exactly the JSON names of the port types.
pub(crate) fn enum_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        // unit variants always serialise to strings; keep a readable fallback anyway
        _ => String::new(),
    }
}

pub(crate) fn enum_from_name<T: serde::de::DeserializeOwned>(
    item: &Item,
    name: &str,
    key: &str,
) -> Result<T, StoreError> {
    let raw = req_s(item, name, key)?;
    enum_named(raw, name, key)
}

/// [`enum_from_name`] for an optional attribute (absent or NULL → None).
pub(crate) fn opt_enum_from_name<T: serde::de::DeserializeOwned>(
    item: &Item,
    name: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    opt_s(item, name, key)?
        .map(|raw| enum_named(raw, name, key))
        .transpose()
}

fn enum_named<T: serde::de::DeserializeOwned>(
    raw: String,
    name: &str,
    key: &str,
) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(raw.clone()))
        .map_err(|_| corrupt(key, format!("attribute {name} has unknown value {raw:?}")))
}
