"""A random but realistic attribution world for metrics tests: surveys of every kind, touchpoints,
a journey with stages, segments, staff, clients, and responses spread over days (some bot-flagged,
some skipped answers), plus `python_buckets`, an aggregation written independently of the SQL
engine (Bucket.of_response per row) that stored rollups must equal."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from apps.core.dates import local_day
from apps.metrics import rollups
from apps.metrics.buckets import Bucket
from apps.metrics.models import STAT_FIELDS, Dimension, MonthRollup, ResponseCell, ResponseRollup, TransitionRollup
from apps.surveys.models import Response
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from tests.factories import (
    ClientFactory,
    JourneyFactory,
    MembershipFactory,
    SegmentFactory,
    StageFactory,
    SurveyFactory,
    SurveyVersionFactory,
    TouchpointFactory,
)

KINDS = ("nps", "csat", "ces", "smiley", "enps", "custom")
CHANNELS = ("email", "web", "kiosk", "api")


@dataclass
class MetricWorld:
    tenant: object
    versions: list = field(default_factory=list)
    touchpoints: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    segments: list = field(default_factory=list)
    staff: list = field(default_factory=list)
    clients: list = field(default_factory=list)


def make_metric_world(tenant, rng: random.Random) -> MetricWorld:
    with tenant_context(tenant):
        w = MetricWorld(tenant)
        for kind in KINDS:
            w.versions.append(SurveyVersionFactory(survey=SurveyFactory(tenant=tenant, kind=kind)))
        w.touchpoints = [TouchpointFactory(tenant=tenant) for _ in range(3)]
        journey = JourneyFactory(tenant=tenant)
        w.stages = [StageFactory(journey=journey, order=n + 1) for n in range(3)]
        w.segments = [SegmentFactory(tenant=tenant) for _ in range(2)]
        w.staff = [MembershipFactory(tenant=tenant, role=Role.STAFF) for _ in range(2)]
        w.clients = [ClientFactory(tenant=tenant, segment=rng.choice([None, *w.segments])) for _ in range(8)]
    return w


def _maybe(rng, values, none_share=0.25):
    return None if rng.random() < none_share else rng.choice(values)


def random_response_fields(w: MetricWorld, rng: random.Random, *, start: datetime, days: int) -> dict:
    version = rng.choice(w.versions)
    kind = version.survey.kind
    stage = _maybe(rng, w.stages)
    nps = rng.randint(0, 10) if kind in ("nps", "custom") and rng.random() > 0.1 else None
    return dict(
        tenant=w.tenant, version=version, survey=version.survey, channel=rng.choice(CHANNELS),
        submitted_at=start + timedelta(seconds=rng.randint(0, days * 86400 - 1)),
        touchpoint=_maybe(rng, w.touchpoints), stage=stage, journey=stage.journey if stage else None,
        segment=_maybe(rng, w.segments), staff=_maybe(rng, w.staff), client=_maybe(rng, w.clients, 0.1),
        nps=nps,
        csat=rng.randint(1, 5) if kind in ("csat", "custom") and rng.random() > 0.1 else None,
        ces=rng.randint(1, 7) if kind in ("ces", "custom") and rng.random() > 0.1 else None,
        smiley=rng.randint(1, 3) if kind == "smiley" else None,
        enps=rng.randint(0, 10) if kind == "enps" else None,
        predicted=rng.randint(0, 10) if rng.random() < 0.4 else None,
        is_bot=rng.random() < 0.03,
    )


def add_random_responses(w: MetricWorld, rng: random.Random, n: int, *, start: datetime | None = None, days: int = 20) -> list[Response]:
    """n responses in bulk (local_day filled as the model does)."""
    start = start or datetime(2026, 3, 20, tzinfo=UTC)  # spans the Brussels DST change
    with tenant_context(w.tenant):
        rows = []
        for _ in range(n):
            fields = random_response_fields(w, rng, start=start, days=days)
            rows.append(Response(local_day=local_day(w.tenant.time_zone, fields["submitted_at"]), **fields))
        return Response.objects.bulk_create(rows)


_DIMENSION_ATTR = {
    Dimension.SURVEY: "survey_id", Dimension.TOUCHPOINT: "touchpoint_id", Dimension.STAGE: "stage_id",
    Dimension.JOURNEY: "journey_id", Dimension.SEGMENT: "segment_id", Dimension.STAFF: "staff_id",
}


def python_buckets(tenant) -> dict[tuple, Bucket]:
    """{(day, dimension, key): Bucket} computed row by row in Python from the counted responses."""
    out: dict[tuple, Bucket] = defaultdict(Bucket)
    with tenant_context(tenant):
        for r in Response.objects.filter(is_bot=False):
            b = Bucket.of_response(nps=r.nps, csat=r.csat, ces=r.ces, smiley=r.smiley, enps=r.enps, predicted=r.predicted)
            out[(r.local_day, Dimension.TOTAL.value, "")] += b
            out[(r.local_day, Dimension.CHANNEL.value, r.channel)] += b
            for dimension, attr in _DIMENSION_ATTR.items():
                value = getattr(r, attr)
                out[(r.local_day, dimension.value, str(value) if value else "")] += b
    return dict(out)


def stored_buckets(tenant) -> dict[tuple, Bucket]:
    with tenant_context(tenant):
        return {(r.day, r.dimension, r.key): Bucket.from_row(r) for r in ResponseRollup.objects.all()}


def assert_exact(tenant):
    """Stored = SQL straight from the rows = Python row by row."""
    with tenant_context(tenant):
        first, last = date(2000, 1, 1), date(2100, 1, 1)
        assert sorted(map(_key, rollups.expected_cells(tenant, first, last))) == sorted(
            map(_key, ResponseCell.objects.values("tenant_id", *rollups.CELL_KEY, *STAT_FIELDS)))
        assert sorted(map(_key, rollups.expected_transitions(tenant, first, last))) == sorted(
            map(_key, TransitionRollup.objects.values("tenant_id", *rollups.TRANSITION_KEY, *rollups.TRANSITION_STATS)))
        months = MonthRollup.objects.values("tenant_id", *rollups.MONTH_KEY, *STAT_FIELDS)
        assert sorted(map(_key, rollups.expected_months(rollups.expected_rollups(tenant, first, last)))) == sorted(map(_key, months))
    assert stored_buckets(tenant) == python_buckets(tenant)


def _key(row: dict) -> tuple:
    return tuple(sorted(row.items()))
