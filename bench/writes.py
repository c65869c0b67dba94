"""Write throughput over HTTP (issue 18 P4): the API's interaction POST and the public survey submit against the
framework floor, in one run.

    .venv/bin/python bench/writes.py                           # 50 clients, 20 s per scenario
    .venv/bin/python bench/writes.py --clients 10 --seconds 5  # a quick run
    .venv/bin/python bench/writes.py --plain                   # a workspace without alert rules, webhooks, triggers

Everything on loopback, ports from 18100–18199, in one run (so the machine's load weighs on every figure alike):

1. a throwaway database (`test_cxm_bench_writes`, dropped afterwards unless --keep-db) migrated as the owner role,
   then one workspace built as the app role under row-level security: 50 staff members, one API key per load client
   (the API allows 1,200 requests a minute per key), 200 clients with a contact each, a helpdesk and a website
   touchpoint placed on a journey stage, a live web-link NPS survey (`/w/<token>/`), an after-interaction NPS survey
   listening to the helpdesk, alert rules (NPS ≤ 6, follow-up flagged), a webhook endpoint (`response.created`,
   `case.opened`) pointing at a loopback receiver — the work a real workspace queues on every write;
2. the statements one request runs, counted in process (Django's test client as the app role, `CaptureQueriesContext`,
   after a warm-up request) with the tasks it queues;
3. gunicorn as production runs it (`cxm.wsgi:application`, settings `cxm.settings.base`, DEBUG off, sync workers —
   3 as in the Dockerfile — the app role so RLS holds, Redis cache and broker on a private Redis database, static
   files collected with the compressed manifest), behind "one proxy" (`AXES_PROXY_COUNT=1`: each survey respondent
   comes from its own address, as the web link's per-address limit expects), and a real Celery worker
   (`celery -A cxm worker --concurrency 2`, as docker-compose) on the same broker;
4. an asyncio client (one new connection per request, as gunicorn's sync workers close them) with N concurrent
   clients and no think time, a warm-up then a timed window per scenario: the framework floor (a 15-line Django app:
   one view, one INSERT, same gunicorn command and worker count, same role and connection settings), the interaction
   POST (`/api/v1/t/<slug>/interactions/`, Bearer key, `Idempotency-Key`), the web-link submit (`/w/<token>/`, a
   signed form stamp rendered 30 s earlier), and the floor again. After each write scenario it waits until the Celery
   queue is empty (queued + reserved) and reports the backlog at the end of the load and the drain time;
5. pgbench: a one-row INSERT at N clients against a throwaway table, as the app role.

It prints the ratio table (target, measured, ok) and the absolute figures: req/s, client-side latency p50/p95/p99,
errors (any status but the expected one), server time (gunicorn's own request time, without the wait in its
backlog), CPU per request of the web workers, Postgres backends, the Celery worker and the load client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
os.environ["TEST_DATABASE_NAME"] = "test_cxm_bench_writes"

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

import psycopg2  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402

logging.getLogger("kombu.connection").setLevel(logging.ERROR)  # the in-memory broker of the statement count has no host

SLUG = "bench-writes"
WEB_TOKEN = "benchWritesWebLink01"
PORTS = range(18100, 18200)
BIN = Path(sys.executable).parent
ACCESS_LOG_FORMAT = "%(s)s %(D)s %({x-bench}i)s"  # status, request time in µs (gunicorn's), the scenario tag
STAMP_AGE = 30  # seconds between the (simulated) form rendering and its submit: a person, not a bot
NPS_WEIGHTS = (3, 1, 1, 2, 2, 4, 6, 10, 18, 24, 29)  # 0..10: ~19% detractors (an alert rule opens a case for each)
SUMMARIES = ("Fixed the invoice address; client happy", "Invoice still wrong, they are annoyed",
             "Walked them through the new portal, went well", "Renewal at risk: price increase",
             "Called back about the late delivery, apologised", "Quick question about VAT, answered")
COMMENTS = ("Quick and friendly, thank you.", "The waiting time was far too long.", "Good advice as always.",
            "Nobody called me back.", "Clear answers, but the invoice was wrong again.")

# The framework floor, written to a temporary directory and served by the same gunicorn command: one view, one INSERT.
FLOOR_APP = '''"""The framework floor of bench/writes.py: a minimal Django app, one view doing one INSERT."""
import os
from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

SECRET_KEY, DEBUG, ALLOWED_HOSTS, ROOT_URLCONF, USE_TZ = "floor-" + "x" * 50, False, ["127.0.0.1"], "floor", True
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ["FLOOR_DB"], "USER": os.environ["FLOOR_ROLE"],
                         "HOST": "127.0.0.1", "PORT": "5432", "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}}


@csrf_exempt
def hit(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (payload, created_at) VALUES (%s, now())", [request.body.decode()[:500]])
    return HttpResponse(status=201)


urlpatterns = [path("hit/", hit)]
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
'''

# A webhook receiver on loopback: answers 204 to every POST, GET /count says how many it received.
WEBHOOK_SINK = r'''
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count, lock = [0], threading.Lock()
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            count[0] += 1
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = str(count[0]).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''


# --- ports, processes, CPU ---------------------------------------------------------------------

def free_port(taken: set[int]) -> int:
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    sys.exit("no free port in 18100-18199")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_tree(root: int) -> list[int]:
    """`root` and its descendants (gunicorn's master and workers, Celery's master and pool)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    app_name: str = ""  # PGAPPNAME: its Postgres backends' application_name

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


def spawn(name: str, argv: list[str], env: dict, cwd: Path, log: Path, app_name: str = "") -> Proc:
    out = open(log, "ab")  # noqa: SIM115 - the child keeps it
    if app_name:
        env = {**env, "PGAPPNAME": app_name}  # libpq's default application_name: tells its backends apart in pg_stat_activity
    popen = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)  # its own process group: stopped as a whole, never by a Ctrl-C meant for us
    out.close()
    return Proc(name, popen, log, app_name)


def wait_http(proc: Proc, port: int, path: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            sys.exit(f"{proc.name} stopped:\n{proc.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                if s.recv(12).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit(f"{proc.name} did not answer on port {port} within {seconds} s:\n{proc.tail()}")


def wait_log(proc: Proc, marker: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            sys.exit(f"{proc.name} stopped:\n{proc.tail()}")
        if marker in proc.log.read_text(errors="replace"):
            return
        time.sleep(0.3)
    sys.exit(f"{proc.name} not ready within {seconds} s:\n{proc.tail()}")


# --- the database ------------------------------------------------------------------------------

class Owner:
    """A psycopg2 connection as the owner role to the bench database (tables of the floor and pgbench, backends' pids)."""

    def __init__(self, settings_dict: dict, monitor: bool = True):
        self.conn = psycopg2.connect(dbname=settings_dict["NAME"], user=settings_dict["USER"], password=settings_dict["PASSWORD"] or None,
                                     host=settings_dict["HOST"] or "127.0.0.1", port=settings_dict["PORT"] or 5432)
        self.conn.autocommit = True
        self.monitor = None  # a read-only look at pg_stat_activity, when the owner role may have one
        if monitor and self.run("SELECT pg_has_role('pg_read_all_stats', 'member') OR rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]:
            self.monitor = self.conn
        elif monitor:
            with contextlib.suppress(psycopg2.Error):  # a local superuser without a password (the CI-like machine), if any
                self.monitor = psycopg2.connect(dbname=settings_dict["NAME"], user=os.environ.get("BENCH_PG_MONITOR_USER", "postgres"),
                                                host=settings_dict["HOST"] or "127.0.0.1", port=settings_dict["PORT"] or 5432,
                                                connect_timeout=3)
                self.monitor.autocommit = True

    def run(self, sql: str, params=None):
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

    def close(self) -> None:
        if self.monitor is not None and self.monitor is not self.conn:
            self.monitor.close()
        self.conn.close()

    def backend_waits(self) -> tuple[int, int] | None:
        """(active backends of the bench database, of them waiting on a lock), or None when the owner may not see other roles'
        backends' states (pg_stat_activity shows them to a superuser or a member of pg_read_all_stats only)."""
        if self.monitor is None:
            return None
        with self.monitor.cursor() as cursor:
            cursor.execute("SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock') "
                           "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return cursor.fetchone()

    def backend_pids(self, application: str) -> set[int]:
        """The bench database's backends of one client program (PGAPPNAME: the web workers, the floor's, the Celery worker)."""
        rows = self.run("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s", [application])
        return {pid for (pid,) in rows}

    def backends_cpu(self, application: str) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in self.backend_pids(application)}


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU between two snapshots of the same kind of processes: those that ended between them are missed, those that began
    between them count whole."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class BackendSampler(threading.Thread):
    """The CPU of one client program's backends, sampled every 0.2 s on a connection of its own: the Celery worker reconnects
    every CELERY_DB_REUSE_MAX tasks, so a backend's CPU must be read before it ends (what it spends after the last sample is
    missed). Backends found at the start count from then; later ones whole."""

    def __init__(self, settings_dict: dict, application: str):
        super().__init__(daemon=True)
        self.owner, self.application = Owner(settings_dict, monitor=False), application
        self.first = self.owner.backends_cpu(application)
        self.last = dict(self.first)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.last.update(self.owner.backends_cpu(self.application))

    def stop(self) -> float:
        self.stopping.set()
        self.join()
        self.last.update(self.owner.backends_cpu(self.application))
        self.owner.close()
        return cpu_since(self.first, self.last)


def make_bare_tables(owner: Owner, app_role: str) -> None:
    for table in ("bench_floor", "bench_pgbench"):
        owner.run(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL)")
        owner.run(f"GRANT SELECT, INSERT ON {table} TO {app_role}")
        owner.run(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {app_role}")


# --- the workspace -----------------------------------------------------------------------------

@dataclass
class World:
    tenant: object
    keys: list[tuple[str, str]]  # (raw API key, staff membership uuid), one per load client
    clients: list[tuple[str, str]]  # (client uuid, contact uuid)
    helpdesk: str  # touchpoint uuid
    web_token: str


def build_world(n_keys: int, n_clients: int, sink_url: str, plain: bool) -> World:
    """One workspace, as the app role (each write inside tenant_context, row-level security enforced)."""
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Role
    from apps.tenancy.services import api_key_create
    from tests import factories as f
    from tests.builders import bilingual_live_survey, live_survey

    tenant = f.TenantFactory(name="Bench Writes", slug=SLUG, time_zone="Europe/Brussels")
    admin = f.UserFactory(email="admin@bench-writes.example", full_name="Ada Admin")
    lead = f.UserFactory(email="lead@bench-writes.example", full_name="Lee Lead")
    with tenant_context(tenant):
        f.MembershipFactory(tenant=tenant, user=admin, role=Role.ADMIN)
        lead_member = f.MembershipFactory(tenant=tenant, user=lead, role=Role.CX_LEAD)
        staff = [f.MembershipFactory(tenant=tenant, user=f.UserFactory(email=f"staff{i}@bench-writes.example", full_name=f"Staff {i}"),
                                     role=Role.STAFF) for i in range(50)]
        keys = [(api_key_create(tenant=tenant, acting_user=admin, name=f"Integration {i}", role=Role.STAFF)[1], str(staff[i % 50].uuid))
                for i in range(n_keys)]
        segments = [f.SegmentFactory(tenant=tenant, name=name) for name in ("Enterprise", "Mid-market", "SMB")]
        clients = []
        for i in range(n_clients):
            client = f.ClientFactory(tenant=tenant, name=f"Client {i:03d}", segment=segments[i % 3], owner=staff[i % 50])
            contact = f.ContactFactory(client=client, name=f"Contact {i:03d}", email=f"contact{i}@client{i}.example")
            clients.append((str(client.uuid), str(contact.uuid)))
        helpdesk = f.TouchpointFactory(tenant=tenant, name="Helpdesk call", channel="phone")
        website = f.TouchpointFactory(tenant=tenant, name="Website", channel="web")
        journey = f.JourneyFactory(tenant=tenant, name="Support")
        stage = f.StageFactory(journey=journey, tenant=tenant, name="Get help", order=1)
        for touchpoint in (helpdesk, website):
            f.StageTouchpointFactory(stage=stage, touchpoint=touchpoint, tenant=tenant)
    bilingual_live_survey(tenant, name="Website NPS", web_token=WEB_TOKEN, web_link_enabled=True, touchpoint=website)
    if not plain:
        live_survey(tenant, name="After-call NPS", trigger="after_interaction", touchpoint=helpdesk)
        with tenant_context(tenant):
            f.AlertRuleFactory(tenant=tenant, name="Detractors", trigger="nps_at_most", threshold=6, assignee=lead_member)
            f.AlertRuleFactory(tenant=tenant, name="Follow-ups", trigger="interaction_follow_up", threshold=0, assign_to="staff",
                               assignee=lead_member)
            f.WebhookEndpointFactory(tenant=tenant, url=sink_url, events=["response.created", "case.opened"])
    return World(tenant=tenant, keys=keys, clients=clients, helpdesk=str(helpdesk.uuid), web_token=WEB_TOKEN)


# --- requests ----------------------------------------------------------------------------------

def interaction_body(world: World, rng: random.Random, staff_uuid: str) -> dict:
    client, contact = rng.choice(world.clients)
    body = {"client": client, "contact": contact, "touchpoint": world.helpdesk, "staff": staff_uuid,
            "outcome": rng.choice(("resolved", "resolved", "resolved", "unresolved", "escalated")), "summary": rng.choice(SUMMARIES),
            "staff_sentiment": rng.choice((-1, 0, 1, 1, 2)), "predicted_score": rng.choice(range(4, 11))}
    if rng.random() < 0.1:
        body.update(follow_up=True, follow_up_due=time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400)))
    return body


def survey_form(rng: random.Random) -> dict:
    from apps.surveys.respond.forms import stamp_make

    form = {"q_nps": str(rng.choices(range(11), NPS_WEIGHTS)[0]), "stamp": stamp_make(now=time.time() - STAMP_AGE)}
    if rng.random() < 0.4:
        form["q_reason"] = rng.choice(COMMENTS)
    return form


def http_request(method: str, path: str, port: int, headers: dict, body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Scenario:
    name: str
    expected: int

    def __init__(self, port: int):
        self.port = port

    def request(self, client: int, rng: random.Random, tag: str) -> bytes:
        raise NotImplementedError


class Floor(Scenario):
    name, expected = "floor", 201

    def request(self, client, rng, tag):
        body = json.dumps({"client": str(uuid.uuid4()), "summary": rng.choice(SUMMARIES), "outcome": "resolved"}).encode()
        return http_request("POST", "/hit/", self.port, {"Content-Type": "application/json", "X-Bench": tag}, body)


class InteractionPost(Scenario):
    name, expected = "interaction POST", 201

    def __init__(self, port, world: World):
        super().__init__(port)
        self.world = world

    def request(self, client, rng, tag):
        raw_key, staff = self.world.keys[client % len(self.world.keys)]
        body = json.dumps(interaction_body(self.world, rng, staff)).encode()
        return http_request("POST", f"/api/v1/t/{SLUG}/interactions/", self.port,
                            {"Content-Type": "application/json", "Authorization": f"Bearer {raw_key}",
                             "Idempotency-Key": str(uuid.uuid4()), "X-Bench": tag}, body)


class SurveySubmit(Scenario):
    name, expected = "survey submit", 200

    def __init__(self, port, world: World):
        super().__init__(port)
        self.world = world
        self.sent = 0

    def request(self, client, rng, tag):
        self.sent += 1  # each respondent its own address, behind the one trusted proxy (AXES_PROXY_COUNT=1)
        address = f"10.{client % 250}.{(self.sent // 250) % 250}.{self.sent % 250 + 1}"
        body = urlencode(survey_form(rng)).encode()
        return http_request("POST", f"/w/{self.world.web_token}/", self.port,
                            {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": address, "X-Bench": tag}, body)


# --- the load ----------------------------------------------------------------------------------

async def exchange(port: int, payload: bytes, timeout: float) -> tuple[int, bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(payload)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
        body = await asyncio.wait_for(reader.readexactly(int(length.group(1))) if length else reader.read(), timeout)
        return status, body
    finally:
        writer.close()


@dataclass
class LoadResult:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # of the requests answered with the expected status
    statuses: Counter = field(default_factory=Counter)  # every request completed in the window, by status or error
    cpu: dict = field(default_factory=dict)  # seconds of CPU in the window: web, postgres, client
    server_ms: list[float] = field(default_factory=list)
    queue_max: int = 0
    queue_end: int = 0
    drain_s: float | None = None
    worker_cpu: float = 0.0  # the Celery worker's CPU from the start of the warm-up until drained
    worker_pg_cpu: float = 0.0  # its Postgres backends' CPU, same span
    tag: str = ""  # the X-Bench header of the window's requests (found again in gunicorn's access log)
    tasks: dict = field(default_factory=dict)  # task name: (runs, seconds) from the worker's log, warm-up to drained
    pg_samples: list = field(default_factory=list)  # (backends active, of them waiting on a lock), every 0.5 s of the window
    answered: int = 0  # requests answered with the expected status, warm-up and window (the worker's work is per these)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.ok

    @property
    def rps(self) -> float:
        return self.ok / self.seconds


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def run_load(scenario: Scenario, *, clients: int, warmup: float, seconds: float, timeout: float, web: Proc, owner: Owner,
                   queue=None) -> LoadResult:
    tag = f"{scenario.name.replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
    result = LoadResult(scenario.name, seconds, tag=tag)
    loop_start = time.perf_counter()
    window_start, window_end = loop_start + warmup, loop_start + warmup + seconds
    snapshots = {}

    def snapshot() -> dict:
        return {"web": {p: cpu_seconds(p) for p in process_tree(web.popen.pid)}, "pg": owner.backends_cpu(web.app_name),
                "client": time.process_time()}

    async def one_client(i: int) -> None:
        rng = random.Random(i * 7919 + int(loop_start))
        while time.perf_counter() < window_end:
            payload = scenario.request(i, rng, tag if time.perf_counter() >= window_start else tag + "-warmup")
            started = time.perf_counter()
            try:
                status, _ = await exchange(scenario.port, payload, timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                status = type(exc).__name__
            done = time.perf_counter()
            result.answered += status == scenario.expected
            if window_start <= done <= window_end:
                result.statuses[status] += 1
                if status == scenario.expected:
                    result.latencies.append(done - started)

    async def watch() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        snapshots["start"] = snapshot()
        while time.perf_counter() < window_end:
            if queue is not None:
                result.queue_max = max(result.queue_max, queue())
            sample = owner.backend_waits()
            if sample is not None:
                result.pg_samples.append(sample)
            await asyncio.sleep(min(0.5, max(0.0, window_end - time.perf_counter())))
        snapshots["end"] = snapshot()

    await asyncio.gather(watch(), *(one_client(i) for i in range(clients)))
    start, end = snapshots["start"], snapshots["end"]
    result.cpu = {
        "web": cpu_since(start["web"], end["web"]),
        "postgres": cpu_since(start["pg"], end["pg"]),  # the web workers' own backends
        "client": end["client"] - start["client"],
    }
    return result


def server_times(access_log: Path, tag: str) -> list[float]:
    """gunicorn's own request time (ms) of the window's requests: from the worker's accept to the last byte."""
    out = []
    for line in access_log.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == tag:
            out.append(int(parts[1]) / 1000)
    return out


TASK_DONE = re.compile(r"Task ([\w.]+)\[[^\]]+\] (succeeded|retry|raised)[^0-9]*([\d.]+)?")


def worker_tasks(log: Path, offset: int) -> dict[str, tuple[int, float]]:
    """Per task name, how many runs the worker logged after `offset` and their total run time (Celery's INFO lines)."""
    with open(log, "rb") as fh:
        fh.seek(offset)
        text = fh.read().decode(errors="replace")
    runs: dict[str, list] = {}
    for name, outcome, seconds in TASK_DONE.findall(text):
        entry = runs.setdefault(name.rsplit(".", 1)[-1] + ("" if outcome == "succeeded" else f" ({outcome})"), [0, 0.0])
        entry[0] += 1
        entry[1] += float(seconds or 0)
    return {name: (n, s) for name, (n, s) in runs.items()}


# --- the queue ---------------------------------------------------------------------------------

def queue_length(r: redis.Redis) -> int:
    """Messages waiting in the broker plus those a worker has reserved and not yet acknowledged (acks_late)."""
    queues = ["celery", getattr(settings, "CELERY_POLLING_QUEUE", "") or "polling"]
    return sum(r.llen(q) for q in queues) + r.hlen("unacked")


def drain(r: redis.Redis, timeout: float) -> float | None:
    """Seconds until the queue stays empty (two reads 0.2 s apart), or None after `timeout`."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if queue_length(r) == 0:
            time.sleep(0.2)
            if queue_length(r) == 0:
                return time.perf_counter() - start
        time.sleep(0.2)
    return None


# --- statements per request (in process) -------------------------------------------------------

def statement_kind(sql: str) -> str:
    text = sql.lstrip().upper()
    if "SET_CONFIG(" in text:
        return "set_config"
    for kind in ("SET LOCAL", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "SELECT", "INSERT", "UPDATE", "DELETE",
                 "EXECUTE", "PREPARE", "WITH"):
        if text.startswith(kind):
            return kind
    return text.split(" ", 1)[0]


def statements_per_request(world: World, profile: int = 0) -> dict[str, dict]:
    """The statements of one interaction POST and one web-link submit (the second of two: the first warms caches), through
    Django's test client as the app role, and the tasks each queues on commit (to an in-memory broker nobody reads)."""
    from celery.signals import before_task_publish
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cxm.celery import app as celery_app

    celery_app.conf.update(task_always_eager=False, broker_url="memory://")
    celery_app._pool = celery_app.amqp._producer_pool = None
    published: list[str] = []

    def count_task(sender=None, **kwargs):
        published.append(str(sender).rsplit(".", 1)[-1])

    before_task_publish.connect(count_task, weak=False)
    rng = random.Random(18)
    client = Client()
    out = {}
    raw_key, staff = world.keys[0]
    requests = {
        "interaction POST": lambda: client.post(f"/api/v1/t/{SLUG}/interactions/", data=json.dumps(interaction_body(world, rng, staff)),
                                                content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}",
                                                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())),
        "survey submit": lambda: client.post(f"/w/{world.web_token}/", {**survey_form(rng), "q_nps": "3", "q_reason": COMMENTS[1]},
                                             REMOTE_ADDR=f"10.255.0.{rng.randrange(1, 250)}"),
    }
    try:
        for name, send in requests.items():
            send()
            published.clear()
            with CaptureQueriesContext(connection) as captured:
                response = send()
            expected = InteractionPost.expected if name == "interaction POST" else SurveySubmit.expected
            assert response.status_code == expected, (name, response.status_code, response.content[:500])
            kinds = Counter(statement_kind(q["sql"]) for q in captured.captured_queries)
            out[name] = {"total": len(captured.captured_queries), "kinds": kinds, "tasks": Counter(published),
                         "sql": [q["sql"] for q in captured.captured_queries]}
            if profile:
                out[name]["profile"] = profile_requests(send, profile)
    finally:
        before_task_publish.disconnect(count_task)
    return out


def code_area(filename: str) -> str:
    if "psycopg2" in filename or "cursor' objects" in filename:
        return "psycopg2 (waiting for Postgres included)"
    for marker, area in (("/apps/", "our code (apps/)"), ("/rest_framework/", "DRF"), ("/django/template", "Django templates"),
                         ("/django/db/", "Django ORM"), ("/django/", "Django (other)"), ("/drf_spectacular/", "drf-spectacular"),
                         ("/kombu/", "Celery/kombu"), ("/celery/", "Celery/kombu"), ("/structlog/", "logging"), ("/logging/", "logging")):
        if marker in filename:
            return area
    return "other (stdlib, C)"


def profile_requests(send, n: int) -> dict:
    """n requests in process: wall time per request, the part spent in SQL (driver round trips), and the profiler's own time
    per code area (cProfile's tottime, grouped by where the function lives)."""
    import cProfile
    import pstats

    in_sql = [0.0]

    def timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[0] += time.perf_counter() - start

    with connection.execute_wrapper(timer):
        start = time.perf_counter()
        for _ in range(n):
            send()
        wall = time.perf_counter() - start
        sql = in_sql[0]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            send()
        profiler.disable()
    areas: Counter = Counter()
    for (filename, _line, func), (_cc, _nc, tottime, _ct, _callers) in pstats.Stats(profiler).stats.items():
        areas[code_area(filename if filename != "~" else func)] += tottime
    total = sum(areas.values()) or 1.0
    return {"wall_ms": wall / n * 1000, "sql_ms": sql / n * 1000, "areas": {a: t / total for a, t in areas.most_common()}}


# --- pgbench -----------------------------------------------------------------------------------

def pgbench(db: str, role: str, clients: int, seconds: int, work: Path) -> dict:
    exe = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    script = work / "insert.sql"
    script.write_text("INSERT INTO bench_pgbench (payload, created_at) VALUES ('{\"client\": \"x\", \"outcome\": \"resolved\"}', now());\n")
    done = subprocess.run([exe, "-h", "127.0.0.1", "-p", "5432", "-U", role, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds),
                           "-f", str(script), db], capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    return {"tps": float(tps.group(1)) if tps else float("nan"), "latency_ms": float(latency.group(1)) if latency else float("nan")}


# --- after the load: what the worker did -------------------------------------------------------

def worker_effects(world: World, since_ids: dict) -> dict:
    from apps.feedback.models import Case
    from apps.integrations.models import WebhookDelivery
    from apps.surveys.models import Invitation, Response
    from apps.tenancy.context import tenant_context
    from apps.touchpoints.models import Interaction

    with tenant_context(world.tenant):
        interactions = Interaction.objects.filter(pk__gt=since_ids["interaction"])
        responses = Response.objects.filter(pk__gt=since_ids["response"])
        return {
            "interactions": interactions.count(),
            "sentiment scored": interactions.filter(text_sentiment__isnull=False).count(),
            "after-call invitations": Invitation.objects.filter(interaction__in=interactions).count(),
            "responses": responses.count(),
            "bot-flagged": responses.filter(is_bot=True).count(),
            "cases opened": Case.objects.filter(pk__gt=since_ids["case"]).count(),
            "webhook deliveries": dict(Counter(WebhookDelivery.objects.filter(pk__gt=since_ids["delivery"]).values_list("status", flat=True))),
        }


def last_ids(world: World) -> dict:
    from django.db.models import Max

    from apps.feedback.models import Case
    from apps.integrations.models import WebhookDelivery
    from apps.surveys.models import Response
    from apps.tenancy.context import tenant_context
    from apps.touchpoints.models import Interaction

    with tenant_context(world.tenant):
        return {name: model.objects.aggregate(m=Max("pk"))["m"] or 0
                for name, model in (("interaction", Interaction), ("response", Response), ("case", Case), ("delivery", WebhookDelivery))}


# --- report ------------------------------------------------------------------------------------

def report(args, results: list[LoadResult], floors: list[LoadResult], statements: dict, pg: dict, effects: dict, sink_count,
           loads: tuple) -> None:
    floor_rps = sum(f.rps for f in floors) / len(floors)
    by_name = {r.name: r for r in results}
    print(f"\n== Writes over HTTP: {args.clients} clients, {args.seconds:g} s per scenario (after {args.warmup:g} s warm-up), "
          f"gunicorn {args.workers} sync workers, Celery worker --concurrency {args.celery_concurrency}")
    print(f"{'figure':<58} {'target':>8} {'measured':>9}  ok")

    def row(label, target, value, good, fmt="{:9.2f}"):
        print(f"{label:<58} {target:>8} {fmt.format(value) if not isinstance(value, str) else f'{value:>9}'}  {'yes' if good else 'NO'}")

    for name in ("interaction POST", "survey submit"):
        r = by_name[name]
        ratio = r.rps / floor_rps if floor_rps else float("nan")
        row(f"P4 {name} req/s ÷ floor req/s", "≥ 0.1", ratio, ratio >= 0.1)
    for name in ("interaction POST", "survey submit"):
        p95 = percentile(by_name[name].latencies, 95) * 1000
        row(f"p95 {name} (ms, client side, {args.clients} clients)", "≤ 150", p95, p95 <= 150, "{:9.0f}")
    for name in ("interaction POST", "survey submit"):
        r = by_name[name]
        row(f"queue drained within the run, after {name}", "yes", "yes" if r.drain_s is not None else "no", r.drain_s is not None)
    for r in results + floors:
        if r.errors:
            print(f"  !! {r.name}: {r.errors} requests without the expected status: {dict(r.statuses)}")

    print("\n== Absolute figures")
    print(f"{'scenario':<18} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} {'server p50/p95 ms':>18} "
          f"{'CPU ms/req web / pg / client':>29} {'worker / pg':>13} {'all':>6}")
    for r in [floors[0], *results, *floors[1:]]:
        n = max(r.ok, 1)
        web_ms, pg_ms, client_ms = (r.cpu[k] / n * 1000 for k in ("web", "postgres", "client"))
        server = f"{percentile(r.server_ms, 50):.1f} / {percentile(r.server_ms, 95):.1f}" if r.server_ms else "—"
        worker_ms, worker_pg_ms = (cpu / max(r.answered, 1) * 1000 for cpu in (r.worker_cpu, r.worker_pg_cpu))
        worker = f"{worker_ms:.1f} / {worker_pg_ms:.1f}" if r.name != "floor" else "—"
        total_ms = web_ms + pg_ms + worker_ms + worker_pg_ms
        print(f"{r.name:<18} {r.rps:>7.1f} {percentile(r.latencies, 50) * 1000:>7.0f} {percentile(r.latencies, 95) * 1000:>7.0f} "
              f"{percentile(r.latencies, 99) * 1000:>7.0f} {r.errors:>6} {server:>18} "
              f"{web_ms:>9.1f} / {pg_ms:>5.1f} / {client_ms:>5.1f} {worker:>13} {total_ms:>6.1f}")
    print("(CPU per answered request: the web workers, their Postgres backends and the load client in the window; the Celery worker and "
          "its backends from the warm-up until the queue drained, per request that queued it; all = web + pg + worker + pg)")
    for r in [floors[0], *results]:
        if r.pg_samples:
            active = sum(a for a, _ in r.pg_samples) / len(r.pg_samples)
            waiting = sum(w for _, w in r.pg_samples) / len(r.pg_samples)
            print(f"{r.name}: Postgres backends active {active:.1f} on average, {waiting:.2f} of them waiting on a lock")
    print(f"floor req/s used in the ratios: {floor_rps:.1f} (mean of {len(floors)} runs: "
          + ", ".join(f"{f.rps:.1f}" for f in floors) + ")")
    if "error" in pg:
        print(f"pgbench: failed: {pg['error']}")
    else:
        print(f"pgbench, one-row INSERT, {pg['clients']} clients, {pg['seconds']} s: {pg['tps']:,.0f} tps "
              f"(latency average {pg['latency_ms']:.1f} ms); floor ÷ pgbench {floor_rps / pg['tps']:.3f}")
    for name in ("interaction POST", "survey submit"):
        r = by_name[name]
        drain = f"{r.drain_s:.1f} s" if r.drain_s is not None else f"not drained after {args.drain_timeout:g} s"
        print(f"Celery queue, {name}: at most {r.queue_max:,} during the load, {r.queue_end:,} at its end; drained in {drain}")
        per = max(r.answered, 1)
        print(f"  tasks run for its {r.answered:,} requests (warm-up included), per request × mean run time: " + "; ".join(
            f"{task} {n / per:.2f} × {s / max(n, 1) * 1000:.1f} ms" for task, (n, s) in sorted(r.tasks.items(), key=lambda t: -t[1][1])))
    print("\n== Statements per request (in process, the second request, as the app role; the connection health check's "
          "SELECT 1 comes on top over HTTP)")
    kinds = ["SELECT", "INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL", "set_config"]
    others = sorted({k for s in statements.values() for k in s["kinds"]} - set(kinds))
    print(f"{'request':<18} {'total':>5} " + " ".join(f"{k:>{max(len(k), 5)}}" for k in kinds + others) + "  tasks queued")
    print(f"{'floor':<18} {1:>5} " + " ".join(f"{int(k == 'INSERT'):>{max(len(k), 5)}}" for k in kinds + others) + "  —")
    for name, s in statements.items():
        tasks = ", ".join(f"{t}×{n}" if n > 1 else t for t, n in s["tasks"].items()) or "none"
        print(f"{name:<18} {s['total']:>5} " + " ".join(f"{s['kinds'].get(k, 0):>{max(len(k), 5)}}" for k in kinds + others) + f"  {tasks}")
    for name, s in statements.items():
        if "profile" in s:
            p = s["profile"]
            areas = ", ".join(f"{a} {share:.0%}" for a, share in p["areas"].items() if share >= 0.02)
            print(f"{name}, in process (no HTTP, no gunicorn): {p['wall_ms']:.1f} ms per request, {p['sql_ms']:.1f} ms of it in "
                  f"SQL round trips; profile (own time) by area: {areas}")
    if args.show_sql:
        for name, s in statements.items():
            print(f"\n-- {name}")
            for sql in s["sql"]:
                print("   " + (sql if len(sql) <= 240 else sql[:237] + "..."))
    print("\n== What the worker did (timed and warm-up requests)")
    for key, value in effects.items():
        print(f"  {key}: {value}")
    if sink_count is not None:
        print(f"  webhook receiver got: {sink_count}")
    print(f"load average at start / end: {loads[0]} / {loads[1]}")


# --- main --------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (no think time)")
    parser.add_argument("--seconds", type=float, default=20, help="timed window per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="untimed seconds before each window")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (the Dockerfile's 3), for the app and the floor")
    parser.add_argument("--celery-concurrency", type=int, default=2, help="Celery worker processes (docker-compose's 2)")
    parser.add_argument("--pgbench-seconds", type=int, default=5)
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds to wait for the Celery queue to empty")
    parser.add_argument("--timeout", type=float, default=30, help="per-request timeout (an error past it)")
    parser.add_argument("--redis-db", type=int, default=9, help="private Redis database for the cache and the broker (must be empty)")
    parser.add_argument("--plain", action="store_true", help="no alert rules, webhook endpoint or after-interaction survey")
    parser.add_argument("--profile", type=int, default=20, help="requests of each kind timed and profiled in process (0: none)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request of each kind")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database (and the work directory) afterwards")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    r = redis.Redis.from_url(redis_url)
    if r.dbsize():
        print(f"Redis database {args.redis_db} is not empty: another process may use it; choose another with --redis-db.", file=sys.stderr)
        return 2
    loads = [os.getloadavg()]
    app_role = settings.DATABASE_APP_ROLE
    work = Path(tempfile.mkdtemp(prefix="cxm-bench-writes-"))
    taken: set[int] = set()
    app_port, floor_port, sink_port = free_port(taken), free_port(taken), free_port(taken)
    procs: list[Proc] = []
    samplers: list[BackendSampler] = []
    owner = None
    owner_settings = dict(connection.settings_dict)
    db_created = False
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_NAME", "DATABASE_URL")}
        env.update({
            "DJANGO_SETTINGS_MODULE": "cxm.settings.base", "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY,  # the stamps are signed with it
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "SITE_URL": f"http://127.0.0.1:{app_port}", "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0", "SECURE_HSTS_SECONDS": "0",
            "DATABASE_APP_ROLE": app_role, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "EMAIL_URL": "dummymail://",
            "STATIC_ROOT": str(work / "static"), "AXES_PROXY_COUNT": "1", "WEBHOOKS_ALLOW_LOOPBACK": "1",
        })
        collect = spawn("collectstatic", [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                        {**env, "DATABASE_URL": "sqlite:///:memory:"}, ROOT, work / "collectstatic.log")
        started = time.perf_counter()
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        db_created = True
        db_name = connection.settings_dict["NAME"]
        owner = Owner({**owner_settings, "NAME": db_name})
        make_bare_tables(owner, app_role)
        print(f"database {db_name} migrated in {time.perf_counter() - started:.0f} s", flush=True)
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = app_role
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        procs.append(spawn("webhook receiver", [sys.executable, "-c", WEBHOOK_SINK, str(sink_port)], env, work, work / "sink.log"))
        world = build_world(args.clients, 200, f"http://127.0.0.1:{sink_port}/hooks/cxm", args.plain)
        statements = statements_per_request(world, args.profile)
        print(f"workspace built, statements counted ({time.perf_counter() - started:.0f} s)", flush=True)
        if collect.popen.wait(timeout=600) != 0:
            sys.exit(f"collectstatic failed:\n{collect.tail()}")
        env["DATABASE_URL"] = f"postgres://{app_role}@127.0.0.1:5432/{db_name}"
        gunicorn = [str(BIN / "gunicorn"), "--workers", str(args.workers), "--access-logformat", ACCESS_LOG_FORMAT]
        web = spawn("gunicorn (app)", [*gunicorn, "cxm.wsgi:application", "--bind", f"127.0.0.1:{app_port}",
                                       "--access-logfile", str(work / "app-access.log")], env, ROOT, work / "app.log",
                    "cxm-bench-web")
        procs.append(web)
        (work / "floor").mkdir()
        (work / "floor" / "floor.py").write_text(FLOOR_APP)
        floor_env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_NAME", "DATABASE_URL", "SECRET_KEY")}
        floor_env.update({"DJANGO_SETTINGS_MODULE": "floor", "FLOOR_DB": db_name, "FLOOR_ROLE": app_role, "PYTHONPATH": str(work / "floor")})
        floor_web = spawn("gunicorn (floor)", [*gunicorn, "floor:application", "--bind", f"127.0.0.1:{floor_port}",
                                               "--access-logfile", str(work / "floor-access.log")], floor_env, work / "floor",
                          work / "floor.log", "cxm-bench-floor")
        procs.append(floor_web)
        worker = spawn("celery worker", [str(BIN / "celery"), "-A", "cxm", "worker", "-l", "INFO", "--concurrency",
                                         str(args.celery_concurrency), "-n", f"bench-writes-{os.getpid()}@%h"], env, ROOT,
                       work / "worker.log", "cxm-bench-worker")
        procs.append(worker)
        wait_http(web, app_port, "/health/")
        wait_http(floor_web, floor_port, "/hit/")
        wait_log(worker, " ready.")
        print(f"gunicorn (app :{app_port}, floor :{floor_port}) and the Celery worker are up; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)

        before = last_ids(world)
        floors, results = [], []
        queue = lambda: queue_length(r)  # noqa: E731
        plan = [(Floor(floor_port), floor_web, work / "floor-access.log"),
                (InteractionPost(app_port, world), web, work / "app-access.log"),
                (SurveySubmit(app_port, world), web, work / "app-access.log"),
                (Floor(floor_port), floor_web, work / "floor-access.log")]
        for scenario, server, access_log in plan:
            is_floor = isinstance(scenario, Floor)
            worker_cpu = sum(cpu_seconds(p) for p in process_tree(worker.popen.pid))
            worker_pg = None if is_floor else BackendSampler({**owner_settings, "NAME": db_name}, worker.app_name)
            if worker_pg is not None:
                samplers.append(worker_pg)
                worker_pg.start()
            worker_log_at = worker.log.stat().st_size
            result = asyncio.run(run_load(scenario, clients=args.clients, warmup=args.warmup, seconds=args.seconds, timeout=args.timeout,
                                          web=server, owner=owner, queue=None if is_floor else queue))
            if not is_floor:
                result.queue_end = queue_length(r)
                result.drain_s = drain(r, args.drain_timeout)
                result.worker_cpu = sum(cpu_seconds(p) for p in process_tree(worker.popen.pid)) - worker_cpu
                result.worker_pg_cpu = worker_pg.stop()
                time.sleep(0.5)  # the worker's last log lines
                result.tasks = worker_tasks(worker.log, worker_log_at)
            time.sleep(0.5)  # the access log's last lines
            result.server_ms = server_times(access_log, result.tag)
            (floors if is_floor else results).append(result)
            drained = "" if is_floor else (f"; queue {result.queue_end} at the end, drained in {result.drain_s:.1f} s"
                                           if result.drain_s is not None else "; queue NOT drained")
            print(f"{scenario.name}: {result.rps:.1f} req/s, p95 {percentile(result.latencies, 95) * 1000:.0f} ms, "
                  f"{result.errors} errors{drained}", flush=True)
        slots = owner.run("SELECT current_setting('max_connections')::int - (SELECT count(*) FROM pg_stat_activity) - "
                          "current_setting('superuser_reserved_connections')::int")[0][0]
        pg_clients = max(1, min(args.clients, slots - 5))
        pg = {"clients": pg_clients, "seconds": args.pgbench_seconds,
              **pgbench(db_name, app_role, pg_clients, args.pgbench_seconds, work)}
        effects = worker_effects(world, before)
        try:
            with socket.create_connection(("127.0.0.1", sink_port), timeout=5) as s:
                s.sendall(b"GET /count HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                sink_count = int(s.makefile("rb").read().split(b"\r\n\r\n", 1)[1])
        except (OSError, ValueError, IndexError):
            sink_count = None
        errors = len(re.findall(r"\] (ERROR|CRITICAL)", worker.log.read_text(errors="replace")))
        if errors:
            effects["worker log errors"] = errors
        loads.append(os.getloadavg())
        for proc in (web, worker):  # a server error's traceback, if any (the first one, and how many)
            text = proc.log.read_text(errors="replace")
            tracebacks = text.count("Traceback (most recent call last)")
            if tracebacks:
                first = text[text.index("Traceback (most recent call last)"):].split("\n\n", 1)[0]
                print(f"\n!! {proc.name}: {tracebacks} tracebacks in its log; the first:\n{first[-3000:]}")
        report(args, results, floors, statements, pg, effects, sink_count, tuple(" ".join(f"{x:.1f}" for x in la) for la in loads))
    finally:
        for sampler in samplers:
            if sampler.is_alive():
                sampler.stop()
        for proc in reversed(procs):
            proc.stop()
        try:
            r.flushdb()
        except redis.RedisError:
            pass
        if owner is not None:
            owner.close()
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner_settings["USER"], owner_settings["PASSWORD"]
        if args.keep_db:
            print(f"kept: database {connection.settings_dict['NAME']}, work directory {work}")
        else:
            if db_created:
                connection.creation.destroy_test_db(owner_settings["NAME"], verbosity=0)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
