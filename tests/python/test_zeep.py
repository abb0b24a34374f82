"""A WSDL-driven SOAP client nobody here wrote (zeep, strict schema parsing) against the FNO
tenant simulator: zeep loads the three WSDLs the simulator serves, builds every request from
them and parses every response against them, so anything the simulator sends that the real
WSDL does not allow fails here.

Run: SIM_FLEXNET_BIN=target/debug/sim-flexnet pytest tests/python/test_zeep.py
"""

import json
import os
import pathlib
import re
import subprocess
import time

import pytest
import requests
import zeep
import zeep.exceptions
from requests.auth import HTTPBasicAuth
from zeep.transports import Transport

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIM_BIN = os.environ.get("SIM_FLEXNET_BIN", str(ROOT / "target" / "debug" / "sim-flexnet"))
USER = "zeep-ws-user"
PASSWORD = "zeep-Pa55-word"
ACME = "001XX000003DHP0"

FIXTURE = {
    "now": "2026-11-01T09:00:00Z",
    "flexnet": {
        "credentials": {"username": USER, "password": PASSWORD},
        "roles": ["Portal Admin User", "Portal User"],
        "products": [
            {"name": "AM Product", "version": "1.0", "state": "DEPLOYED",
             "partNumbers": ["AM_SF01", "AM_SF02"], "licenseModel": "Embedded Counted"},
            {"name": "Beta Product", "version": "2.0", "state": "DRAFT",
             "partNumbers": ["BETA_01"], "licenseModel": "Embedded Uncounted"},
        ],
        "accounts": [{"id": ACME, "name": "Acme Corp", "accountType": "CUSTOMER"}],
        "users": [],
        "entitlements": [],
        "customAttributes": [],
    },
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    fixture = tmp_path_factory.mktemp("fno") / "fixture.json"
    fixture.write_text(json.dumps(FIXTURE))
    proc = subprocess.Popen(
        [SIM_BIN, "--fixture", str(fixture), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert m, f"simulator did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield m.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def client(base, service, password=PASSWORD):
    session = requests.Session()
    session.auth = HTTPBasicAuth(USER, password)
    settings = zeep.Settings(strict=True, raw_response=False)
    return zeep.Client(
        f"{base}/flexnet/services/{service}?wsdl",
        transport=Transport(session=session, timeout=10, operation_timeout=10),
        settings=settings,
    )


@pytest.fixture(scope="module")
def uah(sim):
    return client(sim, "v3/UserAcctHierarchyService")


@pytest.fixture(scope="module")
def eos(sim):
    return client(sim, "v4/EntitlementOrderService")


@pytest.fixture(scope="module")
def pps(sim):
    return client(sim, "v2/ProductPackagingService")


def test_wsdls_point_zeep_at_the_simulator(sim, uah, eos, pps):
    for c, path in ((uah, "v3/UserAcctHierarchyService"), (eos, "v4/EntitlementOrderService"),
                    (pps, "v2/ProductPackagingService")):
        port = next(iter(next(iter(c.wsdl.services.values())).ports.values()))
        assert port.binding_options["address"] == f"{sim}/flexnet/services/{path}"


def test_create_account_and_duplicate_fails_per_item(uah):
    r = uah.service.createAccount(
        account=[
            {"id": "001ZEEP", "name": "Zeep Co", "address": {"city": "Austin", "country": "US"},
             "visible": True, "accountType": "CUSTOMER"},
            {"id": ACME, "name": "Duplicate"},
        ]
    )
    assert r.statusInfo.status == "PARTIAL_FAILURE"
    assert r.responseData.account[0].primaryKeys.id == "001ZEEP"
    assert r.responseData.account[0].uniqueId.startswith("HID-")
    failed = r.failedData.failedAcct[0]
    assert failed.account.id == ACME
    assert "already exists" in failed.reason

    q = uah.service.getAccountsQuery(
        queryParams={"accountID": {"value": "001ZEEP", "searchType": "EQUALS"}},
        pageNumber=1, batchSize=10)
    assert q.statusInfo.status == "SUCCESS"
    assert [a.name for a in q.responseData.acctData] == ["Zeep Co"]
    assert q.responseData.acctData[0].address.city == "Austin"


def test_create_user_r11_unknown_role_fails(uah):
    def user(email, role):
        return {
            "firstName": "Grace", "lastName": "Hopper", "emailAddress": email,
            "canLogin": True, "userName": email, "status": "Active",
            "acctRolesList": {"acctRoles": [{
                "account": {"primaryKeys": {"id": ACME}},
                "roles": {"role": [{"primaryKeys": {"name": role}}]},
            }]},
        }

    r = uah.service.createUser(user=[user("grace@zeep.example", "Portal Admin User"),
                                     user("linus@zeep.example", "No Such Role")])
    assert r.statusInfo.status == "PARTIAL_FAILURE"
    assert r.responseData.user[0].userName == "grace@zeep.example"
    assert r.responseData.user[0].primaryKeys.emailAddress == "grace@zeep.example"
    assert "No Such Role" in r.failedData.failedUser[0].reason

    q = uah.service.getUsersQuery(
        queryParams={"emailAddress": {"value": "grace@zeep.example", "searchType": "EQUALS"}},
        pageNumber=1, batchSize=10)
    u = q.responseData.user[0]
    assert u.accountRolesList.acctRoles[0].roles.roleName == ["Portal Admin User"]


def test_entitlement_lifecycle(eos):
    r = eos.service.createSimpleEntitlement(
        simpleEntitlement=[{
            "entitlementId": {"id": "006ZEEP", "autoGenerate": False},
            "soldTo": ACME,
            "lineItems": [{
                "activationId": {"autoGenerate": True},
                "partNumber": {"primaryKeys": {"partId": "AM_SF01"}},
                "orderId": "006ZEEP",
                "orderLineNumber": "00kZEEP1",
                "numberOfCopies": 5,
                "startDate": "2026-11-01",
                "isPermanent": True,
            }],
        }],
        opType="CREATE_OR_UPDATE",
    )
    assert r.statusInfo.status == "SUCCESS"
    created = r.responseData.createdSimpleEntitlement[0]
    assert created.entitlementId == "006ZEEP"
    assert created.recordRefNo == "1"
    activation_id = created.lineItemIdentifiers[0].primaryKeys.activationId
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", activation_id)

    bad = eos.service.createSimpleEntitlement(simpleEntitlement=[{
        "entitlementId": {"id": "006BETA", "autoGenerate": False},
        "soldTo": ACME,
        "lineItems": [{"activationId": {"autoGenerate": True},
                       "partNumber": {"primaryKeys": {"partId": "BETA_01"}},
                       "numberOfCopies": 1}],
    }])
    assert bad.statusInfo.status == "FAILURE"
    assert "not deployed" in bad.failedData.failedSimpleEntitlement[0].reason
    assert bad.failedData.failedSimpleEntitlement[0].simpleEntitlement.entitlementId.id == "006BETA"

    s = eos.service.setEntitlementState(entitlement=[{
        "entitlementIdentifier": {"primaryKeys": {"entitlementId": "006ZEEP"}},
        "stateToSet": "DEPLOYED",
    }])
    assert s.statusInfo.status == "SUCCESS"

    q = eos.service.getEntitlementsQuery(
        entitlementSearchCriteria={"entitlementId": {"value": "006ZEEP", "searchType": "EQUALS"}},
        batchSize=10, pageNumber=1)
    assert q.statusInfo.status == "SUCCESS"
    ent = q.entitlement[0].simpleEntitlement
    assert ent.state == "DEPLOYED"
    assert ent.soldTo == ACME
    assert ent.lineItems[0].activationId.id == activation_id
    assert ent.lineItems[0].numberOfRemainingCopies == 5
    assert ent.lineItems[0].state == "DEPLOYED"

    p = eos.service.getEntitlementLineItemPropertiesQuery(
        queryParams={"entitlementId": {"value": "006ZEEP", "searchType": "EQUALS"}},
        entitlementLineItemResponseConfig={
            "activationId": True, "state": True, "orderId": True, "orderLineNumber": True,
            "entitlementId": True, "soldTo": True, "partNumber": True, "numberOfCopies": True,
            "fulfilledAmount": True, "numberOfRemainingCopies": True, "lastModifiedDateTime": True,
        },
        batchSize=10, pageNumber=1)
    assert p.statusInfo.status == "SUCCESS"
    li = p.entitlementLineItem[0]
    assert li.activationId.primaryKeys.activationId == activation_id
    assert li.orderLineNumber == "00kZEEP1"
    assert li.entitlementId.primaryKeys.entitlementId == "006ZEEP"
    assert li.soldTo.primaryKeys.id == ACME
    assert li.partNumber.primaryKeys.partId == "AM_SF01"
    assert (li.numberOfCopies, li.fulfilledAmount, li.numberOfRemainingCopies) == (5, 0, 5)
    assert li.state == "DEPLOYED"
    # only the flagged fields come back
    assert li.product is None and li.description is None


def test_part_numbers_and_products(pps):
    r = pps.service.getPartNumbersQuery(pageNumber=1, batchSize=10)
    assert r.statusInfo.status == "SUCCESS"
    parts = {p.partNumberIdentifier.primaryKeys.partId: p for p in r.responseData.partNumber}
    assert sorted(parts) == ["AM_SF01", "AM_SF02", "BETA_01"]
    assert parts["BETA_01"].mappedProduct.primaryKeys.name == "Beta Product"

    d = pps.service.getProductsQuery(
        queryParams={"state": {"value": "DEPLOYED", "searchType": "EQUALS"}},
        pageNumber=1, batchSize=10, returnContainedObjects=True)
    assert [p.productName for p in d.responseData.product] == ["AM Product"]
    assert [x.primaryKeys.partId for x in d.responseData.product[0].partNumbers.partNumber] == [
        "AM_SF01", "AM_SF02"]


def test_wrong_password_is_refused(sim):
    bad = client(sim, "v3/UserAcctHierarchyService", password="not-the-password")
    with pytest.raises(zeep.exceptions.TransportError) as e:
        bad.service.getAccountsQuery(pageNumber=1, batchSize=1)
    assert e.value.status_code == 401
