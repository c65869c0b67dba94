"""Client, contact and segment pages, in the two-tenant world: A's pages never show B's rows (even
with colliding names), viewers read only, invalid input answers 400 and writes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.clients.models import Client, Contact, Segment
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from apps.tenancy.services import membership_deactivate
from tests import factories as f

A = "acme"


def url(name, **kwargs):
    return reverse(f"clients:{name}", kwargs={"tenant_slug": A, **kwargs})


@pytest.fixture
def acme(world):
    """Colliding names in A and B: segment "Enterprise", client "Northwind", contact ana@northwind.example."""
    rows = {}
    for key, tenant in (("a", world.a), ("b", world.b)):
        with tenant_context(tenant):
            segment = f.SegmentFactory(tenant=tenant, name="Enterprise")
            client = f.ClientFactory(tenant=tenant, name="Northwind", segment=segment, tier=Client.Tier.KEY,
                                     annual_value=Decimal("120000"), active_from=datetime.date(2022, 5, 1))
            contact = f.ContactFactory(client=client, name="Ana Lima", email="ana@northwind.example")
            rows[key] = {"segment": segment, "client": client, "contact": contact}
    return rows


def counts(tenant):
    with tenant_context(tenant):
        return (Client.objects.count(), Contact.objects.count(), Segment.objects.count(), AuditEvent.objects.count())


def client_form_data(**overrides):
    data = {"name": "Contoso", "segment": "", "industry": "Software", "tier": "standard", "owner": "",
            "annual_value": "5000", "active_from": "2024-02-01", "status": "active", "churned_on": ""}
    return {**data, **overrides}


# --- list ---------------------------------------------------------------------------------------

def test_it_lists_only_this_tenants_clients(world, acme, client):
    client.force_login(world.victor)  # a viewer reads
    response = client.get(url("list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert str(acme["a"]["client"].uuid) in body
    assert str(acme["b"]["client"].uuid) not in body
    assert "Enterprise" in body
    assert "Key" in body


def test_it_shows_contact_counts_and_the_last_interaction_in_the_tenant_time_zone(world, acme, client):
    a_client = acme["a"]["client"]
    f.ContactFactory(client=a_client)
    bob = world.membership(world.bob, world.a)
    # 23:30 UTC on 1 March is already 2 March in Brussels (Acme's time zone).
    f.InteractionFactory(staff=bob, client=a_client, occurred_at=datetime.datetime(2025, 3, 1, 23, 30, tzinfo=datetime.UTC))
    f.InteractionFactory(staff=bob, client=a_client, occurred_at=datetime.datetime(2025, 2, 1, 10, 0, tzinfo=datetime.UTC))
    client.force_login(world.alice)
    response = client.get(url("list"))
    page = response.context["page"]
    row = next(c for c in page if c.pk == a_client.pk)
    assert row.contact_count == 2
    assert "2 Mar 2025" in response.content.decode()


def test_it_searches_client_names_contact_names_and_emails(world, acme, client):
    with tenant_context(world.a):
        other = f.ClientFactory(tenant=world.a, name="Fabrikam")
        f.ContactFactory(client=other, name="Zoe Quinn", email="zq@fabrikam.example")
    client.force_login(world.alice)
    for query, expected in [("north", {"Northwind"}), ("zoe", {"Fabrikam"}), ("ZQ@FABRIKAM", {"Fabrikam"}),
                            ("ana@north", {"Northwind"}), ("nothing-matches", set())]:
        response = client.get(url("list"), {"q": query})
        assert response.status_code == 200
        assert {c.name for c in response.context["page"]} == expected, query


def test_it_filters_by_segment_tier_status_and_owner(world, acme, client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        f.ClientFactory(tenant=world.a, name="Owned", owner=bob, tier=Client.Tier.STRATEGIC)
        f.ClientFactory(tenant=world.a, name="Gone", status=Client.Status.CHURNED, churned_on=datetime.date(2025, 1, 1))
    client.force_login(world.alice)

    def names(**params):
        response = client.get(url("list"), params)
        assert response.status_code == 200, response.content
        return [c.name for c in response.context["page"]]

    assert names(segment=acme["a"]["segment"].uuid) == ["Northwind"]
    assert names(tier="strategic") == ["Owned"]
    assert names(status="churned") == ["Gone"]
    assert names(owner=bob.uuid) == ["Owned"]
    assert names(status="active", tier="key") == ["Northwind"]


@pytest.mark.parametrize("param", ["segment", "owner"])
def test_it_answers_400_for_an_unknown_or_foreign_uuid_in_the_filters(world, acme, client, param):
    foreign = acme["b"]["segment"].uuid if param == "segment" else world.membership(world.charlie, world.b).uuid
    client.force_login(world.alice)
    for value in (foreign, "6f1c2a9e-4c1b-4e8a-9a55-0d7d3f5b2c11", "not-a-uuid"):
        response = client.get(url("list"), {param: value})
        assert response.status_code == 400
        body = response.content.decode()
        errors = response.context["form"].errors[param]
        assert errors
        assert errors[0] in body.replace("&quot;", '"').replace("&#x27;", "'")
        assert "Northwind" not in body  # no unfiltered list behind the error


def test_it_sorts_by_name_annual_value_and_active_since(world, client):
    with tenant_context(world.a):
        f.ClientFactory(tenant=world.a, name="beta", annual_value=Decimal("10"), active_from=datetime.date(2020, 1, 1))
        f.ClientFactory(tenant=world.a, name="Alpha", annual_value=None, active_from=datetime.date(2023, 1, 1))
        f.ClientFactory(tenant=world.a, name="Gamma", annual_value=Decimal("99"), active_from=datetime.date(2021, 1, 1))
    client.force_login(world.alice)

    def order(sort):
        return [c.name for c in client.get(url("list"), {"sort": sort}).context["page"]]

    assert order("name") == ["Alpha", "beta", "Gamma"]  # case-insensitive
    assert order("-name") == ["Gamma", "beta", "Alpha"]
    assert order("-annual_value") == ["Gamma", "beta", "Alpha"]  # unknown values last
    assert order("annual_value") == ["beta", "Gamma", "Alpha"]
    assert order("-active_from") == ["Alpha", "Gamma", "beta"]
    assert client.get(url("list"), {"sort": "pk"}).status_code == 400


def test_it_paginates_by_fifty(world, client):
    with tenant_context(world.a):
        for i in range(51):
            f.ClientFactory(tenant=world.a, name=f"Client {i:02d}")
    client.force_login(world.alice)
    first = client.get(url("list"))
    assert len(first.context["page"].object_list) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(url("list"), {"page": 2})
    assert [c.name for c in second.context["page"]] == ["Client 50"]


def _populate(world, n):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        for _ in range(n):
            segment = f.SegmentFactory(tenant=world.a)
            target = f.ClientFactory(tenant=world.a, segment=segment, owner=bob)
            f.ContactFactory(client=target)
            f.ContactFactory(client=target)
            f.InteractionFactory(staff=bob, client=target)


def _queries(http, path, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = http.get(path, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_list_page_costs_the_same_queries_for_3_or_30_clients(world, client):
    client.force_login(world.alice)
    _populate(world, 3)
    _queries(client, url("list"))
    few = _queries(client, url("list"), {"q": "client", "sort": "-annual_value"})
    _populate(world, 27)
    assert _queries(client, url("list"), {"q": "client", "sort": "-annual_value"}) == few


def test_it_offers_new_client_and_exports_to_the_right_people(world, acme, client):
    export_url = reverse("imports:export_clients", kwargs={"tenant_slug": A})
    client.force_login(world.victor)
    body = client.get(url("list"), {"tier": "key"}).content.decode()
    assert url("create") not in body
    assert "Export CSV" not in body  # exports hold personal data: leads only
    client.force_login(world.carol)
    body = client.get(url("list"), {"tier": "key"}).content.decode()
    assert url("create") in body
    assert f"{export_url}?tier=key&amp;format=csv" in body
    assert "Export XLSX" in body  # links carry the filters


# --- create / edit ------------------------------------------------------------------------------

def test_a_lead_creates_a_client_with_segment_and_owner(world, acme, client):
    bob = world.membership(world.bob, world.a)
    client.force_login(world.carol)
    response = client.post(url("create"), client_form_data(segment=acme["a"]["segment"].uuid, owner=bob.uuid))
    with tenant_context(world.a):
        created = Client.objects.get(name="Contoso")
        assert created.segment == acme["a"]["segment"]
        assert created.owner == bob
        assert created.annual_value == Decimal("5000")
        event = AuditEvent.objects.get(action="client.created")
    assert response.status_code == 302
    assert response["Location"] == url("detail", uuid=created.uuid)
    assert event.actor == world.carol
    assert event.target_id == str(created.uuid)


def test_the_owner_field_lists_active_members_by_name_and_email(world, client):
    with tenant_context(world.a):
        membership_deactivate(tenant=world.a, acting_user=world.alice, membership=world.membership(world.dana, world.a))
    client.force_login(world.alice)
    body = client.get(url("create")).content.decode()
    assert "Bob (bob@example.com)" in body
    assert "dana@example.com" not in body
    assert "charlie@example.com" not in body


@pytest.mark.parametrize("overrides,field", [
    ({"status": "churned", "churned_on": ""}, "churned_on"),  # churned needs the date
    ({"status": "active", "churned_on": "2024-06-01"}, "status"),  # a churn date means churned
    ({"status": "churned", "churned_on": "2023-01-01"}, "churned_on"),  # before active_from
    ({"annual_value": "-1"}, "annual_value"),
    ({"name": ""}, "name"),
    ({"active_from": ""}, "active_from"),
    ({"tier": "platinum"}, "tier"),
    ({"active_from": "1024-01-01"}, "active_from"),  # issue 15, F3: a typo that took the churn pages down
    ({"active_from": "1899-12-31"}, "active_from"),
    ({"status": "churned", "churned_on": "9999-12-31"}, "churned_on"),
])
def test_it_refuses_an_invalid_client_with_400_and_writes_nothing(world, acme, client, overrides, field):
    client.force_login(world.alice)
    before = counts(world.a)
    response = client.post(url("create"), client_form_data(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert counts(world.a) == before


def test_a_churned_client_with_its_date_is_accepted(world, client):
    client.force_login(world.alice)
    response = client.post(url("create"), client_form_data(status="churned", churned_on="2025-01-31"))
    assert response.status_code == 302
    with tenant_context(world.a):
        assert Client.objects.get(name="Contoso").churned_on == datetime.date(2025, 1, 31)


@pytest.mark.parametrize("who", ["foreign", "inactive"])
def test_the_owner_must_be_an_active_member_of_this_tenant(world, client, who):
    if who == "foreign":
        owner = world.membership(world.charlie, world.b)
    else:
        owner = world.membership(world.dana, world.a)
        with tenant_context(world.a):
            membership_deactivate(tenant=world.a, acting_user=world.alice, membership=owner)
    client.force_login(world.alice)
    before = counts(world.a)
    response = client.post(url("create"), client_form_data(owner=owner.uuid))
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors
    assert counts(world.a) == before


def test_a_client_keeps_an_owner_who_has_left_when_edited(world, client):
    dana = world.membership(world.dana, world.a)
    with tenant_context(world.a):
        target = f.ClientFactory(tenant=world.a, name="Kept", owner=dana)
        membership_deactivate(tenant=world.a, acting_user=world.alice, membership=dana)
    client.force_login(world.alice)
    assert f'value="{dana.uuid}" selected' in client.get(url("edit", uuid=target.uuid)).content.decode()
    response = client.post(url("edit", uuid=target.uuid), client_form_data(name="Kept", owner=dana.uuid, industry="Law"))
    assert response.status_code == 302
    with tenant_context(world.a):
        target.refresh_from_db()
    assert target.owner_id == dana.pk
    assert target.industry == "Law"


def test_a_lead_edits_a_client_and_the_change_is_audited(world, acme, client):
    target = acme["a"]["client"]
    client.force_login(world.carol)
    response = client.post(url("edit", uuid=target.uuid), client_form_data(
        name="Northwind Traders", segment=acme["a"]["segment"].uuid, tier="strategic", annual_value="150000", active_from="2022-05-01"))
    assert response.status_code == 302
    with tenant_context(world.a):
        target.refresh_from_db()
        event = AuditEvent.objects.get(action="client.updated")
    assert target.name == "Northwind Traders"
    assert target.tier == "strategic"
    assert event.changes["name"] == ["Northwind", "Northwind Traders"]
    assert event.changes["tier"] == ["key", "strategic"]
    with tenant_context(world.b):
        assert Client.objects.get(pk=acme["b"]["client"].pk).name == "Northwind"


def test_an_invalid_edit_answers_400_and_keeps_the_saved_client(world, acme, client):
    target = acme["a"]["client"]
    client.force_login(world.alice)
    response = client.post(url("edit", uuid=target.uuid), client_form_data(name="Renamed", annual_value="-5"))
    assert response.status_code == 400
    assert "<h1>Edit Northwind</h1>" in response.content.decode()
    with tenant_context(world.a):
        target.refresh_from_db()
    assert target.name == "Northwind"


@pytest.mark.parametrize("user", ["victor", "bob"])
def test_viewers_and_staff_cannot_write(world, acme, client, user):
    client.force_login(getattr(world, user))
    target, contact, segment = acme["a"]["client"], acme["a"]["contact"], acme["a"]["segment"]
    before = counts(world.a)
    for path, data in [(url("create"), client_form_data()), (url("edit", uuid=target.uuid), client_form_data()),
                       (url("delete", uuid=target.uuid), {}),
                       (url("contact_create", uuid=target.uuid), {"name": "X", "locale": "en"}),
                       (url("contact_edit", uuid=contact.uuid), {"name": "X", "locale": "en"}),
                       (url("contact_delete", uuid=contact.uuid), {}),
                       (url("segments"), {"name": "New"}), (url("segment_edit", uuid=segment.uuid), {"name": "X"}),
                       (url("segment_delete", uuid=segment.uuid), {})]:
        assert client.post(path, data).status_code == 403, path
    assert counts(world.a) == before
    assert client.get(url("detail", uuid=target.uuid)).status_code == 200
    assert client.get(url("segments")).status_code == 200


# --- detail -------------------------------------------------------------------------------------

def test_the_detail_page_shows_contacts_and_interactions_newest_first(world, acme, client):
    target = acme["a"]["client"]
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        f.ContactFactory(client=target, name="Otto Out", email="otto@northwind.example", opted_out=True)
        tp = f.TouchpointFactory(tenant=world.a, name="Quarterly review")
    f.InteractionFactory(staff=bob, client=target, touchpoint=tp, summary="Older call",
                         occurred_at=datetime.datetime(2025, 1, 10, 9, 0, tzinfo=datetime.UTC))
    f.InteractionFactory(staff=bob, client=target, touchpoint=tp, summary="Renewal agreed", predicted_score=9, staff_sentiment=2,
                         outcome="escalated", follow_up=True, follow_up_due=datetime.date(2000, 1, 1),
                         occurred_at=datetime.datetime(2025, 6, 30, 22, 15, tzinfo=datetime.UTC))
    # B's same-named client has its own interaction, never shown here.
    charlie = world.membership(world.charlie, world.b)
    f.InteractionFactory(staff=charlie, client=acme["b"]["client"], summary="Globex secret")
    client.force_login(world.victor)
    response = client.get(url("detail", uuid=target.uuid))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ana Lima" in body
    assert "Otto Out" in body
    assert "Opted out" in body
    assert body.index("Renewal agreed") < body.index("Older call")
    assert "1 Jul 2025" in body
    assert "00:15" in body  # 22:15 UTC is 00:15 next day in Brussels
    assert "Very positive" in body
    assert "Escalated" in body
    assert "Overdue" in body
    assert "Bob" in body
    assert "Quarterly review" in body
    assert "Globex secret" not in body
    assert url("edit", uuid=target.uuid) not in body
    assert url("contact_create", uuid=target.uuid) not in body  # viewer


def test_the_detail_page_paginates_interactions(world, acme, client):
    target = acme["a"]["client"]
    bob = world.membership(world.bob, world.a)
    for _ in range(26):
        f.InteractionFactory(staff=bob, client=target)
    client.force_login(world.alice)
    response = client.get(url("detail", uuid=target.uuid))
    assert len(response.context["interactions"].object_list) == 25
    assert len(client.get(url("detail", uuid=target.uuid), {"page": 2}).context["interactions"].object_list) == 1


def test_the_detail_page_does_not_grow_queries_with_contacts_or_interactions(world, acme, client):
    target = acme["a"]["client"]
    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)

    def add(n):
        with tenant_context(world.a):
            for _ in range(n):
                f.ContactFactory(client=target)
                f.InteractionFactory(staff=bob, client=target, contact=f.ContactFactory(client=target))

    add(2)
    _queries(client, url("detail", uuid=target.uuid))
    few = _queries(client, url("detail", uuid=target.uuid))
    add(20)
    assert _queries(client, url("detail", uuid=target.uuid)) == few


# --- delete -------------------------------------------------------------------------------------

def test_a_client_without_interactions_is_deleted_with_its_contacts(world, acme, client):
    target = acme["a"]["client"]
    client.force_login(world.alice)
    response = client.post(url("delete", uuid=target.uuid))
    assert response.status_code == 302
    assert response["Location"] == url("list")
    with tenant_context(world.a):
        assert not Client.objects.filter(pk=target.pk).exists()
        assert Contact.objects.count() == 0
        assert AuditEvent.objects.filter(action="client.deleted", target_id=str(target.uuid)).exists()
    with tenant_context(world.b):
        assert Client.objects.count() == 1
        assert Contact.objects.count() == 1


def test_a_client_with_interactions_is_not_deleted(world, acme, client):
    target = acme["a"]["client"]
    f.InteractionFactory(staff=world.membership(world.bob, world.a), client=target)
    client.force_login(world.alice)
    response = client.post(url("delete", uuid=target.uuid), follow=True)
    assert "cannot be deleted" in response.content.decode()
    with tenant_context(world.a):
        assert Client.objects.filter(pk=target.pk).exists()


# --- contacts -----------------------------------------------------------------------------------

def contact_data(**overrides):
    return {"name": "Ben Ito", "email": "ben@northwind.example", "phone": "+32 2 555 01 23", "role": "CFO", "locale": "fr",
            **overrides}


def test_a_lead_adds_a_contact(world, acme, client):
    target = acme["a"]["client"]
    client.force_login(world.carol)
    response = client.post(url("contact_create", uuid=target.uuid), contact_data(email="Ben@Northwind.Example", opted_out="on"))
    assert response.status_code == 302
    assert response["Location"] == url("detail", uuid=target.uuid)
    with tenant_context(world.a):
        contact = Contact.objects.get(name="Ben Ito")
        assert AuditEvent.objects.filter(action="contact.created", target_id=str(contact.uuid)).exists()
    assert contact.client_id == target.pk
    assert contact.email == "ben@northwind.example"
    assert contact.opted_out
    assert contact.locale == "fr"


def test_a_duplicate_email_in_the_tenant_is_a_form_error_in_any_case(world, acme, client):
    target = acme["a"]["client"]
    with tenant_context(world.a):
        other = f.ClientFactory(tenant=world.a, name="Other")
    client.force_login(world.alice)
    before = counts(world.a)
    response = client.post(url("contact_create", uuid=other.uuid), contact_data(email="ANA@northwind.example"))
    assert response.status_code == 400
    assert response.context["form"].errors["email"] == ["Ana Lima at Northwind already has this e-mail address."]
    assert counts(world.a) == before
    # Editing another contact onto that address is refused too; keeping one's own address is fine.
    with tenant_context(world.a):
        ben = f.ContactFactory(client=target, name="Ben", email="ben@northwind.example")
    assert client.post(url("contact_edit", uuid=ben.uuid), contact_data(email="Ana@Northwind.example")).status_code == 400
    assert client.post(url("contact_edit", uuid=ben.uuid), contact_data(name="Ben Ito", email="BEN@northwind.example")).status_code == 302


def test_the_same_email_may_exist_in_another_tenant(world, acme, client):
    with tenant_context(world.a):
        Contact.objects.filter(pk=acme["a"]["contact"].pk).delete()
    client.force_login(world.alice)
    response = client.post(url("contact_create", uuid=acme["a"]["client"].uuid), contact_data(email="ana@northwind.example"))
    assert response.status_code == 302


def test_a_contact_with_a_bad_email_answers_400(world, acme, client):
    client.force_login(world.alice)
    before = counts(world.a)
    response = client.post(url("contact_create", uuid=acme["a"]["client"].uuid), contact_data(email="not-an-email"))
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert counts(world.a) == before


def test_a_lead_edits_and_deletes_a_contact(world, acme, client):
    contact = acme["a"]["contact"]
    client.force_login(world.alice)
    response = client.post(url("contact_edit", uuid=contact.uuid), contact_data(name="Ana Lima-Silva", email=contact.email, opted_out="on"))
    assert response.status_code == 302
    with tenant_context(world.a):
        contact.refresh_from_db()
    assert contact.name == "Ana Lima-Silva"
    assert contact.opted_out
    response = client.post(url("contact_delete", uuid=contact.uuid))
    assert response.status_code == 302
    assert response["Location"] == url("detail", uuid=acme["a"]["client"].uuid)
    with tenant_context(world.a):
        assert not Contact.objects.filter(pk=contact.pk).exists()
        assert AuditEvent.objects.filter(action="contact.deleted").exists()
    assert client.get(url("contact_delete", uuid=contact.uuid)).status_code == 405


# --- segments -----------------------------------------------------------------------------------

def test_the_segment_page_lists_this_tenants_segments_with_client_counts(world, acme, client):
    with tenant_context(world.a):
        f.ClientFactory(tenant=world.a, segment=acme["a"]["segment"])
        f.SegmentFactory(tenant=world.a, name="Small business")
    client.force_login(world.victor)
    response = client.get(url("segments"))
    counts_by_name = {s.name: s.client_count for s in response.context["segments"]}
    assert counts_by_name == {"Enterprise": 2, "Small business": 0}
    assert response.context["form"] is None
    assert 'name="name"' not in response.content.decode()


def test_a_lead_creates_a_segment_and_duplicate_names_are_refused(world, acme, client):
    client.force_login(world.carol)
    response = client.post(url("segments"), {"name": "Mid-market", "description": "50–1,000 staff"})
    assert response.status_code == 302
    before = counts(world.a)
    response = client.post(url("segments"), {"name": "enterprise"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert counts(world.a) == before
    with tenant_context(world.a):
        assert Segment.objects.filter(name="Mid-market").exists()
        assert AuditEvent.objects.filter(action="segment.created").count() == 1


def test_a_lead_renames_a_segment(world, acme, client):
    segment = acme["a"]["segment"]
    client.force_login(world.alice)
    assert client.post(url("segment_edit", uuid=segment.uuid), {"name": "Large accounts", "description": ""}).status_code == 302
    with tenant_context(world.a):
        segment.refresh_from_db()
    assert segment.name == "Large accounts"
    assert client.post(url("segment_edit", uuid=segment.uuid), {"name": ""}).status_code == 400


def test_deleting_a_segment_keeps_its_clients(world, acme, client):
    segment = acme["a"]["segment"]
    client.force_login(world.alice)
    response = client.post(url("segment_delete", uuid=segment.uuid), follow=True)
    assert "now have no segment" in response.content.decode() or "deleted" in response.content.decode()
    with tenant_context(world.a):
        assert not Segment.objects.filter(pk=segment.pk).exists()
        assert Client.objects.get(pk=acme["a"]["client"].pk).segment is None
        assert AuditEvent.objects.filter(action="segment.deleted").exists()
    with tenant_context(world.b):
        assert Client.objects.get(pk=acme["b"]["client"].pk).segment == acme["b"]["segment"]


def test_the_segment_delete_button_asks_for_confirmation(world, acme, client):
    client.force_login(world.alice)
    assert 'data-confirm="Delete segment Enterprise? Its 1 client will have no segment."' in client.get(url("segments")).content.decode()
