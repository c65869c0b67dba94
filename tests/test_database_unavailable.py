"""A database node that cannot be reached answers 503 with Retry-After (page or JSON), never a 500.

On plain Postgres the server raises the very error Citus raises for a worker that is down (SQLSTATE 08006,
"connection to the remote node … failed", through a PL/pgSQL RAISE), so the driver and Django wrap it as
they would on the cluster; tests/test_citus.py stops a real worker.
"""

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse

from apps.core.errors import UNAVAILABLE_MESSAGE, database_unavailable
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create

pytestmark = pytest.mark.postgres

WORKER_DOWN = ("connection to the remote node cxm_app@127.0.0.1:5442 failed with the following error: "
               "Connection refused", "08006")


def raise_from_server(message: str, sqlstate: str):
    """Have the server raise `message` with `sqlstate`: the driver error Django wraps, as on the cluster."""
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = %s, ERRCODE = '{sqlstate}'; END $$", [message])


def server_error(message: str, sqlstate: str) -> DatabaseError:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SAVEPOINT probe")
            try:
                raise_from_server(message, sqlstate)
            finally:
                cursor.execute("ROLLBACK TO SAVEPOINT probe")
    except DatabaseError as exc:
        return exc
    raise AssertionError("the server raised nothing")


def failing_selector(message: str, sqlstate: str):
    def selector(*args, **kwargs):
        raise_from_server(message, sqlstate)

    return selector


def test_it_recognises_a_citus_worker_that_cannot_be_reached(db):
    assert database_unavailable(server_error(*WORKER_DOWN)) is True


@pytest.mark.parametrize("message, sqlstate", [
    ("deadlock detected", "40P01"),
    ("canceling statement due to statement timeout", "57014"),
    ("new row violates row-level security policy", "42501"),
    ("duplicate key value violates unique constraint", "23505"),
])
def test_it_leaves_other_database_errors_to_the_500_page(db, message, sqlstate):
    assert database_unavailable(server_error(message, sqlstate)) is False


def test_it_answers_a_503_page_when_a_view_meets_an_unreachable_node(world, client, monkeypatch):
    monkeypatch.setattr("apps.clients.selectors.client_list", failing_selector(*WORKER_DOWN))
    client.force_login(world.alice)
    response = client.get(reverse("clients:list", kwargs={"tenant_slug": world.a.slug}))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert UNAVAILABLE_MESSAGE in response.content.decode()


def test_it_answers_a_503_page_when_the_tenant_check_meets_an_unreachable_node(world, monkeypatch):
    # The membership check runs in the tenant middleware, before any view: Django's handler500 sees it.
    monkeypatch.setattr("apps.tenancy.middleware.membership_get_for_user", failing_selector(*WORKER_DOWN))
    browser = Client(raise_request_exception=False)
    browser.force_login(world.alice)
    response = browser.get(reverse("clients:list", kwargs={"tenant_slug": world.a.slug}))
    assert response.status_code == 503
    assert UNAVAILABLE_MESSAGE in response.content.decode()


def test_it_answers_a_503_json_error_in_the_api(world, api_client, monkeypatch):
    with tenant_context(world.a):
        _, raw_key = api_key_create(tenant=world.a, acting_user=None, name="probe", role=Role.ADMIN)
    monkeypatch.setattr("apps.clients.selectors.client_list", failing_selector(*WORKER_DOWN))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = api_client.get(f"/api/v1/t/{world.a.slug}/clients/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {"error": {"code": "database_unavailable", "message": UNAVAILABLE_MESSAGE}}


def test_it_keeps_the_500_page_for_other_database_errors(world, monkeypatch):
    monkeypatch.setattr("apps.clients.selectors.client_list", failing_selector("deadlock detected", "40P01"))
    browser = Client(raise_request_exception=False)
    browser.force_login(world.alice)
    response = browser.get(reverse("clients:list", kwargs={"tenant_slug": world.a.slug}))
    assert response.status_code == 500
