"""A real Celery worker process for tests: Redis as the broker, Postgres as the app role (row-level
security on, exactly as production workers connect), its own queue, stopped afterwards.

With `redis_cache=True` the worker's cache is Redis too, so the web process (given the same cache)
and the worker share progress the way they do in production."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from cxm.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent

BOOT = """
import os
import sys
import cxm.settings.test as test_settings
if sys.argv[3] == "1":
    test_settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": sys.argv[1]}}
if os.environ.get("CXM_WORKER_EMAIL_URL"):  # a test's SMTP server (tests/smtp_sink.py) instead of locmem
    import environ
    vars(test_settings).update(environ.Env.email_url_config(os.environ["CXM_WORKER_EMAIL_URL"]))
test_settings.CELERY_TASK_DEFAULT_QUEUE = sys.argv[2]  # tasks queued by tasks stay on this worker's queue
# As in production: one connection kept across tasks (the isolation test proves no tenant leaks through it).
test_settings.DATABASES["default"]["CONN_MAX_AGE"] = 600
from celery.__main__ import main
sys.argv = ["celery", "-A", "tests.celery_probe", "worker", "--pool=solo", "--concurrency=1", "-Q", sys.argv[2], "-n", sys.argv[4],
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
main()
"""


def redis_or_skip() -> None:
    try:
        redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CXM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required (CXM_REQUIRE_SERVICES=1): {exc}")
        pytest.skip(f"no Redis at {settings.TEST_REDIS_URL}")


class WorkerQueue(str):
    """The worker's queue name (what tasks are sent to), with the worker's process id (`pid`: --pool=solo,
    so the process that runs the tasks)."""

    pid: int


@contextlib.contextmanager
def live_worker(*, redis_cache: bool = False, env: dict | None = None):
    """Start a worker and yield its queue name; tasks sent meanwhile go to it, not run eagerly.
    `env` adds environment variables for the worker (e.g. CXM_WORKER_EMAIL_URL, OUTBOX_BACKOFF_SECONDS)."""
    redis_or_skip()
    queue = f"cxm-test-{os.getpid()}"
    # Its own node name, so the readiness ping below hears this worker, not another test process's
    # (parallel pytest workers, other checkouts) on the same broker.
    node = f"{queue}@{socket.gethostname()}"
    db = connection.settings_dict
    env = {
        **os.environ,
        **(env or {}),
        "DJANGO_SETTINGS_MODULE": "cxm.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{quote(db['PASSWORD'] or '')}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    proc = subprocess.Popen([sys.executable, "-c", BOOT, settings.TEST_REDIS_URL, queue, "1" if redis_cache else "0", node],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=1, destination=[node]) or proc.poll() is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.poll() is not None else ""
                pytest.fail(f"Celery worker did not start:\n{out}")
        named = WorkerQueue(queue)
        named.pid = proc.pid
        yield named
    finally:
        celery_app.conf.task_always_eager = True
        celery_app.conf.task_default_queue = "celery"
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
