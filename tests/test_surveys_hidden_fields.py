"""Hidden fields, custom attributes and piping (issue 20 item 2): the workspace defines attributes of clients and
contacts; an invitation carries them (with segment, tier, industry, owner, role) as hidden fields; the response
stores them and the responses list and API filter on them; survey and e-mail texts pipe {{tokens}}, escaped, with
a fallback word; a token that names nothing stops the publish."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from apps.clients import services as clients
from apps.clients.models import AttributeDefinition, Client, Contact
from apps.messaging.services import outbox_deliver
from apps.surveys.attributes import pipe, unknown_tokens
from apps.surveys.builder import services as builder
from apps.surveys.distribution import services as dist
from apps.surveys.models import Invitation, Question, Response, SurveyVersion
from apps.tenancy.context import tenant_context
from tests.builders import LINK, live_survey, send
from tests.factories import ClientFactory, ContactFactory, SegmentFactory

pytestmark = pytest.mark.postgres


def region(world, tenant=None):
    tenant = tenant or world.a
    with tenant_context(tenant):
        return clients.attribute_definition_create(tenant=tenant, acting_user=world.carol,
                                                   data={"applies_to": "client", "key": "region", "label": "Region"})


def emea_contact(world, name="Ann Lee", region_value="EMEA"):
    with tenant_context(world.a):
        segment = SegmentFactory(tenant=world.a, name=f"Corporate {region_value}")
        client = ClientFactory(tenant=world.a, segment=segment, tier="key", attributes={"region": region_value})
        return ContactFactory(client=client, name=name, role="CFO")


def deliver(tenant):
    with tenant_context(tenant):
        dist.invitations_dispatch_due(tenant=tenant)
    return outbox_deliver(tenant=tenant)


# --- defining attributes ------------------------------------------------------------------------------

@pytest.mark.parametrize("key,message", [("Region", "Lowercase letters"), ("re gion", "Lowercase letters"), ("a__b", "single _"),
                                         ("tier", "built-in field"), ("1st", "Lowercase letters")])
def test_a_bad_attribute_key_is_refused_with_why(world, key, message):
    with tenant_context(world.a), pytest.raises(ValidationError, match=message):
        clients.attribute_definition_create(tenant=world.a, acting_user=world.carol,
                                            data={"applies_to": "client", "key": key, "label": "X"})


def test_attributes_are_defined_on_their_page_and_filled_in_on_the_client_form(world, client):
    client.force_login(world.carol)
    assert client.post("/t/acme/clients/attributes/", {"applies_to": "client", "label": "Region", "key": "region"}).status_code == 302
    twice = client.post("/t/acme/clients/attributes/", {"applies_to": "client", "label": "Region", "key": "region"})
    assert twice.status_code == 400
    assert "Clients already have an attribute “region”" in twice.content.decode()
    with tenant_context(world.a):
        acme = ClientFactory(tenant=world.a, name="Acme client")
    page = client.get(f"/t/acme/clients/{acme.uuid}/edit/")
    assert 'name="attr_region"' in page.content.decode()
    saved = client.post(f"/t/acme/clients/{acme.uuid}/edit/", {"name": "Acme client", "tier": "standard", "active_from": "2024-01-01",
                                                              "status": "active", "attr_region": " EMEA "})
    assert saved.status_code == 302
    with tenant_context(world.a):
        assert Client.objects.get(pk=acme.pk).attributes == {"region": "EMEA"}
    client.force_login(world.victor)  # a viewer reads the list, may not define
    assert client.get("/t/acme/clients/attributes/").status_code == 200
    assert client.post("/t/acme/clients/attributes/", {"applies_to": "contact", "label": "Dept", "key": "dept"}).status_code == 403


def test_the_api_defines_attributes_and_refuses_unknown_ones_on_a_client(world, api_client):
    api_client.force_login(world.carol)
    made = api_client.post("/api/v1/t/acme/attributes/", {"applies_to": "contact", "key": "department", "label": "Department"},
                           format="json")
    assert made.status_code == 201
    assert made.json()["token"] == "{{contact.department}}"
    contact = ContactFactory(client__tenant=world.a)
    bad = api_client.patch(f"/api/v1/t/acme/contacts/{contact.uuid}/", {"attributes": {"shoe_size": "44"}}, format="json")
    assert bad.status_code == 400
    assert "shoe_size" in str(bad.json())
    ok = api_client.patch(f"/api/v1/t/acme/contacts/{contact.uuid}/", {"attributes": {"department": "Finance"}}, format="json")
    assert ok.json()["attributes"] == {"department": "Finance"}
    assert api_client.delete(f"/api/v1/t/acme/attributes/{made.json()['id']}/").status_code == 204
    with tenant_context(world.a):
        assert Contact.objects.get(pk=contact.pk).attributes == {}
        assert not AttributeDefinition.objects.exists()


# --- hidden fields: invitation → response → filters ------------------------------------------------------

def test_an_invitation_carries_the_hidden_fields_to_the_response_and_the_filters_find_it(world, client, api_client,
                                                                                       django_capture_on_commit_callbacks):
    region(world)
    survey = live_survey(world.a)
    ann = emea_contact(world)
    bob = emea_contact(world, name="Bob Ray", region_value="APAC")
    with tenant_context(world.a):
        Client.objects.filter(pk=ann.client_id).update(owner=world.membership(world.carol, world.a))
    with django_capture_on_commit_callbacks(execute=True):
        result = send(world, survey, [ann, bob])
    by_contact = {i.contact_id: i for i in result.invitations}
    assert by_contact[ann.pk].attributes == {"segment": "Corporate EMEA", "tier": "Key", "owner": world.carol.get_full_name() or
                                             world.carol.email, "client.region": "EMEA", "role": "CFO"}
    deliver(world.a)
    for message in mail.outbox:
        token = LINK.search(message.body).group(1)
        assert client.post(f"/s/{token}/", {"page": "1", "q_nps": "9"}).status_code == 200
    with tenant_context(world.a):
        # A later change to the client does not rewrite what the response carried.
        Client.objects.filter(pk=ann.client_id).update(attributes={"region": "LATAM"})
        stored = {r.contact_id: r.attributes for r in Response.objects.all()}
    assert stored[ann.pk]["client.region"] == "EMEA"
    assert stored[bob.pk]["client.region"] == "APAC"

    client.force_login(world.carol)
    page = client.get("/t/acme/responses/", {"attribute": "client.region", "attribute_value": "EMEA"}).content.decode()
    assert "Ann Lee" in page
    assert "Bob Ray" not in page
    half = client.get("/t/acme/responses/", {"attribute": "client.region"})
    assert half.status_code == 400
    api_client.force_login(world.carol)
    found = api_client.get("/api/v1/t/acme/responses/", {"attribute": "client.region:APAC"}).json()["results"]
    assert [r["contact"] for r in found] == [str(bob.uuid)]
    assert api_client.get("/api/v1/t/acme/responses/", {"attribute": "shoe:44"}).status_code == 400


def test_the_response_page_links_each_hidden_field_to_its_responses(world, client):
    region(world)
    survey = live_survey(world.a)
    ann = emea_contact(world)
    with tenant_context(world.a):
        invitation = dist.invitation_create(tenant=world.a, survey=survey, contact=ann, source=Invitation.Source.MANUAL,
                                            dedupe_key="t", dispatch=False)
        from apps.surveys.respond.services import response_submit

        response, _ = response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 3}, channel="email",
                                      language="en", invitation=invitation)
    client.force_login(world.carol)
    html = client.get(f"/t/acme/responses/{response.uuid}/").content.decode()
    assert "Hidden fields" in html
    assert "?attribute=client.region&amp;attribute_value=EMEA" in html


# --- piping ------------------------------------------------------------------------------------------

def test_pipe_fills_tokens_with_values_or_their_fallback():
    text = "Hi {{contact.first_name|there}}, how was {{ touchpoint.name }}? {{client.region}}"
    assert pipe(text, {"contact.first_name": "Ann", "touchpoint.name": "the visit"}) == "Hi Ann, how was the visit? "
    assert pipe(text, {}) == "Hi there, how was ? "
    assert unknown_tokens(text, {"contact.first_name", "touchpoint.name"}) == ["{{client.region}}"]
    assert unknown_tokens("Hello {{contact.first name}}", {"contact.first_name"}) == [
        "{{…}} (not of the form {{client.name}} or {{client.name|fallback}})"]


def piped_survey(world, text):
    survey = live_survey(world.a)
    with tenant_context(world.a):
        draft = builder.draft_get_or_create(tenant=world.a, acting_user=world.carol, survey=survey)
        builder.question_update(tenant=world.a, acting_user=world.carol, question=Question.objects.get(version=draft, key="nps"),
                                text={"en": text})
        builder.version_texts_update(tenant=world.a, acting_user=world.carol, survey=survey,
                                     texts={"en": {"title": "{{client.name}}: how did we do?"}})
    return survey


def test_a_token_that_names_nothing_stops_the_publish(world):
    survey = piped_survey(world, "Hi {{contact.nickname|there}}, and {{contact.first name}}?")
    with tenant_context(world.a):
        with pytest.raises(ValidationError) as caught:
            builder.survey_publish(tenant=world.a, acting_user=world.carol, survey=survey)
        messages = " ".join(caught.value.messages)
        assert "Question 1 (“nps”, en) uses {{contact.nickname}}, which names nothing" in messages
        assert "(not of the form {{client.name}}" in messages
        assert SurveyVersion.objects.filter(survey=survey, published_at__isnull=True).exists()


def test_piped_texts_are_escaped_on_the_page_and_in_the_e_mail(world, client, django_capture_on_commit_callbacks):
    region(world)
    survey = piped_survey(world, "Hi {{contact.first_name|there}} from {{client.region|your region}}, would you recommend us?")
    with tenant_context(world.a):
        builder.survey_publish(tenant=world.a, acting_user=world.carol, survey=survey)
        survey.refresh_from_db()
        survey.web_link_enabled = True
        survey.web_token = "pipingTOKEN12345"
        survey.save()
        hostile = ClientFactory(tenant=world.a, name="<script>alert(1)</script> Ltd", attributes={"region": "EMEA"})
        ann = ContactFactory(client=hostile, name="<b>Ann</b> Lee")
    with django_capture_on_commit_callbacks(execute=True):
        send(world, survey, [ann])
    deliver(world.a)
    message = mail.outbox[0]
    assert message.subject == "<script>alert(1)</script> Ltd: how did we do?"  # a subject is plain text
    html = message.alternatives[0][0]
    assert "Hi &lt;b&gt;Ann&lt;/b&gt; from EMEA, would you recommend us?" in html
    assert "<b>Ann</b>" not in html
    token = LINK.search(message.body).group(1)
    page = client.get(f"/s/{token}/").content.decode()
    assert "Hi &lt;b&gt;Ann&lt;/b&gt; from EMEA, would you recommend us?" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd: how did we do?" in page
    anonymous = client.get("/w/pipingTOKEN12345/").content.decode()
    assert "Hi there from your region, would you recommend us?" in anonymous
