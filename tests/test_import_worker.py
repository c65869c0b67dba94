"""A small import end to end on a real Celery worker (Redis broker, Postgres as the app role): upload,
the review task, confirm, the apply task, with the progress the page polls reaching 100%.

Web and worker share the progress through the cache, so both use Redis here (as in production); the
worker is started with the test settings and only its cache pointed at Redis."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.clients.models import Contact
from apps.imports.models import ImportJob
from apps.tenancy.context import tenant_context
from tests.live_worker import live_worker

pytestmark = [pytest.mark.postgres, pytest.mark.services]
ROWS = 3000


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.TEST_REDIS_URL}}


@pytest.fixture
def worker(transactional_db, redis_cache):
    with live_worker(redis_cache=True) as queue:
        yield queue


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


def test_the_worker_refuses_a_zip_bomb_that_the_upload_took_at_once(world, worker, client):
    """Issue 15, F5: the upload answers before anything is unpacked; the worker's budget refuses the file."""
    from tests.builders import hostile_workbook

    client.force_login(world.carol)
    response = client.post("/t/acme/imports/", {"file": SimpleUploadedFile("bomb.xlsx", hostile_workbook("zip bomb"))})
    assert response.status_code == 302
    seen = poll_until(client, response["Location"] + "status/", {"review", "failed", "done"})
    assert seen[-1]["status"] == "failed", seen[-1]
    with tenant_context(world.a):
        job = ImportJob.objects.get()
        assert "unpacks from" in job.error_message
        assert Contact.objects.count() == 0
    page = client.get(response["Location"]).content.decode()
    assert "Nothing was imported." in page
    assert "unpacks from" in page


def test_a_worker_imports_past_responses_and_analyses_their_comments(world, worker, client):
    """Issue 20 item 6 on the real worker: the review and the apply tasks, the progress reaching 100%, then the
    comment analysis queued on commit fills language and sentiment."""
    from django.utils import timezone

    from apps.surveys.models import Response
    from tests import factories as f

    with tenant_context(world.a):
        survey = f.SurveyFactory(tenant=world.a, name="History")
        version = f.SurveyVersionFactory(survey=survey, number=1)
        f.QuestionFactory(version=version, order=1, key="nps", type="nps")
        f.QuestionFactory(version=version, order=2, key="reason", type="text", required=False, text={"en": "Why?"})
        version.published_at = timezone.now()
        version.save()
        survey.current_version = version
        survey.save()
        f.ContactFactory(tenant=world.a, client=f.ClientFactory(tenant=world.a), email="hist@example.com")
    rows = "".join(f"H{i},hist@example.com,2024-0{1 + i % 9}-1{i % 10} 10:00,{i % 11},{'Great service' if i % 2 else ''}\n"
                   for i in range(600))
    client.force_login(world.carol)
    response = client.post(f"/t/acme/surveys/{survey.uuid}/history/", {
        "file": SimpleUploadedFile("history.csv", f"response_id,email,submitted_at,nps,reason\n{rows}".encode()),
        "layout": "auto", "time_zone": "Europe/Brussels"})
    assert response.status_code == 302
    job_url = response["Location"]
    seen = poll_until(client, job_url + "status/", {"review", "failed"})
    assert seen[-1]["status"] == "review"
    assert client.post(job_url + "confirm/").status_code == 302
    seen = poll_until(client, job_url + "status/", {"done", "failed"})
    assert (seen[-1]["status"], seen[-1]["percent"]) == ("done", 100)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with tenant_context(world.a):
            pending = Response.objects.filter(channel="import").exclude(comment="").filter(comment_analyser=0).count()
            total = Response.objects.filter(channel="import").count()
        if total == 600 and not pending:
            break
        time.sleep(0.2)
    assert (total, pending) == (600, 0)
