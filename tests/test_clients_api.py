"""Client, contact and segment API in the two-tenant world: lists never show another tenant's rows,
filters take public uuids, writes are for CX leads and admins, invalid input is a 400 that writes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.clients.models import Client, Contact, Segment
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent, Role
from apps.tenancy.services import membership_deactivate
from tests import factories as f
from tests.conftest import make_api_key

BASE = "/api/v1/t/acme/"


@pytest.fixture
def acme(world):
    """The same names in A and B: segment "Enterprise", client "Northwind", contact ana@northwind.example."""
    rows = {}
    for key, tenant in (("a", world.a), ("b", world.b)):
        with tenant_context(tenant):
            segment = f.SegmentFactory(tenant=tenant, name="Enterprise")
            client = f.ClientFactory(tenant=tenant, name="Northwind", segment=segment, tier=Client.Tier.KEY,
                                     annual_value=Decimal("120000"), active_from=datetime.date(2022, 5, 1))
            contact = f.ContactFactory(client=client, name="Ana Lima", email="ana@northwind.example")
            rows[key] = {"segment": segment, "client": client, "contact": contact}
    return rows


@pytest.fixture
def as_lead(world, api_client):
    api_client.force_login(world.carol)
    return api_client


def counts(tenant):
    with tenant_context(tenant):
        return (Client.objects.count(), Contact.objects.count(), Segment.objects.count(), AuditEvent.objects.count())


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def queries(http, path, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = http.get(path, params or {})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


# --- clients ------------------------------------------------------------------------------------

def test_it_lists_this_tenants_clients_with_uuids_and_names(world, acme, api_client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        Client.objects.filter(pk=acme["a"]["client"].pk).update(owner=bob)
    f.InteractionFactory(staff=bob, client=acme["a"]["client"], occurred_at=datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC))
    api_client.force_login(world.victor)
    body = api_client.get(BASE + "clients/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == str(acme["a"]["client"].uuid)
    assert row["segment"] == str(acme["a"]["segment"].uuid)
    assert row["segment_name"] == "Enterprise"
    assert row["owner"] == str(bob.uuid)
    assert row["owner_email"] == "bob@example.com"
    assert row["owner_name"] == "Bob"
    assert row["annual_value"] == "120000.00"
    assert row["tier"] == "key"
    assert row["status"] == "active"
    assert row["contact_count"] == 1
    assert row["last_interaction_at"].startswith("2025-03-01T")


def test_it_filters_clients(world, acme, api_client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        f.ClientFactory(tenant=world.a, name="Owned", owner=bob, tier=Client.Tier.STRATEGIC, active_from=datetime.date(2025, 1, 1))
        gone = f.ClientFactory(tenant=world.a, name="Gone", status=Client.Status.CHURNED, active_from=datetime.date(2020, 1, 1),
                               churned_on=datetime.date(2024, 6, 30))
        f.ContactFactory(client=gone, name="Zoe Quinn", email="zq@gone.example")
    api_client.force_login(world.alice)

    def names(**params):
        return sorted(c["name"] for c in results(api_client.get(BASE + "clients/", params)))

    assert names(segment=acme["a"]["segment"].uuid) == ["Northwind"]
    assert names(tier="strategic") == ["Owned"]
    assert names(status="churned") == ["Gone"]
    assert names(owner=bob.uuid) == ["Owned"]
    assert names(q="zoe") == ["Gone"]
    assert names(q="ZQ@GONE") == ["Gone"]
    assert names(q="north") == ["Northwind"]
    assert names(active_on="2024-06-29") == ["Gone", "Northwind"]
    assert names(active_on="2024-06-30") == ["Northwind"]  # churned that day: no longer active
    assert names(active_on="2025-01-01") == ["Northwind", "Owned"]
    ordered = [c["name"] for c in results(api_client.get(BASE + "clients/", {"ordering": "-active_from"}))]
    assert ordered == ["Owned", "Northwind", "Gone"]


@pytest.mark.parametrize("params", [{"tier": "platinum"}, {"active_on": "yesterday"}, {"ordering": "pk"},
                                    {"segment": "6f1c2a9e-4c1b-4e8a-9a55-0d7d3f5b2c11"}, {"owner": "not-a-uuid"}])
def test_it_rejects_bad_client_filters(world, acme, api_client, params):
    api_client.force_login(world.alice)
    response = api_client.get(BASE + "clients/", params)
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert set(params) <= set(body["fields"])


def test_the_client_list_costs_the_same_queries_for_3_or_30_clients(world, api_client):
    bob = world.membership(world.bob, world.a)
    api_client.force_login(world.alice)

    def add(n):
        with tenant_context(world.a):
            for _ in range(n):
                target = f.ClientFactory(tenant=world.a, segment=f.SegmentFactory(tenant=world.a), owner=bob)
                f.ContactFactory(client=target)
                f.InteractionFactory(staff=bob, client=target)

    add(3)
    queries(api_client, BASE + "clients/")
    few = queries(api_client, BASE + "clients/", {"q": "client"})
    add(27)
    assert queries(api_client, BASE + "clients/", {"q": "client"}) == few


def test_a_lead_creates_a_client(world, acme, as_lead):
    bob = world.membership(world.bob, world.a)
    response = as_lead.post(BASE + "clients/", {"name": "  Contoso ", "segment": str(acme["a"]["segment"].uuid), "owner": str(bob.uuid),
                                                "tier": "strategic", "annual_value": "9000.50", "active_from": "2024-02-01"},
                            format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Contoso"
    assert body["segment_name"] == "Enterprise"
    assert body["owner"] == str(bob.uuid)
    assert body["contact_count"] == 0
    assert body["last_interaction_at"] is None
    assert body["status"] == "active"
    with tenant_context(world.a):
        created = Client.objects.get(uuid=body["id"])
        assert AuditEvent.objects.get(action="client.created").target_id == body["id"]
    assert created.annual_value == Decimal("9000.50")


@pytest.mark.parametrize("payload,field", [
    ({"status": "churned"}, "churned_on"),
    ({"churned_on": "2024-06-01"}, "status"),
    ({"status": "churned", "churned_on": "2023-01-01"}, "churned_on"),
    ({"annual_value": "-1"}, "annual_value"),
    ({"name": ""}, "name"),
    ({"active_from": None}, "active_from"),
    ({"tier": "platinum"}, "tier"),
    ({"segment": "6f1c2a9e-4c1b-4e8a-9a55-0d7d3f5b2c11"}, "segment"),
    ({"active_from": "1024-01-01"}, "active_from"),  # issue 15, F3: accepted, then the churn pages answered 500
    ({"active_from": "1899-12-31"}, "active_from"),
    ({"active_from": "9999-12-31"}, "active_from"),
    ({"status": "churned", "churned_on": "3000-01-01"}, "churned_on"),
    ({"annual_value": "1" + "0" * 13}, "annual_value"),
])
def test_it_refuses_an_invalid_client_with_400_and_writes_nothing(world, acme, as_lead, payload, field):
    before = counts(world.a)
    response = as_lead.post(BASE + "clients/", {"name": "Contoso", "active_from": "2024-01-01", **payload}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert field in body["fields"]
    assert counts(world.a) == before


def test_the_owner_must_be_an_active_member(world, as_lead):
    dana = world.membership(world.dana, world.a)
    with tenant_context(world.a):
        membership_deactivate(tenant=world.a, acting_user=world.alice, membership=dana)
    before = counts(world.a)
    response = as_lead.post(BASE + "clients/", {"name": "X", "active_from": "2024-01-01", "owner": str(dana.uuid)}, format="json")
    assert response.status_code == 400
    assert "owner" in response.json()["error"]["fields"]
    assert counts(world.a) == before


def test_a_lead_reads_and_patches_a_client(world, acme, as_lead):
    target = acme["a"]["client"]
    path = f"{BASE}clients/{target.uuid}/"
    assert as_lead.get(path).json()["name"] == "Northwind"
    response = as_lead.patch(path, {"status": "churned", "churned_on": "2025-03-31", "segment": None}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "churned"
    assert body["churned_on"] == "2025-03-31"
    assert body["segment"] is None
    assert body["name"] == "Northwind"
    assert body["tier"] == "key"  # untouched fields stay
    with tenant_context(world.a):
        event = AuditEvent.objects.get(action="client.updated")
    assert event.changes["status"] == ["active", "churned"]
    assert event.changes["segment"] == ["Enterprise", ""]


def test_an_invalid_patch_answers_400_and_changes_nothing(world, acme, as_lead):
    target = acme["a"]["client"]
    response = as_lead.patch(f"{BASE}clients/{target.uuid}/", {"name": "Renamed", "churned_on": "2020-01-01"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"churned_on"}
    with tenant_context(world.a):
        target.refresh_from_db()
        assert not AuditEvent.objects.filter(action="client.updated").exists()
    assert target.name == "Northwind"
    assert target.churned_on is None


def test_deleting_a_client_removes_its_contacts(world, acme, as_lead):
    target = acme["a"]["client"]
    response = as_lead.delete(f"{BASE}clients/{target.uuid}/")
    assert response.status_code == 204
    with tenant_context(world.a):
        assert Client.objects.count() == 0
        assert Contact.objects.count() == 0
    with tenant_context(world.b):
        assert Client.objects.count() == 1
        assert Contact.objects.count() == 1


def test_a_client_with_interactions_cannot_be_deleted(world, acme, as_lead):
    target = acme["a"]["client"]
    f.InteractionFactory(staff=world.membership(world.bob, world.a), client=target)
    before = counts(world.a)
    response = as_lead.delete(f"{BASE}clients/{target.uuid}/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "client_has_interactions"
    assert counts(world.a) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.STAFF])
def test_viewers_and_staff_read_but_cannot_write(world, acme, api_client, role):
    _, raw_key = make_api_key(world.a, role=role)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    target, contact, segment = acme["a"]["client"], acme["a"]["contact"], acme["a"]["segment"]
    before = counts(world.a)
    for path in ("clients/", "contacts/", "segments/", f"clients/{target.uuid}/", f"contacts/{contact.uuid}/", f"segments/{segment.uuid}/"):
        assert api_client.get(BASE + path).status_code == 200, path
    writes = [("post", "clients/", {"name": "X", "active_from": "2024-01-01"}),
              ("patch", f"clients/{target.uuid}/", {"name": "X"}), ("delete", f"clients/{target.uuid}/", None),
              ("post", "contacts/", {"client": str(target.uuid), "name": "X"}),
              ("patch", f"contacts/{contact.uuid}/", {"name": "X"}), ("delete", f"contacts/{contact.uuid}/", None),
              ("post", "segments/", {"name": "X"}), ("patch", f"segments/{segment.uuid}/", {"name": "X"}),
              ("delete", f"segments/{segment.uuid}/", None)]
    for method, path, data in writes:
        response = getattr(api_client, method)(BASE + path, data, format="json")
        assert response.status_code == 403, f"{method} {path}"
        assert response.json()["error"]["code"] == "permission_denied", f"{method} {path}"
    assert counts(world.a) == before


def test_an_api_key_write_is_audited_under_the_key(world, as_lead, api_client):
    _, raw_key = make_api_key(world.a, role=Role.CX_LEAD, name="CRM sync")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api_client.post(BASE + "segments/", {"name": "From CRM"}, format="json").status_code == 201
    with tenant_context(world.a):
        assert AuditEvent.objects.get(action="segment.created").actor_label.startswith("API key “CRM sync”")


def test_another_tenants_client_is_not_found(world, acme, as_lead):
    foreign = acme["b"]["client"]
    for method in ("get", "patch", "delete"):
        response = getattr(as_lead, method)(f"{BASE}clients/{foreign.uuid}/", {"name": "Hacked"}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    with tenant_context(world.b):
        assert Client.objects.get(pk=foreign.pk).name == "Northwind"


# --- contacts -----------------------------------------------------------------------------------

def test_it_lists_and_filters_contacts(world, acme, api_client):
    with tenant_context(world.a):
        other = f.ClientFactory(tenant=world.a, name="Fabrikam")
        f.ContactFactory(client=other, name="Otto", email="otto@fabrikam.example", opted_out=True)
    api_client.force_login(world.victor)
    everyone = results(api_client.get(BASE + "contacts/"))
    assert [c["name"] for c in everyone] == ["Ana Lima", "Otto"]
    ana = everyone[0]
    assert ana["id"] == str(acme["a"]["contact"].uuid)
    assert ana["client"] == str(acme["a"]["client"].uuid)
    assert ana["client_name"] == "Northwind"
    assert ana["email"] == "ana@northwind.example"

    def names(**params):
        return [c["name"] for c in results(api_client.get(BASE + "contacts/", params))]

    assert names(client=other.uuid) == ["Otto"]
    assert names(email="ANA@northwind.example") == ["Ana Lima"]
    assert names(opted_out="true") == ["Otto"]
    assert names(opted_out="false") == ["Ana Lima"]
    assert names(q="fabrik") == ["Otto"]
    assert names(q="ana@") == ["Ana Lima"]


def test_the_contact_list_costs_the_same_queries_for_3_or_30_contacts(world, acme, api_client):
    api_client.force_login(world.alice)

    def add(n):
        with tenant_context(world.a):
            for _ in range(n):
                f.ContactFactory(client=f.ClientFactory(tenant=world.a))

    add(3)
    queries(api_client, BASE + "contacts/")
    few = queries(api_client, BASE + "contacts/")
    add(27)
    assert queries(api_client, BASE + "contacts/") == few


def test_a_lead_adds_edits_and_deletes_a_contact(world, acme, as_lead):
    target = acme["a"]["client"]
    response = as_lead.post(BASE + "contacts/", {"client": str(target.uuid), "name": "Ben Ito", "email": "Ben@Northwind.example",
                                                 "locale": "fr", "role": "CFO"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ben@northwind.example"
    assert body["client"] == str(target.uuid)
    assert body["opted_out"] is False
    path = f"{BASE}contacts/{body['id']}/"
    response = as_lead.patch(path, {"opted_out": True}, format="json")
    assert response.status_code == 200
    assert response.json()["opted_out"] is True
    assert response.json()["name"] == "Ben Ito"
    assert as_lead.delete(path).status_code == 204
    with tenant_context(world.a):
        assert not Contact.objects.filter(uuid=body["id"]).exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"contact.created", "contact.updated", "contact.deleted"} <= actions


def test_a_duplicate_email_is_a_400_on_the_email_field(world, acme, as_lead):
    target = acme["a"]["client"]
    before = counts(world.a)
    response = as_lead.post(BASE + "contacts/", {"client": str(target.uuid), "name": "Copy", "email": "ANA@Northwind.Example"},
                            format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["email"] == ["Ana Lima at Northwind already has this e-mail address."]
    assert counts(world.a) == before
    with tenant_context(world.a):
        ben = f.ContactFactory(client=target, name="Ben", email="ben@northwind.example")
    response = as_lead.patch(f"{BASE}contacts/{ben.uuid}/", {"email": "ana@northwind.example"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]


def test_a_contact_of_another_tenants_client_is_refused(world, acme, as_lead):
    before = counts(world.a)
    response = as_lead.post(BASE + "contacts/", {"client": str(acme["b"]["client"].uuid), "name": "Sneaky"}, format="json")
    assert response.status_code == 400
    assert "client" in response.json()["error"]["fields"]
    assert counts(world.a) == before


def test_a_contact_may_not_move_to_another_client_by_patch(world, acme, as_lead):
    # The input has no `client` on PATCH: a stray one is ignored, the contact stays where it is.
    with tenant_context(world.a):
        other = f.ClientFactory(tenant=world.a, name="Other")
    contact = acme["a"]["contact"]
    response = as_lead.patch(f"{BASE}contacts/{contact.uuid}/", {"client": str(other.uuid), "name": "Ana L."}, format="json")
    assert response.status_code == 200
    assert response.json()["client"] == str(acme["a"]["client"].uuid)


# --- segments -----------------------------------------------------------------------------------

def test_it_lists_segments_with_client_counts(world, acme, api_client):
    with tenant_context(world.a):
        f.SegmentFactory(tenant=world.a, name="Small business")
        f.ClientFactory(tenant=world.a, segment=acme["a"]["segment"])
    api_client.force_login(world.victor)
    rows = results(api_client.get(BASE + "segments/"))
    assert [(s["name"], s["client_count"]) for s in rows] == [("Enterprise", 2), ("Small business", 0)]
    assert rows[0]["id"] == str(acme["a"]["segment"].uuid)


def test_the_segment_list_costs_the_same_queries_for_3_or_30_segments(world, api_client):
    api_client.force_login(world.alice)

    def add(n):
        with tenant_context(world.a):
            for _ in range(n):
                f.ClientFactory(tenant=world.a, segment=f.SegmentFactory(tenant=world.a))

    add(3)
    queries(api_client, BASE + "segments/")
    few = queries(api_client, BASE + "segments/")
    add(27)
    assert queries(api_client, BASE + "segments/") == few


def test_a_lead_creates_renames_and_deletes_a_segment(world, acme, as_lead):
    response = as_lead.post(BASE + "segments/", {"name": "Mid-market", "description": "50–1,000 staff"}, format="json")
    assert response.status_code == 201
    assert response.json()["client_count"] == 0
    path = f"{BASE}segments/{response.json()['id']}/"
    assert as_lead.patch(path, {"name": "Mid market"}, format="json").json()["name"] == "Mid market"
    assert as_lead.delete(path).status_code == 204


def test_duplicate_segment_names_are_refused_in_any_case(world, acme, as_lead):
    before = counts(world.a)
    response = as_lead.post(BASE + "segments/", {"name": "ENTERPRISE"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["fields"]
    assert counts(world.a) == before


def test_deleting_a_segment_keeps_its_clients(world, acme, as_lead):
    assert as_lead.delete(f"{BASE}segments/{acme['a']['segment'].uuid}/").status_code == 204
    with tenant_context(world.a):
        assert Client.objects.get(pk=acme["a"]["client"].pk).segment_id is None
    with tenant_context(world.b):
        assert Client.objects.get(pk=acme["b"]["client"].pk).segment_id == acme["b"]["segment"].pk


def test_client_days_may_span_1900_to_five_years_ahead(world, acme, as_lead):
    from apps.clients.validators import latest_client_day

    latest = latest_client_day()
    response = as_lead.post(BASE + "clients/", {"name": "Old Firm", "active_from": "1900-01-01", "status": "churned",
                                                 "churned_on": latest.isoformat()}, format="json")
    assert response.status_code == 201, response.content
    uuid = response.json()["id"]
    response = as_lead.patch(f"{BASE}clients/{uuid}/", {"churned_on": (latest + datetime.timedelta(days=1)).isoformat()}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == {"churned_on": [f"Enter a day between 1900-01-01 and {latest}."]}
    with tenant_context(world.a):
        assert Client.objects.get(uuid=uuid).churned_on == latest
