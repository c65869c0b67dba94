"""Importing clients and contacts: upload → review (dry run) → confirm → apply, bad input answered with
clear messages and nothing stored, atomic and idempotent applies, tenant isolation, batched queries."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.clients.models import Client, Contact, Segment
from apps.clients.validators import latest_client_day
from apps.imports import planning, services
from apps.imports.models import MAX_FILE_BYTES, ImportJob
from apps.imports.tasks import import_job_apply_task, import_job_review_task
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests import factories as f
from tests.builders import HEADER, HEADER_ROW, SHEET_NS, base_xlsx, hostile_workbook, inline_row, rezip, sheet_xml, with_shared_strings, xlsx_bytes


def csv_bytes(rows, header=HEADER, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def list_url(slug="acme"):
    return reverse("imports:list", kwargs={"tenant_slug": slug})


def job_url(job, name="job", slug="acme"):
    return reverse(f"imports:{name}", kwargs={"tenant_slug": slug, "uuid": job.uuid})


def upload(client, content: bytes, name="contacts.csv", capture=None):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    if capture is None:
        return client.post(list_url(), {"file": file})
    with capture(execute=True):
        return client.post(list_url(), {"file": file})


def jobs(tenant):
    with tenant_context(tenant):
        return list(ImportJob.objects.order_by("created_at"))


def latest_job(tenant) -> ImportJob:
    with tenant_context(tenant):
        return ImportJob.objects.order_by("-created_at", "-id").first()


def contacts(tenant):
    with tenant_context(tenant):
        return {c.email: c for c in Contact.objects.select_related("client", "client__segment", "client__owner__user")}


def confirm(client, job, capture):
    with capture(execute=True):
        return client.post(job_url(job, "job_confirm"))


@pytest.fixture
def lead(client, world):
    client.force_login(world.carol)  # CX lead of A
    return client


@pytest.fixture
def acme_data(world):
    """In A: a segment, a client with two contacts. In B: a contact with an e-mail A's file also uses."""
    with tenant_context(world.a):
        segment = f.SegmentFactory(tenant=world.a, name="Enterprise")
        acme_client = f.ClientFactory(tenant=world.a, name="Brightside Logistics", segment=segment, tier="key")
        f.ContactFactory(client=acme_client, name="Ann Peeters", email="ann@brightside.example", phone="+32 2 555 01 23")
        f.ContactFactory(client=acme_client, name="Marc Dupont", email="marc@brightside.example")
    with tenant_context(world.b):
        f.ContactFactory(client=f.ClientFactory(tenant=world.b, name="Globex Client"), name="Shared Person",
                         email="shared@example.com")
    return acme_client


# --- the happy path -------------------------------------------------------------------------------

def test_it_reviews_counts_and_reasons_then_applies_exactly_that(lead, world, acme_data, django_capture_on_commit_callbacks):
    content = csv_bytes([
        ["ann@brightside.example", "Ann Peeters", "+32 2 555 01 23", "Brightside Logistics", "Enterprise", "key", ""],  # unchanged
        ["MARC@brightside.example", "Marc Dupont-Durand", "", "brightside logistics", "", "", ""],  # update (name)
        ["new.person@example.com", "New Person", "", "Northwind Dental", "SMB", "standard", "bob@example.com"],  # create
        ["shared@example.com", "Shared In A", "", "Northwind Dental", "", "", ""],  # create: B's contact never matches
        ["not-an-email", "Broken", "", "Northwind Dental", "", "", ""],  # reject
        ["new.person@EXAMPLE.com", "Again", "", "Northwind Dental", "", "", ""],  # reject: duplicate of row 4
    ])
    response = upload(lead, content, capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert job.status == "review"
    assert (job.to_create, job.to_update, job.unchanged, job.rejected) == (2, 1, 1, 2)
    assert job.rejections == [
        {"row": 6, "email": "not-an-email", "reason": "“not-an-email” is not a valid e-mail address"},
        {"row": 7, "email": "new.person@EXAMPLE.com", "reason": "same e-mail as row 4"},
    ]
    assert job.summary["new_clients"] == 1
    assert job.summary["new_segments"] == ["SMB"]
    # Nothing is written before confirm.
    assert set(contacts(world.a)) == {"ann@brightside.example", "marc@brightside.example"}
    with tenant_context(world.a):
        assert not Segment.objects.filter(name="SMB").exists()

    page = lead.get(job_url(job))
    assert page.status_code == 200
    body = page.content.decode()
    assert "What this import will do" in body
    assert "same e-mail as row 4" in body
    assert "Confirm: import 3 rows" in body

    response = confirm(lead, job, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    job = latest_job(world.a)
    assert job.status == "done"
    assert job.rows_done == job.rows_total == 6
    after = contacts(world.a)
    assert set(after) == {"ann@brightside.example", "marc@brightside.example", "new.person@example.com", "shared@example.com"}
    assert after["marc@brightside.example"].name == "Marc Dupont-Durand"
    assert after["marc@brightside.example"].client == acme_data
    northwind = after["new.person@example.com"].client
    assert northwind.name == "Northwind Dental"
    assert northwind.segment.name == "SMB"
    assert northwind.owner.user == world.bob
    assert northwind.active_from == datetime.date.today()
    assert northwind.tier == "standard"
    assert after["shared@example.com"].client == northwind
    assert contacts(world.b)["shared@example.com"].name == "Shared Person"  # B untouched
    with tenant_context(world.a):
        event = AuditEvent.objects.get(action="import.confirmed")
    assert event.actor == world.carol
    assert event.target_id == str(job.uuid)
    assert event.changes["create"] == [None, 2]
    assert "What this import did" in lead.get(job_url(job)).content.decode()


def test_it_changes_nothing_when_the_same_file_is_imported_again(lead, world, acme_data, django_capture_on_commit_callbacks):
    content = csv_bytes([
        ["ann@brightside.example", "Ann Peeters", "'+32 2 555 01 23", "Brightside Logistics", "Enterprise", "key", ""],
        ["zoe@northwind.example", "Zoë Martin", "", "Northwind Dental", "SMB", "strategic", "alice@example.com"],
        ["", "", "", "Solo Client", "Enterprise", "standard", ""],
    ])
    upload(lead, content, capture=django_capture_on_commit_callbacks)
    first = latest_job(world.a)
    assert (first.to_create, first.to_update, first.unchanged, first.rejected) == (2, 0, 1, 0)
    confirm(lead, first, django_capture_on_commit_callbacks)
    assert latest_job(world.a).status == "done"
    with tenant_context(world.a):
        stamps = sorted(Contact.objects.values_list("updated_at", flat=True)) + sorted(Client.objects.values_list("updated_at", flat=True))

    upload(lead, content, name="again.csv", capture=django_capture_on_commit_callbacks)
    again = latest_job(world.a)
    assert (again.to_create, again.to_update, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert "Nothing to change" in lead.get(job_url(again)).content.decode()
    with CaptureQueriesContext(connection) as queries:
        confirm(lead, again, django_capture_on_commit_callbacks)
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith(("INSERT", "UPDATE", "DELETE")) and '"clients_' in q["sql"].split("SET")[0]]
    assert writes == []
    assert latest_job(world.a).status == "done"
    with tenant_context(world.a):
        assert sorted(Contact.objects.values_list("updated_at", flat=True)) + sorted(Client.objects.values_list("updated_at", flat=True)) == stamps
        assert Client.objects.count() == 3
        assert Segment.objects.count() == 2


def test_it_reads_xlsx_with_typed_cells(lead, world, django_capture_on_commit_callbacks):
    header = ["Email", "Contact Name", "Phone", "Opted Out", "Client Name", "Annual Value", "Active From", "Churned On", "Status"]
    content = xlsx_bytes([
        ["ines@example.com", "Inès", 3225550123, True, "Café Crème", 12000.5, datetime.datetime(2023, 4, 1), None, "Active"],
        ["old@example.com", "Old Timer", None, False, "Gone Ltd", 800, datetime.date(2020, 1, 1), datetime.date(2024, 6, 30), None],
    ], header=header)
    upload(lead, content, name="contacts.xlsx", capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.format == "xlsx", job.rejections
    assert (job.to_create, job.rejected) == (2, 0), job.rejections
    confirm(lead, job, django_capture_on_commit_callbacks)
    after = contacts(world.a)
    ines = after["ines@example.com"]
    assert ines.phone == "3225550123"
    assert ines.opted_out is True
    assert ines.client.name == "Café Crème"
    assert ines.client.annual_value == Decimal("12000.50")
    assert ines.client.active_from == datetime.date(2023, 4, 1)
    gone = after["old@example.com"].client
    assert gone.churned_on == datetime.date(2024, 6, 30)
    assert gone.status == "churned"  # a churn date means churned


def test_it_sniffs_semicolons_and_accepts_a_bom(lead, world, django_capture_on_commit_callbacks):
    content = "\ufeffE-mail;Contact name;Client name;Annual value\nlea@example.be;Léa;Brussels Bakers;1.234,50\n".encode()
    upload(lead, content, capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.summary["delimiter"] == "semicolon", job.rejections
    assert job.to_create == 1, job.rejections
    confirm(lead, job, django_capture_on_commit_callbacks)
    assert contacts(world.a)["lea@example.be"].client.annual_value == Decimal("1234.50")


def test_it_applies_the_client_rules_row_by_row(lead, world, django_capture_on_commit_callbacks):
    with tenant_context(world.a):
        f.ClientFactory(tenant=world.a, name="Twin")
        f.ClientFactory(tenant=world.a, name="twin")
    header = ["email", "contact_name", "client_name", "tier", "owner_email", "churned_on", "status", "locale", "opted_out"]
    content = csv_bytes([
        ["a1@example.com", "A1", "Alpha", "key", "", "", "", "", ""],
        ["a2@example.com", "A2", "ALPHA", "strategic", "", "", "", "", ""],  # conflicts with row 2's tier
        ["a3@example.com", "A3", "Alpha", "Key", "", "", "", "", ""],  # same tier: fine
        ["a4@example.com", "", "Alpha", "", "", "", "", "", ""],  # new contact without a name
        ["a5@example.com", "A5", "", "", "", "", "", "", ""],  # new contact without a client
        ["a6@example.com", "A6", "Twin", "", "", "", "", "", ""],  # two clients named Twin
        ["a7@example.com", "A7", "Beta", "", "charlie@example.com", "", "", "", ""],  # owner not a member of A
        ["a8@example.com", "A8", "Gamma", "gold", "", "", "", "", ""],
        ["a9@example.com", "A9", "Delta", "", "", str(datetime.date.today() + datetime.timedelta(days=60)), "active", "", ""],  # churned but active
        ["a10@example.com", "A10", "Epsilon", "", "", "31/12/2024", "", "", ""],
        ["a11@example.com", "A11", "Zeta", "", "", "", "", "english please", "maybe"],
        ["a12@example.com", "A12", "Eta", "", "", "", "", "nl_BE", "yes"],
        ["", "Nameless", "Theta", "", "", "", "", "", ""],  # contact columns without an e-mail
        ["a15@example.com", "A15", "Iota", "", "", "1024-01-01", "churned", "", ""],  # issue 15, F3: a year typo
    ], header=header)
    upload(lead, content, capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    reasons = {r["row"]: r["reason"] for r in job.rejections}
    assert reasons == {
        3: "tier: conflicts with row 2, which set “key” for client “Alpha”",
        5: "contact_name is required for a new contact",
        6: "client_name is required for a new contact",
        7: "client_name: 2 clients are named “Twin”; rename one so the name is unique",
        8: "owner_email: charlie@example.com is not an active member of this workspace",
        9: "tier: “gold” is not one of strategic, key, standard",
        10: "status: A client with a churn date is churned: choose Churned, or clear the churn date.",
        11: "churned_on: “31/12/2024” is not a date (use YYYY-MM-DD, e.g. 2024-03-31)",
        12: "locale: “english please” is not a language code (e.g. en, fr, nl-BE)",
        14: "no e-mail: contacts are matched by e-mail, so a contact without one cannot be imported",
        15: f"churned_on: Enter a day between 1900-01-01 and {latest_client_day()}.",
    }
    assert (job.to_create, job.rejected) == (3, 11)
    confirm(lead, job, django_capture_on_commit_callbacks)
    after = contacts(world.a)
    assert set(after) == {"a1@example.com", "a3@example.com", "a12@example.com"}
    assert after["a1@example.com"].client.tier == "key"
    assert after["a12@example.com"].locale == "nl-BE"
    assert after["a12@example.com"].opted_out is True


def test_it_rejects_a_row_with_more_cells_than_the_header(lead, world, django_capture_on_commit_callbacks):
    content = b"email,contact_name,client_name\nok@example.com,Ok,Acme\nbad@example.com,Bad,Acme,extra,cells\n"
    upload(lead, content, capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.to_create == 1
    assert job.rejections == [{"row": 3, "email": "bad@example.com",
                               "reason": "the row has 5 cells but the header has fewer (a stray delimiter?)"}]


# --- bad files: a clear message and nothing stored -----------------------------------------------
# What the size and the first bytes tell is answered by the upload itself (400, no job); everything that
# needs reading the file is found by the review task and said on the job's page (the job failed, nothing
# imported).

def assert_refused(response, world, *fragments):
    assert response.status_code == 400
    body = response.content.decode()
    for fragment in fragments:
        assert fragment in body, body
    assert jobs(world.a) == []
    with tenant_context(world.a):
        assert Contact.objects.count() == 0


def assert_failed_in_review(client, response, world, *fragments):
    job = latest_job(world.a)
    assert response.status_code == 302, response.status_code
    assert response["Location"] == job_url(job), response.status_code
    assert job.status == "failed", (job.status, job.error_message)
    page = client.get(job_url(job)).content.decode()
    assert "Nothing was imported." in page
    for fragment in fragments:
        assert fragment in job.error_message, job.error_message
        assert fragment in page.replace("&quot;", '"').replace("&#x27;", "'"), page
    with tenant_context(world.a):
        assert Contact.objects.count() == 0
        assert Client.objects.count() == 0
    return job


def test_it_names_the_columns_found_when_the_email_column_is_missing(lead, world, django_capture_on_commit_callbacks):
    response = upload(lead, b"Name,Company\nAnn,Acme\n", capture=django_capture_on_commit_callbacks)
    assert_failed_in_review(lead, response, world,
                            "The required column “email” is missing. Columns found: “Name”, “Company”. Required: email")


def test_it_refuses_a_file_over_the_limit_with_the_limit_stated(lead, world):
    big = b"email,contact_name,client_name\n" + b"x" * (MAX_FILE_BYTES - 20) + b"\n"
    assert len(big) > MAX_FILE_BYTES
    assert_refused(upload(lead, big), world, "larger than the 10 MB limit")


def test_it_accepts_a_file_of_exactly_the_limit(lead, world):
    head = b"email,contact_name,client_name\nok@example.com,Ok,Acme\n"
    content = head + b" " * (MAX_FILE_BYTES - len(head))
    assert len(content) == MAX_FILE_BYTES
    assert upload(lead, content).status_code == 302


def test_it_asks_for_utf8_when_a_csv_is_not(lead, world, django_capture_on_commit_callbacks):
    content = "email,contact_name,client_name\nzoe@example.com,Zoë,Café\n".encode("cp1252")
    assert_failed_in_review(lead, upload(lead, content, capture=django_capture_on_commit_callbacks), world, "not UTF-8", "CSV UTF-8")


def test_it_refuses_utf16(lead, world, django_capture_on_commit_callbacks):
    content = "email,contact_name\nzoe@example.com,Zoë\n".encode("utf-16")
    assert_failed_in_review(lead, upload(lead, content, capture=django_capture_on_commit_callbacks), world, "UTF-16")


def test_it_refuses_an_empty_file_and_a_header_without_rows(lead, world, django_capture_on_commit_callbacks):
    assert_refused(upload(lead, b""), world, "empty")
    assert_refused(upload(lead, b"   \n"), world, "The file is empty")
    response = upload(lead, b"email,contact_name\n", capture=django_capture_on_commit_callbacks)
    assert_failed_in_review(lead, response, world, "a header row but no data rows")


@pytest.mark.parametrize("content,message", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "neither CSV nor XLSX"),
    (b"%PDF-1.7\n" + b"\x00\x01" * 50, "neither CSV nor XLSX"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "old Excel .xls"),
])
def test_it_refuses_files_that_are_neither_csv_nor_xlsx_at_once(lead, world, content, message):
    assert_refused(upload(lead, content, name="contacts.dat"), world, message)


def test_it_refuses_a_damaged_zip_in_review(lead, world, django_capture_on_commit_callbacks):
    response = upload(lead, b"PK\x03\x04garbage", name="contacts.xlsx", capture=django_capture_on_commit_callbacks)
    assert_failed_in_review(lead, response, world, "neither CSV nor a readable XLSX")


def test_it_refuses_too_many_columns_and_duplicate_columns(lead, world, django_capture_on_commit_callbacks):
    header = ",".join(["email"] + [f"extra{i}" for i in range(60)])
    response = upload(lead, f"{header}\na@example.com\n".encode(), capture=django_capture_on_commit_callbacks)
    assert_failed_in_review(lead, response, world, "61 columns; at most 50")
    response = upload(lead, b"email,Email\na@example.com,b@example.com\n", capture=django_capture_on_commit_callbacks)
    assert_failed_in_review(lead, response, world, "“email” appears twice")


# --- hostile workbooks (issue 15, F5): never parsed in the request, refused early by the budget -----------




HOSTILE = {
    "zip bomb": "unpacks from",
    "shared strings bomb": "unpacks from",
    "entities": "declares XML entities or a DTD",
    "too many sheets": "61 worksheets; at most 50",
    "far-right cells": "more than 4,000,000 cells",
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_it_answers_a_hostile_workbook_at_once_and_the_worker_refuses_it(kind, lead, world, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    content = hostile_workbook(kind)
    assert len(content) < 400 * 1024, f"{kind}: {len(content)} bytes"
    parsed_in_request = []
    real_load = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: parsed_in_request.append(1) or real_load(*a, **k))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(lead, content, name=f"{kind}.xlsx")
    job = latest_job(world.a)
    assert response.status_code == 302, response.content.decode()[:500]
    assert job is not None, response.content.decode()[:500]
    assert job.status == "validating", "the upload request read the workbook"
    assert parsed_in_request == [], "the upload request read the workbook"
    assert "Checking the file" in lead.get(job_url(job)).content.decode()
    monkeypatch.undo()
    for callback in queued:  # the worker's turn: the review task
        callback()
    job = assert_failed_in_review(lead, response, world, HOSTILE[kind])
    assert (job.to_create, job.to_update, job.rows_total) == (0, 0, 0)


def test_it_counts_distinct_texts_without_trusting_the_compression(lead, world, monkeypatch, django_capture_on_commit_callbacks):
    from apps.imports import reading

    monkeypatch.setattr(reading, "MAX_SHARED_STRINGS", 1_000)
    strings = "".join(f"<si><t>{n}@example.com</t></si>" for n in range(1_001)).encode()
    content = with_shared_strings(f"<sst {SHEET_NS}>".encode() + strings + b"</sst>")
    response = upload(lead, content, name="texts.xlsx", capture=django_capture_on_commit_callbacks)
    assert_failed_in_review(lead, response, world, "more than 1,000 different texts")
    monkeypatch.setattr(reading, "MAX_SHARED_STRINGS", 1_001)  # one fewer would be read
    upload(lead, content, name="texts.xlsx", capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.status == "review", (job.status, job.error_message, job.rejections)
    assert (job.to_create, job.rows_total) == (1, 1), (job.status, job.error_message, job.rejections)
    confirm(lead, job, django_capture_on_commit_callbacks)
    assert set(contacts(world.a)) == {"0@example.com"}  # the first shared text, read


@pytest.mark.timeout(120)
def test_it_ignores_a_worksheets_false_claim_of_its_size(lead, world, monkeypatch, django_capture_on_commit_callbacks):
    """A sheet claiming A1:XFD1048576 made the reader pad each of its rows to 16,384 cells: 3,000 rows of three
    cells cost 49 million. The claim is ignored: the rows are read as they are."""
    rows = HEADER_ROW + "".join(inline_row(n, ("A", f"c{n}@example.com"), ("B", "Claim"), ("C", "Acme")) for n in range(2, 3002))
    content = rezip(base_xlsx(), replace={"xl/worksheets/sheet1.xml": sheet_xml(rows, "A1:XFD1048576")})
    assert len(content) < 100 * 1024
    from apps.imports import reading

    widths, real_row_dict = set(), reading._row_dict

    def row_dict(number, cells, *args):
        widths.add(len(cells))
        if len(cells) > 100:
            raise AssertionError(f"row {number} was handed over as {len(cells)} cells")
        return real_row_dict(number, cells, *args)

    monkeypatch.setattr(reading, "_row_dict", row_dict)
    upload(lead, content, name="claim.xlsx", capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert widths == {3}, widths
    assert job.status == "review", (job.status, job.error_message)
    assert (job.rows_total, job.to_create, job.rejected) == (3000, 3000, 0), (job.status, job.error_message)


def test_it_accepts_a_real_workbook_under_the_budget(lead, world, django_capture_on_commit_callbacks):
    rows = [[f"p{i}@example.com", f"Person {i}", f"+32 2 555 {i:05d}", f"Client {i // 3}", "Enterprise", "key", ""] for i in range(3000)]
    upload(lead, xlsx_bytes(rows), name="real.xlsx", capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.status == "review", job.error_message
    assert (job.to_create, job.rejected) == (3000, 0), job.error_message


def test_it_refuses_a_workbook_with_formulas_as_a_whole(lead, world, django_capture_on_commit_callbacks):
    content = xlsx_bytes([
        ["ok@example.com", "Ok", "", "Acme", "", "", ""],
        ["f@example.com", "=UPPER(\"x\")", "", "Acme", "", "", ""],
        ["g@example.com", "G", "", "=A2&\"!\"", "", "", ""],
    ])
    response = upload(lead, content, name="contacts.xlsx", capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert response.status_code == 302
    assert job.status == "failed"
    assert "formulas (cells B3, D4)" in job.error_message
    assert "Paste Special → Values" in job.error_message
    page = lead.get(job_url(job)).content.decode()
    assert "Nothing was imported." in page
    assert "formulas (cells B3, D4)" in page
    with tenant_context(world.a):
        assert Contact.objects.count() == 0
        assert Client.objects.count() == 0


def test_it_strips_the_exports_formula_guard_on_import(lead, world, django_capture_on_commit_callbacks):
    upload(lead, csv_bytes([["x@example.com", "'=Not a formula", "'+32 2 555", "'@Acme", "", "", ""]]),
           capture=django_capture_on_commit_callbacks)
    confirm(lead, latest_job(world.a), django_capture_on_commit_callbacks)
    x = contacts(world.a)["x@example.com"]
    assert (x.name, x.phone, x.client.name) == ("=Not a formula", "+32 2 555", "@Acme")


# --- apply: atomic, idempotent, recomputed when the data changed ----------------------------------

def test_it_leaves_no_partial_rows_when_the_apply_fails_midway(lead, world, acme_data, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(planning, "BATCH_SIZE", 2)
    rows = [[f"p{i}@example.com", f"P{i}", "", f"Client {i % 3}", "Fresh", "", ""] for i in range(7)]
    rows.append(["marc@brightside.example", "Marc Renamed", "", "", "", "", ""])
    upload(lead, csv_bytes(rows), capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert (job.to_create, job.to_update) == (7, 1)

    manager_class = type(Contact.objects)
    original = manager_class.bulk_create
    calls = []

    def failing_bulk_create(self, objs, *args, **kwargs):
        if self.model is Contact:
            calls.append(len(objs))
            if len(calls) == 3:  # the third batch of contacts: segments, clients and two batches are written
                raise RuntimeError("injected failure")
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(manager_class, "bulk_create", failing_bulk_create)
    before = contacts(world.a)
    confirm(lead, job, django_capture_on_commit_callbacks)
    assert calls == [2, 2, 2]
    job = latest_job(world.a)
    assert job.status == "failed"
    assert "nothing was imported" in job.error_message
    assert set(contacts(world.a)) == set(before)
    assert contacts(world.a)["marc@brightside.example"].name == "Marc Dupont"
    with tenant_context(world.a):
        assert Client.objects.count() == 1
        assert not Segment.objects.filter(name="Fresh").exists()
    assert "Nothing was imported." in lead.get(job_url(job)).content.decode()


def test_it_shows_progress_while_the_apply_transaction_is_open(lead, world, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(planning, "BATCH_SIZE", 3)
    upload(lead, csv_bytes([[f"q{i}@example.com", f"Q{i}", "", "Acme", "", "", ""] for i in range(10)]),
           capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    seen = []
    manager_class = type(Contact.objects)
    original = manager_class.bulk_create

    def watching_bulk_create(self, objs, *args, **kwargs):
        if self.model is Contact:
            # What the status endpoint would answer right now, from outside the open transaction.
            seen.append(cache.get(services.progress_key(job)))
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(manager_class, "bulk_create", watching_bulk_create)
    confirm(lead, job, django_capture_on_commit_callbacks)
    assert [s["phase"] for s in seen] == ["writing"] * 4
    assert [s["done"] for s in seen] == [1, 4, 7, 10]  # the new client, then three contacts per batch
    assert all(s["total"] == 11 for s in seen)
    status = lead.get(job_url(job, "job_status")).json()
    assert status == {"status": "done", "status_label": "Imported", "phase": "Finished", "done": 10, "total": 10,
                      "unit": "rows", "percent": 100, "finished": True}


def test_it_recomputes_when_the_data_changed_since_the_review(lead, world, acme_data, django_capture_on_commit_callbacks):
    upload(lead, csv_bytes([["ann@brightside.example", "Ann P.", "", "", "", "", ""]]), capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.to_update == 1
    with tenant_context(world.a):
        Contact.objects.filter(email="ann@brightside.example").update(name="Ann P.")  # someone else made the change
    confirm(lead, job, django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.status == "review"
    assert (job.to_update, job.unchanged) == (0, 1)
    assert "The data changed since this file was reviewed" in lead.get(job_url(job)).content.decode()


def test_its_tasks_are_idempotent(lead, world, django_capture_on_commit_callbacks):
    upload(lead, csv_bytes([["r@example.com", "R", "", "Acme", "", "", ""]]), capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert import_job_review_task(world.a.pk, job.pk) == "review"  # a second delivery: nothing recomputed
    confirm(lead, job, django_capture_on_commit_callbacks)
    assert import_job_apply_task(world.a.pk, job.pk) == "done"  # a redelivery after it ran: no second apply
    with tenant_context(world.a):
        assert Contact.objects.count() == 1
        assert Client.objects.count() == 1
    assert lead.post(job_url(job, "job_confirm")).status_code == 302  # confirming twice is refused with a message
    assert "cannot be confirmed" in lead.get(job_url(job)).content.decode()


def test_it_fails_the_job_clearly_when_the_review_breaks(lead, world, monkeypatch, django_capture_on_commit_callbacks):
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(planning, "plan_rows", broken)
    upload(lead, csv_bytes([["c@example.com", "C", "", "Acme", "", "", ""]]), capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.status == "failed"
    assert job.error_message == services.FAILURE_MESSAGE
    assert lead.get(job_url(job, "job_status")).json()["finished"] is True


def test_it_cancels_a_job_in_review(lead, world, django_capture_on_commit_callbacks):
    upload(lead, csv_bytes([["c@example.com", "C", "", "Acme", "", "", ""]]), capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    lead.post(job_url(job, "job_cancel"))
    assert latest_job(world.a).status == "cancelled"
    confirm(lead, job, django_capture_on_commit_callbacks)
    assert latest_job(world.a).status == "cancelled"
    with tenant_context(world.a):
        assert Contact.objects.count() == 0


def test_it_downloads_every_rejected_row_as_csv(lead, world, django_capture_on_commit_callbacks):
    rows = [[f"bad{i}", "X", "", "Acme", "", "", ""] for i in range(250)] + [["=cmd", "X", "", "Acme", "", "", ""]]
    upload(lead, csv_bytes(rows), capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert job.rejected == 251
    page = lead.get(job_url(job)).content.decode()
    assert "The first 200 of 251 rejected rows" in page
    assert page.count("is not a valid e-mail address") == 200
    response = lead.get(job_url(job, "job_rejections"))
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert lines[0] == ["row", "email", "reason"]
    assert len(lines) == 252
    assert lines[1] == ["2", "bad0", "“bad0” is not a valid e-mail address"]
    assert lines[-1][1] == "'=cmd"


def test_it_offers_a_template_that_imports_cleanly(lead, world, django_capture_on_commit_callbacks):
    response = lead.get(reverse("imports:template", kwargs={"tenant_slug": "acme"}))
    content = b"".join(response.streaming_content)
    assert response["Content-Disposition"] == 'attachment; filename="clients-import-template.csv"'
    upload(lead, content, capture=django_capture_on_commit_callbacks)
    job = latest_job(world.a)
    assert (job.to_create, job.rejected) == (3, 0), job.rejections
    xlsx = lead.get(reverse("imports:template", kwargs={"tenant_slug": "acme"}) + "?format=xlsx")
    upload(lead, xlsx.content, name="template.xlsx", capture=django_capture_on_commit_callbacks)
    assert (latest_job(world.a).to_create, latest_job(world.a).rejected) == (3, 0)


# --- tenancy, roles, queries ----------------------------------------------------------------------

def test_it_hides_another_tenants_jobs(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.charlie)  # admin of B
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:list", kwargs={"tenant_slug": "globex"}),
                    {"file": SimpleUploadedFile("b.csv", csv_bytes([["b@example.com", "B", "", "Globex Co", "", "", ""]]))})
    b_job = latest_job(world.b)
    assert b_job.status == "review"
    client.force_login(world.alice)  # admin of A
    for name in ("job", "job_status", "job_rejections"):
        assert client.get(job_url(b_job, name)).status_code == 404
    for name in ("job_confirm", "job_cancel"):
        assert client.post(job_url(b_job, name)).status_code == 404
    assert latest_job(world.b).status == "review"
    assert b_job.file_name not in client.get(list_url()).content.decode()


@pytest.mark.parametrize("user,status", [("alice", 200), ("carol", 200), ("bob", 403), ("victor", 403)])
def test_it_requires_a_lead(client, world, user, status):
    client.force_login(getattr(world, user))
    assert client.get(list_url()).status_code == status
    assert client.get(reverse("imports:export_clients", kwargs={"tenant_slug": "acme"})).status_code == status


def _plan_queries(world, n):
    with tenant_context(world.a):
        for i in range(n):
            client = f.ClientFactory(tenant=world.a, segment=f.SegmentFactory(tenant=world.a))
            f.ContactFactory(client=client, email=f"existing{n}-{i}@example.com")
    rows = [(i + 2, {"email": f"row{n}-{i}@example.com", "contact_name": "R", "client_name": f"Client {i}", "segment": f"Seg {i % 3}"})
            for i in range(n)] + [(n + 2 + i, {"email": f"existing{n}-{i}@example.com", "contact_name": "Changed"}) for i in range(n)]
    with tenant_context(world.a), CaptureQueriesContext(connection) as ctx:
        plan = planning.plan_rows(tenant=world.a, rows=rows, today=datetime.date.today())
    assert (plan.to_create, plan.to_update) == (n, n)
    return len(ctx.captured_queries)


def test_the_dry_run_queries_do_not_grow_with_rows(world):
    assert _plan_queries(world, 3) == _plan_queries(world, 30) <= 5


def test_the_apply_writes_in_batches(world, monkeypatch):
    monkeypatch.setattr(planning, "BATCH_SIZE", 50)
    rows = [(i + 2, {"email": f"b{i}@example.com", "contact_name": "B", "client_name": f"Client {i % 10}"}) for i in range(120)]
    with tenant_context(world.a):
        plan = planning.plan_rows(tenant=world.a, rows=rows, today=datetime.date.today())
        with CaptureQueriesContext(connection) as ctx:
            planning.apply_plan(plan)
        assert Contact.objects.count() == 120
        assert Client.objects.count() == 10
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 + 3  # clients in one batch, contacts in three


# --- the API (issue 20 item 7) -----------------------------------------------------------------------

def test_the_api_uploads_reviews_and_confirms_an_import(api_client, world, django_capture_on_commit_callbacks):
    import base64

    from tests.conftest import make_api_key

    _, key = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    content = csv_bytes([["ann@example.com", "Ann", "", "", "", "", "Brightside"], ["not-an-email", "Bob", "", "", "", "", "X"]],
                        header=["email", "contact_name", "phone", "locale", "role", "opted_out", "client_name"])
    with django_capture_on_commit_callbacks(execute=True):
        upload = api_client.post("/api/v1/t/acme/imports/", {"file_name": "c.csv", "content_base64": base64.b64encode(content).decode()},
                                 format="json")
    assert upload.status_code == 202, upload.json()
    job = api_client.get(f"/api/v1/t/acme/imports/{upload.json()['id']}/").json()
    assert (job["status"], job["to_create"], job["rejected"], job["new_clients"]) == ("review", 1, 1, 1)
    assert job["rejections"] == [{"row": 3, "email": "not-an-email", "reason": "“not-an-email” is not a valid e-mail address"}]
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(f"/api/v1/t/acme/imports/{job['id']}/confirm/").status_code == 202
    done = api_client.get(f"/api/v1/t/acme/imports/{job['id']}/").json()
    assert (done["status"], done["progress"]["phase"]) == ("done", "Finished")
    assert api_client.post(f"/api/v1/t/acme/imports/{job['id']}/cancel/").status_code == 400
    assert list(contacts(world.a)) == ["ann@example.com"]
    listed = api_client.get("/api/v1/t/acme/imports/").json()
    assert [(item["id"], item["rejections"]) for item in listed["results"]] == [(job["id"], [])]

    big = api_client.post("/api/v1/t/acme/imports/", {"file": SimpleUploadedFile("big.csv", b"x" * (MAX_FILE_BYTES + 1))}, format="multipart")
    assert big.status_code == 400
    assert "larger than the 10 MB limit" in big.json()["error"]["fields"]["file"][0]
    assert len(jobs(world.a)) == 1
    _, viewer = make_api_key(world.a, role="viewer", name="viewer")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {viewer}")
    assert api_client.get("/api/v1/t/acme/imports/").status_code == 403
    _, other = make_api_key(world.b)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other}")
    assert api_client.get(f"/api/v1/t/globex/imports/{job['id']}/").status_code == 404
