"""A small import end to end on a real Celery worker (Redis broker, Postgres as the app role): upload,
the review task, confirm, the apply task, with the progress the page polls reaching 100%.

Web and worker share the progress through the cache, so both use Redis here (as in production); the
worker is started with the test settings and only its cache pointed at Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.clients.models import Contact
from apps.imports.models import ImportJob
from apps.tenancy.context import tenant_context
from cxm.celery import app as celery_app

pytestmark = [pytest.mark.postgres, pytest.mark.services]
ROOT = Path(__file__).resolve().parent.parent
ROWS = 3000

WORKER = """
import sys
import cxm.settings.test as test_settings
test_settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": sys.argv[1]}}
from celery.__main__ import main
sys.argv = ["celery", "-A", "tests.celery_probe", "worker", "--pool=solo", "--concurrency=1", "-Q", sys.argv[2],
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
main()
"""


def _redis_or_skip():
    try:
        redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CXM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required (CXM_REQUIRE_SERVICES=1): {exc}")
        pytest.skip(f"no Redis at {settings.TEST_REDIS_URL}")


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.TEST_REDIS_URL}}


@pytest.fixture
def worker(transactional_db, redis_cache):
    _redis_or_skip()
    queue = f"cxm-import-test-{os.getpid()}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{quote(db['PASSWORD'] or '')}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    proc = subprocess.Popen([sys.executable, "-c", WORKER, settings.TEST_REDIS_URL, queue], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=1, destination=None) or proc.poll() is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.poll() is not None else ""
                pytest.fail(f"Celery worker did not start:\n{out}")
        yield queue
    finally:
        celery_app.conf.task_always_eager = True
        celery_app.conf.task_default_queue = "celery"
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def poll_until(client, url, statuses, timeout=90):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(url).json()
        seen.append(state)
        if state["status"] in statuses:
            return seen
        time.sleep(0.05)
    pytest.fail(f"the job did not reach {statuses}: last {seen[-1:]}")


def test_a_worker_reviews_and_applies_an_import_with_progress_to_100(world, worker, client):
    rows = "".join(f"w{i}@example.com,Worker {i},Client {i // 10}\n" for i in range(ROWS))
    client.force_login(world.carol)
    response = client.post("/t/acme/imports/", {"file": SimpleUploadedFile("big.csv", f"email,contact_name,client_name\n{rows}".encode())})
    assert response.status_code == 302
    job_url = response["Location"]
    status_url = job_url + "status/"

    seen = poll_until(client, status_url, {"review", "failed"})
    assert seen[-1]["status"] == "review"
    with tenant_context(world.a):
        job = ImportJob.objects.get()
        assert (job.to_create, job.rejected) == (ROWS, 0)
        assert Contact.objects.count() == 0  # the review wrote nothing

    assert client.post(job_url + "confirm/").status_code == 302
    seen = poll_until(client, status_url, {"done", "failed"})
    final = seen[-1]
    assert final == {"status": "done", "status_label": "Imported", "phase": "Finished", "done": ROWS, "total": ROWS,
                     "unit": "rows", "percent": 100, "finished": True}
    writing = [s["percent"] for s in seen if s["phase"] == "Writing"]
    assert writing == sorted(writing), "progress never goes backwards"
    with tenant_context(world.a):
        assert Contact.objects.count() == ROWS
    assert "What this import did" in client.get(job_url).content.decode()
