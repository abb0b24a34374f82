//! License-information ingestion (R26–R32), one test binary: the fixture story (`fixtures`)
//! and the Salesforce client against sim-salesforce (`sim`).

mod fixtures;
mod sim;
