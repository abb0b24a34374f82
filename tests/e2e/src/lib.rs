//! Helpers for the end-to-end tests: fixtures and reading the simulators' state dumps.

use serde_json::Value;
use std::path::PathBuf;

/// `tests/fixtures/<name>` as JSON.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The array at `pointer` (empty when absent).
pub fn list<'a>(v: &'a Value, pointer: &str) -> Vec<&'a Value> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The FNO entitlement with this id in a sim-flexnet state dump.
pub fn entitlement<'a>(fno: &'a Value, id: &str) -> Option<&'a Value> {
    list(fno, "/entitlements")
        .into_iter()
        .find(|e| e["entitlementId"] == id)
}

/// Every FNO line item of the tenant: (entitlement id, line item).
pub fn line_items(fno: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for e in list(fno, "/entitlements") {
        let id = e["entitlementId"].as_str().unwrap_or_default().to_owned();
        for li in list(e, "/lineItems") {
            out.push((id.clone(), li));
        }
    }
    out
}

/// The Salesforce record `id` of `sobject` in a sim-salesforce state dump.
pub fn sf_record<'a>(sf: &'a Value, sobject: &str, id: &str) -> Option<&'a Value> {
    list(sf, &format!("/salesforce/{sobject}"))
        .into_iter()
        .find(|r| r["Id"] == id)
}

/// A copy of `fixture` with `f` applied to record `id` of `sobject`.
pub fn with_record(fixture: &Value, sobject: &str, id: &str, f: impl Fn(&mut Value)) -> Value {
    let mut out = fixture.clone();
    let recs = out
        .pointer_mut(&format!("/salesforce/{sobject}"))
        .and_then(Value::as_array_mut)
        .expect("sobject table");
    let rec = recs
        .iter_mut()
        .find(|r| r["Id"] == id)
        .unwrap_or_else(|| panic!("{sobject} {id} not in fixture"));
    f(rec);
    out
}

/// A stack over `fixture` with fast client retries and no lookback (tests whose runs are
/// minutes apart must not re-read what the run before them wrote back), `config` if given.
pub async fn quiet_stack(fixture: &Value, config: Option<mapping::Config>) -> flexbridge::Stack {
    flexbridge::Stack::start(
        fixture,
        flexbridge::StackOptions {
            client_backoff: Some(std::time::Duration::from_millis(5)),
            settings: Some(engine::EngineSettings {
                lookback_minutes: 0,
                ..Default::default()
            }),
            config,
            ..Default::default()
        },
    )
    .await
    .expect("stack starts")
}

/// Moves the stack's clock (engine and both simulators) forward; returns the new time.
pub fn advance(
    stack: &mut flexbridge::Stack,
    by: chrono::Duration,
) -> chrono::DateTime<chrono::Utc> {
    let t = stack.now.expect("fixture has a now") + by;
    stack.now = Some(t);
    stack.salesforce.set_now(Some(t));
    stack.flexnet.set_now(Some(t));
    t
}

/// The simulated FNO tenant's state.
pub fn tenant(stack: &flexbridge::Stack) -> Value {
    let s = stack.flexnet.state();
    s.get("flexnet").cloned().unwrap_or(s)
}

/// Changes a Salesforce record as a user would: `f` applied, SystemModstamp set to `at`.
pub fn edit_record(
    stack: &flexbridge::Stack,
    sobject: &str,
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
    f: impl FnOnce(&mut Value),
) {
    let mut r = stack
        .salesforce
        .record(sobject, id)
        .unwrap_or_else(|| panic!("{sobject} {id} not in the org"));
    f(&mut r);
    r["SystemModstamp"] = Value::String(at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string());
    stack.salesforce.upsert_record(sobject, r);
}
