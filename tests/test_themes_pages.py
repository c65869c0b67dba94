"""The theme pages (issue 19 items 2, 4, 5): the taxonomy for leads (starter themes, add, edit, delete, bad
input), suggestions accepted, renamed, merged or rejected, a person's correction on the response page, the
responses list's theme filter, and the overview's themes panel whose rows open exactly their comments."""

from __future__ import annotations

import re

import pytest
from django.test import TestCase

from apps.surveys.models import ResponseTheme, Theme, ThemeSuggestion
from apps.surveys.respond.services import response_submit
from apps.surveys.themes import services
from apps.tenancy.context import tenant_context
from tests.builders import live_survey

THEMES = "/t/acme/themes/"
LIST = "/t/acme/responses/"
OVERVIEW = "/t/acme/dashboards/"


def committed():
    return TestCase.captureOnCommitCallbacks(execute=True)


def _submit(tenant, survey, nps, comment):
    with committed(), tenant_context(tenant):
        return response_submit(tenant=tenant, version=survey.current_version, channel="web", language="en",
                               answers={"nps": nps, "reason": comment})[0]


@pytest.fixture
def survey(world):
    return live_survey(world.a)


def test_a_lead_adds_the_starter_themes_and_staff_cannot_manage_themes(world, client, survey):
    response = _submit(world.a, survey, 3, "The invoice was wrong and nobody called back.")
    client.force_login(world.bob)  # staff
    assert client.get(THEMES).status_code == 403
    client.force_login(world.alice)  # admin
    assert "Add the starter themes" in client.get(THEMES).content.decode()
    with committed():
        client.post(f"{THEMES}starter/")
    with tenant_context(world.a):
        assert Theme.objects.count() == 6
        assert set(ResponseTheme.objects.filter(response=response).values_list("theme__name", flat=True)) == {
            "Billing and fees", "Responsiveness"}
    html = client.get(THEMES).content.decode()
    assert "Billing and fees" in html
    assert "Learns once people confirm 10 more comments with it and 10 more without it" in html
    with committed():
        client.post(f"{THEMES}starter/")  # twice: nothing doubles
    with tenant_context(world.a):
        assert Theme.objects.count() == 6


def test_adding_and_editing_a_theme_validates_and_rethemes(world, client, survey):
    response = _submit(world.a, survey, 4, "Parking at your office is impossible.")
    client.force_login(world.alice)
    with committed():
        answer = client.post(f"{THEMES}new/", {"name": "Office access", "keywords_en": "parking, reception\nlift", "is_active": "on"})
    assert answer.status_code == 302
    with tenant_context(world.a):
        theme = Theme.objects.get(name="Office access")
        assert theme.keywords == {"en": ["parking", "reception", "lift"]}
        assert ResponseTheme.objects.filter(response=response, theme=theme).exists()
    duplicate = client.post(f"{THEMES}new/", {"name": "office ACCESS", "is_active": "on"})
    assert duplicate.status_code == 400
    assert "already a theme named" in duplicate.content.decode()
    too_long = client.post(f"{THEMES}new/", {"name": "Long", "keywords_fr": "x" * 61, "is_active": "on"})
    assert too_long.status_code == 400
    assert "longer than 60 characters" in too_long.content.decode()
    with committed():
        client.post(f"{THEMES}{theme.uuid}/edit/", {"name": "Office access", "keywords_en": "lift", "is_active": "on"})
    with tenant_context(world.a):
        assert not ResponseTheme.objects.filter(response=response, theme=theme).exists()
    with committed():
        client.post(f"{THEMES}{theme.uuid}/delete/")
    with tenant_context(world.a):
        assert not Theme.objects.filter(pk=theme.pk).exists()


def test_another_tenants_theme_is_not_found(world, client):
    with tenant_context(world.b):
        foreign = services.theme_create(tenant=world.b, name="Secret", keywords={})
    client.force_login(world.alice)
    assert client.get(f"{THEMES}{foreign.uuid}/edit/").status_code == 404
    assert client.post(f"{THEMES}{foreign.uuid}/delete/").status_code == 404
    assert "Secret" not in client.get(THEMES).content.decode()
    listed = client.get(LIST, {"theme": str(foreign.uuid)})
    assert listed.status_code == 400
    assert "Not found in this workspace" in listed.content.decode()


def test_suggestions_are_accepted_renamed_merged_or_rejected(world, client, survey):
    with tenant_context(world.a):
        billing = services.theme_create(tenant=world.a, name="Billing", keywords={"en": ["invoice"]})
        make = lambda label, words: ThemeSuggestion.objects.create(tenant=world.a, label=label, keywords={"en": words},  # noqa: E731
                                                                  comments=12, examples=[])
        parking, fees, noise = make("parking / car", ["parking", "car"]), make("fee / rate", ["fee", "rate"]), make("the / and", ["the"])
    client.force_login(world.alice)
    html = client.get(THEMES).content.decode()
    assert "parking / car" in html
    with committed():
        client.post(f"{THEMES}suggestions/{parking.uuid}/", {"decision": "accept", "name": "Getting to the office"})
        client.post(f"{THEMES}suggestions/{fees.uuid}/", {"decision": "merge", "theme": str(billing.uuid)})
        client.post(f"{THEMES}suggestions/{noise.uuid}/", {"decision": "reject"})
    with tenant_context(world.a):
        accepted = Theme.objects.get(name="Getting to the office")
        assert (accepted.origin, accepted.keywords) == ("suggested", {"en": ["parking", "car"]})
        assert Theme.objects.get(pk=billing.pk).keywords == {"en": ["invoice", "fee", "rate"]}
        assert dict(ThemeSuggestion.objects.values_list("label", "status")) == {
            "parking / car": "accepted", "fee / rate": "merged", "the / and": "rejected"}
    again = client.post(f"{THEMES}suggestions/{noise.uuid}/", {"decision": "accept", "name": "x"})
    assert again.status_code == 404  # decided already
    bad = client.post(f"{THEMES}suggestions/{parking.uuid}/", {"decision": "explode"})
    assert bad.status_code == 404


def test_suggestions_come_from_uncovered_comments(world, survey):
    from apps.surveys.themes.suggestions import suggest

    texts = ["The parking near the office is a nightmare", "No parking spaces left for visitors", "Parking fees at the garage are high",
             "The lift in the building was broken", "Broken lift and stairs only", "The lift was out of order again"]
    with tenant_context(world.a):
        from tests import factories as f

        for i in range(60):
            f.ResponseFactory(version=survey.current_version, nps=5, comment=texts[i % len(texts)] + f" (visit {i})", language="en")
    made = suggest(world.a)
    assert made
    words = {w for s in made for values in s.keywords.values() for w in values}
    assert "parking" in words or "lift" in words
    assert all(s.comments >= 5 for s in made)


def test_a_person_corrects_a_comments_themes_from_the_response_page(world, client, survey):
    with tenant_context(world.a):
        billing = services.theme_create(tenant=world.a, name="Billing", keywords={"en": ["invoice"]})
        speed = services.theme_create(tenant=world.a, name="Speed", keywords={"en": ["slow"]})
    response = _submit(world.a, survey, 4, "The invoice was slow to come.")
    client.force_login(world.bob)  # staff may correct
    page = client.get(f"{LIST}{response.uuid}/").content.decode()
    assert "Correct the themes" in page
    with committed():
        answer = client.post(f"/t/acme/responses/{response.uuid}/themes/", {"themes": [str(billing.uuid)]})
    assert answer.status_code == 302
    with tenant_context(world.a):
        links = {link.theme_id: (link.present, link.source) for link in ResponseTheme.objects.filter(response=response)}
    assert links == {billing.pk: (True, "person"), speed.pk: (False, "person")}
    client.force_login(world.victor)  # viewer: cannot
    assert client.post(f"/t/acme/responses/{response.uuid}/themes/", {"themes": []}).status_code == 403
    client.force_login(world.bob)
    with tenant_context(world.b):
        foreign = services.theme_create(tenant=world.b, name="Foreign", keywords={})
    bad = client.post(f"/t/acme/responses/{response.uuid}/themes/", {"themes": [str(foreign.uuid)]}, follow=True)
    assert "Not a theme of this workspace" in bad.content.decode()


def test_the_list_filters_by_theme_and_shows_each_comments_themes(world, client, survey):
    with tenant_context(world.a):
        billing = services.theme_create(tenant=world.a, name="Billing", keywords={"en": ["invoice"]})
    invoiced = _submit(world.a, survey, 4, "Wrong invoice")
    plain = _submit(world.a, survey, 9, "All good")
    client.force_login(world.bob)
    page = client.get(LIST, {"theme": str(billing.uuid)})
    assert {str(r.uuid) for r in page.context["page"]} == {str(invoiced.uuid)}
    assert 'class="theme-chip">Billing</span>' in page.content.decode()
    uncovered = client.get(LIST, {"theme": "none"})
    assert {str(r.uuid) for r in uncovered.context["page"]} == {str(plain.uuid)}


def test_each_theme_row_of_the_overview_opens_exactly_its_comments(world, client, survey):
    with tenant_context(world.a):
        services.theme_create(tenant=world.a, name="Billing", keywords={"en": ["invoice"]})
        services.theme_create(tenant=world.a, name="Speed", keywords={"en": ["slow"]})
    for nps, text in ((2, "Slow and the invoice was wrong"), (3, "Invoice late"), (9, "Quick and kind"), (10, "Slow start, great end")):
        _submit(world.a, survey, nps, text)
    client.force_login(world.alice)
    page = client.get(OVERVIEW)
    panel = page.context["page"].themes
    table = panel.chart.table
    counts = {row[0]: row[1] for row in table.rows}
    assert counts == {"Billing": 2, "Speed": 2}
    for row, link in zip(table.rows, table.links, strict=True):
        listed = client.get(link.replace("&amp;", "&"))
        assert listed.context["page"].paginator.count == row[1], link
    html = page.content.decode()
    assert "What clients talk about" in html
    assert "What drives detractors this period" in html
    assert re.search(r"Manage themes", html)
