//! The FNO product catalogue as the engine reads it (getPartNumbersQuery /
//! getProductsQuery): part number → product name, version and state. Used for R5 and R7.

use crate::fno;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One part number's product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub product_name: String,
    pub version: Option<String>,
    pub state: fno::State,
}

/// Part number (exact, case and whitespace included) → product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Catalogue {
    pub parts: BTreeMap<String, CatalogueEntry>,
}

/// Why a ProductCode is not eligible on the FNO side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartProblem {
    /// R5: no FNO product has this part number.
    Unknown,
    /// R7: no exact match, but this part number differs only in case or surrounding
    /// whitespace.
    NearMatch(String),
    /// R5: the product exists but is not DEPLOYED.
    NotDeployed(CatalogueEntry),
}

impl Catalogue {
    pub fn insert(
        &mut self,
        part_number: impl Into<String>,
        product_name: impl Into<String>,
        version: Option<&str>,
        state: fno::State,
    ) {
        self.parts.insert(
            part_number.into(),
            CatalogueEntry {
                product_name: product_name.into(),
                version: version.map(str::to_owned),
                state,
            },
        );
    }

    /// R5 + R7: the product for `part_number` if it matches exactly and is DEPLOYED.
    pub fn check(&self, part_number: &str) -> Result<&CatalogueEntry, PartProblem> {
        match self.parts.get(part_number) {
            Some(e) if e.state == fno::State::Deployed => Ok(e),
            Some(e) => Err(PartProblem::NotDeployed(e.clone())),
            None => {
                let wanted = part_number.trim();
                let near = self
                    .parts
                    .keys()
                    .find(|k| k.trim().eq_ignore_ascii_case(wanted))
                    .cloned();
                Err(near.map_or(PartProblem::Unknown, PartProblem::NearMatch))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r7_exact_match_only_with_near_match_hint() {
        let mut c = Catalogue::default();
        c.insert("AM_SF01", "AM Product", Some("1.0"), fno::State::Deployed);
        assert!(c.check("AM_SF01").is_ok());
        assert_eq!(
            c.check("AM_SF01 "),
            Err(PartProblem::NearMatch("AM_SF01".into()))
        );
        assert_eq!(
            c.check("am_sf01"),
            Err(PartProblem::NearMatch("AM_SF01".into()))
        );
        assert_eq!(c.check("XX"), Err(PartProblem::Unknown));
    }

    #[test]
    fn r5_product_must_be_deployed() {
        let mut c = Catalogue::default();
        c.insert("D1", "Draft product", None, fno::State::Draft);
        assert!(
            matches!(c.check("D1"), Err(PartProblem::NotDeployed(e)) if e.state == fno::State::Draft)
        );
    }
}
