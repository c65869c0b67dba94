"""The import in Chromium: upload a CSV, watch the file being checked, read the review (counts and a
rejected row's reason), confirm, and watch the progress bar fill until the result shows. Axe finds
no WCAG 2.1 A/AA violation; screenshots at 1280 and 390 wide.

The tasks do not run eagerly inside the request here: the test queues them and runs them itself
(the apply in a thread, slowed down), so the page really shows its progress bar polling."""

import re
import threading
import time

import pytest
from django.db import connection, transaction
from playwright.sync_api import expect

from apps.clients.models import Contact
from apps.imports import planning
from apps.imports.models import ImportJob
from apps.tenancy import tasks as tenancy_tasks
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import DESKTOP, MOBILE, assert_page_is_clean, screenshot

pytestmark = pytest.mark.services

ROWS = 40
CSV = ("email,contact_name,client_name,segment,tier\n"
       + "".join(f"person{i}@example.com,Person {i},Client {i // 4},Enterprise,key\n" for i in range(ROWS))
       + "ann@brightside.example,Ann Peeters-Renamed,Brightside,,\n"
       + "not-an-email,Broken Row,Brightside,,\n").encode()


@pytest.fixture
def queued(monkeypatch):
    """Tasks the pages queue, held for the test to run (instead of eagerly inside the request)."""
    held = []

    def hold(task, tenant_id, *args):
        transaction.on_commit(lambda: held.append((task, tenant_id, args)))

    monkeypatch.setattr(tenancy_tasks, "enqueue_on_commit", hold)
    return held


def run_next(held):
    task, tenant_id, args = held.pop(0)
    task.apply(args=[tenant_id, *args])


def upload(page):
    page.goto("/t/acme/imports/")
    page.get_by_label("CSV or XLSX file").set_input_files(files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV}])
    page.get_by_role("button", name="Upload and review").click()
    expect(page.get_by_role("heading", name="Checking the file")).to_be_visible()


def test_it_uploads_reviews_confirms_and_shows_progress(browse, world, queued, monkeypatch):
    with tenant_context(world.a):
        brightside = f.ClientFactory(tenant=world.a, name="Brightside")
        f.ContactFactory(client=brightside, name="Ann Peeters", email="ann@brightside.example")
    page, watch = browse.open(DESKTOP, user=world.carol)
    page.goto("/t/acme/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import clients and contacts")
    assert_page_is_clean(page, watch, "imports-list-empty")

    upload(page)
    progress = page.locator("progress")
    expect(progress).to_be_visible()
    expect(page.locator("[data-refresh-hint]")).to_be_hidden()  # JavaScript polls instead
    assert_page_is_clean(page, watch, "imports-checking")

    run_next(queued)  # the review task; the polling page notices and shows the review
    expect(page.get_by_role("heading", name="What this import will do")).to_be_visible(timeout=15_000)
    expect(page.locator(".import-counts__create dd")).to_have_text(str(ROWS))
    expect(page.locator(".import-counts__update dd")).to_have_text("1")
    expect(page.locator(".import-counts__reject dd")).to_have_text("1")
    rejected = page.get_by_role("row", name=re.compile("not-an-email"))
    expect(rejected).to_contain_text("“not-an-email” is not a valid e-mail address")
    expect(page.get_by_text("to be created: Enterprise")).to_be_visible()
    assert_page_is_clean(page, watch, "imports-review")
    with tenant_context(world.a):
        assert Contact.objects.count() == 1, "nothing is written before confirm"

    # Slow the apply down so the bar visibly moves: 5 rows per batch, a pause per batch.
    monkeypatch.setattr(planning, "BATCH_SIZE", 5)
    manager_class = type(Contact.objects)
    original = manager_class.bulk_create

    def slow_bulk_create(self, objs, *args, **kwargs):
        if self.model is Contact:
            time.sleep(0.4)
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(manager_class, "bulk_create", slow_bulk_create)
    page.get_by_role("button", name=re.compile(r"Confirm: import 41 rows")).click()
    expect(page.get_by_role("heading", name="Importing")).to_be_visible()

    errors = []

    def apply():
        try:
            run_next(queued)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=apply)
    worker.start()
    try:
        page.wait_for_function("() => { const p = document.querySelector('progress');"
                               " return p && p.value > 0 && p.value < p.max; }", timeout=15_000)
        expect(page.locator("#import-progress-text")).to_contain_text("Writing")
        screenshot(page, "imports-progress")
        expect(page.get_by_role("heading", name="What this import did")).to_be_visible(timeout=30_000)
    finally:
        worker.join(timeout=60)
    assert errors == []
    expect(page.locator(".import-counts__create dd")).to_have_text(str(ROWS))
    assert_page_is_clean(page, watch, "imports-done")
    with tenant_context(world.a):
        assert Contact.objects.count() == ROWS + 1
        assert Contact.objects.get(email="ann@brightside.example").name == "Ann Peeters-Renamed"
        assert ImportJob.objects.get().status == "done"


def test_the_import_pages_fit_a_phone(browse, world, queued):
    page, watch = browse.open(MOBILE, user=world.carol)
    upload(page)
    assert_page_is_clean(page, watch, "imports-checking")
    run_next(queued)
    expect(page.get_by_role("heading", name="What this import will do")).to_be_visible(timeout=15_000)
    assert_page_is_clean(page, watch, "imports-review")
    page.goto("/t/acme/imports/")
    expect(page.get_by_role("row", name=re.compile("contacts.csv"))).to_be_visible()
    assert_page_is_clean(page, watch, "imports-list")


def test_the_progress_page_works_without_javascript(browse, world, queued):
    page, watch = browse.open(DESKTOP, user=world.carol, java_script_enabled=False)
    page.goto("/t/acme/imports/")
    page.get_by_label("CSV or XLSX file").set_input_files(files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV}])
    page.get_by_role("button", name="Upload and review").click()
    expect(page.get_by_role("heading", name="Checking the file")).to_be_visible()
    refresh = page.get_by_role("link", name="Refresh")
    expect(refresh).to_be_visible()
    run_next(queued)
    refresh.click()
    expect(page.get_by_role("heading", name="What this import will do")).to_be_visible()


def test_a_refused_workbook_is_explained_on_the_progress_page(browse, world, queued):
    """Issue 15, F5: a hostile workbook is taken at once ("Checking the file"); the review task refuses it
    and the page says why, with nothing imported."""
    from tests.builders import hostile_workbook

    page, watch = browse.open(DESKTOP, user=world.carol)
    page.goto("/t/acme/imports/")
    page.get_by_label("CSV or XLSX file").set_input_files(files=[{
        "name": "bomb.xlsx", "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "buffer": hostile_workbook("zip bomb")}])
    page.get_by_role("button", name="Upload and review").click()
    expect(page.get_by_role("heading", name="Checking the file")).to_be_visible()
    run_next(queued)  # the review task; the polling page notices and shows the refusal
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was imported.", timeout=15_000)
    expect(alert).to_contain_text("unpacks from")
    expect(page.get_by_role("link", name="Upload a corrected file")).to_be_visible()
    assert_page_is_clean(page, watch, "imports-refused")
    with tenant_context(world.a):
        assert Contact.objects.count() == 0
        assert ImportJob.objects.get().status == "failed"
