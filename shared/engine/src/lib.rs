//! flexbridge's sync engine: plan, push (Salesforce → FNO), pull (FNO → Salesforce), and the
//! transaction log, written against the ports in [`ports`].
pub mod embedded;
pub mod io;
pub mod ports;
pub mod redact;
pub mod soql;
pub mod sync;
pub mod txlog;

pub use sync::*;
