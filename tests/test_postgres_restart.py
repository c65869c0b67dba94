"""A Postgres restart in the middle of a write request: a clear 503, no partial write, and the retry writes once.

What is proven, on real parts:
- the app runs as in production: gunicorn (one sync worker), DEBUG off, the app role `cxm_app` (row-level
  security in force), connections kept across requests (CONN_MAX_AGE=60, health-checked before reuse);
- an API key logs an interaction (POST /api/v1/t/<slug>/interactions/ with an `Idempotency-Key`). Its
  transaction first inserts the idempotency record, then INSERTs the interaction, which waits on a SHARE lock
  another session holds on the interactions table. Once Postgres shows the request waiting there, still
  holding its first write, the server is restarted (`pg_ctl restart -m fast`: the waiting backend is
  terminated with 57P01 "terminating connection due to administrator command");
- the request answers 503 with `Retry-After: 30` and the `database_unavailable` JSON error, never a 500. The
  INSERT's 57P01 reaches the API's exception handler (apps/core/errors.py); then, closing the request's
  transaction on the dead connection, Django reconnects at once, and while the server is still going down that
  fails too ("the database system is shutting down", or refused: a client-side error without SQLSTATE) and
  reaches apps/core/middleware.py. Both are `database_unavailable` and answer the same 503;
- nothing of its transaction survives: no interaction, no idempotency record;
- the same request sent again with the same key after the restart logs the interaction (201: the worker
  reconnects), and a second retry replays that answer (`Idempotent-Replayed: true`): exactly one row.

The server restarted is a private PostgreSQL 15 started for this module on a free loopback port (18200-18299),
never the main one every other test (and CI) shares. Its schema is the already-migrated test database's, copied
with `pg_dump --schema-only` (plus the rows migrations leave in the global tables) and restored into a database
made by scripts/pg_setup.py, roles included: migrating it again would take about 20 s. As root, the server
runs as the `postgres` OS user (initdb refuses root). Without the PostgreSQL 15 binaries the test skips, or
fails under CXM_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import pwd
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import environ
import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from apps.core.errors import UNAVAILABLE_MESSAGE

# django_db: the migrated test database must exist (its schema is copied); the test itself never queries it.
pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORTS = range(18200, 18300)
# Global tables whose rows `migrate` writes (the schema dump carries no rows).
MIGRATION_ROWS = ("django_migrations", "django_content_type", "auth_permission")

# The tenant, its staff member, a client, a touchpoint and an API key, made through the app's own code as the
# app role (row-level security accepts only rows of the active tenant), printed as JSON for the test.
SEED = """
import json
import django
django.setup()
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests import factories as f

tenant = f.TenantFactory(name="Restart probe", slug="restart-probe")
staff = f.MembershipFactory(tenant=tenant, user=f.UserFactory(email="staff@restart.example"), role=Role.STAFF)
client = f.ClientFactory(tenant=tenant, name="Cedar Dental")
touchpoint = f.TouchpointFactory(tenant=tenant, name="Helpdesk call")
with tenant_context(tenant):
    _, raw_key = api_key_create(tenant=tenant, acting_user=None, name="restart probe", role=Role.ADMIN)
print(json.dumps({"slug": tenant.slug, "key": raw_key, "staff": str(staff.uuid), "client": str(client.uuid),
                  "touchpoint": str(touchpoint.uuid)}))
"""

# gunicorn on the listening socket the test made (fd://, so no other process can take the port meanwhile).
SERVE = """
import sys
import cxm.settings.test as test_settings
# As in production, not the tests' CONN_MAX_AGE=0: the worker keeps its connection across requests.
test_settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", "cxm.wsgi:application", "--bind", "fd://" + sys.argv[1], "--workers", "1",
            "--timeout", "120", "--log-level", "warning"]
run()
"""


def pg_binaries_or_skip() -> None:
    reason = None
    if not (PG_BIN / "initdb").exists():
        reason = f"no PostgreSQL 15 binaries in {PG_BIN}"
    elif os.geteuid() == 0 and not _os_user_exists("postgres"):
        reason = "running as root and no `postgres` OS user to run the private server as"
    if reason:
        if os.environ.get("CXM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"CXM_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)


def _os_user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run `command`; fail the test with its stderr (not just its exit status) if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        pytest.fail(f"{shlex.join(command)[:200]} exited with {done.returncode}:\n{done.stderr}{done.stdout}", pytrace=False)
    return done


def free_ports():
    """Ports of 18200-18299 nothing listens on now, from a random start: two xdist workers (or two checkouts)
    rarely try the same one, and a server that loses the race is started again on the next."""
    start = random.randrange(len(PORTS))
    for offset in range(len(PORTS)):
        port = PORTS[(start + offset) % len(PORTS)]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        yield port


@dataclasses.dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL 15 server: data and sockets in `home`, listening on 127.0.0.1:`port`."""

    home: Path
    port: int = 0

    @property
    def data(self) -> Path:
        return self.home / "data"

    def tool(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a server binary as the server's OS user (`postgres` when we are root)."""
        command = [str(PG_BIN / name), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return run(command) if check else subprocess.run(command, capture_output=True, text=True)

    def init(self) -> None:
        self.tool("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                  "--no-sync", "--no-instructions")

    def start(self) -> None:
        for port in free_ports():
            self.port = port
            # Throwaway data: no fsync; the restart below is a clean shutdown anyway.
            (self.data / "postgresql.auto.conf").write_text(
                f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{self.home}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 20\n")
            if self.pg_ctl("start", check=False).returncode == 0:
                return
            if "could not bind" not in self.log():
                pytest.fail(f"the private Postgres did not start:\n{self.log()}")
        pytest.fail("no free port in 18200-18299 for the private Postgres")

    def pg_ctl(self, action: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.tool("pg_ctl", action, "-D", str(self.data), "-l", str(self.home / "server.log"), "-w", "-t", "60",
                         *args, check=check)

    def log(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, user: str, database: str = "cxm") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def fetch(self, sql: str, params=None) -> list[tuple]:
        """Run `sql` as the superuser (no row-level security: every tenant's rows)."""
        with contextlib.closing(psycopg2.connect(self.url("postgres"))) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


@pytest.fixture(scope="module")
def private_postgres(django_db_setup):
    """The private server with the migrated test database's schema in database `cxm`; stopped and removed after."""
    pg_binaries_or_skip()
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="cxm-pg-restart-")))
    if os.geteuid() == 0:
        postgres_user = pwd.getpwnam("postgres")
        os.chown(server.home, postgres_user.pw_uid, postgres_user.pw_gid)
    try:
        server.init()
        server.start()
        # The roles (the owner; the app role: no superuser, no BYPASSRLS) and the database, as on the main server.
        run([sys.executable, str(ROOT / "scripts" / "pg_setup.py"), "--quiet", "--owner", owner()["USER"],
             "--app", settings.DATABASE_APP_ROLE], cwd=ROOT, env={**os.environ, "PG_ADMIN_URL": server.url("postgres", "postgres")})
        run([str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", server.url("postgres")],
            input=dump_test_database())
        yield server
    finally:
        server.tool("pg_ctl", "stop", "-D", str(server.data), "-m", "immediate", check=False)
        shutil.rmtree(server.home, ignore_errors=True)


def owner() -> dict:
    """The role that migrated the test database (DATABASE_URL; tests/conftest.py then switches the suite to the app role)."""
    return environ.Env.db_url_config(os.environ["DATABASE_URL"])


def dump_test_database() -> str:
    """The migrated test database's schema (tables, grants to the app role, RLS policies) and the rows `migrate`
    wrote, dumped as the owner that migrated it."""
    dumper = owner()
    env = {**os.environ, "PGPASSWORD": str(dumper.get("PASSWORD") or "")}
    common = [str(PG_BIN / "pg_dump"), "-h", str(dumper.get("HOST") or "127.0.0.1"), "-p", str(dumper.get("PORT") or 5432),
              "-U", dumper["USER"], "-d", connection.settings_dict["NAME"], "--lock-wait-timeout=10000"]
    schema = run([*common, "--schema-only"], env=env).stdout
    rows = run([*common, "--data-only", *(arg for table in MIGRATION_ROWS for arg in ("-t", table))], env=env).stdout
    return schema + rows


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclasses.dataclass
class App:
    """The app served by gunicorn against the private server, and what it was seeded with."""

    port: int
    seed: dict
    process: subprocess.Popen
    output: typing.IO

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Authorization": f"Bearer {self.seed['key']}", "Content-Type": "application/json",
                                  **(headers or {})})
            response = conn.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        except (OSError, http.client.HTTPException):
            if self.process.poll() is not None:
                self.output.seek(0)
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.output.read()}", pytrace=False)
            raise
        finally:
            conn.close()


def listening_socket() -> socket.socket:
    """A socket listening on a free port of 18200-18299, for gunicorn to inherit: the port is ours from here on."""
    for port in free_ports():
        listener = socket.socket()
        try:
            listener.bind(("127.0.0.1", port))
        except OSError:  # taken since free_ports() looked
            listener.close()
            continue
        listener.listen(64)
        return listener
    pytest.fail("no free port in 18200-18299 for the app")


@pytest.fixture(scope="module")
def app(private_postgres):
    app_role = settings.DATABASE_APP_ROLE
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cxm.settings.test", "DATABASE_URL": private_postgres.url(app_role),
           "DATABASE_APP_ROLE": app_role, "DEBUG": "0"}
    seed = json.loads(run([sys.executable, "-c", SEED], cwd=ROOT, env=env).stdout.strip().splitlines()[-1])
    with tempfile.TemporaryFile("w+") as output:
        with listening_socket() as listener:
            process = subprocess.Popen([sys.executable, "-c", SERVE, str(listener.fileno())], cwd=ROOT, env=env,
                                       pass_fds=[listener.fileno()], stdout=output, stderr=subprocess.STDOUT, text=True)
            port = listener.getsockname()[1]
        try:
            # Requests wait on the listening socket until the worker is up: nothing to poll.
            yield App(port=port, seed=seed, process=process, output=output)
        finally:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (SIGTERM waits for the workers' next tick)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def waiting_insert(server: PrivatePostgres, timeout: float = 30) -> int:
    """The backend (pid) of the app's INSERT into the interactions table, once it waits for the table lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = server.fetch("""
            SELECT pid FROM pg_stat_activity
            WHERE usename = %s AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO "touchpoints_interaction"%%'""",
            [settings.DATABASE_APP_ROLE])
        if rows:
            return rows[0][0]
        time.sleep(0.05)
    pytest.fail("the request never reached its INSERT into the interactions table")


def rows(server: PrivatePostgres, table: str) -> int:
    return server.fetch(f'SELECT count(*) FROM "{table}"')[0][0]


def app_role_rows(server: PrivatePostgres, table: str) -> int:
    with contextlib.closing(psycopg2.connect(server.url(settings.DATABASE_APP_ROLE))) as conn, conn.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        return cursor.fetchone()[0]


def test_a_restart_mid_request_answers_503_writes_nothing_and_the_retry_writes_once(private_postgres, app):
    seed = app.seed
    path = f"/api/v1/t/{seed['slug']}/interactions/"
    body = {"client": seed["client"], "touchpoint": seed["touchpoint"], "staff": seed["staff"], "outcome": "resolved",
            "summary": "Fixed the invoice address; client happy"}
    key = {"Idempotency-Key": "restart-0b7e3a52"}
    # The worker is up and holds a connection opened before the restart (kept: CONN_MAX_AGE=60).
    assert app.request("GET", path).status == 200

    with ThreadPoolExecutor(max_workers=1) as pool:
        # Another session takes the interactions table in SHARE mode: the request's INSERT waits for it.
        holder = psycopg2.connect(private_postgres.url("postgres"))
        try:
            holder.cursor().execute("LOCK TABLE touchpoints_interaction IN SHARE MODE")
            in_flight = pool.submit(app.request, "POST", path, body, key)
            backend = waiting_insert(private_postgres)
            # Its transaction has already written: the idempotency record, inserted before the interaction.
            held = private_postgres.fetch(
                "SELECT mode FROM pg_locks WHERE pid = %s AND relation = 'tenancy_idempotencyrecord'::regclass", [backend])
            assert ("RowExclusiveLock",) in held
            private_postgres.pg_ctl("restart", "-m", "fast")
        finally:
            holder.close()  # already killed by the restart; if the test failed before it, this frees the request
        answer = in_flight.result(timeout=60)

    assert answer.status == 503, answer.body
    assert answer.headers.get("Retry-After") == "30"
    assert answer.json() == {"error": {"code": "database_unavailable", "message": UNAVAILABLE_MESSAGE}}
    # No partial write: neither the interaction nor the idempotency record written before it.
    assert rows(private_postgres, "touchpoints_interaction") == 0
    assert rows(private_postgres, "tenancy_idempotencyrecord") == 0

    # The client retries with the same key: the worker reconnects and logs it; retried again, the stored
    # answer is replayed (apps/tenancy/idempotency.py) and nothing more is written.
    retry = app.request("POST", path, body, key)
    assert retry.status == 201, retry.body
    assert "Idempotent-Replayed" not in retry.headers
    again = app.request("POST", path, body, key)
    assert again.status == 201, again.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == retry.json()
    assert rows(private_postgres, "touchpoints_interaction") == 1
    assert rows(private_postgres, "tenancy_idempotencyrecord") == 1
    # Row-level security is in force on the private server: without a tenant, the app role sees none of it.
    assert app_role_rows(private_postgres, "touchpoints_interaction") == 0
