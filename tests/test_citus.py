"""On a real Citus cluster (scripts/citus_cluster.sh test): distribution as code, and a worker that is down.

Skipped unless CXM_CITUS=1 says the test database is on a Citus coordinator; with CXM_REQUIRE_CITUS=1 (what
the cluster script sets) a database without Citus fails instead. The cluster's coordinator holds no shards:
each tenant's rows live on one of the two workers.
"""

import os
import subprocess

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.core.errors import UNAVAILABLE_MESSAGE
from apps.tenancy import citus
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests.factories import MembershipFactory, TenantFactory, UserFactory

ON_CITUS = os.environ.get("CXM_CITUS") == "1" or os.environ.get("CXM_REQUIRE_CITUS") == "1"
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_CITUS, reason="needs a Citus cluster: scripts/citus_cluster.sh up && scripts/citus_cluster.sh test"),
]


@pytest.fixture(autouse=True)
def _citus(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        installed = citus.citus_installed()
    if not installed:
        message = "CXM_CITUS=1 but the test database has no citus extension"
        if os.environ.get("CXM_REQUIRE_CITUS") == "1":
            pytest.fail(message)
        pytest.skip(message)


def fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def tenant_tables() -> set[str]:
    """apps.tenancy.citus's rule: a table with a tenant_id column is distributed by it — every TenantScopedModel
    and the global due-work register (TenantDue, keyed by tenant)."""
    return {m._meta.db_table for m in apps.get_models(include_auto_created=True)
            if m._meta.managed and not m._meta.proxy and any(f.column == "tenant_id" for f in m._meta.concrete_fields)}


def distribution() -> dict[str, tuple]:
    rows = fetch("""
        SELECT logicalrelid::regclass::text, partmethod, repmodel,
               column_to_column_name(logicalrelid, partkey), colocationid
        FROM pg_dist_partition""")
    return {table: tuple(rest) for table, *rest in rows}


# --- distribution as code ----------------------------------------------------------------------------------

def test_it_distributes_every_tenant_table_by_tenant_id(db):
    distributed = {t for t, (method, _, column, _) in distribution().items() if method == "h" and column == "tenant_id"}
    assert tenant_tables() - distributed == set()


def test_it_colocates_every_tenant_table(db):
    groups = {colocation for t, (_, _, _, colocation) in distribution().items() if t in tenant_tables()}
    assert len(groups) == 1


def test_it_makes_every_other_table_a_reference_table(db):
    tables = {row[0] for row in fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    current = distribution()
    not_reference = sorted(t for t in tables - tenant_tables() if current.get(t, ("", ""))[:2] != ("n", "t"))
    assert not_reference == []


def test_it_spreads_the_tenant_shards_over_both_workers(db):
    ports = {port for (port,) in fetch("""
        SELECT DISTINCT p.nodeport FROM pg_dist_shard s JOIN pg_dist_shard_placement p USING (shardid)
        WHERE s.logicalrelid = 'tenancy_membership'::regclass""")}
    assert len(ports) == 2


def test_it_changes_nothing_on_a_second_run(db, capsys):
    before = distribution()
    call_command("citus_distribute")
    assert distribution() == before
    assert "all done" in capsys.readouterr().out


def test_it_reports_what_is_distributed_with_check(db, capsys):
    call_command("citus_distribute", "--check")
    out = capsys.readouterr().out
    assert "0 to do" in out


# --- a worker that is down -----------------------------------------------------------------------------------

def worker_port(tenant) -> int:
    (port,), = fetch("""
        SELECT nodeport FROM pg_dist_shard_placement
        WHERE shardid = get_shard_id_for_distribution_column('tenancy_membership', %s)""", [tenant.pk])
    return port


def cluster_on_port(port: int) -> str:
    for line in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return f"{version} {name}"
    raise AssertionError(f"no local cluster on port {port}")


def pg_ctlcluster(cluster: str, action: str) -> None:
    version, name = cluster.split()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action, *(["-m", "fast"] if action == "stop" else [])],
                   check=True, capture_output=True)


def tenant_with_admin(n: int):
    tenant = TenantFactory(name=f"Shard probe {n}", slug=f"shard-probe-{n}")
    user = UserFactory(email=f"probe{n}@example.com")
    MembershipFactory(tenant=tenant, user=user, role=Role.ADMIN)
    with tenant_context(tenant):
        _, raw_key = api_key_create(tenant=tenant, acting_user=None, name="probe", role=Role.ADMIN)
    return tenant, user, raw_key


def tenants_on_two_workers():
    """A tenant (with an admin and an API key) on each worker: tenants are created until both have one."""
    by_port = {}
    for n in range(40):
        tenant, user, raw_key = tenant_with_admin(n)
        by_port.setdefault(worker_port(tenant), (tenant, user, raw_key))
        if len(by_port) == 2:
            return by_port
    raise AssertionError("40 tenants all landed on one worker")


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_for_a_tenant_whose_worker_is_down_and_200_for_the_others(db):
    by_port = tenants_on_two_workers()
    down_port, live_port = sorted(by_port, reverse=True)
    browsers = {}
    for port, (tenant, user, _) in by_port.items():
        # Logged in and on the tenant once before the worker stops, as a user in the middle of their work.
        browsers[port] = Client(raise_request_exception=False)
        browsers[port].force_login(user)
        assert browsers[port].get(clients_page(tenant)).status_code == 200
    cluster = cluster_on_port(down_port)
    connection.close()
    pg_ctlcluster(cluster, "stop")
    try:
        down, live = by_port[down_port][0], by_port[live_port][0]
        page, api = browsers[down_port].get(clients_page(down)), browsers[down_port].get(clients_api(down))
        keyed = Client(raise_request_exception=False).get(clients_api(down), HTTP_AUTHORIZATION=f"Bearer {by_port[down_port][2]}")
        live_page, live_api = browsers[live_port].get(clients_page(live)), browsers[live_port].get(clients_api(live))
    finally:
        pg_ctlcluster(cluster, "start")
        connection.close()
    assert (page.status_code, page["Retry-After"]) == (503, "30")
    assert UNAVAILABLE_MESSAGE in page.content.decode()
    assert (api.status_code, api.json()["error"]["code"]) == (503, "database_unavailable")
    assert (keyed.status_code, keyed.json()["error"]["code"]) == (503, "database_unavailable")
    assert live_page.status_code == 200
    assert live_api.status_code == 200


def clients_page(tenant) -> str:
    return reverse("clients:list", kwargs={"tenant_slug": tenant.slug})


def clients_api(tenant) -> str:
    return f"/api/v1/t/{tenant.slug}/clients/"
