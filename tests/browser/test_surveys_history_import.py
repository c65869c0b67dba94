"""Importing past responses in Chromium: from the survey's "Import history" tab, upload a Qualtrics export,
watch it being checked, read the review (counts, a rejected row's reason, the file's own time zone, the
columns proposed), take the file's zone, confirm, watch it finish and follow the link to the imported
responses. Axe finds no WCAG 2.1 A/AA violation; screenshots at 1280 and 390 wide.

The tasks are held and run by the test (tests/browser/test_imports.py's way), so the page really polls."""

import csv
import io
import re

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from apps.surveys.models import Response, ResponseImport
from apps.tenancy import tasks as tenancy_tasks
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import DESKTOP, MOBILE, assert_page_is_clean

pytestmark = pytest.mark.services

def _export() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["StartDate", "EndDate", "Status", "Finished", "RecordedDate", "ResponseId", "RecipientEmail", "UserLanguage", "Q1", "Q2"])
    writer.writerow(["Start Date", "End Date", "Response Type", "Finished", "Recorded Date", "Response ID", "Recipient Email",
                     "User Language", "How likely are you to recommend us?", "What is the main reason for your score?"])
    writer.writerow(['{"ImportId":"startDate","timeZone":"America/Denver"}', '{"ImportId":"endDate"}', '{"ImportId":"status"}',
                     '{"ImportId":"finished"}', '{"ImportId":"recordedDate","timeZone":"America/Denver"}', '{"ImportId":"_recordId"}',
                     '{"ImportId":"recipientEmail"}', '{"ImportId":"userLanguage"}', '{"ImportId":"QID1"}', '{"ImportId":"QID2_TEXT"}'])
    for i in range(12):
        day = f"2024-05-{1 + i:02d}"
        writer.writerow([f"{day} 09:00:00", f"{day} 09:02:00", "0", "1", f"{day} 09:02:01", f"R_{i}", f"person{i % 3}@client.example",
                         "EN", i % 11, f"Reason {i}"])
    writer.writerow(["2024-06-01 09:00:00", "2024-06-01 09:01:00", "0", "1", "2024-06-01 09:01:00", "R_x", "stranger@nowhere.example",
                     "EN", "9", ""])
    return out.getvalue().encode()


EXPORT = _export()


@pytest.fixture
def queued(monkeypatch):
    held = []

    def hold(task, tenant_id, *args):
        transaction.on_commit(lambda: held.append((task, tenant_id, args)))

    monkeypatch.setattr(tenancy_tasks, "enqueue_on_commit", hold)
    return held


def run_all(held):
    while held:
        task, tenant_id, args = held.pop(0)
        task.apply(args=[tenant_id, *args])


@pytest.fixture
def survey(world):
    a = world.a
    with tenant_context(a):
        survey = f.SurveyFactory(tenant=a, name="Relationship NPS", status="live")
        version = f.SurveyVersionFactory(survey=survey, number=1)
        f.QuestionFactory(version=version, order=1, key="nps", type="nps", text={"en": "How likely are you to recommend us?"})
        f.QuestionFactory(version=version, order=2, key="reason", type="text", required=False,
                          text={"en": "What is the main reason for your score?"})
        version.published_at = timezone.now()
        version.save()
        survey.current_version = version
        survey.save()
        client = f.ClientFactory(tenant=a, name="Brightside")
        for n in range(3):
            f.ContactFactory(tenant=a, client=client, email=f"person{n}@client.example")
    return survey


def upload(page, survey):
    page.goto(f"/t/acme/surveys/{survey.uuid}/history/")
    page.get_by_label("CSV or XLSX file").set_input_files(files=[{"name": "qualtrics.csv", "mimeType": "text/csv", "buffer": EXPORT}])
    page.get_by_role("button", name="Upload and review").click()
    expect(page.get_by_role("heading", name="Checking the file")).to_be_visible()


def test_a_lead_imports_a_qualtrics_export(browse, world, survey, queued):
    page, watch = browse.open(DESKTOP, user=world.carol)
    page.goto(f"/t/acme/surveys/{survey.uuid}/")
    page.get_by_role("link", name="Import history").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import past responses")
    assert_page_is_clean(page, watch, "history-upload")

    upload(page, survey)
    run_all(queued)  # the review; the polling page shows it
    expect(page.get_by_role("heading", name="What this import will do")).to_be_visible(timeout=15_000)
    expect(page.locator(".import-counts__create dd")).to_have_text("12")
    expect(page.locator(".import-counts__reject dd")).to_have_text("1")
    expect(page.get_by_role("row", name=re.compile("stranger@nowhere.example"))).to_contain_text("no contact with the e-mail")
    expect(page.get_by_text("read as a Qualtrics export")).to_be_visible()
    expect(page.get_by_text("The file says its times are in America/Denver")).to_be_visible()
    expect(page.get_by_label("Answered at")).to_have_value(re.compile(r"\d+"))
    assert_page_is_clean(page, watch, "history-review")
    phone, phone_watch = browse.open(MOBILE, user=world.carol)  # the same review and the upload page on a phone
    phone.goto(page.url)
    expect(phone.get_by_role("heading", name="What this import will do")).to_be_visible()
    assert_page_is_clean(phone, phone_watch, "history-review")
    phone.goto(f"/t/acme/surveys/{survey.uuid}/history/")
    expect(phone.get_by_role("row", name=re.compile("qualtrics.csv"))).to_be_visible()
    assert_page_is_clean(phone, phone_watch, "history-upload")

    page.get_by_label("Time zone of the file's times").select_option("America/Denver")
    page.get_by_role("button", name="Check again with these choices").click()
    run_all(queued)
    page.reload()
    expect(page.get_by_text("The file says its times are in")).to_have_count(0)
    page.get_by_role("button", name="Confirm: import 12 responses").click()
    expect(page.get_by_role("heading", name="Importing")).to_be_visible()
    run_all(queued)
    expect(page.get_by_role("heading", name="What this import did")).to_be_visible(timeout=15_000)
    assert_page_is_clean(page, watch, "history-done")
    with tenant_context(world.a):
        assert Response.objects.filter(channel="import").count() == 12
        assert ResponseImport.objects.get().status == "done"
    page.get_by_role("link", name="See the imported responses").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Responses")
    expect(page.get_by_text("Reason 11")).to_be_visible()
