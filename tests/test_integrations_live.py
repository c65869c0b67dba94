"""Webhooks end to end on real parts: Postgres (the app role, RLS on), Redis, a Celery worker process and
an HTTP receiver on 127.0.0.1 started here (threaded http.server).

A case opened with `case_open` and a response submitted with `response_submit` reach the receiver,
which verifies every request with the documented `apps.integrations.signing.verify`; a receiver that
answers 500 three times and then 200 ends with exactly one accepted delivery (four attempts logged, the
retries scheduled by the worker with a 0.2 s backoff base); a Slack endpoint gets the detractor alert,
unsigned. Loopback receivers are allowed for this test only (the setting here, the environment for the
worker); everywhere else they are refused."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.feedback.cases.services import case_open
from apps.integrations.models import WebhookAttempt, WebhookDelivery
from apps.integrations.services import endpoint_create
from apps.integrations.signing import WebhookVerificationError, verify
from apps.surveys.respond.services import response_submit
from apps.tenancy.context import tenant_context
from tests.builders import live_survey
from tests.factories import ClientFactory
from tests.live_parts import wait_until
from tests.live_worker import live_worker

pytestmark = [pytest.mark.postgres, pytest.mark.services]

WORKER_ENV = {"WEBHOOKS_ALLOW_LOOPBACK": "1", "WEBHOOKS_BACKOFF_SECONDS": "0.2", "WEBHOOKS_BACKOFF_JITTER": "0",
              "WEBHOOKS_TIMEOUT_SECONDS": "5"}


class Receiver:
    """Paths: /good answers 200, /flaky 500 three times then 200, /slack 200. Each signed request is
    verified with the endpoint's secret (set once the endpoint exists); the outcome is recorded."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.requests: list[dict] = []
        self.flaky_failures = 3
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers.items())
                with receiver.lock:
                    secret = receiver.secrets.get(self.path)
                    try:
                        verified = verify(secret=secret, headers=headers, body=body) is None if secret else None
                    except WebhookVerificationError as exc:
                        verified = str(exc)
                    status = 200
                    if self.path == "/flaky" and receiver.flaky_failures > 0:
                        receiver.flaky_failures -= 1
                        status = 500
                    if verified not in (True, None):
                        status = 400
                    receiver.requests.append({"path": self.path, "headers": headers, "body": json.loads(body), "verified": verified,
                                              "status": status})
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"try again")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def on(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def worker(transactional_db):
    with live_worker(env=WORKER_ENV) as queue:
        yield queue


def test_signed_deliveries_reach_a_loopback_receiver_and_a_flaky_one_is_accepted_once(world, receiver, worker, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True  # this process registers the endpoints; the worker got it from WORKER_ENV
    alice = world.membership(world.alice, world.a)
    with tenant_context(world.a):  # committed when the block ends: the worker sees the endpoints
        good = endpoint_create(tenant=world.a, acting_member=alice, url=receiver.url("/good"),
                               events=["case.opened", "response.created"], description="CRM")
        flaky = endpoint_create(tenant=world.a, acting_member=alice, url=receiver.url("/flaky"), events=["case.opened"])
        slack = endpoint_create(tenant=world.a, acting_member=alice, url=receiver.url("/slack"), kind="slack")
        client = ClientFactory(tenant=world.a, name="Bolt Logistics")
    receiver.secrets.update({"/good": good.secret, "/flaky": flaky.secret})
    survey = live_survey(world.a)

    with tenant_context(world.a):  # commits: on commit the deliveries go to the worker
        case, created = case_open(tenant=world.a, source="client", title="Invoice disputed", client=client)
        assert created
    with tenant_context(world.a):
        response, _ = response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 3, "reason": "Slow answers"},
                                      channel="web", language="en")

    wait_until(lambda: len(receiver.on("/good")) >= 2 and receiver.on("/slack"), "the good receiver and Slack")
    try:
        wait_until(lambda: any(r["status"] == 200 for r in receiver.on("/flaky")), "the flaky receiver's acceptance", timeout=30)
    except BaseException:
        with tenant_context(world.a):  # shown with the failure: where the deliveries stand
            print("deliveries:", list(WebhookDelivery.objects.values("endpoint__url", "status", "attempts", "next_attempt_at", "last_error")))
        print("requests:", [(r["path"], r["status"]) for r in receiver.requests])
        raise
    time.sleep(1.0)  # anything extra (a duplicate) would arrive now

    good_requests = receiver.on("/good")
    assert all(r["verified"] is True for r in good_requests + receiver.on("/flaky"))
    assert sorted(r["body"]["type"] for r in good_requests) == ["case.opened", "response.created"]
    opened = next(r["body"] for r in good_requests if r["body"]["type"] == "case.opened")
    assert opened["data"]["case"]["id"] == str(case.uuid)
    assert opened["data"]["tenant"] == "acme"
    created_body = next(r["body"] for r in good_requests if r["body"]["type"] == "response.created")
    assert created_body["data"]["response"]["id"] == str(response.uuid)
    assert created_body["data"]["response"]["scores"] == {"nps": 3}

    flaky_requests = receiver.on("/flaky")
    assert [r["status"] for r in flaky_requests] == [500, 500, 500, 200]
    assert len({r["headers"]["webhook-id"] for r in flaky_requests}) == 1  # one message, retried

    slack_requests = receiver.on("/slack")
    assert len(slack_requests) == 1
    assert "webhook-signature" not in {k.lower() for k in slack_requests[0]["headers"]}
    assert slack_requests[0]["body"]["text"].startswith("Detractor alert: NPS 3")

    with tenant_context(world.a):
        flaky_delivery = WebhookDelivery.objects.get(endpoint=flaky)
        codes = list(WebhookAttempt.objects.filter(delivery=flaky_delivery).order_by("attempted_at", "id").values_list("status_code", flat=True))
        assert (flaky_delivery.status, flaky_delivery.attempts, flaky_delivery.last_status_code) == ("succeeded", 4, 200)
        assert codes == [500, 500, 500, 200]
        assert WebhookDelivery.objects.filter(endpoint=good).count() == 2
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
        assert slack.deliveries.count() == 1
