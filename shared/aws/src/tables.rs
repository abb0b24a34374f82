//! The DynamoDB table layouts, declared once. `template.yaml` must declare the same key
//! schemas, indexes and TTL attribute (a test parses the template and compares), and the
//! test helpers create tables from these definitions.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

/// DynamoDB scalar type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    S,
    N,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::S => "S",
            KeyKind::N => "N",
        }
    }
    fn scalar(self) -> ScalarAttributeType {
        match self {
            KeyKind::S => ScalarAttributeType::S,
            KeyKind::N => ScalarAttributeType::N,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: &'static str,
    pub kind: KeyKind,
}

const fn s(name: &'static str) -> KeyAttr {
    KeyAttr {
        name,
        kind: KeyKind::S,
    }
}
const fn n(name: &'static str) -> KeyAttr {
    KeyAttr {
        name,
        kind: KeyKind::N,
    }
}

/// A global secondary index (projection ALL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// Logical id of the `AWS::DynamoDB::Table` resource in template.yaml.
    pub logical_id: &'static str,
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
    pub gsis: &'static [IndexDef],
    pub ttl_attribute: Option<&'static str>,
}

/// Transaction log (R24). "By run": partition `task_id`, sort `log_no` (the numeric part of
/// `TL-00042`). "By status and time": GSI `by-status-time`. "By time": GSI `by-day-time`
/// (partition = UTC day, so writes spread over partitions). Entries expire via `expires_at`.
/// `created_key` = `<created, fixed-width RFC 3339>#<log_no, zero padded>`.
pub const LOG_TABLE: TableDef = TableDef {
    logical_id: "LogTable",
    hash: s("task_id"),
    range: Some(n("log_no")),
    gsis: &[
        IndexDef {
            name: LOG_BY_STATUS_TIME,
            hash: s("status"),
            range: Some(s("created_key")),
        },
        IndexDef {
            name: LOG_BY_DAY_TIME,
            hash: s("day"),
            range: Some(s("created_key")),
        },
    ],
    ttl_attribute: Some("expires_at"),
};
pub const LOG_BY_STATUS_TIME: &str = "by-status-time";
pub const LOG_BY_DAY_TIME: &str = "by-day-time";

/// State: generic `pk`/`sk` items (watermark, runs, sales orders, outstanding items, leases,
/// claims, configuration). Two sparse, overloaded GSIs:
/// - `runs-by-start` (`runs_pk`, `runs_sk`): partition `runs` lists runs newest first,
///   partition `outstanding` lists outstanding items by next attempt;
/// - `by-account` (`acct`, `pk`): the sales orders (`pk` prefix `so#`) and outstanding items
///   (`out#`) of one Salesforce Account.
///
/// CloudFormation adds at most one GSI per stack update, so a release adds one at most (and
/// existing index names never change: a rename is a delete plus a create).
pub const STATE_TABLE: TableDef = TableDef {
    logical_id: "StateTable",
    hash: s("pk"),
    range: Some(s("sk")),
    gsis: &[
        IndexDef {
            name: STATE_RUNS_BY_START,
            hash: s("runs_pk"),
            range: Some(s("runs_sk")),
        },
        IndexDef {
            name: STATE_BY_ACCOUNT,
            hash: s("acct"),
            range: Some(s("pk")),
        },
    ],
    ttl_attribute: None,
};
pub const STATE_RUNS_BY_START: &str = "runs-by-start";
pub const STATE_BY_ACCOUNT: &str = "by-account";

/// License records (R26–R32): `pk` = license unique id, `sk` = part (captured / manual).
pub const LICENSE_TABLE: TableDef = TableDef {
    logical_id: "LicenseTable",
    hash: s("pk"),
    range: Some(s("sk")),
    gsis: &[],
    ttl_attribute: None,
};

pub const ALL_TABLES: [TableDef; 3] = [LOG_TABLE, STATE_TABLE, LICENSE_TABLE];

impl TableDef {
    /// Every attribute that appears in a key of the table or of an index, deduplicated.
    pub fn attribute_definitions(&self) -> Vec<KeyAttr> {
        let mut out: Vec<KeyAttr> = Vec::new();
        let mut add = |a: KeyAttr| {
            if !out.iter().any(|o| o.name == a.name) {
                out.push(a);
            }
        };
        add(self.hash);
        if let Some(r) = self.range {
            add(r);
        }
        for g in self.gsis {
            add(g.hash);
            if let Some(r) = g.range {
                add(r);
            }
        }
        out
    }

    /// Creates the table (PAY_PER_REQUEST) under `name` and turns TTL on, as the template does.
    pub async fn create(
        &self,
        client: &aws_sdk_dynamodb::Client,
        name: &str,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let key = |a: KeyAttr, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(a.name)
                .key_type(t)
                .build()
                .map_err(Box::new)
        };
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest);
        for a in self.attribute_definitions() {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(a.name)
                    .attribute_type(a.kind.scalar())
                    .build()
                    .map_err(Box::new)?,
            );
        }
        req = req.key_schema(key(self.hash, KeyType::Hash)?);
        if let Some(r) = self.range {
            req = req.key_schema(key(r, KeyType::Range)?);
        }
        for g in self.gsis {
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(g.name)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .key_schema(key(g.hash, KeyType::Hash)?);
            if let Some(r) = g.range {
                gsi = gsi.key_schema(key(r, KeyType::Range)?);
            }
            req = req.global_secondary_indexes(gsi.build().map_err(Box::new)?);
        }
        req.send().await?;
        if let Some(attr) = self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(Box::new)?,
                )
                .send()
                .await?;
        }
        Ok(())
    }
}
