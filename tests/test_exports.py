"""Exporting clients and contacts: the import's column layout (an export re-imports as all
"unchanged"), formula injection neutralised, the client list's filters, one query whatever the size."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.imports.models import ImportJob
from apps.imports.reading import COLUMNS
from apps.tenancy.context import tenant_context
from tests import factories as f

URL = "/t/acme/exports/clients/"


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def read_xlsx(response) -> list[list[str]]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula"
    return [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def lead(client, world):
    client.force_login(world.carol)
    return client


@pytest.fixture
def data(world):
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        enterprise = f.SegmentFactory(tenant=world.a, name="Enterprise")
        bright = f.ClientFactory(tenant=world.a, name="Brightside", segment=enterprise, tier="key", owner=bob, industry="Logistics",
                                 annual_value=Decimal("125000.00"), active_from=datetime.date(2023, 4, 1))
        f.ContactFactory(client=bright, name="Ann Peeters", email="ann@bright.example", phone="+32 2 555 01 23", locale="nl",
                         role="CFO")
        f.ContactFactory(client=bright, name="=HYPERLINK(\"http://evil\")", email="evil@bright.example", role="@SUM(A1)",
                         opted_out=True)
        gone = f.ClientFactory(tenant=world.a, name="Gone Ltd", status="churned", active_from=datetime.date(2020, 1, 1),
                               churned_on=datetime.date(2024, 6, 30), tier="standard")
        f.ContactFactory(client=gone, name="Old Timer", email="old@gone.example")
        f.ClientFactory(tenant=world.a, name="Lonely Client", industry="-dash first")
    with tenant_context(world.b):
        f.ContactFactory(client=f.ClientFactory(tenant=world.b, name="Globex Secret"), email="secret@globex.example")
    return {"enterprise": enterprise, "bright": bright}


def test_it_exports_one_row_per_contact_in_the_import_layout(lead, data):
    response = lead.get(URL, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="acme-clients-')
    rows = read_csv(response)
    assert rows[0] == COLUMNS
    assert rows[1:] == [
        ["evil@bright.example", "'=HYPERLINK(\"http://evil\")", "", "en", "'@SUM(A1)", "yes", "Brightside", "Enterprise", "key",
         "active", "Logistics", "125000.00", "2023-04-01", "", "bob@example.com"],
        ["ann@bright.example", "Ann Peeters", "'+32 2 555 01 23", "nl", "CFO", "no", "Brightside", "Enterprise", "key", "active",
         "Logistics", "125000.00", "2023-04-01", "", "bob@example.com"],
        ["old@gone.example", "Old Timer", "", "en", "", "no", "Gone Ltd", "", "standard", "churned", "", "", "2020-01-01",
         "2024-06-30", ""],
        ["", "", "", "", "", "", "Lonely Client", "", "standard", "active", "'-dash first", "", "2024-01-01", "", ""],
    ]


def test_it_exports_xlsx_with_text_cells_never_formulas(lead, data):
    response = lead.get(URL, {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = read_xlsx(response)
    assert rows[0] == COLUMNS
    assert len(rows) == 5
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"
    assert rows[1][4] == "'@SUM(A1)"  # contacts by name: "=" sorts first


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_reimports_as_all_unchanged(lead, world, data, fmt, django_capture_on_commit_callbacks):
    response = lead.get(URL, {"format": fmt})
    content = b"".join(response.streaming_content) if fmt == "csv" else response.content
    with django_capture_on_commit_callbacks(execute=True):
        lead.post("/t/acme/imports/", {"file": SimpleUploadedFile(f"export.{fmt}", content)})
    with tenant_context(world.a):
        job = ImportJob.objects.get()
    assert job.status == "review", job.error_message
    assert (job.to_create, job.to_update, job.rejected) == (0, 0, 0), job.rejections
    assert job.unchanged == 4


def test_it_applies_the_client_list_filters(lead, world, data):
    rows = read_csv(lead.get(URL, {"segment": str(data["enterprise"].uuid)}))
    assert [r[0] for r in rows[1:]] == ["evil@bright.example", "ann@bright.example"]
    rows = read_csv(lead.get(URL, {"status": "churned", "format": "csv"}))
    assert [r[6] for r in rows[1:]] == ["Gone Ltd"]
    rows = read_csv(lead.get(URL, {"q": "lonely"}))
    assert [r[6] for r in rows[1:]] == ["Lonely Client"]


def test_it_refuses_a_foreign_or_unknown_filter_with_400(lead, world, data):
    with tenant_context(world.b):
        foreign = f.SegmentFactory(tenant=world.b, name="B segment")
    for value in (str(foreign.uuid), "00000000-0000-0000-0000-000000000000"):
        response = lead.get(URL, {"segment": value})
        assert response.status_code == 400
        assert "Some filters of this export are not valid" in response.content.decode()
    assert lead.get(URL, {"format": "pdf"}).status_code == 400


def test_it_never_exports_another_tenants_rows(client, world, data):
    client.force_login(world.charlie)
    rows = read_csv(client.get("/t/globex/exports/clients/"))
    assert [r[0] for r in rows[1:]] == ["secret@globex.example"]
    client.force_login(world.alice)
    body = b"".join(client.get(URL).streaming_content).decode()
    assert "Globex" not in body
    assert "secret@" not in body


def _export_queries(lead, world, n):
    with tenant_context(world.a):
        for _ in range(n):
            client = f.ClientFactory(tenant=world.a, segment=f.SegmentFactory(tenant=world.a), owner=world.membership(world.bob, world.a))
            f.ContactFactory(client=client)
            f.ContactFactory(client=client)
            f.ClientFactory(tenant=world.a)
    lead.get(URL)  # warm up the session
    counts = {}
    for fmt in ("csv", "xlsx"):
        with CaptureQueriesContext(connection) as ctx:
            response = lead.get(URL, {"format": fmt})
            rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
        counts[fmt] = len(ctx.captured_queries)
        assert len(rows) > n
    return counts


def test_the_export_queries_do_not_grow_with_rows(lead, world):
    few = _export_queries(lead, world, 3)
    many = _export_queries(lead, world, 30)
    assert few == many


def test_it_requires_a_lead(client, world):
    client.force_login(world.bob)
    assert client.get(URL).status_code == 403
    assert client.get(reverse("imports:template", kwargs={"tenant_slug": "acme"})).status_code == 403
