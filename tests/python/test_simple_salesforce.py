"""A Salesforce client nobody here wrote (simple-salesforce 1.12.10) against the org simulator
over HTTPS: login (client-credentials token POST), query_all with paging through
nextRecordsUrl, record updates (single PATCH and sObject Collections), describe, limits,
and the simulator's /__sim/state shows what was written.

simple-salesforce always builds https://<instance>/services/data/vXX.X/... URLs, so the
simulator runs with --tls and writes its CA certificate with --cert-out; the requests session
trusts that file.

Run: SIM_SALESFORCE_BIN=target/debug/sim-salesforce pytest tests/python/test_simple_salesforce.py
"""

import json
import os
import pathlib
import re
import subprocess

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIM_BIN = os.environ.get("SIM_SALESFORCE_BIN", str(ROOT / "target" / "debug" / "sim-salesforce"))
CLIENT_ID = "ss-client"
CLIENT_SECRET = "ss-Secret-value"
N_ACCOUNTS = 450


def account(i):
    return {
        "attributes": {"type": "Account"},
        "Id": f"001Dm{i:010d}",
        "Name": f"Account {i:04d}",
        "FNO_Account_Type__c": "End User" if i % 2 else "Channel Partner",
        "FNO_Account_ID__c": None,
        "SystemModstamp": "2026-05-04T09:00:00.000+0000",
    }


FIXTURE = {
    "now": "2026-11-20T09:00:00Z",
    "salesforce": {
        "credentials": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                        "username": "integration@flexbridge.example"},
        "Account": [account(i) for i in range(N_ACCOUNTS)],
        "Opportunity": [
            {"Id": "006Dm0000000001IAA", "AccountId": "001Dm0000000001", "Name": "Deal 1",
             "StageName": "Closed Won", "CloseDate": "2026-09-19",
             "SystemModstamp": "2026-09-21T09:00:00.000+0000", "FNO_Entitlement_ID__c": None},
        ],
        "OpportunityLineItem": [
            {"Id": "00kDm0000000001IAA", "OpportunityId": "006Dm0000000001IAA", "Quantity": 5.0,
             "ProductCode": "FA-PRO-100", "FNO_Activation_ID__c": None,
             "FNO_Remaining_Quantity__c": None},
        ],
    },
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("sf")
    fixture = d / "fixture.json"
    fixture.write_text(json.dumps(FIXTURE))
    cert = d / "sim-ca.pem"
    proc = subprocess.Popen(
        [SIM_BIN, "--fixture", str(fixture), "--port", "0", "--tls", "--cert-out", str(cert)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.search(r"(https://127\.0\.0\.1:\d+)", line)
        assert m, f"simulator did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield {"base": m.group(1), "cert": str(cert)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def login(sim):
    r = requests.post(
        f"{sim['base']}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET},
        verify=sim["cert"],
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def sf(sim):
    tok = login(sim)
    assert tok["instance_url"] == sim["base"]
    session = requests.Session()
    # REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment would override session.verify
    session.trust_env = False
    session.verify = sim["cert"]
    return Salesforce(instance_url=tok["instance_url"], session_id=tok["access_token"],
                      version="62.0", session=session)


def sim_state(sim):
    return requests.get(f"{sim['base']}/__sim/state", verify=sim["cert"], timeout=10).json()


def sim_calls(sim):
    return requests.get(f"{sim['base']}/__sim/calls", verify=sim["cert"], timeout=10).json()


def test_token_response_shape(sim):
    tok = login(sim)
    assert tok["token_type"] == "Bearer"
    assert tok["access_token"].startswith("00D")
    assert re.fullmatch(r"\d{13}", tok["issued_at"])
    r = requests.post(f"{sim['base']}/services/oauth2/token",
                      data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                            "client_secret": "wrong"}, verify=sim["cert"], timeout=10)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def test_query_all_pages_through_next_records_url(sim, sf):
    before = sim_calls(sim)["byEndpoint"].get("queryAll", 0)
    res = sf.query_all("SELECT Id, Name, FNO_Account_Type__c FROM Account ORDER BY Name",
                       include_deleted=True, headers={"Sforce-Query-Options": "batchSize=200"})
    assert res["totalSize"] == N_ACCOUNTS
    assert res["done"] is True
    names = [r["Name"] for r in res["records"]]
    assert names == sorted(names) and len(set(names)) == N_ACCOUNTS
    assert res["records"][0]["attributes"]["type"] == "Account"
    after = sim_calls(sim)["byEndpoint"]["queryAll"]
    assert after - before == 3, "450 records at batchSize=200 take three pages"

    # the first page alone says there is more
    first = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/")
    more = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert more["totalSize"] == N_ACCOUNTS and len(more["records"]) == 200


def test_parent_fields_and_child_subquery(sf):
    res = sf.query(
        "SELECT Name, Account.Name, (SELECT Quantity FROM OpportunityLineItems) FROM Opportunity")
    rec = res["records"][0]
    assert rec["Account"]["Name"] == "Account 0001"
    assert rec["OpportunityLineItems"]["records"][0]["Quantity"] == 5.0


def test_update_record_and_collection_then_state(sim, sf):
    status = sf.Opportunity.update("006Dm0000000001IAA", {"FNO_Entitlement_ID__c": "ENT-SS-1"})
    assert status == 204
    res = sf.restful("composite/sobjects", method="PATCH", data=json.dumps({
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "OpportunityLineItem"}, "id": "00kDm0000000001IAA",
             "FNO_Activation_ID__c": "ACT-1", "FNO_Remaining_Quantity__c": 5},
            {"attributes": {"type": "Account"}, "id": "001Dm0000000002IAA", "Bogus__c": 1},
        ],
    }))
    assert res[0] == {"id": "00kDm0000000001IAA", "success": True, "errors": []}
    assert res[1]["success"] is False and res[1]["errors"][0]["statusCode"] == "INVALID_FIELD"

    state = sim_state(sim)["salesforce"]
    opp = next(o for o in state["Opportunity"] if o["Id"] == "006Dm0000000001IAA")
    assert opp["FNO_Entitlement_ID__c"] == "ENT-SS-1"
    assert opp["SystemModstamp"] > "2026-09-21T09:00:00.000+0000"
    oli = state["OpportunityLineItem"][0]
    assert (oli["FNO_Activation_ID__c"], oli["FNO_Remaining_Quantity__c"]) == ("ACT-1", 5)
    assert state["credentials"]["clientSecret"] == "[redacted]"
    assert CLIENT_SECRET not in json.dumps(state)


def test_errors_describe_and_limits(sf):
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.query("SELECT Nope__c FROM Account")
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD"
    d = sf.Opportunity.describe()
    fields = {f["name"]: f for f in d["fields"]}
    assert [p["value"] for p in fields["FNO_Entitlement_State__c"]["picklistValues"]] == ["Draft", "Deployed"]
    assert fields["IsWon"]["updateable"] is False
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert sf.api_usage["api-usage"].used > 0
