""""You said, we did" (issue 8 item 4; apps/feedback/announcements/services.py and its pages): who the
affected respondents are (a case's contact; a plan's linked cases and negative answers in its scope and
baseline), who is skipped and why (logged), one e-mail per contact however often it is sent, another
tenant's contacts never reached, the e-mail in the contact's language with an opaque opt-out link that
works (and an altered or forged one that does not); the compose/detail/list pages per role."""

from __future__ import annotations

import base64
import datetime
import re
import zlib

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.clients.models import Contact
from apps.feedback.announcements import services as svc
from apps.feedback.models import Announcement, AnnouncementRecipient
from apps.messaging.models import OutboundEmail
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests import factories as fx
from tests.builders import OPTOUT_LINK, optout_path

pytestmark = pytest.mark.postgres


def recipients(tenant, **kw):
    with tenant_context(tenant):
        return svc.announcement_recipients(tenant=tenant, **kw)


def names(plan):
    return {r.contact.name: r.skip_reason for r in plan.recipients}


# --- the recipients rule --------------------------------------------------------------------------

def test_it_writes_to_a_cases_contact(world, loop):
    got = recipients(world.a, case=loop["case"])
    assert names(got) == {"Ann": ""}
    assert got.anonymous == 0


def test_it_falls_back_to_the_contact_of_the_cases_response(world, loop):
    with tenant_context(world.a):
        case = fx.CaseFactory(tenant=world.a, response=loop["case"].response, contact=None)
    assert names(recipients(world.a, case=case)) == {"Ann": ""}


def test_it_writes_to_a_plans_linked_cases_and_negative_answers_in_scope_and_baseline(world, loop):
    got = recipients(world.a, plan=loop["plan"])
    assert names(got) == {"Ann": "", "Linked": "", "Neg": "", "Neg2": "", "Optout": "opted_out", "Churn": "churned",
                          "Nomail": "no_email"}
    assert got.anonymous == 1
    assert len(got.to_send) == 4
    assert len(got.skipped) == 3
    assert got.skipped_by_reason == [("Client has churned", 1), ("No e-mail address", 1), ("Opted out of messages", 1)]


def test_it_never_reaches_another_tenants_contacts(world, loop):
    with tenant_context(world.a):
        loop["plan"].touchpoint = None
        loop["plan"].save()
    got = recipients(world.a, plan=loop["plan"])
    assert "b@globex.example" not in {r.contact.email for r in got.recipients}
    assert "Portal" in names(got)  # the scope widened: still only tenant A's answers


# --- drafts ---------------------------------------------------------------------------------------

def test_it_prefills_a_draft_from_the_case(world, loop):
    with tenant_context(world.a):
        a = svc.announcement_draft_for_case(tenant=world.a, acting_member=loop["alice"], case=loop["case"])
    assert a.status == "draft"
    assert a.case == loop["case"]
    assert a.you_said == "Nobody called me back for a week."
    assert a.we_did == "We now call back within one working day."
    assert a.subject == "You said, we did: slow reply"


def test_it_prefills_a_draft_from_the_plan(world, loop):
    with tenant_context(world.a):
        a = svc.announcement_draft_for_plan(tenant=world.a, acting_member=loop["alice"], plan=loop["plan"])
    assert a.plan == loop["plan"]
    assert "Faster call-backs" in a.subject
    assert "recommend" in a.you_said
    assert "Phone" in a.you_said
    assert "Hired two agents." in a.we_did
    assert "We now call back within one working day." in a.we_did


def test_an_empty_text_is_refused_and_nothing_is_written(world, loop):
    with tenant_context(world.a):
        before = Announcement.objects.count()
        with pytest.raises(ValidationError) as exc:
            svc.announcement_draft_for_case(tenant=world.a, acting_member=loop["alice"], case=loop["case"], we_did="   ")
        assert "we_did" in exc.value.message_dict
        assert Announcement.objects.count() == before


def test_a_sent_message_cannot_be_edited(world, loop):
    with tenant_context(world.a):
        a = svc.announcement_draft_for_case(tenant=world.a, acting_member=loop["alice"], case=loop["case"])
        svc.announcement_update(tenant=world.a, acting_member=loop["alice"], announcement=a, subject="Thanks", you_said="x", we_did="y")
        a.refresh_from_db()
        assert a.subject == "Thanks"
        svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=a)
        with pytest.raises(ValidationError):
            svc.announcement_update(tenant=world.a, acting_member=loop["alice"], announcement=a, subject="New", you_said="x", we_did="y")


# --- sending --------------------------------------------------------------------------------------


def _send_plan(world, loop):
    with tenant_context(world.a):
        a = svc.announcement_draft_for_plan(tenant=world.a, acting_member=loop["alice"], plan=loop["plan"])
        return svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=a)


def test_it_sends_one_email_per_contact_and_logs_the_skipped(world, loop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        a = _send_plan(world, loop)
    assert a.status == "sent"
    assert a.sent_at is not None
    assert a.sent_by == loop["alice"]
    assert (a.recipients_count, a.skipped_count) == (4, 3)
    with tenant_context(world.a):
        rows = {r.contact.name: r for r in AnnouncementRecipient.objects.filter(announcement=a).select_related("contact", "outbound_email")}
        assert {n: (r.status, r.skip_reason) for n, r in rows.items()} == {
            "Ann": ("queued", ""), "Linked": ("queued", ""), "Neg": ("queued", ""), "Neg2": ("queued", ""),
            "Optout": ("skipped", "opted_out"), "Churn": ("skipped", "churned"), "Nomail": ("skipped", "no_email")}
        emails = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ANNOUNCEMENT)
        assert emails.count() == 4
        assert ({e.to_email for e in emails} == {"ann@client.example", "linked@x.example", "neg@x.example",
                                                                          "neg2@x.example"})
        assert rows["Ann"].outbound_email.message_id == f"<announcement-{a.uuid}-{loop['ann'].uuid}@{svc.message_domain()}>"
        assert AuditEvent.objects.filter(action="announcement.sent", target_id=str(a.uuid)).count() == 1


def test_a_second_send_never_emails_anyone_twice(world, loop):
    a = _send_plan(world, loop)
    with tenant_context(world.a):
        again = svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=a)  # double click
        assert again.sent_at == a.sent_at
        Announcement.objects.filter(pk=a.pk).update(status="draft")  # a retry after a crash part-way
        svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=a)
        assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ANNOUNCEMENT).count() == 4
        assert AnnouncementRecipient.objects.filter(announcement=a).count() == 7


def test_the_email_is_in_the_contacts_language_from_the_tenants_sender(world, loop):
    with tenant_context(world.a):
        Contact.objects.filter(pk=loop["ann"].pk).update(locale="fr")
        world.a.sender_name, world.a.locale = "Acme Care", "nl"
        world.a.save()
        a = svc.announcement_draft_for_case(tenant=world.a, acting_member=loop["alice"], case=loop["case"])
        svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=a)
        email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.ANNOUNCEMENT)
    assert "Bonjour Ann," in email.body_text
    assert "Vous nous avez dit" in email.body_html
    assert "Acme Care" in email.body_text
    assert "We now call back within one working day." in email.body_html
    path = OPTOUT_LINK.search(email.body_text).group(1)
    assert path in email.body_html
    fallback = Contact(locale="xx", name="Z")
    assert svc.language_for(world.a, fallback) == "nl"  # the workspace's language
    world.a.locale = "en"
    assert svc.language_for(world.a, fallback) == "en"


# --- the opt-out link -----------------------------------------------------------------------------

def test_the_optout_link_asks_then_opts_out(world, loop, client):
    a = _send_plan(world, loop)
    path = optout_path(world.a, loop["ann"])
    got = client.get(path)
    assert got.status_code == 200
    assert "Stop sending me messages" in got.content.decode()
    with tenant_context(world.a):
        assert not Contact.objects.get(pk=loop["ann"].pk).opted_out  # a GET changes nothing
    done = client.post(path)
    assert done.status_code == 200
    assert "You will not receive messages any more" in done.content.decode()
    with tenant_context(world.a):
        assert Contact.objects.get(pk=loop["ann"].pk).opted_out
        row = AnnouncementRecipient.objects.get(announcement=a, contact=loop["ann"])
        assert OutboundEmail.objects.get(pk=row.outbound_email_id).status == "failed"  # the pending e-mail is cancelled
        assert AuditEvent.objects.filter(action="contact.opted_out", target_id=str(loop["ann"].uuid)).count() == 1
    assert client.post(path).status_code == 200  # idempotent
    assert names(recipients(world.a, case=loop["case"])) == {"Ann": "opted_out"}


def test_the_optout_link_is_opaque(world, loop):
    """Issue 15: the link was a signed but readable payload of the tenant's and the contact's uuids. Now it
    is a random token; the recipient row keeps only its SHA-256."""
    _send_plan(world, loop)
    for name in ("neg", "neg2", "linked"):
        contact = loop["people"][name]
        token = optout_path(world.a, contact).split("/")[2]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token
        decoded = [token.encode()]
        for part in token.split(":"):
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            decoded.append(raw)
            try:
                decoded.append(zlib.decompress(raw))
            except zlib.error:
                pass
        for secret in (world.a.uuid, contact.uuid):
            for form in (str(secret).encode(), secret.hex.encode(), secret.bytes):
                assert not any(form in blob for blob in decoded), f"{name}: the link {token} carries {secret}"
        with tenant_context(world.a):
            row = AnnouncementRecipient.objects.get(contact=contact)
        assert row.optout_token_hash == svc.optout_token_hash(token)
        assert token not in str(vars(row))


def test_a_forged_or_altered_optout_link_does_nothing(world, loop, client):
    _send_plan(world, loop)
    token = optout_path(world.a, loop["ann"]).split("/")[2]
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = [
        altered,  # one character changed
        token[:-1],  # cut short
        token + "A",  # made longer
        svc.optout_token_new()[0],  # a well-formed token nobody was sent
        svc.optout_token_hash(token),  # the stored hash instead of the token
        signing.dumps({"t": str(world.a.uuid), "c": str(loop["people"]["neg"].uuid)}, salt="another-salt"),  # another salt
        signing.dumps({"t": str(world.a.uuid), "c": str(loop["people"]["neg"].uuid)}, key="not-our-key", salt=svc.OPTOUT_SALT),
        "garbage",
    ]
    for value in forged:
        for method in ("get", "post"):
            got = getattr(client, method)(f"/u/{value}/")
            assert got.status_code == 404, value
    # An older, signed link naming tenant B's contact under tenant A's uuid finds no contact: 404.
    mixed = signing.dumps({"t": str(world.a.uuid), "c": str(loop["b_contact"].uuid)}, salt=svc.OPTOUT_SALT)
    assert client.post(f"/u/{mixed}/").status_code == 404
    with tenant_context(world.a):
        assert not Contact.objects.filter(opted_out=True).exclude(pk=loop["people"]["optout"].pk).exists()
    with tenant_context(world.b):
        assert not Contact.objects.get(pk=loop["b_contact"].pk).opted_out


def test_a_link_whose_contact_is_gone_does_nothing(world, loop, client):
    _send_plan(world, loop)
    path = optout_path(world.a, loop["people"]["neg"])
    with tenant_context(world.a):
        Contact.objects.filter(pk=loop["people"]["neg"].pk).delete()
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_each_tenants_links_opt_out_only_its_own_contact(world, loop, client):
    _send_plan(world, loop)
    with tenant_context(world.b):
        b_case = fx.CaseFactory(tenant=world.b, client=loop["b_contact"].client, contact=loop["b_contact"], status="resolved",
                                action_taken="Fixed it.", root_cause=fx.RootCauseFactory(tenant=world.b), resolved_at=timezone.now())
        draft = svc.announcement_draft_for_case(tenant=world.b, acting_member=world.membership(world.charlie, world.b), case=b_case)
        svc.announcement_send(tenant=world.b, acting_member=world.membership(world.charlie, world.b), announcement=draft)
    assert client.post(optout_path(world.b, loop["b_contact"])).status_code == 200
    with tenant_context(world.b):
        assert Contact.objects.get(pk=loop["b_contact"].pk).opted_out
    with tenant_context(world.a):
        assert not Contact.objects.filter(opted_out=True).exclude(pk=loop["people"]["optout"].pk).exists()


def test_links_of_the_older_signed_form_still_opt_out(world, loop, client):
    """E-mails sent before the links became opaque carry signed links; they keep working."""
    legacy = signing.dumps({"t": str(world.a.uuid), "c": str(loop["ann"].uuid)}, salt=svc.OPTOUT_SALT, compress=False)
    assert client.get(f"/u/{legacy}/").status_code == 200
    assert client.post(f"/u/{legacy}/").status_code == 200
    with tenant_context(world.a):
        assert Contact.objects.get(pk=loop["ann"].pk).opted_out


# --- pages ----------------------------------------------------------------------------------------

def new_case_url(loop):
    return f"/t/acme/announcements/new/case/{loop['case'].uuid}/"


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_leads_compose_from_a_case_with_preview_and_recipients(who, world, loop, client):
    client.force_login(getattr(world, who))
    got = client.get(new_case_url(loop))
    assert got.status_code == 200
    html = got.content.decode()
    assert "Nobody called me back for a week." in html
    assert "We now call back within one working day." in html
    assert 'data-recipients>1<' in html
    assert 'data-skipped>0<' in html
    assert "Preview of the e-mail" in html
    assert "Hello," in html


@pytest.mark.parametrize("who", ["bob", "victor"])
def test_staff_and_viewers_cannot_compose(who, world, loop, client):
    client.force_login(getattr(world, who))
    assert client.get(new_case_url(loop)).status_code == 403
    assert client.post(new_case_url(loop), {"action": "send", "confirm": "on"}).status_code == 403


def test_another_tenants_case_is_a_404(world, loop, client):
    with tenant_context(world.b):
        foreign = fx.CaseFactory(tenant=world.b)
    client.force_login(world.alice)
    assert client.get(f"/t/acme/announcements/new/case/{foreign.uuid}/").status_code == 404
    client.force_login(world.charlie)
    assert client.get(new_case_url(loop)).status_code == 404


def test_the_live_preview_answers_the_fragment(world, loop, client):
    client.force_login(world.carol)
    got = client.post(new_case_url(loop), {"action": "preview", "subject": "Hi", "you_said": "It was slow", "we_did": "Faster now"},
                      headers={"HX-Request": "true"})
    html = got.content.decode().strip()
    assert got.status_code == 200
    assert html.startswith("{% comment %}") is False
    assert 'id="announcement-preview"' in html
    assert "<html" not in html
    assert "Faster now" in html
    assert "It was slow" in html
    with tenant_context(world.a):
        assert not Announcement.objects.exists()


def test_sending_needs_the_confirmation_and_happens_once(world, loop, client):
    client.force_login(world.carol)
    data = {"subject": "You said, we did", "you_said": "Slow call-backs", "we_did": "One working day now"}
    refused = client.post(new_case_url(loop), {**data, "action": "send"})
    assert refused.status_code == 400
    assert "Tick the box to confirm" in refused.content.decode()
    with tenant_context(world.a):
        assert not Announcement.objects.exists()
        assert not OutboundEmail.objects.exists()
    sent = client.post(new_case_url(loop), {**data, "action": "send", "confirm": "on"})
    assert sent.status_code == 302
    with tenant_context(world.a):
        a = Announcement.objects.get()
        assert a.status == "sent"
        assert a.recipients_count == 1
        assert a.sent_by.user == world.carol
    assert sent.url == f"/t/acme/announcements/{a.uuid}/"
    again = client.post(sent.url, {"action": "send", "confirm": "on"})
    assert again.status_code == 302
    with tenant_context(world.a):
        assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ANNOUNCEMENT).count() == 1


def test_a_draft_is_saved_edited_then_sent_from_its_page(world, loop, client):
    client.force_login(world.alice)
    saved = client.post(new_case_url(loop), {"action": "save", "subject": "Draft", "you_said": "a", "we_did": "b"})
    assert saved.status_code == 302
    page = client.get(saved.url)
    assert page.status_code == 200
    assert "Save the draft" in page.content.decode()
    assert client.post(saved.url, {"action": "save", "subject": "", "you_said": "a", "we_did": "b"}).status_code == 400
    assert client.post(saved.url, {"action": "save", "subject": "Better", "you_said": "a", "we_did": "b"}).status_code == 302
    assert client.post(saved.url, {"action": "send", "confirm": "on"}).status_code == 302
    with tenant_context(world.a):
        a = Announcement.objects.get()
        assert (a.subject, a.status) == ("Better", "sent")


def test_viewers_read_the_log_but_cannot_send(world, loop, client):
    a = _send_plan(world, loop)
    client.force_login(world.victor)
    got = client.get(f"/t/acme/announcements/{a.uuid}/")
    html = got.content.decode()
    assert got.status_code == 200
    assert "Send log" in html
    assert "Skipped: Opted out of messages" in html
    assert "Skipped: Client has churned" in html
    assert "E-mail: Pending" in html
    assert 'data-recipients>4<' in html
    assert 'data-skipped>3<' in html
    assert client.post(f"/t/acme/announcements/{a.uuid}/", {"action": "send", "confirm": "on"}).status_code == 403
    listing = client.get("/t/acme/announcements/")
    assert listing.status_code == 200
    assert a.subject in listing.content.decode()
    client.force_login(world.bob)
    assert client.get("/t/acme/announcements/").status_code == 403


def test_leads_compose_from_a_plan(world, loop, client):
    client.force_login(world.carol)
    got = client.get(f"/t/acme/announcements/new/plan/{loop['plan'].uuid}/")
    html = got.content.decode()
    assert got.status_code == 200
    assert "Faster call-backs" in html
    assert 'data-recipients>4<' in html
    assert 'data-skipped>3<' in html
    assert "Opted out of messages: 1" in html
    assert "1 negative answer without a contact" in html


def test_an_empty_list_says_how_messages_appear(world, client):
    client.force_login(world.carol)
    got = client.get("/t/acme/announcements/")
    assert got.status_code == 200
    assert "No messages yet." in got.content.decode()


def test_its_baseline_window_is_inclusive(world, loop):
    plan = loop["plan"]
    assert isinstance(plan.baseline_first, datetime.date)
    assert "Neg2" in names(recipients(world.a, plan=plan))  # answered 59 days ago, inside a 60-day baseline


def test_the_list_offers_leads_a_start_from_resolved_cases_and_plans(world, loop, client):
    client.force_login(world.carol)
    html = client.get("/t/acme/announcements/").content.decode()
    assert f"/t/acme/announcements/new/case/{loop['case'].uuid}/" in html
    assert f"/t/acme/announcements/new/plan/{loop['plan'].uuid}/" in html
    client.force_login(world.victor)
    assert "Write a new message" not in client.get("/t/acme/announcements/").content.decode()


def test_the_outbox_delivers_it_from_the_tenants_sender_with_its_message_id(world, loop, mailoutbox, settings):
    from apps.messaging.services import outbox_deliver

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with tenant_context(world.a):
        world.a.sender_name, world.a.sender_email = "Acme Care", "care@acme.example"
        world.a.save()
        a = svc.announcement_draft_for_case(tenant=world.a, acting_member=loop["alice"], case=loop["case"])
        svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=a)
    assert outbox_deliver(tenant=world.a)["sent"] == 1
    [mail] = mailoutbox
    assert mail.from_email == "Acme Care <care@acme.example>"
    assert mail.to == ["ann@client.example"]
    assert mail.extra_headers["Message-ID"] == svc.message_id(a, loop["ann"])
    assert mail.subject == "You said, we did: slow reply"
    assert mail.alternatives
    assert "/u/" in mail.body
    with tenant_context(world.a):
        row = AnnouncementRecipient.objects.select_related("outbound_email").get(announcement=a)
        assert row.outbound_email.status == "sent"


def test_the_outbox_drops_it_when_the_contact_opted_out_after_it_was_written(world, loop, mailoutbox, settings):
    """Opting out by any link (a survey's, say) after the message was queued stops it at delivery."""
    from apps.messaging.services import outbox_deliver

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with tenant_context(world.a):
        a = svc.announcement_draft_for_case(tenant=world.a, acting_member=loop["alice"], case=loop["case"])
        svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=a)
        type(loop["ann"]).objects.filter(pk=loop["ann"].pk).update(opted_out=True)
    counts = outbox_deliver(tenant=world.a)
    assert counts["sent"] == 0
    assert mailoutbox == []
    with tenant_context(world.a):
        row = AnnouncementRecipient.objects.select_related("outbound_email").get(announcement=a)
        assert row.outbound_email.status == "failed"
        assert "opted out" in row.outbound_email.last_error


# --- the API (issue 20 item 7) -----------------------------------------------------------------------

def test_the_api_drafts_rewords_and_sends_once(api_client, world, loop, django_capture_on_commit_callbacks):
    from tests.conftest import make_api_key

    _, key = make_api_key(world.a, role="cx_lead")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    base = "/api/v1/t/acme/announcements/"
    assert api_client.post(base, {}, format="json").status_code == 400
    drafted = api_client.post(base, {"plan": str(loop["plan"].uuid)}, format="json")
    assert drafted.status_code == 201, drafted.json()
    body = drafted.json()
    assert (body["status"], body["plan"]) == ("draft", str(loop["plan"].uuid))
    assert body["audience"] == {"to_send": 4, "skipped": {"Client has churned": 1, "No e-mail address": 1, "Opted out of messages": 1},
                                "anonymous": 1}
    url = f"{base}{body['id']}/"
    texts = {"subject": "You asked, we answered", "you_said": "Replies took days.", "we_did": "We answer every morning."}
    assert api_client.put(url, texts, format="json").json()["subject"] == "You asked, we answered"
    with django_capture_on_commit_callbacks(execute=False):
        sent = api_client.post(f"{url}send/")
        again = api_client.post(f"{url}send/")
    assert sent.status_code == 200
    assert (sent.json()["status"], sent.json()["recipients_count"], sent.json()["skipped_count"], sent.json()["audience"]) == ("sent", 4, 3, None)
    assert again.json()["sent_at"] == sent.json()["sent_at"]
    assert api_client.put(url, texts, format="json").status_code == 400  # a sent message cannot change
    with tenant_context(world.a):
        assert OutboundEmail.objects.filter(kind="announcement").count() == 4
    _, viewer = make_api_key(world.a, role="viewer", name="viewer")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {viewer}")
    assert api_client.get(url).status_code == 200
    assert api_client.post(base, {"case": str(loop["case"].uuid)}, format="json").status_code == 403
    _, other = make_api_key(world.b)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other}")
    assert api_client.get(f"/api/v1/t/globex/announcements/{body['id']}/").status_code == 404
