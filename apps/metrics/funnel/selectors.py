"""The response funnel read for the API and dashboards: the invitation funnel and response rate of
the invitations created in the period, overall and per survey, from the FunnelRollup table only (kept
by apps.metrics.funnel.services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Sum

from apps.metrics import stats
from apps.metrics.models import Dimension, FunnelRollup
from apps.metrics.params import MetricFilters
from apps.metrics.sources import _filters_echo, labels, rollup_key

FUNNEL_COUNTS = ("invited", "pending", "bounced", "failed", "opened", "responded", "skipped")


@dataclass(frozen=True)
class Funnel:
    first: date
    last: date
    filters: dict
    overall: dict
    surveys: list[dict]


def funnel(tenant, f: MetricFilters) -> Funnel:
    """The invitation funnel and response rate (METRICS.md "Response rate and funnel"; readings in
    stats.funnel_block) of the invitations created f.first..f.last, overall and per survey. Filters:
    `survey`, `channel`. Two queries."""
    rows = FunnelRollup.objects.filter(day__range=(f.first, f.last))
    if f.survey is not None:
        rows = rows.filter(survey_id=f.survey)
    if f.channel is not None:
        rows = rows.filter(channel=f.channel)
    sums = {rollup_key(r["survey_id"]): r for r in rows.values("survey_id").annotate(**{c: Sum(c) for c in FUNNEL_COUNTS}).order_by()}
    names = labels(Dimension.SURVEY, sums)
    total = {c: sum(int(r[c] or 0) for r in sums.values()) for c in FUNNEL_COUNTS}
    surveys = [{"key": names[key][0], "label": names[key][1], **stats.funnel_block(**{c: int(r[c] or 0) for c in FUNNEL_COUNTS})}
               for key, r in sums.items()]
    surveys.sort(key=lambda r: (-r["invited"], r["label"].casefold()))
    return Funnel(first=f.first, last=f.last, filters=_filters_echo(f), overall=stats.funnel_block(**total), surveys=surveys)
