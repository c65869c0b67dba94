"""Recovery, measured (issue 8 item 3; apps/feedback/recovery/selectors.py): the rule on planted data —
which cases count, recovered or not, the rate with its Wilson interval, the mean score change with
its t-interval — overall, per root cause and per assignee; the filters; another tenant's cases never
counted; a fixed number of queries."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.dates import local_today
from apps.feedback.recovery.selectors import recovery_report
from apps.metrics import stats
from apps.metrics.params import MetricFilters
from apps.tenancy.context import tenant_context
from tests import factories as fx
from tests.builders import Planter

pytestmark = pytest.mark.postgres


def filters(tenant, days=30, **kw):
    today = local_today(tenant.time_zone)
    return MetricFilters(first=today - timedelta(days=days - 1), last=today, **kw)


def report(tenant, **kw):
    with tenant_context(tenant):
        return recovery_report(tenant, filters(tenant, **kw))


def expected_change(deltas, spread=10):
    n = len(deltas)
    mean, sd = stats.mean_sd(n, sum(deltas), sum(d * d for d in deltas))
    low, high = stats.t_interval(n, mean, sd, lower=-spread, upper=spread)
    return round(mean, 1), round(low, 1), round(high, 1)


def test_it_counts_negative_cases_answered_with_the_same_metric_in_the_period(world, planted):
    r = report(world.a)
    o = r.overall
    assert (o["n"], o["recovered"], o["rate"]) == (5, 3, 60.0)
    low, high = stats.wilson(3, 5)
    assert (o["low"], o["high"]) == (round(100 * low, 1), round(100 * high, 1))
    assert o["low_sample"] is True  # 5 < min_n_other (10)
    mean, c_low, c_high = expected_change([6, 1, 8, 3, 0])
    assert o["change"] == {"n": 5, "mean": mean, "low": c_low, "high": c_high}
    assert mean == 3.6
    assert c_low < 0 < c_high
    assert r.answered == 7  # the five, the non-negative trigger and the other-metric answer; not the bot, not the old one
    assert r.has_data


def test_it_breaks_down_per_root_cause_and_per_assignee(world, planted):
    r = report(world.a)
    causes = {row["label"]: (row["n"], row["recovered"], row["rate"]) for row in r.root_causes}
    assert causes == {"Slow reply": (3, 1, 33.3), "Wrong invoice": (2, 2, 100.0)}
    assert [row["label"] for row in r.root_causes] == ["Slow reply", "Wrong invoice"]  # most cases first
    assert r.root_causes[0]["key"] == str(planted["slow"].uuid)
    staff = {row["label"]: (row["n"], row["recovered"], row["change"]["mean"]) for row in r.staff}
    assert staff == {"Bob": (2, 1, 3.5), "Dana": (2, 2, 5.5), "Unassigned": (1, 0, 0.0)}
    bob_row = next(row for row in r.staff if row["label"] == "Bob")
    assert bob_row["key"] == str(planted["bob"].uuid)
    low, high = stats.wilson(1, 2)
    assert (bob_row["low"], bob_row["high"]) == (round(100 * low, 1), round(100 * high, 1))
    unassigned = next(row for row in r.staff if row["label"] == "Unassigned")
    assert unassigned["change"]["low"] is None
    assert unassigned["key"] is None  # n = 1: no t-interval
    metrics = {row["key"]: (row["n"], row["recovered"], row["change"]["mean"]) for row in r.metrics}
    assert metrics == {"nps": (3, 2, 5.0), "csat": (1, 1, 3.0), "ces": (1, 0, 0.0)}


def test_it_counts_resolved_cases_and_recovery_surveys_sent(world, planted):
    r = report(world.a)
    # Resolved in the period: 9 planted resolved cases in A (one in progress), minus the one resolved 71 days ago.
    assert (r.resolved, r.recovery_sent) == (8, 8)


def test_its_period_is_the_recovery_answers_day(world, planted):
    assert report(world.a, days=90).overall["n"] == 6  # the answer of 70 days ago now counts
    assert report(world.a, days=2).overall["n"] == 0  # every other answer is 3 days old


def test_it_applies_the_filters(world, planted):
    t1 = planted["t1"]
    r = report(world.a, touchpoint=t1.pk, uuids={"touchpoint": str(t1.uuid)})
    assert (r.overall["n"], r.overall["recovered"]) == (2, 1)
    assert r.filters["touchpoint"] == str(t1.uuid)
    # The case without an original response leaves as soon as a response filter is given.
    assert report(world.a, channel="web").overall["n"] == 4
    assert report(world.a, channel="kiosk").overall["n"] == 0
    dana = planted["dana"]
    r = report(world.a, staff=dana.pk)
    assert (r.overall["n"], r.overall["recovered"], [row["label"] for row in r.staff]) == (2, 2, ["Dana"])


def test_it_never_counts_another_tenants_cases(world, planted):
    a = report(world.a)
    assert "Charlie" not in {row["label"] for row in a.staff}
    b = report(world.b)
    assert (b.overall["n"], b.overall["recovered"], b.overall["rate"]) == (3, 3, 100.0)
    assert [row["label"] for row in b.staff] == ["Charlie"]
    assert [row["n"] for row in b.root_causes] == [3]


def test_it_shows_nothing_for_an_empty_workspace(world):
    r = report(world.c)
    assert r.overall["n"] == 0
    assert r.overall["rate"] is None
    assert r.overall["low"] is None
    assert r.overall["change"]["mean"] is None
    assert not r.has_data
    assert r.root_causes == r.staff == r.metrics == []
    assert r.answered == r.resolved == 0


def test_its_intervals_contain_their_values(world, planted):
    r = report(world.a)
    for row in [r.overall, *r.root_causes, *r.staff, *r.metrics]:
        assert row["low"] <= row["rate"] <= row["high"]
        change = row["change"]
        if change["low"] is not None:
            assert change["low"] <= change["mean"] <= change["high"]
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in row.values())


def test_it_answers_in_a_fixed_number_of_queries(world, planted):
    with CaptureQueriesContext(connection) as few:
        report(world.a)
    p = Planter(world.a)
    with tenant_context(world.a):
        causes = [fx.RootCauseFactory(tenant=world.a) for _ in range(4)]
        staff = [fx.MembershipFactory(tenant=world.a) for _ in range(4)]
    for i in range(8):
        p.case("nps", i % 7, (i * 3) % 11, root_cause=causes[i % 4], assignee=staff[i % 4])
    with CaptureQueriesContext(connection) as many:
        r = report(world.a)
    assert r.overall["n"] == 13
    assert len(many.captured_queries) == len(few.captured_queries)
    reads = [q["sql"] for q in many.captured_queries if q["sql"].startswith("SELECT") and "set_config" not in q["sql"]]
    assert len(reads) == 4, reads  # the grouped sums, the resolved count, root-cause and member labels


def test_a_recovery_answer_through_the_real_services_shows_in_the_rate(world, django_capture_on_commit_callbacks):
    """A detractor answers → the rule opens a case → the case is resolved with the recovery survey → the
    client answers it → the recovery rate counts it (services of issue 5 and 8, no factory shortcuts)."""
    from apps.feedback.cases.services import case_resolve
    from apps.feedback.models import Case
    from apps.surveys.respond.services import response_submit
    from tests.builders import live_survey

    a = world.a
    bob, carol = world.membership(world.bob, a), world.membership(world.carol, a)
    relationship, recovery = live_survey(a, name="Relationship NPS"), live_survey(a, name="After your case")
    with tenant_context(a):
        contact = fx.ContactFactory(client=fx.ClientFactory(tenant=a), name="Jane")
        asked = fx.InvitationFactory(survey=relationship, version=relationship.current_version, contact=contact)
        fx.AlertRuleFactory(tenant=a, assignee=bob, recovery_survey=recovery)
        cause = fx.RootCauseFactory(tenant=a, name="Slow reply")
    with django_capture_on_commit_callbacks(execute=True), tenant_context(a):
        response_submit(tenant=a, version=relationship.current_version, answers={"nps": 2}, channel="email", language="en",
                        invitation=asked)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(a):
        case = Case.objects.get()
        assert (case.trigger_metric, case.trigger_score, case.assignee_id) == ("nps", 2, bob.pk)
        case = case_resolve(tenant=a, acting_member=carol, case=case, root_cause=cause, action_taken="Called back the same day",
                            send_recovery_survey=True)
    assert report(a).overall["n"] == 0  # sent, not answered yet
    with django_capture_on_commit_callbacks(execute=True), tenant_context(a):
        invitation = case.recovery_invitation
        response_submit(tenant=a, version=invitation.version or recovery.current_version, answers={"nps": 9}, channel="email",
                        language="en", invitation=invitation)
    r = report(a)
    assert (r.overall["n"], r.overall["recovered"], r.overall["rate"], r.overall["change"]["mean"]) == (1, 1, 100.0, 7.0)
    assert [(row["label"], row["n"]) for row in r.root_causes] == [("Slow reply", 1)]
    assert [(row["label"], row["n"]) for row in r.staff] == [("Bob", 1)]
    assert (r.resolved, r.recovery_sent, r.answered) == (1, 1, 1)
