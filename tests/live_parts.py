"""What the end-to-end tests on real parts share: an SMTP sink on loopback, a Celery worker process
sending to it, polling with a bound, and reading a respondent page's hidden form fields.

The fixtures are registered for every test by tests/conftest.py; a module that needs another worker
environment defines its own `worker` with `live_worker(env=…)`."""

from __future__ import annotations

import html
import re
import time

import pytest

from tests.live_worker import live_worker
from tests.smtp_sink import SmtpSink

# A respondent link in an e-mail: /s/<43-character token>/.
SURVEY_LINK = re.compile(r"http://[^\s\"<>]+/s/([A-Za-z0-9_-]{43})/")


@pytest.fixture
def sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def worker(transactional_db, sink):
    with live_worker(env={"CXM_WORKER_EMAIL_URL": sink.url}) as queue:
        yield queue


def wait_until(check, what: str, timeout: float = 120, interval: float = 0.2) -> None:
    """Poll `check()` until it is true; fail after `timeout` seconds (a bound against a hung part on a
    loaded machine, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


def hidden_inputs(page: str) -> dict:
    """{name: value} of a page's hidden inputs (the respondent form's tokens and keys)."""
    fields = {}
    for tag in re.findall(r"<input[^>]+>", page):
        if 'type="hidden"' in tag:
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields
