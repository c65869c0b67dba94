"""Platform contract: demo seed, health, API base (schema, docs offline, JSON errors), CSP,
production settings passing `check --deploy`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.accounts.models import User
from apps.clients.models import Contact
from apps.demo.world import DEMO_PASSWORD
from apps.journeys.models import Journey
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership, Tenant

ROOT = Path(__file__).resolve().parent.parent


# --- demo seed ----------------------------------------------------------------------------------

def _counts():
    counts = {"tenants": Tenant.objects.count(), "users": User.objects.count()}
    for tenant in Tenant.objects.all():
        with tenant_context(tenant):
            counts[tenant.slug] = (Membership.objects.count(), Contact.objects.count(), Journey.objects.count())
    return counts


def test_it_seeds_two_colliding_demo_tenants_idempotently_and_prints_the_logins(db, client, settings, capsys):
    """`manage.py seed_demo` as `make run` calls it, twice. 60 clients, not the default 240: nothing below depends on the
    size (the colliding contacts are the shared companies', planned first), and tests/test_demo.py checks the full-size
    world and its second seed."""
    settings.DEBUG = True
    call_command("seed_demo", "--clients", "60")
    out = capsys.readouterr().out
    assert "Northwind Advisory (Europe/Brussels): seeded now" in out
    assert "Harbor Legal (America/New_York)" in out
    assert "60 clients" in out
    assert "staff@harbor.demo" in out
    assert "staff6@northwind.demo" in out
    assert DEMO_PASSWORD in out
    first = _counts()
    call_command("seed_demo", "--clients", "60")
    assert "already seeded, left as is" in capsys.readouterr().out
    assert _counts() == first, "a second seed must not duplicate anything"
    northwind, harbor = Tenant.objects.get(slug="northwind"), Tenant.objects.get(slug="harbor")
    assert northwind.name != harbor.name
    assert northwind.time_zone != harbor.time_zone
    with tenant_context(northwind):
        emails_n = set(Contact.objects.values_list("email", flat=True))
        journeys_n = set(Journey.objects.values_list("name", flat=True))
        roles_n = dict(Membership.objects.values_list("user__email", "role"))
    with tenant_context(harbor):
        emails_h = set(Contact.objects.values_list("email", flat=True))
        journeys_h = set(Journey.objects.values_list("name", flat=True))
        roles_h = dict(Membership.objects.values_list("user__email", "role"))
    assert len(emails_n & emails_h) >= 40, "contact e-mails collide on purpose"
    assert journeys_n == journeys_h
    assert journeys_n
    assert set(roles_n.values()) == set(roles_h.values()) == {"admin", "cx_lead", "staff", "viewer"}
    assert "consultant@cxm.demo" in roles_n
    assert "consultant@cxm.demo" in roles_h
    # The printed logins work.
    response = client.post("/accounts/login/", {"login": "admin@harbor.demo", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/t/harbor/settings/").status_code == 200
    assert client.get("/t/northwind/").status_code == 404


def test_it_refuses_to_seed_without_debug(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")


# --- health -----------------------------------------------------------------------------------

def test_it_reports_database_cache_and_broker_health(db, client):
    response = client.get("/health/?format=json")
    assert response.status_code == 200
    body = response.json()
    assert any(k.startswith("Database") for k in body)
    assert any(k.startswith("Cache") for k in body)
    assert any(k.startswith("Broker") for k in body)
    assert all(v == "OK" for v in body.values()), body


@pytest.mark.parametrize("accept", ["text/html", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None])
def test_it_answers_a_valid_html_health_page_to_browsers_and_no_accept_header(db, client, accept):
    """Issue 15, F8: `text/html` and `*/*` answered 500 (the view's template did not exist)."""
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = client.get("/health/", **headers)
    assert response.status_code == 200, f"Accept {accept!r} answered {response.status_code}"
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    page = response.content.decode()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "<title>" in page
    assert "</html>" in page
    assert "System status: healthy" in page
    assert "Database" in page
    assert "Broker" in page
    assert "<style" not in page, "inline styles and scripts break the strict CSP"
    assert "<script" not in page, "inline styles and scripts break the strict CSP"


@pytest.mark.parametrize("accept", ["application/json", "application/*", "image/png", "garbage;;", ""])
def test_it_answers_json_to_json_and_to_accept_headers_it_cannot_serve(db, client, accept):
    response = client.get("/health/", HTTP_ACCEPT=accept)
    assert response.status_code == 200, f"Accept {accept!r} answered {response.status_code}"
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    assert all(value == "OK" for value in response.json().values())


def test_it_answers_plain_text_when_asked(db, client):
    response = client.get("/health/", HTTP_ACCEPT="text/plain")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Database" in response.content.decode()


@pytest.mark.services
def test_it_reports_an_unreachable_broker(db, client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from cxm.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/health/?format=json")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 500
    broker = [v for k, v in response.json().items() if k.startswith("Broker")]
    assert broker
    assert "unreachable" in broker[0]


# --- API base ---------------------------------------------------------------------------------

def test_it_serves_the_openapi_schema_with_tenant_routes(db, client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for resource in ("members/", "api-keys/", "invitations/", "teams/", "audit-events/"):
        assert f"/api/v1/t/{{tenant_slug}}/{resource}" in paths
    assert response.json()["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"


def test_it_serves_api_docs_from_our_own_static_files(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, f"no external asset allowed: {urls}"
    assert all(u.startswith("/") for u in urls), f"no external asset allowed: {urls}"
    assert "swagger-ui" in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_it_answers_json_errors_under_the_api(db, client):
    for path in ("/api/v1/t/acme/nothing-here/", "/api/v1/t/acme/members/not-a-uuid/", "/api/nope/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_it_requires_authentication_on_the_api(world, api_client):
    response = api_client.get("/api/v1/t/acme/members/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer cxm_zz_short", "Bearer cxm_0123456789ab_" + "x" * 40,
                                    "Bearer ëéè"])
def test_it_answers_401_with_a_stable_code_to_a_bad_api_key(world, api_client, header):
    response = api_client.get("/api/v1/t/acme/me/", HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- pages: CSP and offline assets ------------------------------------------------------------

def test_it_sends_a_strict_csp_and_no_inline_script(world, client):
    client.force_login(world.alice)
    for path in ("/accounts/login/", "/t/acme/", "/t/acme/settings/members/"):
        if path == "/accounts/login/":
            client.logout()
        response = client.get(path, follow=True)
        assert response.status_code == 200
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        html = response.content.decode()
        # A data block (<script type="application/json">, as json_script writes) is never executed: allowed.
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>", html), f"inline script on {path}"
        assert not re.search(r'(?:src|href)="https?://', html), f"external asset on {path}"
        client.force_login(world.alice)


# --- settings -----------------------------------------------------------------------------------

def production_env(**overrides) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "cxm.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-key-" + "k3Y9!" * 10,
        "ALLOWED_HOSTS": "cxm.example.com",
        "DATABASE_URL": settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and "sqlite:////tmp/cxm-check.sqlite3"
        or "postgres://cxm_app@127.0.0.1:5432/cxm",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EMAIL_URL": "smtp://127.0.0.1:25",
        **overrides,
    }
    return {name: value for name, value in env.items() if value is not None}


def test_it_passes_check_deploy_with_production_settings():
    env = production_env()
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("command", [
    ["manage.py", "check", "--deploy"],  # what an operator runs before going live
    ["-c", "import cxm.wsgi"],  # what gunicorn loads
    ["-c", "from cxm.celery import app; app.loader.import_default_modules()"],  # what a Celery worker loads
])
def test_it_refuses_to_start_in_production_without_a_shared_cache(command):
    """Issue 15: rate limits counted per process let N workers allow N times each limit."""
    result = subprocess.run([sys.executable, *command], cwd=ROOT, env=production_env(REDIS_URL=None),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, f"{command} started without a shared cache:\n{result.stdout}{result.stderr}"
    assert "ImproperlyConfigured" in result.stderr, result.stderr[-2000:]
    assert "Set REDIS_URL" in result.stderr, result.stderr[-2000:]


def test_the_local_demo_starts_without_redis():
    """`make run`: DEBUG=1, SQLite, tasks in-process, the cache in memory."""
    env = production_env(REDIS_URL=None, DEBUG="1", SECRET_KEY=None, ALLOWED_HOSTS=None, DATABASE_URL="sqlite:////tmp/cxm-demo-check.sqlite3")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr


# --- operator bootstrap -------------------------------------------------------------------------

def test_it_bootstraps_a_tenant_with_an_invited_admin(db, client, mailoutbox, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_tenant", name="Umbrella Care", slug="umbrella", admin_email="Boss@Umbrella.example",
                     time_zone="Europe/Paris", stdout=out)
    link = re.search(r"(/invite/[^\s]+)", out.getvalue()).group(1)
    assert len(mailoutbox) == 1
    assert link in mailoutbox[0].body
    response = client.post(link, {"full_name": "The Boss", "password1": "a-Strong-passw0rd!", "password2": "a-Strong-passw0rd!"})
    assert response.status_code == 302
    assert response["Location"] == "/t/umbrella/"
    assert client.get("/t/umbrella/settings/").status_code == 200  # joined as admin
    with pytest.raises(CommandError, match="slug"):
        call_command("create_tenant", name="Again", slug="umbrella", admin_email="x@example.com", stdout=StringIO())
    assert Tenant.objects.filter(name="Again").count() == 0
