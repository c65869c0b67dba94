"""A client's journey as a sequence of scored responses (METRICS.md "Interaction volatility"): the one definition
the volatility rollup (apps.metrics.rollups) counts and the responses list filters by, so a volatility number
opens exactly the responses it counts.

A response is *scored* when it carries NPS, CSAT, CES or a smiley; its score (in sixths of a point, so every sum
is an exact integer) is the first of them it carries, rescaled to 0–100. A client's scored, non-bot responses
within one journey, in submission order (id breaking ties), form the sequence; each consecutive pair is a
*transition* from the earlier response's stage to the later one's, dated on the later response's day.
"""

from __future__ import annotations

from django.db.models import Q
from django.db.models.expressions import RawSQL

from apps.surveys.models import Response

RESPONSES = Response._meta.db_table
SCORE_SIXTHS = ("CASE WHEN nps IS NOT NULL THEN CAST(nps AS BIGINT) * 60 WHEN csat IS NOT NULL THEN (CAST(csat AS BIGINT) - 1) * 150 "
                "WHEN ces IS NOT NULL THEN (CAST(ces AS BIGINT) - 1) * 100 WHEN smiley IS NOT NULL THEN (CAST(smiley AS BIGINT) - 1) * 300 END")
SCORED = "(nps IS NOT NULL OR csat IS NOT NULL OR ces IS NOT NULL OR smiley IS NOT NULL)"
SEQUENCE = "PARTITION BY client_id, journey_id ORDER BY submitted_at, id"

# The later responses of the journey's transitions (parameters: tenant id, journey id), with the stage each
# transition starts from (0: none).
_LATER = f"""
SELECT id, COALESCE(prev_stage, 0) AS from_stage FROM (
    SELECT id, LAG(id) OVER w AS prev_id, LAG(stage_id) OVER w AS prev_stage
    FROM {RESPONSES}
    WHERE tenant_id = %s AND journey_id = %s AND NOT is_bot AND client_id IS NOT NULL AND {SCORED}
    WINDOW w AS ({SEQUENCE})
) seq WHERE prev_id IS NOT NULL
"""


def transition_q(tenant_id: int, journey_id: int, from_stage_id: int | None = None) -> Q:
    """The responses that end a transition of the journey — from the stage `from_stage_id` (0: from no stage; None:
    from any). The list's own day and stage filters then give a volatility number's n: its transitions' days
    are the later responses' days, their to-stage the later responses' stage."""
    if from_stage_id is None:
        return Q(pk__in=RawSQL(f"SELECT id FROM ({_LATER}) later", (tenant_id, journey_id)))
    return Q(pk__in=RawSQL(f"SELECT id FROM ({_LATER}) later WHERE from_stage = %s", (tenant_id, journey_id, from_stage_id)))
