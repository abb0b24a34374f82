//! flexbridge's sync engine: plan, push (Salesforce → FNO), pull (FNO → Salesforce), and the
//! transaction log, written against the ports in [`ports`].
pub mod embedded;
pub mod ports;
