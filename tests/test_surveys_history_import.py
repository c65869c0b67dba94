"""Importing past responses (issue 20 item 6): the generic layout and the exports of Qualtrics, SurveyMonkey,
Formbricks and Delighted, mapped to a version's questions; upload → review (reasons per row) → confirm in a
task, atomic and idempotent; rollups recomputed for the days touched; bad input answered with clear messages
and nothing stored; tenants apart."""

from __future__ import annotations

import base64
import csv
import datetime
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.imports.models import MAX_FILE_BYTES
from apps.metrics.models import ResponseRollup
from apps.surveys.history import planning
from apps.surveys.models import Answer, Response, ResponseImport
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests import factories as f
from tests.builders import publish

BRUSSELS = ZoneInfo("Europe/Brussels")
TOPICS = [{"value": "price", "label": {"en": "Price", "fr": "Prix"}}, {"value": "service", "label": {"en": "Service", "fr": "Service"}},
          {"value": "speed", "label": {"en": "Speed", "fr": "Rapidité"}}]


@pytest.fixture
def acme(world):
    """Acme's NPS survey (nps, reason, topics), published; two contacts at two clients; a touchpoint on one stage."""
    a = world.a
    with tenant_context(a):
        survey = f.SurveyFactory(tenant=a, name="Relationship NPS", languages=["en", "fr"])
        version = f.SurveyVersionFactory(survey=survey, number=1)
        f.QuestionFactory(version=version, order=1, key="nps", type="nps", text={"en": "How likely are you to recommend us?"})
        f.QuestionFactory(version=version, order=2, key="reason", type="text", required=False,
                          text={"en": "What is the main reason for your score?"})
        f.QuestionFactory(version=version, order=3, key="topics", type="multi_choice", required=False,
                          text={"en": "What should we improve?"}, options={"choices": TOPICS})
        publish(version)
        survey.current_version = version
        survey.save()
        gold = f.SegmentFactory(tenant=a, name="Gold")
        ana = f.ContactFactory(tenant=a, email="ana@client.example", client=f.ClientFactory(tenant=a, name="Ana & Co", segment=gold))
        ben = f.ContactFactory(tenant=a, email="ben@other.example", client=f.ClientFactory(tenant=a, name="Ben Ltd"))
        desk = f.TouchpointFactory(tenant=a, name="Help desk")
        stage = f.StageFactory(tenant=a, journey=f.JourneyFactory(tenant=a))
        f.StageTouchpointFactory(tenant=a, stage=stage, touchpoint=desk)
    return {"survey": survey, "version": version, "ana": ana, "ben": ben, "desk": desk, "stage": stage, "gold": gold}


@pytest.fixture
def lead(client, world):
    client.force_login(world.carol)
    return client


def csv_bytes(rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def upload(lead, acme, content, capture, name="history.csv", **data):
    url = reverse("history:upload", kwargs={"tenant_slug": "acme", "uuid": acme["survey"].uuid})
    with capture(execute=True):
        return lead.post(url, {"file": SimpleUploadedFile(name, content), "layout": "auto", "time_zone": "Europe/Brussels", **data})


def job_url(job, name="job"):
    return reverse(f"history:{name}", kwargs={"tenant_slug": "acme", "uuid": job.uuid})


def latest(tenant) -> ResponseImport:
    with tenant_context(tenant):
        return ResponseImport.objects.order_by("-created_at", "-id").first()


def confirm(lead, job, capture):
    with capture(execute=True):
        return lead.post(job_url(job, "job_confirm"))


def imported(tenant):
    with tenant_context(tenant):
        return list(Response.objects.filter(channel="import").order_by("submitted_at").select_related("contact", "client"))


GENERIC = [
    ["response_id", "email", "submitted_at", "touchpoint", "nps", "reason", "topics"],
    ["R1", "ana@client.example", "2024-03-31 14:05", "", "9", "Quick answers", "Price; Speed"],
    ["R2", "BEN@other.example", "2024-04-01T08:00:00+00:00", "Help desk", "3", "Slow", "service"],
    ["R3", "", "2024-04-02", "", "10 - Extremely likely", "", ""],
    ["R4", "nobody@unknown.example", "2024-04-02 10:00", "", "7", "", ""],
    ["R5", "ana@client.example", "2099-01-01 10:00", "", "8", "", ""],
    ["R6", "ana@client.example", "2024-04-03 10:00", "", "11", "", ""],
    ["R1", "ana@client.example", "2024-03-31 14:05", "", "9", "Quick answers", "Price; Speed"],
    ["R7", "ana@client.example", "2024-04-03 11:00", "", "6", "", "Cheese"],
    ["R8", "ana@client.example", "31/03/2024", "", "6", "", ""],
    ["R9", "ben@other.example", "2024-04-04 09:00", "Nowhere", "6", "", ""],
    ["R10", "ben@other.example", "2024-04-04 09:30", "", "", "", ""],
]


def test_a_generic_file_is_reviewed_with_reasons_then_imported_once(lead, world, acme, django_capture_on_commit_callbacks):
    response = upload(lead, acme, csv_bytes(GENERIC), django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert response.status_code == 302
    assert response["Location"].endswith(job_url(job))
    assert job.status == "review"
    assert job.detected_layout == "generic"
    assert (job.rows_total, job.to_create, job.unchanged, job.rejected) == (11, 3, 0, 8)
    reasons = {r["row"]: r["reason"] for r in job.rejections}
    assert "no contact with the e-mail nobody@unknown.example" in reasons[5]
    assert "is in the future" in reasons[6]
    assert reasons[7] == "nps: 11 is outside the scale 0–10"
    assert reasons[8] == "the same response as row 2 (a duplicate row)"
    assert "topics: “Cheese” is not one of the options" in reasons[9]
    assert "“31/03/2024” is not a date and time" in reasons[10]
    assert reasons[11] == "touchpoint: no touchpoint is named “Nowhere”"
    assert reasons[12] == "the row answers none of the mapped questions"
    assert imported(world.a) == []  # the review writes nothing
    page = lead.get(job_url(job)).content.decode()
    assert "Confirm: import 3 responses" in page
    assert "is outside the scale 0–10" in page

    confirm(lead, job, django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert job.status == "done"
    assert job.summary["created"] == 3
    rows = imported(world.a)
    assert [r.nps for r in rows] == [9, 3, 10]
    ana, ben, anonymous = rows
    assert (ana.contact, ana.client, ana.segment_id) == (acme["ana"], acme["ana"].client, acme["gold"].pk)
    assert ana.submitted_at == datetime.datetime(2024, 3, 31, 14, 5, tzinfo=BRUSSELS)
    assert ana.local_day == datetime.date(2024, 3, 31)
    assert ana.comment == "Quick answers"
    assert ana.attributes["segment"] == "Gold"
    assert (ben.touchpoint_id, ben.stage_id, ben.journey_id) == (acme["desk"].pk, acme["stage"].pk, acme["stage"].journey_id)
    assert ben.submitted_at == datetime.datetime(2024, 4, 1, 8, 0, tzinfo=datetime.UTC)
    assert anonymous.contact is None
    assert anonymous.submitted_at.astimezone(BRUSSELS).hour == 12
    with tenant_context(world.a):
        answers = dict(Answer.objects.filter(response=ana).values_list("question__key", "value"))
        assert answers == {"nps": 9, "reason": "Quick answers", "topics": ["price", "speed"]}
        day = ResponseRollup.objects.get(day=datetime.date(2024, 3, 31), dimension="total")
        assert day.nps_n == 1
        assert day.nps_promoters == 1
        assert AuditEvent.objects.filter(action="responses.import_confirmed").count() == 1

    # The same file again: every row it would create exists; nothing is written.
    upload(lead, acme, csv_bytes(GENERIC), django_capture_on_commit_callbacks)
    again = latest(world.a)
    assert (again.to_create, again.unchanged, again.rejected) == (0, 3, 8)
    assert "Nothing to import" in lead.get(job_url(again)).content.decode()
    assert lead.post(job_url(again, "job_confirm")).status_code == 302
    assert latest(world.a).status == "review"
    assert len(imported(world.a)) == 3


def qualtrics_export() -> bytes:
    header = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished", "RecordedDate",
              "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference", "DistributionChannel",
              "UserLanguage", "Q1", "Q1_NPS_GROUP", "Q2"]
    labels = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)", "Finished", "Recorded Date",
              "Response ID", "Recipient Last Name", "Recipient First Name", "Recipient Email", "External Data Reference",
              "Distribution Channel", "User Language", "How likely are you to recommend us?",
              "How likely are you to recommend us? - Group", "What is the main reason for your score?"]
    import_ids = ['{"ImportId":"startDate","timeZone":"America/Denver"}', '{"ImportId":"endDate","timeZone":"America/Denver"}',
                  '{"ImportId":"status"}', '{"ImportId":"ipAddress"}', '{"ImportId":"progress"}', '{"ImportId":"duration"}',
                  '{"ImportId":"finished"}', '{"ImportId":"recordedDate","timeZone":"America/Denver"}', '{"ImportId":"_recordId"}',
                  '{"ImportId":"recipientLastName"}', '{"ImportId":"recipientFirstName"}', '{"ImportId":"recipientEmail"}',
                  '{"ImportId":"externalDataReference"}', '{"ImportId":"distributionChannel"}', '{"ImportId":"userLanguage"}',
                  '{"ImportId":"QID1"}', '{"ImportId":"QID1_NPS_GROUP"}', '{"ImportId":"QID2_TEXT"}']
    row = ["2024-05-02 09:00:00", "2024-05-02 09:01:10", "0", "", "100", "70", "1", "2024-05-02 09:01:11", "R_abc1", "", "", "ana@client.example",
           "", "email", "FR", "10", "3", "Super"]
    preview = [*row[:2], "1", *row[3:8], "R_prev", *row[9:]]
    unfinished = [*row[:6], "0", row[7], "R_part", *row[9:]]
    return csv_bytes([header, labels, import_ids, row, preview, unfinished])


def test_a_qualtrics_export_is_recognised_with_its_three_header_rows(lead, world, acme, django_capture_on_commit_callbacks):
    upload(lead, acme, qualtrics_export(), django_capture_on_commit_callbacks, name="qualtrics.csv")
    job = latest(world.a)
    assert job.detected_layout == "qualtrics"
    assert job.summary["declared_zone"] == "America/Denver"
    columns = job.summary["columns"]
    assert columns[job.mapping["q:nps"]].startswith("Q1 — How likely")
    assert columns[job.mapping["q:reason"]].startswith("Q2")
    assert columns[job.mapping["submitted_at"]].startswith("RecordedDate")
    assert columns[job.mapping["email"]].startswith("RecipientEmail")
    assert (job.to_create, job.rejected) == (1, 2)
    assert [r["reason"] for r in job.rejections] == ["a survey preview (Status = 1): not imported",
                                                     "an unfinished response (Finished = 0): not imported"]
    page = lead.get(job_url(job)).content.decode()
    assert "The file says its times are in <strong>America/Denver</strong>" in page

    # The lead takes the file's zone: the rows are checked again, then imported.
    data = {k: str(v) for k, v in {"col_response_id": job.mapping["response_id"], "col_email": job.mapping["email"],
                                   "col_submitted_at": job.mapping["submitted_at"], "col_language": job.mapping["language"],
                                   "q_nps": job.mapping["q:nps"], "q_reason": job.mapping["q:reason"]}.items()}
    with django_capture_on_commit_callbacks(execute=True):
        assert lead.post(job_url(job, "job_change"), {**data, "time_zone": "America/Denver"}).status_code == 302
    job = latest(world.a)
    assert job.status == "review"
    assert job.time_zone == "America/Denver"
    assert job.to_create == 1
    confirm(lead, job, django_capture_on_commit_callbacks)
    (row,) = imported(world.a)
    assert row.submitted_at == datetime.datetime(2024, 5, 2, 9, 1, 11, tzinfo=ZoneInfo("America/Denver"))
    assert (row.nps, row.comment, row.language, row.contact) == (10, "Super", "fr", acme["ana"])


def test_a_surveymonkey_export_reads_its_sub_headers_and_spread_choices(lead, world, acme, django_capture_on_commit_callbacks):
    rows = [
        ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name", "Last Name",
         "Custom Data 1", "How likely are you to recommend us?", "What should we improve?", "", "", "What is the main reason for your score?"],
        ["", "", "", "", "", "", "", "", "", "Response", "Price", "Service", "Speed", "Open-Ended Response"],
        ["114", "9", "04/03/2024 10:00:00 AM", "04/03/2024 10:02:00 PM", "", "ben@other.example", "", "", "", "6", "Price", "", "Speed", "Too dear"],
    ]
    upload(lead, acme, csv_bytes(rows), django_capture_on_commit_callbacks, name="monkey.csv")
    job = latest(world.a)
    assert job.detected_layout == "surveymonkey", job.rejections
    assert (job.to_create, job.rejected) == (1, 0), job.rejections
    confirm(lead, job, django_capture_on_commit_callbacks)
    (row,) = imported(world.a)
    assert row.submitted_at == datetime.datetime(2024, 4, 3, 22, 2, tzinfo=BRUSSELS)
    with tenant_context(world.a):
        assert dict(Answer.objects.filter(response=row).values_list("question__key", "value")) == {
            "nps": 6, "topics": ["price", "speed"], "reason": "Too dear"}


def test_formbricks_and_delighted_exports_are_recognised(lead, world, acme, django_capture_on_commit_callbacks):
    formbricks = [["No.", "Response ID", "Timestamp", "Finished", "Survey ID", "Formbricks ID (internal)", "User ID", "Notes", "Tags",
                   "1. How likely are you to recommend us?", "2. What is the main reason for your score?", "email"],
                  ["1", "clx1", "2024-06-15 10:00:00", "Yes", "s1", "", "", "", "", "8", "Fine", "ana@client.example"],
                  ["2", "clx2", "2024-06-15 11:00:00", "No", "s1", "", "", "", "", "2", "", "ben@other.example"]]
    upload(lead, acme, csv_bytes(formbricks), django_capture_on_commit_callbacks, name="formbricks.csv")
    job = latest(world.a)
    assert job.detected_layout == "formbricks"
    assert (job.to_create, job.rejected) == (1, 1)
    assert job.rejections[0]["reason"] == "an unfinished response (Finished = No): not imported"

    moment = int(datetime.datetime(2024, 7, 1, 12, 0, tzinfo=datetime.UTC).timestamp())
    delighted = [["Response ID", "Score", "Comment", "Email", "Name", "Response timestamp", "Tags"],
                 ["9001", "4", "Never again", "ben@other.example", "Ben", str(moment), ""]]
    upload(lead, acme, csv_bytes(delighted), django_capture_on_commit_callbacks, name="delighted.csv")
    job = latest(world.a)
    assert job.detected_layout == "delighted"
    assert job.to_create == 1
    assert {"q:nps", "q:reason"} <= set(job.mapping)
    confirm(lead, job, django_capture_on_commit_callbacks)
    (row,) = imported(world.a)
    assert (row.nps, row.comment, row.submitted_at) == (4, "Never again", datetime.datetime(2024, 7, 1, 12, 0, tzinfo=datetime.UTC))


@pytest.mark.parametrize("content, message", [
    ("email,submitted_at,nps\nana@client.example,2024-01-01 10:00,9\n".encode("utf-16"), "saved as UTF-16"),
    ("email,submitted_at,nps,reason\nana@client.example,2024-01-01 10:00,9,Très bien\n".encode("cp1252"), "not UTF-8 text"),
    (b"email,submitted_at,nps\n", "header but no rows"),
])
def test_unreadable_files_fail_with_the_reason_and_store_nothing(lead, world, acme, content, message, django_capture_on_commit_callbacks):
    upload(lead, acme, content, django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert job.status == "failed"
    assert message in job.error_message
    assert "Nothing was imported." in lead.get(job_url(job)).content.decode()
    assert imported(world.a) == []


def test_a_workbook_with_a_formula_is_refused_whole(lead, world, acme, django_capture_on_commit_callbacks):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["email", "submitted_at", "nps"])
    sheet.append(["ana@client.example", "2024-01-01 10:00", "=4+5"])
    out = io.BytesIO()
    book.save(out)
    upload(lead, acme, out.getvalue(), django_capture_on_commit_callbacks, name="history.xlsx")
    job = latest(world.a)
    assert job.status == "failed"
    assert "contains formulas (cells C2)" in job.error_message


def test_an_oversized_file_is_answered_at_once_and_nothing_is_stored(lead, world, acme, django_capture_on_commit_callbacks):
    response = upload(lead, acme, b"email,submitted_at,nps\n" + b"x" * MAX_FILE_BYTES, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "larger than the 10 MB limit" in response.content.decode()
    assert latest(world.a) is None


def test_a_file_without_a_date_column_waits_for_the_lead_to_choose_one(lead, world, acme, django_capture_on_commit_callbacks):
    upload(lead, acme, csv_bytes([["email", "when", "nps"], ["ana@client.example", "2024-02-02 10:00", "9"]]),
           django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert job.status == "review"
    assert "Answered at" in job.summary["mapping_problem"]
    assert lead.post(job_url(job, "job_confirm")).status_code == 302
    assert latest(world.a).status == "review"
    bad = lead.post(job_url(job, "job_change"), {"col_email": "0", "col_submitted_at": "2", "q_nps": "2", "time_zone": "Europe/Brussels"})
    assert bad.status_code == 400
    assert "One column cannot hold both Answered at and question “nps”" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        lead.post(job_url(job, "job_change"), {"col_email": "0", "col_submitted_at": "1", "q_nps": "2", "time_zone": "Europe/Brussels"})
    assert latest(world.a).to_create == 1


def test_a_failure_midway_leaves_nothing_and_a_change_since_the_review_returns_to_review(
        lead, world, acme, monkeypatch, django_capture_on_commit_callbacks):
    rows = [["response_id", "email", "submitted_at", "nps"]] + [[f"R{i}", "ana@client.example", f"2024-01-{1 + i % 28:02d} 10:00", str(i % 11)]
                                                                for i in range(25)]
    upload(lead, acme, csv_bytes(rows), django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert job.to_create == 25
    monkeypatch.setattr(planning, "BATCH_SIZE", 10)
    calls = {"n": 0}
    real = Answer.objects.bulk_create

    def failing(objs, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(objs, **kwargs)

    monkeypatch.setattr(Answer.objects, "bulk_create", failing)
    confirm(lead, job, django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert job.status == "failed"
    assert "nothing was imported" in job.error_message
    assert imported(world.a) == []
    monkeypatch.undo()

    upload(lead, acme, csv_bytes(rows), django_capture_on_commit_callbacks)
    job = latest(world.a)
    with tenant_context(world.a):
        acme["ana"].email = "ana.new@client.example"
        acme["ana"].save()
    confirm(lead, job, django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert job.status == "review"
    assert "The data changed since this file was reviewed" in job.notice
    assert (job.to_create, job.rejected) == (0, 25)
    assert imported(world.a) == []


def test_tenants_are_apart(lead, client, world, acme, django_capture_on_commit_callbacks):
    with tenant_context(world.b):
        f.ContactFactory(tenant=world.b, email="ana.b@client.example", client=f.ClientFactory(tenant=world.b))
    upload(lead, acme, csv_bytes([["email", "submitted_at", "nps"], ["ana.b@client.example", "2024-02-02 10:00", "9"]]),
           django_capture_on_commit_callbacks)
    job = latest(world.a)
    assert "no contact with the e-mail ana.b@client.example in this workspace" in job.rejections[0]["reason"]
    client.force_login(world.charlie)  # admin of B
    for name in ("job", "job_status", "job_rejections"):
        assert client.get(reverse(f"history:{name}", kwargs={"tenant_slug": "globex", "uuid": job.uuid})).status_code == 404
    assert client.post(reverse("history:job_confirm", kwargs={"tenant_slug": "globex", "uuid": job.uuid})).status_code == 404
    client.force_login(world.bob)  # staff of A: not a lead
    assert client.get(job_url(job)).status_code == 403


def test_the_page_lists_imports_and_offers_the_survey_template(lead, world, acme, django_capture_on_commit_callbacks):
    upload(lead, acme, csv_bytes(GENERIC), django_capture_on_commit_callbacks)
    page = lead.get(reverse("history:upload", kwargs={"tenant_slug": "acme", "uuid": acme["survey"].uuid}))
    assert page.status_code == 200
    assert "history.csv" in page.content.decode()
    template = lead.get(reverse("history:template", kwargs={"tenant_slug": "acme", "uuid": acme["survey"].uuid}))
    header = b"".join(template.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert header == "response_id,email,submitted_at,touchpoint,segment,language,nps,reason,topics"


# --- the API --------------------------------------------------------------------------------------

def test_the_api_uploads_follows_remaps_and_confirms(api_client, world, acme, django_capture_on_commit_callbacks):
    from tests.conftest import make_api_key

    def post(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(*args, **kwargs)

    _, key = make_api_key(world.a, role="cx_lead")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    base = "/api/v1/t/acme/"
    content = csv_bytes([["email", "when", "nps"], ["ana@client.example", "2024-02-02 10:00", "9"]])
    upload = post(f"{base}surveys/{acme['survey'].uuid}/response-imports/",
                             {"file_name": "h.csv", "content_base64": base64.b64encode(content).decode()}, format="json")
    assert upload.status_code == 202, upload.json()
    job = upload.json()
    detail = api_client.get(f"{base}response-imports/{job['id']}/").json()
    assert detail["status"] == "review"
    assert detail["columns"] == ["email", "when", "nps"]
    assert "Answered at" in detail["mapping_problem"]
    refused = post(f"{base}response-imports/{job['id']}/confirm/")
    assert refused.status_code == 400
    wrong = post(f"{base}response-imports/{job['id']}/mapping/", {"mapping": {"email": 0, "q:nope": 2}}, format="json")
    assert wrong.status_code == 400
    assert "Unknown: q:nope" in wrong.json()["error"]["fields"]["mapping"][0]
    remapped = post(f"{base}response-imports/{job['id']}/mapping/",
                               {"mapping": {"email": 0, "submitted_at": 1, "q:nps": 2}}, format="json")
    assert remapped.status_code == 202
    detail = api_client.get(f"{base}response-imports/{job['id']}/").json()
    assert (detail["status"], detail["to_create"], detail["mapping_problem"]) == ("review", 1, "")
    assert post(f"{base}response-imports/{job['id']}/confirm/").status_code == 202
    detail = api_client.get(f"{base}response-imports/{job['id']}/").json()
    assert (detail["status"], detail["created"]) == ("done", 1)
    listed = api_client.get(f"{base}response-imports/?survey={acme['survey'].uuid}").json()
    assert [item["id"] for item in listed["results"]] == [job["id"]]
    assert len(imported(world.a)) == 1

    multipart = post(f"{base}surveys/{acme['survey'].uuid}/response-imports/",
                                {"file": SimpleUploadedFile("h.csv", content), "layout": "generic"}, format="multipart")
    assert multipart.status_code == 202
    assert multipart.json()["layout"] == "generic"
    bad = post(f"{base}surveys/{acme['survey'].uuid}/response-imports/", {"content_base64": "%%%"}, format="json")
    assert bad.status_code == 400
    assert post(f"{base}surveys/{acme['survey'].uuid}/response-imports/", {}, format="json").status_code == 400


def test_the_api_refuses_an_oversized_upload_and_another_tenants_import(api_client, world, acme):
    from tests.conftest import make_api_key

    _, key = make_api_key(world.a, role="cx_lead")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    big = api_client.post(f"/api/v1/t/acme/surveys/{acme['survey'].uuid}/response-imports/",
                          {"file": SimpleUploadedFile("big.csv", b"x" * (MAX_FILE_BYTES + 10))}, format="multipart")
    assert big.status_code == 400
    assert "larger than the 10 MB limit" in str(big.json())
    with tenant_context(world.a):
        assert ResponseImport.objects.count() == 0
    _, other = make_api_key(world.b)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other}")
    job = api_client.post(f"/api/v1/t/globex/surveys/{acme['survey'].uuid}/response-imports/", {"content_base64": "YQ=="}, format="json")
    assert job.status_code == 404


def test_history_before_a_clients_later_response_recounts_that_days_transition(lead, world, acme, django_capture_on_commit_callbacks):
    """An imported response placed before a stored one in the client's journey changes the later one's transition:
    its day is recomputed too (the rollups equal a rebuild from the rows afterwards)."""
    from apps.metrics import rollups

    later = datetime.datetime(2024, 6, 1, 10, 0, tzinfo=BRUSSELS)
    with tenant_context(world.a):
        f.ResponseFactory(version=acme["version"], client=acme["ana"].client, contact=acme["ana"], touchpoint=acme["desk"],
                          stage=acme["stage"], journey=acme["stage"].journey, submitted_at=later, nps=9)
        rollups.rollups_rebuild(world.a)
        days = rollups.imported_affected_days(days=[datetime.date(2024, 5, 1)], journeys=[(acme["ana"].client_id, acme["stage"].journey_id)],
                                              since=datetime.datetime(2024, 5, 1, 10, 0, tzinfo=BRUSSELS))
        assert days == {datetime.date(2024, 5, 1), datetime.date(2024, 6, 1)}
    rows = [["email", "submitted_at", "touchpoint", "segment", "nps"], ["ana@client.example", "2024-05-01 10:00", "Help desk", "gold", "2"]]
    upload(lead, acme, csv_bytes(rows), django_capture_on_commit_callbacks)
    confirm(lead, latest(world.a), django_capture_on_commit_callbacks)
    (row,) = imported(world.a)
    assert row.segment_id == acme["gold"].pk
    with tenant_context(world.a):
        run = rollups.rollups_reconcile(world.a)
        assert (run.rows_wrong, run.days_repaired) == (0, [])
