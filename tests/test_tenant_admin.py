"""Tenant administration: settings, members, invitations, teams, API keys and the audit log, through
the pages under /t/<slug>/settings/ and the API under /api/v1/t/<slug>/."""

import hashlib
import re
import uuid
from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import MembershipInvitation
from apps.accounts.services import member_invite
from apps.tenancy.context import tenant_context
from apps.tenancy.models import ApiKey, AuditEvent, Membership, Role, Team, Tenant
from apps.tenancy.services import audit_event_record
from tests.conftest import make_api_key
from tests.factories import PASSWORD, MembershipFactory, UserFactory

API = "/api/v1/t/acme"
SETTINGS = {
    "name": "Acme Advisory", "time_zone": "Europe/Brussels", "locale": "en", "industry": "",
    "sender_name": "", "sender_email": "", "survey_fatigue_days": 30, "min_n_nps": 30, "min_n_other": 10,
}


def _events(tenant, **filters) -> list:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(**filters).order_by("created_at", "id"))


def _bearer(raw_key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}


def _link_in(message) -> str:
    match = re.search(r"https?://[^/\s]+(/invite/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def _audit_rows(response) -> str:
    return re.search(r"<tbody>(.*)</tbody>", response.content.decode(), re.S).group(1)


def _error_code(response) -> str:
    return response.json()["error"]["code"]


# --- settings -------------------------------------------------------------------------------------

def test_it_shows_the_settings_form(world, client):
    client.force_login(world.alice)
    response = client.get("/t/acme/settings/")
    assert response.status_code == 200
    assert b'value="Acme Advisory"' in response.content


@pytest.mark.parametrize("user", ["carol", "bob", "victor"])
def test_it_requires_admin_for_settings(world, client, user):
    client.force_login(getattr(world, user))
    assert client.get("/t/acme/settings/").status_code == 403
    assert client.post("/t/acme/settings/", {**SETTINGS, "name": "Hijacked"}).status_code == 403
    world.a.refresh_from_db()
    assert world.a.name == "Acme Advisory"


def test_it_updates_settings_and_audits_the_changes(world, client):
    client.force_login(world.alice)
    data = {**SETTINGS, "name": "Acme Advisory Group", "time_zone": "America/Chicago", "locale": "fr",
            "sender_name": "Acme CX", "sender_email": "cx@acme.example", "survey_fatigue_days": 45,
            "min_n_nps": 50, "min_n_other": 20}
    response = client.post("/t/acme/settings/", data)
    assert response.status_code == 302
    assert response.url == "/t/acme/settings/"

    world.a.refresh_from_db()
    assert world.a.name == "Acme Advisory Group"
    assert world.a.time_zone == "America/Chicago"
    assert world.a.locale == "fr"
    assert (world.a.sender_name, world.a.sender_email) == ("Acme CX", "cx@acme.example")
    assert (world.a.survey_fatigue_days, world.a.min_n_nps, world.a.min_n_other) == (45, 50, 20)

    [event] = _events(world.a, action="tenant.updated")
    assert event.actor == world.alice
    assert event.actor_label == "alice@example.com"
    assert event.tenant_id == world.a.pk
    assert event.target_type == "tenant"
    assert event.target_id == str(world.a.uuid)
    assert event.changes["name"] == ["Acme Advisory", "Acme Advisory Group"]
    assert event.changes["time_zone"] == ["Europe/Brussels", "America/Chicago"]
    assert event.changes["survey_fatigue_days"] == [30, 45]
    assert "industry" not in event.changes
    assert event.created_at.utcoffset().total_seconds() == 0
    assert _events(world.b, action="tenant.updated") == []


def test_it_does_not_audit_a_save_without_changes(world, client):
    client.force_login(world.alice)
    assert client.post("/t/acme/settings/", SETTINGS).status_code == 302
    assert _events(world.a, action="tenant.updated") == []


@pytest.mark.parametrize("field, value", [
    ("time_zone", "Mars/Olympus_Mons"),
    ("time_zone", ""),
    ("survey_fatigue_days", 366),
    ("survey_fatigue_days", -1),
    ("min_n_nps", 0),
    ("min_n_other", 10001),
    ("locale", "xx"),
    ("sender_email", "not-an-email"),
    ("name", ""),
])
def test_it_rejects_invalid_settings_and_saves_nothing(world, client, field, value):
    client.force_login(world.alice)
    response = client.post("/t/acme/settings/", {**SETTINGS, "name": "Renamed", field: value})
    assert response.status_code == 400
    assert b"field--error" in response.content
    assert "Workspace: </span>Acme Advisory" in response.content.decode()  # the header shows what is saved
    tenant = Tenant.objects.get(pk=world.a.pk)
    assert tenant.name == "Acme Advisory"
    assert tenant.time_zone == "Europe/Brussels"
    assert tenant.survey_fatigue_days == 30
    assert _events(world.a, action="tenant.updated") == []


# --- members page -----------------------------------------------------------------------------------

def test_it_lists_the_tenants_members(world, client):
    client.force_login(world.alice)
    response = client.get("/t/acme/settings/members/")
    assert response.status_code == 200
    body = response.content.decode()
    for email in ["alice", "carol", "bob", "victor", "dana"]:
        assert f"{email}@example.com" in body
    assert "charlie@example.com" not in body
    assert "carl@example.com" not in body


@pytest.mark.parametrize("user", ["carol", "bob", "victor"])
def test_it_requires_admin_for_members(world, client, user):
    client.force_login(getattr(world, user))
    assert client.get("/t/acme/settings/members/").status_code == 403
    assert client.post("/t/acme/settings/members/", {"email": "x@example.com", "role": "admin"}).status_code == 403
    with tenant_context(world.a):
        assert not MembershipInvitation.objects.exists()


def test_it_invites_a_member_by_email(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    with tenant_context(world.a):
        team = Team.objects.get(name="Support")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/settings/members/", {"email": "Sam@Example.com", "role": "cx_lead", "team": team.uuid})
    assert response.status_code == 302

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@example.com"]
    assert "Acme Advisory" in message.subject
    link = _link_in(message)
    raw_token = link.split("/")[2]

    with tenant_context(world.a):
        invitation = MembershipInvitation.objects.get()
    assert invitation.email == "sam@example.com"
    assert (invitation.role, invitation.team_id, invitation.invited_by) == (Role.CX_LEAD, team.pk, world.alice)
    assert invitation.status == MembershipInvitation.Status.PENDING
    assert timedelta(days=6, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    # Only the token's hash is stored.
    assert invitation.token_hash == hashlib.sha256(raw_token.encode()).hexdigest()
    assert raw_token not in invitation.token_hash

    [event] = _events(world.a, action="member.invited")
    assert (event.actor, event.target_label, event.changes) == (world.alice, "sam@example.com", {"role": [None, "cx_lead"]})

    body = client.get("/t/acme/settings/members/").content.decode()
    assert "Pending invitations" in body
    assert "sam@example.com" in body


def test_it_sends_no_email_when_the_invitation_fails(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/settings/members/", {"email": "not-an-email", "role": "staff"})
    assert response.status_code == 400
    assert mail.outbox == []


def test_it_rejects_inviting_an_existing_member(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/settings/members/", {"email": "BOB@example.com", "role": "admin"})
    assert response.status_code == 400
    assert "This person is already a member of this workspace." in response.content.decode()
    assert mail.outbox == []
    with tenant_context(world.a):
        assert not MembershipInvitation.objects.exists()
    assert _events(world.a, action="member.invited") == []


def test_it_invites_a_member_of_another_tenant(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/settings/members/", {"email": "charlie@example.com", "role": "viewer"})
    assert response.status_code == 302
    assert mail.outbox[0].to == ["charlie@example.com"]


def test_it_rejects_a_team_of_another_tenant_in_an_invitation(world, client):
    with tenant_context(world.b):
        foreign_team = Team.objects.get(name="Support")
    client.force_login(world.alice)
    response = client.post("/t/acme/settings/members/", {"email": "sam@example.com", "role": "staff", "team": foreign_team.uuid})
    assert response.status_code == 400
    with tenant_context(world.a):
        assert not MembershipInvitation.objects.exists()


def test_it_replaces_a_pending_invitation_on_reinvite(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/t/acme/settings/members/", {"email": "sam@example.com", "role": "staff"})
        client.post("/t/acme/settings/members/", {"email": "sam@example.com", "role": "viewer"})
    assert len(mail.outbox) == 2
    first, second = _link_in(mail.outbox[0]), _link_in(mail.outbox[1])
    with tenant_context(world.a):
        invitations = {i.status: i for i in MembershipInvitation.objects.all()}
    assert set(invitations) == {"pending", "revoked"}
    assert invitations["pending"].role == Role.VIEWER

    client.logout()
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_it_revokes_an_invitation(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/t/acme/settings/members/", {"email": "sam@example.com", "role": "staff"})
    with tenant_context(world.a):
        invitation = MembershipInvitation.objects.get()
    response = client.post(f"/t/acme/settings/invitations/{invitation.uuid}/revoke/")
    assert response.status_code == 302
    with tenant_context(world.a):
        invitation.refresh_from_db()
    assert invitation.status == MembershipInvitation.Status.REVOKED
    assert len(_events(world.a, action="member.invitation_revoked")) == 1
    client.logout()
    assert client.get(_link_in(mail.outbox[0])).status_code == 410


def test_it_changes_a_role_and_audits_it(world, client):
    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)
    response = client.get(f"/t/acme/settings/members/{bob.uuid}/")
    assert response.status_code == 200
    response = client.post(f"/t/acme/settings/members/{bob.uuid}/", {"role": "cx_lead"})
    assert response.status_code == 302
    assert world.membership(world.bob, world.a).role == Role.CX_LEAD

    [event] = _events(world.a, action="member.updated")
    assert event.actor == world.alice
    assert event.target_id == str(bob.uuid)
    assert event.target_label == "bob@example.com"
    assert event.changes == {"role": ["staff", "cx_lead"]}

    # The new role applies on bob's next request.
    bob_client = Client()
    bob_client.force_login(world.bob)
    assert bob_client.get("/t/acme/").url == "/t/acme/dashboards/"  # a lead lands on the CX lead overview


def test_it_assigns_a_team(world, client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        team = Team.objects.get(name="Support")
    client.force_login(world.alice)
    response = client.post(f"/t/acme/settings/members/{bob.uuid}/", {"role": "staff", "team": team.uuid})
    assert response.status_code == 302
    assert world.membership(world.bob, world.a).team_id == team.pk
    [event] = _events(world.a, action="member.updated")
    assert event.changes == {"team": ["", "Support"]}


def test_it_refuses_to_demote_the_last_admin(world, client):
    alice = world.membership(world.alice, world.a)
    client.force_login(world.alice)
    response = client.post(f"/t/acme/settings/members/{alice.uuid}/", {"role": "staff"})
    assert response.status_code == 400
    assert "at least one active admin" in response.content.decode()
    assert world.membership(world.alice, world.a).role == Role.ADMIN
    assert _events(world.a, action="member.updated") == []


def test_it_lets_an_admin_step_down_when_another_remains(world, client):
    with tenant_context(world.a):
        Membership.objects.filter(user=world.carol).update(role=Role.ADMIN)
    alice = world.membership(world.alice, world.a)
    client.force_login(world.alice)
    assert client.post(f"/t/acme/settings/members/{alice.uuid}/", {"role": "staff"}).status_code == 302
    assert world.membership(world.alice, world.a).role == Role.STAFF


def test_it_404s_for_a_member_of_another_tenant(world, client):
    charlie = world.membership(world.charlie, world.b)
    client.force_login(world.alice)
    for url in [f"/t/acme/settings/members/{charlie.uuid}/", f"/t/acme/settings/members/{uuid.uuid4()}/"]:
        assert client.get(url).status_code == 404
        assert client.post(url, {"role": "staff"}).status_code == 404
    assert client.post(f"/t/acme/settings/members/{charlie.uuid}/deactivate/").status_code == 404
    assert world.membership(world.charlie, world.b).role == Role.ADMIN
    assert world.membership(world.charlie, world.b).is_active


def test_it_deactivates_a_member_and_ends_their_sessions(world, client):
    bob_client = Client()
    assert bob_client.post("/accounts/login/", {"login": "bob@example.com", "password": PASSWORD}).status_code == 302
    assert bob_client.get("/t/acme/", follow=True).status_code == 200

    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)
    response = client.post(f"/t/acme/settings/members/{bob.uuid}/deactivate/")
    assert response.status_code == 302

    membership = world.membership(world.bob, world.a)
    assert not membership.is_active
    assert membership.deactivated_at is not None
    [event] = _events(world.a, action="member.deactivated")
    assert (event.actor, event.target_label) == (world.alice, "bob@example.com")

    # bob's open session has ended...
    response = bob_client.get("/t/acme/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    # ... and signing in again does not give back the tenant.
    assert bob_client.post("/accounts/login/", {"login": "bob@example.com", "password": PASSWORD}).status_code == 302
    assert bob_client.get("/t/acme/").status_code == 404
    # The admin's own session is untouched.
    assert client.get("/t/acme/settings/members/").status_code == 200


def test_it_keeps_other_tenants_after_deactivation(world, client):
    dana_client = Client()
    dana_client.force_login(world.dana)
    dana = world.membership(world.dana, world.a)
    client.force_login(world.alice)
    client.post(f"/t/acme/settings/members/{dana.uuid}/deactivate/")

    assert dana_client.get("/t/globex/").url.startswith("/accounts/login/")  # every session ended
    dana_client.post("/accounts/login/", {"login": "dana@example.com", "password": PASSWORD})
    assert dana_client.get("/t/globex/", follow=True).status_code == 200
    assert dana_client.get("/t/acme/").status_code == 404


def test_it_refuses_to_deactivate_oneself(world, client):
    alice = world.membership(world.alice, world.a)
    client.force_login(world.alice)
    response = client.post(f"/t/acme/settings/members/{alice.uuid}/deactivate/", follow=True)
    assert response.status_code == 200
    assert "You cannot deactivate yourself." in response.content.decode()
    assert world.membership(world.alice, world.a).is_active


def test_it_does_not_deactivate_with_get(world, client):
    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)
    assert client.get(f"/t/acme/settings/members/{bob.uuid}/deactivate/").status_code == 405
    assert world.membership(world.bob, world.a).is_active


def test_it_reactivates_a_member(world, client):
    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)
    client.post(f"/t/acme/settings/members/{bob.uuid}/deactivate/")
    response = client.post(f"/t/acme/settings/members/{bob.uuid}/reactivate/")
    assert response.status_code == 302
    assert world.membership(world.bob, world.a).is_active
    assert len(_events(world.a, action="member.reactivated")) == 1
    bob_client = Client()
    bob_client.post("/accounts/login/", {"login": "bob@example.com", "password": PASSWORD})
    assert bob_client.get("/t/acme/", follow=True).status_code == 200


def test_it_writes_nothing_when_a_page_request_fails_midway(world, client, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("apps.tenancy.services.audit_event_record", broken_audit)
    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)
    client.raise_request_exception = False
    response = client.post(f"/t/acme/settings/members/{bob.uuid}/deactivate/")
    assert response.status_code == 500
    assert world.membership(world.bob, world.a).is_active
    response = client.post("/t/acme/settings/", {**SETTINGS, "name": "Half written"})
    assert response.status_code == 500
    world.a.refresh_from_db()
    assert world.a.name == "Acme Advisory"


def test_it_keeps_member_page_queries_constant(world, client, django_assert_max_num_queries):
    client.force_login(world.alice)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/t/acme/settings/members/").status_code == 200
    for _ in range(30):
        MembershipFactory(tenant=world.a, user=UserFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/t/acme/settings/members/")
    assert response.status_code == 200
    assert response.content.decode().count("Deactivate<span") >= 30


# --- teams ------------------------------------------------------------------------------------------

def test_it_creates_and_deletes_a_team(world, client):
    client.force_login(world.alice)
    assert client.post("/t/acme/settings/teams/", {"name": "Field sales"}).status_code == 302
    with tenant_context(world.a):
        team = Team.objects.get(name="Field sales")
    assert len(_events(world.a, action="team.created")) == 1
    assert client.post(f"/t/acme/settings/teams/{team.uuid}/delete/").status_code == 302
    with tenant_context(world.a):
        assert not Team.objects.filter(name="Field sales").exists()
    assert len(_events(world.a, action="team.deleted")) == 1


def test_it_keeps_members_of_a_deleted_team(world, client):
    with tenant_context(world.a):
        team = Team.objects.get(name="Support")
        Membership.objects.filter(user=world.bob).update(team=team)
    client.force_login(world.alice)
    assert client.post(f"/t/acme/settings/teams/{team.uuid}/delete/").status_code == 302
    bob = world.membership(world.bob, world.a)
    assert bob.is_active
    assert bob.team_id is None
    assert bob.role == Role.STAFF


def test_it_refuses_a_duplicate_team_name(world, client):
    client.force_login(world.alice)
    response = client.post("/t/acme/settings/teams/", {"name": "Support"}, follow=True)
    assert "Team not created" in response.content.decode()
    with tenant_context(world.a):
        assert Team.objects.filter(name="Support").count() == 1


# --- API keys page --------------------------------------------------------------------------------

def test_it_creates_an_api_key_and_shows_it_once(world, client, api_client):
    client.force_login(world.alice)
    response = client.post("/t/acme/settings/api-keys/", {"name": "CRM sync", "role": "staff"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    match = re.search(r'id="new-key"[^>]*value="(cxm_[0-9a-f]{12}_[^"]+)"', response.content.decode())
    assert match
    raw_key = match.group(1)

    with tenant_context(world.a):
        api_key = ApiKey.objects.get(name="CRM sync")
    assert api_key.role == Role.STAFF
    assert api_key.created_by == world.alice
    assert api_key.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key.split("_", 2)[2] not in api_key.hashed_key
    [event] = _events(world.a, action="api_key.created")
    assert (event.actor, event.target_id) == (world.alice, str(api_key.uuid))

    # Never shown again.
    body = client.get("/t/acme/settings/api-keys/").content.decode()
    assert "CRM sync" in body
    assert raw_key not in body
    assert f"cxm_{api_key.prefix}_" in body

    # It works as a Bearer token, with its role.
    response = api_client.get(f"{API}/me/", **_bearer(raw_key))
    assert response.status_code == 200
    assert response.json()["role"] == "staff"
    assert response.json()["principal"] == f"api_key:{api_key.prefix}"


def test_it_revokes_an_api_key_from_the_page(world, client, api_client):
    api_key, raw_key = make_api_key(world.a, Role.ADMIN)
    assert api_client.get(f"{API}/me/", **_bearer(raw_key)).status_code == 200
    client.force_login(world.alice)
    assert client.post(f"/t/acme/settings/api-keys/{api_key.uuid}/revoke/").status_code == 302
    response = api_client.get(f"{API}/me/", **_bearer(raw_key))
    assert response.status_code == 401
    assert _error_code(response) == "invalid_api_key"
    assert len(_events(world.a, action="api_key.revoked")) == 1


def test_it_requires_admin_for_api_keys(world, client):
    client.force_login(world.carol)
    assert client.get("/t/acme/settings/api-keys/").status_code == 403
    assert client.post("/t/acme/settings/api-keys/", {"name": "x", "role": "admin"}).status_code == 403
    with tenant_context(world.a):
        assert not ApiKey.objects.exists()


# --- audit log page -------------------------------------------------------------------------------

def test_it_lists_audit_events_with_actor_target_and_time(world, client):
    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)
    client.post(f"/t/acme/settings/members/{bob.uuid}/", {"role": "viewer"})
    client.post("/t/acme/settings/teams/", {"name": "Night shift"})
    with tenant_context(world.b):
        audit_event_record(tenant=world.b, acting_user=world.charlie, action="team.created", target_label="Globex only")

    response = client.get("/t/acme/settings/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "member.updated" in body
    assert "team.created" in body
    assert "alice@example.com" in body
    assert "bob@example.com" in body
    assert "Night shift" in body
    assert "<b>role</b>: staff → viewer" in body
    assert "When (UTC)" in body
    [event] = _events(world.a, action="member.updated")
    when = event.created_at.astimezone(UTC)
    assert f'datetime="{when.isoformat()}"' in body  # machine-readable UTC time
    assert when.strftime("%Y-%m-%d") in body
    assert when.strftime("%H:%M:%S") in body  # and what people read
    assert "Globex only" not in body


def test_it_filters_the_audit_log(world, client):
    bob = world.membership(world.bob, world.a)
    client.force_login(world.alice)
    client.post(f"/t/acme/settings/members/{bob.uuid}/", {"role": "viewer"})
    client.post("/t/acme/settings/teams/", {"name": "Night shift"})
    with tenant_context(world.a):
        audit_event_record(tenant=world.a, acting_user=world.carol, action="team.created", target_label="Carol's team")

    body = _audit_rows(client.get("/t/acme/settings/audit/", {"action": "team.created"}))
    assert "Night shift" in body
    assert "Carol&#x27;s team" in body
    assert "bob@example.com" not in body

    body = _audit_rows(client.get("/t/acme/settings/audit/", {"actor": "carol"}))
    assert "Carol&#x27;s team" in body
    assert "Night shift" not in body
    assert "bob@example.com" not in body


def test_it_paginates_the_audit_log_keeping_filters(world, client):
    with tenant_context(world.a):
        audit_event_record(tenant=world.a, acting_user=world.alice, action="team.created", target_label="by alice")
        for n in range(60):
            audit_event_record(tenant=world.a, acting_user=world.carol, action="team.created", target_label=f"team {n}")
    client.force_login(world.alice)
    response = client.get("/t/acme/settings/audit/", {"action": "team.created", "actor": "carol"})
    body = response.content.decode()
    assert "Page 1 of 2" in body
    older = re.search(r'href="\?([^"]+)">Older', body).group(1).replace("&amp;", "&")
    response = client.get(f"/t/acme/settings/audit/?{older}")
    assert "Page 2 of 2" in response.content.decode()
    body = _audit_rows(response)
    assert "team 0" in body
    assert "by alice" not in body


def test_it_requires_admin_for_the_audit_log(world, client):
    client.force_login(world.carol)
    assert client.get("/t/acme/settings/audit/").status_code == 403


# --- API: me, members -----------------------------------------------------------------------------

def test_it_describes_the_caller(world, api_client):
    api_client.force_login(world.dana)
    response = api_client.get(f"{API}/me/")
    assert response.status_code == 200
    assert response.json() == {"tenant": "acme", "tenant_name": "Acme Advisory", "time_zone": "Europe/Brussels",
                               "role": "staff", "principal": "user:dana@example.com"}
    assert api_client.get("/api/v1/t/globex/me/").json()["role"] == "admin"


def test_it_requires_authentication_for_the_api(world, api_client):
    response = api_client.get(f"{API}/me/")
    assert response.status_code == 401
    assert _error_code(response) == "not_authenticated"


def test_it_404s_for_an_api_tenant_one_does_not_belong_to(world, api_client):
    api_client.force_login(world.alice)
    other = api_client.get("/api/v1/t/globex/members/")
    missing = api_client.get("/api/v1/t/no-such-tenant/members/")
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert _error_code(other) == "not_found"


def test_it_lists_members_over_the_api(world, api_client):
    api_client.force_login(world.carol)  # CX leads may read the member list
    response = api_client.get(f"{API}/members/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    emails = [m["email"] for m in body["results"]]
    assert emails == sorted(emails)
    assert set(emails) == {"alice@example.com", "bob@example.com", "carol@example.com", "dana@example.com", "victor@example.com"}
    alice = next(m for m in body["results"] if m["email"] == "alice@example.com")
    assert alice["id"] == str(world.membership(world.alice, world.a).uuid)
    assert alice["role"] == "admin"


def test_it_filters_members_over_the_api(world, api_client):
    api_client.force_login(world.alice)
    body = api_client.get(f"{API}/members/", {"role": "staff"}).json()
    assert {m["email"] for m in body["results"]} == {"bob@example.com", "dana@example.com"}


def test_it_paginates_members_over_the_api(world, api_client):
    api_client.force_login(world.alice)
    body = api_client.get(f"{API}/members/", {"page_size": 2}).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"]
    assert "page_size=2" in body["next"]
    last = api_client.get(f"{API}/members/", {"page_size": 2, "page": 3}).json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    response = api_client.get(f"{API}/members/", {"page_size": 2, "page": 9})
    assert response.status_code == 400
    assert _error_code(response) == "page_out_of_range"


@pytest.mark.parametrize("params, code", [
    ({"page": "0"}, "invalid_page"), ({"page": "-3"}, "invalid_page"), ({"page": "abc"}, "invalid_page"),
    ({"page": "1.5"}, "invalid_page"), ({"page": "9" * 40}, "invalid_page"),
    ({"page_size": "0"}, "invalid_page_size"), ({"page_size": "-1"}, "invalid_page_size"), ({"page_size": "201"}, "invalid_page_size"),
    ({"page_size": "many"}, "invalid_page_size"), ({"page_size": "1e3"}, "invalid_page_size"),
])
def test_it_refuses_pagination_parameters_out_of_range_with_their_code(world, api_client, params, code):
    """Issue 15: a page size of 0, −1 or 10,000 was silently replaced by the default (or capped), a page
    of 0 or `abc` answered a 404 as if the workspace did not exist."""
    api_client.force_login(world.alice)
    response = api_client.get(f"{API}/members/", params)
    assert response.status_code == 400, response.content
    assert _error_code(response) == code
    assert list(response.json()["error"]["fields"]) == list(params)
    assert api_client.get(f"{API}/members/", {"page": "1", "page_size": "200"}).status_code == 200


@pytest.mark.parametrize("user", ["bob", "victor"])
def test_it_requires_lead_to_list_members(world, api_client, user):
    api_client.force_login(getattr(world, user))
    response = api_client.get(f"{API}/members/")
    assert response.status_code == 403
    assert _error_code(response) == "permission_denied"


def test_it_keeps_member_api_queries_constant(world, api_client, django_assert_max_num_queries):
    api_client.force_login(world.alice)
    with CaptureQueriesContext(connection) as few:
        assert api_client.get(f"{API}/members/").status_code == 200
    for _ in range(30):
        MembershipFactory(tenant=world.a, user=UserFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api_client.get(f"{API}/members/")
    assert response.json()["count"] == 35


def test_it_changes_a_role_over_the_api(world, api_client):
    bob = world.membership(world.bob, world.a)
    api_client.force_login(world.alice)
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"role": "cx_lead"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "cx_lead"
    assert world.membership(world.bob, world.a).role == Role.CX_LEAD
    [event] = _events(world.a, action="member.updated")
    assert (event.actor, event.changes) == (world.alice, {"role": ["staff", "cx_lead"]})


def test_it_sets_and_clears_a_team_over_the_api(world, api_client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        team = Team.objects.get(name="Support")
    api_client.force_login(world.alice)
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"team": str(team.uuid)}, format="json")
    assert response.status_code == 200
    assert response.json()["team"] == str(team.uuid)
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"team": None}, format="json")
    assert response.json()["team"] is None
    assert world.membership(world.bob, world.a).role == Role.STAFF


def test_it_rejects_a_team_of_another_tenant_over_the_api(world, api_client):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.b):
        foreign_team = Team.objects.get(name="Support")
    api_client.force_login(world.alice)
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"team": str(foreign_team.uuid)}, format="json")
    assert response.status_code == 400
    assert _error_code(response) == "validation_error"
    assert "team" in response.json()["error"]["fields"]
    assert world.membership(world.bob, world.a).team_id is None


def test_it_rejects_an_unknown_role_over_the_api(world, api_client):
    bob = world.membership(world.bob, world.a)
    api_client.force_login(world.alice)
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"role": "owner"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]


def test_it_refuses_to_demote_the_last_admin_over_the_api(world, api_client):
    alice = world.membership(world.alice, world.a)
    api_client.force_login(world.alice)
    response = api_client.patch(f"{API}/members/{alice.uuid}/", {"role": "viewer"}, format="json")
    assert response.status_code == 400
    assert _error_code(response) == "validation_error"
    assert world.membership(world.alice, world.a).role == Role.ADMIN


@pytest.mark.parametrize("user", ["carol", "bob"])
def test_it_requires_admin_to_change_a_role(world, api_client, user):
    bob = world.membership(world.bob, world.a)
    api_client.force_login(getattr(world, user))
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert world.membership(world.bob, world.a).role == Role.STAFF


def _globex_objects(world) -> dict:
    """One object of each kind in Globex, which alice (admin of Acme only) must never reach."""
    api_key, _ = make_api_key(world.b, Role.ADMIN)
    with tenant_context(world.b):
        team = Team.objects.get(name="Support")
        invitation, _ = member_invite(tenant=world.b, acting_user=world.charlie, email="sam@example.com", role=Role.STAFF)
    return {"members": world.membership(world.charlie, world.b).uuid, "teams": team.uuid,
            "invitations": invitation.uuid, "api-keys": api_key.uuid}


@pytest.mark.parametrize("path, method, data", [
    ("members/{id}/", "get", None),
    ("members/{id}/", "patch", {"role": "staff"}),
    ("members/{id}/deactivate/", "post", None),
    ("members/{id}/reactivate/", "post", None),
    ("invitations/{id}/", "get", None),
    ("invitations/{id}/", "delete", None),
    ("teams/{id}/", "get", None),
    ("teams/{id}/", "patch", {"name": "Mine now"}),
    ("teams/{id}/", "delete", None),
    ("api-keys/{id}/", "get", None),
    ("api-keys/{id}/", "delete", None),
])
def test_it_404s_for_another_tenants_object_over_the_api(world, api_client, path, method, data):
    ids = _globex_objects(world)
    api_client.force_login(world.alice)
    call = getattr(api_client, method)
    other = call(f"{API}/{path.format(id=ids[path.split('/')[0]])}", data, format="json")
    missing = call(f"{API}/{path.format(id=uuid.uuid4())}", data, format="json")
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert _error_code(other) == "not_found"

    charlie = world.membership(world.charlie, world.b)
    assert charlie.role == Role.ADMIN
    assert charlie.is_active
    with tenant_context(world.b):
        assert Team.objects.filter(uuid=ids["teams"], name="Support").exists()
        assert MembershipInvitation.objects.get(uuid=ids["invitations"]).status == MembershipInvitation.Status.PENDING
        assert ApiKey.objects.get(uuid=ids["api-keys"]).revoked_at is None


@pytest.mark.parametrize("path", [
    "settings/members/{members}/deactivate/",
    "settings/members/{members}/reactivate/",
    "settings/invitations/{invitations}/revoke/",
    "settings/teams/{teams}/delete/",
    "settings/api-keys/{api_keys}/revoke/",
])
def test_it_404s_for_another_tenants_object_on_pages(world, client, path):
    ids = {k.replace("-", "_"): v for k, v in _globex_objects(world).items()}
    client.force_login(world.alice)
    assert client.post("/t/acme/" + path.format(**ids)).status_code == 404
    with tenant_context(world.b):
        assert Team.objects.filter(uuid=ids["teams"]).exists()
        assert MembershipInvitation.objects.get(uuid=ids["invitations"]).status == MembershipInvitation.Status.PENDING
        assert ApiKey.objects.get(uuid=ids["api_keys"]).revoked_at is None
    assert world.membership(world.charlie, world.b).is_active


def test_it_deactivates_a_member_over_the_api(world, api_client):
    bob_client = Client()
    bob_client.force_login(world.bob)
    bob = world.membership(world.bob, world.a)
    api_client.force_login(world.alice)
    response = api_client.post(f"{API}/members/{bob.uuid}/deactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["deactivated_at"]
    assert not world.membership(world.bob, world.a).is_active
    assert len(_events(world.a, action="member.deactivated")) == 1
    assert bob_client.get("/t/acme/").url.startswith("/accounts/login/")

    response = api_client.post(f"{API}/members/{bob.uuid}/reactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is True


def test_it_refuses_to_deactivate_oneself_over_the_api(world, api_client):
    alice = world.membership(world.alice, world.a)
    api_client.force_login(world.alice)
    response = api_client.post(f"{API}/members/{alice.uuid}/deactivate/")
    assert response.status_code == 400
    assert _error_code(response) == "validation_error"
    assert world.membership(world.alice, world.a).is_active


def test_it_refuses_to_deactivate_the_last_admin(world, api_client):
    _, raw_key = make_api_key(world.a, Role.ADMIN)
    alice = world.membership(world.alice, world.a)
    response = api_client.post(f"{API}/members/{alice.uuid}/deactivate/", **_bearer(raw_key))
    assert response.status_code == 400
    assert "at least one active admin" in str(response.json()["error"]["fields"])
    assert world.membership(world.alice, world.a).is_active
    assert _events(world.a, action="member.deactivated") == []


def test_it_requires_admin_to_deactivate(world, api_client):
    bob = world.membership(world.bob, world.a)
    api_client.force_login(world.carol)
    assert api_client.post(f"{API}/members/{bob.uuid}/deactivate/").status_code == 403
    assert world.membership(world.bob, world.a).is_active


def test_it_writes_nothing_when_an_api_request_fails_midway(world, api_client, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("apps.tenancy.services.audit_event_record", broken_audit)
    bob = world.membership(world.bob, world.a)
    api_client.force_login(world.alice)
    api_client.raise_request_exception = False
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"role": "admin"}, format="json")
    assert response.status_code == 500
    assert _error_code(response) == "server_error"
    assert world.membership(world.bob, world.a).role == Role.STAFF
    response = api_client.post(f"{API}/api-keys/", {"name": "half", "role": "viewer"}, format="json")
    assert response.status_code == 500
    with tenant_context(world.a):
        assert not ApiKey.objects.exists()


# --- API: invitations -----------------------------------------------------------------------------

def test_it_invites_over_the_api(world, api_client, client, django_capture_on_commit_callbacks):
    api_client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{API}/invitations/", {"email": "sam@example.com", "role": "viewer"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["status"]) == ("sam@example.com", "viewer", "pending")
    assert "token" not in str(body)
    assert "token_hash" not in body
    assert len(mail.outbox) == 1
    link = _link_in(mail.outbox[0])

    listed = api_client.get(f"{API}/invitations/").json()
    assert [i["id"] for i in listed["results"]] == [body["id"]]

    password = "a-brand-new-passphrase-42"
    response = client.post(link, {"full_name": "Sam", "password1": password, "password2": password})
    assert response.status_code == 302
    assert api_client.get(f"{API}/invitations/", {"status": "accepted"}).json()["count"] == 1
    assert client.get(link).status_code == 410


def test_it_rejects_inviting_an_existing_member_over_the_api(world, api_client, django_capture_on_commit_callbacks):
    api_client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{API}/invitations/", {"email": "dana@example.com", "role": "admin"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["email"] == ["This person is already a member of this workspace."]
    assert mail.outbox == []


def test_it_rejects_a_malformed_invitation_over_the_api(world, api_client):
    api_client.force_login(world.alice)
    response = api_client.post(f"{API}/invitations/", {"email": "nope", "role": "boss"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"email", "role"}


def test_it_revokes_an_invitation_over_the_api(world, api_client, client, django_capture_on_commit_callbacks):
    api_client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{API}/invitations/", {"email": "sam@example.com", "role": "staff"}, format="json")
    invitation_id = response.json()["id"]
    assert api_client.delete(f"{API}/invitations/{invitation_id}/").status_code == 204
    assert api_client.get(f"{API}/invitations/{invitation_id}/").json()["status"] == "revoked"
    assert client.get(_link_in(mail.outbox[0])).status_code == 410


def test_it_requires_admin_to_invite_over_the_api(world, api_client):
    api_client.force_login(world.carol)
    response = api_client.post(f"{API}/invitations/", {"email": "sam@example.com", "role": "admin"}, format="json")
    assert response.status_code == 403
    assert _error_code(response) == "permission_denied"


# --- API: teams -----------------------------------------------------------------------------------

def test_it_lists_and_creates_teams_over_the_api(world, api_client):
    api_client.force_login(world.victor)
    body = api_client.get(f"{API}/teams/").json()
    assert [t["name"] for t in body["results"]] == ["Support"]
    response = api_client.post(f"{API}/teams/", {"name": "Sales"}, format="json")
    assert response.status_code == 403

    api_client.force_login(world.alice)
    response = api_client.post(f"{API}/teams/", {"name": "Sales", "description": "Field"}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "Sales"
    response = api_client.post(f"{API}/teams/", {"name": "Sales"}, format="json")
    assert response.status_code == 400
    assert _error_code(response) == "validation_error"
    with tenant_context(world.b):
        assert not Team.objects.filter(name="Sales").exists()


# --- API: keys ------------------------------------------------------------------------------------

def test_it_creates_an_api_key_over_the_api_and_shows_it_once(world, api_client):
    api_client.force_login(world.alice)
    response = api_client.post(f"{API}/api-keys/", {"name": "BI export", "role": "viewer"}, format="json")
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    raw_key = body["key"]
    assert re.fullmatch(r"cxm_[0-9a-f]{12}_\S{32,}", raw_key)
    assert raw_key.startswith(f"cxm_{body['prefix']}_")

    listed = api_client.get(f"{API}/api-keys/").json()["results"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0]
    assert raw_key not in str(listed)
    assert "key" not in api_client.get(f"{API}/api-keys/{body['id']}/").json()

    with tenant_context(world.a):
        stored = ApiKey.objects.get(uuid=body["id"])
    assert stored.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key not in {str(v) for v in stored.__dict__.values()}


def test_it_authenticates_with_an_api_key_and_its_role(world, api_client):
    api_key, raw_key = make_api_key(world.a, Role.VIEWER)
    response = api_client.get(f"{API}/teams/", **_bearer(raw_key))
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "Support"
    with tenant_context(world.a):
        assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None

    for method, path in [("get", "members/"), ("get", "api-keys/"), ("get", "audit-events/"), ("get", "invitations/"),
                         ("post", "api-keys/"), ("post", "teams/")]:
        response = getattr(api_client, method)(f"{API}/{path}", {"name": "x", "role": "admin"} if method == "post" else None,
                                               format="json", **_bearer(raw_key))
        assert response.status_code == 403, path
        assert _error_code(response) == "permission_denied"
    with tenant_context(world.a):
        assert ApiKey.objects.count() == 1


def test_it_lets_an_admin_key_administer(world, api_client):
    api_key, raw_key = make_api_key(world.a, Role.ADMIN, name="Provisioning")
    bob = world.membership(world.bob, world.a)
    response = api_client.patch(f"{API}/members/{bob.uuid}/", {"role": "viewer"}, format="json", **_bearer(raw_key))
    assert response.status_code == 200
    [event] = _events(world.a, action="member.updated")
    assert event.actor is None
    assert event.actor_label == f"API key “Provisioning” ({api_key.prefix}…)"


def test_it_404s_for_a_key_of_another_tenant(world, api_client):
    _, raw_key = make_api_key(world.b, Role.ADMIN)
    other = api_client.get(f"{API}/members/", **_bearer(raw_key))
    missing = api_client.get("/api/v1/t/no-such-tenant/members/", **_bearer(raw_key))
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert api_client.get("/api/v1/t/globex/members/", **_bearer(raw_key)).status_code == 200


def test_it_rejects_a_revoked_api_key(world, api_client):
    api_key, raw_key = make_api_key(world.a, Role.ADMIN)
    admin_client = type(api_client)()
    admin_client.force_login(world.alice)
    assert admin_client.delete(f"{API}/api-keys/{api_key.uuid}/").status_code == 204
    assert admin_client.get(f"{API}/api-keys/{api_key.uuid}/").json()["revoked_at"]

    response = api_client.get(f"{API}/me/", **_bearer(raw_key))
    assert response.status_code == 401
    assert _error_code(response) == "invalid_api_key"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer",
    "Bearer ",
    "Bearer not-a-key",
    "Bearer cxm_0123456789ab_short",
    "Bearer cxm_ZZZZZZZZZZZZ_" + "a" * 43,
    "Bearer cxm_0123456789ab_" + "a" * 43,  # well formed, unknown
    "Bearer two parts",
    "bearer cxm_0123456789ab_" + "a" * 43,
])
def test_it_rejects_a_malformed_or_unknown_api_key(world, api_client, header):
    response = api_client.get(f"{API}/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert _error_code(response) == "invalid_api_key"
    assert response.json()["error"]["message"]


def test_it_rejects_a_tampered_api_key(world, api_client):
    _, raw_key = make_api_key(world.a, Role.ADMIN)
    tampered = raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")
    response = api_client.get(f"{API}/me/", **_bearer(tampered))
    assert response.status_code == 401
    assert _error_code(response) == "invalid_api_key"


# --- API: audit events ----------------------------------------------------------------------------

def test_it_lists_audit_events_over_the_api(world, api_client):
    bob = world.membership(world.bob, world.a)
    api_client.force_login(world.alice)
    api_client.patch(f"{API}/members/{bob.uuid}/", {"role": "viewer"}, format="json")
    api_client.post(f"{API}/teams/", {"name": "Sales"}, format="json")
    with tenant_context(world.b):
        audit_event_record(tenant=world.b, acting_user=world.charlie, action="team.created", target_label="Globex only")

    body = api_client.get(f"{API}/audit-events/").json()
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert newest["action"] == "team.created"
    assert newest["target_label"] == "Sales"
    assert oldest["action"] == "member.updated"
    assert oldest["actor"] == "alice@example.com"
    assert oldest["target_type"] == "membership"
    assert oldest["target_id"] == str(bob.uuid)
    assert oldest["changes"] == {"role": ["staff", "viewer"]}
    assert oldest["created_at"].endswith("Z")

    filtered = api_client.get(f"{API}/audit-events/", {"action": "member.updated"}).json()
    assert [e["action"] for e in filtered["results"]] == ["member.updated"]
    assert api_client.get(f"{API}/audit-events/", {"page_size": 1}).json()["next"]


def test_it_requires_admin_for_audit_events_over_the_api(world, api_client):
    api_client.force_login(world.carol)
    response = api_client.get(f"{API}/audit-events/")
    assert response.status_code == 403
    assert _error_code(response) == "permission_denied"
