//! [`LicenseStore`] on DynamoDB: license records (R26–R32).
//!
//! Layout ([`crate::tables::LICENSE_TABLE`], `pk`/`sk`):
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | captured part | `<license id>` | `captured` | `doc` (JSON of `CapturedLicense`), `kind`, `name`, `active` (for reading in the console) |
//! | manual part (R27) | `<license id>` | `manual` | `name`, `allowed` (N), `amount` (S, `"1200.50"`), `currency`, `effective_date`, `ending_date` (S, `YYYY-MM-DD`), `payment_frequency`, `updated` — each only when set |
//! | task flag (R29) | `meta#task` | `meta` | `enabled` (BOOL) |
//! | org usage (R32) | `meta#org` | `meta` | `doc` (JSON of `OrgUsage`) |
//! | document (SKUs, manual licenses, users, history: `licenses::docs`) | `doc#<collection>` | `<key>` | `doc` (JSON) |
//!
//! A collection is one partition, read with a paged Query (`sk BETWEEN`), so a license's
//! history for a date range reads only those points. [`LicenseStore::all`] scans with a filter
//! on `sk` (captured / manual), leaving documents out of its answer.
//! The two parts of a license are separate items, so an ingest (captured) and an admin
//! (manual) never overwrite each other (R27). The R28 default effective date is an `UpdateItem`
//! conditional on `attribute_not_exists(effective_date)`.

use super::{enum_name, n, opt_n, opt_s, put_opt, req_s, s, time_key, Item};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use chrono::NaiveDate;
use engine::ports::StoreError;
use licenses::{
    Amount, CapturedLicense, LicenseRecord, LicenseStore, ManualFields, OrgUsage, PaymentFrequency,
};
use std::collections::BTreeMap;

const CAPTURED: &str = "captured";
const MANUAL: &str = "manual";
const META: &str = "meta";
const TASK_PK: &str = "meta#task";
const ORG_PK: &str = "meta#org";
const DOC_PREFIX: &str = "doc#";

/// The license table.
#[derive(Debug, Clone)]
pub struct DynamoLicenseStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn key(pk: &str, sk: &str) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn doc_of<T: serde::de::DeserializeOwned>(item: &Item, k: &str) -> Result<T, StoreError> {
    let doc = req_s(item, "doc", k)?;
    serde_json::from_str(&doc).map_err(|e| {
        super::corrupt(
            k,
            format!(
                "doc is not a valid record (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

fn captured_to_item(c: &CapturedLicense) -> Result<Item, StoreError> {
    let doc = serde_json::to_string(c).map_err(|e| super::corrupt(&c.id, e.to_string()))?;
    let mut item = key(&c.id, CAPTURED);
    item.extend([
        ("doc".to_owned(), s(doc)),
        ("kind".to_owned(), s(enum_name(&c.kind))),
        ("name".to_owned(), s(&c.name)),
        ("active".to_owned(), AttributeValue::Bool(c.active)),
    ]);
    Ok(item)
}

fn manual_to_item(id: &str, m: &ManualFields) -> Item {
    let mut item = key(id, MANUAL);
    put_opt(&mut item, "name", m.name.as_ref().map(s));
    put_opt(&mut item, "allowed", m.allowed.map(n));
    put_opt(&mut item, "amount", m.amount.map(|a| s(a.to_string())));
    put_opt(&mut item, "currency", m.currency.as_ref().map(s));
    put_opt(
        &mut item,
        "effective_date",
        m.effective_date.map(|d| s(d.to_string())),
    );
    put_opt(
        &mut item,
        "ending_date",
        m.ending_date.map(|d| s(d.to_string())),
    );
    put_opt(
        &mut item,
        "payment_frequency",
        m.payment_frequency.as_ref().map(|f| s(enum_name(f))),
    );
    put_opt(
        &mut item,
        "updated",
        m.updated.as_ref().map(|t| s(time_key(t))),
    );
    item
}

fn item_to_manual(item: &Item, id: &str) -> Result<ManualFields, StoreError> {
    let k = format!("license {id} manual");
    let k = k.as_str();
    let date = |name: &str| -> Result<Option<NaiveDate>, StoreError> {
        opt_s(item, name, k)?
            .map(|v| {
                NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|_| super::corrupt(k, format!("attribute {name} is not a date")))
            })
            .transpose()
    };
    let amount = opt_s(item, "amount", k)?
        .map(|v| Amount::parse(&v).map_err(|e| super::corrupt(k, format!("attribute amount: {e}"))))
        .transpose()?;
    let payment_frequency: Option<PaymentFrequency> =
        super::opt_enum_from_name(item, "payment_frequency", k)?;
    let updated = super::opt_time(item, "updated", k)?;
    Ok(ManualFields {
        name: opt_s(item, "name", k)?,
        allowed: opt_n(item, "allowed", k)?,
        amount,
        currency: opt_s(item, "currency", k)?,
        effective_date: date("effective_date")?,
        ending_date: date("ending_date")?,
        payment_frequency,
        updated,
    })
}

impl DynamoLicenseStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoLicenseStore {
            client,
            table: table.into(),
        }
    }

    async fn get_item(&self, key: Item, what: &str) -> Result<Option<Item>, StoreError> {
        super::get_item(&self.client, &self.table, key, what).await
    }

    async fn put_item(&self, item: Item, what: &str) -> Result<(), StoreError> {
        super::put_item(&self.client, &self.table, item, what).await
    }
}

#[async_trait]
impl LicenseStore for DynamoLicenseStore {
    async fn all(&self) -> Result<Vec<LicenseRecord>, StoreError> {
        // The table holds one org's licenses (tens of items): a consistent scan, every page.
        let mut captured: BTreeMap<String, CapturedLicense> = BTreeMap::new();
        let mut manual: BTreeMap<String, ManualFields> = BTreeMap::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("sk IN (:c, :m)")
                .expression_attribute_values(":c", s(CAPTURED))
                .expression_attribute_values(":m", s(MANUAL))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::backend("dynamodb Scan licenses", e))?;
            for item in out.items.unwrap_or_default() {
                let pk = req_s(&item, "pk", "license item")?;
                match req_s(&item, "sk", &pk)?.as_str() {
                    CAPTURED => {
                        let c: CapturedLicense = doc_of(&item, &format!("license {pk}"))?;
                        captured.insert(pk, c);
                    }
                    MANUAL => {
                        let m = item_to_manual(&item, &pk)?;
                        manual.insert(pk, m);
                    }
                    _ => {} // meta items
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(captured
            .into_iter()
            .map(|(id, c)| LicenseRecord {
                manual: manual.remove(&id).unwrap_or_default(),
                captured: c,
            })
            .collect())
    }

    async fn get(&self, id: &str) -> Result<Option<LicenseRecord>, StoreError> {
        let Some(c) = self.get_item(key(id, CAPTURED), "license").await? else {
            return Ok(None);
        };
        let manual = match self.get_item(key(id, MANUAL), "license manual").await? {
            Some(m) => item_to_manual(&m, id)?,
            None => ManualFields::default(),
        };
        Ok(Some(LicenseRecord {
            captured: doc_of(&c, &format!("license {id}"))?,
            manual,
        }))
    }

    async fn put_captured(&self, records: &[CapturedLicense]) -> Result<(), StoreError> {
        for r in records {
            self.put_item(captured_to_item(r)?, "captured license")
                .await?;
        }
        Ok(())
    }

    async fn default_effective_date(&self, id: &str, date: NaiveDate) -> Result<(), StoreError> {
        // R28 without overwriting (R27): only where no effective date is set.
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id, MANUAL)))
            .update_expression("SET #d = :d")
            .condition_expression("attribute_not_exists(#d)")
            .expression_attribute_names("#d", "effective_date")
            .expression_attribute_values(":d", s(date.to_string()))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::backend("dynamodb UpdateItem effective date", e)),
        }
    }

    async fn put_manual(&self, id: &str, manual: &ManualFields) -> Result<(), StoreError> {
        self.put_item(manual_to_item(id, manual), "license manual")
            .await
    }

    async fn task_enabled(&self) -> Result<bool, StoreError> {
        match self
            .get_item(key(TASK_PK, META), "license task flag")
            .await?
        {
            None => Ok(true), // R29: enabled by default
            Some(item) => match item.get("enabled") {
                Some(AttributeValue::Bool(b)) => Ok(*b),
                _ => Err(super::corrupt(
                    "license task flag",
                    "attribute enabled is missing or not a boolean",
                )),
            },
        }
    }

    async fn set_task_enabled(&self, enabled: bool) -> Result<(), StoreError> {
        let mut item = key(TASK_PK, META);
        item.insert("enabled".into(), AttributeValue::Bool(enabled));
        self.put_item(item, "license task flag").await
    }

    async fn org_usage(&self) -> Result<Option<OrgUsage>, StoreError> {
        self.get_item(key(ORG_PK, META), "org usage")
            .await?
            .map(|item| doc_of(&item, "org usage"))
            .transpose()
    }

    async fn put_org_usage(&self, usage: &OrgUsage) -> Result<(), StoreError> {
        let doc =
            serde_json::to_string(usage).map_err(|e| super::corrupt("org usage", e.to_string()))?;
        let mut item = key(ORG_PK, META);
        item.insert("doc".into(), s(doc));
        self.put_item(item, "org usage").await
    }

    async fn docs_put(&self, coll: &str, docs: &[(String, String)]) -> Result<(), StoreError> {
        let pk = format!("{DOC_PREFIX}{coll}");
        let writes = docs.iter().map(|(k, body)| {
            let mut item = key(&pk, k);
            item.insert("doc".into(), s(body));
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|p| WriteRequest::builder().put_request(p).build())
        });
        let writes = writes
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::backend("dynamodb PutRequest document", e))?;
        super::batch_write(&self.client, &self.table, writes, "documents").await
    }

    async fn docs_range(
        &self,
        coll: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let pk = format!("{DOC_PREFIX}{coll}");
        let (cond, bounds) = match (from, to) {
            (Some(f), Some(t)) => (
                "pk = :p AND sk BETWEEN :f AND :t",
                vec![(":f", f), (":t", t)],
            ),
            (Some(f), None) => ("pk = :p AND sk >= :f", vec![(":f", f)]),
            (None, Some(t)) => ("pk = :p AND sk <= :t", vec![(":t", t)]),
            (None, None) => ("pk = :p", vec![]),
        };
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression(cond)
                .expression_attribute_values(":p", s(&pk))
                .set_exclusive_start_key(start.take());
            for (name, v) in &bounds {
                q = q.expression_attribute_values(*name, s(*v));
            }
            let page = q
                .send()
                .await
                .map_err(|e| StoreError::backend("dynamodb Query documents", e))?;
            for item in page.items.unwrap_or_default() {
                let k = req_s(&item, "sk", &pk)?;
                let body = req_s(&item, "doc", &format!("{pk}/{k}"))?;
                out.push((k, body));
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        if from.is_some_and(|f| to.is_some_and(|t| f > t)) {
            out.clear(); // BETWEEN with crossed bounds is a ValidationException elsewhere
        }
        Ok(out)
    }

    async fn docs_delete(&self, coll: &str, keys: &[String]) -> Result<(), StoreError> {
        let pk = format!("{DOC_PREFIX}{coll}");
        let writes = keys.iter().map(|k| {
            DeleteRequest::builder()
                .set_key(Some(key(&pk, k)))
                .build()
                .map(|d| WriteRequest::builder().delete_request(d).build())
        });
        let writes = writes
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::backend("dynamodb DeleteRequest document", e))?;
        super::batch_write(&self.client, &self.table, writes, "documents").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_fields_round_trip_through_attributes() {
        let m = ManualFields {
            name: Some("local".into()),
            allowed: Some(7),
            amount: Some(Amount::parse("1200.50").unwrap()),
            currency: Some("EUR".into()),
            effective_date: Some("2026-01-01".parse().unwrap()),
            ending_date: Some("2026-12-31".parse().unwrap()),
            payment_frequency: Some(PaymentFrequency::SemiAnnual),
            updated: Some("2026-11-27T10:00:00.123Z".parse().unwrap()),
        };
        let item = manual_to_item("X", &m);
        assert_eq!(item.get("payment_frequency"), Some(&s("semi_annual")));
        assert_eq!(item.get("amount"), Some(&s("1200.50")));
        assert_eq!(item_to_manual(&item, "X").unwrap(), m);
        let empty = manual_to_item("X", &ManualFields::default());
        assert_eq!(empty.len(), 2, "only the key when nothing is set");
        assert_eq!(
            item_to_manual(&empty, "X").unwrap(),
            ManualFields::default()
        );
    }

    #[test]
    fn a_corrupt_manual_item_names_license_and_attribute() {
        let mut item = manual_to_item("X", &ManualFields::default());
        item.insert("effective_date".into(), s("27.11.2026"));
        let e = item_to_manual(&item, "X").unwrap_err().to_string();
        assert!(
            e.contains("license X") && e.contains("effective_date"),
            "{e}"
        );
    }
}
