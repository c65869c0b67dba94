"""The six-monthly experience audit (issue 8 item 8): two periods on planted data, a marker only where a
change is significant, root causes counted, recovery shown, action plans met or missed, an empty journey
renders, roles, another tenant's journey is a 404, a fixed number of queries, the PDF through the shared
printer, the half-year e-mail sent once."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.dates import day_start
from apps.feedback.audits.selectors import audit_periods, journey_audit, last_completed_half_year
from apps.feedback.audits.services import audits_ready_notify
from apps.messaging.models import OutboundEmail
from apps.surveys.models import Response
from apps.tenancy.context import tenant_context
from tests.builders import AUDIT_END, AUDIT_STAGES, CURRENT_DAY, PREVIOUS_DAY, audit_journey_world
from tests.factories import (
    ActionPlanFactory,
    CaseFactory,
    JourneyFactory,
    RootCauseFactory,
    StageFactory,
    StageTouchpointFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def planted(world):
    return audit_journey_world(world.a)


def test_the_periods_are_two_half_years():
    assert audit_periods(date(2026, 6, 30)) == ((date(2025, 7, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 6, 30)))
    assert audit_periods(date(2025, 12, 31)) == ((date(2025, 1, 1), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 12, 31)))
    (pf, pl), (cf, cl) = audit_periods(date(2026, 8, 31))
    assert (cf, cl, pl) == (date(2026, 3, 1), date(2026, 8, 31), date(2026, 2, 28))
    assert pf == date(2025, 9, 1)
    (pf, pl), (cf, cl) = audit_periods(date(2026, 11, 23))
    assert cf == date(2026, 5, 24)
    assert pl == date(2026, 5, 23)
    assert pf == date(2025, 11, 24)
    assert last_completed_half_year(date(2026, 11, 23)) == date(2026, 6, 30)
    assert last_completed_half_year(date(2026, 3, 1)) == date(2025, 12, 31)
    assert last_completed_half_year(date(2026, 6, 30)) == date(2025, 12, 31)


def test_it_compares_the_two_periods_per_stage_on_planted_data(world, planted):
    journey, _ = planted
    with tenant_context(world.a):
        audit = journey_audit(world.a, journey, end=AUDIT_END)
    rows = {r.name: r for r in audit.stages}
    assert [r.name for r in audit.stages] == list(AUDIT_STAGES)
    onboard, billing, discover = rows["Onboard"], rows["Billing"], rows["Discover"]
    assert (onboard.previous["nps"]["value"], onboard.current["nps"]["value"]) == (-50.0, 100.0)
    assert onboard.previous["nps"]["n"] == onboard.current["nps"]["n"] == 40
    assert onboard.marker("nps") == "up"
    assert onboard.change["nps"]["significant_change"]
    assert billing.marker("csat") == "down"
    assert (billing.previous["csat"]["value"], billing.current["csat"]["value"]) == (75.0, 25.0)
    assert discover.marker("nps") == discover.marker("csat") == ""
    assert discover.change["nps"]["delta"] == 0
    assert billing.marker("nps") == ""
    assert onboard.marker("csat") == ""
    # CES was never asked: no value, no marker.
    assert onboard.current["ces"]["n"] == 0
    assert onboard.marker("ces") == ""
    assert audit.total.current["nps"]["n"] == 120
    assert audit.summary[0].startswith("Scores rose significantly at Onboard (NPS +150")
    assert audit.summary[1] == "Scores fell significantly at Billing (CSAT −50)."


def test_the_page_marks_only_significant_changes(world, planted, client):
    journey, _ = planted
    client.force_login(world.carol)
    response = client.get(f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}")
    assert response.status_code == 200
    body = response.content.decode()
    table = body[body.index('id="audit-stage-table"'):body.index("</table>", body.index('id="audit-stage-table"'))]
    stage_rows = dict(re.findall(r'<tr data-stage="(\w+)">(.*?)</tr>', table, re.S))
    assert re.findall(r'data-metric="(\w+)" data-significant="(\w+)"', stage_rows["Onboard"]) == [("nps", "up")]
    assert re.findall(r'data-metric="(\w+)" data-significant="(\w+)"', stage_rows["Billing"]) == [("csat", "down")]
    assert "data-significant" not in stage_rows["Discover"]
    assert "Scores rose significantly at Onboard" in body
    assert "1 Jan 2026 – 30 Jun 2026" in body
    assert body.count('data-chart="chart-audit-') == 2  # NPS and CSAT; CES was never asked:
    assert "No CES answers at any stage in either period." in body
    csv = client.get(f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}&csv=audit-nps")
    assert csv.status_code == 200
    assert "Onboard" in csv.content.decode()


def test_it_answers_an_htmx_request_with_the_whole_page(world, planted, client):
    """The audit shares the dashboards' renderer but has no `dashboard` partial (was a 500; issue 15's hostile world)."""
    journey, _ = planted
    client.force_login(world.carol)
    response = client.get(f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="audit-stage-table"' in response.content.decode()


def test_it_counts_root_causes_recovery_and_plans_of_the_period(world, planted, client):
    journey, stages = planted
    with tenant_context(world.a):
        slow, rude = RootCauseFactory(tenant=world.a, name="Slow answer"), RootCauseFactory(tenant=world.a, name="Rude tone")
        responses = list(Response.objects.filter(stage=stages[2], local_day__gte=date(2026, 1, 1))[:6])
        opened = day_start(world.a.time_zone, CURRENT_DAY) + timedelta(days=5)
        for i, r in enumerate(responses):
            cause = slow if i < 3 else (rude if i < 5 else None)
            CaseFactory(tenant=world.a, source="response", response=r, client=r.client, root_cause=cause,
                        status="resolved" if cause else "open", action_taken="Called back" if cause else "", opened_at=opened,
                        due_at=opened + timedelta(days=2))
        old = Response.objects.filter(stage=stages[2], local_day__lt=date(2026, 1, 1)).first()
        CaseFactory(tenant=world.a, source="response", response=old, root_cause=rude, status="resolved", action_taken="x",
                    opened_at=day_start(world.a.time_zone, PREVIOUS_DAY), due_at=day_start(world.a.time_zone, PREVIOUS_DAY))
        other_journey = JourneyFactory(tenant=world.a)
        tp = TouchpointFactory(tenant=world.a)
        StageTouchpointFactory(stage=stages[1], touchpoint=tp)
        ActionPlanFactory(tenant=world.a, title="Onboarding NPS", journey=journey, status="met", due_on=date(2026, 5, 1),
                          starts_on=date(2026, 1, 2), final_value=40, final_n=50)
        ActionPlanFactory(tenant=world.a, title="Kick-off CSAT", touchpoint=tp, metric="csat", status="missed", due_on=date(2026, 6, 1),
                          starts_on=date(2026, 1, 2), target_value=80)
        ActionPlanFactory(tenant=world.a, title="Elsewhere", journey=other_journey, status="met", due_on=date(2026, 5, 1),
                          starts_on=date(2026, 1, 2))
        ActionPlanFactory(tenant=world.a, title="Too late", journey=journey, status="active", due_on=date(2026, 8, 1),
                          starts_on=date(2026, 1, 2))
        ActionPlanFactory(tenant=world.a, title="Dropped", stage=stages[0], status="cancelled", due_on=date(2026, 5, 1),
                          starts_on=date(2026, 1, 2))
        audit = journey_audit(world.a, journey, end=AUDIT_END)
    assert audit.root_causes == [{"label": "Slow answer", "count": 3, "share": 60.0}, {"label": "Rude tone", "count": 2, "share": 40.0}]
    assert (audit.cases_opened, audit.cases_with_cause) == (6, 5)
    assert [p.title for p in audit.plans] == ["Onboarding NPS", "Kick-off CSAT"]
    assert (audit.plans_met, audit.plans_missed) == (1, 1)
    assert audit.recovery_current is not None
    assert audit.recovery_current["n"] == 0
    assert audit.volatility_current["n"] > 0
    assert audit.transitions
    client.force_login(world.victor)
    body = client.get(f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}").content.decode()
    assert "Slow answer" in body
    assert "60.0%" in body
    assert "Onboarding NPS" in body
    assert "Elsewhere" not in body
    assert "1 met, 1 missed" in body


def test_an_empty_journey_renders(world, client):
    journey, _ = audit_journey_world(world.a, name="Quiet", responses=False)
    client.force_login(world.alice)
    response = client.get(f"/t/acme/audits/journeys/{journey.uuid}/")
    assert response.status_code == 200
    assert b"No answers in this journey in either period" in response.content
    with tenant_context(world.a):
        empty = JourneyFactory(tenant=world.a, name="No stages")
    assert client.get(f"/t/acme/audits/journeys/{empty.uuid}/").status_code == 200


def test_a_bad_or_future_end_is_refused(world, planted, client):
    journey, _ = planted
    client.force_login(world.alice)
    for end in ("2026-13-01", "soon", "2999-01-01"):
        response = client.get(f"/t/acme/audits/journeys/{journey.uuid}/?end={end}")
        assert response.status_code == 400
        assert b"Fix the day above" in response.content


@pytest.mark.parametrize("who,status", [("alice", 200), ("carol", 200), ("victor", 200), ("bob", 403)])
def test_readers_of_the_dashboards_read_the_audit(who, status, world, planted, client):
    journey, _ = planted
    client.force_login(getattr(world, who))
    assert client.get(f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}").status_code == status
    listing = client.get("/t/acme/audits/")
    assert listing.status_code == status
    if status == 200:
        assert journey.name.encode() in listing.content


def test_another_tenants_journey_is_a_404_and_its_numbers_never_show(world, planted, client):
    journey_b, _ = audit_journey_world(world.b, name="Globex journey")
    client.force_login(world.alice)
    assert client.get(f"/t/acme/audits/journeys/{journey_b.uuid}/").status_code == 404
    assert client.get(f"/t/acme/audits/journeys/{journey_b.uuid}/pdf/").status_code == 404
    assert b"Globex journey" not in client.get("/t/acme/audits/").content


def test_the_audit_reads_a_fixed_number_of_queries(world, client):
    journey, stages = audit_journey_world(world.a)
    client.force_login(world.alice)
    url = f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with tenant_context(world.a):
        for i in range(6):
            stage = StageFactory(journey=journey, order=10 + i)
            StageTouchpointFactory(stage=stage, touchpoint=TouchpointFactory(tenant=world.a))
            ActionPlanFactory(tenant=world.a, stage=stage, status="met", due_on=date(2026, 5, 1), starts_on=date(2026, 1, 2))
            CaseFactory(tenant=world.a, root_cause=RootCauseFactory(tenant=world.a), status="resolved", action_taken="x",
                        source="response", response=Response.objects.filter(journey=journey).first(),
                        opened_at=day_start(world.a.time_zone, CURRENT_DAY), due_at=day_start(world.a.time_zone, CURRENT_DAY))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_pdf_is_printed_by_the_shared_printer(world, planted, client, monkeypatch):
    journey, _ = planted
    seen = {}

    def fake(html, *, path, timeout=None):
        seen.update(html=html, path=path)
        return b"%PDF-1.7 fake"

    monkeypatch.setattr("apps.feedback.audits.views.html_to_pdf", fake)
    client.force_login(world.carol)
    response = client.get(f"/t/acme/audits/journeys/{journey.uuid}/pdf/?end={AUDIT_END}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    assert seen["path"] == f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}"
    assert "Scores rose significantly at Onboard" in seen["html"]
    assert "Download PDF" not in seen["html"]

    from apps.reports.pdf import PdfUnavailable

    def broken(html, *, path, timeout=None):
        raise PdfUnavailable("The PDF printer (Chromium) is not installed on this server.")

    monkeypatch.setattr("apps.feedback.audits.views.html_to_pdf", broken)
    response = client.get(f"/t/acme/audits/journeys/{journey.uuid}/pdf/?end={AUDIT_END}")
    assert response.status_code == 503
    assert b"not installed" in response.content


def test_the_journey_map_links_its_audit(world, planted, client):
    journey, _ = planted
    client.force_login(world.carol)
    assert f"/t/acme/audits/journeys/{journey.uuid}/".encode() in client.get(f"/t/acme/journeys/{journey.uuid}/").content


def test_the_half_year_email_goes_to_each_lead_once(world):
    with tenant_context(world.a):
        assert audits_ready_notify(world.a, today=date(2026, 7, 1)) == 2  # alice (admin) and carol (CX lead)
        assert audits_ready_notify(world.a, today=date(2026, 7, 1)) == 2
        emails = list(OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DIGEST))
    assert sorted(e.to_email for e in emails) == ["alice@example.com", "carol@example.com"]
    assert "30 June 2026" in emails[0].subject
    assert "/t/acme/audits/?end=2026-06-30" in emails[0].body_text

