//! Figures of a full scheduled sync: wall time, Salesforce API calls (total and per account),
//! FNO calls, log entries — for the demo org copied 1, 4 and 16 times (25, 100, 400 accounts).
//! `cargo bench -p flexbridge` (or `-- 1 2` for other copy counts). Prints numbers; asserts
//! nothing about speed.

use flexbridge::{Stack, StackOptions};
use serde_json::Value;
use std::time::Instant;

/// The demo org `copies` times: copy k rewrites every Salesforce id `xxxDm0000nnnnnnSSS` to
/// `xxxDm{k:04}nnnnnnSSS` (digits do not change the 18-character checksum), consistently across
/// references; the FNO tenant is shared.
fn scaled(copies: usize) -> Value {
    let base: Value = serde_json::from_str(flexbridge::stack::DEMO_FIXTURE).expect("demo fixture");
    let sf_text = serde_json::to_string(&base["salesforce"]).unwrap();
    let mut merged = serde_json::Map::new();
    for k in 0..copies {
        let text = if k == 0 {
            sf_text.clone()
        } else {
            sf_text.replace("Dm0000", &format!("Dm{k:04}"))
        };
        let copy: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        for (sobject, records) in copy {
            match (merged.get_mut(&sobject), records) {
                (Some(Value::Array(all)), Value::Array(recs)) => all.extend(recs),
                (None, v) => {
                    merged.insert(sobject, v);
                }
                _ => {}
            }
        }
    }
    let mut out = base.clone();
    out["salesforce"] = Value::Object(merged);
    out
}

#[tokio::main]
async fn main() {
    let copies: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let copies = if copies.is_empty() {
        vec![1, 4, 16]
    } else {
        copies
    };
    println!(
        "accounts  opportunities  seconds  sf_calls  sf_calls/account  fno_calls  log_entries"
    );
    for k in copies {
        let fx = scaled(k);
        let opps = fx["salesforce"]["Opportunity"]
            .as_array()
            .map_or(0, Vec::len);
        let stack = Stack::start(&fx, StackOptions::default())
            .await
            .expect("stack");
        let engine = stack.engine().expect("engine");
        let t = Instant::now();
        let report = engine.run_scheduled().await.expect("run");
        let secs = t.elapsed().as_secs_f64();
        let accounts = report.accounts.len();
        let entries: usize = report.accounts.iter().map(|a| a.entries.len()).sum();
        println!(
            "{accounts:>8}  {opps:>13}  {secs:>7.2}  {:>8}  {:>16.2}  {:>9}  {entries:>11}",
            engine.salesforce_calls(),
            engine.salesforce_calls() as f64 / accounts.max(1) as f64,
            engine.flexnet_calls(),
        );
        stack.stop();
    }
}
