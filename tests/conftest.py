"""The test world: three tenants, people in each role, one person in two tenants.

On Postgres the suite creates and migrates the test database as the owner role, then switches
every connection to the app role (not owner, no BYPASSRLS), so row-level security is live in
every test, exactly as in production.
"""

import os

import pytest
from django.conf import settings
from django.db import connection, connections
from rest_framework.test import APIClient

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests.builders import desk, loop, planted  # noqa: F401 — fixtures shared by several modules (tests/builders.py)
from tests.live_parts import sink, worker  # noqa: F401 — the SMTP sink and mail-sending worker fixtures of the end-to-end tests
from tests.shared_db import World, world_build  # noqa: F401 — World: the type of the `world` fixture

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API + live_server

BANNER = "!" * 78

# The part of the suite that proves the scale-out promise on a real Citus cluster (issue 17): marked `citus`
# here, so `scripts/citus_cluster.sh test` selects it with `-m citus` while `make test` runs it as usual.
CITUS_SUBSET = {
    "test_citus.py",  # distribution as code, a worker down (skips unless CXM_CITUS=1)
    "test_rls.py", "test_tenancy_coverage.py", "test_url_isolation.py",  # row-level security and isolation
    "test_metrics_worker.py",  # every rollup cell equals the raw rows
    "test_metrics_readcache.py",  # kept reads never stale: the rollup version on a distributed table
    "test_surveys_e2e.py", "test_surveys_concurrency.py",  # surveys end to end and concurrently
    "test_feedback_e2e.py",  # closing the loop end to end
    "test_tenant_keys.py", "test_tenant_context.py", "test_tenant_locks.py",  # keys, SET LOCAL across savepoints, locks
    "test_due_work.py",  # the beat's due-work register: the claim across every shard, notes and settles on one
    "test_themes.py", "test_surveys_comment_analysis.py",  # comment analysis, themes and their statistics (bulk inserts)
}


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith(("postgresql", "postgis"))


@pytest.fixture(autouse=True)
def _not_inside_a_celery_task():
    """The test process is never a Celery worker, but an in-process worker object built by an earlier
    test of this (xdist) process sets celery's global "joining would block" flag and leaves it set; a
    test that then waits for a real worker's result would be refused ('Never call result.get() within
    a task!')."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate limits count in the cache (apps/core/ratelimit.py), here this process's own memory: each test
    starts with none counted, whatever the tests before it requested from 127.0.0.1."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_rollup_reads():
    """Kept rollup reads (apps/metrics/readcache.py) are checked against the tenant's rollup version, which a test's
    rollback takes back to what it was: each test starts with none kept, so a rolled-back test's answers are never
    served to the next one (tests/test_metrics_readcache.py tests the cache across real writes)."""
    from apps.metrics import readcache

    readcache.clear()


@pytest.fixture
def unlimited_link_requests(settings):
    """Lifts the per-address limit of /s/ for tests that send hundreds of requests from 127.0.0.1 to test
    something else (tokens, concurrency); tests/test_surveys_respond.py tests the limit itself."""
    settings.SURVEY_INVITATION_REQUESTS_PER_MINUTE = 100_000


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (row-level security, roles)")
    config.addinivalue_line("markers", "services: needs Redis and a Celery worker, SMTP or a browser")
    config.addinivalue_line("markers", "citus: the subset run on a real Citus cluster too (scripts/citus_cluster.sh test)")
    if not _on_postgres() and os.environ.get("CXM_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("CXM_REQUIRE_POSTGRES=1 but DATABASE_URL is not a Postgres database.")


def pytest_report_header(config):
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"cxm database: {engine} {settings.DATABASES['default'].get('NAME')}"


# The longest modules, longest first, run first: pytest-xdist's worksteal hands each worker a contiguous half of
# the collection and lets an idle worker steal from the end of another's queue, so a minute-long test left for
# the end would run alone while the other worker idles. Measured on two workers (seconds): the hostile world 67,
# the concurrent rollup workers 66, the schemathesis fuzz 60, the full demo seed 35, concurrent submits 14,
# the SMTP outage 11, the colliding demo tenants 10.
SLOW_FIRST = ("test_hostile_world.py", "test_metrics_worker.py", "test_api_fuzz.py", "test_demo.py",
              "test_surveys_concurrency.py", "test_surveys_smtp_outage.py", "test_platform.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: SLOW_FIRST.index(item.path.name) if item.path.name in SLOW_FIRST else len(SLOW_FIRST))
    for item in items:
        if item.path.name in CITUS_SUBSET:
            item.add_marker(pytest.mark.citus)
    if _on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: no Postgres reachable, running on SQLite")
    skipped = [item for item in items if "postgres" in item.keywords]
    for item in skipped:
        item.add_marker(skip)
    config._cxm_pg_skipped = len(skipped)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = getattr(config, "_cxm_pg_skipped", None)
    if skipped is not None:
        terminalreporter.write_line(
            f"{BANNER}\nRAN ON SQLITE: {skipped} Postgres-only tests (RLS, roles, worker) were SKIPPED.\n{BANNER}",
            red=True, bold=True,
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the owner created and migrated the test database, become the app role."""
    if not _on_postgres():
        yield
        return
    app_role = settings.DATABASE_APP_ROLE
    owner, owner_password = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
            if cursor.fetchone() is None:
                pytest.exit(f"The app role {app_role!r} does not exist: run scripts/pg_setup.py", returncode=2)
            # TransactionTestCase empties tables with TRUNCATE between tests; only this
            # throwaway database grants it (production app roles never have it).
            cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{app_role}"')
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"] = app_role
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
    yield
    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"] = owner
            conn.settings_dict["PASSWORD"] = owner_password


@pytest.fixture
def world(db):
    return world_build()


@pytest.fixture
def api_client():
    return APIClient()


def make_api_key(tenant, role=Role.ADMIN, name="test key"):
    with tenant_context(tenant):
        return api_key_create(tenant=tenant, acting_user=None, name=name, role=role)


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory):
    """A real OpenID Connect provider on loopback for the module's tests (tests/oidc_provider/): people
    IDP_PEOPLE at example.com; each test registers the clients it needs."""
    from tests.oidc_provider.server import IDP_PASSWORD, IDP_PEOPLE, OidcProvider

    provider = OidcProvider(tmp_path_factory.mktemp("idp")).start()
    try:
        for name in IDP_PEOPLE:
            provider.add_user(username=name, email=f"{name}@example.com", password=IDP_PASSWORD, first_name=name.title(), last_name="Example")
        yield provider
    finally:
        provider.stop()
