//! Salesforce license information (R26–R32): flexbridge's second job.
//!
//! * [`capture`]: raw Salesforce records → observed licenses of four kinds (user, permission
//!   set, package, feature) with usage counted from assignments of active users only (R30),
//!   and the org's sessions and users who can log in (R32). Pure.
//! * [`merge`]: a capture into the stored records, matched by unique id (R31); a license gone
//!   from Salesforce is marked inactive, never deleted; R28 effective-date default. Pure.
//! * [`model`]: the records (captured and manual parts apart, R27), money, annual spend.
//! * [`manual`]: validated admin edits of the manual fields.
//! * [`view`]: what admins see (R29: captured while the task is enabled, manual while
//!   disabled) and [`render_table`].
//! * [`source`]: the SOQL port ([`LicenseSource`]) over the Salesforce client or a fixture.
//! * [`store`]: the [`LicenseStore`] port, in memory and SQLite (`<dir>/licenses.sqlite`).
//! * [`ingest()`]: one run, writing transaction-log entries named [`LOG_NAME`] (R24); it also
//!   stores per-user assignments ([`users`]), a usage point per license and for the org
//!   ([`history`]) and matches manual licenses ([`manual_license`]).
//! * [`ops`]: manual edits (which field on which license), manual licenses, SKUs ([`sku`]), the
//!   Users view, holders, history and the unused-license finder ([`unused`]);
//!   [`manual_file`]: the local runner's `--manual` file. Their documents live in the store's
//!   collections ([`docs`]).
//!
//! ```text
//! let report = licenses::ingest(&source, &store, &log, now, &task_id).await?;
//! let overview = licenses::load_views(&store, now).await?;
//! println!("{}", licenses::render_table(&overview.licenses));
//! ```
pub mod capture;
pub mod docs;
pub mod history;
pub mod ingest;
pub mod manual;
pub mod manual_file;
pub mod manual_license;
pub mod merge;
pub mod model;
pub mod ops;
pub mod sku;
pub mod source;
pub mod store;
pub mod unused;
pub mod users;
pub mod view;

pub use capture::{Capture, Problem, RawOrg};
pub use history::{DateRange, UsagePoint};
pub use ingest::{
    ingest, ingest_with, load_views, read_org, run_record, IngestOptions, IngestReport,
    LicenseOverview, LOG_NAME,
};
pub use manual::{ManualFieldError, MANUAL_FIELDS};
pub use manual_license::{ManualLicense, NewManualLicense};
pub use merge::{Change, ChangeKind};
pub use model::{
    annual_spend, Amount, CapturedLicense, LicenseKind, LicenseRecord, ManualFields, Observed,
    OrgUsage, PaymentFrequency, Spend,
};
pub use ops::set_manual;
pub use sku::{Sku, SkuBody, SkuError};
pub use source::{fixture_now, FixtureError, FixtureSource, LicenseSource, SourceError};
#[cfg(feature = "embedded")]
pub use store::SqliteLicenseStore;
pub use store::{LicenseStore, MemoryLicenseStore};
pub use unused::{render_unused, UnusedReport};
pub use users::LicenseUser;
pub use view::{
    manual_views, render_org, render_table, spend_totals, views, LicenseView, Origin, ViewSource,
};

use engine::ports::StoreError;

/// Errors of the license layer.
#[derive(Debug, thiserror::Error)]
pub enum LicenseError {
    /// R29: no ingest while the task is disabled (re-enabling shows the last captured data).
    #[error("the License Information task is disabled; enable it to ingest (R29)")]
    TaskDisabled,
    #[error("license {0} not found")]
    NotFound(String),
    /// A manual edit was refused (names license, field and rule).
    #[error(transparent)]
    Manual(#[from] ManualFieldError),
    /// A SKU was refused (names SKU, field and rule).
    #[error(transparent)]
    Sku(#[from] SkuError),
    /// Creating something that exists (a manual license's id or key).
    #[error("{0}")]
    Exists(String),
    #[error("the license store failed")]
    Store(#[from] StoreError),
}
