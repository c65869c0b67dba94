"""`Idempotency-Key` on API POSTs (apps.tenancy.idempotency): a retry never acts twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from apps.tenancy.context import tenant_context
from apps.tenancy.models import IdempotencyRecord, Role, Team
from apps.tenancy.tasks import purge_idempotency_records
from tests.conftest import make_api_key

TEAMS = "/api/v1/t/acme/teams/"


def teams(tenant):
    with tenant_context(tenant):
        return list(Team.objects.order_by("name").values_list("name", flat=True))


def post(client, body, key, path=TEAMS):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_with_the_same_key_returns_the_first_response_and_acts_once(world, api_client):
    api_client.force_login(world.alice)
    first = post(api_client, {"name": "Billing"}, "8a0c6f8e-retry-1")
    again = post(api_client, {"name": "Billing"}, "8a0c6f8e-retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert teams(world.a) == ["Billing", "Support"]


def test_without_a_key_each_post_acts(world, api_client):
    api_client.force_login(world.alice)
    assert api_client.post(TEAMS, {"name": "Billing"}, format="json").status_code == 201
    assert api_client.post(TEAMS, {"name": "Billing"}, format="json").status_code == 400  # the name is taken


def test_reusing_a_key_for_another_request_is_refused(world, api_client):
    api_client.force_login(world.alice)
    assert post(api_client, {"name": "Billing"}, "k-1").status_code == 201
    response = post(api_client, {"name": "Renewals"}, "k-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert teams(world.a) == ["Billing", "Support"]


def test_a_failed_request_keeps_no_record_so_a_corrected_retry_runs(world, api_client):
    api_client.force_login(world.alice)
    assert post(api_client, {"name": ""}, "k-2").status_code == 400
    assert post(api_client, {"name": "Billing"}, "k-2").status_code == 201
    with tenant_context(world.a):
        assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize("key", ["has space", "x" * 256, "naïve"])
def test_a_malformed_key_is_refused_before_anything_happens(world, api_client, key):
    api_client.force_login(world.alice)
    response = api_client.post(TEAMS, {"name": "Billing"}, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert teams(world.a) == ["Support"]


def test_keys_belong_to_one_caller_in_one_tenant(world, api_client):
    api_client.force_login(world.alice)
    assert post(api_client, {"name": "Billing"}, "shared-key").status_code == 201
    # Another caller (an API key of A) with the same key acts on its own.
    _, raw = make_api_key(world.a, role=Role.ADMIN)
    key_client = APIClient()
    key_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert post(key_client, {"name": "Renewals"}, "shared-key").status_code == 201
    # Dana, admin of B, with the same key in B: B's team is created, A's record is invisible there.
    api_client.force_login(world.dana)
    response = post(api_client, {"name": "Billing"}, "shared-key", path="/api/v1/t/globex/teams/")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert teams(world.a) == ["Billing", "Renewals", "Support"]
    assert teams(world.b) == ["Billing", "Support"]


def test_records_expire_after_a_day_and_are_purged(world, api_client):
    api_client.force_login(world.alice)
    assert post(api_client, {"name": "Billing"}, "old-key").status_code == 201
    with tenant_context(world.a):
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    # An expired key is a new key: the request runs (and fails on the taken name, proving it ran).
    assert post(api_client, {"name": "Billing"}, "old-key").status_code == 400
    assert post(api_client, {"name": "Renewals"}, "older-key").status_code == 201
    with tenant_context(world.a):
        IdempotencyRecord.objects.filter(key="older-key").update(created_at=timezone.now() - timedelta(hours=25))
    # Both expired records go: "old-key"'s stayed because the failed retry rolled back its removal.
    assert purge_idempotency_records(world.a.pk) == 2
    with tenant_context(world.a):
        assert not IdempotencyRecord.objects.exists()


def test_the_schema_documents_the_header_on_posts(client):
    schema = client.get("/api/schema/?format=json").json()
    post_op = schema["paths"]["/api/v1/t/{tenant_slug}/teams/"]["post"]
    get_op = schema["paths"]["/api/v1/t/{tenant_slug}/teams/"]["get"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post_op["parameters"])
    assert not any(p["name"] == "Idempotency-Key" for p in get_op.get("parameters", []))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_act_once(world):
    """The second insert of the key waits for the first transaction, then replays its response."""
    results = []
    barrier = threading.Barrier(2)

    def send():
        try:
            client = APIClient()
            client.force_login(world.alice)
            barrier.wait(timeout=10)
            results.append(post(client, {"name": "Billing"}, "race-key"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [r.status_code for r in results] == [201, 201]
    assert results[0].json() == results[1].json()
    assert teams(world.a) == ["Billing", "Support"]
