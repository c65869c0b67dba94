"""Comment themes over the API (issue 20 item 7): list, create, read, change and delete through the themes page's
services; leads and admins only; bad input answered with the field and why; another workspace's theme is a 404."""

from __future__ import annotations

import pytest

from apps.surveys.models import Theme
from apps.tenancy.context import tenant_context
from tests.factories import ThemeFactory

pytestmark = pytest.mark.postgres

BASE = "/api/v1/t/acme/themes/"


def test_a_lead_manages_the_themes_over_the_api(world, api_client):
    api_client.force_login(world.carol)
    made = api_client.post(BASE, {"name": "Price", "keywords": {"en": ["price", "expensive"], "fr": ["prix"]}}, format="json")
    assert made.status_code == 201
    body = made.json()
    assert (body["name"], body["keywords"], body["is_active"], body["comment_count"]) == (
        "Price", {"en": ["price", "expensive"], "fr": ["prix"]}, True, 0)
    assert api_client.post(BASE, {"name": "price"}, format="json").status_code == 400  # the same name, any case
    assert "keywords" in api_client.post(BASE, {"name": "X", "keywords": {"xx": ["a"]}}, format="json").json()["error"]["fields"]
    url = f"{BASE}{body['id']}/"
    changed = api_client.patch(url, {"is_active": False, "description": "Fees"}, format="json").json()
    assert (changed["is_active"], changed["description"], changed["name"]) == (False, "Fees", "Price")
    assert [t["name"] for t in api_client.get(BASE).json()["results"]] == ["Price"]
    assert api_client.delete(url).status_code == 204
    with tenant_context(world.a):
        assert not Theme.objects.exists()


def test_only_leads_reach_the_themes_and_never_another_workspaces(world, api_client):
    with tenant_context(world.b):
        foreign = ThemeFactory(tenant=world.b, name="Theirs")
    api_client.force_login(world.victor)  # a viewer
    assert api_client.get(BASE).status_code == 403
    api_client.force_login(world.carol)
    assert api_client.get(f"{BASE}{foreign.uuid}/").status_code == 404
    assert api_client.patch(f"{BASE}{foreign.uuid}/", {"name": "Mine"}, format="json").status_code == 404
    with tenant_context(world.b):
        assert Theme.objects.get(pk=foreign.pk).name == "Theirs"
