//! The line-item and channel-partner elements behind the guide's unmapped default rows
//! (`licenseModel`, `FNPTimeZoneValue`, `versionDate`/`versionDateAttributes`, a channel
//! partner's `contact` and `currentOwner`): accepted in schema order, checked, stored, shown in
//! the state and read back.

use serde_json::Value;
use sim_flexnet::{FlexnetSim, RunningSim, SimOptions};

const EOS: &str = "/flexnet/services/v4/EntitlementOrderService";
const ACME: &str = "001XX000003DHP0";

async fn sim() -> RunningSim {
    let mut fx: Value =
        serde_json::from_str(include_str!("../fixtures/small.json")).expect("fixture JSON");
    fx["flexnet"]["products"][0]["licenseModels"] = serde_json::json!(["Embedded Uncounted"]);
    fx["flexnet"]["accounts"]
        .as_array_mut()
        .expect("accounts")
        .push(serde_json::json!({"id": "001OTHER", "name": "Other", "accountType": "CHANNEL_PARTNER"}));
    fx["flexnet"]["users"].as_array_mut().expect("users").push(
        serde_json::json!({"firstName": "Bob", "lastName": "Other",
            "emailAddress": "bob@other.example", "userName": "bob@other.example", "canLogin": true,
            "accountRoles": [{"accountId": "001OTHER", "roles": ["Portal Admin User"]}]}),
    );
    FlexnetSim::start(&fx, SimOptions::default())
        .await
        .expect("sim starts")
}

async fn post(sim: &RunningSim, body: &str) -> (u16, String) {
    let env = format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:urn=\"urn:v4.webservices.operations.flexnet.com\"><soapenv:Header/><soapenv:Body>\
         {body}</soapenv:Body></soapenv:Envelope>"
    );
    let resp = reqwest::Client::new()
        .post(format!("{}{EOS}", sim.base_url()))
        .basic_auth("ws-integration", Some("s3cret-Pa55"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(env)
        .send()
        .await
        .expect("sim answers");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// A createSimpleEntitlementRequest for `id` with one line item made of `line` (the elements
/// after partNumber and before numberOfCopies) and `after` (after expirationDate), and
/// `partners` after the line items.
fn create(id: &str, line: &str, after: &str, partners: &str) -> String {
    format!(
        "<urn:createSimpleEntitlementRequest><urn:simpleEntitlement>\
         <urn:entitlementId><urn:id>{id}</urn:id><urn:autoGenerate>false</urn:autoGenerate></urn:entitlementId>\
         <urn:soldTo>{ACME}</urn:soldTo>\
         <urn:lineItems><urn:activationId><urn:autoGenerate>true</urn:autoGenerate></urn:activationId>\
         <urn:partNumber><urn:primaryKeys><urn:partId>AM_SF01</urn:partId></urn:primaryKeys></urn:partNumber>\
         {line}<urn:orderId>{id}</urn:orderId><urn:numberOfCopies>5</urn:numberOfCopies>\
         <urn:isPermanent>true</urn:isPermanent>{after}</urn:lineItems>{partners}\
         </urn:simpleEntitlement></urn:createSimpleEntitlementRequest>"
    )
}

const LINE: &str = "<urn:licenseModel><urn:primaryKeys><urn:name>Embedded Uncounted</urn:name>\
     </urn:primaryKeys></urn:licenseModel><urn:FNPTimeZoneValue>Europe/Berlin</urn:FNPTimeZoneValue>";
const VERSION: &str = "<urn:versionDate>2026-03-01</urn:versionDate><urn:versionDateAttributes>\
     <urn:versionOption>DEFINE_NOW</urn:versionOption></urn:versionDateAttributes>";
const OWNER: &str = "<urn:channelPartners><urn:channelPartner>\
     <urn:tierName>bo.constants.partnertiernames.endcustomer</urn:tierName>\
     <urn:accountUnit><urn:primaryKeys><urn:id>001XX000003DHP0</urn:id></urn:primaryKeys></urn:accountUnit>\
     <urn:contact><urn:userName>ada@acme.example</urn:userName></urn:contact>\
     <urn:currentOwner>true</urn:currentOwner></urn:channelPartner></urn:channelPartners>";

fn entitlement(sim: &RunningSim, id: &str) -> Option<Value> {
    sim.state()["entitlements"]
        .as_array()?
        .iter()
        .find(|e| e["entitlementId"] == id)
        .cloned()
}

#[tokio::test]
async fn accepted_in_schema_order_stored_and_shown_in_the_state() {
    let sim = sim().await;
    let (status, body) = post(&sim, &create("ENT-OWN", LINE, VERSION, OWNER)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("SUCCESS"), "{body}");
    let e = entitlement(&sim, "ENT-OWN").expect("stored");
    let l = &e["lineItems"][0];
    assert_eq!(l["licenseModel"], "Embedded Uncounted");
    assert_eq!(l["FNPTimeZoneValue"], "Europe/Berlin");
    assert_eq!(l["versionDate"], "2026-03-01");
    assert_eq!(l["versionOption"], "DEFINE_NOW");
    let cp = &e["channelPartners"][0];
    assert_eq!(cp["accountId"], ACME);
    assert_eq!(cp["contact"], "ada@acme.example");
    assert_eq!(cp["currentOwner"], true);

    // read back (the simulator checks its own responses against the WSDL in debug builds)
    let (_, found) = post(
        &sim,
        "<urn:searchEntitlementRequest><urn:entitlementSearchCriteria><urn:entitlementId>\
         <urn:value>ENT-OWN</urn:value><urn:searchType>EQUALS</urn:searchType></urn:entitlementId>\
         </urn:entitlementSearchCriteria><urn:batchSize>10</urn:batchSize></urn:searchEntitlementRequest>",
    )
    .await;
    for part in [
        "Embedded Uncounted",
        "Europe/Berlin",
        "2026-03-01",
        "DEFINE_NOW",
        "ada@acme.example",
        "currentOwner>true",
    ] {
        assert!(found.contains(part), "{part} in {found}");
    }
    let (_, props) = post(
        &sim,
        "<urn:searchEntitlementLineItemPropertiesRequest><urn:queryParams><urn:entitlementId>\
         <urn:value>ENT-OWN</urn:value><urn:searchType>EQUALS</urn:searchType></urn:entitlementId>\
         </urn:queryParams><urn:entitlementLineItemResponseConfig><urn:licenseModel>true</urn:licenseModel>\
         <urn:versionDate>true</urn:versionDate><urn:versionDateAttributes>true</urn:versionDateAttributes>\
         <urn:FNPTimeZoneValue>true</urn:FNPTimeZoneValue></urn:entitlementLineItemResponseConfig>\
         <urn:batchSize>10</urn:batchSize></urn:searchEntitlementLineItemPropertiesRequest>",
    )
    .await;
    for part in [
        "Embedded Uncounted",
        "Europe/Berlin",
        "2026-03-01",
        "DEFINE_NOW",
    ] {
        assert!(props.contains(part), "{part} in {props}");
    }
}

#[tokio::test]
async fn out_of_schema_order_is_refused() {
    let sim = sim().await;
    // FNPTimeZoneValue before licenseModel
    let swapped = "<urn:FNPTimeZoneValue>Europe/Berlin</urn:FNPTimeZoneValue><urn:licenseModel>\
         <urn:primaryKeys><urn:name>Embedded Uncounted</urn:name></urn:primaryKeys></urn:licenseModel>";
    let (status, body) = post(&sim, &create("ENT-X1", swapped, "", "")).await;
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("out of order"), "{body}");
    // versionDate after versionDateAttributes
    let swapped = "<urn:versionDateAttributes><urn:versionOption>DEFINE_NOW</urn:versionOption>\
         </urn:versionDateAttributes><urn:versionDate>2026-03-01</urn:versionDate>";
    let (status, body) = post(&sim, &create("ENT-X2", "", swapped, "")).await;
    assert_ne!(status, 200, "{body}");
    // not a date
    let bad = "<urn:versionDate>01/03/2026</urn:versionDate>";
    let (status, body) = post(&sim, &create("ENT-X3", "", bad, "")).await;
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("xsd:date"), "{body}");
    assert!(entitlement(&sim, "ENT-X1").is_none());
    assert!(entitlement(&sim, "ENT-X2").is_none());
    assert!(entitlement(&sim, "ENT-X3").is_none());
}

#[tokio::test]
async fn values_fno_would_refuse_fail_the_entitlement_with_a_reason() {
    let sim = sim().await;
    let cases = [
        (
            create(
                "ENT-LM",
                "<urn:licenseModel><urn:primaryKeys><urn:name>Nodelocked</urn:name>\
                 </urn:primaryKeys></urn:licenseModel>",
                "",
                "",
            ),
            "is not a license model of product",
        ),
        (
            create(
                "ENT-VO",
                "",
                "<urn:versionDateAttributes><urn:versionOption>DEFINE_NOW</urn:versionOption>\
                 </urn:versionDateAttributes>",
                "",
            ),
            "needs a versionDate",
        ),
        (
            create(
                "ENT-VD",
                "",
                "<urn:versionDate>2026-03-01</urn:versionDate><urn:versionDateAttributes>\
                 <urn:versionOption>USE_START_DATE</urn:versionOption></urn:versionDateAttributes>",
                "",
            ),
            "only given with versionOption DEFINE_NOW",
        ),
        (
            create("ENT-NU", "", "", &OWNER.replace("ada@", "nobody@")),
            "nobody@acme.example&apos; does not exist",
        ),
        (
            create("ENT-NA", "", "", &OWNER.replace("ada@acme", "bob@other")),
            "is not a user of account",
        ),
        (
            create(
                "ENT-2O",
                "",
                "",
                &OWNER.replace(
                    "</urn:channelPartners>",
                    "<urn:channelPartner><urn:tierName>bo.constants.partnertiernames.tier1</urn:tierName>\
                     <urn:accountUnit><urn:primaryKeys><urn:id>001OTHER</urn:id></urn:primaryKeys></urn:accountUnit>\
                     <urn:currentOwner>true</urn:currentOwner></urn:channelPartner></urn:channelPartners>",
                ),
            ),
            "Only one channel partner can be the current owner",
        ),
    ];
    for (req, reason) in cases {
        let (status, body) = post(&sim, &req).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("FAILURE"), "{body}");
        assert!(body.contains(reason), "{reason} in {body}");
    }
    assert_eq!(sim.tenant().entitlements.len(), 1, "only the fixture's");
}
