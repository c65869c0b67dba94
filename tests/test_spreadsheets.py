"""Formula injection (issue 15, F2): every CSV and XLSX goes through apps.core.spreadsheets, so a
respondent's `=HYPERLINK(...)` reaches a lead's spreadsheet as text. The dashboards' `?csv=` downloads
used to write raw values; the hostile-world test (tests/test_hostile_world.py) walks every download."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from apps.core import spreadsheets
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.rollups import rollups_rebuild
from apps.surveys.models import Answer, QuestionType
from apps.tenancy.context import tenant_context
from tests import factories as f

pytestmark = pytest.mark.postgres

HYPERLINK = '=HYPERLINK("https://evil.example","x")'


def csv_cells(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8").removeprefix("\ufeff"))))


@pytest.mark.parametrize("text", [HYPERLINK, "+1", "-1+2", "@SUM(1)", "\t=1", "\r=1"])
def test_it_neutralises_every_formula_prefix(text):
    assert spreadsheets.cell(text) == "'" + text


@pytest.mark.parametrize("value", [-3, -2.5, Decimal("-12.50"), 0, 7])
def test_it_keeps_numbers_negative_ones_included_as_numbers(value):
    assert spreadsheets.cell(value) == value


def test_it_leaves_plain_text_and_writes_none_and_booleans_as_words():
    assert [spreadsheets.cell(v) for v in ("Plain text", "a=b", None, True, False)] == ["Plain text", "a=b", "", "yes", "no"]


def test_it_types_xlsx_text_as_text_and_numbers_as_numbers():
    data = spreadsheets.xlsx_bytes(["name", "score"], [[HYPERLINK, -3]], title="Sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    name, score = next(sheet.iter_rows(min_row=2))
    assert name.data_type == "s"
    assert name.value == "'" + HYPERLINK
    assert score.value == -3


def test_it_neutralises_formulas_in_the_dashboards_comments_csv(world, client):
    with tenant_context(world.a):
        client_row = f.ClientFactory(tenant=world.a, name="@SUM(1)")
        version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=world.a, name="+1 survey"))
        question = f.QuestionFactory(version=version, type=QuestionType.TEXT, key="reason")
        response = f.ResponseFactory(version=version, client=client_row, submitted_at=datetime(2026, 4, 1, 10, tzinfo=UTC), comment=HYPERLINK)
        Answer.objects.create(tenant=world.a, response=response, question=question, value=HYPERLINK)
    rollups_rebuild(world.a)
    client.force_login(world.carol)
    response = client.get("/t/acme/dashboards/", {"period": "custom", "from": "2026-03-20", "to": "2026-04-08", "csv": "comments"})
    assert response.status_code == 200
    header, row = csv_cells(response)
    cells = dict(zip(header, row, strict=True))
    assert cells["Comment"] == "'" + HYPERLINK
    assert cells["Client"] == "'@SUM(1)"
    assert cells["Survey"] == "'+1 survey"


def test_it_neutralises_formulas_in_the_churn_at_risk_csv(world, client):
    with tenant_context(world.a):
        segment = f.SegmentFactory(tenant=world.a, name="-Gold")
        for i in range(3):
            f.ClientFactory(tenant=world.a, name=f"{HYPERLINK}{i}", segment=segment, active_from=date(2024, 1, 1),
                            annual_value=Decimal(1000))
        churn_risk_refresh(world.a)
    client.force_login(world.carol)
    response = client.get("/t/acme/dashboards/churn/", {"csv": "at-risk"})
    assert response.status_code == 200
    header, *rows = csv_cells(response)
    assert rows
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        assert cells["Client"].startswith("'" + HYPERLINK)
        assert cells["Segment"] == "'-Gold"


def test_it_writes_every_spreadsheet_through_apps_core_spreadsheets():
    """No other module makes a CSV or XLSX writer (each used to neutralise formulas, or forget to)."""
    root = Path(__file__).resolve().parent.parent / "apps"
    writers = re.compile(r"csv\.(writer|DictWriter)\(|openpyxl\.Workbook\(|xlsxwriter")
    stray = [str(path.relative_to(root)) for path in root.rglob("*.py")
             if path.name != "spreadsheets.py" and writers.search(path.read_text())]
    assert stray == [], f"write CSV/XLSX through apps.core.spreadsheets: {stray}"
